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
//! ## Limits: splitting what does not fit one binding
//! Every buffer a kernel binds stays within the adapter's `max_storage_buffer_binding_size`
//! and `max_buffer_size` (or the lower [`WgpuOptions::max_binding_bytes`]): an MSM runs over
//! resident chunks of bases (results summed on the host), window groups sized to the binding,
//! and window sums read back whenever their buffer is full; its window width narrows when one
//! window's buckets would not fit. An NTT larger than one binding runs as sub-transforms in
//! several buffers joined by cross-buffer butterfly stages (see `ntt`). Workgroup storage is
//! used only by the one-workgroup scan (1 KiB, checked when the adapter is opened).
//!
//! ## CPU adapters (lavapipe)
//! Mesa inlines every WGSL call and unrolls every constant loop; the curve formulas therefore
//! run their field multiplies as rounds of one call site and the MSM reduction runs every
//! addition through one call site, so each pipeline holds one copy of the field multiply
//! (the G2 reduction pipelines took 69 s and 398 s to compile, now about 5 s each). lavapipe also
//! ends an invocation's loops after 65,535 iterations in total; kernels detect that
//! (`loop_limit_hit`) and the backend redoes such an MSM on the CPU backend.
//!
//! ## G2
//! G2 MSM has device kernels (the same curve template over Fq2), verified by the equivalence
//! suite on lavapipe on both arithmetic paths, and a CPU placement ([`G2Placement`]). The
//! default is the CPU: on lavapipe the "device" is the same CPU cores running WGSL through an
//! extra layer, measured many times slower than arkworks (see `bench/RESULTS.md`), and on GPUs
//! the device G2 kernels have not been timed yet; the engine can run the CPU G2 MSM
//! concurrently with the device's G1 work. `g2: Some(G2Placement::Device)` selects the device.

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
    /// Where G2 MSMs run. Default `None`: [`G2Placement::Cpu`] on every adapter — on lavapipe
    /// the host's arkworks is many times faster than the device kernels, and on GPUs the device
    /// G2 kernels are verified (on lavapipe) but not yet timed (see the module docs).
    pub g2: Option<G2Placement>,
    /// Cap on the bytes of one storage binding, below the adapter's own limit
    /// (`max_storage_buffer_binding_size`, `max_buffer_size`); a cap above that limit changes
    /// nothing. Default `None`: the adapter's limit. Vectors larger than one binding are split
    /// in any case (MSM: chunks of bases and scalars whose results are summed; NTT: a
    /// decomposition into sub-transforms, see `ntt`), so the cap exists to run those paths at
    /// small sizes (the tests use a few KiB) or to leave room beside other work on a shared
    /// device. A cap too small for the smallest kernel configuration (about 2 KiB) makes MSMs
    /// fail with [`KernelError::OutOfMemory`].
    pub max_binding_bytes: Option<u64>,
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
        let gpu = adapter::open(options.arithmetic, options.max_binding_bytes)?;
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
