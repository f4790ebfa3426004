//! The Prometheus alerting rules in `infra/prometheus/zkq-alerts.yml` only name series the
//! worker exports, with labels (and fixed label values) those series carry, and every alert has
//! a playbook in `docs/playbooks/<Alert>.md` that names it, referenced by exactly that alert.
//!
//! The rule file is read by a small line-based reader (no YAML dependency): `- alert:` starts a
//! rule, `key: value` lines and `key: |` / `key: >` blocks fill it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use zkq_scheduler::fair::metrics::FAIRNESS_METRIC_NAMES;
use zkq_scheduler::metrics::{series_names, METRICS};

mod scrape;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rules_text() -> String {
    std::fs::read_to_string(repo().join("infra/prometheus/zkq-alerts.yml")).expect("read the rule file")
}

/// One alerting rule: its name and its keys (nested `labels:` / `annotations:` keys flattened).
#[derive(Debug, Default)]
struct Rule {
    alert: String,
    fields: BTreeMap<String, String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"'))) {
        v[1..v.len() - 1].to_owned()
    } else {
        v.to_owned()
    }
}

/// The alerting rules of a rule file (line-based; enough for the file's own layout).
fn parse_rules(text: &str) -> Vec<Rule> {
    let lines: Vec<&str> = text.lines().collect();
    let mut rules: Vec<Rule> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        i += 1;
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix("- alert:") {
            rules.push(Rule { alert: unquote(name), ..Rule::default() });
            continue;
        }
        assert!(!t.starts_with("- record:"), "recording rules are not expected here: {t}");
        let Some(rule) = rules.last_mut() else { continue };
        let Some((key, value)) = t.split_once(':') else { panic!("not a `key: value` line: {line:?}") };
        let value = value.trim();
        if key == "labels" || key == "annotations" {
            assert!(value.is_empty(), "{key} is a mapping");
            continue;
        }
        let value = if value == "|" || value == ">" || value == "|-" || value == ">-" {
            let own = indent(line);
            let mut block = Vec::new();
            while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > own) {
                block.push(lines[i].trim());
                i += 1;
            }
            block.join(if value.starts_with('|') { "\n" } else { " " }).trim().to_owned()
        } else {
            let value = match value.split_once(" #") {
                Some((v, _)) if !v.starts_with(['\'', '"']) => v.trim(),
                _ => value,
            };
            // A plain (unquoted) scalar may not hold `: ` nor start with `{`, `[` or `*` in YAML.
            assert!(
                value.starts_with(['\'', '"']) || !(value.contains(": ") || value.starts_with(['{', '[', '*', '&', '!', '%', '@', '`'])),
                "{}: the value of {key} must be quoted: {value}",
                rule.alert
            );
            unquote(value)
        };
        assert!(rule.fields.insert(key.to_owned(), value).is_none(), "{}: key {key} given twice", rule.alert);
    }
    rules
}

/// Series name → label name → the label values seen, from a scrape.
type Exported = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn add_series(text: &str, out: &mut Exported) {
    for l in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let name = l.split(['{', ' ']).next().unwrap_or("").to_owned();
        let labels = out.entry(name).or_default();
        if let Some(rest) = l.split_once('{').map(|(_, r)| r) {
            let inner = rest.rsplit_once('}').map(|(a, _)| a).unwrap_or("");
            for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').expect("label=value");
                labels.entry(k.to_owned()).or_default().insert(v.trim_matches('"').to_owned());
            }
        }
    }
}

/// Every series a worker renders when it has done one of everything, plus the fair scheduler's.
fn exported() -> Exported {
    let mut out = Exported::new();
    add_series(&scrape::worker(), &mut out);
    let listed: BTreeSet<String> = METRICS.iter().flat_map(|(n, k)| series_names(n, k)).collect();
    assert_eq!(out.keys().cloned().collect::<BTreeSet<_>>(), listed, "METRICS lists exactly the rendered series");
    let before = out.len();
    add_series(&scrape::fairness(), &mut out);
    for family in FAIRNESS_METRIC_NAMES {
        assert!(out.keys().any(|s| s.starts_with(family)), "fairness family {family} renders samples");
    }
    assert!(out.len() > before);
    out
}

