//! Property tests: the artifact parsers never panic on corrupt input, and every error they
//! return is one line that starts with the name of its source.
//!
//! Inputs are the committed fixtures, mutated: bit flips, overwritten ranges, truncation,
//! insertion and deletion, and structure-aware edits that know the iden3 container (section
//! sizes, types and count; duplicated or dropped sections) and each format's count fields
//! (nVars, nPublic, domainSize, coefficient count, nWitness, nWires, mConstraints, nTerms, …)
//! and field-element slots (overwritten with q, r, q−1, all ones, …). JSON is mutated as text
//! (read through the file readers, so `invalid JSON` errors are covered) and as a document
//! (numbers replaced by huge, negative or non-decimal strings, keys dropped, arrays resized).
//!
//! Deterministic: a fixed seed (override with `PROPTEST_RNG_SEED`) and no failure-persistence
//! files. `PROPTEST_CASES=N` raises the case count of each small-file property to N and of
//! each large-file one to N/50 (never below the defaults). A long local run:
//! `PROPTEST_CASES=100000 PROPTEST_RNG_SEED=$RANDOM cargo test -p zkq-engine --test fuzz_parsers`.
//!
//! Default budget: 12,996 cases — zkey 2,000 (multi_public) + 2×24 (poseidon_merkle,
//! mul_chain_4k), wtns 2,000 (all three fixtures), r1cs 2,000 + 2×24, JSON documents 3×1,500,
//! JSON text 3×800 — in about 4 s of CPU (2.5–8 s wall, by load) on the shared 2-core dev
//! machine, debug profile with the engine and arkworks at opt-level 3. `PROPTEST_CASES=30000`
//! (about 272,000 cases) took 114 s there.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use ark_bn254::{Fq, Fr};
use ark_ff::{BigInteger, PrimeField};
use common::Section;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::Value;
use zkq_engine::fixtures::{Fixture, MULTI_PUBLIC, MUL_CHAIN_4K, POSEIDON_MERKLE};
use zkq_engine::r1cs::R1cs;
use zkq_engine::{json, zkey, EngineError, ErrorClass, Witness};

/// Fixed seed: a CI failure reproduces locally with the same case sequence.
const SEED: u64 = 0x7a6b_715f_6675_7a7a;
/// Longest error message accepted: one readable line, not a dump of the input.
const MAX_MESSAGE: usize = 400;

/// The runner configuration: `default_cases` unless `PROPTEST_CASES` is set (divided by
/// `divisor` for the expensive large-file properties), the fixed seed unless
/// `PROPTEST_RNG_SEED` is set, and no persistence files written into the repository.
fn config(default_cases: u32, divisor: u32) -> Config {
    let env = Config::default(); // reads the PROPTEST_* environment
    let cases = match std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(n) => (n / divisor).max(default_cases),
        None => default_cases,
    };
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() { env.rng_seed } else { RngSeed::Fixed(SEED) };
    Config { cases, rng_seed, failure_persistence: None, ..env }
}

/// Runs `test` on `strategy` and panics with proptest's minimal failing case.
fn run<S: Strategy>(
    what: &str,
    config: Config,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let counter = AtomicU32::new(0);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |v| {
        counter.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
    assert!(counter.load(Ordering::Relaxed) > 0, "{what}: no cases ran");
}

/// The property on one outcome: no panic got us here; an error is one line, names `name`
/// first, and is classed as bad input.
fn check_error(name: &str, e: &EngineError) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    prop_assert!(!msg.contains('\n') && !msg.contains('\r'), "multi-line error: {msg:?}");
    prop_assert!(msg.starts_with(name), "error does not start with the source name {name:?}: {msg:?}");
    prop_assert!(msg.len() <= MAX_MESSAGE, "error of {} bytes: {msg:?}", msg.len());
    prop_assert_eq!(e.class(), ErrorClass::BadInput, "error not classed as bad input: {}", msg);
    Ok(())
}

fn check<T>(name: &str, r: &Result<T, EngineError>) -> Result<(), TestCaseError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) => check_error(name, e),
    }
}

// ---------------------------------------------------------------------------------------------
// Binary files.

/// A patchable integer of the format: a count, size or header field.
#[derive(Debug, Clone, Copy)]
struct Field {
    at: usize,
    width: usize,
}

