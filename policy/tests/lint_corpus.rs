//! The lint corpus: broken policies, each a mutation of one base policy (`lint_corpus/bases/`,
//! see `lint_corpus/README.md`), run through lint and suggest. Every file must have a finding,
//! every kept fix must leave a file that validates whenever suggest says nothing is left, and at
//! least [`MIN_FIXED_SHARE`] of the files must come out clean. Prints a table per mutation kind.
#![allow(clippy::print_stdout, reason = "the test prints the corpus table per mutation kind")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zkq_policy::lint::lint;
use zkq_policy::suggest::suggest;

/// The share of corpus files suggest must fix completely.
const MIN_FIXED_SHARE: f64 = 0.8;
/// Fewest files the corpus must hold.
const MIN_FILES: usize = 60;

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
    let rest = first.strip_prefix("// mutation: ").unwrap_or_else(|| panic!("no mutation header: {first}"));
    let (kind, base) = rest.split_once("; base: ").unwrap_or_else(|| panic!("no base in header: {first}"));
    (kind.trim().to_owned(), base.trim().to_owned())
}

#[test]
fn the_bases_are_clean() {
    let bases = cedar_files(&dir().join("bases"));
    assert!(bases.len() >= 20, "{} bases", bases.len());
    for b in bases {
        let text = std::fs::read_to_string(&b).expect("read");
        assert_eq!(lint(&text), vec![], "{}", b.display());
    }
}

#[test]
fn lint_finds_and_suggest_fixes_the_corpus() {
    let files = cedar_files(&dir());
    assert!(files.len() >= MIN_FILES, "{} files", files.len());
    // kind → (files, fixed, still failing)
    let mut table: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut failing = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let text = std::fs::read_to_string(path).expect("read");
        let (kind, base) = header(&text);
        assert!(dir().join("bases").join(format!("{base}.cedar")).exists(), "{name}: no base {base}");
        let findings = lint(&text);
        assert!(!findings.is_empty(), "{name}: no finding");
        let s = suggest(&text, name);
        assert_eq!(lint(&s.fixed), s.unfixed, "{name}: unfixed must be what lint still finds");
        if s.fixes.is_empty() {
            assert!(s.diff.is_empty() && s.fixed == text, "{name}: a diff without fixes");
        } else {
            assert!(s.diff.starts_with(&format!("--- a/{name}\n+++ b/{name}\n")), "{name}: {}", s.diff);
        }
        let row = table.entry(kind).or_default();
        row.0 += 1;
        if s.unfixed.is_empty() {
            row.1 += 1;
        } else {
            row.2 += 1;
            failing.push(format!("{name}: {}", s.unfixed.iter().map(|f| f.to_string().replace('\n', " ")).collect::<Vec<_>>().join(" | ")));
        }
    }
    let (total, fixed) = table.values().fold((0, 0), |(t, f), r| (t + r.0, f + r.1));
    println!("| mutation | files | fixed | still failing |\n|---|---:|---:|---:|");
    for (kind, (n, ok, bad)) in &table {
        println!("| {kind} | {n} | {ok} | {bad} |");
    }
    let share = fixed as f64 / total as f64;
    println!("| **all** | {total} | {fixed} ({:.1} %) | {} ({:.1} %) |", 100.0 * share, total - fixed, 100.0 * (1.0 - share));
    for f in &failing {
        println!("still failing: {f}");
    }
    assert!(share >= MIN_FIXED_SHARE, "fixed share {share:.3} < {MIN_FIXED_SHARE}");
}
