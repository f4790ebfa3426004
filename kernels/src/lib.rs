//! # zkq-kernels — the backend seam
//!
//! Every heavy operation of a Groth16 proof over BN254 goes through this crate: multi-scalar
//! multiplication (MSM) in G1 and G2 and number-theoretic transforms (NTT) over the scalar field
//! `Fr`. The engine never calls arkworks' MSM or FFT directly; it calls a [`Backend`], so GPU
//! backends plug in without touching the prover.
//!
//! The crate is synchronous: no async runtime ever reaches a kernel.
//!
//! ## Layout
//! - [`backend`] — the [`Backend`] trait (checked entry points over `_unchecked` required
//!   methods), [`BackendKind`] and [`BackendConfig`], and [`open_backend`], the run-time selector.
//! - [`bases`] — [`Bases`]: fixed MSM bases (proving-key points) with a stable identity, so a
//!   backend can keep a resident, prepared copy across a batch.
//! - [`ntt`] — [`NttOp`]: forward / inverse transforms, optionally on a coset.
//! - [`cpu`] — [`CpuBackend`]: signed-digit batch-affine Pippenger with resident fixed-base
//!   tables, radix-4 NTT, rayon.
//! - `cuda` (feature `cuda`) — `CudaBackend`: CUDA C++ kernels compiled at run time by NVRTC.
//! - `wgpu` (feature `wgpu`) — `WgpuBackend`: WGSL kernels through wgpu (Vulkan, Metal).
//! - [`error`] — [`KernelError`], the typed errors every backend returns.
//! - `testing` (feature `testing`) — generic equivalence checkers, instantiated per backend.
//!
//! ## Concepts
//! A *batch* is the primary shape: one set of bases, many scalar vectors (one per proof of the
//! same circuit). A backend not compiled into this binary is selectable by name and answers
//! [`KernelError::Unsupported`]; a compiled-in backend without a usable device answers
//! [`KernelError::Unavailable`] — never a panic.

pub mod backend;
pub mod bases;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod error;
pub mod ntt;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use backend::{open_backend, Backend, BackendConfig, BackendKind};
pub use bases::{Bases, G1Bases, G2Bases};
pub use cpu::{CpuBackend, CpuOptions};
pub use error::KernelError;
pub use ntt::NttOp;
#[cfg(feature = "wgpu")]
pub use wgpu::{G2Placement, WgpuBackend, WgpuOptions};

/// The scalar field of BN254 (the field of witnesses and MSM scalars).
pub use ark_bn254::Fr;
/// Curve types re-exported so callers and backends name the same types.
pub use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
