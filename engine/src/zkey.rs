//! `.zkey` (snarkjs Groth16 proving key) → [`ProvingKey`].
//!
//! Layout (snarkjs `src/zkey_utils.js`, version 1): section 1 header (`u32 protocol`, 1 =
//! Groth16); 2 Groth16 header (`n8q, q, n8r, r, nVars, nPublic, domainSize, α₁, β₁, β₂, γ₂,
//! δ₁, δ₂`); 3 IC (`nPublic + 1` G1); 4 coefficients (`u32 n`, then `u32 matrix, u32
//! constraint, u32 signal, 32-byte value` with value stored as `v·R² mod r`); 5 A (`nVars` G1);
//! 6 B₁ (`nVars` G1); 7 B₂ (`nVars` G2); 8 C (`nVars − nPublic − 1` G1); 9 H (`domainSize` G1);
//! 10 contributions (ignored here).
//!
//! Traps handled: sections in any order; section-4 values are doubly Montgomery; the point at
//! infinity is all zeros; rows `nConstraints..=nConstraints+nPublic` of A bind the public
//! inputs (kept: the circom QAP needs them).

use std::path::Path;

use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
use ark_ff::PrimeField;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zkq_kernels::Bases;

use crate::binfile::{BinFile, Reader};
use crate::encoding::{self, G1_BYTES, G2_BYTES, N8};
use crate::io::map_file;
use crate::keys::{Coefficient, ProvingKey, VerifyingKey};
use crate::EngineError;

/// Section ids.
pub mod section {
    /// Protocol header.
    pub const HEADER: u32 = 1;
    /// Groth16 header.
    pub const GROTH_HEADER: u32 = 2;
    /// IC points.
    pub const IC: u32 = 3;
    /// A and B coefficients.
    pub const COEFFICIENTS: u32 = 4;
    /// A points.
    pub const POINTS_A: u32 = 5;
    /// B points in G1.
    pub const POINTS_B1: u32 = 6;
    /// B points in G2.
    pub const POINTS_B2: u32 = 7;
    /// C points.
    pub const POINTS_C: u32 = 8;
    /// H points.
    pub const POINTS_H: u32 = 9;
    /// MPC contributions.
    pub const CONTRIBUTIONS: u32 = 10;
}

/// The protocol id of Groth16 in section 1.
pub const PROTOCOL_GROTH16: u32 = 1;
/// Largest domain: BN254's scalar field has two-adicity 28.
pub const MAX_LOG_DOMAIN: u32 = 28;

/// The zkey's Groth16 header (section 2), validated.
#[derive(Debug, Clone)]
pub struct GrothHeader {
    /// Number of variables, the constant 1 included.
    pub n_vars: usize,
    /// Number of public signals.
    pub n_public: usize,
    /// Domain size.
    pub domain_size: usize,
    /// `α·G1`.
    pub alpha_g1: G1Affine,
    /// `β·G1`.
    pub beta_g1: G1Affine,
    /// `β·G2`.
    pub beta_g2: G2Affine,
    /// `γ·G2`.
    pub gamma_g2: G2Affine,
    /// `δ·G1`.
    pub delta_g1: G1Affine,
    /// `δ·G2`.
    pub delta_g2: G2Affine,
}

/// What `zkq zkey info` shows.
#[derive(Debug, Clone)]
pub struct ZkeyInfo {
    /// `bn128` (the only curve zkq reads).
    pub curve: &'static str,
    /// Protocol name.
    pub protocol: &'static str,
    /// Number of variables.
    pub n_vars: usize,
    /// Number of public signals.
    pub n_public: usize,
    /// Constraints of the circuit (public-input rows excluded).
    pub n_constraints: usize,
    /// Domain size.
    pub domain_size: usize,
    /// Entries in section 4.
    pub n_coefficients: usize,
    /// `(section id, bytes)` in file order.
    pub sections: Vec<(u32, u64)>,
    /// Bytes of the file.
    pub file_size: u64,
    /// sha256 of the whole file, hex.
    pub sha256: String,
}