/// What the structure-aware mutations know about one unmutated file.
#[derive(Debug, Clone)]
struct Layout {
    sections: Vec<Section>,
    fields: Vec<Field>,
}

fn u32_field(at: usize) -> Field {
    Field { at, width: 4 }
}

fn u64_field(at: usize) -> Field {
    Field { at, width: 8 }
}

/// At most `max` items, evenly spread, first and last included.
fn spread<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max {
        return items.to_vec();
    }
    let step = items.len().div_ceil(max);
    let mut out: Vec<T> = items.iter().step_by(step).copied().collect();
    out.extend(items.last().copied());
    out
}

/// Container fields common to every format: version, section count, each section's size.
fn container_fields(sections: &[Section]) -> Vec<Field> {
    let mut f = vec![u32_field(4), u32_field(common::N_SECTIONS_AT)];
    f.extend(sections.iter().map(|s| u64_field(s.size_at())));
    f
}

fn zkey_layout(bytes: &[u8]) -> Layout {
    let sections = common::sections(bytes);
    let mut fields = container_fields(&sections);
    let s1 = common::section(bytes, zkey::section::HEADER);
    fields.push(u32_field(s1.start)); // protocol
    let s2 = common::section(bytes, zkey::section::GROTH_HEADER);
    // n8q, n8r, nVars, nPublic, domainSize.
    fields.extend([0, 36, 72, 76, 80].map(|o| u32_field(s2.start + o)));
    let s4 = common::section(bytes, zkey::section::COEFFICIENTS);
    fields.push(u32_field(s4.start)); // coefficient count
    // matrix, constraint and signal of some entries (4 + 44·k).
    let n = common::u32_at(bytes, s4.start) as usize;
    let entries: Vec<usize> = (0..n).collect();
    for k in spread(&entries, 48) {
        fields.extend([0, 4, 8].map(|o| u32_field(s4.start + 4 + 44 * k + o)));
    }
    Layout { sections, fields }
}

fn wtns_layout(bytes: &[u8]) -> Layout {
    let sections = common::sections(bytes);
    let mut fields = container_fields(&sections);
    let s1 = common::section(bytes, 1);
    fields.extend([u32_field(s1.start), u32_field(s1.start + 36)]); // n8, nWitness
    Layout { sections, fields }
}

fn r1cs_layout(bytes: &[u8]) -> Layout {
    let sections = common::sections(bytes);
    let mut fields = container_fields(&sections);
    let s1 = common::section(bytes, 1);
    // fs, nWires, nPubOut, nPubIn, nPrvIn, nLabels (u64), mConstraints.
    fields.extend([0, 36, 40, 44, 48].map(|o| u32_field(s1.start + o)));
    fields.push(u64_field(s1.start + 52));
    fields.push(u32_field(s1.start + 60));
    // Walk section 2 for the nTerms and wire-id offsets.
    let s2 = common::section(bytes, 2);
    let m = common::u32_at(bytes, s1.start + 60) as usize;
    let (mut n_terms, mut wires) = (Vec::new(), Vec::new());
    let mut at = s2.start;
    for _ in 0..3 * m {
        n_terms.push(at);
        let n = common::u32_at(bytes, at) as usize;
        at += 4;
        for _ in 0..n {
            wires.push(at);
            at += 36;
        }
    }
    assert_eq!(at, s2.end(), "r1cs walk");
    fields.extend(spread(&n_terms, 96).into_iter().map(u32_field));
    fields.extend(spread(&wires, 48).into_iter().map(u32_field));
    Layout { sections, fields }
}

/// Bytes to write.
#[derive(Debug, Clone)]
enum Fill {
    Random(Vec<u8>),
    Zeros(usize),
    Ones(usize),
}

impl Fill {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Fill::Random(v) => v.clone(),
            Fill::Zeros(n) => vec![0; *n],
            Fill::Ones(n) => vec![0xff; *n],
        }
    }
}

/// A new value for a [`Field`].
#[derive(Debug, Clone, Copy)]
enum NewValue {
    Zero,
    One,
    Max,
    /// The original plus a small signed delta (off-by-one and friends).
    Delta(i8),
    Pow2(u8),
    Any(u64),
}

