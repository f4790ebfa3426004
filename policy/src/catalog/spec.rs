//! [`TemplateSpec`]: one catalog template (a `policy/catalog/<id>.toml` file), checked, and its
//! [`render`](TemplateSpec::render)ing into one static Cedar policy for a tenant.
//!
//! The template text is a Cedar policy template whose principal is the `?principal` slot
//! (<https://docs.cedarpolicy.com/policies/templates.html>) and whose zkq parameters are `{{name}}`
//! placeholders. Rendering replaces the slot by `Tenant::"<tenant>"` and each placeholder by the
//! parameter's Cedar literal ([`Value::cedar`]) in one pass over the template text: a value is
//! never scanned again, so a value holding `{{x}}` or `?principal` stays text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use super::param::{cedar_string, ParamType, Value};
use crate::{AdmissionRequest, Caps, Effect, PolicyEngine, PolicyError};

/// Permit or forbid: what a template's policy does when it matches. Compares equal to its
/// catalog text (`spec.effect == "permit"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TemplateEffect {
    /// Grants (a permit).
    Permit,
    /// Denies, whatever else permits (a forbid; used together with a permit).
    Forbid,
}

impl TemplateEffect {
    /// `"permit"` or `"forbid"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TemplateEffect::Permit => "permit",
            TemplateEffect::Forbid => "forbid",
        }
    }
}

impl fmt::Display for TemplateEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for TemplateEffect {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A template parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// Its name (`[a-z][a-z0-9_]*`): `{{name}}` in the template, `name=value` on the CLI,
    /// `@p_name` in the rendered policy, `{p_name}` in strings.
    pub name: String,
    /// Its type.
    pub kind: ParamType,
    /// The default, as CLI text (checked against the type at load); `None`: the parameter must
    /// be given.
    pub default: Option<String>,
}

/// What an example expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// A few words naming the case.
    pub name: String,
    /// Parameters given (CLI text); the others take their defaults.
    pub params: BTreeMap<String, String>,
    /// The request: [`RequestOverrides::apply`] on [`RequestOverrides::base`].
    pub request: RequestOverrides,
    /// The decision expected (a forbid template's examples are decided together with a
    /// catch-all permit).
    pub expect: Effect,
    /// The caps an allow must carry exactly, when the example names them.
    pub caps: Option<Caps>,
}

/// Fields of an example request that differ from [`RequestOverrides::base`]. `hour_utc` and
/// `weekday` place the decision's time in the week of Monday 2025-12-01 (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestOverrides {
    /// The tenant (the template is rendered for `acme`: another tenant shows who it leaves out).
    pub tenant: Option<String>,
    /// The tenant's tier.
    pub tenant_tier: Option<String>,
    /// The tenant's fair-share weight.
    pub tenant_weight: Option<u32>,
    /// The circuit's name.
    pub circuit_name: Option<String>,
    /// The circuit's constraint count.
    pub constraints: Option<i64>,
    /// The job's purpose.
    pub purpose: Option<String>,
    /// ε asked, micro-ε.
    pub epsilon_micro: Option<u64>,
    /// Priority 0-9.
    pub priority: Option<u8>,
    /// Milliseconds to the deadline.
    pub deadline_in_ms: Option<i64>,
    /// The worker's region.
    pub region: Option<String>,
    /// Hour of the decision, 0-23 UTC.
    pub hour_utc: Option<u32>,
    /// Weekday of the decision, 1 = Monday … 7 = Sunday.
    pub weekday: Option<u32>,
    /// The tenant's jobs admitted in the last minute.
    pub jobs_last_minute: Option<u32>,
}

/// The tenant every example renders its template for.
pub const EXAMPLE_TENANT: &str = "acme";
/// Monday 2025-12-01 00:00:00 UTC: the week example times fall in.
const EXAMPLE_MONDAY: i64 = 1_764_547_200;

