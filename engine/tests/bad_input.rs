//! Targeted corruptions of the committed fixtures: each must fail with the right
//! [`EngineError`] variant and a one-line message that names the file and the problem.

mod common;

use std::path::Path;

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, One, PrimeField, UniformRand};
use num_bigint::BigUint;
use serde_json::Value;
use zkq_engine::encoding::{field_from_decimal, field_to_decimal, MontgomeryRepr, N8};
use zkq_engine::fixtures::{MULTI_PUBLIC, POSEIDON_MERKLE};
use zkq_engine::r1cs::R1cs;
use zkq_engine::{json, zkey, EngineError, ErrorClass, Prover, Witness};
use zkq_kernels::{open_backend, BackendConfig};

const ZKEY: &str = "bad.zkey";
const WTNS: &str = "bad.wtns";
const R1CS: &str = "bad.r1cs";

/// BLS12-381's base-field prime (381 bits, 48 bytes).
const BLS12_381_P: &str = "4002409555221667393417789825735904156556882819939007885332058136124031650490837864442687629129015664037894272559787";

// Offsets inside zkey section 2 (Groth16 header).
const Q_AT: usize = 4;
const N8R_AT: usize = 36;
const R_AT: usize = 40;
const N_VARS_AT: usize = 72;
const ALPHA1_AT: usize = 84;
const DELTA2_AT: usize = 532;
const GROTH_HEADER_BYTES: usize = 660;

fn zkey_bytes() -> Vec<u8> {
    common::read(&MULTI_PUBLIC.zkey())
}

fn wtns_bytes() -> Vec<u8> {
    common::read(&MULTI_PUBLIC.wtns())
}

fn r1cs_bytes() -> Vec<u8> {
    common::read(&MULTI_PUBLIC.r1cs())
}

/// Checks the shared shape of every message, and that it mentions each of `needles`.
fn assert_message(e: &EngineError, source: &str, needles: &[&str]) {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line message: {msg:?}");
    assert!(msg.starts_with(source), "message does not start with {source:?}: {msg}");
    for n in needles {
        assert!(msg.contains(n), "message lacks {n:?}: {msg}");
    }
}

/// Expects a [`EngineError::Format`] naming `source` and mentioning `needles`.
#[track_caller]
fn expect_format<T: std::fmt::Debug>(r: Result<T, EngineError>, source: &str, needles: &[&str]) {
    match r {
        Err(e @ EngineError::Format { .. }) => {
            assert_eq!(e.class(), ErrorClass::BadInput);
            assert_message(&e, source, needles);
        }
        other => panic!("expected EngineError::Format, got {other:?}"),
    }
}

/// Expects a [`EngineError::WrongCurve`] naming `source` and mentioning `needles`.
#[track_caller]
fn expect_wrong_curve<T: std::fmt::Debug>(r: Result<T, EngineError>, source: &str, needles: &[&str]) {
    match r {
        Err(e @ EngineError::WrongCurve { .. }) => {
            assert_eq!(e.class(), ErrorClass::BadInput);
            assert_message(&e, source, &[&["wrong curve", "BN254"], needles].concat());
        }
        other => panic!("expected EngineError::WrongCurve, got {other:?}"),
    }
}

fn fq_mont_le(x: Fq) -> Vec<u8> {
    x.to_montgomery().to_bytes_le()
}

fn g1_mont_le(p: &G1Affine) -> Vec<u8> {
    let (x, y) = p.xy().expect("finite point");
    [fq_mont_le(x), fq_mont_le(y)].concat()
}

fn g2_mont_le(p: &G2Affine) -> Vec<u8> {
    let (x, y) = p.xy().expect("finite point");
    [fq_mont_le(x.c0), fq_mont_le(x.c1), fq_mont_le(y.c0), fq_mont_le(y.c1)].concat()
}

