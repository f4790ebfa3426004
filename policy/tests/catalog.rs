//! The builtin catalog against the engine, the i18n strings and the catalog page.

use std::collections::{BTreeMap, BTreeSet};

use zkq_policy::catalog::{files, Catalog, RequestOverrides, TemplateEffect, TemplateSpec, EXAMPLE_TENANT};
use zkq_policy::{Effect, PolicyEngine, PolicyError, Why};

/// The permit a forbid template's examples are decided with.
const CATCH_ALL: &str = r#"permit(principal, action == Action::"Prove", resource);"#;
/// Placeholders strings may use besides `{p_<param>}` (the contract's list): the request's
/// arguments and the deciding policy.
fn placeholder_allowed(p: &str) -> bool {
    zkq_policy::explain::REQUEST_ARGS.contains(&p) || p == "policy"
}
/// Glossary keys a `[[term]]` link may name.
const GLOSSARY: [&str; 13] = zkq_policy::explain::GLOSSARY_TERMS;
/// Parameter texts that try to break out of a Cedar string literal, a placeholder or the policy.
const HOSTILE: [&str; 10] = [
    r#"" || true || ""#,
    r#"kyc" || context.purpose != "kyc"#,
    "\\",
    "\\\"",
    "}; permit(principal, action, resource); //",
    "}}",
    "{{purposes}}",
    "line\nbreak\r\t",
    "?principal",
    "nul\u{0}é\u{202e}",
];

fn catalog() -> Catalog {
    Catalog::builtin().expect("the builtin catalog loads")
}

fn policy_id(t: &TemplateSpec) -> String {
    format!("{EXAMPLE_TENANT}.{}", t.id)
}

/// An engine where `acme` has the template rendered with `params` (and, for a forbid, every
/// tenant a shared catch-all permit).
fn engine_for(t: &TemplateSpec, params: &BTreeMap<String, String>) -> PolicyEngine {
    let rendered = t
        .render(EXAMPLE_TENANT, params)
        .unwrap_or_else(|e| panic!("{}: {e}", t.key()));
    let policies = vec![
        PolicyEngine::parse(&policy_id(t), &rendered.source).unwrap_or_else(|e| panic!("{e}\n{}", rendered.source))
    ];
    let mut engine = PolicyEngine::new().expect("engine");
    if t.effect == TemplateEffect::Forbid {
        engine
            .add_shared(PolicyEngine::parse("shared.catch-all", CATCH_ALL).expect("catch-all"))
            .expect("valid");
    }
    engine
        .set_tenant(EXAMPLE_TENANT, policies)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", t.key(), rendered.source));
    engine
}

#[test]
fn the_embedded_list_is_the_catalog_directory() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/catalog");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("policy/catalog")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = files::FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        embedded, on_disk,
        "policy/src/catalog/files.rs must list every policy/catalog file"
    );
    for (name, text) in files::FILES {
        let disk = std::fs::read_to_string(format!("{dir}/{name}")).expect("read");
        assert_eq!(&disk, text, "{name}");
    }
}

#[test]
fn every_template_at_its_defaults_validates_in_strict_mode() {
    let c = catalog();
    assert!(c.latest().len() >= 32);
    for t in c.templates() {
        let rendered = t.render(EXAMPLE_TENANT, &BTreeMap::new()).expect("defaults render");
        assert!(
            rendered.source.contains(&format!("@template(\"{}\")", t.id)),
            "{}",
            rendered.source
        );
        assert!(rendered
            .source
            .contains(&format!("@template_version(\"{}\")", t.version)));
        assert_eq!(rendered.params.len(), t.params.len());
        for p in &t.params {
            assert!(
                rendered.source.contains(&format!("@p_{}(", p.name)),
                "{}: @p_{}",
                t.key(),
                p.name
            );
        }
        let policy = PolicyEngine::parse(&policy_id(t), &rendered.source).expect("parses");
        assert_eq!(policy.annotation("template"), Some(t.id.as_str()));
        let mut engine = PolicyEngine::new().expect("engine");
        engine
            .set_tenant(EXAMPLE_TENANT, vec![policy])
            .unwrap_or_else(|e| panic!("{}: {e}", t.key()));
    }
}

