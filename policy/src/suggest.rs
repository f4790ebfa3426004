//! Suggest: a fix for each [`lint`](crate::lint::lint) finding, as a unified diff the author reviews.
//!
//! Fixes come from Cedar's own "did you mean" help (attribute, entity type and action typos) and
//! from zkq's heuristics where Cedar has none:
//!
//! | code | fix |
//! |---|---|
//! | `unknown-attribute` | Cedar's suggestion, else the nearest attribute of that entity type (or of the `Prove` context) by edit distance |
//! | `unknown-entity-type`, `unknown-action` | Cedar's suggestion, else the nearest schema name |
//! | `type-mismatch` | a literal of the wrong kind converted (`"5"` → `5`, `5` → `"5"`, `"true"` → `true`); `x in [..]` on a set of non-entities → `[..].contains(x)` |
//! | `incompatible-types` | `x == [..]` → `[..].contains(x)`; a literal compared to an attribute of another type converted to the attribute's type; `["1", "2"].contains(x)` on a Long → `[1, 2].contains(x)` |
//! | `missing-has-guard` | the comparison reading an optional attribute wrapped as `(e has a && …)` |
//! | `missing-semicolon` | `;` inserted |
//! | `unlinked-slot` | `resource in ?resource` → `resource` (the scope becomes unconstrained: the fix says so) |
//! | `bad-cap` | the value clamped into range (`"12"` → `"9"` for `@priority_cap`) |
//!
//! The fixes are applied one at a time and the file is linted again after each. A fix is kept
//! only if the result is strictly better: fewer parse findings; or as many, and fewer unknown
//! entity types and actions; or as many of both, and fewer findings in all. (A parse error hides
//! the policy from the validator, and an unknown type in a policy's scope stops Cedar from
//! type-checking its conditions, so fixing either may reveal findings they hid.) This repeats until the file is clean or no fix helps (at most [`MAX_ROUNDS`]). The diff
//! is made from the kept fixes only; what is left is in [`Suggestion::unfixed`].

use std::fmt;
use std::sync::OnceLock;

use cedar_policy::SchemaFragment;

use crate::lint::{lint, Finding};

/// Most fixes [`suggest`] applies to one file.
pub const MAX_ROUNDS: usize = 64;

/// A fix that was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedFix {
    /// The code of the finding it fixes.
    pub code: &'static str,
    /// 1-based line of the finding in the text as it was when the fix was applied.
    pub line: usize,
    /// 1-based column, likewise.
    pub column: usize,
    /// What changed: "`old` → `new`".
    pub description: String,
    /// A caveat the author must weigh (e.g. the fix widens who the policy applies to).
    pub caveat: Option<String>,
}

impl fmt::Display for AppliedFix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.line, self.column, self.code, self.description)?;
        if let Some(c) = &self.caveat {
            write!(f, " (note: {c})")?;
        }
        Ok(())
    }
}

/// What [`suggest`] proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The file with every kept fix applied.
    pub fixed: String,
    /// Unified diff from the file to `fixed` (`--- a/<name>`, `+++ b/<name>`); empty when
    /// nothing was fixed.
    pub diff: String,
    /// The kept fixes, in the order applied.
    pub fixes: Vec<AppliedFix>,
    /// What `fixed` still has ([`lint`] of `fixed`); empty means `fixed` validates.
    pub unfixed: Vec<Finding>,
}

