//! Unit tests of the WGSL arithmetic layers against arkworks, on both arithmetic paths.
//!
//! These need an adapter. Without one they fail, so CI notices a missing driver — unless
//! `ZKQ_WGPU_TESTS=skip` is set, which skips them with a message.

use ark_ff::{One, PrimeField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, SeedableRng};

use super::gpu::{Binding, Gpu};
use super::shaders::{from_montgomery_words, montgomery_words, Arithmetic, Module, TestField};
use crate::KernelError;

/// Opens a device for `arith`, or returns `None` when the user asked to skip GPU tests.
/// Without a device and without that request, the test fails.
pub(crate) fn test_gpu(arith: Arithmetic) -> Option<Gpu> {
    match super::adapter::open(Some(arith), None) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var("ZKQ_WGPU_TESTS").as_deref() == Ok("skip") => {
            eprintln!("wgpu test skipped (ZKQ_WGPU_TESTS=skip): {e}");
            None
        }
        Err(e) => panic!(
            "no usable WebGPU adapter: {e}. Install one (Debian: apt-get install mesa-vulkan-drivers libvulkan1) \
             or set ZKQ_WGPU_TESTS=skip to skip the wgpu tests"
        ),
    }
}

/// Runs `op` element-wise on the device in field `field`.
fn device_op(gpu: &Gpu, field: TestField, op: u32, a: &[[u32; 8]], b: &[[u32; 8]]) -> Result<Vec<[u32; 8]>, KernelError> {
    use Binding::*;
    let module = gpu.compile(Module::FieldTest(field), &[ReadOnly, ReadOnly, ReadWrite, Uniform], &["field_op"])?;
    let flat = |v: &[[u32; 8]]| v.iter().flatten().copied().collect::<Vec<u32>>();
    let n = a.len();
    gpu.scoped(0, || {
        let a_buf = gpu.storage_init("a", &flat(a))?;
        let b_buf = gpu.storage_init("b", &flat(b))?;
        let out = gpu.storage("out", n * 8)?;
        let params = gpu.uniform(&[n as u32, op]);
        let bind = gpu.bind(&module, &[&a_buf, &b_buf, &out, &params]);
        let mut enc = gpu.encoder();
        gpu.dispatch(&mut enc, &module, "field_op", &bind, n as u32);
        let words = gpu.submit_and_read(enc, &out, n * 8)?;
        Ok(words.chunks(8).map(|c| c.try_into().expect("8 words")).collect())
    })
}

/// Random elements plus the edge values 0, 1, −1, 2 and p − 2.
fn inputs<F: PrimeField + UniformRand>(rng: &mut StdRng, n: usize) -> Vec<F> {
    let mut v = vec![F::zero(), F::one(), -F::one(), F::from(2u64), -F::from(2u64)];
    v.extend((0..n).map(|_| F::rand(rng)));
    v
}

fn check_field<P: ark_ff::FpConfig<4>>(arith: Arithmetic, field: TestField) {
    let Some(gpu) = test_gpu(arith) else { return };
    let mut rng = StdRng::seed_from_u64(7);
    let xs: Vec<ark_ff::Fp<P, 4>> = inputs(&mut rng, 2000);
    // Pair every value with every edge value, then random with random.
    let ys: Vec<ark_ff::Fp<P, 4>> = xs.iter().enumerate().map(|(i, _)| xs[(i * 7 + 3) % xs.len()]).collect();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for x in &xs[..5] {
        for y in &xs {
            a.push(*x);
            b.push(*y);
        }
    }
    a.extend_from_slice(&xs);
    b.extend_from_slice(&ys);
    let aw: Vec<[u32; 8]> = a.iter().map(montgomery_words).collect();
    let bw: Vec<[u32; 8]> = b.iter().map(montgomery_words).collect();
    for (op, name) in [(0u32, "add"), (1, "sub"), (2, "mul"), (3, "neg"), (4, "from_mont")] {
        let got = device_op(&gpu, field, op, &aw, &bw).unwrap_or_else(|e| panic!("{field:?} {name}: {e}"));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let want = match op {
                0 => montgomery_words(&(*x + y)),
                1 => montgomery_words(&(*x - y)),
                2 => montgomery_words(&(*x * y)),
                3 => montgomery_words(&-*x),
                _ => {
                    let canonical = x.into_bigint();
                    let mut w = [0u32; 8];
                    for (k, limb) in canonical.0.iter().enumerate() {
                        w[2 * k] = *limb as u32;
                        w[2 * k + 1] = (*limb >> 32) as u32;
                    }
                    w
                }
            };
            assert_eq!(got[i], want, "{field:?} {name} ({}) #{i}: {x} ∘ {y}", arith.as_str());
        }
        // Round trip of the representation itself.
        let back: ark_ff::Fp<P, 4> = from_montgomery_words(&aw[5]);
        assert_eq!(back, a[5]);
    }
}

#[test]
fn fr_arithmetic_matches_arkworks_int64() {
    check_field::<ark_ff::MontBackend<ark_bn254::FrConfig, 4>>(Arithmetic::Int64, TestField::Fr);
}

#[test]
fn fr_arithmetic_matches_arkworks_portable32() {
    check_field::<ark_ff::MontBackend<ark_bn254::FrConfig, 4>>(Arithmetic::Portable32, TestField::Fr);
}

