//! Row facts several modules share: values fixed by the schema's constraints.

/// The pricing categories the `prices` table accepts (its check constraint in
/// `0001_init.sql`); the scheduler and FinOps both validate prices against it.
pub const PRICING_CATEGORIES: [&str; 4] = ["on-demand", "spot", "reserved", "savings-plan"];

/// The longest tenant name, in characters (as `zkq tenant add` accepts: no spaces or control
/// characters; at most 512 bytes of UTF-8).
pub const MAX_TENANT_CHARS: usize = 128;

/// A tenant name as registered (`zkq tenant add`), as accepted in `zkq-tenant` and in the
/// auditor API's paths: 1–128 characters, none of them whitespace or a control character.
pub fn valid_tenant_name(name: &str) -> bool {
    (1..=MAX_TENANT_CHARS).contains(&name.chars().count()) && name.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

/// Job ids are idempotency keys and appear in logs, file names and URLs: 1–128 bytes of
/// letters, digits and `._:-`.
pub fn valid_job_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constraint_lists_exactly_these_categories() {
        let sql = crate::MIGRATIONS.iter().map(|m| m.sql).collect::<String>();
        let check = PRICING_CATEGORIES.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
        assert!(sql.contains(&check), "a migration's check constraint lists ({check})");
    }
}
