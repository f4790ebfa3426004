//! The CUDA backend (feature `cuda`): BN254 MSM and NTT kernels written in CUDA C++, compiled
//! at run time by NVRTC through cudarc — no CUDA toolkit at build time, the driver and NVRTC
//! libraries are loaded when the backend opens, and their absence is a typed
//! [`crate::KernelError::Unavailable`], never a panic.
//!
//! ## Layout
//! - `kernels/cuda/` — the sources, layered by mathematics (the sppark layout):
//!   `common.cuh` (types, host/device portability), `ff/` (8 × 32-bit Montgomery fields, PTX and
//!   portable carry paths; generated constants; inversion), `ec/` (XYZZ points with affine
//!   bases), `msm/` (signed-digit Pippenger: counting-sort bucket assignment, per-bucket
//!   accumulation, segmented running-sum reduction, precomputed multiples of fixed bases),
//!   `ntt/` (DIF radix-2, shared-memory tiles, bit-reversal fused into the last store, coset
//!   and 1/n scaling fused into the first load / last store), `groth16/` (the a·b − c step),
//!   `kernels.cu` (the `__global__` wrappers), `host/harness.cpp` (host test harness).
//! - [`constants`] — generates `ff/bn254_constants.cuh` from ark-bn254 (checked by a test).
//! - [`sources`] — the embedded sources and their single NVRTC translation unit.
//! - [`compile`] — NVRTC to CUBIN for the device's `sm_XY`, cached on disk by source hash,
//!   architecture and NVRTC version.
//! - [`plan`] — window width, precomputation factor, reduction shape; NTT tables and stage
//!   split; the host-side combination of partial results. Shared by GPU and host runs.
//! - [`layout`] — arkworks values as device words (no conversion: both are Montgomery limbs).
//! - [`backend`] — [`CudaBackend`]: device, streams, resident base tables, launches.
//! - `host` (tests) — the kernels' bodies run on the CPU as a [`crate::Backend`].
//!
//! ## What CI checks without a GPU, and what only a GPU run checks
//! CI (no GPU) checks:
//! - that every kernel compiles with NVRTC 13.0 for `sm_90`, which runs ptxas too — bad inline
//!   PTX fails the build (`compile_tests`), with both carry paths;
//! - the field and curve code (portable carry path) against arkworks on random and adversarial
//!   inputs, and the MSM and NTT *kernel bodies*, run thread by thread on the host in the GPU's
//!   launch order with the GPU's plans and tables, through the generic equivalence checkers
//!   (`crate::testing`), for several precomputation budgets;
//! - that opening the backend on a machine without a driver is `Unavailable`, not a panic.
//!
//! Only a GPU run checks: the PTX carry chains (`ZKQ_PTX`), shared memory and barriers in the
//! scan and NTT tile kernels, atomics under contention, launch geometry and limits, the two
//! streams and transfers, and [`CudaBackend`]'s own launch sequence (which mirrors the host
//! harness's). `gpu_equivalence` runs the generic checkers against [`CudaBackend`] when a
//! device is present (`ZKQ_REQUIRE_GPU=1` makes its absence a failure).
//!
//! G2 MSMs run on the CPU (see [`CudaBackend`]'s `msm_g2_unchecked`).

pub mod backend;
pub mod compile;
pub mod constants;
pub mod layout;
pub mod plan;
pub mod sources;

#[cfg(test)]
pub(crate) mod host;
#[cfg(test)]
mod tests;

pub use backend::{CudaBackend, CudaConfig};
