//! Admission decisions: per-tenant policy sets plus shared policies, validated against the
//! schema in strict mode, evaluated by Cedar's authorizer, **failing closed**.
//!
//! Cedar skips a policy whose evaluation errors (an overflow, say) and decides on the others —
//! so an erroring `forbid` can turn into an allow from a matching `permit`
//! (`../shared/research/policy-cedar.md`, trap 1). [`PolicyEngine::decide`] denies whenever
//! the authorizer reports any error, naming it.
//!
//! Each tenant gets its own policy set (its policies and the shared ones): Cedar evaluates every
//! policy of a set on every request (≈ 0.6 µs each), so one global set would make every tenant
//! pay for every other tenant's policies.
//!
//! Caps: a permit may carry annotations `@priority_cap("N")` (0-9), `@epsilon_micro_cap("N")`
//! and `@weight("N")`; an allow carries the most restrictive of each over the permits that
//! decided it (the smallest priority and ε caps, the smallest weight).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Effect as CedarEffect, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Policy, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::request::AdmissionRequest;
use crate::PolicyError;

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The job may be proved.
    Allow,
    /// It may not.
    Deny,
}

/// Why the decision is what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// These permits matched and no forbid did.
    Permitted {
        /// Policy ids, sorted.
        by: Vec<String>,
    },
    /// These forbids matched.
    Forbidden {
        /// Policy ids, sorted.
        by: Vec<String>,
    },
    /// No permit matched (Cedar's default deny).
    NoPermit,
    /// A policy could not be evaluated: zkq denies (fail closed), whatever the others said.
    EvaluationError {
        /// `policy id: error`, one per error.
        errors: Vec<String>,
    },
    /// The request could not be put to Cedar (it does not fit the schema).
    BadRequest(String),
}

/// What an allow lets the job have. `None`: no permit set a cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Highest priority the job keeps (0-9).
    pub priority: Option<u8>,
    /// Most ε per proof, micro-ε.
    pub epsilon_micro: Option<u64>,
    /// The tenant's fair-share weight for this job.
    pub weight: Option<u32>,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allow or deny.
    pub effect: Effect,
    /// Why.
    pub why: Why,
    /// Caps (allows only; default for denies).
    pub caps: Caps,
}

impl Decision {
    fn deny(why: Why) -> Decision {
        Decision { effect: Effect::Deny, why, caps: Caps::default() }
    }
}

/// The annotations that cap an allow.
pub const CAP_ANNOTATIONS: [&str; 3] = ["priority_cap", "epsilon_micro_cap", "weight"];

/// Shared and per-tenant policies, validated, ready to decide.
#[derive(Debug)]
pub struct PolicyEngine {
    schema: Schema,
    shared: Vec<Policy>,
    /// Per tenant: its own policies, and the set they make with the shared ones.
    tenants: HashMap<String, (Vec<Policy>, PolicySet)>,
    /// The set of a tenant without policies of its own (the shared ones).
    empty: PolicySet,
}