/// Labels whose values are fixed by the worker (so a matcher on them can be checked).
const ENUM_LABELS: &[&str] = &["outcome", "kind", "decision", "step", "stage"];
/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: &[&str] = &["instance", "job"];

/// A `zkq_` series used in an expression, with its matchers (label, operator, value).
#[derive(Debug)]
struct Use {
    name: String,
    matchers: Vec<(String, String, String)>,
}

/// The `zkq_` series an expression names (label values inside quotes are skipped).
fn series_uses(expr: &str) -> Vec<Use> {
    let chars: Vec<char> = expr.chars().collect();
    let mut uses = Vec::new();
    let mut i = 0;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    while i < chars.len() {
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if ident(chars[i]) {
            let start = i;
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if !word.starts_with("zkq_") {
                continue;
            }
            let mut matchers = Vec::new();
            if chars.get(i) == Some(&'{') {
                let end = chars[i..].iter().position(|c| *c == '}').expect("closing brace") + i;
                let inner: String = chars[i + 1..end].iter().collect();
                for m in inner.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                    let op_at = m.find(['=', '!']).expect("a matcher operator");
                    let (label, rest) = m.split_at(op_at);
                    let op: String = rest.chars().take_while(|c| matches!(c, '=' | '!' | '~')).collect();
                    let value = rest[op.len()..].trim().trim_matches('"').to_owned();
                    matchers.push((label.trim().to_owned(), op, value));
                }
                i = end + 1;
            }
            uses.push(Use { name: word, matchers });
            continue;
        }
        i += 1;
    }
    uses
}

/// Labels in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)`, `group_left/right (...)`.
fn grouping_labels(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for kw in ["by", "without", "on", "ignoring", "group_left", "group_right"] {
        let mut rest = expr;
        while let Some(at) = rest.find(kw) {
            let before_ok = at == 0 || !rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            let after = rest[at + kw.len()..].trim_start();
            if before_ok && after.starts_with('(') {
                let inner = &after[1..after.find(')').expect("closing paren")];
                out.extend(inner.split(',').map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()));
            }
            rest = &rest[at + kw.len()..];
        }
    }
    out
}