/// A point on BN254's G2 twist curve that is not in the order-r subgroup.
fn g2_outside_subgroup() -> G2Affine {
    let mut rng = ark_std::test_rng();
    loop {
        let x = Fq2::rand(&mut rng);
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            assert!(p.is_on_curve());
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
    }
}

/// The zkey's section-2 payload offset, after checking the layout this file assumes.
fn groth_header(bytes: &[u8]) -> usize {
    let s2 = common::section(bytes, zkey::section::GROTH_HEADER);
    assert_eq!(s2.size, GROTH_HEADER_BYTES);
    assert_eq!(common::u32_at(bytes, s2.start) as usize, N8);
    s2.start
}

// ---------------------------------------------------------------------------------------------
// zkey

#[test]
fn unmodified_fixtures_parse() {
    let pk = zkey::parse_proving_key(ZKEY, &zkey_bytes()).expect("zkey");
    Witness::parse(WTNS, &wtns_bytes()).expect("wtns").check_shape(pk.n_vars).expect("shape");
    R1cs::parse(R1CS, &r1cs_bytes()).expect("r1cs");
}

#[test]
fn empty_file() {
    expect_format(zkey::parse_proving_key(ZKEY, &[]), ZKEY, &["empty", ".zkey"]);
    expect_format(Witness::parse(WTNS, &[]), WTNS, &["empty", ".wtns"]);
    expect_format(R1cs::parse(R1CS, &[]), R1CS, &["empty", ".r1cs"]);
    // Through the file reader too (an empty file is not memory-mapped).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.zkey");
    std::fs::write(&path, b"").expect("write");
    expect_format(zkey::read_proving_key(&path), &path.display().to_string(), &["empty"]);
}

#[test]
fn missing_file_is_io() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("does-not-exist.zkey");
    let check = |r: Result<(), EngineError>| match r {
        Err(e @ EngineError::Io { .. }) => {
            assert_eq!(e.class(), ErrorClass::Io);
            let EngineError::Io { action, source, .. } = &e else { unreachable!() };
            assert_eq!((*action, source.kind()), ("open", std::io::ErrorKind::NotFound));
            assert_message(&e, &path.display().to_string(), &["open failed"]);
        }
        other => panic!("expected EngineError::Io, got {other:?}"),
    };
    check(zkey::read_proving_key(&path).map(drop));
    check(zkey::read_verifying_key(&path).map(drop));
    check(zkey::info(&path).map(drop));
    check(Witness::read(&path).map(drop));
    check(R1cs::read(&path).map(drop));
    check(json::read_proof(&path).map(drop));
    check(json::read_public(&path).map(drop));
    check(json::read_verifying_key(&path).map(drop));
}

#[test]
fn truncated_zkey_in_the_header() {
    let b = zkey_bytes();
    expect_format(zkey::parse_proving_key(ZKEY, &b[..2]), ZKEY, &["truncated", "magic"]);
    expect_format(zkey::parse_proving_key(ZKEY, &b[..6]), ZKEY, &["truncated", "version"]);
    expect_format(zkey::parse_proving_key(ZKEY, &b[..10]), ZKEY, &["truncated", "section count"]);
    expect_format(zkey::parse_proving_key(ZKEY, &b[..14]), ZKEY, &["truncated", "section type"]);
    expect_format(zkey::parse_proving_key(ZKEY, &b[..20]), ZKEY, &["truncated", "section size"]);
}

#[test]
fn truncated_zkey_in_a_section() {
    let b = zkey_bytes();
    for ty in [zkey::section::GROTH_HEADER, zkey::section::POINTS_A, zkey::section::POINTS_H] {
        let s = common::section(&b, ty);
        let cut = s.start + s.size / 2;
        let index = common::sections(&b).iter().position(|x| x.ty == ty).expect("index");
        expect_format(
            zkey::parse_proving_key(ZKEY, &b[..cut]),
            ZKEY,
            &["truncated", &format!("section {index} (type {ty})"), &format!("declares {} bytes", s.size)],
        );
    }
    // The last section cut in the middle, through the file reader: a typical partial download.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("partial.zkey");
    std::fs::write(&path, &b[..b.len() - 100]).expect("write");
    expect_format(zkey::read_proving_key(&path), &path.display().to_string(), &["truncated"]);
}

