//! Proofs from a large in-memory log: `inclusion_proof` + `verify_inclusion` for random leaves
//! at the full size, and `consistency_proof` (+ verification) between random sizes.
//!
//! The log has 10,000,000 leaves unless `ZKQ_BENCH_LOG_SIZE` says otherwise (about 64 bytes of
//! memory per leaf). Run: `cargo bench -p zkq-audit --bench inclusion`.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use zkq_audit::merkle::{self, MemoryTree};

/// A small deterministic generator (SplitMix64): random indices without a dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn log_size() -> u64 {
    std::env::var("ZKQ_BENCH_LOG_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 1)
        .unwrap_or(10_000_000)
}

fn bench(c: &mut Criterion) {
    let size = log_size();
    let started = Instant::now();
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.push(&i.to_le_bytes());
    }
    let head = merkle::root(size, &tree).unwrap();
    println!(
        "built a log of {size} leaves in {:.2?} (root {})",
        started.elapsed(),
        hex::encode(head)
    );

    let mut group = c.benchmark_group(format!("log of {size}"));
    let mut rng = SplitMix(1);
    group.bench_function("inclusion_proof + verify_inclusion", |b| {
        b.iter(|| {
            let index = rng.next() % size;
            let proof = merkle::inclusion_proof(index, size, &tree).unwrap();
            let leaf = merkle::leaf_hash(&index.to_le_bytes());
            merkle::verify_inclusion(&leaf, index, size, black_box(&proof), &head).unwrap();
        })
    });
    let mut rng = SplitMix(2);
    group.bench_function("inclusion_plan", |b| {
        b.iter(|| black_box(merkle::inclusion_plan(rng.next() % size, size).unwrap()))
    });
    let mut rng = SplitMix(3);
    group.bench_function("consistency_proof (random sizes)", |b| {
        b.iter(|| {
            let (x, y) = (1 + rng.next() % size, 1 + rng.next() % size);
            black_box(merkle::consistency_proof(x.min(y), x.max(y), &tree).unwrap())
        })
    });
    // With verification: both heads precomputed outside the timed loop would need a root per
    // size; computing them (O(log n) lookups each) is part of what a log server does anyway.
    let mut rng = SplitMix(4);
    group.bench_function("consistency_proof + roots + verify_consistency", |b| {
        b.iter(|| {
            let (x, y) = (1 + rng.next() % size, 1 + rng.next() % size);
            let (first, second) = (x.min(y), x.max(y));
            let proof = merkle::consistency_proof(first, second, &tree).unwrap();
            let r1 = merkle::root(first, &tree).unwrap();
            let r2 = merkle::root(second, &tree).unwrap();
            merkle::verify_consistency(first, second, &r1, &r2, black_box(&proof)).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