impl NewValue {
    fn resolve(self, original: u64, width: usize) -> u64 {
        let mask = if width == 8 { u64::MAX } else { u64::from(u32::MAX) };
        let v = match self {
            NewValue::Zero => 0,
            NewValue::One => 1,
            NewValue::Max => u64::MAX,
            NewValue::Delta(d) => original.wrapping_add(i64::from(d) as u64),
            NewValue::Pow2(k) => 1u64 << (u32::from(k) % (8 * width as u32)),
            NewValue::Any(v) => v,
        };
        v & mask
    }
}

/// A 32-byte field-element slot's new contents.
#[derive(Debug, Clone, Copy)]
enum Element {
    FqModulus,
    FrModulus,
    FqMinusOne,
    FrMinusOne,
    Zero,
    Ones,
    Random([u8; 32]),
}

impl Element {
    fn bytes(self) -> [u8; 32] {
        let le = |v: Vec<u8>| -> [u8; 32] { v.try_into().expect("32 bytes") };
        let minus_one = |mut v: Vec<u8>| {
            v[0] -= 1; // both moduli are odd
            le(v)
        };
        match self {
            Element::FqModulus => le(Fq::MODULUS.to_bytes_le()),
            Element::FrModulus => le(Fr::MODULUS.to_bytes_le()),
            Element::FqMinusOne => minus_one(Fq::MODULUS.to_bytes_le()),
            Element::FrMinusOne => minus_one(Fr::MODULUS.to_bytes_le()),
            Element::Zero => [0; 32],
            Element::Ones => [0xff; 32],
            Element::Random(b) => b,
        }
    }
}

/// One edit of a binary file. Positions are [`Index`]es, scaled to the current length (byte
/// edits) or to the original layout (structure-aware edits) when applied.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBits(Vec<(Index, u8)>),
    Overwrite(Index, Fill),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    SetField(Index, NewValue),
    SetElement { section: Index, slot: Index, value: Element },
    SwapSectionTypes(Index, Index),
    SetSectionType(Index, u32),
    DuplicateSection { section: Index, header_only: bool, bump_count: bool },
    DropSection { section: Index, fix_count: bool },
}

