//! Strings in English and Spanish: [`Lang`] (with `Accept-Language` negotiation), [`Strings`]
//! (the embedded `policy/i18n/en.json` and `es.json`, looked up by dotted key), [`Message`] (a
//! parsed string: text, placeholders, glossary links) and [`sanitize`] for values that come from
//! users.
//!
//! ## The string language
//! - `{name}` — a placeholder, filled from the explanation's arguments; `{name:q}` — the same,
//!   shown between the language's quotation marks (“…” in English, «…» in Spanish).
//! - `[[term]]` — a link to the glossary entry `term`, shown as the entry's localized term;
//!   `[[term|shown words]]` — shown as the words (which may hold placeholders).
//! - `{{` and `}}` — literal braces. Anything else with a brace, or a `]]` outside a link, is
//!   an error: a string either parses whole or not at all.
//!
//! Filling is **single-pass**: a string is parsed once, and a value is inserted as text, never
//! parsed — a tenant named `{tenant}` or `[[epsilon]]` stays those characters. Values are
//! [`sanitize`]d (control, bidi and zero-width characters replaced, length capped) before they
//! are shown, and escaped for Markdown and HTML by the renderer (`crate::explain`).
//!
//! `Accept-Language`: RFC 9110 §12.5.4
//! (<https://www.rfc-editor.org/rfc/rfc9110#section-12.5.4>), language ranges per RFC 4647 §2.1
//! (<https://www.rfc-editor.org/rfc/rfc4647#section-2.1>).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::PolicyError;

/// The English strings, embedded at compile time.
pub const EN_JSON: &str = include_str!("../i18n/en.json");
/// The Spanish strings, embedded at compile time.
pub const ES_JSON: &str = include_str!("../i18n/es.json");

/// The most characters a user value shows (longer ones end in `…`).
pub const MAX_VALUE_CHARS: usize = 120;

/// A language zkq explains itself in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The ISO 639-1 code: `en`, `es`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The quotation marks a `{name:q}` placeholder is shown between.
    pub fn quotes(self) -> (char, char) {
        match self {
            Lang::En => ('“', '”'),
            Lang::Es => ('«', '»'),
        }
    }

    /// The language an `Accept-Language` header asks for, per RFC 9110 §12.5.4: each range's
    /// weight is its `q` (default 1, `q=0` meaning "not this one"); a language takes the highest
    /// weight among ranges whose primary subtag is its code (`es`, `es-MX`, `ES-419`), else the
    /// weight of `*`. The heaviest acceptable language wins, ties going to the one named first.
    /// Malformed ranges and `q` values are skipped; with nothing acceptable, English.
    pub fn negotiate(accept_language: &str) -> Lang {
        // (weight in thousandths, position of the first range naming it)
        let mut best: [Option<(u16, usize)>; 2] = [None, None];
        let mut star: Option<(u16, usize)> = None;
        for (pos, item) in accept_language.split(',').enumerate().take(64) {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim();
            let Some(q) = parts.map(str::trim).try_fold(1000u16, |q, param| match param.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("q") => parse_qvalue(v.trim()),
                Some(_) => Some(q),
                None => None,
            }) else {
                continue;
            };
            if range == "*" {
                star = Some(star.map_or((q, pos), |(sq, sp)| (sq.max(q), sp)));
                continue;
            }
            if !is_language_range(range) {
                continue;
            }
            let primary = range.split('-').next().unwrap_or("");
            for (i, lang) in Lang::ALL.iter().enumerate() {
                if primary.eq_ignore_ascii_case(lang.code()) {
                    best[i] = Some(best[i].map_or((q, pos), |(bq, bp)| (bq.max(q), bp)));
                }
            }
        }
        let mut chosen = (Lang::En, 0u16, usize::MAX);
        for (i, lang) in Lang::ALL.iter().enumerate() {
            let Some((q, pos)) = best[i].or(star) else { continue };
            if q > chosen.1 || (q == chosen.1 && q > 0 && pos < chosen.2) {
                chosen = (*lang, q, pos);
            }
        }
        chosen.0
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// `language-range = 1*8ALPHA *( "-" 1*8alphanum )` (RFC 4647 §2.1).
fn is_language_range(range: &str) -> bool {
    let mut subtags = range.split('-');
    let first_ok = subtags.next().is_some_and(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl FromStr for Lang {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Lang, PolicyError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Lang::En),
            "es" => Ok(Lang::Es),
            _ => Err(PolicyError::I18n(format!("language {s:?}: expected en or es"))),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Replaces what could hide, reorder or break the text around a user value, and caps its
/// length: line breaks (CR, LF, NEL, U+2028, U+2029) and tabs become spaces; other control
/// characters, bidi embeddings, overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069,
/// U+200E, U+200F, U+061C) and zero-width or invisible characters (U+200B–U+200D, U+2060–U+2064,
/// U+FEFF, U+180E, U+00AD) become U+FFFD `�`, so tampering shows. At most
/// [`MAX_VALUE_CHARS`] characters, the last an ellipsis when cut. Idempotent.
pub fn sanitize(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_VALUE_CHARS * 4));
    for (n, c) in value.chars().enumerate() {
        if n == MAX_VALUE_CHARS {
            // Cut: the last kept character gives way to the ellipsis.
            out.pop();
            out.push('…');
            break;
        }
        out.push(match c {
            '\r' | '\n' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() => '\u{FFFD}',
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}' => '\u{FFFD}',
            '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}' => '\u{FFFD}',
            c => c,
        });
    }
    out
}

