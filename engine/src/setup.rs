//! **INSECURE** development Groth16 setup: `.r1cs` → `.zkey` in seconds, for tests and
//! benchmarks only.
//!
//! A real setup (a powers-of-tau ceremony, then `snarkjs groth16 setup` and phase-2
//! contributions) makes sure nobody knows the toxic waste `τ, α, β, γ, δ`. Here one process
//! draws it — from the OS CSPRNG ([`ToxicWaste::from_os`], then forgotten) or, worse, from a
//! caller's seed ([`ToxicWaste::from_seed`], reproducible by anyone holding the seed) — and
//! evaluates every key element directly. Whoever knows the toxic waste can forge proofs of
//! false statements. The keys are otherwise exactly what snarkjs would produce from a ptau
//! with that `τ` and a contribution with that `δ`: `snarkjs groth16 prove` accepts them,
//! `snarkjs zkey export verificationkey` exports them, and proofs verify with snarkjs and zkq.
//!
//! ## The math (Groth 2016 §3.2, in the circom QAP of snarkjs `src/zkey_new.js`)
//! With `m` constraints, `nPublic = nPubOut + nPubIn`, domain `n = 2^⌈log₂(m + nPublic + 1)⌉`
//! (snarkjs's `cirPower`), `ω` a primitive n-th root of unity and `ω₂ₙ` a primitive 2n-th
//! root with `ω₂ₙ² = ω`:
//! - The A matrix gets, after the circuit's rows, the public-input rows
//!   `A[m + k][k] = 1` for `k = 0..=nPublic` (as `zkey_new.js` does; they make the `u_k`,
//!   `k ≤ nPublic`, linearly independent, which Groth16's soundness needs).
//! - Lagrange basis of `⟨ω⟩` at `τ`: `L_j(τ) = (τⁿ − 1)/n · ωʲ/(τ − ωʲ)` (one batch
//!   inversion). `u_i(τ) = Σ_j A[j][i]·L_j(τ)`, `v_i` likewise with B, `w_i` with C.
//! - Section 3, `IC_i = (β u_i + α v_i + w_i)/γ · G1` for `i ≤ nPublic`;
//!   section 8, `C_i = (β u_i + α v_i + w_i)/δ · G1` for the private `i`;
//!   sections 5, 6, 7, `A_i = u_i·G1`, `B1_i = v_i·G1`, `B2_i = v_i·G2` for every `i`.
//! - Section 9, `H_j = ℓ_{2j+1}(τ)/δ · G1` for `j < n`, with `ℓ_k(τ) = (τ²ⁿ − 1)/(2n) ·
//!   ω₂ₙᵏ/(τ − ω₂ₙᵏ)` the Lagrange basis of the 2n-th roots (the odd half of a prepared
//!   ptau's section 12, which is what `zkey_new.js` copies). Why: the prover's
//!   `h_j = a·b − c` at `x_j = ω₂ₙ^{2j+1}` equals `H(x_j)·t(x_j) = −2·H(x_j)` because
//!   `x_jⁿ = −1`; and `ℓ_{2j+1}(X) = −t(X)/2 · L'_j(X)` with `L'_j` the Lagrange basis of the
//!   odd coset `{x : xⁿ = −1}`, so `Σ_j h_j·ℓ_{2j+1}(τ)/δ = t(τ)·Σ_j H(x_j)L'_j(τ)/δ =
//!   H(τ)t(τ)/δ` (`deg H < n`).
//! - Section 4 holds the A and B entries in the order `zkey_new.js` writes them (constraint by
//!   constraint, A's terms then B's, then the public-input rows), each value stored as
//!   `v·R² mod r` (`R = 2²⁵⁶`) — the inverse of [`crate::zkey`]'s reader. This section does
//!   not depend on the toxic waste and is byte-identical to snarkjs's.
//! - Section 10 (MPC parameters, snarkjs `zkey_utils.js` `writeMPCParams`): a 64-byte
//!   circuit hash, then `u32` contribution count 0. The hash is not checked when proving or
//!   exporting; [`DEV_CS_HASH`] marks the key as a dev key instead.
//!
//! Every point is a fixed-base multiple of a generator: one window table per group
//! ([`ark_ec::scalar_mul::BatchMulPreprocessing`]) serves every section, and the
//! multiplications run on rayon.

use std::path::Path;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::PrimeGroup;
use ark_ff::{batch_inversion, BigInteger, FftField, Field, One, PrimeField, Zero};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::encoding::{self, G1_BYTES, G2_BYTES, N8};
use crate::r1cs::R1cs;
use crate::zkey::{section, PROTOCOL_GROTH16};
use crate::EngineError;

