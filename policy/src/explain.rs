//! Why a job was admitted or refused, in words a non-expert reads, in English or Spanish.
//!
//! [`explain`] turns a [`Decision`] into an [`Explanation`]: a string key and its arguments,
//! language-neutral, stored as JSON with the job and rendered later in any language by
//! [`Explanation::render`] — as plain text, Markdown and HTML, with glossary terms linked to
//! `docs/glossary.md#<term>`.
//!
//! Which string explains a decision:
//! - the deciding policy (the first of `by`) carries `@template("<id>")`: the template's
//!   `templates.<id>.reason`, with the request's values and the policy's `@p_<param>("…")`
//!   annotations as `{p_<param>}`;
//! - else it carries `@reason_en("…")` / `@reason_es("…")` (hand-written policies, the same
//!   string language as the catalog's): that text ([`ANNOTATION_KEY`]; a language it lacks is
//!   shown in the other);
//! - else zkq's own generic string (`zkq.allow.permitted`, `zkq.deny.forbidden`), as for a
//!   default deny, an evaluation error or a bad request ([`ZKQ_KEYS`]).
//!
//! An allow whose permits cap ε below what the job asks is explained as the deny the worker
//! makes of it (`zkq.deny.epsilon_over_cap`); a lowered priority and a set weight add notes.
//!
//! Rendering never half-fills: an unknown key, a placeholder without a value or a link to a
//! missing glossary term is an error. Values are inserted once, never parsed (see
//! [`crate::i18n`]); in Markdown every ASCII punctuation of a value is escaped and in HTML
//! everything is escaped, so a tenant, purpose or parameter cannot add markup or links.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::engine::{Decision, PolicyEngine, Why};
use crate::i18n::{html_escape, markdown_escape, markdown_escape_prose, sanitize, Lang, Message, Segment, Strings};
use crate::request::AdmissionRequest;
use crate::PolicyError;

/// Where glossary links point (relative to the repository root), `#<term>` appended.
pub const GLOSSARY_HREF: &str = "docs/glossary.md";

/// The key of an explanation carried by the policy's own `@reason_en` / `@reason_es`
/// annotations (in the arguments `reason_en`, `reason_es`).
pub const ANNOTATION_KEY: &str = "annotation";

/// The arguments every explanation of a request carries; a string may use any of them. One
/// missing (`deadline_in_ms` of a job without a deadline) or empty (no purpose) shows as
/// `zkq.value.none`.
pub const REQUEST_ARGS: [&str; 11] = [
    "tenant",
    "circuit",
    "purpose",
    "epsilon",
    "priority",
    "region",
    "hour_utc",
    "weekday",
    "constraints",
    "jobs_last_minute",
    "deadline_in_ms",
];

/// The glossary terms the contract promises (each `glossary.<term>.{term,definition}`).
pub const GLOSSARY_TERMS: [&str; 13] = [
    "epsilon",
    "purpose",
    "tenant",
    "circuit",
    "priority",
    "region",
    "policy",
    "template",
    "deadline",
    "constraints",
    "weight",
    "budget",
    "rate_limit",
];

/// One of zkq's own strings and the arguments the code fills it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkqKey {
    /// The dotted key, `zkq.…`.
    pub key: &'static str,
    /// Arguments besides the request's.
    pub args: &'static [&'static str],
    /// Whether the [`REQUEST_ARGS`] come with it.
    pub request: bool,
}

