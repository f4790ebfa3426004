//! Cost and memory models: what a job costs in device time (the fair queue's currency) and
//! what a batch needs in device memory (admission and batch sizing), both from the circuit's
//! zkey header, the cost refined by measured history.
//!
//! ## Device time
//! A batch of `b` proofs of one circuit takes about `fixed + b · per_proof` seconds. Before
//! anything is measured, [`CostModel::prior`] derives both from the header: the five MSMs of
//! a Groth16 proof (A, B in G1, C over the variables, B in G2 — a G2 point costs about 3× a G1
//! point — and H over the domain) cost `≈ (3·n_vars + 3·n_vars + domain) · MSM_POINT_S`, and
//! the seven size-`domain` (i)NTTs `7 · domain · log2(domain) · NTT_BUTTERFLY_S`. The
//! constants are calibrated against the CPU backend's measured figures (bench/RESULTS.md:
//! about 2 µs per G1 point on 2 cores) and are only a prior: every finished batch feeds
//! [`CostModel::observe`], an exponentially weighted mean of the measured seconds per proof,
//! which replaces the prior as soon as one batch of the circuit has run.
//!
//! ## Device memory
//! [`MemoryModel::batch_bytes`] = resident key + `b` × per-proof working set:
//! - resident key: the zkey's sections as parsed points. In-memory affine points are a little
//!   larger than on disk (arkworks' `G1Affine` is 72 bytes vs 64 in the file, `G2Affine` 136 vs
//!   128) and the coefficient lists carry indices, so `zkey_bytes · 5/4`, plus two
//!   domain-size tables of twiddles/coset powers (`2 · domain · 32` bytes);
//! - per proof (engine `Prover::prove_batch` keeps every proof's vectors alive together):
//!   the witness (`n_vars · 32`), its MSM scalar form (`n_vars · 32`) and the QAP evaluations
//!   A, B, C and H on the coset (`4 · domain · 32`), plus the held message (`n_vars · 32`);
//! - backend: for GPU backends the key and the per-proof vectors live in device memory with
//!   an allocator slack of 10 %; for the CPU backend device memory *is* host memory.
//!
//! A device's capacity comes from the worker configuration ([`DeviceSpec`]); the documented
//! default for the CPU backend is half of `MemAvailable` in `/proc/meminfo`
//! ([`cpu_memory_default`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use zkq_kernels::BackendKind;

use crate::model::CircuitRecord;

/// Bytes of one scalar-field element.
const FR_BYTES: u64 = 32;
/// Prior: seconds per G1 MSM point on the CPU backend (bench/RESULTS.md, 2 cores).
const MSM_POINT_S: f64 = 2.0e-6;
/// Prior: seconds per NTT butterfly on the CPU backend.
const NTT_BUTTERFLY_S: f64 = 2.0e-8;
/// Prior: fixed seconds per batch (key lookup, verification setup).
const BATCH_FIXED_S: f64 = 2.0e-3;
/// Weight of a new measurement in the running mean.
const EWMA_ALPHA: f64 = 0.3;

/// What the scheduler knows of a circuit: the zkey header's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// Variables, the constant 1 included.
    pub n_vars: u64,
    /// Public signals.
    pub n_public: u64,
    /// Evaluation domain size (a power of two).
    pub domain_size: u64,
    /// Size of the zkey file (all sections).
    pub zkey_bytes: u64,
}

impl From<&CircuitRecord> for CircuitShape {
    fn from(c: &CircuitRecord) -> Self {
        Self {
            n_vars: c.n_vars.max(0) as u64,
            n_public: c.n_public.max(0) as u64,
            domain_size: c.domain_size.max(1) as u64,
            zkey_bytes: c.zkey_bytes.max(0) as u64,
        }
    }
}

/// One device a batch can run on: its backend and the memory batches may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSpec {
    /// Name for reports (`cpu0`, `gpu1`, …).
    pub name: String,
    /// Backend kind (`cpu`, `cuda`, `wgpu`).
    #[serde(with = "backend_kind_serde")]
    pub backend: BackendKind,
    /// Bytes batches may use on it.
    pub memory_bytes: u64,
}

