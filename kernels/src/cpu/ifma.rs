//! BN254 base-field arithmetic eight elements at a time, with AVX-512 IFMA.
//!
//! An element is held in radix 2^52 (five limbs of 52 bits in 64-bit lanes) in the Montgomery
//! domain of `R = 2^260`; a [`Lanes`] value holds eight elements limb-major (vector `k` holds
//! limb `k` of each). Every operation takes and returns canonical elements (limbs below 2^52,
//! value below `p`). [`LaneElement`] is one element in the same form, for storage.
//!
//! Montgomery multiplication is operand-scanning (CIOS) with 52-bit digits: for each digit
//! `b_i`, `t += a·b_i`, then `m = t_0·(−p^{-1}) mod 2^52`, `t += m·p`, `t >>= 52`, using
//! `vpmadd52luq`/`vpmadd52huq` for the low and high halves of each 104-bit product; since
//! `p < 2^254`, `t < 2p` at the end and one conditional subtraction makes it canonical.
//!
//! Conversion to and from arkworks: ark-ff keeps `z·2^256 mod p`; this form keeps
//! `z·2^260 mod p`, which is the arkworks representation of `16·z`. So `16·z` computed with
//! arkworks gives the limbs, and reading limbs back as an arkworks representation gives
//! `16·z`, which `16^{-1}` corrects.
//!
//! Sources: Montgomery, "Modular multiplication without trial division" (Math. Comp. 44,
//! 1985); Koç, Acar & Kaliski, "Analyzing and comparing Montgomery multiplication algorithms"
//! (IEEE Micro 16(3), 1996), CIOS; Drucker & Gueron, "Fast modular squaring with AVX512IFMA"
//! (ITNG 2019) for the 52-bit-digit layout; Intel's SDM for `VPMADD52LUQ`/`VPMADD52HUQ`.

use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_cmpge_epi64_mask, _mm512_cmplt_epi64_mask, _mm512_loadu_si512,
    _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_blend_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
    _mm512_srai_epi64, _mm512_srli_epi64, _mm512_storeu_si512, _mm512_sub_epi64,
};
use std::sync::OnceLock;

use ark_bn254::Fq;
use ark_ff::{BigInt, Field, MontFp};

/// Limbs per element.
pub(super) const LIMBS: usize = 5;
/// Elements per vector.
pub(super) const WIDTH: usize = 8;
const DIGIT_BITS: u32 = 52;
const DIGIT_MASK: u64 = (1 << DIGIT_BITS) - 1;
/// BN254's base-field modulus `p` in 52-bit digits, least significant first.
const P: [u64; LIMBS] = [0x8c16d87cfd47, 0x916871ca8d3c2, 0x181585d97816a, 0xa029b85045b68, 0x30644e72e131];
/// `−p^{-1} mod 2^52`.
const P_INV: u64 = 0x20782e4866389;
/// 16, the factor between the arkworks representation and this one.
const SIXTEEN: Fq = MontFp!("16");

/// One element in radix 2^52, Montgomery domain `2^260`, canonical.
pub(super) type LaneElement = [u64; LIMBS];

/// Whether this CPU has AVX-512F and AVX-512 IFMA (checked once).
pub(super) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512ifma")
    })
}

/// `z` in this representation.
pub(super) fn from_ark(z: &Fq) -> LaneElement {
    let limbs = (*z * SIXTEEN).0 .0;
    let mut out = [0u64; LIMBS];
    for (k, digit) in out.iter_mut().enumerate() {
        let bit = k * DIGIT_BITS as usize;
        let (word, off) = (bit / 64, bit % 64);
        let mut v = limbs[word] >> off;
        if off + DIGIT_BITS as usize > 64 && word + 1 < 4 {
            v |= limbs[word + 1] << (64 - off);
        }
        *digit = v & DIGIT_MASK;
    }
    out
}

/// The arkworks element of `e`.
pub(super) fn to_ark(e: &LaneElement) -> Fq {
    let mut limbs = [0u64; 4];
    for (k, &digit) in e.iter().enumerate() {
        let bit = k * DIGIT_BITS as usize;
        let (word, off) = (bit / 64, bit % 64);
        limbs[word] |= digit << off;
        if off + DIGIT_BITS as usize > 64 && word + 1 < 4 {
            limbs[word + 1] |= digit >> (64 - off);
        }
    }
    // `e` is canonical (below p), so it is a valid arkworks representation: of 16·z.
    let sixteen_z = Fq::new_unchecked(BigInt(limbs));
    sixteen_z * sixteen_inverse()
}

fn sixteen_inverse() -> Fq {
    static INV: OnceLock<Fq> = OnceLock::new();
    *INV.get_or_init(|| SIXTEEN.inverse().expect("16 is invertible mod p"))
}

/// `p − e` for a non-zero canonical `e` (a negated y coordinate), on one element.
pub(super) fn negate(e: &LaneElement) -> LaneElement {
    let mut out = [0u64; LIMBS];
    let mut borrow = 0i64;
    for k in 0..LIMBS {
        let x = P[k] as i64 - e[k] as i64 + borrow;
        borrow = x >> DIGIT_BITS;
        out[k] = x as u64 & DIGIT_MASK;
    }
    out
}

