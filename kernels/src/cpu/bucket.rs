//! Batch-affine bucket accumulation: the inner loop of Pippenger's method.
//!
//! Every MSM path (variable-base windows, fixed-base precomputed tables, the sum of the
//! one-scalars) reduces to the same job: given entries `(bucket, point)`, compute each
//! bucket's sum `B_b` and then `Σ_b (b+1)·B_b`.
//!
//! 1. Entries arrive in point order (so the points, or a fixed-base table, are read as a
//!    stream). Each is scheduled as an *affine* addition `B_b += P` into its bucket; an empty
//!    bucket just takes the point. Scheduled additions touch distinct buckets, so up to
//!    [`adds_per_inversion`] of them share one field inversion (Montgomery's simultaneous
//!    inversion): about 5M + 1S per addition, against 7M + 4S for a mixed Jacobian addition.
//! 2. An entry whose bucket already has an addition in flight does not wait: it goes into
//!    that bucket's Jacobian overflow accumulator with a mixed addition. With random digits this
//!    is rare (≈ batch / buckets); with skewed digits it bounds the work at plain Pippenger's.
//! 3. The bucket sums are weighted by the running-sum trick: `Σ_b (b+1)·B_b` with two
//!    Jacobian additions per bucket.
//!
//! Sources: Pippenger's bucket method as described by Bernstein et al., "Faster batch forgery
//! identification" (INDOCRYPT 2012), §4; Montgomery, "Speeding the Pollard and elliptic curve
//! methods of factorization" (Math. Comp. 48, 1987), §10.3.1 (simultaneous inversion);
//! affine addition and doubling formulas from Hankerson, Menezes & Vanstone, *Guide to Elliptic
//! Curve Cryptography* (2004), §3.1.2.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Field, One, Zero};

/// Entries read ahead of the bucket additions: their buckets are prefetched first, so the
/// additions of a chunk do not wait on one cache miss after another (a 2^15-bucket G1 set
/// is about 2.3 MiB of 72-byte affine points, more than a core's L2).
const PREFETCH_CHUNK: usize = 32;

/// Additions per inversion for small and mid-sized bucket sets.
const ADDS_PER_INVERSION: usize = 256;
/// Most additions per inversion, for the largest bucket sets.
const MAX_ADDS_PER_INVERSION: usize = 1024;
/// Fewest additions per inversion (below this an inversion costs more than it saves).
const MIN_ADDS_PER_INVERSION: usize = 16;

/// Additions per inversion for `n_buckets` buckets: a quarter of the buckets within
/// [`MIN_ADDS_PER_INVERSION`, `ADDS_PER_INVERSION`], so that an entry meets an addition in
/// flight (and overflows into a Jacobian addition) with probability about 1/8 at most; from
/// 2^14 buckets up, a 32nd of them (at most [`MAX_ADDS_PER_INVERSION`]): an inversion costs
/// about 260 multiplications here, and with that many buckets the overflows stay rare (about
/// 1.5 % on average at 2^15 buckets). Measured on a 2-vCPU EPYC: warm 2^16 proofs (2^15
/// buckets) 2.5–3.5 % less CPU than with 256; with 1024 also at 2^12 buckets, 2^12 proofs got
/// 1–2 % slower, hence the two regimes.
pub(super) fn adds_per_inversion(n_buckets: usize) -> usize {
    (n_buckets / 4).clamp(MIN_ADDS_PER_INVERSION, ADDS_PER_INVERSION).max((n_buckets / 32).min(MAX_ADDS_PER_INVERSION))
}

/// Additions per inversion on AVX-512 IFMA lanes ([`super::lane_bucket`]): an eighth of the
/// buckets, within [`LANE_MIN_ADDS_PER_INVERSION`, `LANE_MAX_ADDS_PER_INVERSION`]. A
/// collision there waits for the next batch instead of paying a Jacobian addition. Measured on
/// a 2-vCPU Xeon with IFMA, warm batches of 32 at 2^12: a half, a quarter, an eighth, a 16th
/// and a 32nd of the buckets gave 29, 35, 43–44, 41–42 and 33–37 proofs/s (the larger
/// batches defer too many entries and overflow the retry queue); at 2^16 a quarter, an eighth
/// and a 16th gave 5.21, 5.24 and 5.09 proofs/s.
pub(super) fn lane_adds_per_inversion(n_buckets: usize) -> usize {
    (n_buckets / 8).clamp(LANE_MIN_ADDS_PER_INVERSION, LANE_MAX_ADDS_PER_INVERSION)
}

