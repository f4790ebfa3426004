//! WGSL composition: the embedded source layers, the constants generated from arkworks' BN254
//! parameters, and one table of which layers each kernel module needs.
//!
//! Layers (files under `wgsl/`, embedded with `include_str!`, so a deployed binary needs no
//! shader files):
//! - `bigint.wgsl` — 256-bit limbs, carries, borrows;
//! - `bigint_mul_u64.wgsl` | `bigint_mul_u32.wgsl` — the 32×32→64 multiply-accumulate, fast
//!   (`SHADER_INT64`) or portable, chosen by [`Arithmetic`];
//! - `field.wgsl` — Montgomery arithmetic, instantiated as `fr_` and `fq_`; `fq2.wgsl`;
//! - `curve.wgsl` — complete projective formulas, instantiated as `g1_` (over `fq_`) and `g2_`
//!   (over `fq2_`);
//! - stage files: `ntt.wgsl`, `msm_digits.wgsl`, `msm_scan.wgsl`, `msm_buckets.wgsl`,
//!   `msm_reduce.wgsl` (and `field_test.wgsl` for the unit tests).
//!
//! Constants (moduli, `−p⁻¹ mod 2³²`, Montgomery one, `3b` of each curve) are computed here from
//! `ark_bn254`'s parameters, never typed by hand.

use ark_bn254::{Fq, Fq2};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ff::{BigInt, BigInteger, Fp, FpConfig, One};

/// arkworks' parameter types behind `Fr` and `Fq`.
type FrP = ark_ff::MontBackend<ark_bn254::FrConfig, 4>;
type FqP = ark_ff::MontBackend<ark_bn254::FqConfig, 4>;

const BIGINT: &str = include_str!("wgsl/bigint.wgsl");
const MUL_U64: &str = include_str!("wgsl/bigint_mul_u64.wgsl");
const MUL_U32: &str = include_str!("wgsl/bigint_mul_u32.wgsl");
const FIELD: &str = include_str!("wgsl/field.wgsl");
const FQ2: &str = include_str!("wgsl/fq2.wgsl");
const CURVE: &str = include_str!("wgsl/curve.wgsl");
const DISPATCH: &str = include_str!("wgsl/dispatch.wgsl");
const NTT: &str = include_str!("wgsl/ntt.wgsl");
const MSM_DIGITS: &str = include_str!("wgsl/msm_digits.wgsl");
const MSM_SCAN: &str = include_str!("wgsl/msm_scan.wgsl");
const MSM_BUCKETS: &str = include_str!("wgsl/msm_buckets.wgsl");
const MSM_REDUCE: &str = include_str!("wgsl/msm_reduce.wgsl");
#[cfg(test)]
const FIELD_TEST: &str = include_str!("wgsl/field_test.wgsl");
#[cfg(test)]
const LOOP_PROBE_TEST: &str = "
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> iterations: vec4<u32>;

@compute @workgroup_size(1)
fn probe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    _ = thread_index(gid, nwg);
    var done = 0u;
    for (var i = 0u; i < iterations.x + ROLL; i++) {
        done += 1u;
    }
    out[0] = done;
    out[1] = select(0u, 1u, loop_limit_hit());
}
";

/// Threads per workgroup of every element-wise kernel (within WebGPU's default limit of 256).
pub(crate) const WORKGROUP_SIZE: u32 = 64;

/// Which 32×32→64-bit multiply the shaders use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arithmetic {
    /// WGSL `u64` products: needs the adapter feature `SHADER_INT64` (Vulkan, Metal, DX12).
    Int64,
    /// Only 32-bit integers (16-bit-half products): runs on every WebGPU implementation,
    /// browsers included.
    Portable32,
}

impl Arithmetic {
    /// Name used in device descriptions and benchmark labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Arithmetic::Int64 => "int64",
            Arithmetic::Portable32 => "u32",
        }
    }
}

/// The elliptic-curve groups the MSM kernels are instantiated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Group {
    G1,
    G2,
}

impl Group {
    /// u32 words per coordinate (Fq: 8, Fq2: 16).
    pub(crate) fn coord_words(self) -> usize {
        match self {
            Group::G1 => 8,
            Group::G2 => 16,
        }
    }
}

