//! MSM benchmarks: zkq's CPU backend against arkworks' own `VariableBaseMSM::msm`, both in one
//! criterion group per curve group so every size shows the two side by side.
//!
//! Run from the repository root:
//!
//! ```text
//! export CARGO_TARGET_DIR=/root/.cache/zkq-target
//! ZKQ_BENCH_MAX_LOG=20 cargo bench -p zkq-bench --bench msm     # G1 2^10…2^20, G2 2^10…2^16
//! ZKQ_BENCH_MAX_LOG=14 cargo bench -p zkq-bench --bench msm -- --warm-up-time 1 --measurement-time 2
//! cargo bench -p zkq-bench --bench msm -- 'msm_g1/.*/65536'     # one group and size
//! ```
//!
//! Three implementations per size: `zkq-cpu` (bases never prepared: the variable-base path a
//! one-shot prove takes), `zkq-cpu-prepared` (fixed-base tables built before timing: a warm
//! engine) and `arkworks`.
//!
//! `ZKQ_BENCH_MAX_LOG` caps the largest size (`log2`, default 18; set 20 for the full range). Bases come from
//! `zkq_bench::inputs::random_points` (cheap running sums, checked distinct and non-zero);
//! scalars are uniformly random. Both implementations use every core: zkq its own rayon pool,
//! arkworks rayon's global pool. Before timing, each size checks that both give the same point.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented `pub fn`"
)]

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zkq_bench::inputs;
use zkq_kernels::{Backend, Bases, CpuBackend, CpuOptions, G1Bases, G2Bases};

/// The zkq side of one MSM: a batch of one scalar vector on the backend.
type ZkqMsm<G> = fn(&CpuBackend, &Bases<<G as CurveGroup>::Affine>, &[Fr]) -> G;
/// Builds the backend's fixed-base table for the bases.
type Prepare<G> = fn(&CpuBackend, &Bases<<G as CurveGroup>::Affine>);

/// Benchmarks sizes `2^10, 2^12, …` up to `2^hi_log` (and the env cap) in group `name`, with
/// criterion's minimum of 10 samples from `2^few_samples_log` up (those take ~0.1 s or more).
fn msm_group<G>(c: &mut Criterion, name: &str, hi_log: u32, few_samples_log: u32, zkq: ZkqMsm<G>, prepare: Prepare<G>)
where
    G: CurveGroup<ScalarField = Fr> + VariableBaseMSM<MulBase = <G as CurveGroup>::Affine>,
{
    let sizes = inputs::log_sizes(10, hi_log, 2);
    let Some(&top) = sizes.last() else { return };
    // Cold: bases never prepared (the variable-base path, as a one-shot `zkq prove` runs).
    let cold = CpuBackend::with_options(CpuOptions { prepare_after: usize::MAX, ..CpuOptions::default() })
        .expect("cpu backend");
    // Warm: bases prepared once before timing (fixed-base tables, as a warm engine runs).
    let warm = CpuBackend::new(None).expect("cpu backend");
    let mut rng = inputs::rng();
    let points = inputs::random_points::<G>(1 << top, &mut rng);
    let scalars = inputs::random_scalars::<Fr>(1 << top, &mut rng);

    let mut group = c.benchmark_group(name);
    for log in sizes {
        let n = 1usize << log;
        let (points, scalars) = (&points[..n], &scalars[..n]);
        let bases = Bases::new(points.to_vec());
        let want = G::msm(points, scalars).expect("equal lengths");
        assert_eq!(zkq(&cold, &bases, scalars), want, "{name} 2^{log} cold");
        prepare(&warm, &bases);
        assert_eq!(zkq(&warm, &bases, scalars), want, "{name} 2^{log} warm");

        group.sample_size(if log >= few_samples_log { 10 } else { 20 });
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("zkq-cpu", n), &n, |b, _| b.iter(|| zkq(&cold, &bases, scalars)));
        group.bench_with_input(BenchmarkId::new("zkq-cpu-prepared", n), &n, |b, _| {
            b.iter(|| zkq(&warm, &bases, scalars))
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            b.iter(|| G::msm(points, scalars).expect("equal lengths"))
        });
    }
    group.finish();
}

fn zkq_g1(backend: &CpuBackend, bases: &G1Bases, s: &[Fr]) -> G1Projective {
    backend.msm_g1(bases, &[s]).expect("msm_g1")[0]
}

fn zkq_g2(backend: &CpuBackend, bases: &G2Bases, s: &[Fr]) -> G2Projective {
    backend.msm_g2(bases, &[s]).expect("msm_g2")[0]
}

/// G1 MSM, 2^10 … 2^18 (proving-key sections A, B1, C, H).
fn msm_g1(c: &mut Criterion) {
    msm_group::<G1Projective>(c, "msm_g1", 20, 14, zkq_g1, |b, bases| b.prepare_g1(bases).expect("prepare"));
}

/// G2 MSM, 2^10 … 2^14 (section B2; one per proof, about three times a G1 MSM's cost).
fn msm_g2(c: &mut Criterion) {
    msm_group::<G2Projective>(c, "msm_g2", 16, 12, zkq_g2, |b, bases| b.prepare_g2(bases).expect("prepare"));
}

criterion_group!(benches, msm_g1, msm_g2);
criterion_main!(benches);
