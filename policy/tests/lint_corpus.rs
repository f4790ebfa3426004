//! The lint corpus: broken policies, each a mutation of one catalog template rendered for the
//! tenant `acme` at its defaults (`lint_corpus/bases/<template id>.cedar`, see
//! `lint_corpus/README.md`), run through lint and suggest. Every file must have a finding, every
//! kept fix must leave a file that validates whenever suggest says nothing is left, and at least
//! [`MIN_FIXED_SHARE`] of the files must come out clean. Prints a table per mutation kind.
//!
//! The bases and the mutations are generated from the catalog and [`MUTATIONS`]; the committed
//! files are what the tests read, and a test checks they are still what the generator makes.
//! `ZKQ_BLESS=1 cargo test -p zkq-policy --test lint_corpus` rewrites them.
#![allow(clippy::print_stdout, reason = "the test prints the corpus table per mutation kind")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Once;

use zkq_policy::catalog::Catalog;
use zkq_policy::lint::lint;
use zkq_policy::suggest::suggest;

/// The share of corpus files suggest must fix completely.
const MIN_FIXED_SHARE: f64 = 0.8;
/// Fewest files the corpus must hold.
const MIN_FILES: usize = 60;
/// Fewest catalog templates the bases must cover.
const MIN_BASES: usize = 25;
/// The tenant every base is rendered for.
const TENANT: &str = "acme";
/// How to regenerate the corpus, for failure messages.
const BLESS: &str = "regenerate with `ZKQ_BLESS=1 cargo test -p zkq-policy --test lint_corpus` and review the diff";

