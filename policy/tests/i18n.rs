//! The EN/ES explainers end to end: the strings files are complete and consistent, every zkq
//! string renders, `docs/glossary.md` is current, every kind of decision is explained in both
//! languages, and hostile user values stay inert in text, Markdown and HTML.

use std::collections::BTreeMap;

use zkq_policy::explain::{check_strings, glossary_markdown, ANNOTATION_KEY, REQUEST_ARGS, ZKQ_KEYS};
use zkq_policy::i18n::{EN_JSON, ES_JSON, MAX_VALUE_CHARS};
use zkq_policy::{explain, AdmissionRequest, Explanation, Lang, PolicyEngine, RenderedText, Strings, Why};

/// The template the tests' strings explain (the catalog's own live in the "templates" section).
const TEMPLATE_ID: &str = "test-purpose-only";
/// Its reason, EN and ES: a request value, a parameter, a glossary link.
const TEMPLATE_REASON_EN: &str =
    "{tenant:q} may prove for the [[purpose]] {p_purpose:q} only; this job's purpose is {purpose:q} on {weekday}.";
const TEMPLATE_REASON_ES: &str =
    "{tenant:q} solo puede probar con la [[purpose|finalidad]] {p_purpose:q}; la de este trabajo es {purpose:q}, el {weekday}.";

/// A hand-written permit explaining itself.
const ANNOTATED_PERMIT: &str = r#"@reason_en("Night jobs of {tenant:q} are allowed by the [[policy]] {policy}.")
@reason_es("La [[policy|política]] {policy} permite los trabajos nocturnos de {tenant:q}.")
permit(principal, action == Action::"Prove", resource);"#;
/// A permit with caps and no words of its own.
const CAPPING_PERMIT: &str = r#"@priority_cap("3") @weight("4") @epsilon_micro_cap("500000")
permit(principal, action == Action::"Prove", resource);"#;
/// A shared emergency stop.
const FORBID_ALL: &str = r#"forbid(principal, action, resource);"#;
/// A forbid that overflows for large ε (an evaluation error).
const FORBID_OVERFLOWING: &str =
    r#"forbid(principal, action == Action::"Prove", resource) when { context.epsilon_micro * 1000000000000 > 0 };"#;

/// Values users control that try to expand placeholders, inject markup or links, break the
/// line or reorder the text.
const HOSTILE: [&str; 9] = [
    "{tenant}",
    "[[epsilon]]",
    "<script>alert(1)</script>",
    "](javascript:alert(1))",
    "\"\n\r\u{202e}evil",
    "{{tenant}}",
    "}}{{",
    "**bold** _x_ `code` <img src=x onerror=alert(1)> &amp; www.evil.com http://evil.com a@b.c",
    "[[purpose|{tenant}]]",
];

/// The builtin strings with [`TEMPLATE_ID`]'s reason added to the "templates" section.
fn strings() -> Strings {
    let with_template = |json: &str, reason: &str| {
        let mut v: serde_json::Value = serde_json::from_str(json).expect("json");
        v["templates"][TEMPLATE_ID] = serde_json::json!({ "reason": reason });
        v.to_string()
    };
    Strings::from_json(&with_template(EN_JSON, TEMPLATE_REASON_EN), &with_template(ES_JSON, TEMPLATE_REASON_ES))
        .expect("strings")
}

/// A Cedar string literal holding `s`.
fn cedar_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// A permit from the [`TEMPLATE_ID`] template whose parameter `purpose` is `param`.
fn template_permit(param: &str) -> String {
    format!(
        "@template(\"{TEMPLATE_ID}\") @template_version(\"1.0.0\") @p_purpose({})\n\
         permit(principal, action == Action::\"Prove\", resource);",
        cedar_string(param)
    )
}