/// `{{ $labels.x }}` references in a template.
fn label_refs(text: &str) -> Vec<String> {
    text.split("$labels.")
        .skip(1)
        .map(|r| r.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect()
}

fn is_camel_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_duration(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && ["s", "m", "h", "d"].contains(&&s[digits.len()..])
}

/// Problems of one rule against the exported series (empty: none).
fn check_rule(rule: &Rule, exported: &Exported) -> Vec<String> {
    let mut errs = Vec::new();
    let a = &rule.alert;
    if !is_camel_case(a) {
        errs.push(format!("{a}: alert name is not CamelCase"));
    }
    for key in ["expr", "for", "severity", "summary", "description", "runbook_url"] {
        if rule.fields.get(key).is_none_or(|v| v.is_empty()) {
            errs.push(format!("{a}: no {key}"));
        }
    }
    if let Some(f) = rule.fields.get("for") {
        if !is_duration(f) {
            errs.push(format!("{a}: `for: {f}` is not a duration"));
        }
    }
    if let Some(s) = rule.fields.get("severity") {
        if !["critical", "warning", "info"].contains(&s.as_str()) {
            errs.push(format!("{a}: severity {s} is not critical, warning or info"));
        }
    }
    let expected_url = format!("docs/playbooks/{a}.md");
    if rule.fields.get("runbook_url").is_some_and(|u| *u != expected_url) {
        errs.push(format!("{a}: runbook_url is not {expected_url}"));
    }
    let Some(expr) = rule.fields.get("expr") else { return errs };
    let uses = series_uses(expr);
    if uses.is_empty() && !expr.contains("up{") {
        errs.push(format!("{a}: expr names no zkq series: {expr}"));
    }
    let mut series_labels: BTreeSet<String> = TARGET_LABELS.iter().map(|s| s.to_string()).collect();
    for u in &uses {
        let Some(labels) = exported.get(&u.name) else {
            errs.push(format!("{a}: uses {}, which the worker does not export", u.name));
            continue;
        };
        series_labels.extend(labels.keys().cloned());
        for (label, op, value) in &u.matchers {
            if TARGET_LABELS.contains(&label.as_str()) {
                continue;
            }
            let Some(values) = labels.get(label) else {
                errs.push(format!("{a}: {} has no label {label}", u.name));
                continue;
            };
            if ENUM_LABELS.contains(&label.as_str()) && !op.starts_with('!') {
                let alternatives: Vec<&str> = if op == "=~" { value.split('|').collect() } else { vec![value.as_str()] };
                for v in alternatives {
                    if !values.contains(v) {
                        errs.push(format!("{a}: {}{{{label}}} never has the value {v:?} (seen: {values:?})", u.name));
                    }
                }
            }
        }
    }
    let grouping = grouping_labels(expr);
    for l in &grouping {
        if !series_labels.contains(l) {
            errs.push(format!("{a}: groups by {l}, a label none of its series carries"));
        }
    }
    let aggregated = ["sum", "max", "min", "avg", "count", "absent", "histogram_quantile"]
        .iter()
        .any(|f| expr.contains(&format!("{f} (")) || expr.contains(&format!("{f}(")) || expr.contains(&format!("{f} by")));
    for key in ["summary", "description"] {
        for l in label_refs(rule.fields.get(key).map(String::as_str).unwrap_or("")) {
            let ok = if aggregated { grouping.contains(&l) } else { series_labels.contains(&l) };
            if !ok {
                errs.push(format!("{a}: {key} uses $labels.{l}, which the expression's result does not carry"));
            }
        }
    }
    errs
}

#[test]
fn every_alert_is_complete_and_names_exported_series() {
    let rules = parse_rules(&rules_text());
    assert!(rules.len() >= 8, "expected the pipeline alerts, found {}", rules.len());
    let exported = exported();
    let mut names = BTreeSet::new();
    let mut errs = Vec::new();
    for r in &rules {
        if !names.insert(r.alert.clone()) {
            errs.push(format!("{}: alert name given twice", r.alert));
        }
        errs.extend(check_rule(r, &exported));
    }
    assert!(errs.is_empty(), "alert rule problems:\n{}", errs.join("\n"));
    // The signals the promise and issue 21 name are all covered.
    let used: BTreeSet<String> = rules.iter().flat_map(|r| series_uses(&r.fields["expr"])).map(|u| u.name).collect();
    for s in [
        "zkq_worker_up",
        "zkq_jobs_total",
        "zkq_job_end_to_end_seconds_bucket",
        "zkq_oldest_queued_job_age_seconds",
        "zkq_device_panics_total",
        "zkq_worker_undeliverable_total",
        "zkq_worker_consumption_paused",
        "zkq_budget_blocked_total",
        "zkq_policy_decisions_total",
        "zkq_fairness_gini",
    ] {
        assert!(used.contains(s), "no alert watches {s}");
    }
}

#[test]
fn every_alert_has_its_playbook_and_every_playbook_its_alert() {
    let rules = parse_rules(&rules_text());
    let dir = repo().join("docs/playbooks");
    let mut referenced: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rules {
        let url = &r.fields["runbook_url"];
        let file = url.strip_prefix("docs/playbooks/").expect("a docs/playbooks/ link");
        *referenced.entry(file.to_owned()).or_default() += 1;
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: playbook {url}: {e}", r.alert));
        let heading = text.lines().find(|l| l.starts_with("# ")).unwrap_or_else(|| panic!("{url} has no heading"));
        assert!(heading.contains(&r.alert), "{url}: heading {heading:?} does not name {}", r.alert);
        for section in ["## What it means", "## Likely causes", "## Check first", "## Silencing"] {
            assert!(text.contains(section), "{url} has no {section:?} section");
        }
    }
    // Drift alerts (`zkq drift watch --record`) link their playbooks too: the same checks.
    for series in zkq_drift::pg::WATCHED {
        let alert = series.alert_name();
        let file = format!("{alert}.md");
        *referenced.entry(file.clone()).or_default() += 1;
        let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("drift playbook {file}: {e}"));
        assert!(text.lines().next().is_some_and(|h| h == format!("# {alert}")), "{file}'s heading names {alert}");
        for section in ["## What it means", "## Likely causes", "## Check first", "## Silencing"] {
            assert!(text.contains(section), "{file} has no {section:?} section");
        }
    }
    // The predicted-shift alert (`zkq drift predict --record`) too.
    let alert = zkq_drift::pg::changes::PREDICTED_ALERT;
    assert_eq!(zkq_drift::pg::changes::PREDICTED_PLAYBOOK, format!("docs/playbooks/{alert}.md"));
    let file = format!("{alert}.md");
    *referenced.entry(file.clone()).or_default() += 1;
    let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("drift playbook {file}: {e}"));
    assert!(text.lines().next().is_some_and(|h| h == format!("# {alert}")), "{file}'s heading names {alert}");
    for section in ["## What it means", "## Likely causes", "## Check first", "## Silencing"] {
        assert!(text.contains(section), "{file} has no {section:?} section");
    }
    let index = std::fs::read_to_string(dir.join("README.md")).expect("docs/playbooks/README.md");
    for entry in std::fs::read_dir(&dir).expect("docs/playbooks") {
        let file = entry.expect("entry").file_name().into_string().expect("utf-8 name");
        if file == "README.md" {
            continue;
        }
        assert_eq!(referenced.get(&file).copied(), Some(1), "{file} is the playbook of exactly one alert");
        assert!(index.contains(&format!("({file})")), "docs/playbooks/README.md links {file}");
    }
}