/// Fewest additions per inversion on lanes.
const LANE_MIN_ADDS_PER_INVERSION: usize = 64;
/// Most additions per inversion on lanes.
const LANE_MAX_ADDS_PER_INVERSION: usize = 2048;

/// One set of buckets being filled.
pub(super) struct BucketSet<P: SWCurveConfig> {
    /// Affine bucket sums (identity when empty).
    buckets: Vec<Affine<P>>,
    /// Jacobian overflow per bucket, for entries that met an addition in flight.
    overflow: Vec<Projective<P>>,
    /// Whether a bucket has an addition scheduled in the current batch.
    busy: Vec<bool>,
    /// Flush after this many scheduled additions.
    batch: usize,
    /// Scheduled additions: `buckets[b] += point`.
    scheduled: Vec<(u32, Affine<P>)>,
    /// Denominators, then (after the inversion) their inverses.
    inverses: Vec<P::BaseField>,
    /// Prefix products of the denominators.
    prefix: Vec<P::BaseField>,
}

impl<P: SWCurveConfig> BucketSet<P> {
    /// `n_buckets` empty buckets.
    pub(super) fn new(n_buckets: usize) -> Self {
        let batch = adds_per_inversion(n_buckets);
        Self {
            buckets: vec![Affine::identity(); n_buckets],
            overflow: vec![Projective::zero(); n_buckets],
            busy: vec![false; n_buckets],
            batch,
            scheduled: Vec::with_capacity(batch),
            inverses: Vec::with_capacity(batch),
            prefix: Vec::with_capacity(batch),
        }
    }

    /// Adds `p` into bucket `b`.
    #[inline]
    pub(super) fn add(&mut self, b: u32, p: Affine<P>) {
        let b = b as usize;
        if self.busy[b] {
            self.overflow[b] += &p;
        } else if self.buckets[b].is_zero() {
            self.buckets[b] = p;
        } else {
            self.busy[b] = true;
            self.scheduled.push((b as u32, p));
            if self.scheduled.len() >= self.batch {
                self.flush();
            }
        }
    }

    /// Adds every `(bucket, point)` of `chunk`, prefetching all their buckets first.
    #[inline]
    fn add_chunk(&mut self, chunk: &[(u32, Affine<P>)]) {
        for (b, _) in chunk {
            prefetch(&self.buckets[*b as usize]);
        }
        for (b, p) in chunk {
            self.add(*b, *p);
        }
    }

    /// Performs every scheduled addition with one shared inversion.
    fn flush(&mut self) {
        if self.scheduled.is_empty() {
            return;
        }
        self.inverses.clear();
        self.prefix.clear();
        let mut product = P::BaseField::one();
        for (b, p) in &self.scheduled {
            let d = denominator(&self.buckets[*b as usize], p);
            product *= d;
            self.inverses.push(d);
            self.prefix.push(product);
        }
        // Every denominator is non-zero by construction, so the product is invertible.
        let mut inv = product.inverse().unwrap_or_else(P::BaseField::one);
        for i in (0..self.inverses.len()).rev() {
            let d = self.inverses[i];
            self.inverses[i] = if i > 0 { inv * self.prefix[i - 1] } else { inv };
            inv *= d;
        }
        for ((b, p), inv) in self.scheduled.iter().zip(&self.inverses) {
            let b = *b as usize;
            self.buckets[b] = affine_add(&self.buckets[b], p, inv);
            self.busy[b] = false;
        }
        self.scheduled.clear();
    }

    /// `(Σ_b (b+1)·B_b, Σ_b B_b)`.
    pub(super) fn finish(mut self) -> (Projective<P>, Projective<P>) {
        self.flush();
        running_sums(self.buckets.iter().copied().zip(self.overflow.iter().copied()).rev())
    }
}

/// The running-sum reduction: given each bucket's `(affine sum, Jacobian overflow)` from the
/// highest bucket `b` down to bucket 0, `(Σ_b (b+1)·B_b, Σ_b B_b)` with two additions per
/// bucket.
pub(super) fn running_sums<P: SWCurveConfig>(
    descending: impl Iterator<Item = (Affine<P>, Projective<P>)>,
) -> (Projective<P>, Projective<P>) {
    let mut running = Projective::<P>::zero();
    let mut weighted = Projective::<P>::zero();
    for (bucket, overflow) in descending {
        if !bucket.is_zero() {
            running += bucket;
        }
        if !overflow.is_zero() {
            running += overflow;
        }
        weighted += &running;
    }
    (weighted, running)
}

