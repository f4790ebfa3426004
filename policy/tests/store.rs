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
    // Out of the box one shared permit lets everyone prove; these tests start deny-by-default.
    let seeded = pg::in_force(&**c).await.expect("in force");
    assert_eq!(seeded.iter().map(|p| (p.tenant.as_deref(), p.policy_id.as_str())).collect::<Vec<_>>(), vec![(None, "default-allow")]);
    assert_eq!(pg::load(&**c).await.expect("load").decide(&request("globex", "")).why, Why::Permitted { by: vec!["shared.default-allow".into()] });
    let tx = c.transaction().await.expect("tx");
    pg::revoke(&tx, None, "default-allow", "alice").await.expect("revoke default");
    tx.commit().await.expect("commit");

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

/// A template's spec as the marketplace stores it (the CLI stores the catalog entry's JSON).
fn spec(cedar: &str) -> serde_json::Value {
    serde_json::json!({ "cedar": cedar, "params": [] })
}

/// The gate's message, or a panic naming what happened instead.
fn refused<T: std::fmt::Debug>(r: Result<T, PolicyStoreError>) -> String {
    match r {
        Err(PolicyStoreError::Gate(m)) => m,
        other => panic!("expected the gate to refuse, got {other:?}"),
    }
}

/// The template's Cedar text.
const TEMPLATE_KYC: &str = r#"permit(principal == ?principal, action == Action::"Prove", resource) when { context.purpose == "kyc" };"#;

#[tokio::test]
async fn the_review_gate_holds_in_the_database_whatever_the_client_does() {
    use zkq_policy::pg::market::{self, ReviewState, Verdict};
    use zkq_policy::pg::telemetry;
    use zkq_policy::pg::TemplateLink;
    let (db, schema) = fresh_schema().await;
    let mut c = db.client().await.expect("client");
    c.batch_execute("insert into tenants (name) values ('acme')").await.expect("tenants");
    let s = spec(TEMPLATE_KYC);
    let digest = market::spec_sha256(&s);

    // Submitted by alice (its author): in review.
    let tx = c.transaction().await.expect("tx");
    let t = market::submit(&tx, "kyc-only", "1.0.0", "alice", &s, "alice").await.expect("submit");
    assert_eq!(t.state, ReviewState::InReview);
    tx.commit().await.expect("commit");

    // Refused, each rolled back: the author's own approval; publishing without an approval; a
    // review of another spec; linking an unpublished template; a raw SQL publish.
    let tx = c.transaction().await.expect("tx");
    let m = refused(market::review(&tx, "kyc-only", "1.0.0", "alice", Verdict::Approve, "lgtm", &digest).await);
    assert!(m.contains("its author cannot review it"), "{m}");
    drop(tx);
    let tx = c.transaction().await.expect("tx");
    let m = refused(market::transition(&tx, "kyc-only", "1.0.0", ReviewState::Published, "alice").await);
    assert!(m.contains("no approving review"), "{m}");
    drop(tx);
    let tx = c.transaction().await.expect("tx");
    let m = refused(market::review(&tx, "kyc-only", "1.0.0", "bob", Verdict::Approve, "", &"0".repeat(64)).await);
    assert!(m.contains("changed since it was submitted"), "{m}");
    drop(tx);
    let link = TemplateLink { template_id: "kyc-only".into(), version: "1.0.0".into(), params: Default::default() };
    let linked_src = TEMPLATE_KYC.replace("?principal", r#"Tenant::"acme""#);
    let tx = c.transaction().await.expect("tx");
    let m = refused(pg::put_linked(&tx, Some("acme"), "kyc", &linked_src, Some(&link), "carol").await);
    assert!(m.contains("only a published template can be linked"), "{m}");
    drop(tx);
    let raw = c.batch_execute("update policy_templates set state = 'published'").await.expect_err("raw publish");
    assert!(raw.to_string().contains("no approving review") || format!("{raw:?}").contains("no approving review"), "{raw:?}");

    // bob rejects: back to draft; resubmitted; bob approves; alice publishes.
    let tx = c.transaction().await.expect("tx");
    assert_eq!(market::review(&tx, "kyc-only", "1.0.0", "bob", Verdict::Reject, "name the purpose", &digest).await.expect("reject").state, ReviewState::Draft);
    market::submit(&tx, "kyc-only", "1.0.0", "alice", &s, "alice").await.expect("resubmit");
    market::review(&tx, "kyc-only", "1.0.0", "bob", Verdict::Approve, "ok", &digest).await.expect("approve");
    assert_eq!(market::transition(&tx, "kyc-only", "1.0.0", ReviewState::Published, "alice").await.expect("publish").state, ReviewState::Published);
    tx.commit().await.expect("commit");
    let reviews = market::reviews(&**c, "kyc-only", "1.0.0").await.expect("reviews");
    assert_eq!(reviews.iter().map(|r| (r.reviewer.as_str(), r.verdict.as_str())).collect::<Vec<_>>(), vec![("bob", "reject"), ("bob", "approve")]);

    // A published spec cannot change; linking works now and is counted in the telemetry.
    let tx = c.transaction().await.expect("tx");
    let m = refused(market::submit(&tx, "kyc-only", "1.0.0", "alice", &spec("permit(principal, action, resource);"), "alice").await);
    assert!(m.contains("can change only as a draft"), "{m}");
    drop(tx);
    let tx = c.transaction().await.expect("tx");
    assert_eq!(pg::put_linked(&tx, Some("acme"), "kyc", &linked_src, Some(&link), "carol").await.expect("link"), 1);
    tx.commit().await.expect("commit");
    let loaded = pg::load_versions(&**c).await.expect("load");
    assert_eq!(loaded.policies["acme.kyc"].template.as_ref().map(|t| t.template_id.as_str()), Some("kyc-only"));
    let day = chrono::Utc::now().date_naive();
    let counts = std::collections::HashMap::from([(("acme".to_owned(), "kyc".to_owned(), 1, day), telemetry::Counts { allows: 3, denies: 0 })]);
    telemetry::add_counts(&**c, &counts).await.expect("count");
    telemetry::add_counts(&**c, &counts).await.expect("count again");
    let usage = telemetry::template_usage(&**c).await.expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!((usage[0].tenants_linking, usage[0].allows, usage[0].denies), (1, 6, 0));

    // Deprecated: no new links, the old one keeps deciding.
    let tx = c.transaction().await.expect("tx");
    market::transition(&tx, "kyc-only", "1.0.0", ReviewState::Deprecated, "alice").await.expect("deprecate");
    tx.commit().await.expect("commit");
    let tx = c.transaction().await.expect("tx");
    refused(pg::put_linked(&tx, Some("acme"), "kyc2", &linked_src, Some(&link), "carol").await);
    drop(tx);
    assert_eq!(pg::load(&**c).await.expect("load").decide(&request("acme", "kyc")).effect, Effect::Allow);
    drop(c);
    drop_schema(&schema).await;
}