#[test]
fn zkey_wrong_magic_and_version() {
    let mut b = zkey_bytes();
    b[..4].copy_from_slice(b"wtns");
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["not a .zkey file", "\"wtns\""]);
    // A witness handed over as a proving key.
    expect_format(zkey::parse_proving_key(ZKEY, &wtns_bytes()), ZKEY, &["not a .zkey file"]);
    let mut b = zkey_bytes();
    common::put_u32(&mut b, 4, 2);
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["unsupported zkey version 2"]);
}

#[test]
fn zkey_q_replaced_by_bn254_r_is_wrong_curve() {
    let mut b = zkey_bytes();
    let h = groth_header(&b);
    b[h + Q_AT..h + Q_AT + N8].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    expect_wrong_curve(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["base field is BN254 scalar field r"]);
}

#[test]
fn zkey_scalar_field_replaced_is_wrong_curve() {
    let mut b = zkey_bytes();
    let h = groth_header(&b);
    assert_eq!(common::u32_at(&b, h + N8R_AT) as usize, N8);
    b[h + R_AT..h + R_AT + N8].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    expect_wrong_curve(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["scalar field is BN254 base field q"]);
}

#[test]
fn zkey_for_bls12_381_is_wrong_curve() {
    // A 48-byte q: section 2 grows by 16 bytes.
    let b = zkey_bytes();
    let s2 = common::section(&b, zkey::section::GROTH_HEADER);
    let p = BigUint::parse_bytes(BLS12_381_P.as_bytes(), 10).expect("prime");
    let mut q = p.to_bytes_le();
    q.resize(48, 0);
    let mut payload = 48u32.to_le_bytes().to_vec();
    payload.extend_from_slice(&q);
    payload.extend_from_slice(&b[s2.start + 4 + N8..s2.end()]);
    let mut out = b[..s2.start].to_vec();
    common::put_u64(&mut out, s2.size_at(), payload.len() as u64);
    out.extend_from_slice(&payload);
    out.extend_from_slice(&b[s2.end()..]);
    expect_wrong_curve(zkey::parse_proving_key(ZKEY, &out), ZKEY, &["base field is prime 4002409555", "381 bits", "48 bytes"]);
}

#[test]
fn plonk_zkey_is_rejected_by_protocol() {
    let mut b = zkey_bytes();
    let s1 = common::section(&b, zkey::section::HEADER);
    common::put_u32(&mut b, s1.start, 2);
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["protocol 2 (PLONK)", "Groth16"]);
    common::put_u32(&mut b, s1.start, 10);
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["protocol 10 (FFLONK)"]);
}

#[test]
fn zkey_header_point_not_on_curve() {
    let mut b = zkey_bytes();
    let h = groth_header(&b);
    let pk = zkey::parse_proving_key(ZKEY, &b).expect("zkey");
    let (x, y) = pk.vk.alpha_g1.xy().expect("alpha finite");
    assert_eq!(&b[h + ALPHA1_AT..h + ALPHA1_AT + 64], g1_mont_le(&pk.vk.alpha_g1).as_slice(), "alpha1 offset");
    let bad = [fq_mont_le(x), fq_mont_le(y + Fq::one())].concat();
    b[h + ALPHA1_AT..h + ALPHA1_AT + 64].copy_from_slice(&bad);
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["section 2", "alpha1", "not on the curve"]);
}

#[test]
fn zkey_delta2_outside_the_subgroup() {
    let mut b = zkey_bytes();
    let h = groth_header(&b);
    let pk = zkey::parse_proving_key(ZKEY, &b).expect("zkey");
    assert_eq!(&b[h + DELTA2_AT..h + DELTA2_AT + 128], g2_mont_le(&pk.vk.delta_g2).as_slice(), "delta2 offset");
    b[h + DELTA2_AT..h + DELTA2_AT + 128].copy_from_slice(&g2_mont_le(&g2_outside_subgroup()));
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["delta2", "not in the prime-order subgroup"]);
}