fn patch(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn bump_section_count(b: &mut [u8], delta: i32) {
    if b.len() >= common::HEADER_BYTES {
        let n = common::u32_at(b, common::N_SECTIONS_AT).wrapping_add_signed(delta);
        common::put_u32(b, common::N_SECTIONS_AT, n);
    }
}

impl Mutation {
    fn apply(&self, b: &mut Vec<u8>, layout: &Layout) {
        let len = b.len();
        let section = |i: &Index| (!layout.sections.is_empty()).then(|| layout.sections[i.index(layout.sections.len())]);
        match self {
            Mutation::FlipBits(flips) if len > 0 => {
                for (i, bit) in flips {
                    b[i.index(len)] ^= 1 << (bit % 8);
                }
            }
            Mutation::Overwrite(at, fill) if len > 0 => {
                let start = at.index(len);
                let data = fill.bytes();
                let n = data.len().min(len - start);
                b[start..start + n].copy_from_slice(&data[..n]);
            }
            Mutation::Truncate(at) if len > 0 => b.truncate(at.index(len)),
            Mutation::Insert(at, bytes) => {
                let at = at.index(len + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(at, n) if len > 0 => {
                let start = at.index(len);
                b.drain(start..(start + n).min(len));
            }
            Mutation::SetField(i, v) if !layout.fields.is_empty() => {
                let f = layout.fields[i.index(layout.fields.len())];
                let Some(old) = b.get(f.at..f.at + f.width) else { return };
                let mut le = [0u8; 8];
                le[..f.width].copy_from_slice(old);
                let new = v.resolve(u64::from_le_bytes(le), f.width);
                patch(b, f.at, &new.to_le_bytes()[..f.width]);
            }
            Mutation::SetElement { section: s, slot, value } => {
                let Some(s) = section(s) else { return };
                if s.size >= 32 {
                    patch(b, s.start + 32 * slot.index(s.size / 32), &value.bytes());
                }
            }
            Mutation::SwapSectionTypes(x, y) => {
                let (Some(x), Some(y)) = (section(x), section(y)) else { return };
                if x.header + 4 <= len && y.header + 4 <= len {
                    let (tx, ty) = (common::u32_at(b, x.header), common::u32_at(b, y.header));
                    common::put_u32(b, x.header, ty);
                    common::put_u32(b, y.header, tx);
                }
            }
            Mutation::SetSectionType(s, ty) => {
                if let Some(s) = section(s) {
                    patch(b, s.header, &ty.to_le_bytes());
                }
            }
            Mutation::DuplicateSection { section: s, header_only, bump_count } => {
                let Some(s) = section(s) else { return };
                let end = if *header_only { s.start } else { s.end() };
                let Some(copy) = b.get(s.header..end).map(<[u8]>::to_vec) else { return };
                // A header-only copy goes in front of the original header; a whole section
                // right after the original.
                let at = if *header_only { s.header } else { end };
                b.splice(at..at, copy);
                if *bump_count {
                    bump_section_count(b, 1);
                }
            }
            Mutation::DropSection { section: s, fix_count } => {
                let Some(s) = section(s) else { return };
                if s.end() <= len {
                    b.drain(s.header..s.end());
                    if *fix_count {
                        bump_section_count(b, -1);
                    }
                }
            }
            _ => {}
        }
    }
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        vec(any::<u8>(), 1..48).prop_map(Fill::Random),
        (1usize..48).prop_map(Fill::Zeros),
        (1usize..48).prop_map(Fill::Ones),
    ]
}

fn new_value() -> impl Strategy<Value = NewValue> {
    prop_oneof![
        1 => Just(NewValue::Zero),
        1 => Just(NewValue::One),
        1 => Just(NewValue::Max),
        2 => any::<i8>().prop_map(NewValue::Delta),
        1 => any::<u8>().prop_map(NewValue::Pow2),
        1 => any::<u64>().prop_map(NewValue::Any),
    ]
}

fn element() -> impl Strategy<Value = Element> {
    prop_oneof![
        Just(Element::FqModulus),
        Just(Element::FrModulus),
        Just(Element::FqMinusOne),
        Just(Element::FrMinusOne),
        Just(Element::Zero),
        Just(Element::Ones),
        any::<[u8; 32]>().prop_map(Element::Random),
    ]
}

/// Byte-level edits only (usable on any text).
fn byte_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => vec((any::<Index>(), 0u8..8), 1..=16).prop_map(Mutation::FlipBits),
        2 => (any::<Index>(), fill()).prop_map(|(i, f)| Mutation::Overwrite(i, f)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<Index>(), 1usize..48).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

/// Byte-level and structure-aware edits of an iden3 container.
fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        8 => byte_mutation(),
        5 => (any::<Index>(), new_value()).prop_map(|(i, v)| Mutation::SetField(i, v)),
        3 => (any::<Index>(), any::<Index>(), element())
            .prop_map(|(section, slot, value)| Mutation::SetElement { section, slot, value }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(x, y)| Mutation::SwapSectionTypes(x, y)),
        1 => (any::<Index>(), prop_oneof![0u32..12, any::<u32>()]).prop_map(|(s, t)| Mutation::SetSectionType(s, t)),
        1 => (any::<Index>(), any::<bool>(), any::<bool>())
            .prop_map(|(section, header_only, bump_count)| Mutation::DuplicateSection { section, header_only, bump_count }),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(section, fix_count)| Mutation::DropSection { section, fix_count }),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    vec(mutation(), 1..=3)
}

fn mutate(base: &[u8], layout: &Layout, muts: &[Mutation]) -> Vec<u8> {
    let mut b = base.to_vec();
    for m in muts {
        m.apply(&mut b, layout);
    }
    b
}

/// A fixture file with its layout; the unmutated file must parse.
struct Target {
    bytes: Vec<u8>,
    layout: Layout,
}

fn target(path: &Path, layout: fn(&[u8]) -> Layout) -> Target {
    let bytes = common::read(path);
    let layout = layout(&bytes);
    Target { bytes, layout }
}

fn fuzz_zkey(f: Fixture, cases: u32, divisor: u32) {
    let t = target(&f.zkey(), zkey_layout);
    let name = format!("{}/circuit.zkey", f.name);
    zkey::parse_proving_key(&name, &t.bytes).expect("unmutated zkey parses");
    run(&name, config(cases, divisor), mutations(), |muts| {
        let bytes = mutate(&t.bytes, &t.layout, &muts);
        let r = zkey::parse_proving_key(&name, &bytes);
        if let Ok(k) = &r {
            // Whatever parsed is internally consistent enough to index.
            prop_assert!(k.n_public < k.n_vars && k.vk.ic.len() == k.n_public + 1);
            prop_assert!(k.domain_size > k.n_constraints + k.n_public);
        }
        check(&name, &r)
    });
}

