//! Full Groth16 proving per committed circom fixture on zkq's CPU backend: a batch of one and a
//! batch of eight witnesses (one proving key, one batched backend call per MSM).
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
//! Throughput is reported in proofs (criterion "elements") per second, so the batch-of-8 line
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
use zkq_kernels::{open_backend, BackendConfig};

/// Batch sizes measured per fixture.
const BATCHES: [usize; 2] = [1, 8];

fn prove(c: &mut Criterion) {
    let prover = Prover::new(open_backend(&BackendConfig::default()).expect("cpu backend"));
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

        let mut group = c.benchmark_group(format!("prove/{}", fixture.name));
        group.sample_size(10);
        for batch in BATCHES {
            let witnesses = vec![witness.clone(); batch];
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(BenchmarkId::new("batch", batch), &witnesses, |b, ws| {
                b.iter(|| prover.prove_batch(&pk, ws).expect("prove"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, prove);
criterion_main!(benches);
