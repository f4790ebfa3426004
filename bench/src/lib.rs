//! # zkq-bench — how fast zkq is, and against what
//!
//! Three kinds of measurement live here:
//! - **Kernel and prover micro-benchmarks** (criterion, `benches/`): G1/G2 MSM and NTT on
//!   `zkq_kernels::CpuBackend` against arkworks' own implementations, side by side in one
//!   criterion group per operation (`msm.rs`, `ntt.rs`), and full Groth16 proving per committed
//!   fixture, batches of 1 and 8 (`prove.rs`). Each file's header says how to run it;
//!   `ZKQ_BENCH_MAX_LOG` caps the kernel sizes.
//! - **Side-by-side prover timing** (`zkq-side-by-side`): the built `zkq prove` against
//!   `snarkjs groth16 prove` (and rapidsnark's `prover` when `RAPIDSNARK_BIN` is set), one process
//!   per proof, every proof verified, wall time and peak RSS per child.
//! - **Job-pipeline load** (`zkq-loadgen`): an open-loop load generator for RabbitMQ → `zkq worker`
//!   → PostgreSQL → reply, at a fixed arrival rate, latency from each job's scheduled send time
//!   into an HdrHistogram, with the worker-side phase times read back from PostgreSQL and the
//!   CPU split between worker, broker, database and generator (`bench/LOAD.md`).
//!
//! ## Layout
//! - [`inputs`] — deterministic, cheap benchmark inputs (random points, scalars, sizes).
//! - [`child`] — run one child process and measure its wall time and peak RSS.
//! - [`stats`] — per-tool summaries (median, min, max, ratio against zkq).
//! - [`report`] — the text table and JSON document the side-by-side binary prints.
//! - [`load`] — the pure parts of `zkq-loadgen`, the open-loop load generator for the job
//!   pipeline: arrival schedule, job ids, latency histograms, per-process CPU split.

pub mod child;
pub mod inputs;
pub mod load;
pub mod report;
pub mod stats;
pub mod tools;