impl RequestOverrides {
    /// The request examples start from: tenant `acme` (tier `standard`, weight 1) proves
    /// `multi_public` (1000 constraints) for purpose `kyc`, ε 0, priority 5, no deadline, in
    /// `eu-west-1`, Wednesday 14:30 UTC, no jobs in the last minute.
    pub fn base() -> AdmissionRequest {
        AdmissionRequest {
            tenant: EXAMPLE_TENANT.into(),
            tenant_tier: "standard".into(),
            tenant_weight: 1,
            circuit_id: "ab".repeat(32),
            circuit_name: "multi_public".into(),
            constraints: 1000,
            purpose: "kyc".into(),
            epsilon_micro: 0,
            priority: 5,
            deadline_in_ms: None,
            region: "eu-west-1".into(),
            jobs_last_minute: 0,
            at: at(3, 14),
        }
    }

    /// [`base`](Self::base) with these fields replaced.
    pub fn apply(&self) -> AdmissionRequest {
        let mut r = Self::base();
        let o = self.clone();
        r.tenant = o.tenant.unwrap_or(r.tenant);
        r.tenant_tier = o.tenant_tier.unwrap_or(r.tenant_tier);
        r.tenant_weight = o.tenant_weight.unwrap_or(r.tenant_weight);
        r.circuit_name = o.circuit_name.unwrap_or(r.circuit_name);
        r.constraints = o.constraints.unwrap_or(r.constraints);
        r.purpose = o.purpose.unwrap_or(r.purpose);
        r.epsilon_micro = o.epsilon_micro.unwrap_or(r.epsilon_micro);
        r.priority = o.priority.unwrap_or(r.priority);
        r.deadline_in_ms = o.deadline_in_ms.or(r.deadline_in_ms);
        r.region = o.region.unwrap_or(r.region);
        r.jobs_last_minute = o.jobs_last_minute.unwrap_or(r.jobs_last_minute);
        r.at = at(o.weekday.unwrap_or(3), o.hour_utc.unwrap_or(14));
        r
    }

    /// The fields set, as `key=value` text (for the catalog page).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(format!("{k}={v}"));
            }
        };
        put("tenant", self.tenant.clone());
        put("tenant_tier", self.tenant_tier.clone());
        put("tenant_weight", self.tenant_weight.map(|v| v.to_string()));
        put("circuit_name", self.circuit_name.clone());
        put("constraints", self.constraints.map(|v| v.to_string()));
        put("purpose", self.purpose.clone());
        put("epsilon_micro", self.epsilon_micro.map(|v| v.to_string()));
        put("priority", self.priority.map(|v| v.to_string()));
        put("deadline_in_ms", self.deadline_in_ms.map(|v| v.to_string()));
        put("region", self.region.clone());
        put("hour_utc", self.hour_utc.map(|v| v.to_string()));
        put("weekday", self.weekday.map(|v| v.to_string()));
        put("jobs_last_minute", self.jobs_last_minute.map(|v| v.to_string()));
        out
    }

    fn check(&self) -> Result<(), String> {
        match (self.weekday, self.hour_utc, self.priority) {
            (Some(d), _, _) if !(1..=7).contains(&d) => Err(format!("request weekday {d} is not 1-7")),
            (_, Some(h), _) if h > 23 => Err(format!("request hour_utc {h} is not 0-23")),
            (_, _, Some(p)) if p > 9 => Err(format!("request priority {p} is not 0-9")),
            _ => Ok(()),
        }
    }
}

/// The instant at `hour`:30 UTC on `weekday` (1 = Monday) of the examples' week.
fn at(weekday: u32, hour: u32) -> chrono::DateTime<chrono::Utc> {
    let secs = EXAMPLE_MONDAY + i64::from(weekday.clamp(1, 7) - 1) * 86_400 + i64::from(hour.min(23)) * 3600 + 1800;
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A template rendered for a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One static Cedar policy: `@template`, `@template_version`, one `@p_<param>` per parameter,
    /// the template's caps, then the template with `principal == Tenant::"<tenant>"`.
    pub source: String,
    /// Every parameter's value as canonical CLI text (defaults included).
    pub params: BTreeMap<String, String>,
}

