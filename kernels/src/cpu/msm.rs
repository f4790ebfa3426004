//! Batched MSM on the CPU: signed-digit Pippenger with batch-affine buckets.
//!
//! For one scalar vector `s` against bases `P`:
//! 1. *Classify* (parallel): a scalar `0` or a base at infinity contributes nothing and is
//!    dropped; `1` and `−1` are "units" and are summed directly (one bucket, weight 1) instead
//!    of going through every window — circom witnesses are full of them. The rest are general.
//! 2. *Signed digits* of width `c` for each general scalar: `s = Σ_j d_j·2^{cj}` with
//!    `d_j ∈ (−2^{c−1}, 2^{c−1}]`, so `2^{c−1}` buckets suffice and `−d` reuses the bucket of
//!    `d` with the negated point (negation is free in affine coordinates).
//! 3. *Buckets* ([`super::bucket`]): batch-affine accumulation, then the running-sum
//!    reduction.
//!    - Variable bases: one bucket set per window, windows in parallel, combined by Horner's
//!      rule with `c` doublings per window. `c` minimises `W(c)·(m·a + 2^c·j)` for `m` general
//!      scalars (`a`, `j`: affine and Jacobian addition costs).
//!    - Fixed bases with a precomputed table ([`super::fixed_base`]): the table holds
//!      `2^{cj}·P_i` for every window `j`, so digit `d_j` of `s_i` goes into bucket `|d_j|`
//!      with point `±2^{cj}·P_i` and *all windows share one bucket set*: one reduction, no
//!      doublings. A lone vector is cut into runs of scalars, one bucket set per thread.
//!
//! A batch maps over its vectors in parallel, and each vector parallelises inside (windows or
//! runs of scalars), so rayon's work stealing keeps every core busy whether the batch holds one
//! vector or many.
//!
//! Sources: Pippenger, "On the evaluation of powers and monomials" (SIAM J. Comput. 9, 1980);
//! the bucket method with signed digits as in Bernstein et al., "Faster batch forgery
//! identification" (INDOCRYPT 2012), §4–5; fixed-base precomputation shared across windows as
//! in the ZPrize 2022 MSM submissions (e.g. Aleo/Yrrid write-ups).

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInt, One, PrimeField, Zero};
use rayon::prelude::*;

use super::bucket::{adds_per_inversion, lane_adds_per_inversion, weighted_bucket_sum};
use super::fixed_base::{CachedCurve, FixedBaseTable};
use crate::Fr;

/// Bit length of BN254's scalar field order (`r < 2^254`).
pub(super) const SCALAR_BITS: u32 = 254;
/// Widest window: digits and bucket indices stay well inside `i32`/`u32`.
pub(super) const MAX_WINDOW: u32 = 16;
/// Marks a negated point in a point reference (the other bits are the index).
const NEGATED: u32 = 1 << 31;
/// Scalars classified per parallel task.
const CLASSIFY_CHUNK: usize = 4096;

/// Approximate cost, in field multiplications, of one batch-affine addition.
const AFFINE_ADD_COST: u64 = 6;
/// Approximate cost, in field multiplications, of one Jacobian addition.
const JACOBIAN_ADD_COST: u64 = 13;
/// Approximate cost, in hundredths of a scalar field multiplication, of one bucket addition
/// on AVX-512 IFMA lanes, all in but for the inversion.
const LANE_ADD_COST: u64 = 300;

/// Number of signed windows of width `c` for a scalar below `2^SCALAR_BITS`: one more bit
/// than the scalar so the top digit never carries out.
pub(super) fn windows_for(c: u32) -> usize {
    (SCALAR_BITS + 1).div_ceil(c) as usize
}

/// Approximate cost, in field multiplications, of one field inversion (ark-ff's, measured:
/// 5.2 µs against 19.5 ns per multiplication on a 2-vCPU EPYC).
const INVERSION_COST: u64 = 260;

