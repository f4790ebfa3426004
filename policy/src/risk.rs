//! Risk: what a new version of a policy file newly allows, compared with the old one.
//!
//! [`broadening`] compares the two versions in Cedar's JSON form (the EST,
//! <https://docs.cedarpolicy.com/policies/json-format.html>), not their text, so reformatting and
//! comments never count. Policies are paired by their `@id` annotation, then by identical JSON,
//! then in file order among those left (same effect first). For each pair:
//!
//! - a **permit** broadens when its scope (principal, action, resource) covers more, when one of
//!   its conditions is dropped or weakened (the conditions are read as conjuncts: a `when` body
//!   split at `&&`, an `unless` body negated), or when a cap annotation is raised or removed;
//! - a **forbid** broadens when its scope covers less or it gains a condition (it then forbids
//!   fewer requests), or when it becomes a permit.
//!
//! Unpaired: a deleted forbid and a new permit are risks. Bounds are compared where both sides
//! compare the same expression with the same operator against a number (`context.priority <= 5` →
//! `<= 7` weakens), and set literals under `.contains` by inclusion; anything else that differs is
//! treated as changed (a conjunct removed and another added) — conservative: it may flag a change
//! that does not broaden, never the other way round for the kinds above.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use cedar_policy::{Policy, PolicySet};
use serde_json::{json, Value};

use crate::PolicyError;

/// What kind of broadening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RiskKind {
    /// A permit's condition was removed or weakened.
    ConditionWeakened,
    /// A forbid gained a condition, so it forbids fewer requests.
    ForbidConditionAdded,
    /// A permit's principal scope covers more tenants, or a forbid's fewer.
    PrincipalWidened,
    /// A permit's action scope covers more actions, or a forbid's fewer.
    ActionWidened,
    /// A permit's resource scope covers more circuits, or a forbid's fewer.
    ResourceWidened,
    /// A forbid was deleted.
    ForbidDeleted,
    /// A forbid became a permit.
    ForbidBecamePermit,
    /// A new permit.
    NewPermit,
    /// A new permit for every tenant or every circuit.
    NewUnconstrainedPermit,
    /// A cap annotation was raised.
    CapRaised,
    /// A cap annotation was removed.
    CapRemoved,
}

/// One broadening change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    /// The policy: its `@id` annotation, else `policy<N>` by its place in the new file (the old
    /// file for a deleted forbid).
    pub policy_id: String,
    /// What kind.
    pub kind: RiskKind,
    /// Plain English: the policy and what it newly allows.
    pub explanation: String,
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.policy_id, self.explanation)
    }
}

/// A parsed policy in EST form.
struct Est {
    id: String,
    json: Value,
}