/// Largest domain a dev setup makes: `H` here needs the 2n-th roots of unity and BN254's
/// scalar field has two-adicity 28. (snarkjs reaches 2^28 with a special case that reads the
/// H points off a power-28 ptau; circuits that large are not a dev-setup use case.)
pub const MAX_LOG_DOMAIN: u32 = 27;

/// What section 10 holds in place of snarkjs's blake2b circuit hash: an ASCII marker, zero
/// padded to 64 bytes, so a dev key can be recognised by its bytes.
pub const DEV_CS_HASH: [u8; 64] = {
    let marker = b"zkq dev setup: INSECURE, toxic waste known; tests only";
    let mut out = [0u8; 64];
    let mut i = 0;
    while i < marker.len() {
        out[i] = marker[i];
        i += 1;
    }
    out
};

const ERR_SOURCE: &str = "dev setup";

/// The Groth16 toxic waste. Anyone who knows it can forge proofs for keys made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToxicWaste {
    /// `τ`, the evaluation point.
    pub tau: Fr,
    /// `α`.
    pub alpha: Fr,
    /// `β`.
    pub beta: Fr,
    /// `γ`, which divides the IC (public) part.
    pub gamma: Fr,
    /// `δ`, which divides the private and H parts.
    pub delta: Fr,
}

impl ToxicWaste {
    /// Derives the toxic waste from `seed` — reproducible, so **anyone holding the seed can
    /// forge proofs**. Each value is `SHA-256(tag ‖ len(seed) ‖ seed ‖ name ‖ counter ‖ k)` for
    /// `k = 0, 1`, 512 bits reduced modulo r; the counter skips the (negligible) zero.
    pub fn from_seed(seed: &[u8]) -> Self {
        let derive = |name: &str| -> Fr {
            for counter in 0u32.. {
                let mut wide = [0u8; 64];
                for (k, half) in wide.chunks_exact_mut(32).enumerate() {
                    let mut h = Sha256::new();
                    h.update(b"zkq dev setup toxic waste v1\0");
                    h.update((seed.len() as u64).to_le_bytes());
                    h.update(seed);
                    h.update(name.as_bytes());
                    h.update(counter.to_le_bytes());
                    h.update([k as u8]);
                    half.copy_from_slice(&h.finalize());
                }
                let x = Fr::from_le_bytes_mod_order(&wide);
                if !x.is_zero() {
                    return x;
                }
            }
            unreachable!("2^32 consecutive SHA-256 outputs reduced to zero")
        };
        Self { tau: derive("tau"), alpha: derive("alpha"), beta: derive("beta"), gamma: derive("gamma"), delta: derive("delta") }
    }

    /// Derives the toxic waste from a seed written in hex (`0x` prefix optional). Same caveat
    /// as [`ToxicWaste::from_seed`].
    pub fn from_hex_seed(hex_seed: &str) -> Result<Self, EngineError> {
        let digits = hex_seed.strip_prefix("0x").unwrap_or(hex_seed);
        if digits.is_empty() {
            return Err(EngineError::format("--seed", "the seed is empty (give at least one hex byte)"));
        }
        let seed = hex::decode(digits).map_err(|e| EngineError::format("--seed", format!("not a hex string: {e}")))?;
        Ok(Self::from_seed(&seed))
    }

    /// Fresh toxic waste from a 256-bit seed drawn from the OS CSPRNG (`getrandom`) and then
    /// dropped. Still a one-party setup: the process that ran it could have kept the values.
    pub fn from_os() -> Result<Self, EngineError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| {
            EngineError::Kernel(zkq_kernels::KernelError::Unavailable {
                backend: "os-rng".into(),
                reason: format!("the OS random number generator failed: {e}"),
            })
        })?;
        Ok(Self::from_seed(&seed))
    }
}

/// The shape of a dev-setup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupShape {
    /// Variables, the constant 1 included (zkey nVars = r1cs nWires).
    pub n_vars: usize,
    /// Public signals (outputs then public inputs).
    pub n_public: usize,
    /// Circuit constraints.
    pub n_constraints: usize,
    /// Domain size `n`.
    pub domain_size: usize,
}

