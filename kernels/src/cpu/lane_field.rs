//! The coordinate fields of G1 (`Fq`) and G2 (`Fq2`) as eight-lane vectors over
//! [`super::ifma`], behind one trait so one bucket loop serves both groups.
//!
//! A coordinate is stored as [`LaneCoord::DIGITS`] 52-bit digits (`Fq`: 5; `Fq2 = c0 + c1·u`:
//! 5 for `c0`, then 5 for `c1`). `Fq2` arithmetic uses `u² = −1` (BN254's quadratic
//! non-residue): Karatsuba's three products for a multiplication, `(a0 + a1)(a0 − a1)` and
//! `2·a0·a1` for a square ("complex" squaring; Devegili, Ó hÉigeartaigh, Scott & Dahab,
//! "Multiplication and squaring on pairing-friendly fields", IACR ePrint 2006/471, §3).

use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_i64gather_epi64, _mm512_i64scatter_epi64, _mm512_set1_epi64,
};

use std::sync::OnceLock;

use ark_bn254::{g1, g2, Fq, Fq2};
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::Field;

use super::ifma::{self, LaneElement, Lanes, LIMBS, WIDTH};

/// Eight coordinates of one field, as vectors.
pub(super) trait LaneCoord: Copy {
    /// The arkworks field.
    type Ark: Field;
    /// 52-bit digits per coordinate.
    const DIGITS: usize;

    /// Writes `z`'s digits into `out` (`DIGITS` long).
    fn write(z: &Self::Ark, out: &mut [u64]);
    /// Reads a coordinate from its digits.
    fn read(digits: &[u64]) -> Self::Ark;
    /// Writes the digits of `−z` for the non-zero coordinate with digits `digits`.
    fn negate(digits: &[u64], out: &mut [u64]);

    /// Gathers the coordinates at digit offsets `offsets + start` from `base`.
    ///
    /// # Safety
    /// AVX-512F; every `offsets[i] + start + k` (k < `DIGITS`) indexes a live `i64` at `base`.
    unsafe fn gather(base: *const i64, offsets: __m512i, start: i64) -> Self;
    /// Scatters the coordinates to digit offsets `offsets + start` from `base`.
    ///
    /// # Safety
    /// As [`LaneCoord::gather`], for writes.
    unsafe fn scatter(self, base: *mut i64, offsets: __m512i, start: i64);
    /// Loads eight coordinates from limb-major columns (`DIGITS` of them) at `at`.
    ///
    /// # Safety
    /// AVX-512F; every column holds `at + 8` digits.
    unsafe fn load(columns: &[Vec<u64>], at: usize) -> Self;
    /// Eight coordinates from arkworks values.
    ///
    /// # Safety
    /// AVX-512F.
    unsafe fn from_ark(values: &[Self::Ark; WIDTH]) -> Self;
    /// The eight coordinates as arkworks values.
    ///
    /// # Safety
    /// AVX-512F.
    unsafe fn to_ark(self) -> [Self::Ark; WIDTH];
    /// `a·b`.
    ///
    /// # Safety
    /// AVX-512F and AVX-512 IFMA.
    unsafe fn mul(self, b: Self) -> Self;
    /// `a²`.
    ///
    /// # Safety
    /// AVX-512F and AVX-512 IFMA.
    unsafe fn square(self) -> Self;
    /// `a − b`.
    ///
    /// # Safety
    /// AVX-512F.
    unsafe fn sub(self, b: Self) -> Self;
}

/// Curve groups whose bucket additions run on lanes.
pub(super) trait LaneCurve: SWCurveConfig {
    /// The coordinate vectors.
    type Coord: LaneCoord<Ark = Self::BaseField>;
    /// `G` and `2G` in lane form (x digits, then y digits): the padding addition of a batch
    /// that is not a multiple of eight.
    fn padding() -> &'static (Vec<u64>, Vec<u64>);
}

/// `G` and `2G` of group `C`, digits of x then y.
fn generator_and_double<C: LaneCurve>() -> (Vec<u64>, Vec<u64>) {
    let g = Affine::<C>::generator();
    let two_g = g.into_group().double().into_affine();
    let digits = |p: &Affine<C>| {
        let d = C::Coord::DIGITS;
        let mut out = vec![0u64; 2 * d];
        C::Coord::write(&p.x, &mut out[..d]);
        C::Coord::write(&p.y, &mut out[d..]);
        out
    };
    (digits(&g), digits(&two_g))
}

