//! The Groth16 prover: one proving key, a batch of witnesses, every MSM and NTT on a backend.
//!
//! Per proof, with `w` the witness and `r, s` fresh randomness (Groth 2016, §3.2; snarkjs
//! `groth16_prove.js`):
//! - `A  = α₁ + Σ w_i·A_i + r·δ₁` (section 5),
//! - `B₁ = β₁ + Σ w_i·B1_i + s·δ₁`, `B₂ = β₂ + Σ w_i·B2_i + s·δ₂` (sections 6, 7),
//! - `C  = Σ_private w_i·C_i + Σ_j h_j·H_j + s·A + r·B₁ − r·s·δ₁` (sections 8, 9),
//!
//! with `h` from [`crate::qap`]. A batch shares the key: each MSM is one batched backend call
//! over all witnesses, so a backend can keep the bases resident and amortise its set-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::PrimeField;
use zkq_kernels::Backend;

use crate::keys::{Proof, ProvingKey};
use crate::{qap, EngineError, Witness};

/// The per-proof randomness `(r, s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Randomness {
    /// `r`, blinding A.
    pub r: Fr,
    /// `s`, blinding B.
    pub s: Fr,
}

impl Randomness {
    /// Fresh `r, s` from the operating system's CSPRNG (`getrandom`), each reduced from 512
    /// bits so the bias modulo the 254-bit order is negligible (< 2^-250).
    pub fn from_os() -> Result<Self, EngineError> {
        let mut bytes = [0u8; 128];
        getrandom::getrandom(&mut bytes).map_err(|e| EngineError::Kernel(zkq_kernels::KernelError::Unavailable {
            backend: "os-rng".into(),
            reason: format!("the OS random number generator failed: {e}"),
        }))?;
        Ok(Self { r: Fr::from_le_bytes_mod_order(&bytes[..64]), s: Fr::from_le_bytes_mod_order(&bytes[64..]) })
    }
}

/// Wall time of each proving phase for a whole batch; divide by the batch size for a
/// per-proof share. "compute H" and "compute B in G2" each run on a thread of their own
/// alongside A, B in G1 and C (all share the backend), so the sum of the phases is more than
/// the batch's wall time, and each phase's time includes waiting for the cores the others
/// were using.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseTimings {
    /// "compute H": a, b, c, 6 NTTs and the H MSM.
    pub compute_h: Duration,
    /// "compute A": the A MSM.
    pub compute_a: Duration,
    /// "compute B in G1".
    pub compute_b_g1: Duration,
    /// "compute B in G2".
    pub compute_b_g2: Duration,
    /// "compute C": the C MSM and the final combination.
    pub compute_c: Duration,
}

impl PhaseTimings {
    /// Sum of the phases (more than the wall time: H and B in G2 overlap A, B in G1 and C).
    pub fn total(&self) -> Duration {
        self.compute_h + self.compute_a + self.compute_b_g1 + self.compute_b_g2 + self.compute_c
    }

    /// Each phase divided by `n` (at least 1): one proof's equal share of a batch.
    pub fn per_proof(&self, n: usize) -> Self {
        let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        Self {
            compute_h: self.compute_h / n,
            compute_a: self.compute_a / n,
            compute_b_g1: self.compute_b_g1 / n,
            compute_b_g2: self.compute_b_g2 / n,
            compute_c: self.compute_c / n,
        }
    }

    /// `(span name, duration)` pairs, in proving order.
    pub fn phases(&self) -> [(&'static str, Duration); 5] {
        [
            ("compute H", self.compute_h),
            ("compute A", self.compute_a),
            ("compute B in G1", self.compute_b_g1),
            ("compute B in G2", self.compute_b_g2),
            ("compute C", self.compute_c),
        ]
    }
}

impl std::ops::AddAssign for PhaseTimings {
    fn add_assign(&mut self, o: Self) {
        self.compute_h += o.compute_h;
        self.compute_a += o.compute_a;
        self.compute_b_g1 += o.compute_b_g1;
        self.compute_b_g2 += o.compute_b_g2;
        self.compute_c += o.compute_c;
    }
}

/// Proofs of a batch, in witness order, with their public signals and the phase timings.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// One proof per witness.
    pub proofs: Vec<Proof>,
    /// `w[1..=n_public]` per witness (what `public.json` holds).
    pub public_signals: Vec<Vec<Fr>>,
    /// Wall time per phase for the whole batch.
    pub timings: PhaseTimings,
}

/// Proves on a backend.
#[derive(Debug, Clone)]
pub struct Prover {
    backend: Arc<dyn Backend>,
}

fn timed<T>(name: &'static str, slot: &mut Duration, f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    let _span = tracing::info_span!("phase", name).entered();
    let start = Instant::now();
    let out = f();
    *slot = start.elapsed();
    tracing::debug!(phase = name, ms = slot.as_secs_f64() * 1e3, "phase done");
    out
}

/// Joins a scoped thread, re-raising its panic (if any) on this thread.
fn join_or_resume<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

impl Prover {
    /// A prover on `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Makes `pk` resident and prepared on the backend (the CPU backend builds its fixed-base
    /// tables for sections A, B1, B2, C and H within its memory budget), so later batches with
    /// this key take the fast fixed-base path. For a warm engine that proves many batches of
    /// one circuit; optional, and worth it only then (preparing a 2^16 key costs about as much
    /// CPU as 40 proofs save). Returns the backend's resident bytes afterwards.
    pub fn prepare(&self, pk: &ProvingKey) -> Result<usize, EngineError> {
        let _span = tracing::info_span!("prepare key", backend = %self.backend.kind()).entered();
        for bases in [&pk.a_query, &pk.b_g1_query, &pk.c_query, &pk.h_query] {
            self.backend.prepare_g1(bases)?;
        }
        self.backend.prepare_g2(&pk.b_g2_query)?;
        Ok(self.backend.resident_bytes())
    }