impl Est {
    fn effect(&self) -> &str {
        self.json.get("effect").and_then(Value::as_str).unwrap_or("")
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.json.get("annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
    }
}

fn parse(which: &str, source: &str) -> Result<Vec<Est>, PolicyError> {
    let set = PolicySet::from_str(source)
        .map_err(|e| PolicyError::Parse { id: format!("{which} version"), why: e.to_string() })?;
    let mut policies: Vec<&Policy> = set.policies().collect();
    // `from_str` numbers them policy0, policy1, … in file order.
    policies.sort_by_key(|p| p.id().to_string().trim_start_matches("policy").parse::<usize>().unwrap_or(usize::MAX));
    if set.templates().next().is_some() {
        return Err(PolicyError::Invalid(format!("{which} version: holds a template; compare static policies")));
    }
    policies
        .into_iter()
        .map(|p| {
            let json = p.to_json().map_err(|e| PolicyError::Invalid(format!("{which} version, {}: {e}", p.id())))?;
            let id = p.annotation("id").map_or_else(|| p.id().to_string(), str::to_owned);
            Ok(Est { id, json })
        })
        .collect()
}

/// Every change from `old` to `new` that lets through a request the old version did not.
pub fn broadening(old: &str, new: &str) -> Result<Vec<Risk>, PolicyError> {
    let old = parse("old", old)?;
    let new = parse("new", new)?;
    let mut old_left: Vec<Option<&Est>> = old.iter().map(Some).collect();
    let mut pairs: Vec<(Option<&Est>, &Est)> = Vec::new();
    let mut unpaired: Vec<&Est> = Vec::new();
    // Pass 1: @id; pass 2: identical JSON.
    for n in &new {
        let by_id = n.annotation("id").and_then(|id| position(&old_left, |o| o.annotation("id") == Some(id)));
        let found = by_id.or_else(|| position(&old_left, |o| o.json == n.json));
        match found {
            Some(i) => pairs.push((old_left[i].take(), n)),
            None => unpaired.push(n),
        }
    }
    // Pass 3: in order, same effect first.
    for n in unpaired {
        let found = position(&old_left, |o| o.effect() == n.effect() && o.annotation("id").is_none())
            .or_else(|| position(&old_left, |o| o.annotation("id").is_none()));
        pairs.push((found.and_then(|i| old_left[i].take()), n));
    }
    let mut risks = Vec::new();
    for (o, n) in pairs {
        match o {
            Some(o) => compare(o, n, &mut risks),
            None if n.effect() == "permit" => {
                let open: Vec<&str> =
                    ["principal", "resource"].into_iter().filter(|k| n.json.pointer(&format!("/{k}/op")) == Some(&json!("All"))).collect();
                let (kind, what) = if open.is_empty() {
                    (RiskKind::NewPermit, format!("allows {}", describe_scope(&n.json)))
                } else {
                    (RiskKind::NewUnconstrainedPermit, format!("allows every {} ({})", open.join(" and every "), describe_scope(&n.json)))
                };
                risks.push(risk(&n.id, kind, format!("new permit {}: {what}{}", n.id, describe_conditions(&n.json))));
            }
            None => {}
        }
    }
    for o in old_left.into_iter().flatten() {
        if o.effect() == "forbid" {
            risks.push(risk(
                &o.id,
                RiskKind::ForbidDeleted,
                format!("forbid {} was deleted: requests it refused ({}{}) are no longer forbidden", o.id, describe_scope(&o.json), describe_conditions(&o.json)),
            ));
        }
    }
    Ok(risks)
}

fn position(list: &[Option<&Est>], f: impl Fn(&Est) -> bool) -> Option<usize> {
    list.iter().position(|o| o.is_some_and(&f))
}

fn risk(id: &str, kind: RiskKind, explanation: String) -> Risk {
    Risk { policy_id: id.to_owned(), kind, explanation }
}

fn compare(o: &Est, n: &Est, risks: &mut Vec<Risk>) {
    let id = &n.id;
    if o.effect() == "forbid" && n.effect() == "permit" {
        risks.push(risk(
            id,
            RiskKind::ForbidBecamePermit,
            format!("{id} was a forbid and is now a permit: it allows {}{} instead of refusing it", describe_scope(&n.json), describe_conditions(&n.json)),
        ));
        return;
    }
    if o.effect() != n.effect() {
        return; // A permit became a forbid: narrower.
    }
    let permit = n.effect() == "permit";
    // The wider version must cover the narrower: for a permit the new covers more when the old
    // does not cover the new; for a forbid the other way round.
    for (part, kind) in [("principal", RiskKind::PrincipalWidened), ("action", RiskKind::ActionWidened), ("resource", RiskKind::ResourceWidened)] {
        let (a, b) = (&o.json[part], &n.json[part]);
        if a == b {
            continue;
        }
        let (wide, narrow) = if permit { (a, b) } else { (b, a) };
        if !covers(wide, narrow) {
            let explanation = if permit {
                format!("permit {id} now applies to {} (was {})", scope_text(part, b), scope_text(part, a))
            } else {
                format!("forbid {id} now only covers {} (was {}): the rest is no longer forbidden", scope_text(part, b), scope_text(part, a))
            };
            risks.push(risk(id, kind, explanation));
        }
    }
    let old_c = conjuncts(&o.json);
    let new_c = conjuncts(&n.json);
    if permit {
        for c in &old_c {
            if !new_c.iter().any(|d| implies(d, c)) {
                risks.push(risk(
                    id,
                    RiskKind::ConditionWeakened,
                    format!("permit {id} no longer requires `{}`: requests where it does not hold are now allowed", expr_text(c)),
                ));
            }
        }
    } else {
        for c in &new_c {
            if !old_c.iter().any(|d| implies(d, c)) {
                risks.push(risk(
                    id,
                    RiskKind::ForbidConditionAdded,
                    format!("forbid {id} now also requires `{}`: requests where it does not hold are no longer forbidden", expr_text(c)),
                ));
            }
        }
    }
    if permit {
        for (key, _) in crate::lint::CAP_RANGES {
            let (a, b) = (o.annotation(key), n.annotation(key));
            match (a.map(str::parse::<u64>), b.map(str::parse::<u64>)) {
                (Some(_), None) => risks.push(risk(
                    id,
                    RiskKind::CapRemoved,
                    format!("permit {id} no longer sets @{key} (was {}): jobs it allows are not capped by it", a.unwrap_or_default()),
                )),
                (Some(Ok(x)), Some(Ok(y))) if y > x => risks.push(risk(
                    id,
                    RiskKind::CapRaised,
                    format!("permit {id} raises @{key} from {x} to {y}: jobs it allows get more"),
                )),
                _ => {}
            }
        }
    }
}

/// Whether scope constraint `wide` provably matches everything `narrow` does.
fn covers(wide: &Value, narrow: &Value) -> bool {
    let op = |v: &Value| v.get("op").and_then(Value::as_str).unwrap_or("").to_owned();
    let entities = |v: &Value| -> BTreeSet<String> {
        v.get("entity").into_iter().chain(v.get("entities").and_then(Value::as_array).into_iter().flatten()).map(Value::to_string).collect()
    };
    match (op(wide).as_str(), op(narrow).as_str()) {
        ("All", _) => true,
        ("==", "==") => wide["entity"] == narrow["entity"],
        // `in E` covers E and its descendants; `in [..]` (actions) covers its members.
        ("in", "==" | "in") => entities(narrow).is_subset(&entities(wide)),
        ("is", "is") => wide["entity_type"] == narrow["entity_type"] && (wide.get("in").is_none() || wide.get("in") == narrow.get("in")),
        ("is", "==") => narrow["entity"].get("type") == wide.get("entity_type") && wide.get("in").is_none(),
        _ => false,
    }
}

fn scope_text(part: &str, v: &Value) -> String {
    let op = v.get("op").and_then(Value::as_str).unwrap_or("");
    let uid = |e: &Value| format!("{}::{}", e["type"].as_str().unwrap_or("?"), e["id"]);
    match op {
        "All" => format!("every {part}"),
        "==" => format!("{part} == {}", uid(&v["entity"])),
        "in" => match v.get("entities").and_then(Value::as_array) {
            Some(list) => format!("{part} in [{}]", list.iter().map(uid).collect::<Vec<_>>().join(", ")),
            None => format!("{part} in {}", uid(&v["entity"])),
        },
        "is" => format!("{part} is {}", v["entity_type"].as_str().unwrap_or("?")),
        _ => format!("{part} {v}"),
    }
}

fn describe_scope(json: &Value) -> String {
    ["principal", "action", "resource"].iter().map(|p| scope_text(p, &json[p])).collect::<Vec<_>>().join(", ")
}

fn describe_conditions(json: &Value) -> String {
    let c = conjuncts(json);
    if c.is_empty() {
        String::new()
    } else {
        format!(" when {}", c.iter().map(|e| format!("`{}`", expr_text(e))).collect::<Vec<_>>().join(" and "))
    }
}

/// The policy's conditions as conjuncts: `when` bodies split at `&&`, `unless` bodies negated
/// (`unless { a || b }` gives `!a` and `!b`).
fn conjuncts(json: &Value) -> Vec<Value> {
    fn split(e: &Value, op: &str, out: &mut Vec<Value>) {
        match e.get(op) {
            Some(both) => {
                split(&both["left"], op, out);
                split(&both["right"], op, out);
            }
            None => out.push(e.clone()),
        }
    }
    let mut out = Vec::new();
    for c in json.get("conditions").and_then(Value::as_array).into_iter().flatten() {
        let body = &c["body"];
        if c["kind"] == "unless" {
            let mut parts = Vec::new();
            split(body, "||", &mut parts);
            out.extend(parts.into_iter().map(|p| json!({"!": {"arg": p}})));
        } else {
            split(body, "&&", &mut out);
        }
    }
    out
}

/// Whether conjunct `strong` provably implies `weak` (equal, a tighter bound on the same
/// expression, or a `.contains` on a subset).
fn implies(strong: &Value, weak: &Value) -> bool {
    if strong == weak {
        return true;
    }
    for op in ["<", "<=", ">", ">="] {
        if let (Some(s), Some(w)) = (strong.get(op), weak.get(op)) {
            if s["left"] != w["left"] {
                return false;
            }
            let (Some(a), Some(b)) = (s["right"]["Value"].as_i64(), w["right"]["Value"].as_i64()) else { return false };
            return if op.starts_with('<') { a <= b } else { a >= b };
        }
    }
    if let (Some(s), Some(w)) = (strong.get("contains"), weak.get("contains")) {
        if s["right"] != w["right"] {
            return false;
        }
        let set = |v: &Value| -> Option<BTreeSet<String>> { Some(v["left"]["Set"].as_array()?.iter().map(Value::to_string).collect()) };
        return matches!((set(s), set(w)), (Some(a), Some(b)) if a.is_subset(&b));
    }
    false
}

/// Cedar's own text of an expression (printed through a one-condition policy).
fn expr_text(e: &Value) -> String {
    let est = json!({"effect": "permit", "principal": {"op": "All"}, "action": {"op": "All"}, "resource": {"op": "All"},
        "conditions": [{"kind": "when", "body": e}]});
    let Ok(p) = Policy::from_json(None, est) else { return e.to_string() };
    let text = p.to_string();
    let body = text.split_once("when {").map_or(text.as_str(), |(_, b)| b);
    let body = body.trim_end().trim_end_matches(';').trim_end().trim_end_matches('}');
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// acme's KYC permit with its conditions and caps.
    const BASE: &str = r#"@id("kyc") @priority_cap("5") @epsilon_micro_cap("200000")
permit(principal == Tenant::"acme", action == Action::"Prove", resource)
when { context.purpose == "kyc" && context.priority <= 5 && ["eu-west-1", "eu-central-1"].contains(context.region) };
@id("freeze") forbid(principal, action == Action::"Prove", resource) when { context.weekday >= 6 };
"#;

    fn kinds(old: &str, new: &str) -> Vec<RiskKind> {
        let risks = broadening(old, new).expect("parses");
        for r in &risks {
            assert!(r.explanation.contains(&r.policy_id), "{r}");
        }
        risks.iter().map(|r| r.kind).collect()
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        BASE.replacen(from, to, 1)
    }

    #[test]
    fn no_change_and_reformatting_are_no_risk() {
        assert_eq!(kinds(BASE, BASE), vec![]);
        let reformatted = format!("// comment\n{}", BASE.replace(" && ", "\n  && "));
        assert_eq!(kinds(BASE, &reformatted), vec![]);
    }

    #[test]
    fn narrowing_changes_are_no_risk() {
        let narrower = edit("context.priority <= 5", "context.priority <= 3 && context.epsilon_micro < 10");
        let narrower = narrower.replace("[\"eu-west-1\", \"eu-central-1\"]", "[\"eu-west-1\"]");
        let narrower = narrower.replace("@priority_cap(\"5\")", "@priority_cap(\"3\")");
        let narrower = narrower.replace("context.weekday >= 6", "context.weekday >= 5");
        assert_eq!(kinds(BASE, &narrower), vec![]);
        let permit_to_forbid = edit("@id(\"kyc\") @priority_cap(\"5\") @epsilon_micro_cap(\"200000\")\npermit", "@id(\"kyc\")\nforbid");
        assert_eq!(kinds(BASE, &permit_to_forbid), vec![]);
    }

    #[test]
    fn a_removed_or_weakened_condition_is_named() {
        let risks = broadening(BASE, &edit("context.purpose == \"kyc\" && ", "")).expect("parses");
        assert_eq!(risks.len(), 1);
        assert_eq!(risks[0].kind, RiskKind::ConditionWeakened);
        assert_eq!(
            risks[0].explanation,
            "permit kyc no longer requires `context.purpose == \"kyc\"`: requests where it does not hold are now allowed"
        );
        assert_eq!(kinds(BASE, &edit("context.priority <= 5", "context.priority <= 7")), vec![RiskKind::ConditionWeakened]);
        assert_eq!(kinds(BASE, &edit("[\"eu-west-1\", \"eu-central-1\"]", "[\"eu-west-1\", \"us-east-1\"]")), vec![RiskKind::ConditionWeakened]);
    }

    #[test]
    fn unconstrained_or_widened_scopes_are_risks() {
        assert_eq!(kinds(BASE, &edit("principal == Tenant::\"acme\"", "principal")), vec![RiskKind::PrincipalWidened]);
        assert_eq!(kinds(BASE, &edit("principal == Tenant::\"acme\"", "principal == Tenant::\"globex\"")), vec![RiskKind::PrincipalWidened]);
        assert_eq!(kinds(BASE, &edit("action == Action::\"Prove\", resource)\nwhen", "action, resource)\nwhen")), vec![RiskKind::ActionWidened]);
        assert_eq!(kinds(BASE, &edit("resource)\nwhen", "resource == Circuit::\"c1\")\nwhen")), vec![]);
        // A forbid whose scope shrinks forbids less.
        let risks = broadening(BASE, &edit("forbid(principal,", "forbid(principal == Tenant::\"acme\",")).expect("parses");
        assert_eq!(risks.iter().map(|r| r.kind).collect::<Vec<_>>(), vec![RiskKind::PrincipalWidened]);
        assert!(risks[0].explanation.contains("no longer forbidden"), "{}", risks[0]);
    }

    #[test]
    fn deleted_forbids_forbids_turned_permits_and_stricter_forbids_are_risks() {
        let without = BASE.lines().filter(|l| !l.contains("forbid")).collect::<Vec<_>>().join("\n");
        let risks = broadening(BASE, &without).expect("parses");
        assert_eq!(risks.iter().map(|r| r.kind).collect::<Vec<_>>(), vec![RiskKind::ForbidDeleted]);
        assert!(risks[0].explanation.starts_with("forbid freeze was deleted"), "{}", risks[0]);
        assert_eq!(kinds(BASE, &edit("forbid(principal, action", "permit(principal, action")), vec![RiskKind::ForbidBecamePermit]);
        assert_eq!(
            kinds(BASE, &edit("context.weekday >= 6", "context.weekday >= 6 && context.priority < 9")),
            vec![RiskKind::ForbidConditionAdded]
        );
    }

    #[test]
    fn new_permits_and_caps_raised_or_removed_are_risks() {
        let extra = format!("{BASE}permit(principal, action == Action::\"Prove\", resource);\npermit(principal == Tenant::\"b\", action == Action::\"Prove\", resource == Circuit::\"c\");");
        assert_eq!(kinds(BASE, &extra), vec![RiskKind::NewUnconstrainedPermit, RiskKind::NewPermit]);
        assert_eq!(kinds(BASE, &edit("@priority_cap(\"5\")", "@priority_cap(\"7\")")), vec![RiskKind::CapRaised]);
        assert_eq!(kinds(BASE, &edit(" @epsilon_micro_cap(\"200000\")", "")), vec![RiskKind::CapRemoved]);
    }

    #[test]
    fn unparsable_versions_are_errors_naming_the_version() {
        let e = broadening(BASE, "permit(").expect_err("junk");
        assert!(e.to_string().starts_with("policy new version:"), "{e}");
    }
}