/// The mutations: (kind, template id, text in the base, what the author wrote instead). The text
/// must occur exactly once in the base. Files are named `<kind>-NN.cedar`, numbered per kind in
/// this order.
#[rustfmt::skip]
const MUTATIONS: &[(&str, &str, &str, &str)] = &[
    // An entity attribute misspelled (`Tenant`: tier, weight; `Circuit`: name, constraints).
    ("attribute-typo", "burst-limit-by-tier", "principal.tier", "principal.teir"),
    ("attribute-typo", "circuit-allow-list", "resource.name", "resource.names"),
    ("attribute-typo", "max-constraints", "resource.constraints", "resource.constraint"),
    ("attribute-typo", "min-constraints", "resource.constraints", "resource.contraints"),
    ("attribute-typo", "tier-allow-list", "principal.tier", "principal.tiers"),
    ("attribute-typo", "large-circuit-deadline", "resource.constraints", "resource.constrains"),
    ("attribute-typo", "weight-by-tier", "principal.tier", "principal.Tier"),
    ("attribute-typo", "circuit-purpose-pairing", "resource.name", "resource.circuit_name"),
    // A Long written as a string (or a word).
    ("wrong-literal-type", "rate-limit", ">= 120", r#">= "120""#),
    ("wrong-literal-type", "epsilon-ceiling", "> 500000", r#"> "500000""#),
    ("wrong-literal-type", "priority-ceiling", "> 7", r#"> "7""#),
    ("wrong-literal-type", "deadline-horizon", "> 3600000", r#"> "3600000""#),
    ("wrong-literal-type", "zero-epsilon-only", "== 0", r#"== "0""#),
    ("wrong-literal-type", "priority-rate-limit", "context.priority >= 7", r#"context.priority >= "7""#),
    ("wrong-literal-type", "business-hours", "[1, 2, 3, 4, 5]", r#"["1", "2", "3", "4", "5"]"#),
    ("wrong-literal-type", "maintenance-window", "context.hour_utc >= 2", r#"context.hour_utc >= "two""#),
    // An entity type not in the schema.
    ("unknown-entity-type", "baseline-permit", r#"Tenant::"acme""#, r#"Tennant::"acme""#),
    ("unknown-entity-type", "emergency-deny", r#"Tenant::"acme""#, r#"tenant::"acme""#),
    ("unknown-entity-type", "epsilon-required-for-purposes", r#"Tenant::"acme""#, r#"Tenants::"acme""#),
    ("unknown-entity-type", "purpose-deny-list", r#"Tenant::"acme""#, r#"Tenat::"acme""#),
    ("unknown-entity-type", "region-deny", r#"Tenant::"acme""#, r#"Teanant::"acme""#),
    ("unknown-entity-type", "circuit-deny-list", "resource)", r#"resource == Circut::"legacy_v1")"#),
    // An action not in the schema.
    ("unknown-action", "epsilon-cap", r#"Action::"Prove""#, r#"Action::"Proove""#),
    ("unknown-action", "priority-cap", r#"Action::"Prove""#, r#"Action::"prove""#),
    ("unknown-action", "data-residency", r#"Action::"Prove""#, r#"Action::"Proof""#),
    ("unknown-action", "deadline-required", r#"Action::"Prove""#, r#"Action::"Prover""#),
    ("unknown-action", "purpose-binding", r#"Action::"Prove""#, r#"Action::"Verify""#),
    ("unknown-action", "night-batch-purposes", r#"Action::"Prove""#, r#"Action::"Proves""#),
    // A template slot left in: the catalog's `?principal` copied unrendered, or a `?resource`.
    ("unlinked-slot", "priority-reserved-for-tiers", r#"principal == Tenant::"acme""#, "principal == ?principal"),
    ("unlinked-slot", "region-deny", "resource)", "resource in ?resource)"),
    ("unlinked-slot", "circuit-allow-list", "resource)", "resource in ?resource)"),
    ("unlinked-slot", "weight-by-tier", r#"principal == Tenant::"acme""#, "principal == ?principal"),
    ("unlinked-slot", "min-constraints", "resource)", "resource == ?resource)"),
    ("unlinked-slot", "purpose-required", r#"principal == Tenant::"acme""#, "principal in ?principal"),
    // The optional `deadline_in_ms` read without `context has deadline_in_ms` first.
    ("missing-has-guard", "deadline-feasible", "context has deadline_in_ms && ", ""),
    ("missing-has-guard", "deadline-horizon", "context has deadline_in_ms && ", ""),
    ("missing-has-guard", "large-circuit-deadline", "context has deadline_in_ms && ", ""),
    ("missing-has-guard", "deadline-feasible", "context has deadline_in_ms && ", "context.deadline_in_ms > 0 && "),
    ("missing-has-guard", "deadline-required", "context has deadline_in_ms", "context.deadline_in_ms > 0"),
    (
        "missing-has-guard",
        "large-circuit-deadline",
        "context has deadline_in_ms && context.deadline_in_ms < 60000",
        "context.deadline_in_ms < 60000 && context has deadline_in_ms",
    ),
    // The policy's closing `;` left out.
    ("missing-semicolon", "circuit-epsilon-ceiling", "};", "}"),
    ("missing-semicolon", "purpose-epsilon-ceiling", "};", "}"),
    ("missing-semicolon", "region-required", "};", "}"),
    ("missing-semicolon", "tier-gated-large-circuits", "};", "}"),
    ("missing-semicolon", "off-hours-priority-ceiling", "};", "}"),
    ("missing-semicolon", "baseline-permit", "resource);", "resource)"),
    // `==` or `in` where `.contains` is meant.
    (
        "set-operator",
        "data-residency",
        r#"["eu-west-1", "eu-central-1"].contains(context.region)"#,
        r#"context.region in ["eu-west-1", "eu-central-1"]"#,
    ),
    (
        "set-operator",
        "purpose-deny-list",
        r#"["marketing", "profiling"].contains(context.purpose)"#,
        r#"context.purpose == ["marketing", "profiling"]"#,
    ),
    ("set-operator", "weekend-freeze", "[6, 7].contains(context.weekday)", "context.weekday in [6, 7]"),
    (
        "set-operator",
        "tier-gated-large-circuits",
        r#"["gold", "platinum"].contains(principal.tier)"#,
        r#"principal.tier in ["gold", "platinum"]"#,
    ),
    (
        "set-operator",
        "circuit-allow-list",
        r#"["multi_public"].contains(resource.name)"#,
        r#"resource.name == ["multi_public"]"#,
    ),
    (
        "set-operator",
        "night-batch-purposes",
        r#"["batch", "backfill"].contains(context.purpose)"#,
        r#"context.purpose in ["batch", "backfill"]"#,
    ),
    (
        "set-operator",
        "epsilon-required-for-purposes",
        r#"["analytics", "research"].contains(context.purpose)"#,
        r#"context.purpose == ["analytics", "research"]"#,
    ),
    // A `Prove` context field misspelled.
    ("context-field-typo", "rate-limit", "context.jobs_last_minute", "context.jobs_last_min"),
    ("context-field-typo", "epsilon-floor", "context.epsilon_micro", "context.epsilon_mirco"),
    ("context-field-typo", "priority-ceiling", "context.priority", "context.priorty"),
    ("context-field-typo", "business-hours", "context.weekday", "context.week_day"),
    ("context-field-typo", "region-required", "context.region", "context.regoin"),
    ("context-field-typo", "priority-floor-for-tier", "context.priority", "context.priorities"),
    ("context-field-typo", "purpose-epsilon-ceiling", "context.purpose", "context.purpse"),
    ("context-field-typo", "off-hours-priority-ceiling", "context.hour_utc < 8", "context.hour < 8"),
    // A cap annotation out of range or not a whole number.
    ("bad-cap", "priority-cap", r#"@priority_cap("3")"#, r#"@priority_cap("12")"#),
    ("bad-cap", "priority-cap", r#"@priority_cap("3")"#, r#"@priority_cap("high")"#),
    ("bad-cap", "epsilon-cap", r#"@epsilon_micro_cap("250000")"#, r#"@epsilon_micro_cap("-250000")"#),
    ("bad-cap", "epsilon-cap", r#"@epsilon_micro_cap("250000")"#, r#"@epsilon_micro_cap("250000.0")"#),
    ("bad-cap", "weight-by-tier", r#"@weight("4")"#, r#"@weight("4.5")"#),
    ("bad-cap", "weight-by-tier", r#"@weight("4")"#, r#"@weight("99999999999")"#),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint_corpus")
}

fn cedar_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    files.sort();
    files
}

/// `// mutation: <kind>; base: <id>` → (kind, id).
fn header(text: &str) -> (String, String) {
    let first = text.lines().next().unwrap_or("");
    let rest = first
        .strip_prefix("// mutation: ")
        .unwrap_or_else(|| panic!("no mutation header: {first}"));
    let (kind, base) = rest
        .split_once("; base: ")
        .unwrap_or_else(|| panic!("no base in header: {first}"));
    (kind.trim().to_owned(), base.trim().to_owned())
}

/// What the generator makes: file name → text, for the bases (`bases/<id>.cedar`: the newest
/// version of every catalog template rendered for [`TENANT`] at its defaults) and the mutations.
fn generated() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let catalog = Catalog::builtin().expect("catalog");
    let bases: BTreeMap<String, String> = catalog
        .latest()
        .into_iter()
        .map(|t| {
            let r = t
                .render(TENANT, &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{}: {e}", t.id));
            (format!("{}.cedar", t.id), r.source)
        })
        .collect();
    let mut numbers: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mutations = BTreeMap::new();
    for &(kind, id, from, to) in MUTATIONS {
        let base = bases
            .get(&format!("{id}.cedar"))
            .unwrap_or_else(|| panic!("{kind}: no template {id} in the catalog"));
        let found = base.matches(from).count();
        assert_eq!(
            found, 1,
            "{kind} of {id}: `{from}` occurs {found} times in the rendered template, not once; edit MUTATIONS"
        );
        let n = numbers.entry(kind).or_default();
        *n += 1;
        let text = format!("// mutation: {kind}; base: {id}\n{}", base.replacen(from, to, 1));
        mutations.insert(format!("{kind}-{n:02}.cedar"), text);
    }
    (bases, mutations)
}

/// With `ZKQ_BLESS=1`, rewrites the corpus from the generator once per run (before any test
/// reads it) and removes `.cedar` files it no longer makes.
fn bless_if_asked() {
    static BLESS_ONCE: Once = Once::new();
    BLESS_ONCE.call_once(|| {
        if std::env::var_os("ZKQ_BLESS").is_none_or(|v| v != "1") {
            return;
        }
        let (bases, mutations) = generated();
        for (dir, files) in [(dir().join("bases"), &bases), (dir(), &mutations)] {
            std::fs::create_dir_all(&dir).expect("mkdir");
            for old in cedar_files(&dir) {
                std::fs::remove_file(old).expect("remove");
            }
            for (name, text) in files {
                std::fs::write(dir.join(name), text).expect("write");
            }
        }
    });
}

/// The committed `.cedar` files in `dir`: name → text.
fn committed(dir: &Path) -> BTreeMap<String, String> {
    cedar_files(dir)
        .into_iter()
        .map(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect()
}

#[test]
fn the_corpus_is_the_catalog_rendered_and_mutated() {
    bless_if_asked();
    let (bases, mutations) = generated();
    assert!(bases.len() >= MIN_BASES, "{} bases", bases.len());
    for (what, dir, want) in [("base", dir().join("bases"), &bases), ("mutation", dir(), &mutations)] {
        let have = committed(&dir);
        let names: BTreeSet<&String> = have.keys().chain(want.keys()).collect();
        for name in names {
            match (have.get(name), want.get(name)) {
                (Some(h), Some(w)) => assert_eq!(h, w, "{what} {name} differs from the current catalog; {BLESS}"),
                (None, _) => panic!("{what} {name} is missing; {BLESS}"),
                (_, None) => panic!("{what} {name} is not generated any more; {BLESS}"),
            }
        }
    }
    let templates: BTreeSet<&str> = MUTATIONS.iter().map(|m| m.1).collect();
    assert!(
        templates.len() >= MIN_BASES,
        "the mutations touch only {} templates",
        templates.len()
    );
}

#[test]
fn the_bases_are_clean() {
    bless_if_asked();
    let bases = cedar_files(&dir().join("bases"));
    assert!(bases.len() >= MIN_BASES, "{} bases", bases.len());
    for b in bases {
        let text = std::fs::read_to_string(&b).expect("read");
        assert_eq!(lint(&text), vec![], "{}", b.display());
    }
}

#[test]
fn lint_finds_and_suggest_fixes_the_corpus() {
    bless_if_asked();
    let files = cedar_files(&dir());
    assert!(files.len() >= MIN_FILES, "{} files", files.len());
    // kind → (files, fixed, still failing)
    let mut table: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut failing = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let text = std::fs::read_to_string(path).expect("read");
        let (kind, base) = header(&text);
        assert!(
            dir().join("bases").join(format!("{base}.cedar")).exists(),
            "{name}: no base {base}"
        );
        let findings = lint(&text);
        assert!(!findings.is_empty(), "{name}: no finding");
        let s = suggest(&text, name);
        assert_eq!(
            lint(&s.fixed),
            s.unfixed,
            "{name}: unfixed must be what lint still finds"
        );
        if s.fixes.is_empty() {
            assert!(s.diff.is_empty() && s.fixed == text, "{name}: a diff without fixes");
        } else {
            assert!(
                s.diff.starts_with(&format!("--- a/{name}\n+++ b/{name}\n")),
                "{name}: {}",
                s.diff
            );
        }
        let row = table.entry(kind).or_default();
        row.0 += 1;
        if s.unfixed.is_empty() {
            row.1 += 1;
        } else {
            row.2 += 1;
            failing.push(format!(
                "{name}: {}",
                s.unfixed
                    .iter()
                    .map(|f| f.to_string().replace('\n', " "))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        if std::env::var_os("ZKQ_CORPUS_FIXES").is_some() {
            for f in &s.fixes {
                println!("{name}: {f}");
            }
        }
    }
    let (total, fixed) = table.values().fold((0, 0), |(t, f), r| (t + r.0, f + r.1));
    println!("| mutation | files | fixed | still failing |\n|---|---:|---:|---:|");
    for (kind, (n, ok, bad)) in &table {
        println!("| {kind} | {n} | {ok} | {bad} |");
    }
    let share = fixed as f64 / total as f64;
    println!(
        "| **all** | {total} | {fixed} ({:.1} %) | {} ({:.1} %) |",
        100.0 * share,
        total - fixed,
        100.0 * (1.0 - share)
    );
    for f in &failing {
        println!("still failing: {f}");
    }
    assert!(share >= MIN_FIXED_SHARE, "fixed share {share:.3} < {MIN_FIXED_SHARE}");
}
