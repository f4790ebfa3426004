//! Row facts several modules share: values fixed by the schema's constraints.

/// The pricing categories the `prices` table accepts (its check constraint in
/// `0001_init.sql`); the scheduler and FinOps both validate prices against it.
pub const PRICING_CATEGORIES: [&str; 4] = ["on-demand", "spot", "reserved", "savings-plan"];

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