fn fuzz_r1cs(f: Fixture, cases: u32, divisor: u32) {
    let t = target(&f.r1cs(), r1cs_layout);
    let name = format!("{}/circuit.r1cs", f.name);
    R1cs::parse(&name, &t.bytes).expect("unmutated r1cs parses");
    run(&name, config(cases, divisor), mutations(), |muts| {
        let bytes = mutate(&t.bytes, &t.layout, &muts);
        check(&name, &R1cs::parse(&name, &bytes))
    });
}

#[test]
fn zkey_mutations_small() {
    fuzz_zkey(MULTI_PUBLIC, 2000, 1);
}

#[test]
fn zkey_mutations_large() {
    fuzz_zkey(POSEIDON_MERKLE, 24, 50);
    fuzz_zkey(MUL_CHAIN_4K, 24, 50);
}

#[test]
fn wtns_mutations() {
    // Small witness mostly; the two large ones are cheap enough to share the cases.
    let targets: Vec<(String, Target, usize)> = [MULTI_PUBLIC, MULTI_PUBLIC, POSEIDON_MERKLE, MUL_CHAIN_4K]
        .iter()
        .map(|f| {
            let t = target(&f.wtns(), wtns_layout);
            let name = format!("{}/witness.wtns", f.name);
            let n = Witness::parse(&name, &t.bytes).expect("unmutated wtns parses").values.len();
            (name, t, n)
        })
        .collect();
    run("wtns", config(2000, 1), (any::<Index>(), mutations()), |(which, muts)| {
        let (name, t, n_vars) = &targets[which.index(targets.len())];
        let bytes = mutate(&t.bytes, &t.layout, &muts);
        let r = Witness::parse(name, &bytes);
        if let Ok(w) = &r {
            let _ = w.public_signals(7);
            check(name, &w.check_shape(*n_vars))?;
        }
        check(name, &r)
    });
}

#[test]
fn r1cs_mutations_small() {
    fuzz_r1cs(MULTI_PUBLIC, 2000, 1);
}

#[test]
fn r1cs_mutations_large() {
    fuzz_r1cs(POSEIDON_MERKLE, 24, 50);
    fuzz_r1cs(MUL_CHAIN_4K, 24, 50);
}

// ---------------------------------------------------------------------------------------------
// JSON.

/// The three snarkjs JSON kinds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Proof,
    Public,
    Vk,
}

impl Kind {
    fn path(self, f: Fixture) -> std::path::PathBuf {
        match self {
            Kind::Proof => f.proof_json(),
            Kind::Public => f.public_json(),
            Kind::Vk => f.vk_json(),
        }
    }

    /// Parses a document; `Ok(())` or the error.
    fn parse(self, name: &str, v: &Value) -> Result<(), EngineError> {
        match self {
            Kind::Proof => json::proof_from_json(name, v).map(drop),
            Kind::Public => json::public_from_json(name, v).map(drop),
            Kind::Vk => json::verifying_key_from_json(name, v).map(drop),
        }
    }

    /// Reads a file through the public reader (JSON syntax errors included).
    fn read(self, path: &Path) -> Result<(), EngineError> {
        match self {
            Kind::Proof => json::read_proof(path).map(drop),
            Kind::Public => json::read_public(path).map(drop),
            Kind::Vk => json::read_verifying_key(path).map(drop),
        }
    }
}

const FIXTURES: [Fixture; 3] = [MULTI_PUBLIC, POSEIDON_MERKLE, MUL_CHAIN_4K];

fn json_docs(kind: Kind) -> Vec<(String, Value)> {
    FIXTURES
        .iter()
        .map(|f| {
            let name = format!("{}/{}", f.name, kind.path(*f).file_name().expect("file name").to_string_lossy());
            let v: Value = serde_json::from_slice(&common::read(&kind.path(*f))).expect("fixture JSON");
            kind.parse(&name, &v).expect("unmutated JSON parses");
            (name, v)
        })
        .collect()
}

