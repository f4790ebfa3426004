//! Deterministic benchmark inputs: MSM bases, scalars and the sizes to run.
//!
//! Random curve points are expensive (one scalar multiplication each: tens of seconds for 2^18
//! G1 points on two cores). [`random_points`] instead draws a few independent random points and
//! walks a running sum over them, one point addition per output point. The outputs are distinct
//! and non-zero (checked by [`assert_distinct_nonzero`]), which is all Pippenger's bucket method
//! can observe: it never detects linear relations between bases, only equal points (which would
//! take the doubling branch of an addition) and the identity (which would be skipped).

use std::collections::HashSet;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::UniformRand;
use ark_std::rand::Rng;

/// Environment variable bounding the largest benchmark size, as `log2(n)`.
pub const MAX_LOG_ENV: &str = "ZKQ_BENCH_MAX_LOG";

/// Largest size (`log2`) run when [`MAX_LOG_ENV`] is unset.
pub const DEFAULT_MAX_LOG: u32 = 18;

/// How many independent random points seed [`random_points`]'s running sum.
const SEED_POINTS: usize = 64;

/// The largest `log2` size to benchmark: [`MAX_LOG_ENV`] if set, else [`DEFAULT_MAX_LOG`].
///
/// # Panics
/// If the variable is set to anything but an integer in `1..=28` (the field's two-adicity):
/// a benchmark run with a mistyped bound should stop, not silently run the full sizes.
pub fn max_log() -> u32 {
    match std::env::var(MAX_LOG_ENV) {
        Err(_) => DEFAULT_MAX_LOG,
        Ok(s) => match s.trim().parse::<u32>() {
            Ok(v) if (1..=28).contains(&v) => v,
            _ => panic!("{MAX_LOG_ENV}={s:?}: expected an integer log2 size in 1..=28"),
        },
    }
}

/// `log2` sizes `lo, lo+step, …` up to `min(hi, max_log())`.
pub fn log_sizes(lo: u32, hi: u32, step: u32) -> Vec<u32> {
    log_sizes_capped(lo, hi, step, max_log())
}

/// `log2` sizes `lo, lo+step, …` up to `min(hi, cap)`.
pub fn log_sizes_capped(lo: u32, hi: u32, step: u32, cap: u32) -> Vec<u32> {
    (lo..=hi.min(cap)).step_by(step.max(1) as usize).collect()
}

/// A deterministic RNG for benchmark inputs, so every run measures the same data.
pub fn rng() -> impl Rng {
    ark_std::test_rng()
}

/// `n` uniformly random scalars.
pub fn random_scalars<F: UniformRand>(n: usize, rng: &mut impl Rng) -> Vec<F> {
    (0..n).map(|_| F::rand(rng)).collect()
}

/// `n` distinct, non-zero points of `G`, at the cost of about one addition each.
///
/// Point `i` is `P + Σ_{j ≤ i} R_{j mod k}` for independent random `P, R_0 … R_{k−1}`
/// (`k` = 64). Two outputs `i > j` differ by `Σ_{j < t ≤ i} R_{t mod k}`, a non-trivial
/// combination of independent random points, so they coincide only with negligible probability;
/// [`assert_distinct_nonzero`] checks it anyway.
pub fn random_points<G: CurveGroup>(n: usize, rng: &mut impl Rng) -> Vec<G::Affine> {
    let seeds: Vec<G::Affine> = (0..SEED_POINTS).map(|_| G::Affine::rand(rng)).collect();
    let mut acc: G = G::Affine::rand(rng).into_group();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        acc += seeds[i % SEED_POINTS];
        out.push(acc);
    }
    let points = G::normalize_batch(&out);
    assert_distinct_nonzero(&points);
    points
}

/// Panics unless every point is distinct and none is the identity.
pub fn assert_distinct_nonzero<A: AffineRepr>(points: &[A]) {
    let mut seen = HashSet::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        assert!(!p.is_zero(), "benchmark base {i} is the point at infinity");
        assert!(
            seen.insert(*p),
            "benchmark base {i} repeats an earlier base"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Projective, G2Projective};

    #[test]
    fn points_are_distinct_and_on_curve() {
        let mut rng = rng();
        let g1 = random_points::<G1Projective>(1 << 10, &mut rng);
        assert!(g1
            .iter()
            .all(|p| p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()));
        let g2 = random_points::<G2Projective>(1 << 8, &mut rng);
        assert!(g2
            .iter()
            .all(|p| p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()));
    }

    #[test]
    fn sizes_step_and_stop() {
        assert_eq!(log_sizes_capped(10, 18, 2, 18), vec![10, 12, 14, 16, 18]);
        assert_eq!(log_sizes_capped(10, 18, 2, 13), vec![10, 12]);
        assert_eq!(log_sizes_capped(10, 14, 2, 8), Vec::<u32>::new());
    }
}