const fn zkq(key: &'static str, args: &'static [&'static str], request: bool) -> ZkqKey {
    ZkqKey { key, args, request }
}

/// Every `zkq.…` string and what fills it; the strings files hold exactly these.
pub const ZKQ_KEYS: [ZkqKey; 19] = [
    zkq("zkq.allow.permitted", &["policy"], true),
    zkq("zkq.allow.priority_capped", &["policy", "cap"], true),
    zkq("zkq.allow.weight_set", &["policy", "weight"], true),
    zkq("zkq.deny.no_permit", &[], true),
    zkq("zkq.deny.forbidden", &["policy"], true),
    zkq("zkq.deny.evaluation_error", &["policy", "error"], true),
    zkq("zkq.deny.bad_request", &["error"], true),
    zkq("zkq.deny.epsilon_over_cap", &["policy", "cap"], true),
    zkq("zkq.deny.policy_unavailable", &[], false),
    zkq("zkq.glossary.title", &[], false),
    zkq("zkq.glossary.see", &[], false),
    zkq("zkq.value.none", &[], false),
    zkq("zkq.weekday.1", &[], false),
    zkq("zkq.weekday.2", &[], false),
    zkq("zkq.weekday.3", &[], false),
    zkq("zkq.weekday.4", &[], false),
    zkq("zkq.weekday.5", &[], false),
    zkq("zkq.weekday.6", &[], false),
    zkq("zkq.weekday.7", &[], false),
];

/// Why a decision is what it is, language-neutral: a string key and its arguments, plus notes
/// (a lowered priority, a set weight). Stored as JSON; rendered by [`Explanation::render`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The string: `zkq.…`, `templates.<id>.reason` or [`ANNOTATION_KEY`].
    pub key: String,
    /// Its placeholders' values, unescaped (the renderer sanitises and escapes them).
    pub args: BTreeMap<String, String>,
    /// Sentences that follow it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Explanation>,
}

/// An explanation rendered in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedText {
    /// Plain text, one line: glossary links show their words only.
    pub text: String,
    /// CommonMark: glossary terms link to the glossary; everything else escaped.
    pub markdown: String,
    /// HTML: everything escaped; glossary terms as `<a href>`.
    pub html: String,
    /// The glossary terms linked and their hrefs, in order of first appearance.
    pub links: Vec<(String, String)>,
}

impl RenderedText {
    fn append(&mut self, other: RenderedText) {
        if !self.text.is_empty() {
            // A sentence of its own: an author's reason may end without punctuation.
            if !self.text.ends_with(['.', '!', '?', '…']) {
                self.text.push('.');
                self.markdown.push('.');
                self.html.push('.');
            }
            self.text.push(' ');
            self.markdown.push(' ');
            self.html.push(' ');
        }
        self.text.push_str(&other.text);
        self.markdown.push_str(&other.markdown);
        self.html.push_str(&other.html);
        for link in other.links {
            if !self.links.contains(&link) {
                self.links.push(link);
            }
        }
    }
}

impl Explanation {
    /// `key` with `args` and no notes.
    pub fn new(key: impl Into<String>, args: BTreeMap<String, String>) -> Explanation {
        Explanation { key: key.into(), args, notes: Vec::new() }
    }

    /// Policies could not be loaded, so nothing is admitted (`zkq.deny.policy_unavailable`).
    pub fn policy_unavailable() -> Explanation {
        Explanation::new("zkq.deny.policy_unavailable", BTreeMap::new())
    }

    /// Renders in `lang`, glossary links to [`GLOSSARY_HREF`].
    pub fn render(&self, strings: &Strings, lang: Lang) -> Result<RenderedText, PolicyError> {
        self.render_linked(strings, lang, GLOSSARY_HREF)
    }

    /// Renders in `lang`, glossary links to `glossary_href#<term>` (an URL or path without
    /// spaces, quotes, angle brackets, parentheses, backslashes or `#`).
    pub fn render_linked(&self, strings: &Strings, lang: Lang, glossary_href: &str) -> Result<RenderedText, PolicyError> {
        if glossary_href.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'<>()\\#`".contains(c)) {
            return Err(PolicyError::I18n(format!("glossary href {glossary_href:?} must be a plain URL")));
        }
        let mut out = self.render_one(strings, lang, glossary_href)?;
        for note in &self.notes {
            out.append(note.render_linked(strings, lang, glossary_href)?);
        }
        Ok(out)
    }

    fn render_one(&self, strings: &Strings, lang: Lang, href: &str) -> Result<RenderedText, PolicyError> {
        let (source, trusted) = if self.key == ANNOTATION_KEY {
            let own = format!("reason_{}", lang.code());
            let text = self
                .args
                .get(&own)
                .or_else(|| Lang::ALL.iter().find_map(|l| self.args.get(&format!("reason_{}", l.code()))))
                .ok_or_else(|| PolicyError::I18n(format!("{lang}: {ANNOTATION_KEY}: no reason_en or reason_es argument")))?;
            (text.as_str(), false)
        } else {
            (strings.require(lang, &self.key)?, true)
        };
        let message = Message::parse(source).map_err(|e| PolicyError::I18n(format!("{lang}: {}: {e}", self.key)))?;
        let mut out = RenderedText::default();
        let ctx = Ctx { explanation: self, strings, lang, href };
        ctx.emit(&message.segments, trusted, &mut out)?;
        Ok(out)
    }
}