#[test]
fn zkey_basis_point_not_on_curve_or_out_of_range() {
    let b = zkey_bytes();
    let pk = zkey::parse_proving_key(ZKEY, &b).expect("zkey");
    let s5 = common::section(&b, zkey::section::POINTS_A);
    let i = pk.a_query.points().iter().position(|p| !p.is_zero()).expect("a finite A point");
    let at = s5.start + 64 * i;
    let (x, y) = pk.a_query.points()[i].xy().expect("finite");

    let mut off = b.clone();
    off[at..at + 64].copy_from_slice(&[fq_mont_le(x), fq_mont_le(y + y)].concat());
    expect_format(zkey::parse_proving_key(ZKEY, &off), ZKEY, &[&format!("section 5 (points A) point {i}"), "not on the curve"]);

    let mut big = b.clone();
    big[at + 32..at + 64].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    expect_format(
        zkey::parse_proving_key(ZKEY, &big),
        ZKEY,
        &[&format!("section 5 (points A) point {i}"), "coordinate is not below the field modulus"],
    );

    // A G2 basis point (section 7) off the curve.
    let s7 = common::section(&b, zkey::section::POINTS_B2);
    let j = pk.b_g2_query.points().iter().position(|p| !p.is_zero()).expect("a finite B2 point");
    let mut off2 = b.clone();
    let at = s7.start + 128 * j + 96; // y.c1
    let (_, y) = pk.b_g2_query.points()[j].xy().expect("finite");
    off2[at..at + 32].copy_from_slice(&fq_mont_le(y.c1 + Fq::one()));
    expect_format(zkey::parse_proving_key(ZKEY, &off2), ZKEY, &[&format!("section 7 (points B2) point {j}"), "not on the curve"]);
}

#[test]
fn zkey_coefficient_not_below_r() {
    let mut b = zkey_bytes();
    let s4 = common::section(&b, zkey::section::COEFFICIENTS);
    let value_at = s4.start + 4 + 12; // entry 0: matrix, constraint, signal, value
    b[value_at..value_at + N8].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    expect_format(zkey::parse_proving_key(ZKEY, &b), ZKEY, &["section 4 (coefficients) entry 0", "not below the scalar-field modulus"]);
}

#[test]
fn zkey_counts_that_disagree_with_the_sections() {
    let b = zkey_bytes();
    let h = groth_header(&b);
    let n_vars = common::u32_at(&b, h + N_VARS_AT);

    let mut more_vars = b.clone();
    common::put_u32(&mut more_vars, h + N_VARS_AT, n_vars + 1);
    expect_format(zkey::parse_proving_key(ZKEY, &more_vars), ZKEY, &["section 5 (points A)", "expected", &format!("{} G1 points", n_vars + 1)]);

    let mut huge_vars = b.clone();
    common::put_u32(&mut huge_vars, h + N_VARS_AT, u32::MAX);
    expect_format(zkey::parse_proving_key(ZKEY, &huge_vars), ZKEY, &["G1 points"]);

    let s4 = common::section(&b, zkey::section::COEFFICIENTS);
    let mut count = b.clone();
    common::put_u32(&mut count, s4.start, u32::MAX);
    expect_format(zkey::parse_proving_key(ZKEY, &count), ZKEY, &["section 4 (coefficients)", &format!("{} entries", u32::MAX)]);

    let mut signal = b.clone();
    common::put_u32(&mut signal, s4.start + 4 + 8, n_vars);
    expect_format(zkey::parse_proving_key(ZKEY, &signal), ZKEY, &["entry 0", &format!("signal {n_vars} ≥ nVars {n_vars}")]);

    let mut size = b.clone();
    common::put_u64(&mut size, s4.size_at(), u64::MAX);
    expect_format(zkey::parse_proving_key(ZKEY, &size), ZKEY, &["truncated", &format!("declares {} bytes", u64::MAX)]);
}