mod backend_kind_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use zkq_kernels::BackendKind;

    pub(super) fn serialize<S: Serializer>(k: &BackendKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BackendKind, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl DeviceSpec {
    /// Parses `backend:size` (`cpu:8GiB`, `cuda:80GiB`, `cpu:512MiB`, `cpu:1000000` bytes),
    /// named `<backend><index>`.
    pub fn parse(text: &str, index: usize) -> Result<Self, String> {
        let (kind, size) = text.split_once(':').ok_or_else(|| {
            format!("device `{text}`: expected BACKEND:MEMORY, e.g. cpu:8GiB or cuda:80GiB")
        })?;
        let backend: BackendKind = kind.parse().map_err(|e| format!("device `{text}`: {e}"))?;
        let memory_bytes = parse_bytes(size).ok_or_else(|| {
            format!(
                "device `{text}`: `{size}` is not a size (use e.g. 512MiB, 8GiB or a byte count)"
            )
        })?;
        if memory_bytes == 0 {
            return Err(format!("device `{text}`: memory must be positive"));
        }
        Ok(Self {
            name: format!("{}{index}", backend.as_str()),
            backend,
            memory_bytes,
        })
    }
}

/// `123`, `64KiB`, `512MiB`, `8GiB`, `1TiB` (also `KB`/`MB`/`GB` as powers of 1000).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" | "k" => 1024.0,
        "mib" | "m" => 1024.0 * 1024.0,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "tib" | "t" => 1024.0f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then_some(v as u64)
}

/// Bytes for people: `512 B`, `3.4 KiB`, `1.2 MiB`, `80.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// The documented default capacity of the CPU backend: half of `MemAvailable`
/// (`/proc/meminfo` text passed in; `None` if it has no such line).
pub fn cpu_memory_default(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024) / 2)
}

/// Device memory a batch needs, from the circuit's header and the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryModel;

impl MemoryModel {
    /// Bytes the proving key occupies once loaded.
    pub fn resident_bytes(&self, shape: &CircuitShape, backend: BackendKind) -> u64 {
        let key = shape.zkey_bytes.saturating_mul(5) / 4 + 2 * shape.domain_size * FR_BYTES;
        slack(key, backend)
    }

    /// Working set of one proof in a batch.
    pub fn per_proof_bytes(&self, shape: &CircuitShape, backend: BackendKind) -> u64 {
        let bytes = 3 * shape.n_vars * FR_BYTES + 4 * shape.domain_size * FR_BYTES;
        slack(bytes, backend)
    }

    /// Bytes a batch of `size` proofs needs.
    pub fn batch_bytes(&self, shape: &CircuitShape, backend: BackendKind, size: usize) -> u64 {
        self.resident_bytes(shape, backend).saturating_add(
            self.per_proof_bytes(shape, backend)
                .saturating_mul(size as u64),
        )
    }

    /// The largest batch that fits `device` (0: not even one proof fits).
    pub fn max_batch(&self, shape: &CircuitShape, device: &DeviceSpec) -> usize {
        let resident = self.resident_bytes(shape, device.backend);
        let per = self.per_proof_bytes(shape, device.backend).max(1);
        match device.memory_bytes.checked_sub(resident) {
            Some(left) => usize::try_from(left / per).unwrap_or(usize::MAX),
            None => 0,
        }
    }
}

fn slack(bytes: u64, backend: BackendKind) -> u64 {
    match backend {
        BackendKind::Cpu => bytes,
        BackendKind::Cuda | BackendKind::Wgpu => bytes.saturating_add(bytes / 10),
    }
}

/// Estimated device time per circuit: a prior from the header, replaced by measurements.
#[derive(Debug, Clone, Default)]
pub struct CostModel {
    measured: HashMap<String, Measured>,
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    per_proof_s: f64,
    batches: u64,
}

impl CostModel {
    /// An empty model (priors only).
    pub fn new() -> Self {
        Self::default()
    }

    /// The header-derived prior `(fixed, per_proof)` seconds of a batch.
    pub fn prior(shape: &CircuitShape) -> (f64, f64) {
        let n = shape.n_vars as f64;
        let d = shape.domain_size.max(2) as f64;
        let msm = (3.0 * n + 3.0 * n + d) * MSM_POINT_S;
        let ntt = 7.0 * d * d.log2() * NTT_BUTTERFLY_S;
        (BATCH_FIXED_S, msm + ntt)
    }

    /// Estimated seconds per proof of `circuit` (the cost a job is charged in the fair queue).
    pub fn per_proof_seconds(&self, circuit: &str, shape: &CircuitShape) -> f64 {
        match self.measured.get(circuit) {
            Some(m) => m.per_proof_s,
            None => {
                let (fixed, per) = Self::prior(shape);
                per + fixed
            }
        }
    }

    /// Estimated seconds a batch of `size` proofs takes.
    pub fn batch_seconds(&self, circuit: &str, shape: &CircuitShape, size: usize) -> f64 {
        match self.measured.get(circuit) {
            Some(m) => m.per_proof_s * size as f64,
            None => {
                let (fixed, per) = Self::prior(shape);
                fixed + per * size as f64
            }
        }
    }