/// A piece of a parsed [`Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text written by the translator (or the policy's author).
    Literal(String),
    /// A placeholder, `{name}` or (quoted) `{name:q}`.
    Arg {
        /// The argument's name.
        name: String,
        /// Shown between the language's quotation marks.
        quoted: bool,
    },
    /// A glossary link, `[[term]]` or `[[term|words]]`.
    Link {
        /// The glossary key.
        term: String,
        /// What is shown; empty: the glossary's localized term. Literals and placeholders only.
        words: Vec<Segment>,
    },
}

/// A string of the string language (module docs), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The pieces, in order.
    pub segments: Vec<Segment>,
}

fn is_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Message {
    /// Parses `source`; the error names the byte offset and what is wrong there.
    pub fn parse(source: &str) -> Result<Message, String> {
        let (segments, rest) = parse_segments(source, 0, false)?;
        debug_assert!(rest == source.len());
        Ok(Message { segments })
    }

    /// Every placeholder name, links' words included.
    pub fn placeholders(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        fn walk<'a>(segments: &'a [Segment], out: &mut BTreeSet<&'a str>) {
            for s in segments {
                match s {
                    Segment::Arg { name, .. } => {
                        out.insert(name.as_str());
                    }
                    Segment::Link { words, .. } => walk(words, out),
                    Segment::Literal(_) => {}
                }
            }
        }
        walk(&self.segments, &mut out);
        out
    }

    /// Every glossary term linked.
    pub fn terms(&self) -> BTreeSet<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Link { term, .. } => Some(term.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Parses from byte `start` until the end (or, inside a link's words, until `]]`); returns the
/// segments and the offset it stopped at.
fn parse_segments(src: &str, start: usize, in_link: bool) -> Result<(Vec<Segment>, usize), String> {
    let mut segments = Vec::new();
    let mut lit = String::new();
    let mut i = start;
    let flush = |lit: &mut String, segments: &mut Vec<Segment>| {
        if !lit.is_empty() {
            segments.push(Segment::Literal(std::mem::take(lit)));
        }
    };
    while i < src.len() {
        let rest = &src[i..];
        if rest.starts_with("{{") {
            lit.push('{');
            i += 2;
        } else if rest.starts_with("}}") {
            lit.push('}');
            i += 2;
        } else if rest.starts_with('{') {
            let end = rest.find('}').ok_or_else(|| format!("byte {i}: `{{` without a closing `}}`"))?;
            let inner = &rest[1..end];
            let (name, quoted) = match inner.strip_suffix(":q") {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if !is_name(name) {
                return Err(format!("byte {i}: placeholder {{{inner}}} is not a lowercase name (a-z, 0-9, _)"));
            }
            flush(&mut lit, &mut segments);
            segments.push(Segment::Arg { name: name.to_owned(), quoted });
            i += end + 1;
        } else if rest.starts_with('}') {
            return Err(format!("byte {i}: `}}` without an opening `{{` (write `}}}}` for a brace)"));
        } else if let Some(body) = rest.strip_prefix("[[") {
            if in_link {
                return Err(format!("byte {i}: `[[` inside a link"));
            }
            let term_len = body.find(['|', ']']).ok_or_else(|| format!("byte {i}: `[[` without a closing `]]`"))?;
            let term = &body[..term_len];
            if !is_name(term) {
                return Err(format!("byte {i}: glossary link [[{term}…]] does not name a term (a-z, 0-9, _)"));
            }
            let after_term = i + 2 + term_len;
            let (words, end) = if src[after_term..].starts_with('|') {
                let (words, end) = parse_segments(src, after_term + 1, true)?;
                if words.is_empty() {
                    return Err(format!("byte {i}: glossary link [[{term}|]] shows no words"));
                }
                (words, end)
            } else if src[after_term..].starts_with("]]") {
                (Vec::new(), after_term + 2)
            } else {
                return Err(format!("byte {i}: glossary link [[{term} must end in `]]`"));
            };
            flush(&mut lit, &mut segments);
            segments.push(Segment::Link { term: term.to_owned(), words });
            i = end;
        } else if rest.starts_with("]]") {
            if in_link {
                flush(&mut lit, &mut segments);
                return Ok((segments, i + 2));
            }
            return Err(format!("byte {i}: `]]` outside a glossary link"));
        } else {
            let c = rest.chars().next().unwrap_or('\u{FFFD}');
            if c.is_control() {
                return Err(format!("byte {i}: control character U+{:04X}", u32::from(c)));
            }
            lit.push(c);
            i += c.len_utf8();
        }
    }
    if in_link {
        return Err(format!("byte {start}: glossary link without a closing `]]`"));
    }
    flush(&mut lit, &mut segments);
    Ok((segments, i))
}

/// The strings of every language, flattened to dotted keys (`zkq.deny.no_permit`,
/// `glossary.epsilon.term`, `templates.<id>.reason`). A template id holding a dot would be
/// ambiguous; the catalog's ids do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strings {
    en: BTreeMap<String, String>,
    es: BTreeMap<String, String>,
}

impl Strings {
    /// The embedded strings ([`EN_JSON`], [`ES_JSON`]).
    pub fn builtin() -> Result<Strings, PolicyError> {
        Strings::from_json(EN_JSON, ES_JSON)
    }

    /// Strings from JSON texts: nested objects whose leaves are strings.
    pub fn from_json(en: &str, es: &str) -> Result<Strings, PolicyError> {
        Ok(Strings { en: flatten_json(Lang::En, en)?, es: flatten_json(Lang::Es, es)? })
    }

    fn map(&self, lang: Lang) -> &BTreeMap<String, String> {
        match lang {
            Lang::En => &self.en,
            Lang::Es => &self.es,
        }
    }

    /// The string at `key` in `lang`, if there is one.
    pub fn get(&self, lang: Lang, key: &str) -> Option<&str> {
        self.map(lang).get(key).map(String::as_str)
    }

    /// The string at `key`, or an error naming the language and key.
    pub fn require(&self, lang: Lang, key: &str) -> Result<&str, PolicyError> {
        self.get(lang, key).ok_or_else(|| PolicyError::I18n(format!("{lang}: no string {key}")))
    }

    /// Every key of `lang`, sorted.
    pub fn keys(&self, lang: Lang) -> impl Iterator<Item = &str> {
        self.map(lang).keys().map(String::as_str)
    }

    /// The glossary's keys (`glossary.<key>.term`), sorted; English's.
    pub fn glossary_terms(&self) -> BTreeSet<&str> {
        self.keys(Lang::En)
            .filter_map(|k| k.strip_prefix("glossary.")?.strip_suffix(".term"))
            .collect()
    }
}

fn flatten_json(lang: Lang, text: &str) -> Result<BTreeMap<String, String>, PolicyError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PolicyError::I18n(format!("{lang}.json: {e}")))?;
    let mut out = BTreeMap::new();
    flatten_value(lang, "", &value, &mut out)?;
    Ok(out)
}