/// The catalog examples' base request (`RequestOverrides::base`) with this test's values.
fn request(tenant: &str, purpose: &str) -> AdmissionRequest {
    AdmissionRequest {
        tenant: tenant.into(),
        tenant_tier: "gold".into(),
        purpose: purpose.into(),
        epsilon_micro: 200_000,
        priority: 7,
        deadline_in_ms: Some(30_000),
        jobs_last_minute: 2,
        // Wednesday 2025-12-03 14:33:20 UTC.
        at: chrono::DateTime::from_timestamp(1_764_772_400, 0).expect("time"),
        ..zkq_policy::catalog::RequestOverrides::base()
    }
}

/// An engine where `tenant` has the policies `(id, source)` (ids as Cedar knows them).
fn engine(tenant: &str, policies: &[(&str, &str)]) -> PolicyEngine {
    let mut e = PolicyEngine::new().expect("engine");
    let ps = policies.iter().map(|(id, src)| PolicyEngine::parse(id, src).expect("parse")).collect();
    e.set_tenant(tenant, ps).expect("valid");
    e
}

/// Renders in both languages, checking what must hold of every rendering.
fn render_both(e: &Explanation, strings: &Strings) -> [RenderedText; 2] {
    Lang::ALL.map(|lang| {
        let r = e.render(strings, lang).unwrap_or_else(|err| panic!("{lang} {e:?}: {err}"));
        assert!(!r.text.is_empty(), "{lang}: empty");
        assert_inert(&r);
        r
    })
}

/// One line; no markup but the glossary links.
fn assert_inert(r: &RenderedText) {
    for bad in ['\n', '\r', '\u{202e}', '\u{2066}', '\u{200b}'] {
        assert!(!r.text.contains(bad) && !r.markdown.contains(bad) && !r.html.contains(bad), "{bad:?} in {r:?}");
    }
    let lower = r.html.to_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img"), "raw markup in {}", r.html);
    assert_eq!(r.html.matches("<a ").count(), r.html.matches("<a href=\"docs/glossary.md#").count(), "{}", r.html);
    assert!(r.html.matches('<').count() == 2 * r.html.matches("<a ").count(), "only <a> and </a>: {}", r.html);
    assert_eq!(r.markdown.matches("](").count(), r.markdown.matches("](docs/glossary.md#").count(), "{}", r.markdown);
    assert!(!r.markdown.replace("\\<", "").contains('<'), "unescaped < in markdown: {}", r.markdown);
    let links = r.markdown.matches("](docs/glossary.md#").count();
    assert!(links >= r.links.len(), "{r:?}");
    for (term, href) in &r.links {
        assert_eq!(href, &format!("docs/glossary.md#{term}"));
    }
}

