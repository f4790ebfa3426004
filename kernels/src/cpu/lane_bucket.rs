//! Batch-affine bucket accumulation over points in lane form (a fixed-base table, or the bases
//! of one batch), eight additions per vector with AVX-512 IFMA ([`super::ifma`]), for G1 and
//! G2 alike ([`super::lane_field`]).
//!
//! The same method as [`super::bucket`] (one inversion shared by a batch of affine additions
//! into distinct buckets), laid out for SIMD:
//! - buckets and the table's points are stored in the 52-bit-digit form (x digits, then y
//!   digits; [`lane_points`]), so the hot loop never converts;
//! - a scheduled addition copies its point (negated if its digit is) into limb-major staging
//!   columns; its bucket is gathered and scattered by index;
//! - the additions of a batch run as groups of eight, one per lane: a forward pass builds
//!   each lane's prefix products of the denominators `x_q − x_b`, the eight lane totals are
//!   inverted together with one arkworks inversion, and a backward pass peels each addition's
//!   inverse off and applies `λ = (y_q − y_b)/(x_q − x_b)`, `x = λ² − x_b − x_q`,
//!   `y = λ(x_b − x) − y_b`.
//!
//! No special case reaches the vector code: an empty bucket takes its point; an entry whose
//! bucket already has an addition in flight waits for the next batch (a bounded queue: past
//! `batch` waiting entries, and for an entry with the bucket's x — a doubling or `P + (−P)` —
//! it goes to the bucket's Jacobian overflow in arkworks arithmetic, as in
//! [`super::bucket`]), so batches can be large without collisions costing Jacobian additions. The last group of a batch
//! is padded with `G + 2G` into a sink bucket nobody reads.
//!
//! Sources: as [`super::bucket`]; the SIMD batch-affine layout follows the ZPrize 2022/2023
//! CPU and GPU MSM write-ups (one addition per lane, simultaneous inversion across lanes).

use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ff::{Field, One, Zero};
use std::arch::x86_64::{_mm512_loadu_si512, _mm_prefetch, _MM_HINT_T0};

use super::bucket::{in_prefetch_chunks, lane_adds_per_inversion, running_sums};
use super::ifma::{self, WIDTH};
use super::lane_field::{LaneCoord, LaneCurve};

/// Marks a negated point in a point reference (as in [`super::msm`]).
const NEGATED: u32 = 1 << 31;

/// Digits per point of group `C`: x, then y.
fn stride<C: LaneCurve>() -> usize {
    2 * C::Coord::DIGITS
}

/// Writes the lane form of the finite point `p` into `out` (`stride` digits).
fn write_point<C: LaneCurve>(p: &Affine<C>, out: &mut [u64]) {
    let d = C::Coord::DIGITS;
    C::Coord::write(&p.x, &mut out[..d]);
    C::Coord::write(&p.y, &mut out[d..2 * d]);
}

/// The lane form of `points` (none at infinity), point after point.
pub(super) fn lane_points<C: LaneCurve>(points: &[Affine<C>]) -> Vec<u64> {
    let mut out = vec![0u64; points.len() * stride::<C>()];
    for (o, p) in out.chunks_exact_mut(stride::<C>()).zip(points) {
        write_point(p, o);
    }
    out
}

/// The point with lane-form digits `digits`.
fn read_point<C: LaneCurve>(digits: &[u64]) -> Affine<C> {
    let d = C::Coord::DIGITS;
    Affine::new_unchecked(C::Coord::read(&digits[..d]), C::Coord::read(&digits[d..2 * d]))
}

/// Weighted bucket sums `(Σ_b (b+1)·B_b, Σ_b B_b)` of `entries` (`(bucket, point reference)`)
/// over points in lane form (`lanes`, from [`lane_points`]); a reference
/// with [`NEGATED`] set means the negated point.
///
/// # Panics
/// If [`ifma::available`] is false (callers build lane tables only when it is true).
pub(super) fn weighted_sum<C: LaneCurve>(
    lanes: &[u64],
    n_buckets: usize,
    entries: impl Iterator<Item = (u32, u32)>,
) -> (Projective<C>, Projective<C>) {
    assert!(ifma::available(), "lane buckets need AVX-512 IFMA");
    let mut set = LaneBucketSet::<C>::new(lanes, n_buckets);
    in_prefetch_chunks(entries, |chunk| set.add_chunk(chunk));
    set.finish()
}

