//! NTT benchmarks: zkq's CPU backend against arkworks' `Radix2EvaluationDomain`, forward and
//! coset-forward, both in one criterion group per operation so every size shows the two side
//! by side.
//!
//! Run from the repository root:
//!
//! ```text
//! export CARGO_TARGET_DIR=/root/.cache/zkq-target
//! ZKQ_BENCH_MAX_LOG=20 cargo bench -p zkq-bench --bench ntt     # 2^10, 2^12, …, 2^20
//! ZKQ_BENCH_MAX_LOG=14 cargo bench -p zkq-bench --bench ntt -- --warm-up-time 1 --measurement-time 2
//! cargo bench -p zkq-bench --bench ntt -- 'ntt_coset_forward/'  # one group
//! ```
//!
//! `ZKQ_BENCH_MAX_LOG` caps the largest size (`log2`, default 18; set 20 for the full range). Inputs are uniformly random;
//! each timed iteration transforms the previous iteration's output in place (the cost does not
//! depend on the values, and this keeps copies out of the measurement). Twiddles are
//! precomputed on both sides before timing (zkq caches a domain per size; arkworks' domain is
//! built once per size). The coset shift is `Fr::GENERATOR`. Before timing, each size checks
//! that both give the same evaluations.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented `pub fn`"
)]

use ark_bn254::Fr;
use ark_ff::FftField;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zkq_bench::inputs;
use zkq_kernels::{Backend, CpuBackend, NttOp};

/// Which transform a group measures.
#[derive(Clone, Copy)]
enum Op {
    /// Coefficients → evaluations on the subgroup.
    Forward,
    /// Coefficients → evaluations on the coset `GENERATOR·⟨ω⟩`.
    CosetForward,
}

/// The QAP's step: subgroup evaluations → coset evaluations. zkq: one `ntt_resample` (no
/// bit-reversal); arkworks: `ifft_in_place` then the coset's `fft_in_place`.
fn ntt_resample(c: &mut Criterion) {
    let sizes = inputs::log_sizes(10, 20, 2);
    let Some(&top) = sizes.last() else { return };
    let backend = CpuBackend::new(None).expect("cpu backend");
    let input = inputs::random_scalars::<Fr>(1 << top, &mut inputs::rng());
    let mut group = c.benchmark_group("ntt_resample");
    for log in sizes {
        let n = 1usize << log;
        let shift = Fr::get_root_of_unity(2 * n as u64).expect("2n-th root");
        let subgroup = Radix2EvaluationDomain::<Fr>::new(n).expect("radix-2 domain");
        let coset = subgroup.get_coset(shift).expect("coset");
        let mut ours = input[..n].to_vec();
        let mut theirs = input[..n].to_vec();
        backend.ntt_resample(&mut [&mut ours[..]], shift).expect("resample");
        subgroup.ifft_in_place(&mut theirs);
        coset.fft_in_place(&mut theirs);
        assert!(ours == theirs, "ntt_resample 2^{log}: zkq and arkworks disagree");
        group.sample_size(if log >= 16 { 20 } else { 50 });
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("zkq-cpu", n), &n, |b, _| {
            b.iter(|| backend.ntt_resample(&mut [&mut ours[..]], shift).expect("resample"))
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            b.iter(|| {
                subgroup.ifft_in_place(&mut theirs);
                coset.fft_in_place(&mut theirs);
            })
        });
    }
    group.finish();
}

fn ntt_group(c: &mut Criterion, name: &str, op: Op) {
    let sizes = inputs::log_sizes(10, 20, 2);
    let Some(&top) = sizes.last() else { return };
    let backend = CpuBackend::new(None).expect("cpu backend");
    let input = inputs::random_scalars::<Fr>(1 << top, &mut inputs::rng());
    let shift = Fr::GENERATOR;
    let zkq_op = match op {
        Op::Forward => NttOp::Forward,
        Op::CosetForward => NttOp::ForwardCoset(shift),
    };

    let mut group = c.benchmark_group(name);
    for log in sizes {
        let n = 1usize << log;
        let subgroup = Radix2EvaluationDomain::<Fr>::new(n).expect("radix-2 domain");
        let domain = match op {
            Op::Forward => subgroup,
            Op::CosetForward => subgroup.get_coset(shift).expect("coset"),
        };
        let mut ours = input[..n].to_vec();
        let mut theirs = input[..n].to_vec();
        backend.ntt(&mut [&mut ours[..]], zkq_op).expect("ntt");
        domain.fft_in_place(&mut theirs);
        assert!(ours == theirs, "{name} 2^{log}: zkq and arkworks disagree");

        group.sample_size(if log >= 16 { 20 } else { 50 });
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("zkq-cpu", n), &n, |b, _| {
            b.iter(|| backend.ntt(&mut [&mut ours[..]], zkq_op).expect("ntt"))
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            b.iter(|| domain.fft_in_place(&mut theirs))
        });
    }
    group.finish();
}

/// Forward NTT on the subgroup of order n.
fn ntt_forward(c: &mut Criterion) {
    ntt_group(c, "ntt_forward", Op::Forward);
}

/// Forward NTT on the coset `GENERATOR·⟨ω⟩` (the prover runs the same operation, with shift
/// `ω_{2n}`, for its odd coset).
fn ntt_coset_forward(c: &mut Criterion) {
    ntt_group(c, "ntt_coset_forward", Op::CosetForward);
}

criterion_group!(benches, ntt_forward, ntt_coset_forward, ntt_resample);
criterion_main!(benches);