/// What rendering one message needs.
struct Ctx<'a> {
    explanation: &'a Explanation,
    strings: &'a Strings,
    lang: Lang,
    href: &'a str,
}

impl Ctx<'_> {
    fn emit(&self, segments: &[Segment], trusted: bool, out: &mut RenderedText) -> Result<(), PolicyError> {
        for segment in segments {
            match segment {
                Segment::Literal(s) => {
                    out.text.push_str(s);
                    out.markdown.push_str(&if trusted { markdown_escape_prose(s) } else { markdown_escape(s) });
                    out.html.push_str(&html_escape(s));
                }
                Segment::Arg { name, quoted } => {
                    let v = self.value(name, *quoted)?;
                    out.text.push_str(&v);
                    out.markdown.push_str(&markdown_escape(&v));
                    out.html.push_str(&html_escape(&v));
                }
                Segment::Link { term, words } => {
                    let glossary_term = self.strings.get(self.lang, &format!("glossary.{term}.term")).ok_or_else(|| {
                        PolicyError::I18n(format!("{}: {}: [[{term}]] is not in the glossary", self.lang, self.explanation.key))
                    })?;
                    let mut shown = RenderedText::default();
                    if words.is_empty() {
                        self.emit(&[Segment::Literal(glossary_term.to_owned())], true, &mut shown)?;
                    } else {
                        self.emit(words, trusted, &mut shown)?;
                    }
                    let href = format!("{}#{term}", self.href);
                    out.text.push_str(&shown.text);
                    out.markdown.push_str(&format!("[{}]({href})", shown.markdown));
                    out.html.push_str(&format!("<a href=\"{}\">{}</a>", html_escape(&href), shown.html));
                    let link = (term.clone(), href);
                    if !out.links.contains(&link) {
                        out.links.push(link);
                    }
                }
            }
        }
        Ok(())
    }

    /// A placeholder's value, localized, sanitised and (`quoted`) between quotation marks.
    fn value(&self, name: &str, quoted: bool) -> Result<String, PolicyError> {
        let raw = match self.explanation.args.get(name) {
            Some(v) => v.as_str(),
            None if REQUEST_ARGS.contains(&name) => "",
            None => {
                return Err(PolicyError::I18n(format!(
                    "{}: {}: placeholder {{{name}}} has no value",
                    self.lang, self.explanation.key
                )))
            }
        };
        let shown = if raw.is_empty() {
            self.strings.require(self.lang, "zkq.value.none")?.to_owned()
        } else if name == "weekday" {
            self.strings.get(self.lang, &format!("zkq.weekday.{raw}")).unwrap_or(raw).to_owned()
        } else if self.lang == Lang::Es && (name == "epsilon" || name == "cap") && is_decimal(raw) {
            // Spanish writes a decimal comma (RAE, Ortografía 2010, §4.2.2.1.2).
            raw.replace('.', ",")
        } else {
            raw.to_owned()
        };
        let shown = sanitize(&shown);
        if !quoted {
            return Ok(shown);
        }
        let (open, close) = self.lang.quotes();
        // A quotation mark inside the value would seem to end it: shown as a single one.
        let inner: String = shown
            .chars()
            .map(|c| match c {
                '"' => '\'',
                '“' => '‘',
                '”' => '’',
                '«' => '‹',
                '»' => '›',
                c => c,
            })
            .collect();
        Ok(format!("{open}{inner}{close}"))
    }
}