struct LaneBucketSet<'t, C: LaneCurve> {
    lanes: &'t [u64],
    /// Bucket sums in lane form, `stride` digits each; one more at the end: the sink of
    /// padding additions.
    buckets: Vec<u64>,
    occupied: Vec<bool>,
    busy: Vec<bool>,
    overflow: Vec<Projective<C>>,
    /// Scheduled additions per flush (a multiple of [`WIDTH`]).
    batch: usize,
    /// Scheduled so far.
    staged: usize,
    /// Digit offset (`bucket · stride`) of each scheduled addition's bucket.
    offsets: Vec<u64>,
    /// Scheduled points' coordinates, digit-major (`DIGITS` columns each).
    xs: Vec<Vec<u64>>,
    ys: Vec<Vec<u64>>,
    /// Per group of eight: the prefix product of the denominators before it.
    prefix: Vec<C::Coord>,
    /// Scratch for one (possibly negated) y coordinate.
    y: Vec<u64>,
    /// Entries that met an addition in flight, retried after the next flush (at most
    /// `batch`; beyond that they go to the Jacobian overflow).
    pending: Vec<(u32, u32)>,
    /// The previous `pending`, being retried.
    retry: Vec<(u32, u32)>,
}

impl<'t, C: LaneCurve> LaneBucketSet<'t, C> {
    fn new(lanes: &'t [u64], n_buckets: usize) -> Self {
        let batch = lane_adds_per_inversion(n_buckets).next_multiple_of(WIDTH);
        let d = C::Coord::DIGITS;
        Self {
            lanes,
            buckets: vec![0; (n_buckets + 1) * 2 * d],
            occupied: vec![false; n_buckets],
            busy: vec![false; n_buckets],
            overflow: vec![Projective::zero(); n_buckets],
            batch,
            staged: 0,
            offsets: vec![0; batch],
            xs: vec![vec![0; batch]; d],
            ys: vec![vec![0; batch]; d],
            prefix: Vec::with_capacity(batch / WIDTH),
            y: vec![0; d],
            pending: Vec::with_capacity(batch),
            retry: Vec::with_capacity(batch),
        }
    }

    fn signed_affine(&self, reference: u32) -> Affine<C> {
        let at = (reference & !NEGATED) as usize * stride::<C>();
        let p = read_point::<C>(&self.lanes[at..at + stride::<C>()]);
        if reference & NEGATED != 0 {
            -p
        } else {
            p
        }
    }

    #[inline]
    fn add_chunk(&mut self, chunk: &[(u32, u32)]) {
        for &(b, _) in chunk {
            let at = b as usize * stride::<C>();
            prefetch(&self.buckets[at..at + stride::<C>()]);
        }
        for &(b, r) in chunk {
            self.add(b as usize, r);
        }
    }

    /// Adds point `reference` into bucket `b`.
    #[inline]
    fn add(&mut self, b: usize, reference: u32) {
        self.place(b, reference);
        if self.staged == self.batch {
            self.flush();
        }
    }

    /// Schedules, stores or defers one addition; never flushes (at most `batch` staged).
    #[inline]
    fn place(&mut self, b: usize, reference: u32) {
        if self.busy[b] {
            if self.pending.len() < self.batch {
                self.pending.push((b as u32, reference));
            } else {
                let q = self.signed_affine(reference);
                self.overflow[b] += q;
            }
            return;
        }
        let (d, stride) = (C::Coord::DIGITS, stride::<C>());
        let at = (reference & !NEGATED) as usize * stride;
        let q = &self.lanes[at..at + stride];
        let (qx, qy) = q.split_at(d);
        if reference & NEGATED != 0 {
            C::Coord::negate(qy, &mut self.y);
        } else {
            self.y.copy_from_slice(qy);
        }
        let bucket = &mut self.buckets[b * stride..(b + 1) * stride];
        if !self.occupied[b] {
            bucket[..d].copy_from_slice(qx);
            bucket[d..].copy_from_slice(&self.y);
            self.occupied[b] = true;
            return;
        }
        if bucket[..d] == *qx {
            // A doubling or P + (−P): rare, done in Jacobian coordinates.
            let q = self.signed_affine(reference);
            self.overflow[b] += q;
            return;
        }
        self.busy[b] = true;
        let s = self.staged;
        self.offsets[s] = (b * stride) as u64;
        for k in 0..d {
            self.xs[k][s] = qx[k];
            self.ys[k][s] = self.y[k];
        }
        self.staged += 1;
    }

