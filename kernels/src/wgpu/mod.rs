//! The WebGPU backend (feature `wgpu`): WGSL kernels run through wgpu on Vulkan (NVIDIA, AMD,
//! Intel; Mesa lavapipe on CPUs, which is how CI tests it) or Metal.
//!
//! ## Layout
//! - [`adapter`] — finding and opening an adapter; [`AdapterReport`] for `zkq backends`;
//!   "no adapter" / "adapter lacks X" are [`KernelError::Unavailable`].
//! - `gpu` — the opened device: compiling modules, buffers within the adapter's limits,
//!   dispatch, read-back, device errors → [`KernelError`] (never wgpu's default panic).
//! - `shaders` — WGSL composition from the embedded layer files in `wgsl/` and the constants
//!   generated from arkworks' BN254 parameters; [`Arithmetic`], the two arithmetic paths.
//! - `ntt` — radix-2 NTT / inverse NTT with coset shift on the device.
//! - `msm` — G1 and G2 MSM: signed digits, bucket grouping by counting sort, per-bucket
//!   accumulation, parallel running-sum reduction; proving-key bases resident per
//!   [`crate::Bases`] id.
//!
//! ## Arithmetic paths
//! Field elements are eight 32-bit limbs in Montgomery form — the same representation arkworks
//! keeps in memory, so uploads and downloads are copies, not conversions. The only
//! operation that differs between paths is the 32×32→64-bit multiply-accumulate:
//! [`Arithmetic::Int64`] uses WGSL `u64` (adapter feature `SHADER_INT64`),
//! [`Arithmetic::Portable32`] splits operands into 16-bit halves and runs wherever WebGPU does.
//! The backend picks `Int64` when the adapter has it; [`WgpuOptions::arithmetic`] can force
//! either (tests run both).
//!
//! ## G2
//! G2 MSM has device kernels (the same curve template over Fq2) and a CPU placement
//! ([`G2Placement`]). The default is the CPU everywhere: the device G2 kernels pass naga
//! validation but have not yet run to a checked result on any device (on lavapipe they take
//! longer to compile than the CI budget allows), so they are opt-in (`g2: Some(Device)`) until a
//! GPU run verifies them. See `bench/RESULTS.md`.

pub mod adapter;
mod gpu;
mod msm;
mod ntt;
mod shaders;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, OnceLock};

pub use adapter::{list_adapters, AdapterReport};
pub use shaders::Arithmetic;

use crate::{Backend, BackendKind, Fr, G1Bases, G1Projective, G2Bases, G2Projective, KernelError, NttOp};

/// Options of the WebGPU backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WgpuOptions {
    /// Force an arithmetic path. Default `None`: `Int64` when the adapter has `SHADER_INT64`,
    /// else `Portable32`. Forcing `Int64` on an adapter without it is
    /// [`KernelError::Unavailable`].
    pub arithmetic: Option<Arithmetic>,
    /// Where G2 MSMs run. Default `None`: [`G2Placement::Cpu`] on every adapter — the device
    /// G2 kernels are unverified on a device (see the module docs); on lavapipe the host's
    /// arkworks is also many times faster.
    pub g2: Option<G2Placement>,
}

/// Where the WebGPU backend runs G2 MSMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G2Placement {
    /// The WGSL G2 kernels (the curve template over Fq2).
    Device,
    /// zkq's CPU backend (arkworks), in the calling thread's pool.
    Cpu,
}

/// The WebGPU backend: one adapter, its compiled kernels and resident tables and bases.
///
/// Kernels compile on first use (each set once per backend), so opening the backend — e.g. for
/// `zkq backends` — costs only the adapter query.
#[derive(Debug)]
pub struct WgpuBackend {
    gpu: gpu::Gpu,
    ntt: OnceLock<Result<ntt::NttKernels, KernelError>>,
    shared: OnceLock<Result<msm::SharedStages, KernelError>>,
    g1: OnceLock<Result<msm::MsmKernels, KernelError>>,
    g2: OnceLock<Result<msm::MsmKernels, KernelError>>,
    g2_placement: G2Placement,
    cpu: OnceLock<Result<crate::CpuBackend, KernelError>>,
    /// One operation at a time: device memory for a batch is sized for one MSM or NTT.
    busy: Mutex<()>,
}