impl SetupShape {
    /// The shape of `r1cs`'s key, checked: `n = 2^⌈log₂(m + nPublic + 1)⌉ ≤ 2^27` (at least 2), sizes fit
    /// the zkey's `u32` fields.
    pub fn of(r1cs: &R1cs) -> Result<Self, EngineError> {
        let n_public = r1cs.n_public();
        let n_vars = r1cs.n_wires;
        let m = r1cs.constraints.len();
        if n_public + 1 > n_vars {
            return Err(EngineError::format(ERR_SOURCE, format!("nPublic {n_public} + 1 exceeds nWires {n_vars}")));
        }
        // snarkjs: 2^(⌊log₂(m + nPublic)⌋ + 1), at least 2.
        let rows = m + n_public + 1;
        let domain_size = rows.max(2).checked_next_power_of_two().filter(|d| d.trailing_zeros() <= MAX_LOG_DOMAIN).ok_or_else(|| {
            EngineError::format(
                ERR_SOURCE,
                format!("{m} constraints + {n_public} public signals + 1 need a domain above 2^{MAX_LOG_DOMAIN}"),
            )
        })?;
        if u32::try_from(n_vars).is_err() {
            return Err(EngineError::format(ERR_SOURCE, format!("nWires {n_vars} does not fit in 32 bits")));
        }
        Ok(Self { n_vars, n_public, n_constraints: m, domain_size })
    }
}

/// One A or B entry: `(matrix, constraint, signal, value)`.
type Entry = (u32, u32, u32, Fr);

/// The QAP polynomials of every variable at `τ`, and the section-4 entries.
struct QapAtTau {
    /// `u_i(τ)` (matrix A).
    u: Vec<Fr>,
    /// `v_i(τ)` (matrix B).
    v: Vec<Fr>,
    /// `w_i(τ)` (matrix C).
    w: Vec<Fr>,
    /// The A and B entries, public-input rows included, in snarkjs's order.
    entries: Vec<Entry>,
}

fn qap_at_tau(r1cs: &R1cs, shape: &SetupShape, lagrange: &[Fr]) -> Result<QapAtTau, EngineError> {
    let mut u = vec![Fr::zero(); shape.n_vars];
    let mut v = vec![Fr::zero(); shape.n_vars];
    let mut w = vec![Fr::zero(); shape.n_vars];
    let n_terms: usize = r1cs.constraints.iter().map(|k| k.a.len() + k.b.len()).sum();
    let mut entries = Vec::with_capacity(n_terms + shape.n_public + 1);
    let bad_wire = |row: usize, which: &str, wire: u32| {
        EngineError::format(ERR_SOURCE, format!("constraint {row} {which}: wire {wire} ≥ nWires {}", shape.n_vars))
    };
    for (row, k) in r1cs.constraints.iter().enumerate() {
        let l = lagrange[row];
        for (matrix, which, lc, acc) in [(0u32, "A", &k.a, &mut u), (1, "B", &k.b, &mut v), (2, "C", &k.c, &mut w)] {
            for &(wire, coefficient) in lc {
                let slot = acc.get_mut(wire as usize).ok_or_else(|| bad_wire(row, which, wire))?;
                *slot += coefficient * l;
                if matrix < 2 {
                    entries.push((matrix, row as u32, wire, coefficient));
                }
            }
        }
    }
    // Public-input rows: A[m + k][k] = 1 for k = 0..=nPublic.
    for (k, u_k) in u.iter_mut().enumerate().take(shape.n_public + 1) {
        let row = shape.n_constraints + k;
        *u_k += lagrange[row];
        entries.push((0, row as u32, k as u32, Fr::one()));
    }
    Ok(QapAtTau { u, v, w, entries })
}

/// `scale · x_j / (τ − x_j)` for every `x_j` of `points` (batch-inverted).
fn lagrange_at(tau: Fr, points: &[Fr], scale: Fr) -> Vec<Fr> {
    let mut out: Vec<Fr> = points.par_iter().map(|x| tau - x).collect();
    batch_inversion(&mut out);
    out.par_iter_mut().zip(points).for_each(|(d, x)| *d *= scale * x);
    out
}

/// `start·step^j` for `j < len`, in parallel chunks.
fn geometric(start: Fr, step: Fr, len: usize) -> Vec<Fr> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![Fr::zero(); len];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        let mut x = start * step.pow([(c * CHUNK) as u64]);
        for slot in chunk {
            *slot = x;
            x *= step;
        }
    });
    out
}

/// Little-endian writer of the iden3 binary container.
struct ZkeyWriter {
    out: Vec<u8>,
}