    /// Performs the staged additions, then stages the deferred entries again (at most
    /// `batch` of them, into buckets that are all free now).
    fn flush(&mut self) {
        self.flush_staged();
        std::mem::swap(&mut self.pending, &mut self.retry);
        let mut retry = std::mem::take(&mut self.retry);
        for &(b, r) in &retry {
            self.place(b as usize, r);
        }
        retry.clear();
        self.retry = retry;
    }

    fn flush_staged(&mut self) {
        if self.staged == 0 {
            return;
        }
        let real = self.staged;
        let (d, stride) = (C::Coord::DIGITS, stride::<C>());
        let sink = self.buckets.len() / stride - 1;
        let (g, two_g) = C::padding();
        self.buckets[sink * stride..].copy_from_slice(g);
        while self.staged % WIDTH != 0 {
            let s = self.staged;
            self.offsets[s] = (sink * stride) as u64;
            for k in 0..d {
                self.xs[k][s] = two_g[k];
                self.ys[k][s] = two_g[d + k];
            }
            self.staged += 1;
        }
        // SAFETY: `ifma::available()` was asserted when the set was made; every offset names
        // a bucket of `self.buckets`; the staging columns hold `self.staged` entries; the
        // scheduled buckets are distinct (`busy`) apart from the sink.
        unsafe { self.flush_lanes() };
        for &offset in &self.offsets[..real] {
            self.busy[offset as usize / stride] = false;
        }
        self.staged = 0;
    }

    /// The vector part of [`Self::flush`]: `self.staged` (a multiple of eight) additions.
    ///
    /// # Safety
    /// AVX-512F and AVX-512 IFMA must be available; every staged offset must name a bucket of
    /// `self.buckets`; scheduled buckets are distinct apart from the sink.
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn flush_lanes(&mut self) {
        let groups = self.staged / WIDTH;
        let y_at = C::Coord::DIGITS as i64;
        let base = self.buckets.as_mut_ptr().cast::<i64>();
        self.prefix.clear();
        // AVX-512F and IFMA are available (this function's contract), so every lane operation
        // may run; the memory each block touches is named in its note.
        // SAFETY: arithmetic only.
        let mut acc = unsafe { C::Coord::from_ark(&[C::BaseField::one(); WIDTH]) };
        for g in 0..groups {
            // SAFETY: `g·8 + 8 ≤ self.staged ≤ self.offsets.len()`; the load is unaligned.
            let offsets = unsafe { _mm512_loadu_si512(self.offsets.as_ptr().add(g * WIDTH).cast()) };
            // SAFETY: each offset names a bucket of `self.buckets` (contract); x is its first
            // `DIGITS` digits.
            let x1 = unsafe { C::Coord::gather(base, offsets, 0) };
            // SAFETY: the staging columns hold `self.staged ≥ g·8 + 8` entries.
            let x2 = unsafe { C::Coord::load(&self.xs, g * WIDTH) };
            self.prefix.push(acc);
            // SAFETY: arithmetic only.
            acc = unsafe { acc.mul(x2.sub(x1)) };
        }
        // SAFETY: arithmetic and register moves only.
        let mut inv = unsafe { C::Coord::from_ark(&invert_all(acc.to_ark())) };
        for g in (0..groups).rev() {
            // SAFETY: as in the forward pass, for x and y (digits `DIGITS .. 2·DIGITS`) of each
            // named bucket; the scatters write the same digits of the same buckets, which are
            // distinct apart from the sink (contract), and `self.buckets` is not otherwise
            // borrowed while `base` is used.
            unsafe {
                let offsets = _mm512_loadu_si512(self.offsets.as_ptr().add(g * WIDTH).cast());
                let x1 = C::Coord::gather(base, offsets, 0);
                let y1 = C::Coord::gather(base, offsets, y_at);
                let x2 = C::Coord::load(&self.xs, g * WIDTH);
                let y2 = C::Coord::load(&self.ys, g * WIDTH);
                let inv_g = inv.mul(self.prefix[g]);
                inv = inv.mul(x2.sub(x1));
                let lambda = y2.sub(y1).mul(inv_g);
                let x3 = lambda.square().sub(x1).sub(x2);
                let y3 = lambda.mul(x1.sub(x3)).sub(y1);
                x3.scatter(base, offsets, 0);
                y3.scatter(base, offsets, y_at);
            }
        }
    }

