//! The backend seam: the [`Backend`] trait and the run-time selector.
//!
//! Required methods are `_unchecked` and may assume well-formed input; the provided methods
//! validate lengths and sizes first and return [`KernelError::InvalidInput`] otherwise (the
//! checked/unchecked split of ICICLE's API). Callers use the checked ones.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::ntt::MAX_LOG_SIZE;
use crate::{CpuBackend, Fr, G1Bases, G1Projective, G2Bases, G2Projective, KernelError, NttOp};

/// A device that runs zkq's kernels. Implementations keep their own resident state (prepared
/// bases, twiddles) keyed by [`crate::Bases::id`]; there is no process-global device state.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// A human-readable description of the device (e.g. `cpu (2 threads)`).
    fn device_name(&self) -> String;

    /// `Σ_i scalars[k][i] · bases[i]` for every `k`. Assumes every scalar vector has exactly
    /// `bases.len()` entries.
    fn msm_g1_unchecked(
        &self,
        bases: &G1Bases,
        scalars: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, KernelError>;

    /// As [`Backend::msm_g1_unchecked`], in G2.
    fn msm_g2_unchecked(
        &self,
        bases: &G2Bases,
        scalars: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, KernelError>;

    /// Applies `op` in place to every vector. Assumes all vectors have the same power-of-two
    /// length `≤ 2^28`.
    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError>;

    /// Prepares `bases` for many MSMs ahead of time, for a warm engine that will prove many
    /// batches with one key (the CPU backend builds its fixed-base tables; a GPU backend would
    /// upload). Optional: MSMs are correct without it. Default: does nothing.
    fn prepare_g1(&self, bases: &G1Bases) -> Result<(), KernelError> {
        let _ = bases;
        Ok(())
    }

    /// As [`Backend::prepare_g1`], in G2.
    fn prepare_g2(&self, bases: &G2Bases) -> Result<(), KernelError> {
        let _ = bases;
        Ok(())
    }

    /// Bytes of prepared, resident per-key state the backend holds now. Default: 0.
    fn resident_bytes(&self) -> usize {
        0
    }

    /// Resamples every vector from evaluations on the subgroup `⟨ω⟩` to evaluations on the
    /// coset `shift·⟨ω⟩`: `Inverse` then `ForwardCoset(shift)`, the QAP's step. Same
    /// assumptions as [`Backend::ntt_unchecked`]. Default: exactly those two calls; a backend
    /// may fuse them (the CPU backend skips both bit-reversal permutations).
    fn ntt_resample_unchecked(&self, vectors: &mut [&mut [Fr]], shift: Fr) -> Result<(), KernelError> {
        self.ntt_unchecked(vectors, NttOp::Inverse)?;
        self.ntt_unchecked(vectors, NttOp::ForwardCoset(shift))
    }

    /// [`Backend::ntt_resample_unchecked`] with input validation.
    fn ntt_resample(&self, vectors: &mut [&mut [Fr]], shift: Fr) -> Result<(), KernelError> {
        check_ntt_lengths(vectors)?;
        if vectors.is_empty() {
            return Ok(());
        }
        if ark_ff::Zero::is_zero(&shift) {
            return Err(KernelError::InvalidInput("coset shift must be non-zero".into()));
        }
        self.ntt_resample_unchecked(vectors, shift)
    }

    /// Batched G1 MSM with input validation.
    fn msm_g1(&self, bases: &G1Bases, scalars: &[&[Fr]]) -> Result<Vec<G1Projective>, KernelError> {
        check_msm_lengths(bases.len(), scalars)?;
        self.msm_g1_unchecked(bases, scalars)
    }

    /// Batched G2 MSM with input validation.
    fn msm_g2(&self, bases: &G2Bases, scalars: &[&[Fr]]) -> Result<Vec<G2Projective>, KernelError> {
        check_msm_lengths(bases.len(), scalars)?;
        self.msm_g2_unchecked(bases, scalars)
    }

    /// Batched NTT with input validation.
    fn ntt(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        check_ntt_lengths(vectors)?;
        if vectors.is_empty() {
            return Ok(());
        }
        if let NttOp::ForwardCoset(g) | NttOp::InverseCoset(g) = op {
            if ark_ff::Zero::is_zero(&g) {
                return Err(KernelError::InvalidInput("coset shift must be non-zero".into()));
            }
        }
        self.ntt_unchecked(vectors, op)
    }
}

fn check_msm_lengths(n_bases: usize, scalars: &[&[Fr]]) -> Result<(), KernelError> {
    for (k, s) in scalars.iter().enumerate() {
        if s.len() != n_bases {
            return Err(KernelError::InvalidInput(format!(
                "MSM scalar vector {k} has {} entries but there are {n_bases} bases",
                s.len()
            )));
        }
    }
    Ok(())
}

fn check_ntt_lengths(vectors: &[&mut [Fr]]) -> Result<(), KernelError> {
    let Some(first) = vectors.first() else { return Ok(()) };
    let n = first.len();
    if !n.is_power_of_two() {
        return Err(KernelError::InvalidInput(format!("NTT size {n} is not a power of two")));
    }
    if n.trailing_zeros() > MAX_LOG_SIZE {
        return Err(KernelError::InvalidInput(format!(
            "NTT size 2^{} exceeds the field's two-adicity 2^{MAX_LOG_SIZE}",
            n.trailing_zeros()
        )));
    }
    if let Some((k, v)) = vectors.iter().enumerate().find(|(_, v)| v.len() != n) {
        return Err(KernelError::InvalidInput(format!(
            "NTT batch vector {k} has length {} but vector 0 has {n}",
            v.len()
        )));
    }
    Ok(())
}

/// The backends zkq knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BackendKind {
    /// arkworks on the CPU, parallel with rayon. Always available.
    #[default]
    Cpu,
    /// WebGPU through wgpu (cargo feature `wgpu`): Vulkan, Metal.
    Wgpu,
    /// CUDA through cudarc and NVRTC (feature `cuda`).
    Cuda,
}