impl WgpuBackend {
    /// Opens the highest-performance adapter.
    pub fn new(options: WgpuOptions) -> Result<Self, KernelError> {
        let gpu = adapter::open(options.arithmetic)?;
        let g2_placement = options.g2.unwrap_or(G2Placement::Cpu);
        Ok(Self {
            gpu,
            g2_placement,
            cpu: OnceLock::new(),
            ntt: OnceLock::new(),
            shared: OnceLock::new(),
            g1: OnceLock::new(),
            g2: OnceLock::new(),
            busy: Mutex::new(()),
        })
    }

    /// Where G2 MSMs run.
    pub fn g2_placement(&self) -> G2Placement {
        self.g2_placement
    }

    /// The arithmetic path in use.
    pub fn arithmetic(&self) -> Arithmetic {
        self.gpu.arith
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The CPU backend used for G2 on CPU adapters and for MSMs lavapipe cannot run.
    fn cpu(&self) -> Result<&crate::CpuBackend, KernelError> {
        self.cpu.get_or_init(|| crate::CpuBackend::new(None)).as_ref().map_err(Clone::clone)
    }

    fn msm_kernels(&self, group: shaders::Group) -> Result<&msm::MsmKernels, KernelError> {
        let shared = self.shared.get_or_init(|| msm::SharedStages::new(&self.gpu)).as_ref().map_err(Clone::clone)?;
        let cell = match group {
            shaders::Group::G1 => &self.g1,
            shaders::Group::G2 => &self.g2,
        };
        cell.get_or_init(|| msm::MsmKernels::new(&self.gpu, shared, group)).as_ref().map_err(Clone::clone)
    }
}

impl Backend for WgpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Wgpu
    }

    fn device_name(&self) -> String {
        let info = &self.gpu.info;
        let g2 = match self.g2_placement {
            G2Placement::Device => "",
            G2Placement::Cpu => ", G2 on the CPU",
        };
        format!("{} ({:?}, {:?}, {} arithmetic{g2})", info.name, info.backend, info.device_type, self.gpu.arith.as_str())
    }

    fn msm_g1_unchecked(&self, bases: &G1Bases, scalars: &[&[Fr]]) -> Result<Vec<G1Projective>, KernelError> {
        let result = {
            let _busy = self.lock();
            self.msm_kernels(shaders::Group::G1)?.run(&self.gpu, bases, scalars)
        };
        match result {
            // Only on CPU adapters (lavapipe): a bucket longer than its loop limit. The CPU
            // backend gives the exact answer (and is the faster one on such an adapter anyway).
            Err(KernelError::Unsupported { reason, .. }) if reason.starts_with(msm::BUCKET_TOO_LONG) => {
                self.cpu()?.msm_g1_unchecked(bases, scalars)
            }
            other => other,
        }
    }

    fn msm_g2_unchecked(&self, bases: &G2Bases, scalars: &[&[Fr]]) -> Result<Vec<G2Projective>, KernelError> {
        if self.g2_placement == G2Placement::Cpu {
            return self.cpu()?.msm_g2_unchecked(bases, scalars);
        }
        let result = {
            let _busy = self.lock();
            self.msm_kernels(shaders::Group::G2)?.run(&self.gpu, bases, scalars)
        };
        match result {
            Err(KernelError::Unsupported { reason, .. }) if reason.starts_with(msm::BUCKET_TOO_LONG) => {
                self.cpu()?.msm_g2_unchecked(bases, scalars)
            }
            other => other,
        }
    }

    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        let _busy = self.lock();
        self.ntt.get_or_init(|| ntt::NttKernels::new(&self.gpu)).as_ref().map_err(Clone::clone)?.run(&self.gpu, vectors, op)
    }
}