fn type_name(name: &str) -> Result<EntityTypeName, PolicyError> {
    EntityTypeName::from_str(name).map_err(|e| PolicyError::Schema(format!("entity type {name}: {e}")))
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, PolicyError> {
    Ok(EntityUid::from_type_name_and_id(type_name(kind)?, EntityId::new(id)))
}

/// Reads a cap annotation: a decimal number in range, or an error naming the policy.
fn cap(policy: &Policy, key: &str, max: u64) -> Result<Option<u64>, PolicyError> {
    let Some(text) = policy.annotation(key) else { return Ok(None) };
    match text.parse::<u64>() {
        Ok(v) if v <= max => Ok(Some(v)),
        _ => Err(PolicyError::Invalid(format!(
            "policy {}: annotation @{key}({text:?}) must be a whole number from 0 to {max}",
            policy.id()
        ))),
    }
}

/// The three caps of a permit, checked.
fn caps_of(policy: &Policy) -> Result<Caps, PolicyError> {
    Ok(Caps {
        priority: cap(policy, "priority_cap", 9)?.map(|v| v as u8),
        epsilon_micro: cap(policy, "epsilon_micro_cap", 1_000_000_000_000)?,
        weight: cap(policy, "weight", u64::from(u32::MAX))?.map(|v| v as u32),
    })
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl PolicyEngine {
    /// An engine with zkq's schema and no policies (so every request is denied: no permit).
    pub fn new() -> Result<PolicyEngine, PolicyError> {
        Ok(PolicyEngine { schema: crate::schema::schema()?, shared: Vec::new(), tenants: HashMap::new(), empty: PolicySet::new() })
    }

    /// Parses one policy under `id`, checks its cap annotations.
    pub fn parse(id: &str, source: &str) -> Result<Policy, PolicyError> {
        let policy = Policy::parse(Some(PolicyId::new(id)), source)
            .map_err(|e| PolicyError::Parse { id: id.to_owned(), why: e.to_string() })?;
        caps_of(&policy)?;
        Ok(policy)
    }

    /// Validates `policies` against the schema in strict mode; every error, one per line.
    fn validate(&self, set: &PolicySet) -> Result<(), PolicyError> {
        let result = Validator::new(self.schema.clone()).validate(set, ValidationMode::Strict);
        if result.validation_passed() {
            return Ok(());
        }
        let errors: Vec<String> = result.validation_errors().map(|e| format!("{}: {e}", e.policy_id())).collect();
        Err(PolicyError::Invalid(errors.join("\n")))
    }

    /// The validated set of `shared` and `own` policies.
    fn build(&self, shared: &[Policy], own: &[Policy]) -> Result<PolicySet, PolicyError> {
        let mut set = PolicySet::new();
        for p in shared.iter().chain(own) {
            set.add(p.clone()).map_err(|e| PolicyError::Invalid(e.to_string()))?;
        }
        self.validate(&set)?;
        Ok(set)
    }

    /// Adds a policy every tenant's set includes (emergency forbids, global rules). Rebuilds
    /// and re-validates every tenant's set; on error nothing changes.
    pub fn add_shared(&mut self, policy: Policy) -> Result<(), PolicyError> {
        let mut shared = self.shared.clone();
        shared.push(policy);
        let mut tenants = HashMap::with_capacity(self.tenants.len());
        for (tenant, (own, _)) in &self.tenants {
            tenants.insert(tenant.clone(), (own.clone(), self.build(&shared, own)?));
        }
        self.empty = self.build(&shared, &[])?;
        self.shared = shared;
        self.tenants = tenants;
        Ok(())
    }

    /// Replaces a tenant's own policies (validated with the shared ones; on error nothing
    /// changes).
    pub fn set_tenant(&mut self, tenant: &str, policies: Vec<Policy>) -> Result<(), PolicyError> {
        let set = self.build(&self.shared, &policies)?;
        self.tenants.insert(tenant.to_owned(), (policies, set));
        Ok(())
    }

    /// The policy set a tenant's requests are decided by.
    fn set_for(&self, tenant: &str) -> &PolicySet {
        self.tenants.get(tenant).map_or(&self.empty, |(_, set)| set)
    }

    /// Decides `request`, failing closed.
    pub fn decide(&self, request: &AdmissionRequest) -> Decision {
        let (req, entities) = match self.cedar_request(request) {
            Ok(r) => r,
            Err(e) => return Decision::deny(Why::BadRequest(e.to_string())),
        };
        let set = self.set_for(&request.tenant);
        let response = Authorizer::new().is_authorized(&req, set, &entities);
        let errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Decision::deny(Why::EvaluationError { errors });
        }
        let reasons: BTreeSet<String> = response.diagnostics().reason().map(|id| id.to_string()).collect();
        match response.decision() {
            CedarDecision::Allow => {
                let mut caps = Caps::default();
                for id in &reasons {
                    let Some(policy) = set.policy(&PolicyId::new(id)) else { continue };
                    if policy.effect() != CedarEffect::Permit {
                        continue;
                    }
                    // Checked when the policy was parsed; a failure here is a bug: deny.
                    let Ok(c) = caps_of(policy) else {
                        return Decision::deny(Why::EvaluationError { errors: vec![format!("{id}: bad cap annotation")] });
                    };
                    caps.priority = min_opt(caps.priority, c.priority);
                    caps.epsilon_micro = min_opt(caps.epsilon_micro, c.epsilon_micro);
                    caps.weight = min_opt(caps.weight, c.weight);
                }
                Decision { effect: Effect::Allow, why: Why::Permitted { by: reasons.into_iter().collect() }, caps }
            }
            CedarDecision::Deny if reasons.is_empty() => Decision::deny(Why::NoPermit),
            CedarDecision::Deny => Decision::deny(Why::Forbidden { by: reasons.into_iter().collect() }),
        }
    }

    /// The request, its entities and context as Cedar takes them.
    fn cedar_request(&self, r: &AdmissionRequest) -> Result<(Request, Entities), PolicyError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| PolicyError::Request(format!("{what}: {e}"));
        let long = |v: i64| RestrictedExpression::new_long(v);
        let tenant = uid("Tenant", &r.tenant)?;
        let circuit = uid("Circuit", &r.circuit_id)?;
        let tenant_entity = Entity::new(
            tenant.clone(),
            HashMap::from([
                ("tier".to_owned(), RestrictedExpression::new_string(r.tenant_tier.clone())),
                ("weight".to_owned(), long(i64::from(r.tenant_weight))),
            ]),
            HashSet::new(),
        )
        .map_err(|e| bad("tenant", &e))?;
        let circuit_entity = Entity::new(
            circuit.clone(),
            HashMap::from([
                ("name".to_owned(), RestrictedExpression::new_string(r.circuit_name.clone())),
                ("constraints".to_owned(), long(r.constraints)),
            ]),
            HashSet::new(),
        )
        .map_err(|e| bad("circuit", &e))?;
        let entities = Entities::from_entities([tenant_entity, circuit_entity], Some(&self.schema)).map_err(|e| bad("entities", &e))?;
        let mut pairs = vec![
            ("purpose".to_owned(), RestrictedExpression::new_string(r.purpose.clone())),
            ("epsilon_micro".to_owned(), long(i64::try_from(r.epsilon_micro).map_err(|e| bad("epsilon_micro", &e))?)),
            ("priority".to_owned(), long(i64::from(r.priority))),
            ("constraints".to_owned(), long(r.constraints)),
            ("region".to_owned(), RestrictedExpression::new_string(r.region.clone())),
            ("hour_utc".to_owned(), long(i64::from(chrono::Timelike::hour(&r.at)))),
            ("weekday".to_owned(), long(i64::from(chrono::Datelike::weekday(&r.at).number_from_monday()))),
            ("jobs_last_minute".to_owned(), long(i64::from(r.jobs_last_minute))),
        ];
        if let Some(d) = r.deadline_in_ms {
            pairs.push(("deadline_in_ms".to_owned(), long(d)));
        }
        let context = Context::from_pairs(pairs).map_err(|e| bad("context", &e))?;
        let request = Request::new(tenant, uid("Action", "Prove")?, circuit, context, Some(&self.schema)).map_err(|e| bad("request", &e))?;
        Ok((request, entities))
    }

    /// The policy Cedar knows as `id` (`<tenant>.<id>` or `shared.<id>`) in the set `tenant`'s
    /// requests are decided by: what a [`Decision`]'s `by` names, with its annotations.
    pub fn policy(&self, tenant: &str, id: &str) -> Option<&Policy> {
        self.set_for(tenant).policy(&PolicyId::new(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Permits acme to prove for purpose `kyc`, capping priority and ε.
    const PERMIT_KYC: &str = r#"@priority_cap("5") @epsilon_micro_cap("200000") @weight("3")
        permit(principal == Tenant::"acme", action == Action::"Prove", resource)
        when { context.purpose == "kyc" };"#;
    /// Permits any tenant anything, with a tighter priority cap.
    const PERMIT_ALL_LOW: &str = r#"@priority_cap("2") permit(principal, action == Action::"Prove", resource);"#;
    /// The emergency switch: nobody proves.
    const FORBID_ALL: &str = r#"forbid(principal, action, resource);"#;
    /// A forbid that overflows (an evaluation error) for large ε.
    const FORBID_OVERFLOWING: &str =
        r#"forbid(principal, action == Action::"Prove", resource) when { context.epsilon_micro * 1000000000000 > 0 };"#;
    /// An attribute typo the strict validator catches.
    const TYPO: &str = r#"permit(principal, action == Action::"Prove", resource) when { resource.constraint > 1 };"#;

    /// The catalog examples' base request with this test's values.
    fn request(tenant: &str, purpose: &str, epsilon_micro: u64) -> AdmissionRequest {
        AdmissionRequest {
            tenant: tenant.into(),
            tenant_tier: "gold".into(),
            purpose: purpose.into(),
            epsilon_micro,
            priority: 7,
            at: chrono::DateTime::from_timestamp(1_764_770_000, 0).expect("time"),
            ..crate::catalog::RequestOverrides::base()
        }
    }

    fn engine_with(tenant: &str, policies: &[(&str, &str)]) -> PolicyEngine {
        let mut e = PolicyEngine::new().expect("engine");
        let ps = policies.iter().map(|(id, src)| PolicyEngine::parse(id, src).expect("parse")).collect();
        e.set_tenant(tenant, ps).expect("valid");
        e
    }

    #[test]
    fn no_permit_is_a_default_deny() {
        let e = PolicyEngine::new().expect("engine");
        assert_eq!(e.decide(&request("acme", "kyc", 0)), Decision::deny(Why::NoPermit));
    }

    #[test]
    fn a_matching_permit_allows_with_its_caps_and_only_for_its_tenant_and_purpose() {
        let e = engine_with("acme", &[("kyc", PERMIT_KYC)]);
        let d = e.decide(&request("acme", "kyc", 0));
        assert_eq!(d.effect, Effect::Allow);
        assert_eq!(d.why, Why::Permitted { by: vec!["kyc".into()] });
        assert_eq!(d.caps, Caps { priority: Some(5), epsilon_micro: Some(200_000), weight: Some(3) });
        assert_eq!(e.decide(&request("acme", "ads", 0)).why, Why::NoPermit);
        // Another tenant is decided by its own (empty) set.
        assert_eq!(e.decide(&request("globex", "kyc", 0)).why, Why::NoPermit);
    }

    #[test]
    fn caps_are_the_most_restrictive_of_the_deciding_permits() {
        let e = engine_with("acme", &[("kyc", PERMIT_KYC), ("low", PERMIT_ALL_LOW)]);
        let d = e.decide(&request("acme", "kyc", 0));
        assert_eq!(d.why, Why::Permitted { by: vec!["kyc".into(), "low".into()] });
        assert_eq!(d.caps, Caps { priority: Some(2), epsilon_micro: Some(200_000), weight: Some(3) });
    }

    #[test]
    fn a_shared_forbid_denies_every_tenant_naming_itself() {
        let mut e = engine_with("acme", &[("kyc", PERMIT_KYC)]);
        e.add_shared(PolicyEngine::parse("emergency-stop", FORBID_ALL).expect("parse")).expect("valid");
        assert_eq!(e.decide(&request("acme", "kyc", 0)), Decision::deny(Why::Forbidden { by: vec!["emergency-stop".into()] }));
        assert_eq!(e.decide(&request("globex", "kyc", 0)).effect, Effect::Deny);
    }

    #[test]
    fn an_erroring_forbid_denies_where_cedar_alone_would_allow() {
        let e = engine_with("acme", &[("all", PERMIT_ALL_LOW), ("overflow", FORBID_OVERFLOWING)]);
        // Small ε: the forbid evaluates and matches.
        assert_eq!(e.decide(&request("acme", "", 1)).why, Why::Forbidden { by: vec!["overflow".into()] });
        // Large ε: the forbid overflows. Cedar skips it and the permit decides — Allow.
        let big = request("acme", "", 10_000_000);
        let (req, entities) = e.cedar_request(&big).expect("request");
        let raw = Authorizer::new().is_authorized(&req, e.set_for("acme"), &entities);
        assert_eq!(raw.decision(), CedarDecision::Allow, "Cedar alone allows when the forbid errors");
        // zkq fails closed and says why.
        let d = e.decide(&big);
        assert_eq!(d.effect, Effect::Deny);
        let Why::EvaluationError { errors } = &d.why else { panic!("{d:?}") };
        assert!(errors.iter().any(|m| m.contains("overflow")), "{errors:?}");
    }

    #[test]
    fn invalid_policies_are_refused_with_every_error_and_change_nothing() {
        let mut e = engine_with("acme", &[("kyc", PERMIT_KYC)]);
        let err = e.set_tenant("acme", vec![PolicyEngine::parse("typo", TYPO).expect("parses")]).expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("typo") && text.contains("constraint"), "{text}");
        assert_eq!(e.decide(&request("acme", "kyc", 0)).effect, Effect::Allow, "the old set still decides");
        let bad_cap = PolicyEngine::parse("cap", r#"@priority_cap("12") permit(principal, action, resource);"#).expect_err("cap");
        assert!(bad_cap.to_string().contains("@priority_cap"), "{bad_cap}");
        let unparsable = PolicyEngine::parse("junk", "permit(").expect_err("junk");
        assert!(unparsable.to_string().starts_with("policy junk:"), "{unparsable}");
    }
}