/// A JSON value to put somewhere it does not belong.
#[derive(Debug, Clone)]
enum Replacement {
    Str(String),
    Num(serde_json::Number),
    Float(f64),
    Null,
    Bool(bool),
    EmptyObject,
    EmptyArray,
    /// `["1", "1", "1"]`: a plausible point where a scalar was, or vice versa.
    Triple,
}

impl Replacement {
    fn value(&self) -> Value {
        match self {
            Replacement::Str(s) => Value::String(s.clone()),
            Replacement::Num(n) => Value::Number(n.clone()),
            Replacement::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Replacement::Null => Value::Null,
            Replacement::Bool(b) => Value::Bool(*b),
            Replacement::EmptyObject => Value::Object(Default::default()),
            Replacement::EmptyArray => Value::Array(vec![]),
            Replacement::Triple => serde_json::json!(["1", "1", "1"]),
        }
    }
}

/// One edit of a JSON document. Nodes are [`Index`]es into the nodes of the right kind, in
/// document order, at the time the edit is applied.
#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(Index, Replacement),
    DropKey(Index),
    /// Truncate an array, or extend it by repeating its last element.
    Resize(Index, usize),
    /// Replace one character of a string by a digit (or anything).
    Tweak(Index, Index, char),
    /// Set a top-level key of the format (present or not) to a replacement.
    SetKey(Index, Replacement),
}

/// The top-level keys of the three documents.
const KEYS: [&str; 12] = [
    "protocol", "curve", "nPublic", "IC", "pi_a", "pi_b", "pi_c", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2",
    "vk_alphabeta_12",
];

/// JSON pointers of every node, pre-order.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn nodes_where(v: &Value, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    all.into_iter().filter(|p| v.pointer(p).is_some_and(&keep)).collect()
}

impl JsonEdit {
    fn apply(&self, doc: &mut Value) {
        let pick = |doc: &Value, i: &Index, keep: &dyn Fn(&Value) -> bool| {
            let ps = nodes_where(doc, keep);
            (!ps.is_empty()).then(|| ps[i.index(ps.len())].clone())
        };
        match self {
            JsonEdit::Replace(i, r) => {
                if let Some(p) = pick(doc, i, &|_| true) {
                    if let Some(slot) = doc.pointer_mut(&p) {
                        *slot = r.value();
                    }
                }
            }
            JsonEdit::DropKey(i) => {
                if let Some(p) = pick(doc, i, &|v| v.as_object().is_some_and(|o| !o.is_empty())) {
                    if let Some(Value::Object(o)) = doc.pointer_mut(&p) {
                        let k = o.keys().nth(i.index(o.len())).cloned();
                        if let Some(k) = k {
                            o.remove(&k);
                        }
                    }
                }
            }
            JsonEdit::Resize(i, len) => {
                if let Some(p) = pick(doc, i, &Value::is_array) {
                    if let Some(Value::Array(a)) = doc.pointer_mut(&p) {
                        let last = a.last().cloned().unwrap_or(Value::String("0".into()));
                        a.resize(*len, last);
                    }
                }
            }
            JsonEdit::SetKey(k, r) => {
                if let Value::Object(o) = doc {
                    o.insert(KEYS[k.index(KEYS.len())].to_owned(), r.value());
                }
            }
            JsonEdit::Tweak(i, at, c) => {
                if let Some(p) = pick(doc, i, &|v| v.as_str().is_some_and(|s| !s.is_empty())) {
                    if let Some(Value::String(s)) = doc.pointer_mut(&p) {
                        let mut chars: Vec<char> = s.chars().collect();
                        let k = at.index(chars.len());
                        chars[k] = *c;
                        *s = chars.into_iter().collect();
                    }
                }
            }
        }
    }
}

