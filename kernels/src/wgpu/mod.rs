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
//! G2 MSM runs on the device too (the same curve template over Fq2). See `bench/RESULTS.md` for
//! the measured comparison with the CPU backend.

pub mod adapter;
mod gpu;
mod msm;
mod ntt;
mod shaders;
#[cfg(test)]
mod tests;

use std::sync::Mutex;

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
}

/// The WebGPU backend: one adapter, its compiled kernels and resident tables and bases.
#[derive(Debug)]
pub struct WgpuBackend {
    gpu: gpu::Gpu,
    ntt: ntt::NttKernels,
    g1: msm::MsmKernels,
    g2: msm::MsmKernels,
    /// One operation at a time: device memory for a batch is sized for one MSM or NTT.
    busy: Mutex<()>,
}

impl WgpuBackend {
    /// Opens the highest-performance adapter and compiles every kernel.
    pub fn new(options: WgpuOptions) -> Result<Self, KernelError> {
        let gpu = adapter::open(options.arithmetic)?;
        let ntt = ntt::NttKernels::new(&gpu)?;
        let shared = msm::SharedStages::new(&gpu)?;
        let g1 = msm::MsmKernels::new(&gpu, &shared, shaders::Group::G1)?;
        let g2 = msm::MsmKernels::new(&gpu, &shared, shaders::Group::G2)?;
        Ok(Self { gpu, ntt, g1, g2, busy: Mutex::new(()) })
    }

    /// The arithmetic path in use.
    pub fn arithmetic(&self) -> Arithmetic {
        self.gpu.arith
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for WgpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Wgpu
    }

    fn device_name(&self) -> String {
        let info = &self.gpu.info;
        format!("{} ({:?}, {:?}, {} arithmetic)", info.name, info.backend, info.device_type, self.gpu.arith.as_str())
    }

    fn msm_g1_unchecked(&self, bases: &G1Bases, scalars: &[&[Fr]]) -> Result<Vec<G1Projective>, KernelError> {
        let _busy = self.lock();
        self.g1.run(&self.gpu, bases, scalars)
    }

    fn msm_g2_unchecked(&self, bases: &G2Bases, scalars: &[&[Fr]]) -> Result<Vec<G2Projective>, KernelError> {
        let _busy = self.lock();
        self.g2.run(&self.gpu, bases, scalars)
    }

    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        let _busy = self.lock();
        self.ntt.run(&self.gpu, vectors, op)
    }
}