    /// Proves every witness with fresh OS randomness.
    pub fn prove_batch(&self, pk: &ProvingKey, witnesses: &[Witness]) -> Result<BatchOutput, EngineError> {
        let randomness = witnesses.iter().map(|_| Randomness::from_os()).collect::<Result<Vec<_>, _>>()?;
        self.prove_batch_with_randomness(pk, witnesses, &randomness)
    }

    /// Proves every witness with the given `(r, s)` — reproducible proofs for tests. Never
    /// reuse randomness for real proofs: two proofs with the same `(r, s)` leak the witness.
    pub fn prove_batch_with_randomness(
        &self,
        pk: &ProvingKey,
        witnesses: &[Witness],
        randomness: &[Randomness],
    ) -> Result<BatchOutput, EngineError> {
        if witnesses.len() != randomness.len() {
            return Err(EngineError::format("prove_batch", format!("{} witnesses but {} randomness pairs", witnesses.len(), randomness.len())));
        }
        for w in witnesses {
            w.check_shape(pk.n_vars)?;
        }
        let _span = tracing::info_span!("prove batch", size = witnesses.len(), backend = %self.backend.kind()).entered();
        let backend = self.backend.as_ref();
        let full: Vec<&[Fr]> = witnesses.iter().map(|w| w.values.as_slice()).collect();
        let private: Vec<&[Fr]> = full.iter().map(|w| &w[pk.first_private()..]).collect();
        let mut t = PhaseTimings::default();

        // H (its NTTs and MSM) and B in G2 depend on nothing the G1 MSMs of A, B and C
        // produce: each runs on a thread of its own, so the three streams of work share the
        // backend and no core idles at a phase's tail (across the proofs of the batch, every
        // MSM call already spreads its vectors over the cores). On a backend that places G2
        // on the host (the WebGPU backend's default), the G2 MSM runs on the CPU while the
        // device proves the G1 side.
        let (mut h_time, mut c_time, mut b2_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let parent = tracing::Span::current();
        let (h_acc, b2, rest) = std::thread::scope(|scope| {
            let h_thread = scope.spawn(|| {
                let _parent = parent.enter();
                timed("compute H", &mut h_time, || {
                    let h = qap::h_evaluations(backend, pk, &full)?;
                    let h_views: Vec<&[Fr]> = h.iter().map(Vec::as_slice).collect();
                    Ok(backend.msm_g1(&pk.h_query, &h_views)?)
                })
            });
            let b2_thread = scope.spawn(|| {
                let _parent = parent.enter();
                timed("compute B in G2", &mut b2_time, || {
                    let acc = backend.msm_g2(&pk.b_g2_query, &full)?;
                    Ok(acc.into_iter().zip(randomness).map(|(acc, rs)| acc + pk.vk.beta_g2 + pk.vk.delta_g2 * rs.s).collect::<Vec<G2Projective>>())
                })
            });
            let rest = (|| {
                let a = timed("compute A", &mut t.compute_a, || {
                    let acc = backend.msm_g1(&pk.a_query, &full)?;
                    Ok(acc.into_iter().zip(randomness).map(|(acc, rs)| acc + pk.vk.alpha_g1 + pk.delta_g1 * rs.r).collect::<Vec<G1Projective>>())
                })?;
                let b1 = timed("compute B in G1", &mut t.compute_b_g1, || {
                    let acc = backend.msm_g1(&pk.b_g1_query, &full)?;
                    Ok(acc.into_iter().zip(randomness).map(|(acc, rs)| acc + pk.beta_g1 + pk.delta_g1 * rs.s).collect::<Vec<G1Projective>>())
                })?;
                let c_acc = timed("compute C", &mut c_time, || Ok(backend.msm_g1(&pk.c_query, &private)?))?;
                Ok::<_, EngineError>((a, b1, c_acc))
            })();
            let h_acc = join_or_resume(h_thread);
            let b2 = join_or_resume(b2_thread);
            (h_acc, b2, rest)
        });
        let (a, b1, c_acc) = rest?;
        let h_acc = h_acc?;
        let b2 = b2?;
        t.compute_h = h_time;
        t.compute_b_g2 = b2_time;
        let combine = Instant::now();
        let delta = pk.delta_g1.into_group();
        let c: Vec<G1Projective> = (0..witnesses.len())
            .map(|k| {
                let Randomness { r, s } = randomness[k];
                c_acc[k] + h_acc[k] + a[k] * s + b1[k] * r - delta * (r * s)
            })
            .collect();
        t.compute_c = c_time + combine.elapsed();

        let a = G1Projective::normalize_batch(&a);
        let b2 = G2Projective::normalize_batch(&b2);
        let c = G1Projective::normalize_batch(&c);
        let proofs = (0..witnesses.len()).map(|k| Proof { a: a[k], b: b2[k], c: c[k] }).collect();
        let public_signals = witnesses.iter().map(|w| w.public_signals(pk.n_public).to_vec()).collect();
        Ok(BatchOutput { proofs, public_signals, timings: t })
    }
}
