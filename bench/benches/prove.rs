//! Full Groth16 proving per committed circom fixture on zkq's CPU backend: a batch of one on a
//! cold backend (key never prepared: the variable-base MSM path, as one `zkq prove` runs), and
//! a batch of 32 on a warm backend (key prepared once with `Prover::prepare`: resident
//! fixed-base tables, as a long-lived worker runs).
//!
//! Run from the repository root:
//!
//! ```text
//! export CARGO_TARGET_DIR=/root/.cache/zkq-target
//! cargo bench -p zkq-bench --bench prove
//! cargo bench -p zkq-bench --bench prove -- --warm-up-time 1 --measurement-time 3
//! cargo bench -p zkq-bench --bench prove -- 'prove/mul_chain_4k'   # one fixture
//! ```
//!
//! Throughput is reported in proofs (criterion "elements") per second, so the batch-of-32 line
//! reads directly as per-proof cost. Key and witness are read once, outside the timing; the
//! timing covers `Prover::prove_batch` only (OS randomness included, file writes excluded —
//! `zkq-side-by-side` measures whole `zkq prove` processes).

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented `pub fn`"
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zkq_engine::fixtures::ALL;
use zkq_engine::{verify, zkey, Prover, Witness};
use std::sync::Arc;

use zkq_kernels::{CpuBackend, CpuOptions};

/// Batch size of the warm measurement.
const WARM_BATCH: usize = 32;

fn prove(c: &mut Criterion) {
    let cold = CpuBackend::with_options(CpuOptions { prepare_after: usize::MAX, ..CpuOptions::default() });
    let prover = Prover::new(Arc::new(cold.expect("cpu backend")));
    let warm = Prover::new(Arc::new(CpuBackend::new(None).expect("cpu backend")));
    for fixture in ALL {
        let pk = zkey::read_proving_key(&fixture.zkey())
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let witness =
            Witness::read(&fixture.wtns()).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));

        // One checked proof before timing: a benchmark of a broken prover is worthless.
        let out = prover
            .prove_batch(&pk, std::slice::from_ref(&witness))
            .expect("prove");
        assert!(
            verify(&pk.vk, &out.public_signals[0], &out.proofs[0]).expect("verify"),
            "{}",
            fixture.name
        );

        warm.prepare(&pk).expect("prepare");
        let batch = vec![witness.clone(); WARM_BATCH];
        let out = warm.prove_batch(&pk, &batch).expect("prove");
        for (public, proof) in out.public_signals.iter().zip(&out.proofs) {
            assert!(verify(&pk.vk, public, proof).expect("verify"), "{} warm", fixture.name);
        }

        let mut group = c.benchmark_group(format!("prove/{}", fixture.name));
        group.sample_size(10);
        let one = vec![witness.clone()];
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("cold-batch", 1), &one, |b, ws| {
            b.iter(|| prover.prove_batch(&pk, ws).expect("prove"))
        });
        group.throughput(Throughput::Elements(WARM_BATCH as u64));
        group.bench_with_input(BenchmarkId::new("warm-batch", WARM_BATCH), &batch, |b, ws| {
            b.iter(|| warm.prove_batch(&pk, ws).expect("prove"))
        });
        group.finish();
    }
}

criterion_group!(benches, prove);
criterion_main!(benches);