/// Cost of one bucket addition with `c`-bit windows, in hundredths of a multiplication: the
/// affine addition, its share of an inversion, and the overflowing share (an entry whose bucket
/// is busy) paying a Jacobian addition instead.
fn bucket_add_cost(c: u32) -> u64 {
    let buckets = 1u64 << (c - 1);
    let batch = adds_per_inversion(buckets as usize) as u64;
    100 * AFFINE_ADD_COST
        + 100 * INVERSION_COST / batch
        + 100 * batch * (JACOBIAN_ADD_COST - AFFINE_ADD_COST) / (2 * buckets)
}

/// Cost of one bucket addition on AVX-512 IFMA lanes ([`super::lane_bucket`]), in hundredths
/// of a scalar multiplication: the vector arithmetic and the scalar scheduling around it, and
/// the share of an inversion (collisions wait for the next batch instead of costing a
/// Jacobian addition).
fn lane_add_cost(c: u32) -> u64 {
    let batch = lane_adds_per_inversion(1 << (c - 1)) as u64;
    LANE_ADD_COST + 100 * INVERSION_COST / batch
}

/// Window width for `n` points (`fixed`: one bucket set for all windows; `lanes`: bucket
/// additions on AVX-512 IFMA lanes) among the widths `fits` allows: minimises
/// `reductions·2^c·j + n·W(c)·a(c)` (`a` from [`bucket_add_cost`] or [`lane_add_cost`]).
pub(super) fn best_window(n: usize, fixed: bool, lanes: bool, fits: impl Fn(u32) -> bool) -> Option<u32> {
    (2..=MAX_WINDOW).filter(|&c| fits(c)).min_by_key(|&c| {
        let w = windows_for(c) as u64;
        let reductions = if fixed { 1 } else { w };
        let add = if lanes { lane_add_cost(c) } else { bucket_add_cost(c) };
        n as u64 * w * add + 100 * reductions * (1u64 << c) * JACOBIAN_ADD_COST
    })
}

/// Window width for the variable-base path with `m` general scalars (`lanes`: bucket
/// additions on AVX-512 IFMA lanes).
fn variable_window(m: usize, lanes: bool) -> u32 {
    best_window(m, false, lanes, |_| true).unwrap_or(8)
}

/// `Σ_i s[i]·bases[i]` for each scalar vector `s`, using `table` (precomputed multiples of
/// the same bases) when given. Bucket additions run on AVX-512 IFMA lanes where the CPU has
/// them: with a table when it was built in lane form; without one when a vector has at least
/// `lanes_from` general scalars (the bases are converted once for the whole batch, two
/// multiplications per base).
pub(super) fn msm_batch<P>(
    bases: &[Affine<P>],
    table: Option<&FixedBaseTable<P>>,
    scalars: &[&[Fr]],
    lanes_from: usize,
) -> Vec<Projective<P>>
where
    P: SWCurveConfig<ScalarField = Fr> + CachedCurve,
{
    let threads = rayon::current_num_threads().max(1);
    // Few vectors: split each one further so every thread has work.
    let split = if scalars.len() >= threads { 1 } else { threads.div_ceil(scalars.len().max(1)) };
    let lane_bases = match table {
        None if bases.len() >= lanes_from => P::lane_table(bases),
        _ => None,
    };
    let variable = VariableBases { points: bases, lanes: lane_bases.as_deref(), lanes_from };
    scalars.par_iter().map(|s| msm_one(&variable, table, s, split)).collect()
}

/// The bases of an MSM without a table, and their lane form when bucket additions run on
/// lanes.
struct VariableBases<'a, P: SWCurveConfig> {
    points: &'a [Affine<P>],
    lanes: Option<&'a [u64]>,
    /// Fewest general scalars for a vector to use `lanes`.
    lanes_from: usize,
}

/// A scalar vector sorted for the bucket method.
struct Classified {
    /// Bases with scalar `1` (reference without [`NEGATED`]) or `−1` (with it).
    units: Vec<u32>,
    /// Base index of each general scalar, ascending.
    general: Vec<u32>,
}