#[test]
fn zkey_duplicated_and_missing_sections() {
    let b = zkey_bytes();
    let s9 = common::section(&b, zkey::section::POINTS_H);
    // Section 9 renamed to 8: 8 twice, 9 missing; 8 is read first.
    let mut dup = b.clone();
    common::put_u32(&mut dup, s9.header, zkey::section::POINTS_C);
    expect_format(zkey::parse_proving_key(ZKEY, &dup), ZKEY, &["section 8 appears more than once"]);
    let mut gone = b.clone();
    common::put_u32(&mut gone, s9.header, 99);
    expect_format(zkey::parse_proving_key(ZKEY, &gone), ZKEY, &["section 9 is missing"]);
}

// ---------------------------------------------------------------------------------------------
// wtns

#[test]
fn witness_with_the_wrong_prime_is_wrong_curve() {
    let mut b = wtns_bytes();
    let s1 = common::section(&b, 1);
    b[s1.start + 4..s1.start + 4 + N8].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    expect_wrong_curve(Witness::parse(WTNS, &b), WTNS, &["witness prime is BN254 base field q"]);
}

#[test]
fn witness_value_not_below_r() {
    let mut b = wtns_bytes();
    let s2 = common::section(&b, 2);
    b[s2.start + 3 * N8..s2.start + 4 * N8].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    expect_format(Witness::parse(WTNS, &b), WTNS, &["witness value 3", "not below the BN254 scalar-field modulus"]);
}

#[test]
fn witness_count_disagrees_with_its_data() {
    let mut b = wtns_bytes();
    let s1 = common::section(&b, 1);
    let n = common::u32_at(&b, s1.start + 4 + N8);
    common::put_u32(&mut b, s1.start + 4 + N8, n + 1);
    expect_format(Witness::parse(WTNS, &b), WTNS, &["section 2", &format!("for {} values", n + 1)]);
}

#[test]
fn witness_of_the_wrong_length_for_the_key() {
    let pk = zkey::parse_proving_key(ZKEY, &zkey_bytes()).expect("zkey");
    let w = Witness::parse(WTNS, &wtns_bytes()).expect("wtns");
    // One value short, written and read back as a real file.
    let short = Witness { source: WTNS.into(), values: w.values[..w.values.len() - 1].to_vec() };
    let short = Witness::parse(WTNS, &short.to_wtns_bytes()).expect("short wtns parses");
    match short.check_shape(pk.n_vars) {
        Err(e @ EngineError::WitnessLength { .. }) => {
            let EngineError::WitnessLength { expected, found, .. } = e else { unreachable!() };
            assert_eq!((expected, found), (pk.n_vars, pk.n_vars - 1));
            assert_message(&e, WTNS, &[&format!("witness has {found} values but the proving key expects {expected}")]);
        }
        other => panic!("expected WitnessLength, got {other:?}"),
    }
    // Another circuit's witness, through the prover.
    let other = Witness::read(&POSEIDON_MERKLE.wtns()).expect("poseidon wtns");
    let prover = Prover::new(open_backend(&BackendConfig { cpu_threads: Some(1), ..Default::default() }).expect("cpu backend"));
    match prover.prove_batch(&pk, &[w, other]) {
        Err(e @ EngineError::WitnessLength { .. }) => {
            assert_message(&e, &POSEIDON_MERKLE.wtns().display().to_string(), &["proving key expects"]);
        }
        other => panic!("expected WitnessLength, got {other:?}"),
    }
}

#[test]
fn empty_witness_neither_panics_nor_passes() {
    let empty = Witness { source: WTNS.into(), values: vec![] };
    let parsed = Witness::parse(WTNS, &empty.to_wtns_bytes()).expect("an empty wtns is well-formed");
    assert!(parsed.public_signals(7).is_empty());
    expect_format(parsed.check_shape(0), WTNS, &["witness value 0 must be the constant 1"]);
    assert!(matches!(parsed.check_shape(8), Err(EngineError::WitnessLength { expected: 8, found: 0, .. })));
}