/// A kernel module: one WGSL compilation unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Module {
    Ntt,
    MsmDigits,
    MsmScan,
    MsmBuckets(Group),
    MsmReduce(Group),
    #[cfg(test)]
    FieldTest(TestField),
    /// A counted loop and `loop_limit_hit` (tests of the CPU-adapter loop limit).
    #[cfg(test)]
    LoopProbeTest,
}

/// Which prime field the arithmetic tests exercise.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TestField {
    Fr,
    Fq,
}

/// How the shader compiler should treat the big loops (`ROLL` in the WGSL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unroll {
    /// Constant loop bounds: the driver unrolls (GPUs, where unrolled limb loops keep values in
    /// registers).
    Unrolled,
    /// Opaque loop bounds around the field multiply: small code that compiles in seconds on
    /// CPU adapters (lavapipe), where full unrolling took minutes per pipeline.
    Compact,
}

/// The full WGSL source of `module` for `arith`.
pub(crate) fn source(module: Module, arith: Arithmetic, unroll: Unroll) -> String {
    let s = compose(module, arith);
    s.replace("ROLL", if unroll == Unroll::Compact { "opaque_zero" } else { "0u" })
}

fn compose(module: Module, arith: Arithmetic) -> String {
    let mut s = String::new();
    s.push_str(&format!("const WG_SIZE: u32 = {WORKGROUP_SIZE}u;\n"));
    s.push_str(BIGINT);
    s.push_str(match arith {
        Arithmetic::Int64 => MUL_U64,
        Arithmetic::Portable32 => MUL_U32,
    });
    s.push_str(DISPATCH);
    match module {
        Module::Ntt => {
            s.push_str(&prime_field::<FrP>("fr_"));
            s.push_str(NTT);
        }
        Module::MsmDigits => {
            s.push_str(&prime_field::<FrP>("fr_"));
            s.push_str(MSM_DIGITS);
        }
        Module::MsmScan => s.push_str(MSM_SCAN),
        Module::MsmBuckets(g) => {
            s.push_str(&curve(g));
            s.push_str(&instantiate_curve(MSM_BUCKETS, g));
        }
        Module::MsmReduce(g) => {
            s.push_str(&curve(g));
            s.push_str(&instantiate_curve(MSM_REDUCE, g));
        }
        #[cfg(test)]
        Module::FieldTest(f) => {
            let prefix = match f {
                TestField::Fr => {
                    s.push_str(&prime_field::<FrP>("fr_"));
                    "fr_"
                }
                TestField::Fq => {
                    s.push_str(&prime_field::<FqP>("fq_"));
                    "fq_"
                }
            };
            s.push_str(&FIELD_TEST.replace("TF_", prefix));
        }
        #[cfg(test)]
        Module::LoopProbeTest => s.push_str(LOOP_PROBE_TEST),

    }
    s
}

/// The coordinate field(s) and curve layer for `g`.
fn curve(g: Group) -> String {
    let mut s = prime_field::<FqP>("fq_");
    if g == Group::G2 {
        s.push_str(FQ2);
    }
    let b3 = match g {
        Group::G1 => {
            let b3 = ark_bn254::g1::Config::COEFF_B * Fq::from(3u64);
            format!("const g1_B3: Big = {};\n", big_literal(&b3))
        }
        Group::G2 => {
            let b3 = ark_bn254::g2::Config::COEFF_B * Fq2::from(3u64);
            format!("const g2_B3: Fq2 = Fq2({}, {});\n", big_literal(&b3.c0), big_literal(&b3.c1))
        }
    };
    s.push_str(&b3);
    s.push_str(&instantiate_curve(CURVE, g));
    s
}

/// Replaces the curve template's placeholders (`CC_`, `CF`, `cf_`, `CF_WORDS`) for `g`.
fn instantiate_curve(template: &str, g: Group) -> String {
    let (prefix, field_ty, field_fn) = match g {
        Group::G1 => ("g1_", "Big", "fq_"),
        Group::G2 => ("g2_", "Fq2", "fq2_"),
    };
    template
        .replace("CF_WORDS", &format!("{}u", g.coord_words()))
        .replace("CC_", prefix)
        .replace("cf_", field_fn)
        .replace("CF", field_ty)
}