/// Eight elements, limb-major.
#[derive(Clone, Copy)]
pub(super) struct Lanes(pub(super) [__m512i; LIMBS]);

/// Field operations on [`Lanes`]. Every function requires AVX-512F and AVX-512 IFMA
/// ([`available`]); callers check that once and enter through a `#[target_feature]` function.
impl Lanes {
    /// Loads eight elements stored limb-major: limb `k` of element `i` at `columns[k][at + i]`.
    ///
    /// # Safety
    /// AVX-512F must be available, and every `columns[k]` must hold `at + 8` values.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn load(columns: &[Vec<u64>; LIMBS], at: usize) -> Self {
        let mut v = [_mm512_setzero_si512(); LIMBS];
        for k in 0..LIMBS {
            debug_assert!(at + WIDTH <= columns[k].len());
            // SAFETY: `columns[k][at..at + 8]` is in bounds (caller's contract); the load is
            // unaligned.
            v[k] = unsafe { _mm512_loadu_si512(columns[k].as_ptr().add(at).cast()) };
        }
        Lanes(v)
    }

    /// The eight elements as arrays.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn to_elements(self) -> [LaneElement; WIDTH] {
        let mut columns = [[0u64; WIDTH]; LIMBS];
        for k in 0..LIMBS {
            // SAFETY: `columns[k]` is 8 u64 = 64 bytes; the store is unaligned.
            unsafe { _mm512_storeu_si512(columns[k].as_mut_ptr().cast(), self.0[k]) };
        }
        let mut out = [[0u64; LIMBS]; WIDTH];
        for (i, e) in out.iter_mut().enumerate() {
            for k in 0..LIMBS {
                e[k] = columns[k][i];
            }
        }
        out
    }

    /// Eight elements from arrays.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn from_elements(elements: &[LaneElement; WIDTH]) -> Self {
        let mut columns = [[0u64; WIDTH]; LIMBS];
        for (i, e) in elements.iter().enumerate() {
            for k in 0..LIMBS {
                columns[k][i] = e[k];
            }
        }
        let mut v = [_mm512_setzero_si512(); LIMBS];
        for k in 0..LIMBS {
            // SAFETY: `columns[k]` is 8 u64 = 64 bytes; the load is unaligned.
            v[k] = unsafe { _mm512_loadu_si512(columns[k].as_ptr().cast()) };
        }
        Lanes(v)
    }

    /// `a·b` (Montgomery product: `a·b·2^{-260}` of the stored values).
    ///
    /// # Safety
    /// AVX-512F and AVX-512 IFMA must be available.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn mul(self, b: Self) -> Self {
        let zero = _mm512_setzero_si512();
        let p = P.map(|d| _mm512_set1_epi64(d as i64));
        let p_inv = _mm512_set1_epi64(P_INV as i64);
        let a = self.0;
        // t[0..=5]: column sums of unnormalised 52-bit digits (each stays below 2^58).
        let mut t = [zero; LIMBS + 1];
        for bi in b.0 {
            for j in 0..LIMBS {
                t[j] = _mm512_madd52lo_epu64(t[j], a[j], bi);
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], a[j], bi);
            }
            // m uses only t_0's low 52 bits: t_0 + m·p_0 ≡ 0 (mod 2^52).
            let m = _mm512_madd52lo_epu64(zero, t[0], p_inv);
            for j in 0..LIMBS {
                t[j] = _mm512_madd52lo_epu64(t[j], m, p[j]);
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, p[j]);
            }
            let carry = _mm512_srli_epi64::<52>(t[0]);
            t = [_mm512_add_epi64(t[1], carry), t[2], t[3], t[4], t[5], zero];
        }
        let mask = _mm512_set1_epi64(DIGIT_MASK as i64);
        let mut r = [zero; LIMBS];
        let mut carry = zero;
        for j in 0..LIMBS {
            let v = _mm512_add_epi64(t[j], carry);
            carry = _mm512_srli_epi64::<52>(v);
            r[j] = _mm512_and_si512(v, mask);
        }
        // r < 2p: subtract p once where r ≥ p.
        // SAFETY: AVX-512F is available (this function's contract).
        unsafe { Lanes(r).reduce_once() }
    }

    /// `a²`.
    ///
    /// # Safety
    /// AVX-512F and AVX-512 IFMA must be available.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn square(self) -> Self {
        // SAFETY: AVX-512F and IFMA are available (this function's contract).
        unsafe { self.mul(self) }
    }

    /// `a − p` where `a ≥ p`, `a` otherwise, for normalised limbs and `a < 2p`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn reduce_once(self) -> Self {
        let zero = _mm512_setzero_si512();
        let mask = _mm512_set1_epi64(DIGIT_MASK as i64);
        let mut s = [zero; LIMBS];
        let mut borrow = zero;
        for j in 0..LIMBS {
            let x = _mm512_add_epi64(_mm512_sub_epi64(self.0[j], _mm512_set1_epi64(P[j] as i64)), borrow);
            borrow = _mm512_srai_epi64::<52>(x);
            s[j] = _mm512_and_si512(x, mask);
        }
        // No borrow out of the top digit: a ≥ p, take a − p.
        let ge = _mm512_cmpge_epi64_mask(borrow, zero);
        let mut out = [zero; LIMBS];
        for j in 0..LIMBS {
            out[j] = _mm512_mask_blend_epi64(ge, self.0[j], s[j]);
        }
        Lanes(out)
    }

    /// `a + b mod p`.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add(self, b: Self) -> Self {
        // a + b < 2p < 2^260: no carry out of the top digit.
        // SAFETY: AVX-512F is available (this function's contract).
        unsafe { Lanes(add_digits(self.0, b.0)).reduce_once() }
    }

    /// `a − b mod p`.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn sub(self, b: Self) -> Self {
        let zero = _mm512_setzero_si512();
        let mask = _mm512_set1_epi64(DIGIT_MASK as i64);
        let mut d = [zero; LIMBS];
        let mut borrow = zero;
        for j in 0..LIMBS {
            let x = _mm512_add_epi64(_mm512_sub_epi64(self.0[j], b.0[j]), borrow);
            borrow = _mm512_srai_epi64::<52>(x);
            d[j] = _mm512_and_si512(x, mask);
        }
        // A borrow out of the top digit: a < b, add p back.
        let negative = _mm512_cmplt_epi64_mask(borrow, zero);
        // SAFETY: AVX-512F is available (this function's contract).
        let s = unsafe { add_digits(d, P.map(|digit| _mm512_set1_epi64(digit as i64))) };
        let mut out = [zero; LIMBS];
        for j in 0..LIMBS {
            out[j] = _mm512_mask_blend_epi64(negative, d[j], s[j]);
        }
        Lanes(out)
    }
}

