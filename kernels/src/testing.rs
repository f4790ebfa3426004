//! Generic equivalence checkers for backends (feature `testing`).
//!
//! Each checker takes any [`Backend`] and compares it against *naive reference
//! implementations* written here — schoolbook DFT and scalar-by-scalar double-and-add sums —
//! so even the CPU backend (which wraps arkworks) is checked against something independent.
//! Inputs are random and adversarial: zero and one scalars, `−1`, identity bases, repeated
//! bases, `P` and `−P` side by side, and sizes 1, 5, 1000, 1025, 2^k and 2^k + 1.
//!
//! A backend instantiates the whole suite in one line:
//! ```text
//! zkq_kernels::testing::backend_equivalence_tests!(MyBackend::new());
//! ```

use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{FftField, Field, One, PrimeField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{Backend, Bases, Fr, G1Affine, G1Projective, G2Affine, G2Projective, KernelError, NttOp};

/// MSM sizes every backend is checked at.
pub const MSM_SIZES: [usize; 8] = [1, 2, 5, 64, 65, 1000, 1024, 1025];
/// G2 MSM sizes (G2 reference sums are slower).
pub const MSM_G2_SIZES: [usize; 5] = [1, 5, 64, 65, 300];
/// NTT sizes checked against the schoolbook DFT.
pub const NTT_NAIVE_LOG_SIZES: [u32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// NTT sizes checked by round trip and coset consistency.
pub const NTT_ROUNDTRIP_LOG_SIZES: [u32; 4] = [10, 11, 12, 15];

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Scalar patterns that stress bucket methods: random, all zero, all one, −1, small, mixed.
fn scalar_patterns(n: usize, rng: &mut StdRng) -> Vec<(&'static str, Vec<Fr>)> {
    let minus_one = -Fr::one();
    vec![
        ("random", (0..n).map(|_| Fr::rand(rng)).collect()),
        ("zeros", vec![Fr::zero(); n]),
        ("ones", vec![Fr::one(); n]),
        ("minus ones", vec![minus_one; n]),
        ("small", (0..n).map(|_| Fr::from(rng.gen_range(0u64..16))).collect()),
        (
            "mixed 0/1/−1/random",
            (0..n)
                .map(|i| match i % 4 {
                    0 => Fr::zero(),
                    1 => Fr::one(),
                    2 => minus_one,
                    _ => Fr::rand(rng),
                })
                .collect(),
        ),
    ]
}

/// Base patterns: random points, with identities, repeated points, and `P, −P` pairs.
fn base_patterns<G: CurveGroup + UniformRand>(n: usize, rng: &mut StdRng) -> Vec<(&'static str, Vec<G::Affine>)> {
    let random: Vec<G::Affine> = (0..n).map(|_| G::rand(rng).into_affine()).collect();
    let p = G::rand(rng).into_affine();
    let with_identity = random
        .iter()
        .enumerate()
        .map(|(i, b)| if i % 3 == 0 { G::Affine::zero() } else { *b })
        .collect();
    let repeated = vec![p; n];
    let p_minus_p = (0..n).map(|i| if i % 2 == 0 { p } else { (-p.into_group()).into_affine() }).collect();
    vec![
        ("random", random),
        ("identity every third", with_identity),
        ("one point repeated", repeated),
        ("P and −P", p_minus_p),
    ]
}

/// `Σ s_i · P_i` by double-and-add, one term at a time.
fn naive_msm<A: AffineRepr<ScalarField = Fr>>(bases: &[A], scalars: &[Fr]) -> A::Group {
    bases
        .iter()
        .zip(scalars)
        .fold(A::Group::zero(), |acc, (b, s)| acc + b.mul_bigint(s.into_bigint()))
}

fn check_msm_generic<A, G, F>(sizes: &[usize], seed: u64, msm: F)
where
    A: AffineRepr<ScalarField = Fr, Group = G>,
    G: CurveGroup<Affine = A> + UniformRand,
    F: Fn(&Bases<A>, &[&[Fr]]) -> Result<Vec<G>, KernelError>,
{
    let mut rng = rng(seed);
    for &n in sizes {
        for (base_name, points) in base_patterns::<G>(n, &mut rng) {
            let bases = Bases::new(points);
            let patterns = scalar_patterns(n, &mut rng);
            let batch: Vec<&[Fr]> = patterns.iter().map(|(_, s)| s.as_slice()).collect();
            let got = msm(&bases, &batch).unwrap_or_else(|e| panic!("MSM n={n} bases={base_name}: {e}"));
            assert_eq!(got.len(), batch.len(), "MSM batch returned wrong number of results");
            for ((scalar_name, scalars), got) in patterns.iter().zip(got) {
                let want = naive_msm(bases.points(), scalars);
                assert_eq!(
                    got.into_affine(),
                    want.into_affine(),
                    "MSM mismatch: n={n}, bases={base_name}, scalars={scalar_name}"
                );
            }
        }
    }
}

/// Batched G1 MSM equals the naive sum on random and adversarial inputs.
pub fn check_msm_g1<B: Backend + ?Sized>(backend: &B) {
    check_msm_generic::<G1Affine, G1Projective, _>(&MSM_SIZES, 1, |b, s| backend.msm_g1(b, s));
}

/// Batched G2 MSM equals the naive sum on random and adversarial inputs.
pub fn check_msm_g2<B: Backend + ?Sized>(backend: &B) {
    check_msm_generic::<G2Affine, G2Projective, _>(&MSM_G2_SIZES, 2, |b, s| backend.msm_g2(b, s));
}

/// A batch with no scalar vectors returns no results; an MSM of length 0 is the identity.
pub fn check_msm_empty<B: Backend + ?Sized>(backend: &B) {
    let bases = Bases::<G1Affine>::new(vec![]);
    assert!(backend.msm_g1(&bases, &[]).expect("empty batch").is_empty());
    let got = backend.msm_g1(&bases, &[&[]]).expect("empty MSM");
    assert!(got[0].is_zero(), "empty MSM must be the identity");
}

/// Mismatched lengths are a typed error, not a panic or a silently truncated sum.
pub fn check_msm_rejects_bad_lengths<B: Backend + ?Sized>(backend: &B) {
    let mut rng = rng(3);
    let bases = Bases::new((0..4).map(|_| G1Projective::rand(&mut rng).into_affine()).collect::<Vec<_>>());
    let short = vec![Fr::one(); 3];
    match backend.msm_g1(&bases, &[&short]) {
        Err(KernelError::InvalidInput(_)) => {}
        other => panic!("expected InvalidInput for 3 scalars against 4 bases, got {other:?}"),
    }
}

/// Schoolbook DFT on the coset `shift·⟨ω⟩`: `e_i = Σ_j c_j (shift·ω^i)^j`.
fn naive_dft(coeffs: &[Fr], shift: Fr) -> Vec<Fr> {
    let n = coeffs.len();
    let omega = Fr::get_root_of_unity(n as u64).expect("root of unity");
    (0..n)
        .map(|i| {
            let x = shift * omega.pow([i as u64]);
            coeffs.iter().rev().fold(Fr::zero(), |acc, c| acc * x + c)
        })
        .collect()
}

fn run_ntt<B: Backend + ?Sized>(backend: &B, v: &[Fr], op: NttOp) -> Vec<Fr> {
    let mut out = v.to_vec();
    backend.ntt(&mut [&mut out[..]], op).unwrap_or_else(|e| panic!("NTT {op:?} n={}: {e}", v.len()));
    out
}

/// All four NTT operations equal the schoolbook DFT (and its inverse) at small sizes.
pub fn check_ntt_naive<B: Backend + ?Sized>(backend: &B) {
    let mut rng = rng(4);
    let shift = Fr::from(5u64);
    for log_n in NTT_NAIVE_LOG_SIZES {
        let n = 1usize << log_n;
        let coeffs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let evals = naive_dft(&coeffs, Fr::one());
        let coset_evals = naive_dft(&coeffs, shift);
        assert_eq!(run_ntt(backend, &coeffs, NttOp::Forward), evals, "Forward n={n}");
        assert_eq!(run_ntt(backend, &evals, NttOp::Inverse), coeffs, "Inverse n={n}");
        assert_eq!(run_ntt(backend, &coeffs, NttOp::ForwardCoset(shift)), coset_evals, "ForwardCoset n={n}");
        assert_eq!(run_ntt(backend, &coset_evals, NttOp::InverseCoset(shift)), coeffs, "InverseCoset n={n}");
    }
}

/// Large sizes: inverse∘forward is the identity (plain and coset), the coset transform equals
/// the plain transform of the shift-scaled coefficients, and every vector of a batch is
/// transformed independently. Includes the all-zero and all-one vectors.
pub fn check_ntt_roundtrip<B: Backend + ?Sized>(backend: &B) {
    let mut rng = rng(5);
    // The odd coset of the 2n-th roots of unity, as the circom QAP uses.
    for log_n in NTT_ROUNDTRIP_LOG_SIZES {
        let n = 1usize << log_n;
        let shift = Fr::get_root_of_unity(2 * n as u64).expect("2n-th root");
        let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let mut batch = [random.clone(), vec![Fr::zero(); n], vec![Fr::one(); n]];
        {
            let mut views: Vec<&mut [Fr]> = batch.iter_mut().map(|v| v.as_mut_slice()).collect();
            backend.ntt(&mut views, NttOp::ForwardCoset(shift)).expect("coset NTT");
        }
        let mut scaled = random.clone();
        let mut power = Fr::one();
        for c in scaled.iter_mut() {
            *c *= power;
            power *= shift;
        }
        assert_eq!(batch[0], run_ntt(backend, &scaled, NttOp::Forward), "coset ≠ scaled NTT, n={n}");
        assert!(batch[1].iter().all(Zero::is_zero), "NTT of zeros must be zeros, n={n}");
        let ones_alone = run_ntt(backend, &vec![Fr::one(); n], NttOp::ForwardCoset(shift));
        assert_eq!(batch[2], ones_alone, "batch members must transform independently, n={n}");
        {
            let mut views: Vec<&mut [Fr]> = batch.iter_mut().map(|v| v.as_mut_slice()).collect();
            backend.ntt(&mut views, NttOp::InverseCoset(shift)).expect("inverse coset NTT");
        }
        assert_eq!(batch[0], random, "coset round trip n={n}");
        assert!(batch[2].iter().all(|x| x.is_one()), "coset round trip of ones, n={n}");
        let back = run_ntt(backend, &run_ntt(backend, &random, NttOp::Forward), NttOp::Inverse);
        assert_eq!(back, random, "round trip n={n}");
    }
}

/// `ntt_resample` (subgroup evaluations → coset evaluations) equals `Inverse` then
/// `ForwardCoset` and the schoolbook DFT, for odd and even `log n`, batches, zeros and ones;
/// a zero shift is a typed error.
pub fn check_ntt_resample<B: Backend + ?Sized>(backend: &B) {
    let mut rng = rng(6);
    for log_n in [0u32, 1, 2, 3, 4, 5, 7, 10, 11] {
        let n = 1usize << log_n;
        let shift = Fr::get_root_of_unity(2 * n as u64).expect("2n-th root");
        let coeffs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let evals = naive_dft(&coeffs, Fr::one());
        let want = if log_n <= 7 {
            naive_dft(&coeffs, shift)
        } else {
            run_ntt(backend, &coeffs, NttOp::ForwardCoset(shift))
        };
        let mut batch = [evals, vec![Fr::zero(); n], vec![Fr::one(); n]];
        {
            let mut views: Vec<&mut [Fr]> = batch.iter_mut().map(|v| v.as_mut_slice()).collect();
            backend.ntt_resample(&mut views, shift).expect("resample");
        }
        assert_eq!(batch[0], want, "resample n={n}");
        assert!(batch[1].iter().all(Zero::is_zero), "resample of zeros, n={n}");
        // The constant 1 interpolates to the constant polynomial 1: ones on every coset.
        assert!(batch[2].iter().all(|x| x.is_one()), "resample of ones, n={n}");
    }
    let mut v = [Fr::one(); 4];
    assert!(matches!(backend.ntt_resample(&mut [&mut v[..]], Fr::zero()), Err(KernelError::InvalidInput(_))));
    let mut five = [Fr::one(); 5];
    assert!(matches!(backend.ntt_resample(&mut [&mut five[..]], Fr::one()), Err(KernelError::InvalidInput(_))));
}

/// Bad NTT inputs are typed errors: a size that is not a power of two, mixed lengths in one
/// batch, a zero coset shift.
pub fn check_ntt_rejects_bad_input<B: Backend + ?Sized>(backend: &B) {
    let mut five = [Fr::one(); 5];
    assert!(matches!(backend.ntt(&mut [&mut five[..]], NttOp::Forward), Err(KernelError::InvalidInput(_))));
    let (mut a, mut b) = (vec![Fr::one(); 4], vec![Fr::one(); 8]);
    assert!(matches!(
        backend.ntt(&mut [&mut a[..], &mut b[..]], NttOp::Forward),
        Err(KernelError::InvalidInput(_))
    ));
    assert!(matches!(
        backend.ntt(&mut [&mut a[..]], NttOp::ForwardCoset(Fr::zero())),
        Err(KernelError::InvalidInput(_))
    ));
}

/// Sanity: the generator really generates (guards the reference against a broken curve type).
pub fn check_reference_sanity() {
    let g = G1Projective::generator();
    assert_eq!(naive_msm(&[g.into_affine()], &[Fr::from(3u64)]), g + g + g);
}

/// Instantiates every checker as a `#[test]` for the backend built by `$make`.
#[macro_export]
macro_rules! backend_equivalence_tests {
    ($make:expr) => {
        #[test]
        fn msm_g1_matches_reference() {
            $crate::testing::check_msm_g1(&$make);
        }
        #[test]
        fn msm_g2_matches_reference() {
            $crate::testing::check_msm_g2(&$make);
        }
        #[test]
        fn msm_empty_inputs() {
            $crate::testing::check_msm_empty(&$make);
        }
        #[test]
        fn msm_rejects_bad_lengths() {
            $crate::testing::check_msm_rejects_bad_lengths(&$make);
        }
        #[test]
        fn ntt_matches_schoolbook_dft() {
            $crate::testing::check_ntt_naive(&$make);
        }
        #[test]
        fn ntt_round_trips_and_cosets() {
            $crate::testing::check_ntt_roundtrip(&$make);
        }
        #[test]
        fn ntt_resample_matches_inverse_then_coset() {
            $crate::testing::check_ntt_resample(&$make);
        }
        #[test]
        fn ntt_rejects_bad_input() {
            $crate::testing::check_ntt_rejects_bad_input(&$make);
        }
        #[test]
        fn reference_sanity() {
            $crate::testing::check_reference_sanity();
        }
    };
}
pub use backend_equivalence_tests;