/// Proposes fixes for every finding of `source`; `name` is the file name the diff's headers show.
pub fn suggest(source: &str, name: &str) -> Suggestion {
    let mut current = source.to_owned();
    let mut findings = lint(&current);
    let mut fixes = Vec::new();
    'rounds: for _ in 0..MAX_ROUNDS {
        if findings.is_empty() {
            break;
        }
        for f in &findings {
            let Some(edit) = fix_for(&current, f) else { continue };
            let mut candidate = current.clone();
            candidate.replace_range(edit.start..edit.end, &edit.replacement);
            let after = lint(&candidate);
            if measure(&after) < measure(&findings) {
                fixes.push(AppliedFix {
                    code: f.code,
                    line: f.line,
                    column: f.column,
                    description: format!("`{}` → `{}`", &current[edit.start..edit.end], edit.replacement),
                    caveat: edit.caveat,
                });
                current = candidate;
                findings = after;
                continue 'rounds;
            }
        }
        break;
    }
    let diff = if fixes.is_empty() {
        String::new()
    } else {
        similar::TextDiff::from_lines(source, &current)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string()
    };
    Suggestion { fixed: current, diff, fixes, unfixed: findings }
}

/// How far a text is from validating, compared lexicographically: parse findings, then findings
/// that stop Cedar from type-checking a policy (an unknown entity type or action in its scope),
/// then all findings. A fix of an earlier tier may reveal findings of a later one that the
/// earlier hid; it still counts as progress.
fn measure(findings: &[Finding]) -> (usize, usize, usize) {
    let count = |codes: &[&str]| findings.iter().filter(|f| codes.contains(&f.code)).count();
    (count(&["parse", "missing-semicolon"]), count(&["unknown-entity-type", "unknown-action"]), findings.len())
}

/// One replacement in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    replacement: String,
    caveat: Option<String>,
}

impl Edit {
    fn new(start: usize, end: usize, replacement: impl Into<String>) -> Option<Edit> {
        Some(Edit { start, end, replacement: replacement.into(), caveat: None })
    }
}