#[test]
fn every_example_decides_as_expected() {
    let c = catalog();
    let mut decided = 0;
    for t in c.templates() {
        for ex in &t.examples {
            let engine = engine_for(t, &ex.params);
            let request = ex.request.apply();
            let d = engine.decide(&request);
            let at = format!("{} example {:?}", t.key(), ex.name);
            assert_eq!(d.effect, ex.expect, "{at}: {d:?}");
            let own = policy_id(t);
            match (t.effect, ex.expect, &d.why) {
                (TemplateEffect::Permit, Effect::Allow, Why::Permitted { by }) => assert_eq!(by, &vec![own], "{at}"),
                (TemplateEffect::Permit, Effect::Deny, Why::NoPermit) => {}
                (TemplateEffect::Forbid, Effect::Allow, Why::Permitted { by }) => {
                    assert_eq!(by, &vec!["shared.catch-all".to_owned()], "{at}")
                }
                (TemplateEffect::Forbid, Effect::Deny, Why::Forbidden { by }) => assert_eq!(by, &vec![own], "{at}"),
                other => panic!("{at}: unexpected {other:?}"),
            }
            if let Some(caps) = ex.caps {
                assert_eq!(d.caps, caps, "{at}");
            }
            decided += 1;
        }
    }
    assert!(decided >= 2 * c.templates().len(), "{decided} examples");
}

#[test]
fn hostile_parameters_never_change_the_policy_structure() {
    let c = catalog();
    let pairing = c.get("circuit-purpose-pairing", None).expect("template");
    let binding = c.get("purpose-binding", None).expect("template");
    for hostile in HOSTILE {
        for (t, param) in [(pairing, "purpose"), (binding, "purposes")] {
            let params = BTreeMap::from([(param.to_owned(), hostile.to_owned())]);
            // A set's elements are split on commas and trimmed; a string is kept as given.
            let elements: Vec<&str> = hostile.split(',').map(str::trim).collect();
            let (annotation, value) = if param == "purposes" {
                (elements.join(","), elements[0])
            } else {
                (hostile.to_owned(), hostile)
            };
            let rendered = t
                .render(EXAMPLE_TENANT, &params)
                .unwrap_or_else(|e| panic!("{hostile:?}: {e}"));
            let set: cedar_policy::PolicySet = rendered
                .source
                .parse()
                .unwrap_or_else(|e| panic!("{hostile:?}: {e}\n{}", rendered.source));
            assert_eq!(
                set.policies().count(),
                1,
                "{hostile:?} made more than one policy:\n{}",
                rendered.source
            );
            let policy = PolicyEngine::parse("p", &rendered.source).expect("parses");
            assert_eq!(
                policy.annotation(format!("p_{param}")),
                Some(annotation.as_str()),
                "{hostile:?}\n{}",
                rendered.source
            );
            assert_eq!(
                policy.annotations().count(),
                2 + t.params.len(),
                "{hostile:?} added annotations"
            );
            let engine = engine_for(t, &params);
            // The value is a literal: the usual purpose is refused, exactly the hostile text allowed.
            let usual = RequestOverrides::default().apply();
            assert_eq!(
                engine.decide(&usual).why,
                Why::NoPermit,
                "{hostile:?} widened the policy:\n{}",
                rendered.source
            );
            let exact = RequestOverrides {
                purpose: Some(value.to_owned()),
                ..Default::default()
            }
            .apply();
            assert_eq!(
                engine.decide(&exact).effect,
                Effect::Allow,
                "{hostile:?}:\n{}",
                rendered.source
            );
        }
        // A hostile tenant name is one entity id.
        let t = c.get("baseline-permit", None).expect("template");
        let rendered = t.render(hostile, &BTreeMap::new()).expect("renders");
        let policy = PolicyEngine::parse("p", &rendered.source).unwrap_or_else(|e| panic!("{hostile:?}: {e}"));
        match policy.principal_constraint() {
            cedar_policy::PrincipalConstraint::Eq(uid) => assert_eq!(uid.id().unescaped(), hostile, "{hostile:?}"),
            other => panic!("{hostile:?}: {other:?}"),
        }
    }
}

