//! Host ↔ device data layout: arkworks values as the 32-bit limbs the CUDA structs hold.
//!
//! arkworks keeps field elements in Montgomery form with R = 2^256 in four 64-bit limbs; the CUDA
//! `Fp` struct keeps the same number in eight 32-bit limbs (least significant first), so moving a
//! value is a reinterpretation of limbs, not a conversion. Points: `g1_affine_t` is (x, y) with
//! x = y = 0 for infinity; `g1_xyzz_t` is (X, Y, ZZ, ZZZ), infinity when ZZ = 0.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, Field, Zero};

use crate::{Fr, G1Affine, G1Projective};

/// Words per field element.
pub const FIELD_WORDS: usize = 8;
/// Words per affine G1 point.
pub const AFFINE_WORDS: usize = 16;
/// Words per XYZZ G1 point.
pub const XYZZ_WORDS: usize = 32;

type Fq = ark_bn254::Fq;

fn push_bigint(out: &mut Vec<u32>, b: &BigInt<4>) {
    for w in b.0 {
        out.push(w as u32);
        out.push((w >> 32) as u32);
    }
}

fn bigint(words: &[u32]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        *l = u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
    }
    BigInt::new(limbs)
}

/// Appends the Montgomery limbs of scalars.
pub fn push_scalars(out: &mut Vec<u32>, scalars: &[Fr]) {
    out.reserve(scalars.len() * FIELD_WORDS);
    for s in scalars {
        push_bigint(out, &s.0);
    }
}

/// Scalars back from Montgomery limbs (`words.len()` a multiple of 8).
pub fn scalars_from_words(words: &[u32]) -> Vec<Fr> {
    words.chunks_exact(FIELD_WORDS).map(|w| Fr::new_unchecked(bigint(w))).collect()
}

/// Base-field elements back from Montgomery limbs.
pub fn fq_from_words(words: &[u32]) -> Fq {
    Fq::new_unchecked(bigint(words))
}

/// Appends an element of the base field.
pub fn push_fq(out: &mut Vec<u32>, x: &Fq) {
    push_bigint(out, &x.0);
}

/// Appends affine points (infinity as x = y = 0).
pub fn push_affine(out: &mut Vec<u32>, points: &[G1Affine]) {
    out.reserve(points.len() * AFFINE_WORDS);
    for p in points {
        if p.is_zero() {
            out.extend_from_slice(&[0u32; AFFINE_WORDS]);
        } else {
            push_bigint(out, &p.x.0);
            push_bigint(out, &p.y.0);
        }
    }
}

/// An XYZZ point (32 words) as an arkworks point. Jacobian (X', Y', Z') with Z' = ZZ·ZZZ,
/// X' = X·ZZ·ZZZ², Y' = Y·ZZ³·ZZZ² represents the same affine point (X/ZZ, Y/ZZZ) without an
/// inversion: X'/Z'² = X/ZZ and Y'/Z'³ = Y/ZZZ.
pub fn xyzz_to_projective(words: &[u32]) -> G1Projective {
    let x = fq_from_words(&words[0..8]);
    let y = fq_from_words(&words[8..16]);
    let zz = fq_from_words(&words[16..24]);
    let zzz = fq_from_words(&words[24..32]);
    if zz.is_zero() {
        return G1Projective::zero();
    }
    let zzz2 = zzz.square();
    let z = zz * zzz;
    G1Projective::new_unchecked(x * zz * zzz2, y * zz.square() * zz * zzz2, z)
}

/// An arkworks point as XYZZ words (ZZ = Z², ZZZ = Z³ of the Jacobian form).
pub fn projective_to_xyzz(p: &G1Projective) -> Vec<u32> {
    let mut out = Vec::with_capacity(XYZZ_WORDS);
    if p.is_zero() {
        out.resize(XYZZ_WORDS, 0);
        return out;
    }
    let zz = p.z.square();
    push_fq(&mut out, &p.x);
    push_fq(&mut out, &p.y);
    push_fq(&mut out, &zz);
    push_fq(&mut out, &(zz * p.z));
    out
}

/// Affine words back to an arkworks point.
pub fn affine_from_words(words: &[u32]) -> G1Affine {
    let x = fq_from_words(&words[0..8]);
    let y = fq_from_words(&words[8..16]);
    if x.is_zero() && y.is_zero() {
        G1Affine::identity()
    } else {
        G1Affine::new_unchecked(x, y)
    }
}

/// Normalises for comparisons in tests and callers.
pub fn to_affine(p: &G1Projective) -> G1Affine {
    p.into_affine()
}