fn classify<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[Fr]) -> Classified {
    let minus_one = -Fr::one();
    let parts: Vec<Classified> = scalars
        .par_chunks(CLASSIFY_CHUNK)
        .enumerate()
        .map(|(k, chunk)| {
            let mut part = Classified { units: Vec::new(), general: Vec::new() };
            for (o, s) in chunk.iter().enumerate() {
                let i = k * CLASSIFY_CHUNK + o;
                if s.is_zero() || bases[i].is_zero() {
                    continue;
                }
                let i = i as u32;
                if s.is_one() {
                    part.units.push(i);
                } else if *s == minus_one {
                    part.units.push(i | NEGATED);
                } else {
                    part.general.push(i);
                }
            }
            part
        })
        .collect();
    let mut all = Classified {
        units: Vec::with_capacity(parts.iter().map(|p| p.units.len()).sum()),
        general: Vec::with_capacity(parts.iter().map(|p| p.general.len()).sum()),
    };
    for p in parts {
        all.units.extend(p.units);
        all.general.extend(p.general);
    }
    all
}

/// Bits `[pos, pos + c)` of a little-endian 256-bit integer (`c ≤ 32`).
#[inline]
fn window_bits(limbs: &[u64; 4], pos: usize, c: u32) -> u64 {
    let limb = pos / 64;
    if limb >= 4 {
        return 0;
    }
    let off = pos % 64;
    let mut v = limbs[limb] >> off;
    if off + c as usize > 64 && limb + 1 < 4 {
        v |= limbs[limb + 1] << (64 - off);
    }
    v & ((1u64 << c) - 1)
}

/// Signed base-`2^c` digits of `s`, least significant first, each in `(−2^{c−1}, 2^{c−1}]`.
pub(super) fn signed_digits(s: &BigInt<4>, c: u32, out: &mut [i32]) {
    let half = 1i64 << (c - 1);
    let full = 1i64 << c;
    let mut carry = 0i64;
    for (j, d) in out.iter_mut().enumerate() {
        let v = window_bits(&s.0, j * c as usize, c) as i64 + carry;
        if v > half {
            *d = (v - full) as i32;
            carry = 1;
        } else {
            *d = v as i32;
            carry = 0;
        }
    }
    debug_assert_eq!(carry, 0, "scalar wider than its windows");
}

/// Digits of every general scalar, `windows` per scalar (row-major).
fn digits_of(scalars: &[Fr], general: &[u32], c: u32, windows: usize) -> Vec<i32> {
    let mut digits = vec![0i32; general.len() * windows];
    digits.par_chunks_mut(windows).zip(general.par_iter()).with_min_len(256).for_each(|(out, &i)| {
        signed_digits(&scalars[i as usize].into_bigint(), c, out);
    });
    digits
}

#[inline]
fn lookup<P: SWCurveConfig>(points: &[Affine<P>], reference: u32) -> Affine<P> {
    let p = points[(reference & !NEGATED) as usize];
    if reference & NEGATED != 0 {
        -p
    } else {
        p
    }
}

#[inline]
fn signed_reference(index: usize, digit: i32) -> u32 {
    index as u32 | if digit < 0 { NEGATED } else { 0 }
}

fn msm_one<P>(
    variable: &VariableBases<'_, P>,
    table: Option<&FixedBaseTable<P>>,
    scalars: &[Fr],
    split: usize,
) -> Projective<P>
where
    P: SWCurveConfig<ScalarField = Fr> + CachedCurve,
{
    let bases = variable.points;
    let classified = classify(bases, scalars);
    let units = || weighted_bucket_sum(1, classified.units.iter().map(|&r| (0, lookup(bases, r)))).0;
    if classified.general.is_empty() {
        return units();
    }
    let (general_sum, unit_sum) = rayon::join(
        || match table {
            Some(t) => msm_fixed(t, scalars, &classified.general, split),
            None => msm_variable(variable, scalars, &classified.general),
        },
        units,
    );
    general_sum + unit_sum
}