#[test]
fn unknown_missing_and_ill_typed_parameters_are_one_line_errors_naming_them() {
    let c = catalog();
    let t = c.get("business-hours", None).expect("template");
    let render = |k: &str, v: &str| t.render(EXAMPLE_TENANT, &BTreeMap::from([(k.to_owned(), v.to_owned())]));
    let cases = [
        ("start_hr", "8", "template business-hours@1.0.0: parameter start_hr: unknown (this template's parameters: start_hour, end_hour, weekdays)"),
        ("start_hour", "25", "template business-hours@1.0.0: parameter start_hour: hour 0..=23 expected: 25 is out of range 0..=23"),
        ("start_hour", "eight", "parameter start_hour: hour 0..=23 expected: \"eight\" is not a whole number"),
        ("weekdays", "mon", "parameter weekdays: weekday_set expected"),
        ("weekdays", "", "parameter weekdays: weekday_set expected"),
    ];
    for (k, v, want) in cases {
        let e = render(k, v).expect_err(want);
        assert!(
            matches!(e, PolicyError::Parameter { ref param, .. } if param == k),
            "{e:?}"
        );
        let line = e.to_string();
        assert!(line.contains(want) && !line.contains('\n'), "{line}");
    }
    let eps = c.get("epsilon-ceiling", None).expect("template");
    let e = eps
        .render(
            "acme",
            &BTreeMap::from([("max_epsilon".to_owned(), "0.1234567".to_owned())]),
        )
        .expect_err("7 decimals");
    assert!(e.to_string().contains("parameter max_epsilon: epsilon expected"), "{e}");
    let ok = eps
        .render(
            "acme",
            &BTreeMap::from([("max_epsilon".to_owned(), "0.250".to_owned())]),
        )
        .expect("ε");
    assert!(
        ok.source.contains("@p_max_epsilon(\"0.25\")") && ok.source.contains("> 250000"),
        "{}",
        ok.source
    );
    let none = c.get("emergency-deny", None).expect("template");
    let e = none
        .render("acme", &BTreeMap::from([("x".to_owned(), "1".to_owned())]))
        .expect_err("none");
    assert!(
        e.to_string()
            .ends_with("parameter x: unknown (this template's parameters: none)"),
        "{e}"
    );
}

fn i18n(lang: &str) -> serde_json::Value {
    let path = format!("{}/i18n/{lang}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `{name}` placeholders and `[[term|…]]` glossary terms of a string.
fn markers(s: &str) -> (Vec<String>, Vec<String>) {
    let mut placeholders = Vec::new();
    let mut terms = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("[[") {
        let Some(j) = rest[i..].find("]]") else { break };
        let inner = &rest[i + 2..i + j];
        terms.push(inner.split('|').next().unwrap_or("").to_owned());
        rest = &rest[i + j + 2..];
    }
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        placeholders.push(rest[i + 1..i + j].to_owned());
        rest = &rest[i + j + 1..];
    }
    (placeholders, terms)
}

#[test]
fn every_template_has_its_strings_in_both_languages() {
    let c = catalog();
    for lang in ["en", "es"] {
        let strings = i18n(lang);
        let section = strings
            .get("templates")
            .and_then(|s| s.as_object())
            .expect("templates section");
        let ids: BTreeSet<&str> = c.templates().iter().map(|t| t.id.as_str()).collect();
        for key in section.keys() {
            assert!(
                ids.contains(key.as_str()),
                "{lang}: strings for {key}, which is not in the catalog"
            );
        }
        for t in c.latest() {
            let at = format!("{lang}.json templates.{}", t.id);
            let entry = section.get(&t.id).unwrap_or_else(|| panic!("{at}: missing"));
            for key in ["title", "description", "reason"] {
                let s = entry.get(key).and_then(|v| v.as_str()).unwrap_or_default();
                assert!(!s.trim().is_empty(), "{at}.{key}: empty");
                let (placeholders, terms) = markers(s);
                for p in placeholders {
                    let own = p.strip_prefix("p_").is_some_and(|n| t.param(n).is_some());
                    assert!(
                        placeholder_allowed(p.as_str()) || own,
                        "{at}.{key}: placeholder {{{p}}} is not known"
                    );
                }
                for term in terms {
                    assert!(
                        GLOSSARY.contains(&term.as_str()),
                        "{at}.{key}: [[{term}]] is not a glossary term"
                    );
                }
            }
            let docs = entry
                .get("params")
                .and_then(|p| p.as_object())
                .unwrap_or_else(|| panic!("{at}.params"));
            let all_versions: BTreeSet<&str> = c
                .templates()
                .iter()
                .filter(|o| o.id == t.id)
                .flat_map(|o| o.params.iter().map(|p| p.name.as_str()))
                .collect();
            for name in &all_versions {
                let doc = docs.get(*name).and_then(|v| v.as_str()).unwrap_or_default();
                assert!(!doc.trim().is_empty(), "{at}.params.{name}: missing");
            }
            for name in docs.keys() {
                assert!(
                    all_versions.contains(name.as_str()),
                    "{at}.params.{name}: no such parameter"
                );
            }
        }
    }
}

#[test]
fn catalog_page_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/policy-catalog.md");
    let page = catalog().markdown(&i18n("en"), &i18n("es"));
    if std::env::var("ZKQ_BLESS").as_deref() == Ok("1") {
        std::fs::write(path, &page).expect("write docs/policy-catalog.md");
        return;
    }
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == page,
        "docs/policy-catalog.md is not what the catalog and policy/i18n make; regenerate it with \
         ZKQ_BLESS=1 cargo test -p zkq-policy --test catalog catalog_page_is_current"
    );
}
