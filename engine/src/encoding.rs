//! Field elements and curve points in the encodings circom and snarkjs use.
//!
//! Binary (`.zkey`, `.wtns`, `.r1cs`): 32-byte little-endian integers. Zkey coordinates are in
//! Montgomery form (`x·R mod q`, `R = 2^256`), which is exactly arkworks' internal form, so they
//! load without a multiplication; affine points are `x‖y` (G2: `x.c0‖x.c1‖y.c0‖y.c1`) and the
//! point at infinity is all zeros. Witness and r1cs values are canonical (not Montgomery).
//!
//! JSON (snarkjs): decimal strings; points projective `[x, y, z]` with `z = "1"` (or `"0"` for
//! infinity); G2 coordinates `[c0, c1]`.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, PrimeField, Zero};
use num_bigint::BigUint;

/// Bytes of one field element of either BN254 field.
pub const N8: usize = 32;
/// Bytes of an affine G1 point.
pub const G1_BYTES: usize = 2 * N8;
/// Bytes of an affine G2 point.
pub const G2_BYTES: usize = 4 * N8;

/// Little-endian 32 bytes → integer limbs. `bytes.len()` must be 32.
pub fn bigint_from_le(bytes: &[u8]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(a);
    }
    BigInt(limbs)
}

/// An integer below the field's modulus, read from 32 LE bytes; `None` if `≥ modulus`.
fn checked_bigint<F: PrimeField<BigInt = BigInt<4>>>(bytes: &[u8]) -> Option<BigInt<4>> {
    let b = bigint_from_le(bytes);
    (b < F::MODULUS).then_some(b)
}

/// A canonical (non-Montgomery) field element; `None` if the integer is `≥ modulus`.
pub fn field_from_canonical_le<F: PrimeField<BigInt = BigInt<4>>>(bytes: &[u8]) -> Option<F> {
    F::from_bigint(checked_bigint::<F>(bytes)?)
}

/// A field element stored in Montgomery form; `None` if the integer is `≥ modulus`.
pub fn field_from_montgomery_le<F: PrimeField<BigInt = BigInt<4>>>(bytes: &[u8]) -> Option<F>
where
    F: MontgomeryRepr,
{
    Some(F::from_montgomery(checked_bigint::<F>(bytes)?))
}

/// Construction from the Montgomery representation, which arkworks keeps internally.
pub trait MontgomeryRepr {
    /// The element whose Montgomery representation is `b` (`b < modulus`).
    fn from_montgomery(b: BigInt<4>) -> Self;
    /// The Montgomery representation.
    fn to_montgomery(&self) -> BigInt<4>;
}

impl MontgomeryRepr for Fq {
    fn from_montgomery(b: BigInt<4>) -> Self {
        Fq::new_unchecked(b)
    }
    fn to_montgomery(&self) -> BigInt<4> {
        self.0
    }
}

impl MontgomeryRepr for Fr {
    fn from_montgomery(b: BigInt<4>) -> Self {
        Fr::new_unchecked(b)
    }
    fn to_montgomery(&self) -> BigInt<4> {
        self.0
    }
}

/// Why a point failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointError {
    /// A coordinate is not below the base-field modulus.
    CoordinateOutOfRange,
    /// The coordinates do not satisfy the curve equation.
    NotOnCurve,
    /// On the curve but outside the prime-order subgroup.
    NotInSubgroup,
}

impl std::fmt::Display for PointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PointError::CoordinateOutOfRange => "coordinate is not below the field modulus",
            PointError::NotOnCurve => "point is not on the curve",
            PointError::NotInSubgroup => "point is not in the prime-order subgroup",
        })
    }
}

fn fq_mont(bytes: &[u8]) -> Result<Fq, PointError> {
    field_from_montgomery_le::<Fq>(bytes).ok_or(PointError::CoordinateOutOfRange)
}

/// A G1 point from 64 bytes of Montgomery `x‖y`; all zeros is infinity. BN254's G1 has
/// cofactor 1, so on-curve implies in-subgroup.
pub fn g1_from_zkey(bytes: &[u8]) -> Result<G1Affine, PointError> {
    let x = fq_mont(&bytes[..N8])?;
    let y = fq_mont(&bytes[N8..2 * N8])?;
    if x.is_zero() && y.is_zero() {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    Ok(p)
}

/// A G2 point from 128 bytes of Montgomery `x.c0‖x.c1‖y.c0‖y.c1`; all zeros is infinity.
/// With `check_subgroup`, also rejects points outside the order-r subgroup (costly; used for
/// verifying-key points, where a bad point would make forged proofs verify).
pub fn g2_from_zkey(bytes: &[u8], check_subgroup: bool) -> Result<G2Affine, PointError> {
    let x = Fq2::new(fq_mont(&bytes[..N8])?, fq_mont(&bytes[N8..2 * N8])?);
    let y = Fq2::new(fq_mont(&bytes[2 * N8..3 * N8])?, fq_mont(&bytes[3 * N8..4 * N8])?);
    if x.is_zero() && y.is_zero() {
        return Ok(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    if check_subgroup && !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointError::NotInSubgroup);
    }
    Ok(p)
}

/// The 32-byte little-endian Montgomery representation of a field element (how zkeys store
/// coordinates). The inverse of [`field_from_montgomery_le`].
pub fn field_to_montgomery_le<F: MontgomeryRepr>(x: &F) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.to_montgomery().to_bytes_le());
    out
}

