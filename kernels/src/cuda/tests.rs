//! Tests of the CUDA sources without a GPU (host build + NVRTC compile), and with one when present.

use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{One, PrimeField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, SeedableRng};

use super::host::{self, FieldId, FieldOp, G1Op, HostEmulatedCuda};
use super::layout;
use super::{compile, sources};
use crate::{Backend, Fr, G1Affine, G1Projective, KernelError};

type Fq = ark_bn254::Fq;

fn rng() -> StdRng {
    StdRng::seed_from_u64(0x2c0d_a5ee)
}

fn words8<F: PrimeField<BigInt = ark_ff::BigInt<4>>>(x: &F) -> [u32; 8] {
    let mut v = Vec::new();
    // the Montgomery limbs, as the device holds them
    let mont = montgomery_limbs(x);
    for w in mont.0 {
        v.push(w as u32);
        v.push((w >> 32) as u32);
    }
    v.try_into().expect("8 words")
}

/// Montgomery limbs of an arkworks prime-field element (`x · R mod p`), computed from the plain
/// value so the test does not rely on the internal field it is checking the layout against.
fn montgomery_limbs<F: PrimeField<BigInt = ark_ff::BigInt<4>>>(x: &F) -> ark_ff::BigInt<4> {
    // x·R mod p as an integer: multiply by 2^256 in the field, then read the plain value.
    let two_256 = F::from(2u64).pow([256u64]);
    (*x * two_256).into_bigint()
}

fn interesting<F: PrimeField<BigInt = ark_ff::BigInt<4>> + UniformRand>(rng: &mut StdRng) -> Vec<F> {
    let mut v = vec![F::zero(), F::one(), -F::one(), F::from(2u64), -F::from(2u64), F::from(u64::MAX)];
    v.push(F::from_bigint(F::MODULUS_MINUS_ONE_DIV_TWO).expect("(p−1)/2"));
    v.extend((0..200).map(|_| F::rand(rng)));
    v
}

fn check_field<F: PrimeField<BigInt = ark_ff::BigInt<4>> + UniformRand>(id: FieldId) {
    let mut rng = rng();
    let xs: Vec<F> = interesting(&mut rng);
    let from = |w: [u32; 8]| {
        // decode Montgomery limbs: value = w · R^-1
        let mut limbs = [0u64; 4];
        for (i, l) in limbs.iter_mut().enumerate() {
            *l = u64::from(w[2 * i]) | (u64::from(w[2 * i + 1]) << 32);
        }
        let big = ark_ff::BigInt::new(limbs);
        assert!(big < F::MODULUS, "result not fully reduced: {big}");
        F::from_bigint(big).expect("canonical") * F::from(2u64).pow([256u64]).inverse().expect("R invertible")
    };
    for (i, a) in xs.iter().enumerate() {
        let b = &xs[(i * 7 + 3) % xs.len()];
        let (wa, wb) = (words8(a), words8(b));
        assert_eq!(from(host::field_op(id, FieldOp::Add, &wa, &wb)), *a + b, "{a} + {b}");
        assert_eq!(from(host::field_op(id, FieldOp::Sub, &wa, &wb)), *a - b, "{a} − {b}");
        assert_eq!(from(host::field_op(id, FieldOp::Mul, &wa, &wb)), *a * b, "{a} · {b}");
        assert_eq!(from(host::field_op(id, FieldOp::Mul, &wa, &wa)), a.square(), "{a}²");
        assert_eq!(from(host::field_op(id, FieldOp::Neg, &wa, &wb)), -*a, "−{a}");
        assert_eq!(from(host::field_op(id, FieldOp::Inverse, &wa, &wb)), a.inverse().unwrap_or_else(F::zero), "{a}⁻¹");
        // from_montgomery gives the plain integer's limbs
        let plain = host::field_op(id, FieldOp::FromMontgomery, &wa, &wb);
        let mut limbs = [0u64; 4];
        for (k, l) in limbs.iter_mut().enumerate() {
            *l = u64::from(plain[2 * k]) | (u64::from(plain[2 * k + 1]) << 32);
        }
        assert_eq!(ark_ff::BigInt::new(limbs), a.into_bigint(), "plain value of {a}");
    }
}

#[test]
fn fq_arithmetic_matches_arkworks() {
    check_field::<Fq>(FieldId::Fq);
}

#[test]
fn fr_arithmetic_matches_arkworks() {
    check_field::<Fr>(FieldId::Fr);
}

#[test]
fn device_words_are_arkworks_montgomery_limbs() {
    let mut rng = rng();
    for _ in 0..50 {
        let x = Fr::rand(&mut rng);
        let mut w = Vec::new();
        layout::push_scalars(&mut w, &[x]);
        assert_eq!(w.as_slice(), words8(&x).as_slice());
        assert_eq!(layout::scalars_from_words(&w), vec![x]);
    }
}