impl ZkeyWriter {
    fn new(n_sections: u32, capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(b"zkey");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&n_sections.to_le_bytes());
        Self { out }
    }

    /// Appends section `id` whose payload `fill` writes.
    fn section(&mut self, id: u32, fill: impl FnOnce(&mut Vec<u8>)) {
        self.out.extend_from_slice(&id.to_le_bytes());
        let size_at = self.out.len();
        self.out.extend_from_slice(&0u64.to_le_bytes());
        let start = self.out.len();
        fill(&mut self.out);
        let size = (self.out.len() - start) as u64;
        self.out[size_at..start].copy_from_slice(&size.to_le_bytes());
    }
}

fn put_g1s(out: &mut Vec<u8>, points: &[G1Affine]) {
    let start = out.len();
    out.resize(start + points.len() * G1_BYTES, 0);
    out[start..].par_chunks_exact_mut(G1_BYTES).zip(points).for_each(|(dst, p)| dst.copy_from_slice(&encoding::g1_to_zkey(p)));
}

fn put_g2s(out: &mut Vec<u8>, points: &[G2Affine]) {
    let start = out.len();
    out.resize(start + points.len() * G2_BYTES, 0);
    out[start..].par_chunks_exact_mut(G2_BYTES).zip(points).for_each(|(dst, p)| dst.copy_from_slice(&encoding::g2_to_zkey(p)));
}

/// A zkey value: `v·R² mod r`, i.e. the Montgomery representation of `v·R`.
fn coefficient_bytes(v: &Fr) -> [u8; N8] {
    // `v.0` is the integer v·R mod r; read canonically it is the element v·R, whose Montgomery
    // representation is v·R².
    encoding::field_to_montgomery_le(&Fr::new(v.0))
}