fn flatten_value(
    lang: Lang,
    prefix: &str,
    value: &serde_json::Value,
    out: &mut BTreeMap<String, String>,
) -> Result<(), PolicyError> {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_value(lang, &key, v, out)?;
            }
            Ok(())
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
            Ok(())
        }
        other => Err(PolicyError::I18n(format!(
            "{lang}.json: {}: expected a string or an object, found {other}",
            if prefix.is_empty() { "(top)" } else { prefix }
        ))),
    }
}

/// Escapes text for HTML (element content and double-quoted attribute values).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a user value for CommonMark: every ASCII punctuation character gets a backslash
/// (CommonMark §2.4 allows it for all of them), so no emphasis, link, HTML, entity or
/// autolink (`http:`, `www.`, `@`) can start inside it.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes a translator's text for CommonMark: like [`markdown_escape`] but keeps the
/// punctuation that is inert inside one line of prose (`.,:;?!'"/%`), for readable sources.
pub fn markdown_escape_prose(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_punctuation() && !".,:;?!'\"/%".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_parses_en_and_es_only() {
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert_eq!(" ES ".parse::<Lang>(), Ok(Lang::Es));
        let err = "fr".parse::<Lang>().expect_err("fr");
        assert_eq!(err.to_string(), r#"i18n: language "fr": expected en or es"#);
        assert_eq!(Lang::Es.to_string(), "es");
    }

    #[test]
    fn negotiation_follows_q_values_and_falls_back_to_english() {
        let cases = [
            ("", Lang::En),
            ("es", Lang::Es),
            ("es-MX,es;q=0.9,en;q=0.8", Lang::Es),
            ("en-US,en;q=0.9,es;q=0.8", Lang::En),
            ("fr, es;q=0.5, en;q=0.4", Lang::Es),
            ("en;q=0.1, es;q=0.2", Lang::Es),
            ("ES-419", Lang::Es),
            ("es;q=0, *", Lang::En),
            ("en;q=0, *", Lang::Es),
            ("en;q=0, es;q=0", Lang::En),
            ("*", Lang::En),
            ("fr-CA, de", Lang::En),
            // Ties: the first named wins.
            ("es;q=0.5, en;q=0.5", Lang::Es),
            // Malformed q values and ranges are skipped, not trusted.
            ("es;q=2, en;q=0.3", Lang::En),
            ("es;q=0.12345, en;q=0.1", Lang::En),
            ("es;q=abc", Lang::En),
            ("es;q, en", Lang::En),
            ("e s, en", Lang::En),
            ("español, es;q=0.1", Lang::Es),
            (",,,;;;===", Lang::En),
            ("es;Q=0.7;level=1, en;q=0.6", Lang::Es),
            ("\u{202e}es", Lang::En),
        ];
        for (header, want) in cases {
            assert_eq!(Lang::negotiate(header), want, "{header:?}");
        }
        let long = "fr;q=0.9,".repeat(10_000) + "es";
        assert_eq!(Lang::negotiate(&long), Lang::En, "only the first 64 ranges are read");
    }

    #[test]
    fn sanitize_keeps_values_on_one_visible_line() {
        assert_eq!(sanitize("acme"), "acme");
        assert_eq!(sanitize("a\nb\r\nc\td"), "a b  c d");
        assert_eq!(sanitize("x\u{202e}evil\u{2066}y"), "x\u{FFFD}evil\u{FFFD}y");
        assert_eq!(sanitize("zero\u{200b}width\u{feff}"), "zero\u{FFFD}width\u{FFFD}");
        assert_eq!(sanitize("nul\0bell\u{7}"), "nul\u{FFFD}bell\u{FFFD}");
        let long = "é".repeat(10_000);
        let cut = sanitize(&long);
        assert_eq!(cut.chars().count(), MAX_VALUE_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(sanitize(&cut), cut, "idempotent");
        let exact = "a".repeat(MAX_VALUE_CHARS);
        assert_eq!(sanitize(&exact), exact);
    }

    #[test]
    fn messages_parse_placeholders_links_and_escaped_braces() {
        let m = Message::parse("{tenant:q} asked {{x}} [[epsilon]] and [[purpose|the {purpose}]].").expect("parse");
        assert_eq!(
            m.segments,
            vec![
                Segment::Arg { name: "tenant".into(), quoted: true },
                Segment::Literal(" asked {x} ".into()),
                Segment::Link { term: "epsilon".into(), words: vec![] },
                Segment::Literal(" and ".into()),
                Segment::Link {
                    term: "purpose".into(),
                    words: vec![Segment::Literal("the ".into()), Segment::Arg { name: "purpose".into(), quoted: false }]
                },
                Segment::Literal(".".into()),
            ]
        );
        assert_eq!(m.placeholders().into_iter().collect::<Vec<_>>(), ["purpose", "tenant"]);
        assert_eq!(m.terms().into_iter().collect::<Vec<_>>(), ["epsilon", "purpose"]);
    }

    #[test]
    fn malformed_messages_are_errors_naming_the_offset() {
        for (src, needle) in [
            ("a {tenant", "byte 2: `{` without a closing `}`"),
            ("a } b", "byte 2: `}` without an opening `{`"),
            ("{Tenant}", "not a lowercase name"),
            ("{}", "not a lowercase name"),
            ("[[epsilon", "without a closing"),
            ("[[Eps]]", "does not name a term"),
            ("[[epsilon|]]", "shows no words"),
            ("[[epsilon|a [[b]] ]]", "`[[` inside a link"),
            ("done]]", "`]]` outside"),
            ("[[epsilon|words", "without a closing `]]`"),
            ("line\nbreak", "control character U+000A"),
        ] {
            let err = Message::parse(src).expect_err(src);
            assert!(err.contains(needle), "{src:?}: {err}");
        }
    }

    #[test]
    fn strings_flatten_to_dotted_keys_and_refuse_non_strings() {
        let s = Strings::from_json(r#"{"zkq":{"a":{"b":"x"}}}"#, r#"{"zkq":{"a":{"b":"y"}}}"#).expect("strings");
        assert_eq!(s.get(Lang::Es, "zkq.a.b"), Some("y"));
        assert_eq!(s.require(Lang::En, "zkq.a.c").expect_err("missing").to_string(), "i18n: en: no string zkq.a.c");
        let err = Strings::from_json(r#"{"zkq":{"a":1}}"#, "{}").expect_err("number");
        assert_eq!(err.to_string(), "i18n: en.json: zkq.a: expected a string or an object, found 1");
        assert!(Strings::from_json("{", "{}").expect_err("json").to_string().starts_with("i18n: en.json: "));
    }

    #[test]
    fn escapes_neutralise_markup() {
        assert_eq!(html_escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(markdown_escape("](javascript:alert(1))"), r"\]\(javascript\:alert\(1\)\)");
        assert_eq!(markdown_escape("www.x.com"), r"www\.x\.com");
        assert_eq!(markdown_escape_prose("Done: *no* (ok)."), r"Done: \*no\* \(ok\).");
    }
}