fn section_name(id: u32) -> &'static str {
    match id {
        section::HEADER => "header",
        section::GROTH_HEADER => "groth16 header",
        section::IC => "IC",
        section::COEFFICIENTS => "coefficients",
        section::POINTS_A => "points A",
        section::POINTS_B1 => "points B1",
        section::POINTS_B2 => "points B2",
        section::POINTS_C => "points C",
        section::POINTS_H => "points H",
        section::CONTRIBUTIONS => "contributions",
        _ => "unknown",
    }
}

/// Human name of a section id, for listings.
pub fn describe_section(id: u32) -> &'static str {
    section_name(id)
}

fn read_g1(r: &mut Reader<'_>, what: &str) -> Result<G1Affine, EngineError> {
    let b = r.bytes(G1_BYTES, what)?;
    encoding::g1_from_zkey(b).map_err(|e| r.error(format!("{what}: {e}")))
}

fn read_g2(r: &mut Reader<'_>, what: &str) -> Result<G2Affine, EngineError> {
    let b = r.bytes(G2_BYTES, what)?;
    encoding::g2_from_zkey(b, true).map_err(|e| r.error(format!("{what}: {e}")))
}

/// Checks the file is a Groth16 zkey over BN254 and reads section 2.
pub fn read_header(file: &BinFile<'_>) -> Result<GrothHeader, EngineError> {
    let name = file.name();
    if file.version != 1 {
        return Err(EngineError::format(name, format!("unsupported zkey version {} (expected 1)", file.version)));
    }
    let mut h = file.reader(section::HEADER)?;
    let protocol = h.u32("protocol")?;
    if protocol != PROTOCOL_GROTH16 {
        let proto = match protocol {
            2 => "PLONK",
            10 => "FFLONK",
            _ => "unknown",
        };
        return Err(EngineError::format(
            name,
            format!("zkey is for protocol {protocol} ({proto}), zkq proves Groth16 (protocol 1)"),
        ));
    }
    let mut r = file.reader(section::GROTH_HEADER)?;
    let n8q = r.u32("n8q")? as usize;
    let q = r.bytes(n8q, "q")?;
    if n8q != N8 || !encoding::prime_matches::<Fq>(q) {
        return Err(EngineError::WrongCurve {
            source_name: name.to_owned(),
            what: format!("base field is {} ({n8q} bytes)", encoding::describe_prime(q)),
        });
    }
    let n8r = r.u32("n8r")? as usize;
    let rr = r.bytes(n8r, "r")?;
    if n8r != N8 || !encoding::prime_matches::<Fr>(rr) {
        return Err(EngineError::WrongCurve {
            source_name: name.to_owned(),
            what: format!("scalar field is {} ({n8r} bytes)", encoding::describe_prime(rr)),
        });
    }
    let n_vars = r.u32("nVars")? as usize;
    let n_public = r.u32("nPublic")? as usize;
    let domain_size = r.u32("domainSize")? as usize;
    if n_public + 1 > n_vars {
        return Err(r.error(format!("nPublic {n_public} + 1 exceeds nVars {n_vars}")));
    }
    if !domain_size.is_power_of_two() || domain_size.trailing_zeros() > MAX_LOG_DOMAIN {
        return Err(r.error(format!("domainSize {domain_size} is not a power of two ≤ 2^{MAX_LOG_DOMAIN}")));
    }
    let header = GrothHeader {
        n_vars,
        n_public,
        domain_size,
        alpha_g1: read_g1(&mut r, "alpha1")?,
        beta_g1: read_g1(&mut r, "beta1")?,
        beta_g2: read_g2(&mut r, "beta2")?,
        gamma_g2: read_g2(&mut r, "gamma2")?,
        delta_g1: read_g1(&mut r, "delta1")?,
        delta_g2: read_g2(&mut r, "delta2")?,
    };
    Ok(header)
}