/// Digit-wise `a + b` with the carries propagated (normalised digits; a carry out of the top
/// digit is dropped, i.e. the sum is taken mod 2^260).
///
/// # Safety
/// AVX-512F must be available.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn add_digits(a: [__m512i; LIMBS], b: [__m512i; LIMBS]) -> [__m512i; LIMBS] {
    let mask = _mm512_set1_epi64(DIGIT_MASK as i64);
    let mut s = a;
    let mut carry = _mm512_setzero_si512();
    for j in 0..LIMBS {
        let x = _mm512_add_epi64(_mm512_add_epi64(a[j], b[j]), carry);
        carry = _mm512_srli_epi64::<52>(x);
        s[j] = _mm512_and_si512(x, mask);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{One, UniformRand, Zero};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    fn samples() -> Vec<Fq> {
        let mut rng = StdRng::seed_from_u64(5);
        let mut v: Vec<Fq> = (0..256).map(|_| Fq::rand(&mut rng)).collect();
        v.extend([Fq::zero(), Fq::one(), -Fq::one(), -Fq::from(2u64), Fq::from(u64::MAX), SIXTEEN.inverse().unwrap()]);
        while v.len() % WIDTH != 0 {
            v.push(Fq::rand(&mut rng));
        }
        v
    }

    #[test]
    fn conversion_round_trips_and_negation_matches() {
        for z in samples() {
            let e = from_ark(&z);
            assert!(e.iter().all(|&d| d <= DIGIT_MASK));
            assert_eq!(to_ark(&e), z);
            if !z.is_zero() {
                assert_eq!(to_ark(&negate(&e)), -z);
            }
        }
    }

    /// Products, squares and differences of eight lanes at a time against arkworks,
    /// including 0, 1, −1 and p − 2 (a difference that wraps).
    #[test]
    fn lane_arithmetic_matches_arkworks() {
        if !available() {
            eprintln!("skipping: this CPU has no AVX-512 IFMA");
            return;
        }
        let a = samples();
        let mut b = a.clone();
        b.rotate_left(3);
        for (ca, cb) in a.chunks(WIDTH).zip(b.chunks(WIDTH)) {
            let ea: [LaneElement; WIDTH] = std::array::from_fn(|i| from_ark(&ca[i]));
            let eb: [LaneElement; WIDTH] = std::array::from_fn(|i| from_ark(&cb[i]));
            // SAFETY: `available()` checked AVX-512F and IFMA above.
            let (prod, sq, diff, back, sum) = unsafe {
                let (la, lb) = (Lanes::from_elements(&ea), Lanes::from_elements(&eb));
                (
                    la.mul(lb).to_elements(),
                    la.square().to_elements(),
                    la.sub(lb).to_elements(),
                    lb.sub(la).to_elements(),
                    la.add(lb).to_elements(),
                )
            };
            for i in 0..WIDTH {
                assert_eq!(to_ark(&prod[i]), ca[i] * cb[i], "product {i}");
                assert_eq!(to_ark(&sq[i]), ca[i].square(), "square {i}");
                assert_eq!(to_ark(&diff[i]), ca[i] - cb[i], "difference {i}");
                assert_eq!(to_ark(&back[i]), cb[i] - ca[i], "difference {i}");
                assert_eq!(to_ark(&sum[i]), ca[i] + cb[i], "sum {i}");
            }
        }
    }
}