// ---------------------------------------------------------------------------------------------
// r1cs

#[test]
fn r1cs_wrong_prime_and_bad_coefficient() {
    let b = r1cs_bytes();
    let s1 = common::section(&b, 1);
    let mut prime = b.clone();
    prime[s1.start + 4..s1.start + 4 + N8].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    expect_wrong_curve(R1cs::parse(R1CS, &prime), R1CS, &["r1cs prime is BN254 base field q"]);

    // The first term of the first non-empty linear combination.
    let s2 = common::section(&b, 2);
    let mut at = s2.start;
    while common::u32_at(&b, at) == 0 {
        at += 4;
    }
    let mut coef = b.clone();
    coef[at + 8..at + 8 + N8].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    expect_format(R1cs::parse(R1CS, &coef), R1CS, &["section 2", "constraint 0", "coefficient is not below the modulus"]);

    let mut wire = b.clone();
    let n_wires = common::u32_at(&b, s1.start + 4 + N8);
    common::put_u32(&mut wire, at + 4, n_wires);
    expect_format(R1cs::parse(R1CS, &wire), R1CS, &["constraint 0", &format!("wire {n_wires} ≥ nWires {n_wires}")]);

    let mut terms = b.clone();
    common::put_u32(&mut terms, at, u32::MAX);
    expect_format(R1cs::parse(R1CS, &terms), R1CS, &["constraint 0", "terms do not fit in the section"]);
}

// ---------------------------------------------------------------------------------------------
// JSON

fn json_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn load_json(path: &Path) -> Value {
    serde_json::from_slice(&common::read(path)).expect("fixture JSON")
}

#[test]
fn malformed_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    for text in ["{", "", "not json", "{\"pi_a\": [1, 2,]}", "\u{feff}{}"] {
        let p = json_file(dir.path(), "proof.json", text);
        expect_format(json::read_proof(&p), &p.display().to_string(), &["invalid JSON"]);
        expect_format(json::read_verifying_key(&p), &p.display().to_string(), &["invalid JSON"]);
        expect_format(json::read_public(&p), &p.display().to_string(), &["invalid JSON"]);
    }
    // A binary file where JSON is expected.
    expect_format(json::read_proof(&MULTI_PUBLIC.zkey()), "", &["invalid JSON"]);
}

#[test]
fn proof_json_point_off_the_curve() {
    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    json::proof_from_json("proof.json", &v).expect("fixture proof");
    let y: Fq = field_from_decimal(v["pi_a"][1].as_str().expect("string")).expect("decimal");
    v["pi_a"][1] = Value::String(field_to_decimal(&(y + Fq::one())));
    expect_format(json::proof_from_json("proof.json", &v), "proof.json", &["`pi_a` is not a point on the BN254 G1 curve"]);

    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    let x: Fq = field_from_decimal(v["pi_b"][0][1].as_str().expect("string")).expect("decimal");
    v["pi_b"][0][1] = Value::String(field_to_decimal(&(x + Fq::one())));
    expect_format(json::proof_from_json("proof.json", &v), "proof.json", &["`pi_b` is not a point on the BN254 G2 curve"]);

    // On the curve, outside the subgroup.
    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    let p = g2_outside_subgroup();
    let (x, y) = p.xy().expect("finite");
    v["pi_b"] = serde_json::json!([
        [field_to_decimal(&x.c0), field_to_decimal(&x.c1)],
        [field_to_decimal(&y.c0), field_to_decimal(&y.c1)],
        ["1", "0"]
    ]);
    expect_format(json::proof_from_json("proof.json", &v), "proof.json", &["`pi_b` is not in the prime-order subgroup of G2"]);
}

