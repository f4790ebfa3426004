//! Lint: every problem of a Cedar policy file, each with its position and, where one is known, help.
//!
//! [`lint`] reports what makes zkq refuse a file — every parse error, every strict-mode validation
//! error against zkq's schema ([`crate::schema::CEDAR_SCHEMA`]) and zkq's own checks (cap
//! annotations, templates whose slots are never linked). [`warnings`] reports what zkq accepts
//! but an author should look at twice (a permit for every tenant, a cap on a forbid).
//!
//! Cedar's parser stops a policy set at its first broken policy and its validator's `Display`
//! shows one error, so the file is first cut into statements here (at each `;` outside strings and
//! comments, and where a new `permit`/`forbid`/annotation starts after a finished policy — a
//! missing `;`). Each statement is parsed on its own, in a copy of the file where every other
//! statement is blanked out, so Cedar's byte spans stay positions in the file. The statements that
//! parse are then validated together; each error's labelled span gives its line and column.
//! Statements are numbered as Cedar's `PolicySet::from_str` numbers them: `policy0`, `policy1`, …
//!
//! Cedar's validator: <https://docs.cedarpolicy.com/policies/validation.html>; its error kinds:
//! <https://docs.rs/cedar-policy/4.14.1/cedar_policy/enum.ValidationError.html>.

use std::fmt;
use std::sync::OnceLock;

use cedar_policy::{Policy, PolicyId, PolicySet, Schema, Template, ValidationError, ValidationMode, Validator};
use miette::Diagnostic;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// zkq refuses the file until it is fixed.
    Error,
    /// zkq accepts it; an author should look again.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable short kebab-case code (`docs/policy-lint.md` lists them), e.g. `unknown-attribute`.
    pub code: &'static str,
    /// What is wrong, one line.
    pub message: String,
    /// Byte offset of the start of the offending text.
    pub start: usize,
    /// Byte offset just past its end (`start` for a point).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column (in characters) of `start`.
    pub column: usize,
    /// 1-based line of `end`.
    pub end_line: usize,
    /// 1-based column of `end`.
    pub end_column: usize,
    /// How to fix it, when Cedar or zkq knows (e.g. "did you mean `constraints`?").
    pub help: Option<String>,
    /// The statement's index in the file (0-based), when the finding belongs to one.
    pub policy_index: Option<usize>,
}

impl Finding {
    /// The statement's id as Cedar's `PolicySet::from_str` names it (`policy<index>`).
    pub fn policy_id(&self) -> Option<String> {
        self.policy_index.map(|i| format!("policy{i}"))
    }

    /// Displays the finding as `file:line:col: code: message`, then a `help:` line if any.
    pub fn in_file<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        InFile { finding: self, file }
    }
}

struct InFile<'a> {
    finding: &'a Finding,
    file: &'a str,
}

impl fmt::Display for InFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.finding)
    }
}

impl fmt::Display for Finding {
    /// `line:col: code: message [policyN]`, then `  help: …` on its own line if any; warnings
    /// say so before the code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(id) = self.policy_id() {
            write!(f, " [{id}]")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// 1-based (line, column in characters) of byte offset `at` in `source` (clamped to its length and
/// to a character boundary).
pub fn line_col(source: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn finding(
    source: &str,
    severity: Severity,
    code: &'static str,
    message: String,
    span: (usize, usize),
    help: Option<String>,
    policy_index: Option<usize>,
) -> Finding {
    let (line, column) = line_col(source, span.0);
    let (end_line, end_column) = line_col(source, span.1);
    Finding { severity, code, message, start: span.0, end: span.1, line, column, end_line, end_column, help, policy_index }
}

/// One statement of a file: its byte range and whether it ends with its own `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statement {
    /// Start (first non-blank, non-comment byte).
    pub start: usize,
    /// End, just past the `;` when terminated, else past the last token.
    pub end: usize,
    /// Whether the statement ends with `;`.
    pub terminated: bool,
}

/// Cuts `source` into statements: at each `;` outside strings and comments, and before a
/// `permit`, `forbid` or `@` that starts at nesting depth 0 after the policy head's `)` closed
/// (a missing `;`); the head is the parenthesised scope after `permit`/`forbid`, not an
/// annotation's. Blank and comment-only text between statements belongs to none.
pub(crate) fn statements(source: &str) -> Vec<Statement> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    let mut last_token_end = 0;
    let mut depth: i64 = 0;
    let mut saw_effect = false;
    let mut head_closed = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let is_ident_start = c.is_ascii_alphabetic() || c == b'_';
        if depth == 0 && head_closed && (c == b'@' || is_ident_start) {
            let word_end = (i..bytes.len()).find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')).unwrap_or(bytes.len());
            let word = &source[i..word_end];
            if c == b'@' || word == "permit" || word == "forbid" {
                if let Some(s) = start.take() {
                    out.push(Statement { start: s, end: last_token_end, terminated: false });
                }
                head_closed = false;
                saw_effect = false;
            }
        }
        if depth == 0 && is_ident_start && (source[i..].starts_with("permit") || source[i..].starts_with("forbid")) {
            saw_effect = true;
        }
        if start.is_none() {
            start = Some(i);
        }
        match c {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                last_token_end = i;
                continue;
            }
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => {
                depth -= 1;
                if depth == 0 && c == b')' && saw_effect {
                    head_closed = true;
                }
            }
            b';' if depth <= 0 => {
                if let Some(s) = start.take() {
                    out.push(Statement { start: s, end: i + 1, terminated: true });
                }
                depth = 0;
                head_closed = false;
                saw_effect = false;
            }
            _ if is_ident_start => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                last_token_end = i;
                continue;
            }
            _ => {}
        }
        i += 1;
        last_token_end = i;
    }
    if let Some(s) = start {
        out.push(Statement { start: s, end: last_token_end, terminated: false });
    }
    out
}