fn replacement() -> impl Strategy<Value = Replacement> {
    let q = Fq::MODULUS.to_string();
    let r = Fr::MODULUS.to_string();
    let strings = prop_oneof![
        Just(q),
        Just(r),
        Just("-1".to_owned()),
        Just("0x1f".to_owned()),
        Just("1e3".to_owned()),
        Just(String::new()),
        Just(" 1".to_owned()),
        Just("+1".to_owned()),
        Just("\u{0663}".to_owned()), // ARABIC-INDIC DIGIT THREE
        Just("0".to_owned()),
        Just("00000000000000000000000000000000000000000000000000000000000000000000000000000000000001".to_owned()),
        Just("groth16\nplonk".to_owned()),
        Just("bls12381".to_owned()),
        Just("plonk".to_owned()),
        "[1-9][0-9]{70,120}",
        "[0-9]{1,77}",
        "\\PC{0,40}",
        "[ -~\n\t\"\\\\]{0,600}",
    ];
    prop_oneof![
        6 => strings.prop_map(Replacement::Str),
        3 => prop_oneof![
            3 => Just(u64::MAX.into()),
            1 => Just(0u64.into()),
            1 => Just((-1i64).into()),
            1 => Just(i64::MIN.into()),
            1 => any::<u64>().prop_map(serde_json::Number::from),
        ]
        .prop_map(Replacement::Num),
        1 => prop_oneof![Just(1.5f64), Just(1e300), Just(-0.0), any::<f64>()].prop_map(Replacement::Float),
        1 => Just(Replacement::Null),
        1 => any::<bool>().prop_map(Replacement::Bool),
        1 => Just(Replacement::EmptyObject),
        1 => Just(Replacement::EmptyArray),
        1 => Just(Replacement::Triple),
    ]
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        6 => (any::<Index>(), replacement()).prop_map(|(i, r)| JsonEdit::Replace(i, r)),
        4 => (any::<Index>(), replacement()).prop_map(|(k, r)| JsonEdit::SetKey(k, r)),
        2 => any::<Index>().prop_map(JsonEdit::DropKey),
        2 => (any::<Index>(), 0usize..10).prop_map(|(i, n)| JsonEdit::Resize(i, n)),
        3 => (any::<Index>(), any::<Index>(), prop_oneof![4 => proptest::char::range('0', '9'), 1 => any::<char>()])
            .prop_map(|(i, at, c)| JsonEdit::Tweak(i, at, c)),
    ]
}

fn fuzz_json_documents(kind: Kind) {
    let docs = json_docs(kind);
    run(&format!("{kind:?} JSON documents"), config(1500, 1), (any::<Index>(), vec(json_edit(), 1..=3)), |(which, edits)| {
        let (name, doc) = &docs[which.index(docs.len())];
        let mut doc = doc.clone();
        for e in &edits {
            e.apply(&mut doc);
        }
        check(name, &kind.parse(name, &doc))
    });
}

fn fuzz_json_text(kind: Kind) {
    let texts: Vec<Vec<u8>> = FIXTURES.iter().map(|f| common::read(&kind.path(*f))).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{kind:?}.json"));
    let name = path.display().to_string();
    let layout = Layout { sections: vec![], fields: vec![] };
    run(&format!("{kind:?} JSON text"), config(800, 1), (any::<Index>(), vec(byte_mutation(), 1..=3)), |(which, muts)| {
        let text = mutate(&texts[which.index(texts.len())], &layout, &muts);
        std::fs::write(&path, &text).map_err(|e| TestCaseError::fail(format!("write: {e}")))?;
        check(&name, &kind.read(&path))
    });
}

#[test]
fn proof_json_mutations() {
    fuzz_json_documents(Kind::Proof);
    fuzz_json_text(Kind::Proof);
}

#[test]
fn public_json_mutations() {
    fuzz_json_documents(Kind::Public);
    fuzz_json_text(Kind::Public);
}

#[test]
fn vk_json_mutations() {
    fuzz_json_documents(Kind::Vk);
    fuzz_json_text(Kind::Vk);
}

/// The strategies themselves: generating and shrinking a case never panics and the
/// structure-aware layouts found their fields (a guard against a silently toothless fuzzer).
#[test]
fn layouts_find_their_fields() {
    let z = zkey_layout(&common::read(&MULTI_PUBLIC.zkey()));
    assert_eq!(z.sections.len(), 10);
    assert!(z.fields.len() > 12 + 7 + 3 * 20, "{} zkey fields", z.fields.len());
    let r = r1cs_layout(&common::read(&MULTI_PUBLIC.r1cs()));
    assert!(r.fields.len() > 100, "{} r1cs fields", r.fields.len());
    let mut runner = TestRunner::new(config(1, 1));
    let mut tree = mutations().new_tree(&mut runner).expect("tree");
    while tree.simplify() {}
    assert!(!tree.current().is_empty());
}