/// Runs the **insecure** dev setup of `r1cs` with `waste`; returns the `.zkey` bytes.
pub fn dev_setup(r1cs: &R1cs, waste: &ToxicWaste) -> Result<Vec<u8>, EngineError> {
    let shape = SetupShape::of(r1cs)?;
    let n = shape.domain_size;
    let ToxicWaste { tau, alpha, beta, gamma, delta } = *waste;
    let (Some(gamma_inv), Some(delta_inv)) = (gamma.inverse(), delta.inverse()) else {
        return Err(EngineError::format(ERR_SOURCE, "γ and δ must be non-zero"));
    };
    let _span = tracing::info_span!("dev setup", n_vars = shape.n_vars, domain = n).entered();
    let (omega, omega_2n) = match (Fr::get_root_of_unity(n as u64), Fr::get_root_of_unity(2 * n as u64)) {
        (Some(w), Some(w2)) if w2.square() == w => (w, w2),
        _ => return Err(EngineError::format(ERR_SOURCE, format!("no consistent roots of unity for domain {n}"))),
    };
    let tau_n = tau.pow([n as u64]);
    let t_tau = tau_n - Fr::one();
    let t2_tau = t_tau * (tau_n + Fr::one()); // τ^{2n} − 1
    if t2_tau.is_zero() {
        return Err(EngineError::format(ERR_SOURCE, "τ is a 2n-th root of unity; choose another seed"));
    }
    let n_fr = Fr::from(n as u64);
    let (Some(n_inv), Some(two_n_inv)) = (n_fr.inverse(), (n_fr + n_fr).inverse()) else {
        return Err(EngineError::format(ERR_SOURCE, "domain size is zero in the field"));
    };

    let (lagrange, h_scalars) = {
        let _span = tracing::info_span!("lagrange bases").entered();
        let lagrange = lagrange_at(tau, &geometric(Fr::one(), omega, n), t_tau * n_inv);
        // ℓ_{2j+1}(τ)/δ for j < n: the points x_j = ω₂ₙ·ωʲ.
        let h = lagrange_at(tau, &geometric(omega_2n, omega, n), t2_tau * two_n_inv * delta_inv);
        (lagrange, h)
    };
    let QapAtTau { u, v, w, entries } = qap_at_tau(r1cs, &shape, &lagrange)?;
    let first_private = shape.n_public + 1;
    let combined = |i: usize| beta * u[i] + alpha * v[i] + w[i];
    let ic_scalars: Vec<Fr> = (0..first_private).map(|i| combined(i) * gamma_inv).collect();
    let c_scalars: Vec<Fr> = (first_private..shape.n_vars).into_par_iter().map(|i| combined(i) * delta_inv).collect();

    // All G1 scalars in one batch against one table: header (α, β, δ), IC, A, B1, C, H.
    let g1_scalars: Vec<Fr> = [&[alpha, beta, delta][..], &ic_scalars, &u, &v, &c_scalars, &h_scalars].concat();
    let g1 = {
        let _span = tracing::info_span!("G1 points", count = g1_scalars.len()).entered();
        BatchMulPreprocessing::new(G1Projective::generator(), g1_scalars.len()).batch_mul(&g1_scalars)
    };
    let g2_scalars: Vec<Fr> = [&[beta, gamma, delta][..], &v].concat();
    let g2 = {
        let _span = tracing::info_span!("G2 points", count = g2_scalars.len()).entered();
        BatchMulPreprocessing::new(G2Projective::generator(), g2_scalars.len()).batch_mul(&g2_scalars)
    };
    let (g1_head, rest) = g1.split_at(3);
    let (ic, rest) = rest.split_at(ic_scalars.len());
    let (a, rest) = rest.split_at(shape.n_vars);
    let (b1, rest) = rest.split_at(shape.n_vars);
    let (c, h) = rest.split_at(c_scalars.len());
    let (g2_head, b2) = g2.split_at(3);

    let _span = tracing::info_span!("encode").entered();
    let size = 4096 + entries.len() * (12 + N8) + (g1.len() * G1_BYTES) + g2.len() * G2_BYTES;
    let mut z = ZkeyWriter::new(10, size);
    z.section(section::HEADER, |o| o.extend_from_slice(&PROTOCOL_GROTH16.to_le_bytes()));
    z.section(section::GROTH_HEADER, |o| {
        for modulus in [ark_bn254::Fq::MODULUS.to_bytes_le(), Fr::MODULUS.to_bytes_le()] {
            o.extend_from_slice(&(N8 as u32).to_le_bytes());
            o.extend_from_slice(&modulus);
        }
        for x in [shape.n_vars, shape.n_public, n] {
            o.extend_from_slice(&(x as u32).to_le_bytes());
        }
        o.extend_from_slice(&encoding::g1_to_zkey(&g1_head[0])); // α₁
        o.extend_from_slice(&encoding::g1_to_zkey(&g1_head[1])); // β₁
        o.extend_from_slice(&encoding::g2_to_zkey(&g2_head[0])); // β₂
        o.extend_from_slice(&encoding::g2_to_zkey(&g2_head[1])); // γ₂
        o.extend_from_slice(&encoding::g1_to_zkey(&g1_head[2])); // δ₁
        o.extend_from_slice(&encoding::g2_to_zkey(&g2_head[2])); // δ₂
    });
    z.section(section::IC, |o| put_g1s(o, ic));
    z.section(section::COEFFICIENTS, |o| {
        o.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (matrix, constraint, signal, value) in &entries {
            for word in [matrix, constraint, signal] {
                o.extend_from_slice(&word.to_le_bytes());
            }
            o.extend_from_slice(&coefficient_bytes(value));
        }
    });
    z.section(section::POINTS_A, |o| put_g1s(o, a));
    z.section(section::POINTS_B1, |o| put_g1s(o, b1));
    z.section(section::POINTS_B2, |o| put_g2s(o, b2));
    z.section(section::POINTS_C, |o| put_g1s(o, c));
    z.section(section::POINTS_H, |o| put_g1s(o, h));
    z.section(section::CONTRIBUTIONS, |o| {
        o.extend_from_slice(&DEV_CS_HASH);
        o.extend_from_slice(&0u32.to_le_bytes());
    });
    Ok(z.out)
}