/// A G1 point as a zkey stores it: Montgomery `x‖y`, infinity all zeros. The inverse of
/// [`g1_from_zkey`].
pub fn g1_to_zkey(p: &G1Affine) -> [u8; G1_BYTES] {
    let mut out = [0u8; G1_BYTES];
    if let Some((x, y)) = p.xy() {
        out[..N8].copy_from_slice(&field_to_montgomery_le(&x));
        out[N8..].copy_from_slice(&field_to_montgomery_le(&y));
    }
    out
}

/// A G2 point as a zkey stores it: Montgomery `x.c0‖x.c1‖y.c0‖y.c1`, infinity all zeros. The
/// inverse of [`g2_from_zkey`].
pub fn g2_to_zkey(p: &G2Affine) -> [u8; G2_BYTES] {
    let mut out = [0u8; G2_BYTES];
    if let Some((x, y)) = p.xy() {
        for (k, c) in [x.c0, x.c1, y.c0, y.c1].iter().enumerate() {
            out[k * N8..(k + 1) * N8].copy_from_slice(&field_to_montgomery_le(c));
        }
    }
    out
}

/// Canonical 32-byte little-endian encoding of a field element.
pub fn field_to_canonical_le<F: PrimeField<BigInt = BigInt<4>>>(x: &F) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// Decimal string of a field element's canonical value.
pub fn field_to_decimal<F: PrimeField>(x: &F) -> String {
    let n: BigUint = (*x).into();
    n.to_string()
}

/// Why a decimal string failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecimalError {
    /// Not a string of decimal digits.
    NotDecimal,
    /// The value is not below the field modulus.
    OutOfRange,
}

impl std::fmt::Display for DecimalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecimalError::NotDecimal => "not a decimal integer string",
            DecimalError::OutOfRange => "value is not below the field modulus",
        })
    }
}

/// A field element from a decimal string; values `≥ modulus` are rejected, not reduced.
pub fn field_from_decimal<F: PrimeField>(s: &str) -> Result<F, DecimalError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 100 {
        return Err(DecimalError::NotDecimal);
    }
    let n = BigUint::parse_bytes(s.as_bytes(), 10).ok_or(DecimalError::NotDecimal)?;
    let modulus: BigUint = F::MODULUS.into();
    if n >= modulus {
        return Err(DecimalError::OutOfRange);
    }
    // In range, so the conversion does not reduce.
    Ok(F::from(n))
}

/// The prime of a circom file header, as a little-endian byte string, compared with a field.
pub fn prime_matches<F: PrimeField>(le_bytes: &[u8]) -> bool {
    BigUint::from_bytes_le(le_bytes) == F::MODULUS.into()
}

/// A short human description of a prime found in a header (`bn128 q`, or its decimal value).
pub fn describe_prime(le_bytes: &[u8]) -> String {
    let p = BigUint::from_bytes_le(le_bytes);
    if p == Fq::MODULUS.into() {
        "BN254 base field q".into()
    } else if p == Fr::MODULUS.into() {
        "BN254 scalar field r".into()
    } else if p.bits() > 384 {
        // Past BLS12-381's 381 bits: most likely a corrupt header; its digits would swamp
        // the message.
        format!("a {}-bit number", p.bits())
    } else if p.bits() > 0 {
        format!("prime {p} ({} bits)", p.bits())
    } else {
        "prime 0".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::One;

    #[test]
    fn decimal_round_trip_and_range() {
        let x = -Fr::one();
        let s = field_to_decimal(&x);
        assert_eq!(s, "21888242871839275222246405745257275088548364400416034343698204186575808495616");
        assert_eq!(field_from_decimal::<Fr>(&s), Ok(x));
        let r = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
        assert_eq!(field_from_decimal::<Fr>(r), Err(DecimalError::OutOfRange));
        assert_eq!(field_from_decimal::<Fr>("12a"), Err(DecimalError::NotDecimal));
        assert_eq!(field_from_decimal::<Fr>(""), Err(DecimalError::NotDecimal));
        assert_eq!(field_from_decimal::<Fr>("-1"), Err(DecimalError::NotDecimal));
    }

    #[test]
    fn g1_montgomery_round_trip_and_rejections() {
        let p = (ark_bn254::G1Projective::generator() * Fr::from(7u64)).into_affine();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&p.x.to_montgomery().to_bytes_le());
        bytes.extend_from_slice(&p.y.to_montgomery().to_bytes_le());
        assert_eq!(g1_from_zkey(&bytes), Ok(p));
        assert_eq!(g1_from_zkey(&[0u8; 64]), Ok(G1Affine::zero()));
        bytes[40] ^= 1;
        assert_eq!(g1_from_zkey(&bytes), Err(PointError::NotOnCurve));
        assert_eq!(g1_from_zkey(&[0xffu8; 64]), Err(PointError::CoordinateOutOfRange));
    }

    #[test]
    fn primes_are_recognised() {
        assert!(prime_matches::<Fr>(&field_to_canonical_le(&Fr::zero())[..0].iter().copied().chain(
            Fr::MODULUS.to_bytes_le()
        ).collect::<Vec<_>>()));
        assert_eq!(describe_prime(&Fq::MODULUS.to_bytes_le()), "BN254 base field q");
    }
}
