//! The WebGPU backend beside the CPU backend: G1 MSM, G2 MSM and NTT (forward coset, the
//! Groth16 shape), one criterion group per kernel so every size shows `cpu` and `wgpu` side by
//! side. Each size first checks that both backends give the same result. The G2 group runs the
//! device G2 kernels (`G2Placement::Device`; the backend's default runs G2 on the CPU), so it
//! is the measurement behind that default.
//!
//! Run from the repository root (needs a Vulkan adapter; on a machine without a GPU install
//! Mesa's lavapipe: `apt-get install mesa-vulkan-drivers libvulkan1`, and set XDG_RUNTIME_DIR):
//!
//! ```text
//! export CARGO_TARGET_DIR=/root/.cache/zkq-target XDG_RUNTIME_DIR=/tmp
//! cargo bench -p zkq-bench --bench wgpu -- --warm-up-time 1 --measurement-time 3
//! ZKQ_BENCH_MAX_LOG=22 cargo bench -p zkq-bench --bench wgpu -- 'msm_g1'   # on a real GPU
//! ```
//!
//! `ZKQ_BENCH_MAX_LOG` caps the largest size (`log2`; default 18 — set 22 on a GPU for the
//! issue's 2^16…2^22 range; lavapipe, being a CPU, is only practical to about 2^16 for G1 and
//! 2^14 for G2). `ZKQ_BENCH_MIN_LOG` raises the smallest (default 10). `ZKQ_BENCH_ONLY` (a
//! comma-separated list of group names) skips the other groups' setup and equality checks,
//! which criterion's name filter still runs. `wgpu_split` times the split paths (a binding
//! cap of a quarter of the vector) beside the unsplit ones.
//! `device_name` of the backend (adapter, API, type, arithmetic path) is printed first.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented `pub fn`"
)]

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::FftField;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zkq_bench::inputs;
use zkq_kernels::{Backend, Bases, CpuBackend, G2Placement, NttOp, WgpuBackend, WgpuOptions};

fn backends(options: WgpuOptions) -> (CpuBackend, WgpuBackend) {
    let cpu = CpuBackend::new(None).expect("cpu backend");
    let gpu = WgpuBackend::new(options).unwrap_or_else(|e| panic!("wgpu backend: {e}"));
    eprintln!("wgpu device: {}; cpu: {}", gpu.device_name(), cpu.device_name());
    (cpu, gpu)
}

/// One MSM of the backend on a single scalar vector.
type Msm<G> = fn(&dyn Backend, &Bases<<G as CurveGroup>::Affine>, &[Fr]) -> G;

/// Group `name`: sizes 2^10, 2^12, … 2^hi_log (and the env cap), `cpu` beside `wgpu`, each size
/// checked for equal results first.
fn msm_group<G: CurveGroup<ScalarField = Fr>>(
    c: &mut Criterion,
    name: &str,
    hi_log: u32,
    options: WgpuOptions,
    msm: Msm<G>,
) {
    if !selected(name) {
        return;
    }
    let (cpu, gpu) = backends(options);
    let sizes = inputs::log_sizes(min_log(), hi_log, 2);
    let Some(&top) = sizes.last() else { return };
    let mut rng = inputs::rng();
    let points = inputs::random_points::<G>(1 << top, &mut rng);
    let scalars = inputs::random_scalars::<Fr>(1 << top, &mut rng);
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    for log in sizes {
        let n = 1usize << log;
        let bases = Bases::new(points[..n].to_vec());
        let s = &scalars[..n];
        assert_eq!(msm(&cpu, &bases, s).into_affine(), msm(&gpu, &bases, s).into_affine(), "{name} 2^{log}");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("cpu", n), &n, |b, _| b.iter(|| msm(&cpu, &bases, s)));
        group.bench_with_input(BenchmarkId::new("wgpu", n), &n, |b, _| b.iter(|| msm(&gpu, &bases, s)));
    }
    group.finish();
}

/// Whether `ZKQ_BENCH_ONLY` (unset: every group) names `group`.
fn selected(group: &str) -> bool {
    std::env::var("ZKQ_BENCH_ONLY").map_or(true, |only| only.split(',').any(|g| g.trim() == group))
}