fn expect_len<'a>(file: &BinFile<'a>, id: u32, expected: usize, count_desc: &str) -> Result<&'a [u8], EngineError> {
    let s = file.section(id)?;
    if s.len() != expected {
        return Err(EngineError::format(
            file.name(),
            format!(
                "section {id} ({}) has {} bytes, expected {expected} for {count_desc}",
                section_name(id),
                s.len()
            ),
        ));
    }
    Ok(s)
}

fn g1_section(file: &BinFile<'_>, id: u32, count: usize) -> Result<Vec<G1Affine>, EngineError> {
    let bytes = expect_len(file, id, count * G1_BYTES, &format!("{count} G1 points"))?;
    bytes
        .par_chunks_exact(G1_BYTES)
        .enumerate()
        .map(|(i, b)| {
            encoding::g1_from_zkey(b).map_err(|e| {
                EngineError::format(file.name(), format!("section {id} ({}) point {i}: {e}", section_name(id)))
            })
        })
        .collect()
}

fn g2_section(file: &BinFile<'_>, id: u32, count: usize) -> Result<Vec<G2Affine>, EngineError> {
    let bytes = expect_len(file, id, count * G2_BYTES, &format!("{count} G2 points"))?;
    // On-curve only: subgroup checks on every basis would dominate load time. A basis outside
    // the subgroup can only yield a proof that fails verification, and every proof is
    // verified (against subgroup-checked verifying-key points) before it is returned.
    bytes
        .par_chunks_exact(G2_BYTES)
        .enumerate()
        .map(|(i, b)| {
            encoding::g2_from_zkey(b, false).map_err(|e| {
                EngineError::format(file.name(), format!("section {id} ({}) point {i}: {e}", section_name(id)))
            })
        })
        .collect()
}

/// Reads section 4 into the A and B matrices.
fn coefficients(file: &BinFile<'_>, h: &GrothHeader) -> Result<(Vec<Coefficient>, Vec<Coefficient>), EngineError> {
    const ENTRY: usize = 12 + N8;
    let mut r = file.reader(section::COEFFICIENTS)?;
    let n = r.u32("coefficient count")? as usize;
    let body = r.bytes(r.remaining(), "coefficients")?;
    if body.len() != n * ENTRY {
        return Err(EngineError::format(
            file.name(),
            format!("section 4 (coefficients) holds {} bytes of entries, expected {} for {n} entries", body.len(), n * ENTRY),
        ));
    }
    let parsed: Result<Vec<(u32, Coefficient)>, EngineError> = body
        .par_chunks_exact(ENTRY)
        .enumerate()
        .map(|(i, e)| {
            let word = |k: usize| u32::from_le_bytes([e[4 * k], e[4 * k + 1], e[4 * k + 2], e[4 * k + 3]]);
            let (matrix, constraint, signal) = (word(0), word(1), word(2));
            let bad = |what: String| EngineError::format(file.name(), format!("section 4 (coefficients) entry {i}: {what}"));
            if matrix > 1 {
                return Err(bad(format!("matrix {matrix} (expected 0 for A or 1 for B)")));
            }
            if constraint as usize >= h.domain_size {
                return Err(bad(format!("constraint {constraint} outside the domain of {}", h.domain_size)));
            }
            if signal as usize >= h.n_vars {
                return Err(bad(format!("signal {signal} ≥ nVars {}", h.n_vars)));
            }
            // Stored as v·R² mod r: reading the bytes as a Montgomery element gives v·R; its
            // canonical integer, read as Montgomery once more, gives v.
            let v_r = encoding::field_from_montgomery_le::<Fr>(&e[12..])
                .ok_or_else(|| bad("value is not below the scalar-field modulus".into()))?;
            let value = <Fr as encoding::MontgomeryRepr>::from_montgomery(v_r.into_bigint());
            Ok((matrix, Coefficient { constraint, signal, value }))
        })
        .collect();
    let (a, b): (Vec<_>, Vec<_>) = parsed?.into_iter().partition(|(m, _)| *m == 0);
    Ok((a.into_iter().map(|(_, c)| c).collect(), b.into_iter().map(|(_, c)| c).collect()))
}