#[test]
fn fq_arithmetic_matches_arkworks_int64() {
    check_field::<ark_ff::MontBackend<ark_bn254::FqConfig, 4>>(Arithmetic::Int64, TestField::Fq);
}

#[test]
fn fq_arithmetic_matches_arkworks_portable32() {
    check_field::<ark_ff::MontBackend<ark_bn254::FqConfig, 4>>(Arithmetic::Portable32, TestField::Fq);
}

#[test]
fn every_module_compiles_on_both_paths() {
    use super::shaders::Group;
    for arith in [Arithmetic::Int64, Arithmetic::Portable32] {
        let Some(gpu) = test_gpu(arith) else { return };
        for module in [
            Module::Ntt,
            Module::MsmDigits,
            Module::MsmScan,
            Module::MsmBuckets(Group::G1),
            Module::MsmBuckets(Group::G2),
            Module::MsmReduce(Group::G1),
            Module::MsmReduce(Group::G2),
        ] {
            // Compile with an empty entry list: the WGSL is parsed and validated.
            gpu.compile(module, &[], &[]).unwrap_or_else(|e| panic!("{module:?} on {}: {e}", arith.as_str()));
        }
    }
}

#[test]
fn zero_and_one_are_what_arkworks_stores() {
    assert_eq!(montgomery_words(&ark_bn254::Fr::zero()), [0; 8]);
    assert_ne!(montgomery_words(&ark_bn254::Fr::one()), [1, 0, 0, 0, 0, 0, 0, 0], "one is R mod p in Montgomery form");
}

/// Long buckets: every scalar 1 puts all n points into one bucket. On CPU adapters (lavapipe)
/// buckets longer than the loop limit must still give the exact sum (the backend redoes them
/// on the CPU), never a silently partial one. G2 (device placement) at sizes below and above
/// its shorter run limit.
#[test]
fn long_buckets_are_exact() {
    use crate::Backend;
    if test_gpu(Arithmetic::Int64).is_none() {
        return;
    }
    let b = super::WgpuBackend::new(super::WgpuOptions { g2: Some(super::G2Placement::Device), ..Default::default() })
        .expect("backend");
    check_long_buckets::<ark_bn254::G1Projective>(&[200, 600], |p, s| b.msm_g1(p, s));
    check_long_buckets::<ark_bn254::G2Projective>(&[100, 300], |p, s| b.msm_g2(p, s));
}

fn check_long_buckets<G>(sizes: &[usize], msm: impl Fn(&crate::Bases<G::Affine>, &[&[ark_bn254::Fr]]) -> Result<Vec<G>, KernelError>)
where
    G: ark_ec::CurveGroup<ScalarField = ark_bn254::Fr> + ark_ec::PrimeGroup + UniformRand,
{
    let mut rng = StdRng::seed_from_u64(9);
    for &n in sizes {
        let pts: Vec<G::Affine> = (0..n).map(|_| G::rand(&mut rng).into_affine()).collect();
        let want: G = pts.iter().map(|p| G::from(*p)).sum();
        let ones = vec![ark_bn254::Fr::one(); n];
        let got = msm(&crate::Bases::new(pts), &[&ones]).expect("msm")[0];
        assert_eq!(got.into_affine(), want.into_affine(), "n={n} random points, scalars 1");
        let g = G::generator();
        let same = vec![g.into_affine(); n];
        let got = msm(&crate::Bases::new(same), &[&ones]).expect("msm")[0];
        assert_eq!(got.into_affine(), (g * ark_bn254::Fr::from(n as u64)).into_affine(), "n={n} one point repeated");
    }
}

/// The loop-limit probe every long-looping kernel ends with: after a loop of `iterations`,
/// `loop_limit_hit()` must be false for a short loop everywhere and true past 65,535
/// iterations on a CPU adapter (lavapipe), where a missed detection would let a silently
/// truncated bucket or reduction sum through.
#[test]
fn loop_limit_probe_fires_exactly_when_the_limit_is_spent() {
    use Binding::*;
    let Some(gpu) = test_gpu(Arithmetic::Int64) else { return };
    let module = gpu.compile(Module::LoopProbeTest, &[ReadWrite, Uniform], &["probe"]).expect("compile");
    let run = |iterations: u32| -> (u32, u32) {
        gpu.scoped(0, || {
            let out = gpu.storage("out", 2)?;
            let params = gpu.uniform(&[iterations]);
            let bind = gpu.bind(&module, &[&out, &params]);
            let mut enc = gpu.encoder();
            gpu.dispatch(&mut enc, &module, "probe", &bind, 1);
            let w = gpu.submit_and_read(enc, &out, 2)?;
            Ok((w[0], w[1]))
        })
        .expect("probe run")
    };
    assert_eq!(run(1000), (1000, 0), "a short loop runs in full and the probe stays quiet");
    let (done, hit) = run(100_000);
    if gpu.info.device_type == wgpu::DeviceType::Cpu {
        assert!(done < 100_000, "lavapipe was expected to cut the loop short (ran {done})");
        assert_eq!(hit, 1, "the probe must fire after the limiter ran out");
    } else {
        assert_eq!((done, hit), (100_000, 0));
    }
}
