//! The embedded schema migrations and their runner.
//!
//! Migrations are the files `store/migrations/NNNN_name.sql`, compiled into the binary with
//! `include_str!` and listed in [`MIGRATIONS`]. `apply` (called by [`crate::Db::migrate`])
//! runs, in ONE transaction:
//!
//! 1. `pg_advisory_xact_lock(`[`LOCK_KEY`]`)` — two workers starting at once queue here, and
//!    the second finds the first one's work done;
//! 2. `create table if not exists zkq_schema_migrations (version, name, applied_at)`;
//! 3. each migration whose version is not recorded, then its record.
//!
//! Either all pending migrations apply or none does. Applied migrations are never edited:
//! a schema change is a new file with the next version.

#[cfg(feature = "pool")]
use crate::StoreError;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version (the file's number); applied in increasing order.
    pub version: i32,
    /// Name (the rest of the file name).
    pub name: &'static str,
    /// The SQL, run as one batch of statements.
    pub sql: &'static str,
}

/// Every migration, in version order.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
    Migration { version: 3, name: "finops", sql: include_str!("../migrations/0003_finops.sql") },
    Migration { version: 4, name: "tenant_identity", sql: include_str!("../migrations/0004_tenant_identity.sql") },
    Migration { version: 5, name: "latency_timings", sql: include_str!("../migrations/0005_latency_timings.sql") },
    Migration { version: 6, name: "budgets", sql: include_str!("../migrations/0006_budgets.sql") },
    Migration { version: 7, name: "operators", sql: include_str!("../migrations/0007_operators.sql") },
    Migration { version: 8, name: "audit_log", sql: include_str!("../migrations/0008_audit_log.sql") },
    Migration { version: 9, name: "policies", sql: include_str!("../migrations/0009_policies.sql") },
    Migration { version: 10, name: "policy_marketplace", sql: include_str!("../migrations/0010_policy_marketplace.sql") },
    Migration { version: 11, name: "drift_alerts", sql: include_str!("../migrations/0011_drift_alerts.sql") },
    Migration { version: 12, name: "drift_changes", sql: include_str!("../migrations/0012_drift_changes.sql") },
];

/// The advisory lock key migrations hold (the bytes of `"zkq-migr"`). Database-wide: runs
/// against different schemas of one database also take turns, which costs nothing worth
/// avoiding.
pub const LOCK_KEY: i64 = 0x7a6b_712d_6d69_6772;

/// Applies the pending migrations (see the module docs). Returns the versions applied now.
#[cfg(feature = "pool")]
pub(crate) async fn apply(client: &mut deadpool_postgres::Object) -> Result<Vec<i32>, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await?;
    tx.batch_execute(
        "create table if not exists zkq_schema_migrations (
             version     int primary key,
             name        text not null,
             applied_at  timestamptz not null default now()
         )",
    )
    .await?;
    let applied: Vec<i32> =
        tx.query("select version from zkq_schema_migrations", &[]).await?.iter().map(|r| r.get::<_, i32>(0)).collect();
    let known_max = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(newer) = applied.iter().copied().filter(|v| *v > known_max).max() {
        tracing::warn!(database = newer, binary = known_max, "the database schema is newer than this binary's migrations");
    }
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch_execute(m.sql).await.map_err(|e| StoreError::Migration { version: m.version, what: format!("{} failed: {e}", m.name) })?;
        tx.execute("insert into zkq_schema_migrations (version, name, applied_at) values ($1, $2, now())", &[&m.version, &m.name])
            .await
            .map_err(|e| StoreError::Migration { version: m.version, what: format!("cannot record it: {e}") })?;
        done.push(m.version);
    }
    tx.commit().await?;
    if !done.is_empty() {
        tracing::info!(versions = ?done, "database migrations applied");
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_named_like_their_files() {
        // Versions strictly increase from 1. (A gap can exist on a branch while a parallel
        // branch adds the missing number; the runner applies whatever is not yet recorded.)
        assert_eq!(MIGRATIONS[0].version, 1);
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "versions strictly increase");
        }
        for m in MIGRATIONS {
            assert!(!m.sql.trim().is_empty());
        }
        assert!(MIGRATIONS[0].sql.contains("create table job_results"));
    }

    #[test]
    fn every_sql_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| format!("{:04}_{}.sql", m.version, m.name)).collect();
        assert_eq!(files, listed, "add each migrations/*.sql file to MIGRATIONS");
        for m in MIGRATIONS {
            let on_disk = std::fs::read_to_string(dir.join(format!("{:04}_{}.sql", m.version, m.name))).expect("file");
            assert_eq!(on_disk, m.sql);
        }
    }

    #[test]
    fn no_price_lives_outside_the_migrations() {
        // The seed prices are data in 0001_init.sql; Rust code only reads the table.
        assert!(MIGRATIONS[0].sql.contains("55.04") && MIGRATIONS[0].sql.contains("21.96"));
    }
}