impl LaneCurve for g1::Config {
    type Coord = Lanes;
    fn padding() -> &'static (Vec<u64>, Vec<u64>) {
        static PADDING: OnceLock<(Vec<u64>, Vec<u64>)> = OnceLock::new();
        PADDING.get_or_init(generator_and_double::<Self>)
    }
}

impl LaneCurve for g2::Config {
    type Coord = Lanes2;
    fn padding() -> &'static (Vec<u64>, Vec<u64>) {
        static PADDING: OnceLock<(Vec<u64>, Vec<u64>)> = OnceLock::new();
        PADDING.get_or_init(generator_and_double::<Self>)
    }
}

fn element(digits: &[u64]) -> LaneElement {
    digits[..LIMBS].try_into().expect("five digits")
}

impl LaneCoord for Lanes {
    type Ark = Fq;
    const DIGITS: usize = LIMBS;

    fn write(z: &Fq, out: &mut [u64]) {
        out[..LIMBS].copy_from_slice(&ifma::from_ark(z));
    }

    fn read(digits: &[u64]) -> Fq {
        ifma::to_ark(&element(digits))
    }

    fn negate(digits: &[u64], out: &mut [u64]) {
        out[..LIMBS].copy_from_slice(&ifma::negate(&element(digits)));
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn gather(base: *const i64, offsets: __m512i, start: i64) -> Self {
        let mut v = [offsets; LIMBS];
        for (k, limb) in v.iter_mut().enumerate() {
            let at = _mm512_add_epi64(offsets, _mm512_set1_epi64(start + k as i64));
            // SAFETY: in bounds by the caller's contract.
            *limb = unsafe { _mm512_i64gather_epi64::<8>(at, base) };
        }
        Lanes(v)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn scatter(self, base: *mut i64, offsets: __m512i, start: i64) {
        for k in 0..LIMBS {
            let at = _mm512_add_epi64(offsets, _mm512_set1_epi64(start + k as i64));
            // SAFETY: in bounds by the caller's contract.
            unsafe { _mm512_i64scatter_epi64::<8>(base, at, self.0[k]) };
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(columns: &[Vec<u64>], at: usize) -> Self {
        let columns: &[Vec<u64>; LIMBS] = columns[..LIMBS].try_into().expect("five columns");
        // SAFETY: the caller's contract.
        unsafe { Lanes::load(columns, at) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn from_ark(values: &[Fq; WIDTH]) -> Self {
        // SAFETY: AVX-512F (the caller's contract).
        unsafe { Lanes::from_elements(&values.map(|v| ifma::from_ark(&v))) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn to_ark(self) -> [Fq; WIDTH] {
        // SAFETY: AVX-512F (the caller's contract).
        unsafe { self.to_elements() }.map(|e| ifma::to_ark(&e))
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Lanes::mul(self, b) }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn square(self) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Lanes::square(self) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Lanes::sub(self, b) }
    }
}

/// Eight `Fq2` coordinates: `c0 + c1·u`.
#[derive(Clone, Copy)]
pub(super) struct Lanes2 {
    c0: Lanes,
    c1: Lanes,
}

impl LaneCoord for Lanes2 {
    type Ark = Fq2;
    const DIGITS: usize = 2 * LIMBS;

    fn write(z: &Fq2, out: &mut [u64]) {
        Lanes::write(&z.c0, &mut out[..LIMBS]);
        Lanes::write(&z.c1, &mut out[LIMBS..2 * LIMBS]);
    }

    fn read(digits: &[u64]) -> Fq2 {
        Fq2::new(Lanes::read(&digits[..LIMBS]), Lanes::read(&digits[LIMBS..2 * LIMBS]))
    }

    fn negate(digits: &[u64], out: &mut [u64]) {
        // −(c0 + c1·u): each non-zero part negated, a zero part stays zero.
        for part in 0..2 {
            let d = &digits[part * LIMBS..(part + 1) * LIMBS];
            let o = &mut out[part * LIMBS..(part + 1) * LIMBS];
            if d.iter().all(|&x| x == 0) {
                o.fill(0);
            } else {
                Lanes::negate(d, o);
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn gather(base: *const i64, offsets: __m512i, start: i64) -> Self {
        // SAFETY: the caller's contract covers digits start .. start + 10.
        unsafe {
            Lanes2 { c0: Lanes::gather(base, offsets, start), c1: Lanes::gather(base, offsets, start + LIMBS as i64) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn scatter(self, base: *mut i64, offsets: __m512i, start: i64) {
        // SAFETY: the caller's contract covers digits start .. start + 10.
        unsafe {
            self.c0.scatter(base, offsets, start);
            self.c1.scatter(base, offsets, start + LIMBS as i64);
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(columns: &[Vec<u64>], at: usize) -> Self {
        // SAFETY: the caller's contract covers all ten columns.
        unsafe { Lanes2 { c0: LaneCoord::load(&columns[..LIMBS], at), c1: LaneCoord::load(&columns[LIMBS..], at) } }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn from_ark(values: &[Fq2; WIDTH]) -> Self {
        // SAFETY: AVX-512F (the caller's contract).
        unsafe {
            Lanes2 { c0: LaneCoord::from_ark(&values.map(|v| v.c0)), c1: LaneCoord::from_ark(&values.map(|v| v.c1)) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn to_ark(self) -> [Fq2; WIDTH] {
        // SAFETY: AVX-512F (the caller's contract).
        let (c0, c1) = unsafe { (LaneCoord::to_ark(self.c0), LaneCoord::to_ark(self.c1)) };
        std::array::from_fn(|i| Fq2::new(c0[i], c1[i]))
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: the caller's contract.
        unsafe {
            let v0 = self.c0.mul(b.c0);
            let v1 = self.c1.mul(b.c1);
            let cross = self.c0.add(self.c1).mul(b.c0.add(b.c1));
            Lanes2 { c0: v0.sub(v1), c1: cross.sub(v0).sub(v1) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn square(self) -> Self {
        // SAFETY: the caller's contract.
        unsafe {
            let c0 = self.c0.add(self.c1).mul(self.c0.sub(self.c1));
            let half = self.c0.mul(self.c1);
            Lanes2 { c0, c1: half.add(half) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Lanes2 { c0: self.c0.sub(b.c0), c1: self.c1.sub(b.c1) } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{One, UniformRand, Zero};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// `Fq2` lanes against arkworks: products, squares, differences, negation and the digit
    /// round trip, with zero parts included.
    #[test]
    fn fq2_lanes_match_arkworks() {
        if !ifma::available() {
            eprintln!("skipping: this CPU has no AVX-512 IFMA");
            return;
        }
        let mut rng = StdRng::seed_from_u64(21);
        let mut a: Vec<Fq2> = (0..64).map(|_| Fq2::rand(&mut rng)).collect();
        a.extend([
            Fq2::zero(),
            Fq2::one(),
            -Fq2::one(),
            Fq2::new(Fq::zero(), Fq::one()),
            Fq2::new(-Fq::one(), Fq::zero()),
        ]);
        while a.len() % WIDTH != 0 {
            a.push(Fq2::rand(&mut rng));
        }
        let mut b = a.clone();
        b.rotate_left(5);
        for (ca, cb) in a.chunks(WIDTH).zip(b.chunks(WIDTH)) {
            let (ca, cb): (&[Fq2; WIDTH], &[Fq2; WIDTH]) = (ca.try_into().unwrap(), cb.try_into().unwrap());
            // SAFETY: `available()` checked AVX-512F and IFMA above.
            let (prod, sq, diff) = unsafe {
                let (la, lb) = (Lanes2::from_ark(ca), Lanes2::from_ark(cb));
                (la.mul(lb).to_ark(), la.square().to_ark(), la.sub(lb).to_ark())
            };
            for i in 0..WIDTH {
                assert_eq!(prod[i], ca[i] * cb[i], "product {i}");
                assert_eq!(sq[i], ca[i].square(), "square {i}");
                assert_eq!(diff[i], ca[i] - cb[i], "difference {i}");
                let mut digits = [0u64; 2 * LIMBS];
                Lanes2::write(&ca[i], &mut digits);
                assert_eq!(Lanes2::read(&digits), ca[i]);
                if !ca[i].is_zero() {
                    let mut neg = [0u64; 2 * LIMBS];
                    Lanes2::negate(&digits, &mut neg);
                    assert_eq!(Lanes2::read(&neg), -ca[i]);
                }
            }
        }
    }
}
