//! Versioned policies in the REAL PostgreSQL (a private schema of the test database, migrated by
//! zkq-store, dropped afterwards): store, load, update, revoke; invalid policies and sets are
//! refused and store nothing; a shared policy joins every tenant's set.

use std::time::Duration;

use zkq_policy::pg::{self, PolicyStoreError};
use zkq_policy::{AdmissionRequest, Effect, Why};
use zkq_store::{Db, StoreConfig};

const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";
/// Permits acme's `kyc` proofs.
const PERMIT_KYC: &str = r#"permit(principal == Tenant::"acme", action == Action::"Prove", resource) when { context.purpose == "kyc" };"#;
/// Version 2: also `aml`.
const PERMIT_KYC_AML: &str =
    r#"permit(principal == Tenant::"acme", action == Action::"Prove", resource) when { context.purpose == "kyc" || context.purpose == "aml" };"#;
/// An attribute typo.
const TYPO: &str = r#"permit(principal, action == Action::"Prove", resource) when { context.purpse == "kyc" };"#;
/// The emergency switch.
const FORBID_ALL: &str = "forbid(principal, action, resource);";

fn pg_base() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

async fn fresh_schema() -> (Db, String) {
    let schema = format!("zkqp_{}_{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (admin, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls).await.expect("connect (run scripts/services.sh)");
    tokio::spawn(conn);
    admin.batch_execute(&format!("create schema {schema}")).await.expect("schema");
    let db = Db::connect(&StoreConfig { url: format!("{} options=-csearch_path={schema}", pg_base()), pool_size: 2, wait_timeout: Duration::from_secs(10) })
        .await
        .expect("migrate");
    (db, schema)
}

async fn drop_schema(schema: &str) {
    let (admin, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    admin.batch_execute(&format!("drop schema {schema} cascade")).await.expect("drop");
}

fn request(tenant: &str, purpose: &str) -> AdmissionRequest {
    AdmissionRequest {
        tenant: tenant.into(),
        tenant_tier: String::new(),
        tenant_weight: 1,
        circuit_id: "cd".repeat(32),
        circuit_name: "c".into(),
        constraints: 10,
        purpose: purpose.into(),
        epsilon_micro: 0,
        priority: 0,
        deadline_in_ms: None,
        jobs_last_minute: 0,
        region: String::new(),
        at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn policies_are_stored_versioned_loaded_updated_and_revoked() {
    let (db, schema) = fresh_schema().await;
    let mut c = db.client().await.expect("client");
    c.batch_execute("insert into tenants (name) values ('acme'), ('globex')").await.expect("tenants");

    // Refused, and nothing stored: unknown tenant, a typo, a malformed policy.
    let tx = c.transaction().await.expect("tx");
    assert!(matches!(pg::put(&tx, Some("nobody"), "kyc", PERMIT_KYC, "alice").await, Err(PolicyStoreError::UnknownTenant(_))));
    let typo = pg::put(&tx, Some("acme"), "kyc", TYPO, "alice").await.expect_err("typo");
    assert!(typo.to_string().contains("purpse"), "{typo}");
    assert!(pg::put(&tx, Some("acme"), "kyc", "permit(", "alice").await.is_err());
    tx.commit().await.expect("commit");
    assert!(pg::in_force(&**c).await.expect("in force").is_empty());

    // Version 1, in force; it allows kyc only.
    let tx = c.transaction().await.expect("tx");
    assert_eq!(pg::put(&tx, Some("acme"), "kyc", PERMIT_KYC, "alice").await.expect("put"), 1);
    tx.commit().await.expect("commit");
    let engine = pg::load(&**c).await.expect("load");
    assert_eq!(engine.decide(&request("acme", "kyc")).effect, Effect::Allow);
    assert_eq!(engine.decide(&request("acme", "aml")).why, Why::NoPermit);
    assert_eq!(engine.decide(&request("globex", "kyc")).why, Why::NoPermit);

    // Version 2 replaces it; the history keeps both.
    let tx = c.transaction().await.expect("tx");
    assert_eq!(pg::put(&tx, Some("acme"), "kyc", PERMIT_KYC_AML, "bob").await.expect("put"), 2);
    tx.commit().await.expect("commit");
    let engine = pg::load(&**c).await.expect("load");
    assert_eq!(engine.decide(&request("acme", "aml")).effect, Effect::Allow);
    let history = pg::history(&**c, Some("acme"), "kyc").await.expect("history");
    assert_eq!(history.iter().map(|p| (p.version, p.created_by.as_str())).collect::<Vec<_>>(), vec![(1, "alice"), (2, "bob")]);

    // A shared forbid joins every set.
    let tx = c.transaction().await.expect("tx");
    pg::put(&tx, None, "emergency", FORBID_ALL, "carol").await.expect("shared");
    tx.commit().await.expect("commit");
    let engine = pg::load(&**c).await.expect("load");
    assert_eq!(engine.decide(&request("acme", "kyc")).why, Why::Forbidden { by: vec!["shared.emergency".into()] });

    // Revoking it restores the allow; revoking again finds nothing.
    let tx = c.transaction().await.expect("tx");
    assert_eq!(pg::revoke(&tx, None, "emergency", "carol").await.expect("revoke"), 1);
    assert!(matches!(pg::revoke(&tx, None, "emergency", "carol").await, Err(PolicyStoreError::NotFound { .. })));
    tx.commit().await.expect("commit");
    let engine = pg::load(&**c).await.expect("load");
    assert_eq!(engine.decide(&request("acme", "kyc")).effect, Effect::Allow);
    let ids: Vec<String> = pg::in_force(&**c).await.expect("in force").into_iter().map(|p| p.policy_id).collect();
    assert_eq!(ids, vec!["kyc".to_owned()]);
    drop(c);
    drop_schema(&schema).await;
}