/// Runs the **insecure** dev setup and writes the zkey to `path` atomically
/// ([`crate::io::write_atomic`]). Returns the key's shape.
pub fn write_zkey(path: &Path, r1cs: &R1cs, waste: &ToxicWaste) -> Result<SetupShape, EngineError> {
    let shape = SetupShape::of(r1cs)?;
    let bytes = dev_setup(r1cs, waste)?;
    crate::io::write_atomic(path, &bytes)?;
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r1cs::Constraint;
    use crate::zkey::parse_proving_key;
    use ark_ec::{AffineRepr, CurveGroup};

    /// x·y = z with z public: wires (1, z, x, y).
    fn tiny() -> R1cs {
        R1cs {
            n_wires: 4,
            n_pub_out: 1,
            n_pub_in: 0,
            n_prv_in: 2,
            n_labels: 4,
            constraints: vec![Constraint { a: vec![(2, Fr::one())], b: vec![(3, Fr::one())], c: vec![(1, Fr::one())] }],
        }
    }

    #[test]
    fn lagrange_bases_sum_to_one_and_interpolate() {
        let tau = Fr::from(123_456_789u64);
        for log_n in [0u32, 1, 3, 6] {
            let n = 1usize << log_n;
            let omega = Fr::get_root_of_unity(n as u64).expect("root");
            let n_inv = Fr::from(n as u64).inverse().expect("inv");
            let l = lagrange_at(tau, &geometric(Fr::one(), omega, n), (tau.pow([n as u64]) - Fr::one()) * n_inv);
            assert_eq!(l.iter().sum::<Fr>(), Fr::one(), "n = {n}");
            // Σ L_j(τ)·ω^j = τ (interpolates X, degree < n) for n ≥ 2.
            if n >= 2 {
                let x: Fr = l.iter().zip(geometric(Fr::one(), omega, n)).map(|(a, b)| *a * b).sum();
                assert_eq!(x, tau);
            }
        }
    }

    #[test]
    fn point_encoders_invert_the_readers() {
        let p = (G1Projective::generator() * Fr::from(99u64)).into_affine();
        assert_eq!(encoding::g1_from_zkey(&encoding::g1_to_zkey(&p)), Ok(p));
        assert_eq!(encoding::g1_to_zkey(&G1Affine::zero()), [0u8; G1_BYTES]);
        let q = (G2Projective::generator() * Fr::from(7u64)).into_affine();
        assert_eq!(encoding::g2_from_zkey(&encoding::g2_to_zkey(&q), true), Ok(q));
        assert_eq!(encoding::g2_to_zkey(&G2Affine::zero()), [0u8; G2_BYTES]);
    }

    #[test]
    fn tiny_key_reads_back_with_the_expected_shape_and_coefficients() {
        let waste = ToxicWaste::from_seed(b"tiny");
        let bytes = dev_setup(&tiny(), &waste).expect("setup");
        let pk = parse_proving_key("tiny.zkey", &bytes).expect("parse");
        // 1 constraint + 1 public + 1 → domain 4.
        assert_eq!((pk.n_vars, pk.n_public, pk.domain_size, pk.n_constraints), (4, 1, 4, 1));
        let ab: Vec<_> = pk.a_coefficients.iter().map(|c| (c.constraint, c.signal, c.value)).collect();
        assert_eq!(ab, vec![(0, 2, Fr::one()), (1, 0, Fr::one()), (2, 1, Fr::one())]);
        assert_eq!(pk.b_coefficients.len(), 1);
        assert_eq!(pk.vk.alpha_g1, (G1Projective::generator() * waste.alpha).into_affine());
        assert_eq!(pk.vk.delta_g2, (G2Projective::generator() * waste.delta).into_affine());
        assert_eq!(&bytes[bytes.len() - 68..bytes.len() - 4], &DEV_CS_HASH[..]);
    }

    #[test]
    fn seeds_are_deterministic_and_distinct() {
        assert_eq!(ToxicWaste::from_seed(b"a"), ToxicWaste::from_seed(b"a"));
        assert_ne!(ToxicWaste::from_seed(b"a"), ToxicWaste::from_seed(b"b"));
        assert_eq!(ToxicWaste::from_hex_seed("0x6162").expect("hex"), ToxicWaste::from_seed(b"ab"));
        assert!(ToxicWaste::from_hex_seed("").is_err());
        assert!(ToxicWaste::from_hex_seed("0x").is_err());
        assert!(ToxicWaste::from_hex_seed("xyz").is_err());
        assert_ne!(ToxicWaste::from_os().expect("os"), ToxicWaste::from_os().expect("os"));
    }

    #[test]
    fn malformed_systems_are_errors_not_panics() {
        let mut r = tiny();
        r.constraints[0].c.push((9, Fr::one()));
        let e = dev_setup(&r, &ToxicWaste::from_seed(b"x")).expect_err("wire out of range");
        assert!(e.to_string().contains("wire 9"), "{e}");
        let mut r = tiny();
        r.n_wires = 1;
        assert!(dev_setup(&r, &ToxicWaste::from_seed(b"x")).is_err());
        let mut waste = ToxicWaste::from_seed(b"x");
        waste.delta = Fr::zero();
        assert!(dev_setup(&tiny(), &waste).is_err());
        waste = ToxicWaste::from_seed(b"x");
        waste.tau = Fr::get_root_of_unity(8).expect("root");
        assert!(dev_setup(&tiny(), &waste).is_err(), "τ in the 2n-th roots must be refused");
    }
}
