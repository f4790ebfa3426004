//! The Cedar schema of zkq's admission decisions: who (a `Tenant`) may `Prove` what (a
//! `Circuit`), with the request's context. Schema format: Cedar's human-readable schema
//! (<https://docs.cedarpolicy.com/schema/human-readable-schema.html>).

use cedar_policy::Schema;

use crate::PolicyError;

/// zkq's entity types and the `Prove` action.
///
/// - `Tenant` — who submits; `tier` (a free label the operator sets, e.g. `"gold"`) and
///   `weight` (the fair-share weight).
/// - `Circuit` — what is proved; `name` and `constraints` (its size).
/// - `Purpose`, `Region` — named so policies may refer to them as entities later; today the
///   request carries them as context strings.
/// - `Prove` — the action; its context: `purpose` (`""` when none), `epsilon_micro` (the ε the
///   job asks, micro-ε; 0 when it charges none), `priority` (0-9), `constraints` (the circuit's),
///   `deadline_in_ms` (optional: milliseconds from the decision to the job's deadline),
///   `region` (the worker's, `""` when unset), `hour_utc` (0-23) and `weekday` (1 = Monday … 7 =
///   Sunday) of the decision, and `jobs_last_minute` (the tenant's jobs this worker admitted in
///   the 60 s before the decision, for rate limits).
pub const CEDAR_SCHEMA: &str = r#"
entity Purpose;
entity Region;
entity Tenant = { tier: String, weight: Long };
entity Circuit = { name: String, constraints: Long };
action Prove appliesTo {
  principal: Tenant,
  resource: Circuit,
  context: {
    purpose: String,
    epsilon_micro: Long,
    priority: Long,
    constraints: Long,
    deadline_in_ms?: Long,
    region: String,
    hour_utc: Long,
    weekday: Long,
    jobs_last_minute: Long,
  }
};
"#;

/// The parsed schema.
pub fn schema() -> Result<Schema, PolicyError> {
    let (schema, _warnings) =
        Schema::from_cedarschema_str(CEDAR_SCHEMA).map_err(|e| PolicyError::Schema(e.to_string()))?;
    Ok(schema)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_parses_and_names_prove() {
        let s = super::schema().expect("schema");
        assert!(s.actions().any(|a| a.to_string() == r#"Action::"Prove""#));
    }
}