    /// Records a finished batch: `seconds` of device time for `size` proofs.
    pub fn observe(&mut self, circuit: &str, size: usize, seconds: f64) {
        if size == 0 || !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let sample = seconds / size as f64;
        let m = self.measured.entry(circuit.to_owned()).or_insert(Measured {
            per_proof_s: sample,
            batches: 0,
        });
        if m.batches > 0 {
            m.per_proof_s += EWMA_ALPHA * (sample - m.per_proof_s);
        }
        m.batches += 1;
    }

    /// Starts `circuit`'s history from `per_proof_s` measured earlier (the store's recent
    /// batches), unless this model has measured it already.
    pub fn seed(&mut self, circuit: &str, per_proof_s: f64) {
        if per_proof_s.is_finite() && per_proof_s > 0.0 {
            self.measured.entry(circuit.to_owned()).or_insert(Measured { per_proof_s, batches: 1 });
        }
    }

    /// Batches measured for `circuit`.
    pub fn measured_batches(&self, circuit: &str) -> u64 {
        self.measured.get(circuit).map_or(0, |m| m.batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(n_vars: u64, domain: u64, zkey: u64) -> CircuitShape {
        CircuitShape {
            n_vars,
            n_public: 1,
            domain_size: domain,
            zkey_bytes: zkey,
        }
    }

    #[test]
    fn sizes_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_bytes("8GiB"), Some(8 << 30));
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("2GB"), Some(2_000_000_000));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(80 << 30), "80.0 GiB");
        assert_eq!(human_bytes(3 << 19), "1.5 MiB");
        assert_eq!(parse_bytes("3furlongs"), None);
        let d = DeviceSpec::parse("cuda:80GiB", 1).expect("parses");
        assert_eq!(
            (d.name.as_str(), d.backend, d.memory_bytes),
            ("cuda1", BackendKind::Cuda, 80 << 30)
        );
        assert!(DeviceSpec::parse("tpu:1GiB", 0)
            .expect_err("refused")
            .contains("tpu:1GiB"));
        assert!(DeviceSpec::parse("cpu", 0)
            .expect_err("refused")
            .contains("BACKEND:MEMORY"));
        assert!(DeviceSpec::parse("cpu:0", 0).is_err());
    }

    #[test]
    fn meminfo_default_is_half_of_available() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   16000000 kB\n";
        assert_eq!(cpu_memory_default(text), Some(16_000_000 * 1024 / 2));
        assert_eq!(cpu_memory_default("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn memory_grows_with_the_batch_and_caps_it() {
        let m = MemoryModel;
        let s = shape(1 << 20, 1 << 21, 700 << 20);
        let one = m.batch_bytes(&s, BackendKind::Cpu, 1);
        let two = m.batch_bytes(&s, BackendKind::Cpu, 2);
        assert_eq!(two - one, m.per_proof_bytes(&s, BackendKind::Cpu));
        assert!(
            m.batch_bytes(&s, BackendKind::Cuda, 1) > one,
            "GPU allocations carry slack"
        );
        let dev = DeviceSpec {
            name: "gpu0".into(),
            backend: BackendKind::Cuda,
            memory_bytes: 4 << 30,
        };
        let cap = m.max_batch(&s, &dev);
        assert!(cap >= 1);
        assert!(m.batch_bytes(&s, BackendKind::Cuda, cap) <= dev.memory_bytes);
        assert!(
            m.batch_bytes(&s, BackendKind::Cuda, cap + 1) > dev.memory_bytes,
            "the cap is the largest batch that fits"
        );
        let tiny = DeviceSpec {
            name: "cpu0".into(),
            backend: BackendKind::Cpu,
            memory_bytes: 100 << 20,
        };
        assert_eq!(m.max_batch(&s, &tiny), 0, "the key alone does not fit");
    }

    #[test]
    fn cost_starts_from_the_header_and_follows_measurements() {
        let mut c = CostModel::new();
        let small = shape(1000, 1024, 1 << 20);
        let big = shape(1 << 20, 1 << 21, 1 << 30);
        assert!(c.per_proof_seconds("big", &big) > 100.0 * c.per_proof_seconds("small", &small));
        c.observe("small", 4, 0.4);
        assert!((c.per_proof_seconds("small", &small) - 0.1).abs() < 1e-12);
        c.observe("small", 2, 0.4);
        let v = c.per_proof_seconds("small", &small);
        assert!(
            v > 0.1 && v < 0.2,
            "a running mean moves toward the new sample: {v}"
        );
        c.observe("small", 0, 1.0);
        let before = c.per_proof_seconds("small", &small);
        c.seed("small", 9.0);
        assert_eq!(c.per_proof_seconds("small", &small), before, "a seed never overrides a measurement");
        c.seed("big", 0.5);
        assert_eq!(c.per_proof_seconds("big", &big), 0.5);
        assert_eq!(c.measured_batches("small"), 2);
        assert!((c.batch_seconds("small", &small, 10) - 10.0 * v).abs() < 1e-9);
    }
}