#[test]
fn the_checks_can_fail() {
    let exported = exported();
    let rule = |alert: &str, expr: &str, summary: &str| Rule {
        alert: alert.to_owned(),
        fields: [
            ("expr", expr),
            ("for", "5m"),
            ("severity", "warning"),
            ("summary", summary),
            ("description", "d"),
            ("runbook_url", &format!("docs/playbooks/{alert}.md")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    };
    assert!(check_rule(&rule("Ok", r#"sum by (kind) (rate(zkq_worker_undeliverable_total{kind="reply"}[5m])) > 0"#, "{{ $labels.kind }}"), &exported).is_empty());
    let bad = [
        rule("Typo", "zkq_job_total > 0", "s"),
        rule("BadValue", r#"zkq_jobs_total{outcome="faild"} > 0"#, "s"),
        rule("BadRegex", r#"zkq_jobs_total{outcome=~"proved|oops"} > 0"#, "s"),
        rule("BadLabel", r#"zkq_device_panics_total{tenant="a"} > 0"#, "s"),
        rule("BadBy", "sum by (tenant) (zkq_worker_consumption_paused) > 0", "s"),
        rule("BadRef", "sum(zkq_worker_consumption_paused) > 0", "{{ $labels.instance }}"),
        rule("not_camel", "zkq_worker_up == 0", "s"),
    ];
    for r in &bad {
        assert!(!check_rule(r, &exported).is_empty(), "{} passes but should not", r.alert);
    }
    let parsed = parse_rules("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          a\n          + b\n        for: 1m\n        labels:\n          severity: info\n      - alert: B\n        expr: >\n          c\n          d\n");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].fields["expr"], "a\n+ b");
    assert_eq!(parsed[0].fields["severity"], "info");
    assert_eq!(parsed[1].fields["expr"], "c d");
}