fn xyzz(p: &G1Projective) -> Vec<u32> {
    layout::projective_to_xyzz(p)
}

fn affine_words(p: &G1Affine) -> Vec<u32> {
    let mut w = Vec::new();
    layout::push_affine(&mut w, &[*p]);
    w
}

fn back(words: &[u32]) -> G1Affine {
    layout::xyzz_to_projective(words).into_affine()
}

#[test]
fn g1_xyzz_formulas_match_arkworks() {
    let mut rng = rng();
    let g = G1Projective::generator();
    let mut points: Vec<G1Projective> = (0..40).map(|_| G1Projective::rand(&mut rng)).collect();
    points.push(G1Projective::zero());
    points.push(g);
    points.push(-g);
    for (i, p) in points.iter().enumerate() {
        let q = points[(i * 5 + 1) % points.len()];
        for (other, what) in [(q, "random"), (*p, "P + P"), (-*p, "P + (−P)"), (G1Projective::zero(), "P + O")] {
            let oa = other.into_affine();
            assert_eq!(back(&host::g1_op(G1Op::Add, &xyzz(p), &xyzz(&other), 0)), (*p + other).into_affine(), "add {what}");
            assert_eq!(
                back(&host::g1_op(G1Op::AddAffine, &xyzz(p), &affine_words(&oa), 0)),
                (*p + other).into_affine(),
                "add affine {what}"
            );
        }
        assert_eq!(back(&host::g1_op(G1Op::Double, &xyzz(p), &[], 0)), (*p + *p).into_affine(), "double");
        let pa = p.into_affine();
        assert_eq!(back(&host::g1_op(G1Op::DoubleAffine, &[], &affine_words(&pa), 0)), (*p + *p).into_affine(), "double affine");
        let aff = host::g1_op(G1Op::ToAffine, &xyzz(&(*p + q)), &[], 0);
        assert_eq!(layout::affine_from_words(&aff[..16]), (*p + q).into_affine(), "to affine");
        let k = (i as u32).wrapping_mul(0x9e37_79b9);
        assert_eq!(back(&host::g1_op(G1Op::MulSmall, &xyzz(p), &[], k)), (*p * Fr::from(k)).into_affine(), "{k}·P");
    }
}

#[test]
fn xyzz_round_trip_through_layout() {
    let mut rng = rng();
    for _ in 0..20 {
        let p = G1Projective::rand(&mut rng) * Fr::from(7u64);
        assert_eq!(layout::xyzz_to_projective(&xyzz(&p)).into_affine(), p.into_affine());
    }
    assert!(layout::xyzz_to_projective(&xyzz(&G1Projective::zero())).is_zero());
}

#[test]
fn groth16_glue_matches_arkworks() {
    let mut rng = rng();
    let a: Vec<Fr> = (0..100).map(|_| Fr::rand(&mut rng)).collect();
    let mut b: Vec<Fr> = (0..100).map(|_| Fr::rand(&mut rng)).collect();
    b[0] = Fr::zero();
    let c: Vec<Fr> = (0..100).map(|_| Fr::rand(&mut rng)).collect();
    let want: Vec<Fr> = a.iter().zip(&b).zip(&c).map(|((a, b), c)| *a * b - c).collect();
    assert_eq!(host::ab_minus_c(&a, &b, &c), want);
}

/// The generic checkers against the CUDA kernel bodies, with a table budget that lets every
/// window share one bucket set (full precomputation)…
mod emulated_full_precompute {
    crate::testing::backend_equivalence_tests!(super::HostEmulatedCuda::new(u64::MAX));
}

/// …with no precomputation (one bucket set per window: textbook Pippenger)…
mod emulated_no_precompute {
    crate::testing::backend_equivalence_tests!(super::HostEmulatedCuda::new(0));
}

/// …and with a budget that allows some multiples but not all (several bucket groups).
mod emulated_partial_precompute {
    crate::testing::backend_equivalence_tests!(super::HostEmulatedCuda::new(3 * 1025));
}

#[test]
fn msm_with_adversarial_buckets() {
    // every scalar the same digit pattern: all points land in the same few buckets, with P and −P
    let mut rng = rng();
    let p = G1Projective::rand(&mut rng).into_affine();
    let bases: Vec<G1Affine> = (0..300).map(|i| if i % 2 == 0 { p } else { (-p.into_group()).into_affine() }).collect();
    let scalars: Vec<Fr> = (0..300).map(|i| if i % 3 == 0 { -Fr::one() } else { Fr::from(5u64) }).collect();
    let want: G1Projective = bases.iter().zip(&scalars).map(|(b, s)| b.into_group() * s).sum();
    for budget in [0, 300, 600, u64::MAX] {
        assert_eq!(host::msm(&bases, &scalars, budget).into_affine(), want.into_affine(), "budget {budget}");
    }
}