/// A piece of template text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Param(String),
    Principal,
}

/// One catalog template, checked at load.
#[derive(Debug, Clone)]
pub struct TemplateSpec {
    /// Kebab-case id, the file name's stem (`circuit-allow-list`).
    pub id: String,
    /// Semver text (`1.0.0`).
    pub version: String,
    /// Who wrote it.
    pub author: String,
    /// Its group on the catalog page (`circuits`, `privacy`, …).
    pub category: String,
    /// Permit or forbid.
    pub effect: TemplateEffect,
    /// Its parameters, in catalog order.
    pub params: Vec<ParamSpec>,
    /// Cap annotations the rendered permit carries: annotation (`priority_cap`,
    /// `epsilon_micro_cap`, `weight`) → the parameter whose value it takes.
    pub caps: BTreeMap<String, String>,
    /// The Cedar template text (`?principal` slot, `{{param}}` placeholders).
    pub cedar: String,
    /// Examples: at least one allow and one deny.
    pub examples: Vec<Example>,
    pub(super) semver: semver::Version,
    pieces: Vec<Piece>,
}

/// A template file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: String,
    version: String,
    author: String,
    category: String,
    effect: String,
    #[serde(default)]
    caps: BTreeMap<String, String>,
    #[serde(default)]
    params: Vec<RawParam>,
    cedar: String,
    #[serde(default)]
    examples: Vec<RawExample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    default: Option<String>,
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    name: String,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    request: RequestOverrides,
    expect: String,
    caps: Option<RawCaps>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    priority: Option<u8>,
    epsilon_micro: Option<u64>,
    weight: Option<u32>,
}