fn is_decimal(s: &str) -> bool {
    s.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// micro-ε as ε in decimal: 200000 → `0.2`, 1500000 → `1.5`, 0 → `0`.
pub fn epsilon_text(micro: u64) -> String {
    let (whole, frac) = (micro / 1_000_000, micro % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// The request's values, as [`REQUEST_ARGS`] names them (`deadline_in_ms` only when it has one).
pub fn request_args(r: &AdmissionRequest) -> BTreeMap<String, String> {
    let circuit = if r.circuit_name.is_empty() {
        r.circuit_id.chars().take(12).collect()
    } else {
        r.circuit_name.clone()
    };
    let mut args = BTreeMap::from([
        ("tenant".to_owned(), r.tenant.clone()),
        ("circuit".to_owned(), circuit),
        ("purpose".to_owned(), r.purpose.clone()),
        ("epsilon".to_owned(), epsilon_text(r.epsilon_micro)),
        ("priority".to_owned(), r.priority.to_string()),
        ("region".to_owned(), r.region.clone()),
        ("hour_utc".to_owned(), chrono::Timelike::hour(&r.at).to_string()),
        ("weekday".to_owned(), chrono::Datelike::weekday(&r.at).number_from_monday().to_string()),
        ("constraints".to_owned(), r.constraints.to_string()),
        ("jobs_last_minute".to_owned(), r.jobs_last_minute.to_string()),
    ]);
    if let Some(d) = r.deadline_in_ms {
        args.insert("deadline_in_ms".to_owned(), d.to_string());
    }
    // Capped here too: a stored explanation never holds a 10 kB purpose.
    for v in args.values_mut() {
        *v = sanitize(v);
    }
    args
}

fn with(mut args: BTreeMap<String, String>, extra: &[(&str, String)]) -> BTreeMap<String, String> {
    for (k, v) in extra {
        args.insert((*k).to_owned(), sanitize(v));
    }
    args
}

/// A template id as the catalog writes them: `[a-z0-9_-]+`, so `templates.<id>.reason` is one key.
fn is_template_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// What the deciding policy `id` says of itself (template, annotations), else `generic`.
fn by_policy(id: &str, generic: &str, request: &AdmissionRequest, engine: &PolicyEngine, base: BTreeMap<String, String>) -> Explanation {
    let mut args = with(base, &[("policy", id.to_owned())]);
    let Some(policy) = engine.policy(&request.tenant, id) else {
        return Explanation::new(generic, args);
    };
    if let Some(template) = policy.annotation("template").filter(|t| is_template_id(t)) {
        for (k, v) in policy.annotations() {
            if k.starts_with("p_") {
                args.insert(k.to_owned(), sanitize(v));
            }
        }
        return Explanation::new(format!("templates.{template}.reason"), args);
    }
    let reasons: Vec<(&str, &str)> =
        ["reason_en", "reason_es"].into_iter().filter_map(|k| policy.annotation(k).map(|v| (k, v))).collect();
    if reasons.is_empty() {
        return Explanation::new(generic, args);
    }
    for (k, v) in reasons {
        // Not sanitised: the text is the policy author's message, checked when it is parsed.
        args.insert(k.to_owned(), v.to_owned());
    }
    Explanation::new(ANNOTATION_KEY, args)
}

/// The permit among `by` that set cap `key` to `value` (the first, if several did).
fn cap_setter(by: &[String], key: &str, value: u64, request: &AdmissionRequest, engine: &PolicyEngine) -> String {
    by.iter()
        .find(|id| {
            engine
                .policy(&request.tenant, id)
                .and_then(|p| p.annotation(key))
                .is_some_and(|v| v.parse::<u64>().ok() == Some(value))
        })
        .or(by.first())
        .cloned()
        .unwrap_or_default()
}

/// Splits an evaluation error (`error while evaluating policy `<id>`: <why>`, or
/// `<id>: <why>`) into the policy and the message.
fn split_error(error: &str) -> (String, String) {
    if let Some(rest) = error.split_once("policy `").map(|(_, r)| r) {
        if let Some((id, why)) = rest.split_once('`') {
            return (id.to_owned(), why.trim_start_matches(':').trim().to_owned());
        }
    }
    match error.split_once(": ") {
        Some((id, why)) => (id.to_owned(), why.to_owned()),
        None => (String::new(), error.to_owned()),
    }
}

/// Why `decision` was made on `request`, in the words of the deciding policy's template or
/// annotations where it has them, else zkq's (module docs).
pub fn explain(decision: &Decision, request: &AdmissionRequest, engine: &PolicyEngine) -> Explanation {
    let base = request_args(request);
    match &decision.why {
        Why::Permitted { by } => {
            let caps = decision.caps;
            if let Some(cap) = caps.epsilon_micro.filter(|cap| request.epsilon_micro > *cap) {
                let policy = cap_setter(by, "epsilon_micro_cap", cap, request, engine);
                let args = with(base, &[("policy", policy), ("cap", epsilon_text(cap))]);
                return Explanation::new("zkq.deny.epsilon_over_cap", args);
            }
            let first = by.first().cloned().unwrap_or_default();
            let mut out = by_policy(&first, "zkq.allow.permitted", request, engine, base.clone());
            if let Some(cap) = caps.priority.filter(|cap| *cap < request.priority) {
                let policy = cap_setter(by, "priority_cap", u64::from(cap), request, engine);
                let args = with(base.clone(), &[("policy", policy), ("cap", cap.to_string())]);
                out.notes.push(Explanation::new("zkq.allow.priority_capped", args));
            }
            if let Some(weight) = caps.weight {
                let policy = cap_setter(by, "weight", u64::from(weight), request, engine);
                let args = with(base, &[("policy", policy), ("weight", weight.to_string())]);
                out.notes.push(Explanation::new("zkq.allow.weight_set", args));
            }
            out
        }
        Why::Forbidden { by } => {
            let first = by.first().cloned().unwrap_or_default();
            by_policy(&first, "zkq.deny.forbidden", request, engine, base)
        }
        Why::NoPermit => Explanation::new("zkq.deny.no_permit", base),
        Why::EvaluationError { errors } => {
            let (policy, error) = split_error(errors.first().map_or("", String::as_str));
            Explanation::new("zkq.deny.evaluation_error", with(base, &[("policy", policy), ("error", error)]))
        }
        Why::BadRequest(error) => Explanation::new("zkq.deny.bad_request", with(base, &[("error", error.clone())])),
    }
}

/// Every problem of `strings`, one line each (empty: none): a key in one language and not the
/// other, an empty or malformed string, a placeholder the code cannot fill (zkq keys: their
/// [`ZKQ_KEYS`] arguments; templates: [`REQUEST_ARGS`], `policy` and `p_<param>`; glossary:
/// none), languages disagreeing on a key's placeholders, a link to a term not in the glossary,
/// a missing [`ZKQ_KEYS`] string or [`GLOSSARY_TERMS`] entry.
pub fn check_strings(strings: &Strings) -> Vec<String> {
    let mut problems = Vec::new();
    let glossary = strings.glossary_terms();
    for (lang, other) in [(Lang::En, Lang::Es), (Lang::Es, Lang::En)] {
        for key in strings.keys(lang) {
            if strings.get(other, key).is_none() {
                problems.push(format!("{key}: in {lang}.json, missing from {other}.json"));
            }
        }
        for zk in ZKQ_KEYS {
            if strings.get(lang, zk.key).is_none() {
                problems.push(format!("{}: missing from {lang}.json", zk.key));
            }
        }
        for term in GLOSSARY_TERMS {
            for field in ["term", "definition"] {
                if strings.get(lang, &format!("glossary.{term}.{field}")).is_none() {
                    problems.push(format!("glossary.{term}.{field}: missing from {lang}.json"));
                }
            }
        }
        for key in strings.keys(lang) {
            let text = strings.get(lang, key).unwrap_or_default();
            if text.trim().is_empty() {
                problems.push(format!("{lang}: {key}: empty"));
                continue;
            }
            let message = match Message::parse(text) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(format!("{lang}: {key}: {e}"));
                    continue;
                }
            };
            for term in message.terms() {
                if !glossary.contains(term) {
                    problems.push(format!("{lang}: {key}: [[{term}]] is not a glossary key"));
                }
            }
            let used = message.placeholders();
            let allowed = |name: &str| -> bool {
                if key.starts_with("glossary.") {
                    false
                } else if key.starts_with("templates.") {
                    REQUEST_ARGS.contains(&name) || name == "policy" || name.starts_with("p_")
                } else {
                    ZKQ_KEYS
                        .iter()
                        .find(|z| z.key == key)
                        .is_some_and(|z| z.args.contains(&name) || (z.request && REQUEST_ARGS.contains(&name)))
                }
            };
            if key.starts_with("zkq.") && !ZKQ_KEYS.iter().any(|z| z.key == key) {
                problems.push(format!("{lang}: {key}: not a key zkq fills (declare it in ZKQ_KEYS)"));
            } else if !["zkq.", "glossary.", "templates."].iter().any(|p| key.starts_with(p)) {
                problems.push(format!("{lang}: {key}: outside the sections zkq, glossary, templates"));
            }
            for name in &used {
                if !allowed(name) {
                    problems.push(format!("{lang}: {key}: placeholder {{{name}}} is not one the code fills"));
                }
            }
            if lang == Lang::En {
                if let Some(Ok(es)) = strings.get(Lang::Es, key).map(Message::parse) {
                    let es_used: BTreeSet<&str> = es.placeholders();
                    if es_used != used {
                        problems.push(format!("{key}: en uses placeholders {used:?}, es {es_used:?}"));
                    }
                }
            }
        }
    }
    problems
}

/// `docs/glossary.md`: every glossary entry in English and Spanish, under a heading that is its
/// key (so GitHub's anchor is `#<key>`, the links' target); links inside definitions point
/// within the page.
pub fn glossary_markdown(strings: &Strings) -> Result<String, PolicyError> {
    let mut md = String::new();
    let title = |lang| strings.require(lang, "zkq.glossary.title");
    md.push_str(&format!("# {} — {}\n\n", title(Lang::En)?, title(Lang::Es)?));
    md.push_str(
        "<!-- Generated from the \"glossary\" section of policy/i18n/en.json and es.json:\n     \
         ZKQ_BLESS=1 cargo test -p zkq-policy --test i18n. Do not edit by hand. -->\n",
    );
    for term in strings.glossary_terms() {
        md.push_str(&format!("\n### {term}\n"));
        for lang in Lang::ALL {
            let render = |field: &str| -> Result<String, PolicyError> {
                let key = format!("glossary.{term}.{field}");
                Ok(Explanation::new(key, BTreeMap::new()).render_linked(strings, lang, "")?.markdown)
            };
            md.push_str(&format!("\n**{}** ({}) — {}\n", render("term")?, lang.code(), render("definition")?));
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_text_is_decimal_without_trailing_zeros() {
        assert_eq!(epsilon_text(0), "0");
        assert_eq!(epsilon_text(200_000), "0.2");
        assert_eq!(epsilon_text(1_500_000), "1.5");
        assert_eq!(epsilon_text(3_000_000), "3");
        assert_eq!(epsilon_text(1), "0.000001");
    }

    #[test]
    fn evaluation_errors_split_into_policy_and_message() {
        assert_eq!(
            split_error("error while evaluating policy `acme.over`: integer overflow"),
            ("acme.over".into(), "integer overflow".into())
        );
        assert_eq!(split_error("acme.cap: bad cap annotation"), ("acme.cap".into(), "bad cap annotation".into()));
        assert_eq!(split_error("odd"), (String::new(), "odd".into()));
    }

    #[test]
    fn an_explanation_round_trips_through_json_and_omits_empty_notes() {
        let e = Explanation::new("zkq.deny.no_permit", BTreeMap::from([("tenant".into(), "acme".into())]));
        let json = serde_json::to_string(&e).expect("json");
        assert_eq!(json, r#"{"key":"zkq.deny.no_permit","args":{"tenant":"acme"}}"#);
        assert_eq!(serde_json::from_str::<Explanation>(&json).expect("back"), e);
    }

    #[test]
    fn a_glossary_href_that_could_break_out_of_a_link_is_refused() {
        let strings = Strings::builtin().expect("strings");
        let err = Explanation::policy_unavailable().render_linked(&strings, Lang::En, "x) <b>").expect_err("href");
        assert!(err.to_string().contains("must be a plain URL"), "{err}");
    }
}