/// Parses a Groth16 zkey held in memory. `name` labels errors.
pub fn parse_proving_key(name: &str, bytes: &[u8]) -> Result<ProvingKey, EngineError> {
    let file = BinFile::parse(name, bytes, b"zkey")?;
    let h = read_header(&file)?;
    let n_private = h.n_vars - h.n_public - 1;
    let ic = g1_section(&file, section::IC, h.n_public + 1)?;
    let (a_coefficients, b_coefficients) = coefficients(&file, &h)?;
    let a = g1_section(&file, section::POINTS_A, h.n_vars)?;
    let b1 = g1_section(&file, section::POINTS_B1, h.n_vars)?;
    let b2 = g2_section(&file, section::POINTS_B2, h.n_vars)?;
    let c = g1_section(&file, section::POINTS_C, n_private)?;
    let hq = g1_section(&file, section::POINTS_H, h.domain_size)?;
    let n_constraints = count_constraints(&a_coefficients, &b_coefficients, h.n_public);
    if n_constraints + h.n_public + 1 > h.domain_size {
        return Err(EngineError::format(name, "public-input rows do not fit in the domain"));
    }
    Ok(ProvingKey {
        n_vars: h.n_vars,
        n_public: h.n_public,
        domain_size: h.domain_size,
        n_constraints,
        vk: VerifyingKey { alpha_g1: h.alpha_g1, beta_g2: h.beta_g2, gamma_g2: h.gamma_g2, delta_g2: h.delta_g2, ic },
        beta_g1: h.beta_g1,
        delta_g1: h.delta_g1,
        a_coefficients,
        b_coefficients,
        a_query: Bases::new(a),
        b_g1_query: Bases::new(b1),
        b_g2_query: Bases::new(b2),
        c_query: Bases::new(c),
        h_query: Bases::new(hq),
    })
}

/// snarkjs appends one A row per public signal and one for the constant after the circuit's
/// constraints (`zkey_new.js`), so the last row is `n_constraints + n_public`.
fn count_constraints(a: &[Coefficient], b: &[Coefficient], n_public: usize) -> usize {
    let last = a.iter().chain(b).map(|c| c.constraint as usize).max();
    last.map_or(0, |l| (l + 1).saturating_sub(n_public + 1))
}

/// Reads a proving key from a file (memory-mapped).
pub fn read_proving_key(path: &Path) -> Result<ProvingKey, EngineError> {
    let bytes = map_file(path)?;
    parse_proving_key(&path.display().to_string(), &bytes)
}

/// Reads the verifying key only (sections 1–3), without the proving points.
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, EngineError> {
    let bytes = map_file(path)?;
    let name = path.display().to_string();
    let file = BinFile::parse(&name, &bytes, b"zkey")?;
    let h = read_header(&file)?;
    let ic = g1_section(&file, section::IC, h.n_public + 1)?;
    Ok(VerifyingKey { alpha_g1: h.alpha_g1, beta_g2: h.beta_g2, gamma_g2: h.gamma_g2, delta_g2: h.delta_g2, ic })
}

/// Header facts, section table and sha256 of a zkey.
pub fn info(path: &Path) -> Result<ZkeyInfo, EngineError> {
    let bytes = map_file(path)?;
    let name = path.display().to_string();
    let file = BinFile::parse(&name, &bytes, b"zkey")?;
    let h = read_header(&file)?;
    let (a, b) = coefficients(&file, &h)?;
    Ok(ZkeyInfo {
        curve: "bn128",
        protocol: "groth16",
        n_vars: h.n_vars,
        n_public: h.n_public,
        n_constraints: count_constraints(&a, &b, h.n_public),
        domain_size: h.domain_size,
        n_coefficients: a.len() + b.len(),
        sections: file.section_table(),
        file_size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes[..])),
    })
}