/// The first `…`-quoted word of a message.
fn backticked(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

/// Cedar's "did you mean `x`?" suggestion.
fn did_you_mean(f: &Finding) -> Option<String> {
    let help = f.help.as_deref()?;
    help.strip_prefix("did you mean ").and_then(backticked).map(str::to_owned)
}

/// The fix for one finding in `text`, if zkq knows one.
fn fix_for(text: &str, f: &Finding) -> Option<Edit> {
    let span = text.get(f.start..f.end)?;
    match f.code {
        "missing-semicolon" => Edit::new(f.start, f.start, ";"),
        "unknown-attribute" => {
            let bad = backticked(&f.message)?;
            let good = did_you_mean(f).or_else(|| {
                let facts = schema_facts();
                let names: Vec<&str> = if f.message.contains("in context") {
                    facts.context.iter().map(|(n, _, _)| n.as_str()).collect()
                } else {
                    let ty = backticked(f.message.split("entity type").nth(1)?)?;
                    facts.entities.iter().find(|(t, _)| t == ty)?.1.iter().map(|(n, _)| n.as_str()).collect()
                };
                nearest(bad, names.iter().copied())
            })?;
            let at = span.strip_suffix(bad).map(|head| f.start + head.len())?;
            Edit::new(at, f.end, good)
        }
        "unknown-entity-type" => {
            let bad = backticked(&f.message)?;
            let good = did_you_mean(f)
                .or_else(|| nearest(bad, schema_facts().entities.iter().map(|(t, _)| t.as_str())))?;
            (span == bad).then_some(())?;
            Edit::new(f.start, f.end, good)
        }
        "unknown-action" => {
            let good = did_you_mean(f).or_else(|| {
                let bad = backticked(&f.message)?;
                let id = bad.rsplit("::").next()?.trim_matches('"');
                nearest(id, schema_facts().actions.iter().map(String::as_str)).map(|a| format!("Action::\"{a}\""))
            })?;
            Edit::new(f.start, f.end, good)
        }
        "missing-has-guard" => {
            let (object, attr) = span.rsplit_once('.')?;
            let (a, b) = relation_around(text, f.start, f.end)?;
            Edit::new(a, b, format!("({object} has {attr} && {})", &text[a..b]))
        }
        "type-mismatch" => {
            let expected = f.message.split_once(": expected ")?.1.split(" but saw").next()?;
            if expected.contains("AnyEntity") {
                return set_membership(text, f.start, f.end);
            }
            convert_literal(span, expected).and_then(|r| Edit::new(f.start, f.end, r))
        }
        "incompatible-types" => set_membership(text, f.start, f.end)
            .or_else(|| literal_to_attribute_type(text, f.start, f.end))
            .or_else(|| set_to_attribute_type(text, f.start, f.end)),
        "unlinked-slot" => {
            let var = span.strip_prefix('?')?;
            let before = text[..f.start].trim_end();
            let before = before.strip_suffix("==").or_else(|| before.strip_suffix(" in"))?.trim_end();
            let head = before.strip_suffix(var)?;
            let mut edit = Edit::new(head.len(), f.end, var)?;
            edit.caveat = Some(format!("the policy now applies to every {var}; name one (`{var} == …`) if it should not"));
            Some(edit)
        }
        "bad-cap" => {
            let key = span.strip_prefix('@')?.split('(').next()?;
            let &(_, max) = crate::lint::CAP_RANGES.iter().find(|(k, _)| *k == key)?;
            let value = backticked_or_quoted(span)?;
            // A whole number (or a decimal, read as its whole part) clamped into range; words
            // are left to the author.
            let whole = value.trim().split_once('.').map_or(value.trim(), |(w, _)| w);
            let clamped = whole.parse::<i128>().ok()?.clamp(0, i128::from(max));
            Edit::new(f.start, f.end, format!("@{key}(\"{clamped}\")"))
        }
        _ => None,
    }
}

fn backticked_or_quoted(span: &str) -> Option<&str> {
    let start = span.find('"')? + 1;
    let len = span[start..].rfind('"')?;
    Some(&span[start..start + len])
}

/// `literal` rewritten as a value of type `expected`, when that is a natural reading.
fn convert_literal(literal: &str, expected: &str) -> Option<String> {
    let literal = literal.trim();
    let unquoted = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"'));
    match (expected, unquoted) {
        ("Long", Some(s)) => s.trim().parse::<i64>().ok().map(|v| v.to_string()),
        ("Bool", Some(s)) if s == "true" || s == "false" => Some(s.to_owned()),
        ("String", None) if literal.parse::<i64>().is_ok() || literal == "true" || literal == "false" => {
            Some(format!("\"{literal}\""))
        }
        _ => None,
    }
}

/// In a relation `x == [..]`, `[..] == x` or `x in [..]` around `start..end`: `[..].contains(x)`.
fn set_membership(text: &str, start: usize, end: usize) -> Option<Edit> {
    let (a, b) = relation_around(text, start, end)?;
    let relation = &text[a..b];
    let (op_at, op) = top_level_operator(relation, &["==", " in "])?;
    let left = relation[..op_at].trim();
    let right = relation[op_at + op.len()..].trim();
    let is_set = |s: &str| s.starts_with('[') && s.ends_with(']');
    let (set, item) = if is_set(right) {
        (right, left)
    } else if is_set(left) && op == "==" {
        (left, right)
    } else {
        return None;
    };
    Edit::new(a, b, format!("{set}.contains({item})"))
}

/// In `attr OP literal` (or reversed) where the literal's type differs from the attribute's:
/// the literal converted to the attribute's type.
fn literal_to_attribute_type(text: &str, start: usize, end: usize) -> Option<Edit> {
    let (a, b) = relation_around(text, start, end)?;
    let relation = &text[a..b];
    let (op_at, op) = top_level_operator(relation, &["==", "!=", "<=", ">=", "<", ">"])?;
    let sides = [(a, &relation[..op_at]), (a + op_at + op.len(), &relation[op_at + op.len()..])];
    let ty = sides.iter().find_map(|(_, s)| attribute_type(s.trim()))?;
    let (at, literal) = sides.iter().find(|(_, s)| attribute_type(s.trim()).is_none())?;
    let lead = literal.len() - literal.trim_start().len();
    let trimmed = literal.trim();
    let converted = convert_literal(trimmed, ty)?;
    Edit::new(at + lead, at + lead + trimmed.len(), converted)
}

/// In `[..].contains(attr)` where the set's literals have another type than the attribute: every
/// element converted to the attribute's type (`["1", "2"]` → `[1, 2]` for a Long), or nothing.
fn set_to_attribute_type(text: &str, start: usize, end: usize) -> Option<Edit> {
    let (a, b) = relation_around(text, start, end)?;
    let relation = &text[a..b];
    let (elements, item) = relation.strip_prefix('[')?.split_once("].contains(")?;
    let ty = attribute_type(item.strip_suffix(')')?.trim())?;
    let converted = elements.split(',').map(|e| convert_literal(e, ty)).collect::<Option<Vec<_>>>()?;
    Edit::new(a + 1, a + 1 + elements.len(), converted.join(", "))
}

/// The schema type of `context.x`, `principal.x` or `resource.x`.
fn attribute_type(expr: &str) -> Option<&'static str> {
    let facts = schema_facts();
    let (object, attr) = expr.rsplit_once('.')?;
    let ty = match object {
        "context" => facts.context.iter().find(|(n, _, _)| n == attr)?.1.as_str(),
        "principal" | "resource" => {
            let entity = if object == "principal" { &facts.principal } else { &facts.resource };
            facts.entities.iter().find(|(t, _)| t == entity)?.1.iter().find(|(n, _)| n == attr)?.1.as_str()
        }
        _ => return None,
    };
    Some(ty)
}