/// NVRTC is required in CI (scripts/test.sh installs it); a developer without it may set
/// ZKQ_CUDA_NVRTC_TESTS=skip explicitly.
fn nvrtc_or_skip() -> bool {
    if compile::nvrtc_present() {
        return true;
    }
    if std::env::var("ZKQ_CUDA_NVRTC_TESTS").as_deref() == Ok("skip") {
        eprintln!("NVRTC not found and ZKQ_CUDA_NVRTC_TESTS=skip: not compiling the CUDA kernels");
        return false;
    }
    panic!(
        "NVRTC (libnvrtc.so.13) not found: run scripts/test.sh (it installs NVRTC 13.0 from PyPI and sets \
         LD_LIBRARY_PATH), or set ZKQ_CUDA_NVRTC_TESTS=skip to skip the CUDA compile checks"
    );
}

#[test]
fn every_kernel_compiles_with_nvrtc_for_sm_90() {
    if !nvrtc_or_skip() {
        return;
    }
    let (major, minor) = compile::nvrtc_version().expect("NVRTC version");
    assert_eq!(major, 13, "NVRTC 13.x expected (the GPU machines run CUDA 13.0), found {major}.{minor}");
    for defines in [&[][..], &["ZKQ_PORTABLE_CARRY"][..]] {
        let tu = sources::translation_unit(defines);
        let cubin = compile::compile_cubin(&tu, 90).unwrap_or_else(|e| panic!("CUDA sources ({defines:?}) fail to compile: {e}"));
        // An ELF image with every entry point in its symbol table.
        assert_eq!(&cubin[..4], b"\x7fELF", "a CUBIN is an ELF image");
        for k in sources::KERNELS {
            assert!(cubin.windows(k.len()).any(|w| w == k.as_bytes()), "kernel {k} in the CUBIN ({defines:?})");
        }
    }
}

#[test]
fn a_compile_error_is_a_typed_error_with_the_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let bad = "extern \"C\" __global__ void k(unsigned* x) { asm volatile(\"bogus.instruction %0;\" : \"+r\"(x[0])); }";
    match compile::compile_cubin(bad, 90) {
        Err(KernelError::Compile { log }) => assert!(log.to_lowercase().contains("bogus") || log.contains("error"), "{log}"),
        other => panic!("expected a Compile error, got {other:?}"),
    }
    match compile::compile_cubin("this is not C++", 90) {
        Err(KernelError::Compile { log }) => assert!(log.contains("error"), "{log}"),
        other => panic!("expected a Compile error, got {other:?}"),
    }
}

#[test]
fn the_disk_cache_is_keyed_and_reused() {
    if !nvrtc_or_skip() {
        return;
    }
    let dir = tempfile_dir();
    let src = "extern \"C\" __global__ void k(unsigned* x) { x[threadIdx.x] += 1; }";
    let (a, first) = compile::cached_cubin(src, 90, Some(&dir)).expect("compile");
    assert_eq!(first, compile::CacheOutcome::Compiled);
    let (b, second) = compile::cached_cubin(src, 90, Some(&dir)).expect("cached");
    assert_eq!(second, compile::CacheOutcome::Hit);
    assert_eq!(a, b);
    let (_, other_arch) = compile::cached_cubin(src, 80, Some(&dir)).expect("sm_80");
    assert_eq!(other_arch, compile::CacheOutcome::Compiled, "another architecture is another key");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let d = std::env::temp_dir().join(format!("zkq-cuda-cache-test-{}-{nanos:x}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}


/// Without a driver (CI), opening is `Unavailable`; with a GPU, the generic checkers run against
/// the real device. Set ZKQ_REQUIRE_GPU=1 on a GPU machine so a missing device fails.
#[test]
fn gpu_equivalence() {
    match super::CudaBackend::open(super::CudaConfig { cache_dir: None, ..Default::default() }) {
        Err(KernelError::Unavailable { reason, .. }) => {
            assert!(std::env::var_os("ZKQ_REQUIRE_GPU").is_none(), "ZKQ_REQUIRE_GPU is set but: {reason}");
            eprintln!("no CUDA device here ({reason}); the GPU checks run on a GPU machine");
        }
        Err(e) => panic!("opening the CUDA backend failed: {e}"),
        Ok(b) => {
            eprintln!("running the equivalence checkers on {}", b.device_name());
            crate::testing::check_msm_g1(&b);
            crate::testing::check_msm_g2(&b);
            crate::testing::check_msm_empty(&b);
            crate::testing::check_msm_rejects_bad_lengths(&b);
            crate::testing::check_ntt_naive(&b);
            crate::testing::check_ntt_roundtrip(&b);
            crate::testing::check_ntt_rejects_bad_input(&b);
        }
    }
}