/// Weighted bucket sums of `entries` (`(bucket, point)`): `(Σ_b (b+1)·B_b, Σ_b B_b)`.
pub(super) fn weighted_bucket_sum<P: SWCurveConfig>(
    n_buckets: usize,
    entries: impl Iterator<Item = (u32, Affine<P>)>,
) -> (Projective<P>, Projective<P>) {
    let mut set = BucketSet::new(n_buckets);
    in_prefetch_chunks(entries, |chunk| set.add_chunk(chunk));
    set.finish()
}

/// Hands `entries` to `add_chunk` [`PREFETCH_CHUNK`] at a time (the last chunk may be shorter
/// or empty), so a bucket set can prefetch a chunk's buckets before adding into them.
pub(super) fn in_prefetch_chunks<T>(entries: impl Iterator<Item = T>, mut add_chunk: impl FnMut(&[T])) {
    let mut chunk = Vec::with_capacity(PREFETCH_CHUNK);
    for entry in entries {
        chunk.push(entry);
        if chunk.len() == PREFETCH_CHUNK {
            add_chunk(&chunk);
            chunk.clear();
        }
    }
    add_chunk(&chunk);
}

/// Asks the CPU to bring `value`'s cache lines (it may straddle two) into L1; a hint only.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = (value as *const T).cast::<i8>();
        // SAFETY: a prefetch never faults and neither reads nor writes memory as far as the
        // program can observe; `start` and its last byte lie inside the live `value`.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(start);
            _mm_prefetch::<_MM_HINT_T0>(start.add(std::mem::size_of::<T>().saturating_sub(1)));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The denominator of the affine addition `p + q`: `x_q − x_p`, `2·y_p` for a doubling, and
/// `1` where no inversion is needed (an operand or the result is the identity).
#[inline]
fn denominator<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>) -> P::BaseField {
    if p.is_zero() || q.is_zero() {
        P::BaseField::one()
    } else if p.x == q.x {
        if p.y == q.y && !p.y.is_zero() {
            p.y.double()
        } else {
            P::BaseField::one()
        }
    } else {
        q.x - p.x
    }
}

/// `p + q` in affine coordinates, given the inverse of [`denominator`]`(p, q)`.
#[inline]
fn affine_add<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>, inv: &P::BaseField) -> Affine<P> {
    if p.is_zero() {
        return *q;
    }
    if q.is_zero() {
        return *p;
    }
    let lambda = if p.x == q.x {
        if p.y != q.y || p.y.is_zero() {
            // q = −p (or a point of order two, which prime-order groups do not have).
            return Affine::identity();
        }
        // Doubling: λ = (3x² + a) / 2y.
        let xx = p.x.square();
        (xx.double() + xx + P::COEFF_A) * inv
    } else {
        (q.y - p.y) * inv
    };
    let x3 = lambda.square() - p.x - q.x;
    let y3 = lambda * (p.x - x3) - p.y;
    Affine::new_unchecked(x3, y3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::g1::Config as G1Config;
    use ark_bn254::{Fr, G1Affine, G1Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

    /// Random entries (including doublings, P + (−P) and identities) against a Jacobian sum;
    /// 2^15 buckets take the large-set regime of [`adds_per_inversion`] (one flush of ~900).
    #[test]
    fn weighted_sums_match_jacobian_sums() {
        let mut rng = StdRng::seed_from_u64(7);
        let g = G1Projective::generator();
        let p = G1Projective::rand(&mut rng).into_affine();
        let mut points: Vec<G1Affine> = (0..300).map(|_| G1Projective::rand(&mut rng).into_affine()).collect();
        points.extend([p, p, p, (-p.into_group()).into_affine(), G1Affine::identity(), g.into_affine()]);
        for n_buckets in [1usize, 2, 7, 64, 1 << 15] {
            let entries: Vec<(u32, u32)> = (0..points.len() * 3)
                .map(|i| (rng.gen_range(0..n_buckets as u32), (i % points.len()) as u32))
                .collect();
            // Crowd bucket 0 with repeated and opposite points.
            let mut entries = entries;
            entries.extend([(0, 300), (0, 301), (0, 302), (0, 303), (0, 304)]);
            let (weighted, sum) =
                weighted_bucket_sum::<G1Config>(n_buckets, entries.iter().map(|&(b, r)| (b, points[r as usize])));
            let mut want_w = G1Projective::zero();
            let mut want_s = G1Projective::zero();
            for &(b, r) in &entries {
                want_w += points[r as usize] * Fr::from(u64::from(b) + 1);
                want_s += points[r as usize];
            }
            assert_eq!(weighted.into_affine(), want_w.into_affine(), "weighted, {n_buckets} buckets");
            assert_eq!(sum.into_affine(), want_s.into_affine(), "plain sum, {n_buckets} buckets");
        }
    }
}