#[test]
fn proof_json_bad_numbers() {
    let q = Fq::MODULUS.to_string();
    for (value, needle) in [
        (Value::String(q), "`pi_c[0]`: value is not below the field modulus"),
        (Value::String("-1".into()), "`pi_c[0]`: not a decimal integer string"),
        (Value::String("0x10".into()), "`pi_c[0]`: not a decimal integer string"),
        (Value::String("1".repeat(200)), "`pi_c[0]`: not a decimal integer string"),
        (serde_json::json!(5), "`pi_c[0]` is not a decimal string"),
    ] {
        let mut v = load_json(&MULTI_PUBLIC.proof_json());
        v["pi_c"][0] = value;
        expect_format(json::proof_from_json("proof.json", &v), "proof.json", &[needle]);
    }
    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    v.as_object_mut().expect("object").remove("pi_b");
    expect_format(json::proof_from_json("proof.json", &v), "proof.json", &["missing field `pi_b`"]);
    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    v["pi_a"].as_array_mut().expect("array").pop();
    expect_format(json::proof_from_json("proof.json", &v), "proof.json", &["`pi_a` has 2 entries, expected 3"]);
    // Untrusted strings are quoted on one line, not echoed raw.
    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    v["protocol"] = Value::String("groth16\nplonk".into());
    expect_format(json::proof_from_json("proof.json", &v), "proof.json", &["`protocol` is `groth16\\nplonk`"]);
    let mut v = load_json(&MULTI_PUBLIC.proof_json());
    v["curve"] = Value::String("x".repeat(10_000));
    match json::proof_from_json("proof.json", &v) {
        Err(e @ EngineError::WrongCurve { .. }) => assert!(e.to_string().len() < 200, "{e}"),
        other => panic!("expected WrongCurve, got {other:?}"),
    }
}

#[test]
fn verification_key_json_errors() {
    let mut v = load_json(&MULTI_PUBLIC.vk_json());
    v["curve"] = Value::String("bls12381".into());
    expect_wrong_curve(json::verifying_key_from_json("vk.json", &v), "vk.json", &["curve is `bls12381`, expected `bn128`"]);

    let mut v = load_json(&MULTI_PUBLIC.vk_json());
    v["nPublic"] = serde_json::json!(u64::MAX);
    expect_format(json::verifying_key_from_json("vk.json", &v), "vk.json", &[&format!("`nPublic` is {}", u64::MAX)]);

    let mut v = load_json(&MULTI_PUBLIC.vk_json());
    v["nPublic"] = serde_json::json!(-1);
    expect_format(json::verifying_key_from_json("vk.json", &v), "vk.json", &["`nPublic` is not a non-negative integer"]);

    let mut v = load_json(&MULTI_PUBLIC.vk_json());
    v["IC"] = serde_json::json!([]);
    expect_format(json::verifying_key_from_json("vk.json", &v), "vk.json", &["`IC` is empty"]);

    let mut v = load_json(&MULTI_PUBLIC.vk_json());
    let p = g2_outside_subgroup();
    let (x, y) = p.xy().expect("finite");
    v["vk_delta_2"] = serde_json::json!([
        [field_to_decimal(&x.c0), field_to_decimal(&x.c1)],
        [field_to_decimal(&y.c0), field_to_decimal(&y.c1)],
        ["1", "0"]
    ]);
    expect_format(json::verifying_key_from_json("vk.json", &v), "vk.json", &["`vk_delta_2` is not in the prime-order subgroup of G2"]);
}

#[test]
fn public_json_errors() {
    let r = Fr::MODULUS.to_string();
    expect_format(json::public_from_json("public.json", &serde_json::json!({})), "public.json", &["expected a JSON array"]);
    expect_format(
        json::public_from_json("public.json", &serde_json::json!(["1", r])),
        "public.json",
        &["`[1]`: value is not below the field modulus"],
    );
    expect_format(json::public_from_json("public.json", &serde_json::json!(["1", 2])), "public.json", &["`[1]` is not a decimal string"]);
}