impl BackendKind {
    /// The configuration name (`cpu`, `wgpu`, `cuda`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }

    /// All known kinds, in listing order.
    pub const ALL: [BackendKind; 3] = [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::Cuda];
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendKind {
    type Err = KernelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(BackendKind::Cpu),
            "wgpu" | "webgpu" => Ok(BackendKind::Wgpu),
            "cuda" => Ok(BackendKind::Cuda),
            other => Err(KernelError::InvalidInput(format!(
                "unknown backend `{other}` (expected cpu, wgpu or cuda)"
            ))),
        }
    }
}

/// How to build a backend. Read at the binary edge (CLI flags, worker config) and passed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendConfig {
    /// Which backend. Default: [`BackendKind::Cpu`].
    pub kind: BackendKind,
    /// CPU worker threads. Default `None`: one per core (rayon's default). Set it to bound a
    /// worker's share of the machine.
    pub cpu_threads: Option<usize>,
    /// Backend to open instead when `kind` is unavailable or not compiled in
    /// ([`KernelError::Unavailable`] / [`KernelError::Unsupported`]). Default `None`: no
    /// fallback, the error is returned. Callers see the fallback in [`Backend::kind`].
    pub fallback: Option<BackendKind>,
}

/// Builds the configured backend. Backends not built yet or not compiled in answer
/// [`KernelError::Unsupported`]; a backend without a usable device answers
/// [`KernelError::Unavailable`].
pub fn open_backend(config: &BackendConfig) -> Result<Arc<dyn Backend>, KernelError> {
    match (open_kind(config.kind, config), config.fallback) {
        (Err(KernelError::Unavailable { .. } | KernelError::Unsupported { .. }), Some(fallback))
            if fallback != config.kind =>
        {
            open_kind(fallback, config)
        }
        (result, _) => result,
    }
}

fn open_kind(kind: BackendKind, config: &BackendConfig) -> Result<Arc<dyn Backend>, KernelError> {
    match kind {
        BackendKind::Cpu => Ok(Arc::new(CpuBackend::new(config.cpu_threads)?)),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Ok(Arc::new(crate::WgpuBackend::new(crate::WgpuOptions::default())?)),
        #[cfg(not(feature = "wgpu"))]
        BackendKind::Wgpu => Err(KernelError::Unsupported {
            backend: "wgpu".into(),
            reason: "this binary was built without the `wgpu` feature; use --backend cpu".into(),
        }),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => Ok(Arc::new(crate::cuda::CudaBackend::open(crate::cuda::CudaConfig {
            cpu_threads: config.cpu_threads,
            ..Default::default()
        })?)),
        #[cfg(not(feature = "cuda"))]
        BackendKind::Cuda => Err(KernelError::Unsupported {
            backend: "cuda".into(),
            reason: "this binary was built without the `cuda` feature; use --backend cpu".into(),
        }),
    }
}
