//! The WebGPU backend beside the CPU backend: G1 MSM, G2 MSM and NTT (forward coset, the
//! Groth16 shape), one criterion group per kernel so every size shows `cpu` and `wgpu` side by
//! side. Each size first checks that both backends give the same result.
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
//! issue's 2^16…2^22 range; lavapipe, being a CPU, is only practical to about 2^14).
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
use zkq_kernels::{Backend, Bases, CpuBackend, NttOp, WgpuBackend, WgpuOptions};

fn backends() -> (CpuBackend, WgpuBackend) {
    let cpu = CpuBackend::new(None).expect("cpu backend");
    let gpu = WgpuBackend::new(WgpuOptions::default()).unwrap_or_else(|e| panic!("wgpu backend: {e}"));
    eprintln!("wgpu device: {}; cpu: {}", gpu.device_name(), cpu.device_name());
    (cpu, gpu)
}

/// One MSM of the backend on a single scalar vector.
type Msm<G> = fn(&dyn Backend, &Bases<<G as CurveGroup>::Affine>, &[Fr]) -> G;

/// Group `name`: sizes 2^10, 2^12, … 2^hi_log (and the env cap), `cpu` beside `wgpu`, each size
/// checked for equal results first.
fn msm_group<G: CurveGroup<ScalarField = Fr>>(c: &mut Criterion, name: &str, hi_log: u32, msm: Msm<G>) {
    let (cpu, gpu) = backends();
    let sizes = inputs::log_sizes(10, hi_log, 2);
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

fn msm_g1(c: &mut Criterion) {
    msm_group::<G1Projective>(c, "wgpu_msm_g1", 22, |b, bases, s| b.msm_g1(bases, &[s]).expect("msm_g1")[0]);
}

fn msm_g2(c: &mut Criterion) {
    msm_group::<G2Projective>(c, "wgpu_msm_g2", 20, |b, bases, s| b.msm_g2(bases, &[s]).expect("msm_g2")[0]);
}

fn ntt(c: &mut Criterion) {
    let (cpu, gpu) = backends();
    let sizes = inputs::log_sizes(10, 22, 2);
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

criterion_group!(benches, msm_g1, msm_g2, ntt);
criterion_main!(benches);