/// `ZKQ_BENCH_MIN_LOG`, default 10.
fn min_log() -> u32 {
    std::env::var("ZKQ_BENCH_MIN_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

fn msm_g1(c: &mut Criterion) {
    msm_group::<G1Projective>(c, "wgpu_msm_g1", 22, WgpuOptions::default(), |b, bases, s| {
        b.msm_g1(bases, &[s]).expect("msm_g1")[0]
    });
}

fn msm_g2(c: &mut Criterion) {
    let device = WgpuOptions { g2: Some(G2Placement::Device), ..Default::default() };
    msm_group::<G2Projective>(c, "wgpu_msm_g2", 20, device, |b, bases, s| b.msm_g2(bases, &[s]).expect("msm_g2")[0]);
}

fn ntt(c: &mut Criterion) {
    if !selected("wgpu_ntt_coset") {
        return;
    }
    let (cpu, gpu) = backends(WgpuOptions::default());
    let sizes = inputs::log_sizes(min_log(), 22, 2);
    let mut rng = inputs::rng();
    let mut group = c.benchmark_group("wgpu_ntt_coset");
    group.sample_size(10);
    for log in sizes {
        let n = 1usize << log;
        let shift = Fr::get_root_of_unity(2 * n as u64).expect("2n-th root");
        let v: Vec<Fr> = inputs::random_scalars(n, &mut rng);
        let (mut a, mut b) = (v.clone(), v.clone());
        cpu.ntt(&mut [&mut a[..]], NttOp::ForwardCoset(shift)).expect("cpu");
        gpu.ntt(&mut [&mut b[..]], NttOp::ForwardCoset(shift)).expect("wgpu");
        assert_eq!(a, b, "NTT 2^{log}");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("cpu", n), &n, |bch, _| {
            bch.iter(|| cpu.ntt(&mut [&mut a[..]], NttOp::ForwardCoset(shift)).expect("cpu"))
        });
        group.bench_with_input(BenchmarkId::new("wgpu", n), &n, |bch, _| {
            bch.iter(|| gpu.ntt(&mut [&mut b[..]], NttOp::ForwardCoset(shift)).expect("wgpu"))
        });
    }
    group.finish();
}

/// The cost of splitting: the same coset NTT and G1 MSM with the adapter's binding limit and
/// with a cap of 1/4 of the vector (NTT: 4 sub-transforms and 2 cross stages; MSM: 4 base
/// chunks), each checked against the unsplit result first. Sizes: `ZKQ_BENCH_SPLIT_LOG`
/// (default 14).
fn split(c: &mut Criterion) {
    if !selected("wgpu_split") {
        return;
    }
    let log: u32 = std::env::var("ZKQ_BENCH_SPLIT_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(14);
    let n = 1usize << log;
    let whole = WgpuBackend::new(WgpuOptions::default()).unwrap_or_else(|e| panic!("wgpu backend: {e}"));
    let quarter = WgpuBackend::new(WgpuOptions { max_binding_bytes: Some(8 * n as u64), ..Default::default() })
        .unwrap_or_else(|e| panic!("wgpu backend: {e}"));
    let mut rng = inputs::rng();
    let mut group = c.benchmark_group("wgpu_split");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    let shift = Fr::get_root_of_unity(2 * n as u64).expect("2n-th root");
    let v: Vec<Fr> = inputs::random_scalars(n, &mut rng);
    let (mut a, mut b) = (v.clone(), v);
    whole.ntt(&mut [&mut a[..]], NttOp::ForwardCoset(shift)).expect("wgpu");
    quarter.ntt(&mut [&mut b[..]], NttOp::ForwardCoset(shift)).expect("wgpu split");
    assert_eq!(a, b, "split NTT 2^{log}");
    for (name, backend, v) in [("ntt_coset/whole", &whole, &mut a), ("ntt_coset/4_blocks", &quarter, &mut b)] {
        group.bench_with_input(BenchmarkId::new(name, n), &n, |bch, _| {
            bch.iter(|| backend.ntt(&mut [&mut v[..]], NttOp::ForwardCoset(shift)).expect("ntt"))
        });
    }
    let bases = Bases::new(inputs::random_points::<G1Projective>(n, &mut rng));
    let scalars: Vec<Fr> = inputs::random_scalars(n, &mut rng);
    let msm = |b: &WgpuBackend| b.msm_g1(&bases, &[&scalars]).expect("msm_g1")[0].into_affine();
    assert_eq!(msm(&whole), msm(&quarter), "split MSM 2^{log}");
    for (name, backend) in [("msm_g1/whole", &whole), ("msm_g1/4_chunks", &quarter)] {
        group.bench_with_input(BenchmarkId::new(name, n), &n, |bch, _| bch.iter(|| msm(backend)));
    }
    group.finish();
}

criterion_group!(benches, msm_g1, msm_g2, ntt, split);
criterion_main!(benches);