/// Byte position of the first of `ops` at nesting depth 0 outside strings in `text`.
fn top_level_operator<'a>(text: &str, ops: &[&'a str]) -> Option<(usize, &'a str)> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ if depth == 0 => {
                if let Some(op) = ops.iter().find(|op| text[i..].starts_with(**op)) {
                    return Some((i, op));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The smallest relation around `start..end`: the text between the nearest `&&`, `||`, `if`,
/// `then`, `else` or enclosing bracket at the span's nesting depth, trimmed. Scans the whole text
/// from the start so strings and comments are skipped.
fn relation_around(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    // Per depth: where the current segment starts.
    let mut segment_start = vec![0usize];
    let mut found: Option<(usize, usize)> = None; // (depth, segment start)
    let mut i = 0;
    while i < bytes.len() {
        let depth = segment_start.len() - 1;
        if let Some((d, s)) = found {
            if i >= end && depth == d {
                let boundary = matches!(bytes[i], b')' | b']' | b'}' | b';' | b',')
                    || text[i..].starts_with("&&")
                    || text[i..].starts_with("||")
                    || keyword_at(text, i, "then")
                    || keyword_at(text, i, "else");
                if boundary {
                    return trimmed(text, s, i);
                }
            }
        }
        if i == start && found.is_none() {
            found = Some((depth, segment_start[depth]));
        }
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => segment_start.push(i + 1),
            b')' | b']' | b'}' => {
                if segment_start.len() > 1 {
                    segment_start.pop();
                }
            }
            b'&' | b'|' if bytes.get(i + 1) == Some(&bytes[i]) => {
                segment_start[depth] = i + 2;
                i += 2;
                continue;
            }
            b',' | b';' => segment_start[depth] = i + 1,
            _ => {
                for kw in ["if", "then", "else"] {
                    if keyword_at(text, i, kw) && found.is_none() {
                        segment_start[depth] = i + kw.len();
                    }
                }
            }
        }
        i += 1;
    }
    None
}

fn keyword_at(text: &str, i: usize, kw: &str) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    text[i..].starts_with(kw)
        && (i == 0 || !ident(bytes[i - 1]))
        && bytes.get(i + kw.len()).is_none_or(|&b| !ident(b))
}

fn trimmed(text: &str, a: usize, b: usize) -> Option<(usize, usize)> {
    let s = &text[a..b];
    let lead = s.len() - s.trim_start().len();
    let len = s.trim().len();
    (len > 0).then_some((a + lead, a + lead + len))
}