/// `source` with everything outside `st` blanked (newlines kept), and a `;` after an
/// unterminated statement, so spans Cedar reports are byte offsets in `source`.
fn isolated(source: &str, st: &Statement) -> String {
    let mut out = String::with_capacity(st.end + 1);
    for c in source[..st.start].chars() {
        if c == '\n' {
            out.push('\n');
        } else {
            // One space per byte keeps every later byte offset.
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out.push_str(&source[st.start..st.end]);
    if !st.terminated {
        out.push(';');
    }
    out
}

/// A statement as Cedar parsed it.
#[derive(Debug, Clone)]
pub(crate) enum Parsed {
    /// A static policy.
    Static(Policy),
    /// A template (it has slots).
    Template(Template),
}

/// The file cut and parsed: each statement with what Cedar made of it, and the parse findings.
pub(crate) struct ParsedFile {
    /// Statement, and its parse when it parsed.
    pub statements: Vec<(Statement, Option<Parsed>)>,
    /// Parse findings (`parse`, `missing-semicolon`).
    pub findings: Vec<Finding>,
}

pub(crate) fn parse_file(source: &str) -> ParsedFile {
    let mut findings = Vec::new();
    let mut parsed = Vec::new();
    for (index, st) in statements(source).into_iter().enumerate() {
        let text = isolated(source, &st);
        let id = PolicyId::new(format!("policy{index}"));
        if !st.terminated {
            findings.push(finding(
                source,
                Severity::Error,
                "missing-semicolon",
                "policy does not end with `;`".to_owned(),
                (st.end, st.end),
                Some("add `;` after the policy's last condition".to_owned()),
                Some(index),
            ));
        }
        let result = match Policy::parse(Some(id.clone()), &text) {
            Ok(p) => Ok(Parsed::Static(p)),
            Err(static_err) => match Template::parse(Some(id), &text) {
                Ok(t) if t.slots().next().is_some() => Ok(Parsed::Template(t)),
                Ok(_) => Err(static_err),
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(p) => parsed.push((st, Some(p))),
            Err(errors) => {
                for e in errors.iter() {
                    let span = first_span(e).unwrap_or((st.start, st.end));
                    let help = e.help().map(|h| h.to_string()).or_else(|| label_text(e));
                    findings.push(finding(source, Severity::Error, "parse", e.to_string(), span, help, Some(index)));
                }
                parsed.push((st, None));
            }
        }
    }
    ParsedFile { statements: parsed, findings }
}

fn first_span(d: &dyn Diagnostic) -> Option<(usize, usize)> {
    let label = d.labels()?.next()?;
    Some((label.offset(), label.offset() + label.len()))
}

fn label_text(d: &dyn Diagnostic) -> Option<String> {
    d.labels()?.find_map(|l| l.label().map(str::to_owned))
}

/// zkq's schema, parsed once (it is a constant; a failure is reported as a finding).
pub(crate) fn zkq_schema() -> Result<&'static Schema, String> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA.get_or_init(|| crate::schema::schema().map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)
}

/// The stable code of a validation error.
fn validation_code(e: &ValidationError) -> &'static str {
    match e {
        ValidationError::UnrecognizedEntityType(_) => "unknown-entity-type",
        ValidationError::UnrecognizedActionId(_) => "unknown-action",
        ValidationError::InvalidActionApplication(_) => "action-not-applicable",
        ValidationError::UnexpectedType(_) => "type-mismatch",
        ValidationError::IncompatibleTypes(_) => "incompatible-types",
        ValidationError::UnsafeAttributeAccess(_) => "unknown-attribute",
        ValidationError::UnsafeOptionalAttributeAccess(_) => "missing-has-guard",
        ValidationError::UndefinedFunction(_) => "unknown-function",
        ValidationError::WrongNumberArguments(_) | ValidationError::FunctionArgumentValidation(_) => "bad-arguments",
        ValidationError::EmptySetForbidden(_) => "empty-set",
        ValidationError::NonLitExtConstructor(_) => "non-literal-extension",
        ValidationError::HierarchyNotRespected(_) => "impossible-hierarchy",
        ValidationError::EntityDerefLevelViolation(_) => "deref-level",
        ValidationError::InvalidEnumEntity(_) => "invalid-enum-entity",
        ValidationError::UnsafeTagAccess(_) | ValidationError::NoTagsAllowed(_) => "tags",
        _ => "invalid",
    }
}

/// Cedar's messages start "for policy `policy0`, "; the finding names the policy itself.
fn strip_policy_prefix(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("for policy `") {
        if let Some(i) = rest.find("`, ") {
            return rest[i + 3..].to_owned();
        }
    }
    text.to_owned()
}

/// The cap annotations zkq reads from permits and their ranges (as `engine.rs`'s `caps_of`
/// checks them when a policy is parsed).
pub const CAP_RANGES: [(&str, u64); 3] =
    [("priority_cap", 9), ("epsilon_micro_cap", 1_000_000_000_000), ("weight", u32::MAX as u64)];

/// Byte span of the annotation `@key(...)` within statement `st` (the whole statement if absent).
fn annotation_span(source: &str, st: &Statement, key: &str) -> (usize, usize) {
    let text = &source[st.start..st.end];
    let needle = format!("@{key}");
    match text.find(&needle) {
        Some(i) => {
            let close = text[i..].find(')').map_or(i + needle.len(), |j| i + j + 1);
            (st.start + i, st.start + close)
        }
        None => (st.start, st.end),
    }
}

fn annotations(p: &Parsed) -> Vec<(String, String)> {
    match p {
        Parsed::Static(p) => p.annotations().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        Parsed::Template(t) => t.annotations().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
    }
}

/// Every error in `source`: parse errors, strict validation errors against zkq's schema, bad cap
/// annotations and unlinked template slots; in file order.
pub fn lint(source: &str) -> Vec<Finding> {
    let file = parse_file(source);
    let mut out = file.findings;
    let mut set = PolicySet::new();
    for (index, (st, parsed)) in file.statements.iter().enumerate() {
        let Some(parsed) = parsed else { continue };
        for (key, value) in annotations(parsed) {
            let Some(&(_, max)) = CAP_RANGES.iter().find(|(k, _)| *k == key) else { continue };
            if value.parse::<u64>().map_or(true, |v| v > max) {
                out.push(finding(
                    source,
                    Severity::Error,
                    "bad-cap",
                    format!("annotation @{key}({value:?}) must be a whole number from 0 to {max}"),
                    annotation_span(source, st, &key),
                    Some(format!("write a number from 0 to {max}, e.g. @{key}(\"{}\")", max.min(9))),
                    Some(index),
                ));
            }
        }
        let added = match parsed {
            Parsed::Static(p) => set.add(p.clone()).map_err(|e| e.to_string()),
            Parsed::Template(t) => {
                let slots: Vec<String> = t.slots().map(|s| s.to_string()).collect();
                let slot = slots.first().cloned().unwrap_or_default();
                let at = source[st.start..st.end].find(&slot).map_or((st.start, st.end), |i| (st.start + i, st.start + i + slot.len()));
                let var = slot.trim_start_matches('?');
                out.push(finding(
                    source,
                    Severity::Error,
                    "unlinked-slot",
                    format!("template slot {} is never linked: zkq stores static policies only", slots.join(", ")),
                    at,
                    Some(format!("name the {var} (`{var} == …`), or drop the constraint to apply to every {var}")),
                    Some(index),
                ));
                set.add_template(t.clone()).map_err(|e| e.to_string())
            }
        };
        if let Err(e) = added {
            out.push(finding(source, Severity::Error, "duplicate", e, (st.start, st.end), None, Some(index)));
        }
    }
    let schema = match zkq_schema() {
        Ok(s) => s,
        Err(e) => {
            out.push(finding(source, Severity::Error, "schema", e, (0, 0), None, None));
            return out;
        }
    };
    let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    for e in result.validation_errors() {
        let index = e.policy_id().to_string().strip_prefix("policy").and_then(|n| n.parse::<usize>().ok());
        let span = first_span(e).unwrap_or_else(|| {
            index.and_then(|i| file.statements.get(i)).map_or((0, 0), |(st, _)| (st.start, st.end))
        });
        let help = e.help().map(|h| strip_policy_prefix(&h.to_string()));
        out.push(finding(source, Severity::Error, validation_code(e), strip_policy_prefix(&e.to_string()), span, help, index));
    }
    out.sort_by_key(|f| (f.start, f.end, f.code));
    out
}

/// What zkq accepts but an author should look at twice: a permit for every tenant
/// (`unconstrained-principal`), a cap annotation on a forbid (`cap-on-forbid`, ignored), and
/// Cedar's own validation warnings (`cedar-warning`, e.g. a policy that can never match). Only
/// statements that parse are checked.
pub fn warnings(source: &str) -> Vec<Finding> {
    let file = parse_file(source);
    let mut out = Vec::new();
    let mut set = PolicySet::new();
    for (index, (st, parsed)) in file.statements.iter().enumerate() {
        let Some(Parsed::Static(p)) = parsed else { continue };
        let Ok(json) = p.to_json() else { continue };
        let effect = json.get("effect").and_then(|e| e.as_str()).unwrap_or("");
        let all = json.pointer("/principal/op").and_then(|o| o.as_str()) == Some("All");
        if effect == "permit" && all {
            let at = source[st.start..st.end].find("principal").map_or((st.start, st.end), |i| (st.start + i, st.start + i + 9));
            out.push(finding(
                source,
                Severity::Warning,
                "unconstrained-principal",
                "this permit applies to every tenant".to_owned(),
                at,
                Some("write `principal == Tenant::\"<tenant>\"` unless it is meant as a shared policy".to_owned()),
                Some(index),
            ));
        }
        if effect == "forbid" {
            for (key, _) in CAP_RANGES {
                if p.annotation(key).is_some() {
                    out.push(finding(
                        source,
                        Severity::Warning,
                        "cap-on-forbid",
                        format!("@{key} on a forbid is ignored: caps come from the permits that allow"),
                        annotation_span(source, st, key),
                        Some(format!("move @{key} to a permit, or delete it")),
                        Some(index),
                    ));
                }
            }
        }
        // Already reported by `lint` if it fails.
        let _ = set.add(p.clone());
    }
    if let Ok(schema) = zkq_schema() {
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        for w in result.validation_warnings() {
            let index = w.policy_id().to_string().strip_prefix("policy").and_then(|n| n.parse::<usize>().ok());
            let span = first_span(w).unwrap_or_else(|| {
                index.and_then(|i| file.statements.get(i)).map_or((0, 0), |(st, _)| (st.start, st.end))
            });
            let help = w.help().map(|h| h.to_string());
            out.push(finding(source, Severity::Warning, "cedar-warning", strip_policy_prefix(&w.to_string()), span, help, index));
        }
    }
    out.sort_by_key(|f| (f.start, f.end, f.code));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two policies, each with an attribute typo, the second also with a wrong literal type.
    const TWO_TYPOS: &str = "permit(principal == Tenant::\"acme\", action == Action::\"Prove\", resource)\n  when { resource.constraint > 1 };\n\npermit(principal == Tenant::\"acme\", action == Action::\"Prove\", resource)\n  when { context.priorty < 5 && context.purpose == 3 };\n";
    /// Two broken statements and a good one between them: every parse error is reported.
    const TWO_PARSE_ERRORS: &str = "permit(principal, action resource);\npermit(principal, action, resource);\nforbid(principal, action, resource) when { context.x = 3 };\n";
    /// A missing `;` between two policies.
    const NO_SEMICOLON: &str = "permit(principal == Tenant::\"a\", action, resource) when { true }\n// next\n@id(\"b\")\npermit(principal == Tenant::\"b\", action, resource);";
    /// A clean file with comments, annotations and a `;` inside a string.
    const CLEAN: &str = "// acme's rules\n@id(\"kyc\") @priority_cap(\"5\")\npermit(principal == Tenant::\"acme\", action == Action::\"Prove\", resource)\nwhen { context.purpose == \"k;y\" && (context has deadline_in_ms && context.deadline_in_ms > 10) };\nforbid(principal, action, resource) when { context.region == \"cn\" };\n";

    #[test]
    fn every_validation_error_of_every_policy_is_reported_with_its_position() {
        let found = lint(TWO_TYPOS);
        let codes: Vec<_> = found.iter().map(|f| (f.code, f.line, f.column, f.policy_index)).collect();
        assert_eq!(
            codes,
            vec![("unknown-attribute", 2, 10, Some(0)), ("unknown-attribute", 5, 10, Some(1)), ("incompatible-types", 5, 33, Some(1))],
            "{found:#?}"
        );
        assert_eq!(found[0].help.as_deref(), Some("did you mean `constraints`?"));
        assert_eq!(found[0].message, "attribute `constraint` on entity type `Circuit` not found");
        assert_eq!(&TWO_TYPOS[found[1].start..found[1].end], "context.priorty");
        let shown = found[0].in_file("acme.cedar").to_string();
        assert_eq!(
            shown,
            "acme.cedar:2:10: unknown-attribute: attribute `constraint` on entity type `Circuit` not found [policy0]\n  help: did you mean `constraints`?"
        );
    }

    #[test]
    fn every_parse_error_is_reported_and_good_statements_still_validate() {
        let found = lint(TWO_PARSE_ERRORS);
        let where_: Vec<_> = found.iter().map(|f| (f.code, f.line, f.policy_index)).collect();
        assert_eq!(where_, vec![("parse", 1, Some(0)), ("parse", 3, Some(2))], "{found:#?}");
    }

    #[test]
    fn a_missing_semicolon_is_found_where_it_belongs_and_both_policies_are_checked() {
        let found = lint(NO_SEMICOLON);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].code, found[0].line, found[0].column), ("missing-semicolon", 1, 65));
        assert_eq!(statements(NO_SEMICOLON).len(), 2);
    }

    #[test]
    fn a_clean_file_has_no_findings() {
        assert_eq!(lint(CLEAN), vec![]);
        assert_eq!(statements(CLEAN).len(), 2);
    }

    #[test]
    fn bad_caps_are_found_exactly_when_the_engine_refuses_them() {
        for (cap, bad) in [("priority_cap", "12"), ("priority_cap", "5"), ("weight", "-1"), ("epsilon_micro_cap", "lots"), ("weight", "3")] {
            let src = format!("@{cap}(\"{bad}\") permit(principal, action, resource);");
            let engine_refuses = crate::PolicyEngine::parse("p", &src).is_err();
            let found = lint(&src);
            assert_eq!(found.iter().any(|f| f.code == "bad-cap"), engine_refuses, "{src}: {found:?}");
            if engine_refuses {
                assert_eq!(&src[found[0].start..found[0].end], format!("@{cap}(\"{bad}\")"));
            }
        }
    }

    #[test]
    fn a_template_slot_is_an_unlinked_slot_at_the_slot() {
        let src = "permit(principal, action, resource in ?resource);";
        let found = lint(src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].code, &src[found[0].start..found[0].end]), ("unlinked-slot", "?resource"));
    }

    #[test]
    fn warnings_flag_permits_for_everyone_and_caps_on_forbids() {
        let w = warnings(CLEAN);
        assert!(w.is_empty(), "{w:?}");
        let w = warnings("permit(principal, action, resource);\n@weight(\"3\") forbid(principal == Tenant::\"a\", action, resource);");
        let codes: Vec<_> = w.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec!["unconstrained-principal", "cap-on-forbid"], "{w:?}");
        assert!(w.iter().all(|f| f.severity == Severity::Warning));
    }

    #[test]
    fn positions_are_in_characters_on_non_ascii_lines() {
        let src = "// ε für alle\npermit(principal, action, resource) when { context.purpose == \"ü\" && resource.nme == \"x\" };";
        let found = lint(src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(&src[found[0].start..found[0].end], "resource.nme");
        assert_eq!((found[0].line, found[0].column), (2, 70));
    }
}