/// `field.wgsl` instantiated for `F` under `prefix`, with its generated constants.
fn prime_field<P: FpConfig<4>>(prefix: &str) -> String {
    let modulus = limbs_u32(&P::MODULUS.to_bytes_le());
    let inv = neg_inverse_mod_2_32(modulus[0]);
    let one = Fp::<P, 4>::one();
    format!(
        "const {prefix}P: Big = {};\nconst {prefix}INV: u32 = {inv:#010x}u;\nconst {prefix}ONE: Big = {};\n{}",
        limbs_literal(&modulus),
        big_literal(&one),
        FIELD.replace("FF_", prefix)
    )
}

/// `−p⁻¹ mod 2³²` for odd `p0` (the low limb of p), by Newton–Hensel lifting: each step
/// `x ← x(2 − p0·x)` doubles the number of correct low bits (Dussé, Kaliski, "A cryptographic
/// library for the Motorola DSP56000", EUROCRYPT '90).
pub(crate) fn neg_inverse_mod_2_32(p0: u32) -> u32 {
    let mut x: u32 = 1;
    for _ in 0..5 {
        x = x.wrapping_mul(2u32.wrapping_sub(p0.wrapping_mul(x)));
    }
    x.wrapping_neg()
}

/// The Montgomery-form limbs of a field element as a WGSL `Big(...)` literal.
fn big_literal<P: FpConfig<4>>(x: &Fp<P, 4>) -> String {
    limbs_literal(&montgomery_words(x))
}

fn limbs_literal(limbs: &[u32; 8]) -> String {
    let parts: Vec<String> = limbs.iter().map(|l| format!("{l:#010x}u")).collect();
    format!("Big({})", parts.join(", "))
}

/// The internal (Montgomery) representation of `x` as eight little-endian u32 limbs — exactly
/// what the shaders compute with. arkworks keeps every `Fp` in Montgomery form (`Fp.0`).
pub(crate) fn montgomery_words<P: FpConfig<4>>(x: &Fp<P, 4>) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (i, limb) in x.0 .0.iter().enumerate() {
        out[2 * i] = *limb as u32;
        out[2 * i + 1] = (*limb >> 32) as u32;
    }
    out
}

/// The inverse of [`montgomery_words`]. The caller guarantees the value is reduced (< p), as
/// every shader output is.
pub(crate) fn from_montgomery_words<P: FpConfig<4>>(w: &[u32]) -> Fp<P, 4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from(w[2 * i]) | (u64::from(w[2 * i + 1]) << 32);
    }
    Fp(BigInt(limbs), std::marker::PhantomData)
}

fn limbs_u32(bytes_le: &[u8]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (i, chunk) in bytes_le.chunks(4).take(8).enumerate() {
        let mut b = [0u8; 4];
        b[..chunk.len()].copy_from_slice(chunk);
        out[i] = u32::from_le_bytes(b);
    }
    out
}

/// Checks the assumption `fq2.wgsl` is written for: `u² = −1` in BN254's Fq2.
#[cfg(test)]
fn fq2_nonresidue_is_minus_one() -> bool {
    <ark_bn254::Fq2Config as ark_ff::Fp2Config>::NONRESIDUE == -Fq::one()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use ark_ff::PrimeField;

    #[test]
    fn neg_inverse_is_the_montgomery_constant() {
        for p in [Fr::MODULUS, Fq::MODULUS] {
            let p0 = p.0[0] as u32;
            assert_eq!(p0.wrapping_mul(neg_inverse_mod_2_32(p0)), u32::MAX, "p·(−p⁻¹) ≡ −1 mod 2³²");
        }
        // And it agrees with arkworks' 64-bit constant on its low half.
        let inv64 = <ark_bn254::FrConfig as ark_ff::fields::MontConfig<4>>::INV;
        assert_eq!(neg_inverse_mod_2_32(Fr::MODULUS.0[0] as u32), inv64 as u32);
    }

    #[test]
    fn montgomery_words_are_arkworks_internal_limbs() {
        let x = Fr::from(123456789u64);
        let words = montgomery_words(&x);
        let raw = x.0 .0; // arkworks keeps elements in Montgomery form
        for (i, limb) in raw.iter().enumerate() {
            assert_eq!(words[2 * i], *limb as u32);
            assert_eq!(words[2 * i + 1], (*limb >> 32) as u32);
        }
        assert!(fq2_nonresidue_is_minus_one());
        assert!(Fq::MODULUS.num_bits() <= 254 && Fr::MODULUS.num_bits() <= 254, "one conditional subtraction suffices");
    }
}