/// The tenant a template is rendered for when it is checked at load.
const CHECK_TENANT: &str = "catalog-check";

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_kebab(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Splits template text into text, `{{param}}` and `?principal` pieces.
fn pieces(cedar: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = cedar;
    let push_text = |text: &str, out: &mut Vec<Piece>| -> Result<(), String> {
        let mut parts = text.split("?principal");
        if let Some(first) = parts.next() {
            out.push(Piece::Text(first.to_owned()));
        }
        for part in parts {
            out.push(Piece::Principal);
            out.push(Piece::Text(part.to_owned()));
        }
        if text.contains("?resource") {
            return Err("the template uses ?resource; only the ?principal slot (the tenant) is allowed".into());
        }
        if text.contains("}}") {
            return Err("a \"}}\" closes no \"{{\"".into());
        }
        Ok(())
    };
    while let Some(open) = rest.find("{{") {
        push_text(&rest[..open], &mut out)?;
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or("a \"{{\" is never closed by \"}}\"")?;
        let name = after[..close].trim();
        if !is_name(name) {
            return Err(format!(
                "placeholder {{{{{name}}}}} is not a parameter name ([a-z][a-z0-9_]*)"
            ));
        }
        out.push(Piece::Param(name.to_owned()));
        rest = &after[close + 2..];
    }
    push_text(rest, &mut out)?;
    Ok(out)
}

impl TemplateSpec {
    /// Parses and checks one template file (`file` names it in errors): fields, semver, the id
    /// matching the file name, parameter types and defaults, placeholders ⇔ parameters, caps,
    /// one `?principal` slot in the head, and every example renders. The rendered defaults must
    /// parse as one Cedar policy with the declared effect and the tenant as its principal.
    pub fn parse(file: &str, text: &str) -> Result<TemplateSpec, PolicyError> {
        let err = |why: String| PolicyError::Catalog {
            file: file.to_owned(),
            why,
        };
        let raw: RawTemplate = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(String::new(), |span| {
                format!(
                    "line {}: ",
                    text.get(..span.start).unwrap_or("").matches('\n').count() + 1
                )
            });
            err(format!("{line}{}", e.message().trim().replace('\n', " ")))
        })?;
        if !is_kebab(&raw.id) {
            return Err(err(format!("id {:?} is not kebab-case ([a-z][a-z0-9-]*)", raw.id)));
        }
        let semver = semver::Version::parse(&raw.version)
            .map_err(|e| err(format!("version {:?} is not semver: {e}", raw.version)))?;
        let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".toml");
        let expected = [raw.id.clone(), format!("{}@{}", raw.id, raw.version)];
        if !expected.iter().any(|e| e == stem) {
            return Err(err(format!(
                "file name must be {}.toml or {}.toml",
                expected[0], expected[1]
            )));
        }
        for (what, v) in [("author", &raw.author), ("category", &raw.category)] {
            if v.trim().is_empty() {
                return Err(err(format!("{what} is empty")));
            }
        }
        let effect = match raw.effect.as_str() {
            "permit" => TemplateEffect::Permit,
            "forbid" => TemplateEffect::Forbid,
            other => return Err(err(format!("effect {other:?} is neither \"permit\" nor \"forbid\""))),
        };
        let mut params: Vec<ParamSpec> = Vec::new();
        for p in raw.params {
            if !is_name(&p.name) {
                return Err(err(format!("parameter name {:?} is not [a-z][a-z0-9_]*", p.name)));
            }
            if params.iter().any(|q| q.name == p.name) {
                return Err(err(format!("parameter {} is declared twice", p.name)));
            }
            let kind =
                ParamType::from_name(&p.kind, p.min, p.max).map_err(|e| err(format!("parameter {}: {e}", p.name)))?;
            if let Some(d) = &p.default {
                kind.parse(d)
                    .map_err(|e| err(format!("parameter {}: default {e}", p.name)))?;
            }
            params.push(ParamSpec {
                name: p.name,
                kind,
                default: p.default,
            });
        }
        let pieces = pieces(&raw.cedar).map_err(err)?;
        let principal_slots = pieces.iter().filter(|p| **p == Piece::Principal).count();
        if principal_slots != 1 {
            return Err(err(format!(
                "the template must use ?principal exactly once (it does {principal_slots} times)"
            )));
        }
        if raw.cedar.contains('@') {
            return Err(err(
                "the template text carries an annotation; caps go in `caps`, the others are zkq's".into(),
            ));
        }
        let referenced: BTreeSet<&str> = pieces
            .iter()
            .filter_map(|p| {
                if let Piece::Param(n) = p {
                    Some(n.as_str())
                } else {
                    None
                }
            })
            .chain(raw.caps.values().map(String::as_str))
            .collect();
        let declared: BTreeSet<&str> = params.iter().map(|p| p.name.as_str()).collect();
        if let Some(n) = referenced.difference(&declared).next() {
            return Err(err(format!("{{{{{n}}}}} is used but no parameter {n} is declared")));
        }
        if let Some(n) = declared.difference(&referenced).next() {
            return Err(err(format!("parameter {n} is declared but never used")));
        }
        for (annotation, param) in &raw.caps {
            let kind = params.iter().find(|p| &p.name == param).map(|p| p.kind);
            let fits = match (annotation.as_str(), kind) {
                ("priority_cap", Some(ParamType::Priority)) | ("epsilon_micro_cap", Some(ParamType::Epsilon)) => true,
                ("weight", Some(ParamType::Long { min, max })) => min >= 0 && max <= i64::from(u32::MAX),
                _ => false,
            };
            if !fits {
                return Err(err(format!(
                    "cap {annotation} = {param}: caps are priority_cap (a priority), epsilon_micro_cap (an epsilon) \
                     or weight (a long within 0..=4294967295)"
                )));
            }
        }
        if effect == TemplateEffect::Forbid && !raw.caps.is_empty() {
            return Err(err("a forbid carries no caps (caps come with an allow)".into()));
        }
        let mut spec = TemplateSpec {
            id: raw.id,
            version: raw.version,
            author: raw.author,
            category: raw.category,
            effect,
            params,
            caps: raw.caps,
            cedar: raw.cedar,
            examples: Vec::new(),
            semver,
            pieces,
        };
        for ex in raw.examples {
            let expect = match ex.expect.as_str() {
                "allow" => Effect::Allow,
                "deny" => Effect::Deny,
                other => {
                    return Err(err(format!(
                        "example {:?}: expect {other:?} is neither allow nor deny",
                        ex.name
                    )))
                }
            };
            ex.request
                .check()
                .map_err(|e| err(format!("example {:?}: {e}", ex.name)))?;
            spec.render(EXAMPLE_TENANT, &ex.params)
                .map_err(|e| err(format!("example {:?}: {e}", ex.name)))?;
            let caps = ex.caps.map(|c| Caps {
                priority: c.priority,
                epsilon_micro: c.epsilon_micro,
                weight: c.weight,
            });
            spec.examples.push(Example {
                name: ex.name,
                params: ex.params,
                request: ex.request,
                expect,
                caps,
            });
        }
        for want in [Effect::Allow, Effect::Deny] {
            if !spec.examples.iter().any(|e| e.expect == want) {
                return Err(err(format!(
                    "no example expects {want:?}; every template shows an allow and a deny"
                )));
            }
        }
        if spec.params.iter().all(|p| p.default.is_some()) {
            spec.check_defaults().map_err(err)?;
        }
        Ok(spec)
    }

    /// Renders the defaults for a test tenant and checks the Cedar policy's shape.
    fn check_defaults(&self) -> Result<(), String> {
        let rendered = self.render(CHECK_TENANT, &BTreeMap::new()).map_err(|e| e.to_string())?;
        let policy = PolicyEngine::parse(&self.id, &rendered.source).map_err(|e| e.to_string())?;
        let effect = match policy.effect() {
            cedar_policy::Effect::Permit => TemplateEffect::Permit,
            cedar_policy::Effect::Forbid => TemplateEffect::Forbid,
        };
        if effect != self.effect {
            return Err(format!("effect is {} but the Cedar text is a {effect}", self.effect));
        }
        let tenant = format!("Tenant::{}", cedar_string(CHECK_TENANT));
        match policy.principal_constraint() {
            cedar_policy::PrincipalConstraint::Eq(uid) if uid.to_string() == tenant => Ok(()),
            other => Err(format!(
                "the principal must be `principal == ?principal`, not {other:?}"
            )),
        }
    }

    /// `id@version`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The parsed version.
    pub fn semver(&self) -> &semver::Version {
        &self.semver
    }

    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Renders the template as one static Cedar policy for `tenant`, with `params` (CLI text;
    /// defaults fill the others). Unknown, missing or ill-typed parameters are errors naming
    /// the parameter.
    pub fn render(&self, tenant: &str, params: &BTreeMap<String, String>) -> Result<Rendered, PolicyError> {
        let perr = |param: &str, why: String| PolicyError::Parameter {
            template: self.key(),
            param: param.to_owned(),
            why,
        };
        if let Some(unknown) = params.keys().find(|k| self.param(k).is_none()) {
            let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(perr(unknown, format!("unknown (this template's parameters: {known})")));
        }
        let mut values: BTreeMap<&str, Value> = BTreeMap::new();
        for p in &self.params {
            let text = params
                .get(&p.name)
                .or(p.default.as_ref())
                .ok_or_else(|| perr(&p.name, format!("missing (a {} is required: {}=…)", p.kind, p.name)))?;
            let value = p
                .kind
                .parse(text)
                .map_err(|why| perr(&p.name, format!("{} expected: {why}", p.kind)))?;
            values.insert(&p.name, value);
        }
        let mut source = format!(
            "@template({})\n@template_version({})\n",
            cedar_string(&self.id),
            cedar_string(&self.version)
        );
        for p in &self.params {
            if let Some(v) = values.get(p.name.as_str()) {
                source.push_str(&format!("@p_{}({})\n", p.name, cedar_string(&v.text())));
            }
        }
        for (annotation, param) in &self.caps {
            let n = values
                .get(param.as_str())
                .and_then(Value::number)
                .ok_or_else(|| perr(param, "not a number".into()))?;
            source.push_str(&format!("@{annotation}(\"{n}\")\n"));
        }
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => source.push_str(t),
                Piece::Principal => source.push_str(&format!("Tenant::{}", cedar_string(tenant))),
                Piece::Param(name) => {
                    let v = values
                        .get(name.as_str())
                        .ok_or_else(|| perr(name, "not declared".into()))?;
                    source.push_str(&v.cedar());
                }
            }
        }
        let params = values.into_iter().map(|(k, v)| (k.to_owned(), v.text())).collect();
        Ok(Rendered {
            source: source.trim_end().to_owned() + "\n",
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A template whose parameter has no default.
    const REQUIRED: &str = r#"
id = "needs-purpose"
version = "0.1.0"
author = "test"
category = "test"
effect = "permit"
cedar = 'permit(principal == ?principal, action == Action::"Prove", resource) when { context.purpose == {{purpose}} };'
[[params]]
name = "purpose"
type = "string"
[[examples]]
name = "match"
params = { purpose = "kyc" }
expect = "allow"
[[examples]]
name = "other"
params = { purpose = "ads" }
expect = "deny"
"#;

    #[test]
    fn a_parameter_without_default_is_required() {
        let spec = TemplateSpec::parse("needs-purpose.toml", REQUIRED).expect("parses");
        let e = spec.render("acme", &BTreeMap::new()).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "template needs-purpose@0.1.0: parameter purpose: missing (a string is required: purpose=…)"
        );
    }

    #[test]
    fn catalog_rules_are_enforced_with_the_file_named() {
        let with_default = REQUIRED.replace("type = \"string\"", "type = \"string\"\ndefault = \"kyc\"");
        let cases = [
            (REQUIRED.replace("0.1.0", "one"), "is not semver"),
            (
                REQUIRED.replace("{{purpose}}", "{{purpos}}"),
                "{{purpos}} is used but no parameter purpos",
            ),
            (
                REQUIRED.replace("{{purpose}}", "\"kyc\""),
                "parameter purpose is declared but never used",
            ),
            (
                REQUIRED.replace("principal == ?principal", "principal"),
                "?principal exactly once",
            ),
            (
                REQUIRED.replace("type = \"string\"", "type = \"hour\"\ndefault = \"25\""),
                "default 25 is out of range",
            ),
            (
                with_default.replace("effect = \"permit\"", "effect = \"forbid\""),
                "but the Cedar text is a permit",
            ),
            (
                REQUIRED.replace("expect = \"deny\"", "expect = \"allow\""),
                "no example expects Deny",
            ),
            (REQUIRED.replace("{{purpose}} }", "{{purpose}} }}"), "closes no"),
            (
                REQUIRED.replace("author = \"test\"", "author = \"test\"\ncolour = \"red\""),
                "line 5: unknown field `colour`",
            ),
        ];
        for (text, want) in cases {
            let e = TemplateSpec::parse("needs-purpose.toml", &text)
                .expect_err(want)
                .to_string();
            assert!(
                e.starts_with("policy catalog needs-purpose.toml: ") && e.contains(want),
                "{e} (wanted {want})"
            );
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let e = TemplateSpec::parse("other-name.toml", REQUIRED)
            .expect_err("name")
            .to_string();
        assert!(e.contains("file name must be needs-purpose.toml"), "{e}");
    }
}