/// Variable bases: one bucket set per window, windows in parallel, then Horner.
fn msm_variable<P>(variable: &VariableBases<'_, P>, scalars: &[Fr], general: &[u32]) -> Projective<P>
where
    P: SWCurveConfig<ScalarField = Fr> + CachedCurve,
{
    let bases = variable.points;
    let lanes = variable.lanes.filter(|_| general.len() >= variable.lanes_from);
    let c = variable_window(general.len(), lanes.is_some());
    let windows = windows_for(c);
    let digits = digits_of(scalars, general, c, windows);
    let n_buckets = 1usize << (c - 1);
    let window_sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|j| {
            let entries = general
                .iter()
                .zip(digits[j..].iter().step_by(windows))
                .filter(|(_, d)| **d != 0)
                .map(|(&i, &d)| (d.unsigned_abs() - 1, signed_reference(i as usize, d)));
            match P::lane_weighted_sum(lanes, n_buckets, entries) {
                Ok(sum) => sum,
                Err(entries) => weighted_bucket_sum(n_buckets, entries.map(|(b, r)| (b, lookup(bases, r)))).0,
            }
        })
        .collect();
    let mut acc = Projective::<P>::zero();
    for s in window_sums.iter().rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += s;
    }
    acc
}

/// Fixed bases: every window's digits go into one shared bucket set over the table's
/// precomputed multiples. With `split > 1` the scalars are cut into that many runs, each with
/// its own bucket set (one extra reduction per run).
fn msm_fixed<P>(table: &FixedBaseTable<P>, scalars: &[Fr], general: &[u32], split: usize) -> Projective<P>
where
    P: SWCurveConfig<ScalarField = Fr> + CachedCurve,
{
    let c = table.window();
    let windows = table.windows();
    let digits = digits_of(scalars, general, c, windows);
    let n_buckets = 1usize << (c - 1);
    let run = general.len().div_ceil(split.max(1)).max(1);
    general
        .par_chunks(run)
        .zip(digits.par_chunks(run * windows))
        .map(|(general, digits)| {
            let entries = general.iter().zip(digits.chunks_exact(windows)).flat_map(|(&i, ds)| {
                let first = table.slot(i as usize) * windows;
                ds.iter()
                    .enumerate()
                    .filter(|(_, d)| **d != 0)
                    .map(move |(j, &d)| (d.unsigned_abs() - 1, signed_reference(first + j, d)))
            });
            match P::lane_weighted_sum(table.lanes(), n_buckets, entries) {
                Ok(sum) => sum,
                Err(entries) => weighted_bucket_sum(n_buckets, entries.map(|(b, r)| (b, lookup(table.points(), r)))).0,
            }
        })
        .reduce(Projective::<P>::zero, |a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// Recomposing the signed digits gives back the scalar, for every window width.
    #[test]
    fn signed_digits_recompose() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut samples: Vec<Fr> = (0..50).map(|_| Fr::rand(&mut rng)).collect();
        samples.extend([Fr::zero(), Fr::one(), -Fr::one(), -Fr::from(2u64), Fr::from(u64::MAX)]);
        for c in 2..=MAX_WINDOW {
            let windows = windows_for(c);
            for s in &samples {
                let mut d = vec![0; windows];
                signed_digits(&s.into_bigint(), c, &mut d);
                let half = 1i32 << (c - 1);
                assert!(d.iter().all(|&x| x > -half && x <= half), "digit out of range, c={c}");
                let back = d.iter().rev().fold(Fr::zero(), |acc, &x| {
                    let digit = if x < 0 { -Fr::from(x.unsigned_abs()) } else { Fr::from(x as u32) };
                    acc * Fr::from(1u64 << c) + digit
                });
                assert_eq!(back, *s, "c={c}, s={}", s.into_bigint());
            }
        }
    }
}