/// The candidate closest to `word` by edit distance, if close enough to be a typo (at most a third
/// of the word's length, at least 2 edits allowed).
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + usize::from(ca != *cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// What the fixes need to know of zkq's schema, read from its JSON form.
#[derive(Debug, Default)]
struct SchemaFacts {
    /// Entity type → (attribute, type).
    entities: Vec<(String, Vec<(String, String)>)>,
    /// Action ids.
    actions: Vec<String>,
    /// `Prove`'s context: (attribute, type, required).
    context: Vec<(String, String, bool)>,
    /// The principal's and the resource's entity type.
    principal: String,
    resource: String,
}

fn schema_facts() -> &'static SchemaFacts {
    static FACTS: OnceLock<SchemaFacts> = OnceLock::new();
    FACTS.get_or_init(|| read_facts().unwrap_or_default())
}

fn read_facts() -> Option<SchemaFacts> {
    let (fragment, _) = SchemaFragment::from_cedarschema_str(crate::schema::CEDAR_SCHEMA).ok()?;
    let json = fragment.to_json_value().ok()?;
    let ns = json.get("")?;
    let attrs = |shape: &serde_json::Value| -> Vec<(String, String, bool)> {
        shape
            .get("attributes")
            .and_then(|a| a.as_object())
            .map(|a| {
                a.iter()
                    .map(|(n, t)| {
                        let ty = t.get("type").and_then(|t| t.as_str()).unwrap_or("").to_owned();
                        let ty = if ty == "EntityOrCommon" { t.get("name").and_then(|n| n.as_str()).unwrap_or("").to_owned() } else { ty };
                        (n.clone(), ty, t.get("required").and_then(|r| r.as_bool()).unwrap_or(true))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut facts = SchemaFacts::default();
    for (name, def) in ns.get("entityTypes")?.as_object()? {
        let list = def.get("shape").map(|s| attrs(s).into_iter().map(|(n, t, _)| (n, t)).collect()).unwrap_or_default();
        facts.entities.push((name.clone(), list));
    }
    for (name, def) in ns.get("actions")?.as_object()? {
        facts.actions.push(name.clone());
        let applies = def.get("appliesTo");
        if let Some(ctx) = applies.and_then(|a| a.get("context")) {
            facts.context = attrs(ctx);
        }
        let first = |k: &str| applies.and_then(|a| a.get(k)).and_then(|p| p.get(0)).and_then(|p| p.as_str()).map(str::to_owned);
        facts.principal = first("principalTypes").unwrap_or_default();
        facts.resource = first("resourceTypes").unwrap_or_default();
    }
    Some(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(src: &str) -> Suggestion {
        let s = suggest(src, "p.cedar");
        assert_eq!(lint(&s.fixed), s.unfixed, "unfixed is what remains");
        s
    }

    #[test]
    fn the_schema_facts_are_read_from_zkqs_schema() {
        let f = schema_facts();
        assert_eq!((f.principal.as_str(), f.resource.as_str()), ("Tenant", "Circuit"));
        assert!(f.context.contains(&("deadline_in_ms".into(), "Long".into(), false)), "{:?}", f.context);
        assert!(f.actions.contains(&"Prove".into()));
        assert_eq!(attribute_type("resource.constraints"), Some("Long"));
        assert_eq!(attribute_type("context.region"), Some("String"));
    }

    #[test]
    fn typos_are_fixed_from_cedars_help_and_the_diff_shows_them() {
        let src = "permit(principal == Tennant::\"acme\", action == Action::\"Proove\", resource)\n  when { resource.constraint > 1 && context.priorty < 5 };\n";
        let s = fixed(src);
        assert!(s.unfixed.is_empty(), "{:#?}", s.unfixed);
        assert_eq!(
            s.fixed,
            "permit(principal == Tenant::\"acme\", action == Action::\"Prove\", resource)\n  when { resource.constraints > 1 && context.priority < 5 };\n"
        );
        assert_eq!(s.fixes.len(), 4);
        assert!(s.diff.starts_with("--- a/p.cedar\n+++ b/p.cedar\n@@"), "{}", s.diff);
        assert!(s.diff.contains("+  when { resource.constraints > 1 && context.priority < 5 };"), "{}", s.diff);
    }

    #[test]
    fn far_typos_fall_back_to_the_nearest_schema_name() {
        assert_eq!(nearest("jobs_last_minut", schema_facts().context.iter().map(|(n, _, _)| n.as_str())), Some("jobs_last_minute".into()));
        assert_eq!(nearest("zzzz", ["Tenant", "Circuit"].into_iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn literals_of_the_wrong_type_are_converted() {
        let s = fixed("permit(principal, action, resource) when { context.priority > \"5\" && context.region == 3 };");
        assert!(s.unfixed.is_empty(), "{:#?}", s.unfixed);
        assert_eq!(s.fixed, "permit(principal, action, resource) when { context.priority > 5 && context.region == \"3\" };");
    }

    #[test]
    fn equality_or_in_on_a_set_becomes_contains() {
        let s = fixed("permit(principal, action, resource) when { context.region == [\"eu\", \"us\"] || context.purpose in [\"kyc\"] };");
        assert!(s.unfixed.is_empty(), "{:#?}", s.unfixed);
        assert_eq!(s.fixed, "permit(principal, action, resource) when { [\"eu\", \"us\"].contains(context.region) || [\"kyc\"].contains(context.purpose) };");
    }

    #[test]
    fn a_set_of_literals_of_the_wrong_type_is_converted_element_by_element() {
        let s = fixed("permit(principal, action, resource) when { [\"6\", \"7\"].contains(context.weekday) };");
        assert!(s.unfixed.is_empty(), "{:#?}", s.unfixed);
        assert_eq!(s.fixed, "permit(principal, action, resource) when { [6, 7].contains(context.weekday) };");
        let words = fixed("permit(principal, action, resource) when { [\"sat\", \"7\"].contains(context.weekday) };");
        assert!(words.fixes.is_empty(), "{:?}", words.fixes);
    }

    #[test]
    fn an_optional_attribute_gets_its_has_guard_around_its_comparison_only() {
        let s = fixed("forbid(principal, action, resource) when { context.priority > 7 || context.deadline_in_ms < 1000 };");
        assert!(s.unfixed.is_empty(), "{:#?}", s.unfixed);
        assert_eq!(
            s.fixed,
            "forbid(principal, action, resource) when { context.priority > 7 || (context has deadline_in_ms && context.deadline_in_ms < 1000) };"
        );
    }

    #[test]
    fn semicolons_slots_and_caps_are_fixed_with_caveats_where_they_widen() {
        let s = fixed("@priority_cap(\"12\") permit(principal == Tenant::\"a\", action, resource in ?resource) when { true }\n@weight(\"-3\") permit(principal == Tenant::\"b\", action, resource);");
        assert!(s.unfixed.is_empty(), "{:#?}", s.unfixed);
        assert_eq!(
            s.fixed,
            "@priority_cap(\"9\") permit(principal == Tenant::\"a\", action, resource) when { true };\n@weight(\"0\") permit(principal == Tenant::\"b\", action, resource);"
        );
        assert!(s.fixes.iter().any(|f| f.code == "unlinked-slot" && f.caveat.is_some()), "{:?}", s.fixes);
    }

    #[test]
    fn what_cannot_be_fixed_is_left_and_reported_and_a_clean_file_gets_no_diff() {
        let s = fixed("permit(principal, action, resource) when { resource.zzzzzzzz == 1 };");
        assert_eq!((s.fixes.len(), s.unfixed.len()), (0, 1));
        assert_eq!((s.diff.as_str(), s.fixed.as_str()), ("", "permit(principal, action, resource) when { resource.zzzzzzzz == 1 };"));
        let clean = fixed("permit(principal, action, resource);");
        assert!(clean.diff.is_empty() && clean.fixes.is_empty() && clean.unfixed.is_empty());
    }
}