#[test]
fn the_strings_files_are_complete_and_consistent() {
    let problems = check_strings(&Strings::builtin().expect("builtin"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(check_strings(&strings()).is_empty(), "with the test template");
}

#[test]
fn the_check_finds_each_kind_of_problem() {
    let mut en: serde_json::Value = serde_json::from_str(EN_JSON).expect("en");
    let mut es: serde_json::Value = serde_json::from_str(ES_JSON).expect("es");
    en["zkq"]["deny"]["forbidden"] = "The [[policy]] {policy} forbids {tenant}, see [[nonsense]].".into();
    en["zkq"]["deny"]["no_permit"] = "Nobody permitted {tenant} to prove {secret}.".into();
    en["zkq"]["value"]["none"] = " ".into();
    es["zkq"]["extra"] = "solo en español".into();
    en["templates"]["t"] = serde_json::json!({ "reason": "{p_x} {error}", "title": "Broken {" });
    es["templates"]["t"] = serde_json::json!({ "reason": "{p_x} {error}", "title": "Roto" });
    let s = Strings::from_json(&en.to_string(), &es.to_string()).expect("strings");
    let problems = check_strings(&s).join("\n");
    for needle in [
        "en: zkq.deny.forbidden: [[nonsense]] is not a glossary key",
        "zkq.deny.forbidden: en uses placeholders {\"policy\", \"tenant\"}, es {\"circuit\", \"policy\", \"tenant\"}",
        "en: zkq.deny.no_permit: placeholder {secret} is not one the code fills",
        "en: zkq.value.none: empty",
        "zkq.extra: in es.json, missing from en.json",
        "es: zkq.extra: not a key zkq fills",
        "en: templates.t.reason: placeholder {error} is not one the code fills",
        "en: templates.t.title: byte 7: `{` without a closing `}`",
    ] {
        assert!(problems.contains(needle), "{needle:?} not in:\n{problems}");
    }
    let no_glossary = Strings::from_json(r#"{"zkq":{}}"#, r#"{"zkq":{}}"#).expect("strings");
    let problems = check_strings(&no_glossary).join("\n");
    assert!(problems.contains("glossary.rate_limit.definition: missing from es.json"), "{problems}");
    assert!(problems.contains("zkq.deny.no_permit: missing from en.json"), "{problems}");
}

#[test]
fn every_zkq_string_renders_with_its_declared_arguments_and_nothing_left_over() {
    let s = Strings::builtin().expect("strings");
    for zk in ZKQ_KEYS {
        let mut args: BTreeMap<String, String> = zk.args.iter().map(|a| ((*a).to_owned(), format!("v_{a}"))).collect();
        if zk.request {
            args.extend(REQUEST_ARGS.iter().map(|a| ((*a).to_owned(), format!("v_{a}"))));
        }
        let e = Explanation::new(zk.key, args);
        for r in render_both(&e, &s) {
            for leftover in ["{", "}", "[[", "]]"] {
                assert!(!r.text.contains(leftover), "{}: {leftover} left in {:?}", zk.key, r.text);
            }
        }
        // One argument fewer is an error, never a half-rendered string.
        for missing in zk.args {
            let mut fewer = e.clone();
            fewer.args.remove(*missing);
            if s.get(Lang::En, zk.key).is_some_and(|t| t.contains(&format!("{{{missing}"))) {
                let err = fewer.render(&s, Lang::En).expect_err("missing argument");
                assert!(err.to_string().contains(&format!("placeholder {{{missing}}} has no value")), "{err}");
            }
        }
    }
    let unknown = Explanation::new("zkq.deny.nonsense", BTreeMap::new()).render(&s, Lang::Es).expect_err("unknown");
    assert_eq!(unknown.to_string(), "i18n: es: no string zkq.deny.nonsense");
}

#[test]
fn docs_glossary_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/glossary.md");
    let want = glossary_markdown(&Strings::builtin().expect("strings")).expect("glossary");
    if std::env::var_os("ZKQ_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/glossary.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/glossary.md is stale: rerun with ZKQ_BLESS=1");
    // Every link any string makes has its anchor (a `### <term>` heading).
    for term in Strings::builtin().expect("strings").glossary_terms() {
        assert!(have.contains(&format!("\n### {term}\n")), "no anchor #{term}");
    }
}

#[test]
fn each_kind_of_decision_is_explained_in_both_languages() {
    let s = strings();
    // NoPermit.
    let e = engine("acme", &[]);
    let r = request("acme", "kyc");
    let x = explain(&e.decide(&r), &r, &e);
    assert_eq!(x.key, "zkq.deny.no_permit");
    let [en, es] = render_both(&x, &s);
    assert_eq!(
        en.text,
        "No policy allows “acme” to prove “multi_public” for the purpose “kyc”, so zkq refuses it: a job runs only \
         when some policy allows it."
    );
    assert!(es.text.starts_with("Ninguna política permite a «acme» probar «multi_public» con la finalidad «kyc»"), "{}", es.text);
    assert_eq!(en.links, [("policy".to_owned(), "docs/glossary.md#policy".to_owned()), ("purpose".into(), "docs/glossary.md#purpose".into())]);
    assert!(en.markdown.starts_with("No [policy](docs/glossary.md#policy) allows “acme”"), "{}", en.markdown);
    assert!(es.html.starts_with("Ninguna <a href=\"docs/glossary.md#policy\">política</a> permite a «acme»"), "{}", es.html);

    // A template's permit: its reason, with its parameter and the localized weekday.
    let e = engine("acme", &[("acme.kyc", &template_permit("kyc"))]);
    let x = explain(&e.decide(&r), &r, &e);
    assert_eq!(x.key, format!("templates.{TEMPLATE_ID}.reason"));
    assert_eq!(x.args.get("p_purpose").map(String::as_str), Some("kyc"));
    let [en, es] = render_both(&x, &s);
    assert_eq!(en.text, "“acme” may prove for the purpose “kyc” only; this job's purpose is “kyc” on Wednesday.");
    assert_eq!(es.text, "«acme» solo puede probar con la finalidad «kyc»; la de este trabajo es «kyc», el miércoles.");

    // A hand-written policy's own words.
    let e = engine("acme", &[("acme.night", ANNOTATED_PERMIT)]);
    let x = explain(&e.decide(&r), &r, &e);
    assert_eq!(x.key, ANNOTATION_KEY);
    let [en, es] = render_both(&x, &s);
    assert_eq!(en.text, "Night jobs of “acme” are allowed by the policy acme.night.");
    assert_eq!(es.text, "La política acme.night permite los trabajos nocturnos de «acme».");

    // A plain permit with caps: the generic allow, the lowered priority and the weight.
    let e = engine("acme", &[("acme.caps", CAPPING_PERMIT)]);
    let x = explain(&e.decide(&r), &r, &e);
    assert_eq!(x.key, "zkq.allow.permitted");
    assert_eq!(x.notes.iter().map(|n| n.key.as_str()).collect::<Vec<_>>(), ["zkq.allow.priority_capped", "zkq.allow.weight_set"]);
    let [en, es] = render_both(&x, &s);
    assert_eq!(
        en.text,
        "“acme” may prove “multi_public”: the policy “acme.caps” allows it. Its priority was lowered from 7 to 3 by \
         the policy “acme.caps”. Its fair-share weight is 4, set by the policy “acme.caps”."
    );
    assert!(es.text.contains("bajó su prioridad de 7 a 3"), "{}", es.text);
    assert_eq!(en.links.len(), 3, "policy, priority, weight once each: {:?}", en.links);

    // The same permit, a job asking more ε than it allows: the worker's deny.
    let mut greedy = request("acme", "kyc");
    greedy.epsilon_micro = 1_250_000;
    let x = explain(&e.decide(&greedy), &greedy, &e);
    assert_eq!(x.key, "zkq.deny.epsilon_over_cap");
    let [en, es] = render_both(&x, &s);
    assert!(en.text.contains("ε 1.25, more than the 0.5 per proof the policy “acme.caps” allows"), "{}", en.text);
    assert!(es.text.contains("ε de 1,25, más que el 0,5 por prueba"), "{}", es.text);

    // A shared forbid without words: the generic deny naming it.
    let mut e = engine("acme", &[("acme.caps", CAPPING_PERMIT)]);
    e.add_shared(PolicyEngine::parse("shared.stop", FORBID_ALL).expect("parse")).expect("valid");
    let x = explain(&e.decide(&r), &r, &e);
    assert_eq!(x.key, "zkq.deny.forbidden");
    let [en, _] = render_both(&x, &s);
    assert_eq!(en.text, "The policy “shared.stop” forbids “acme” to prove “multi_public”.");

    // An evaluation error: fail closed, naming the policy.
    let e = engine("acme", &[("acme.caps", CAPPING_PERMIT), ("acme.overflow", FORBID_OVERFLOWING)]);
    let mut big = request("acme", "kyc");
    big.epsilon_micro = 10_000_000;
    let d = e.decide(&big);
    assert!(matches!(d.why, Why::EvaluationError { .. }), "{d:?}");
    let x = explain(&d, &big, &e);
    assert_eq!(x.args.get("policy").map(String::as_str), Some("acme.overflow"));
    let [en, es] = render_both(&x, &s);
    assert!(en.text.starts_with("zkq refused the job because the policy “acme.overflow” could not be checked ("), "{}", en.text);
    assert!(es.text.contains("no pudo comprobar la política «acme.overflow»"), "{}", es.text);

    // A request that does not fit the schema.
    let mut odd = request("acme", "kyc");
    odd.epsilon_micro = u64::MAX;
    let d = e.decide(&odd);
    assert!(matches!(d.why, Why::BadRequest(_)), "{d:?}");
    let x = explain(&d, &odd, &e);
    assert_eq!(x.key, "zkq.deny.bad_request");
    let [en, _] = render_both(&x, &s);
    assert!(en.text.contains("epsilon_micro"), "{}", en.text);

    // Policies unavailable.
    let [en, es] = render_both(&Explanation::policy_unavailable(), &s);
    assert!(en.text.contains("admits no job") && es.text.contains("no admite ningún trabajo"));
}

#[test]
fn a_stored_explanation_renders_the_same_after_json() {
    let s = strings();
    let e = engine("acme", &[("acme.caps", CAPPING_PERMIT)]);
    let r = request("acme", "");
    let x = explain(&e.decide(&r), &r, &e);
    let back: Explanation = serde_json::from_str(&serde_json::to_string(&x).expect("json")).expect("parse");
    assert_eq!(back, x);
    assert_eq!(back.render(&s, Lang::Es).expect("es"), x.render(&s, Lang::Es).expect("es"));
    // No purpose: shown as "(none)", not as an empty pair of quotes.
    let x = explain(&engine("acme", &[]).decide(&r), &r, &engine("acme", &[]));
    assert!(x.render(&s, Lang::En).expect("en").text.contains("the purpose “(none)”"));
}

/// Hostile tenant, purpose and parameter values, one at a time and together, through a
/// template's reason (quoted and unquoted placeholders, a link) and zkq's own strings.
#[test]
fn hostile_values_stay_inert_in_text_markdown_and_html() {
    let s = strings();
    let long = "x".repeat(10_000);
    let mut values: Vec<String> = HOSTILE.iter().map(|v| (*v).to_owned()).collect();
    values.push(long.clone());
    values.push(format!("{{{long}}}"));
    for v in &values {
        let tenant = v.as_str();
        let r = request(tenant, v);
        for policies in [vec![("t.tpl", template_permit(v))], vec![], vec![("t.caps", CAPPING_PERMIT.to_owned())]] {
            let ps: Vec<(&str, &str)> = policies.iter().map(|(id, src)| (*id, src.as_str())).collect();
            let e = engine(tenant, &ps);
            let x = explain(&e.decide(&r), &r, &e);
            for (lang, out) in Lang::ALL.into_iter().zip(render_both(&x, &s)) {
                // The value is shown, sanitised, as text: never expanded, never a link.
                let shown = zkq_policy::i18n::sanitize(v);
                let (open, close) = lang.quotes();
                let quoted: String = shown.replace('"', "'");
                assert!(out.text.contains(&format!("{open}{quoted}{close}")), "{lang}: {v:?} not shown in {:?}", out.text);
                assert!(out.text.chars().count() < 12 * MAX_VALUE_CHARS, "{lang}: {} chars", out.text.chars().count());
                let expected_links = x.notes.len() + 2;
                assert!(out.links.len() <= expected_links, "{lang}: extra links {:?}", out.links);
            }
        }
    }
    // A value that spells a placeholder stays those characters: single pass.
    let r = request("{purpose}", "kyc");
    let e = engine("{purpose}", &[]);
    let text = explain(&e.decide(&r), &r, &e).render(&s, Lang::En).expect("en").text;
    assert!(text.contains("“{purpose}” to prove"), "{text}");
    // A 10 kB value is cut with an ellipsis.
    let r = request(&long, "kyc");
    let e = engine(&long, &[]);
    let text = explain(&e.decide(&r), &r, &e).render(&s, Lang::En).expect("en").text;
    assert!(text.contains(&format!("“{}…”", "x".repeat(MAX_VALUE_CHARS - 1))), "{text}");
}