    fn finish(mut self) -> (Projective<C>, Projective<C>) {
        while self.staged > 0 || !self.pending.is_empty() {
            self.flush();
        }
        let stride = stride::<C>();
        let n = self.occupied.len();
        let buckets = (0..n).rev().map(|b| {
            let sum = if self.occupied[b] {
                read_point::<C>(&self.buckets[b * stride..(b + 1) * stride])
            } else {
                Affine::identity()
            };
            (sum, self.overflow[b])
        });
        running_sums(buckets)
    }
}

/// The inverses of eight non-zero values, with one inversion.
fn invert_all<F: Field>(values: [F; WIDTH]) -> [F; WIDTH] {
    let mut prefix = [F::one(); WIDTH];
    let mut product = F::one();
    for (i, v) in values.iter().enumerate() {
        prefix[i] = product;
        product *= v;
    }
    // Every denominator is x_q − x_b with x_q ≠ x_b, so the product is invertible.
    let mut inv = product.inverse().unwrap_or_else(F::one);
    let mut out = [F::one(); WIDTH];
    for i in (0..WIDTH).rev() {
        out[i] = inv * prefix[i];
        inv *= values[i];
    }
    out
}

/// Prefetches a bucket's digits (two or three cache lines).
#[inline(always)]
fn prefetch(digits: &[u64]) {
    let start = digits.as_ptr().cast::<i8>();
    let bytes = std::mem::size_of_val(digits);
    // SAFETY: a prefetch never faults and has no observable effect on memory; every address
    // lies inside the live `digits`.
    unsafe {
        let mut at = 0;
        while at < bytes {
            _mm_prefetch::<_MM_HINT_T0>(start.add(at));
            at += 64;
        }
        _mm_prefetch::<_MM_HINT_T0>(start.add(bytes - 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr};
    use ark_ec::CurveGroup;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
    use ark_std::UniformRand;

    /// Lane buckets against Jacobian sums, with repeated points (doublings), P and −P,
    /// busy buckets and batches that are not a multiple of eight.
    fn check_lane_sums<C: LaneCurve<ScalarField = Fr>>(points: usize, bucket_counts: &[usize]) {
        if !ifma::available() {
            eprintln!("skipping: this CPU has no AVX-512 IFMA");
            return;
        }
        let mut rng = StdRng::seed_from_u64(9);
        let mut table: Vec<Affine<C>> = (0..points).map(|_| Projective::<C>::rand(&mut rng).into_affine()).collect();
        let p = table[0];
        table.extend([p, -p]);
        let lanes = lane_points(&table);
        let (last, minus) = (points as u32, points as u32 + 1);
        for &n_buckets in bucket_counts {
            let mut entries: Vec<(u32, u32)> = (0..table.len() * 4)
                .map(|_| {
                    let r = rng.gen_range(0..table.len() as u32);
                    (rng.gen_range(0..n_buckets as u32), if rng.gen_bool(0.5) { r | NEGATED } else { r })
                })
                .collect();
            entries.extend([(0, 0), (0, 0), (0, last), (0, minus), (0, NEGATED), (0, 5), (0, 5 | NEGATED)]);
            for len in [entries.len(), 1, 7, 8, 9, 100] {
                let entries = &entries[..len];
                let (weighted, sum) = weighted_sum::<C>(&lanes, n_buckets, entries.iter().copied());
                let mut want_w = Projective::<C>::zero();
                let mut want_s = Projective::<C>::zero();
                for &(b, r) in entries {
                    let q = table[(r & !NEGATED) as usize];
                    let q = if r & NEGATED != 0 { -q } else { q };
                    want_w += q * Fr::from(u64::from(b) + 1);
                    want_s += q;
                }
                assert_eq!(
                    weighted.into_affine(),
                    want_w.into_affine(),
                    "weighted, {n_buckets} buckets, {len} entries"
                );
                assert_eq!(sum.into_affine(), want_s.into_affine(), "sum, {n_buckets} buckets, {len} entries");
            }
        }
    }

    #[test]
    fn g1_lane_sums_match_jacobian_sums() {
        check_lane_sums::<g1::Config>(400, &[1, 3, 64, 4096, 1 << 15]);
    }

    #[test]
    fn g2_lane_sums_match_jacobian_sums() {
        check_lane_sums::<g2::Config>(120, &[1, 3, 64, 1024]);
    }
}
