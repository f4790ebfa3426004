//! The store against the REAL PostgreSQL (no mocks): migrations, circuits, prices, and the
//! worker's exactly-once commit.
//!
//! Connects to `host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test` (set
//! `ZKQ_TEST_PG` to another libpq key=value string or `postgres://` URL to override), which
//! `scripts/services.sh` creates. Each test runs in a fresh schema of its own (the pool's
//! connections get `options=-csearch_path=<schema>`), so tests run in parallel and drop what
//! they made, even when they fail. An unreachable database fails every test loudly.

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_postgres::NoTls;
use uuid::Uuid;
use zkq_scheduler::keystore::KeyStore;
use zkq_scheduler::model::{BatchRecord, JobCost, JobMeta, JobOutcome, JobTimings, Outcome};
use zkq_scheduler::protocol::{JobResult, ReasonCode, PROTOCOL_VERSION};
use zkq_scheduler::store::{NewCircuit, NewPrice, Store, StoredResult};
use zkq_scheduler::{SchedulerError, StoreConfig};

const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";

fn base_url() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// `url` with the connection option that puts `schema` first on the search path.
fn url_with_schema(url: &str, schema: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{url} options=-csearch_path={schema}")
    }
}

async fn admin_client() -> tokio_postgres::Client {
    let url = base_url();
    let (client, conn) = match tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(&url, NoTls)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!(
            "cannot connect to the test database ({url}): {e}\n\
             PostgreSQL must be running with role zkq and database zkq_test: run scripts/services.sh \
             (or set ZKQ_TEST_PG to a database you own)"
        ),
        Err(_) => panic!("connecting to the test database ({url}) timed out: run scripts/services.sh"),
    };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Runs `body` with a store configuration pointing at a fresh schema, then drops the schema
/// (also when the body panics, whose panic is then resumed).
async fn in_fresh_schema<F, Fut>(test: &str, body: F)
where
    F: FnOnce(StoreConfig) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin = admin_client().await;
    let schema = format!("zkq_t_{test}_{}", Uuid::new_v4().simple());
    admin.batch_execute(&format!("create schema {schema}")).await.expect("create the test schema");
    let config = StoreConfig { url: url_with_schema(&base_url(), &schema), pool_size: 4, wait_timeout: Duration::from_secs(10) };
    let outcome = tokio::spawn(body(config)).await;
    admin.batch_execute(&format!("drop schema {schema} cascade")).await.expect("drop the test schema");
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

/// A plain client on the test schema, for checks the store API does not offer.
async fn raw_client(config: &StoreConfig) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&config.url, NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

fn hex_id(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn new_circuit(id: &str, name: &str) -> NewCircuit {
    NewCircuit { id: id.to_owned(), name: name.to_owned(), n_vars: 10, n_public: 2, n_constraints: 8, domain_size: 16, zkey_bytes: 4096, epsilon_micro: None }
}

fn meta(job_id: &str, tenant: &str, circuit_id: Option<&str>, submitted_at_ms: Option<i64>) -> JobMeta {
    JobMeta {
        job_id: job_id.to_owned(),
        tenant: tenant.to_owned(),
        circuit_ref: circuit_id.map(|c| format!("sha256:{c}")).unwrap_or_else(|| "nope@1".into()),
        circuit_id: circuit_id.map(str::to_owned),
        purpose: "kyc".into(),
        priority: 3,
        deadline_ms: None,
        submitted_at_ms,
        reply_to: Some("amq.rabbitmq.reply-to".into()),
        witness_sha256: Some("ab".repeat(32)),
        epsilon_micro: None,
        policy: None,
    }
}

fn batch(circuit_id: &str, size: i32, price_id: Option<i64>) -> BatchRecord {
    let finished_at = Utc::now();
    BatchRecord {
        id: Uuid::new_v4(),
        worker_id: "test-worker".into(),
        backend: "cpu".into(),
        device: "cpu cpu (2 threads)".into(),
        device_type: "cpu-2core".into(),
        circuit_id: circuit_id.to_owned(),
        size,
        started_at: finished_at - chrono::Duration::milliseconds(400),
        finished_at,
        device_seconds: 0.4,
        price_id,
        region: Some("us-east-1".into()),
        key_cache_hit: Some(true),
        verifying_key_sha256: Some("ab".repeat(32)),
    }
}

/// A proved outcome in `b` (cost: an equal share of the batch), with its reply JSON.
fn proved(m: JobMeta, b: &BatchRecord, usd_per_device_second: f64, tag: &str) -> (JobOutcome, serde_json::Value) {
    let share = b.device_seconds / f64::from(b.size);
    let cost = JobCost { device_seconds: share, usd: share * usd_per_device_second, price_id: b.price_id };
    let outcome = JobOutcome {
        outcome: Outcome::Proved {
            proof: serde_json::json!({ "protocol": "groth16", "curve": "bn128", "tag": tag }),
            public_signals: serde_json::json!(["1", "2"]),
        },
        timings: JobTimings {
            queue_wait_ms: 5.0,
            witness_load_ms: 0.5,
            compute_h_ms: 10.0,
            compute_a_ms: 3.0,
            compute_b_g1_ms: 3.5,
            compute_b_g2_ms: 8.0,
            compute_c_ms: 4.0,
            verify_ms: 2.0,
            held_ms: 40.0,
            batch_ms: 250.0,
        },
        received_at: Utc::now(),
        cost: Some(cost),
        batch_id: Some(b.id),
        batch_size: b.size,
        budget: None,
        meta: m,
    };
    let json = reply(&outcome, Some(&b.device));
    (outcome, json)
}

/// A failed outcome outside any batch, with its reply JSON.
fn failed(m: JobMeta, code: ReasonCode, reason: &str) -> (JobOutcome, serde_json::Value) {
    let outcome = JobOutcome {
        outcome: Outcome::Failed { code, reason: reason.to_owned() },
        timings: JobTimings { queue_wait_ms: 1.0, ..Default::default() },
        received_at: Utc::now(),
        cost: None,
        batch_id: None,
        batch_size: 0,
        budget: None,
        meta: m,
    };
    let json = reply(&outcome, None);
    (outcome, json)
}

/// The reply message, as the worker sends and stores it.
fn reply(o: &JobOutcome, device: Option<&str>) -> serde_json::Value {
    serde_json::to_value(JobResult {
        protocol: PROTOCOL_VERSION,
        job_id: o.meta.job_id.clone(),
        tenant: o.meta.tenant.clone(),
        circuit_id: o.meta.circuit_id.clone(),
        outcome: o.outcome.clone(),
        timings_ms: o.timings,
        batch_size: o.batch_size,
        device: device.map(str::to_owned),
        cost: o.cost,
        budget: o.budget.clone(),
        policy: o.meta.policy.as_deref().cloned(),
    })
    .expect("serialises")
}

async fn cpu_price(store: &Store) -> zkq_scheduler::model::Price {
    store.price_at("cpu-2core", at("2026-06-01T00:00:00Z")).await.expect("query").expect("seeded cpu-2core price")
}

#[tokio::test]
async fn migrations_apply_once_even_when_two_workers_start_together() {
    in_fresh_schema("migrate", |config| async move {
        let a = Store::connect_without_migrating(&config).expect("pool a");
        let b = Store::connect_without_migrating(&config).expect("pool b");
        let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
        let (ra, rb) = (ra.expect("migrate a"), rb.expect("migrate b"));
        let mut all: Vec<i32> = ra.iter().chain(rb.iter()).copied().collect();
        all.sort();
        let versions: Vec<i32> = zkq_scheduler::store::migrations::MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(all, versions, "each migration applied exactly once between the two");
        assert!(ra.is_empty() || rb.is_empty(), "one of the two found the work done");

        // Connecting again (twice) applies nothing and duplicates no seed data.
        let c = Store::connect(&config).await.expect("connect");
        assert_eq!(c.migrate().await.expect("migrate again"), Vec::<i32>::new());
        let raw = raw_client(&config).await;
        assert_eq!(count(&raw, "select count(*) from zkq_schema_migrations").await, versions.len() as i64);
        assert_eq!(count(&raw, "select count(*) from prices").await, 3);
        assert_eq!(c.list_prices().await.expect("prices").len(), 3);

        // Witnesses are never stored: the only witness columns are its hash and its load time.
        let schema: String = raw.query_one("select current_schema()", &[]).await.expect("schema").get(0);
        let rows = raw
            .query(
                "select table_name || '.' || column_name from information_schema.columns
                 where table_schema = $1 and column_name like '%witness%' order by 1",
                &[&schema],
            )
            .await
            .expect("columns");
        let cols: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(cols, ["job_results.witness_load_ms", "jobs.witness_sha256"]);
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_fails_within_the_timeout() {
    let config = StoreConfig {
        url: "host=127.0.0.1 port=1 user=zkq password=zkq dbname=zkq_test".into(),
        pool_size: 1,
        wait_timeout: Duration::from_secs(2),
    };
    let t = Instant::now();
    let err = Store::connect(&config).await.expect_err("nothing listens on port 1");
    assert!(matches!(err, SchedulerError::Pool(_)), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
}

#[tokio::test]
async fn refused_values_are_permanent_errors_that_print_their_sqlstate() {
    in_fresh_schema("refused", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        // A NUL byte: PostgreSQL refuses it in text (22021).
        let err = store.tenant("a\u{0}b").await.expect_err("PostgreSQL refuses a NUL byte");
        assert_eq!(err.sqlstate(), Some("22021"), "{err}");
        assert!(!err.is_transient(), "{err}");
        let text = err.to_string();
        assert!(text.starts_with("PostgreSQL: SQLSTATE 22021: invalid byte sequence"), "{text}");
        // A 6,000-character tenant that does not compress: too large for the
        // jobs_tenant_submitted_at index (54000). (A repetitive one is compressed below the limit.)
        let circuit = hex_id(7);
        store.add_circuit(&new_circuit(&circuit, "refused")).await.expect("circuit");
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let long: String = (0..6000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
            })
            .collect();
        let row = failed(meta("job-long", &long, Some(&circuit), Some(0)), ReasonCode::UnknownTenant, "no");
        let err = store.commit_batch(None, &[row]).await.expect_err("the index refuses the row");
        assert_eq!((err.sqlstate(), err.is_transient()), (Some("54000"), false), "{err}");
        assert!(err.to_string().contains("jobs_tenant_submitted_at"), "{err}");
        // Nothing was written; the pool still works.
        assert_eq!(store.count_results(&["job-long".to_owned()]).await.expect("count"), 0);
    })
    .await;
    // A database that cannot be reached is transient (the worker waits for it).
    let url = "host=127.0.0.1 port=1 user=zkq password=zkq dbname=zkq_test".into();
    let config = StoreConfig { url, pool_size: 1, wait_timeout: Duration::from_secs(1) };
    let store = Store::connect_without_migrating(&config).expect("pool");
    let err = store.ping().await.expect_err("nothing listens on port 1");
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn tenants_are_upserted_with_weights() {
    in_fresh_schema("tenants", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        assert_eq!(store.tenant("acme").await.expect("query"), None);
        assert_eq!(store.add_tenant("acme", 1).await.expect("add").weight, 1);
        assert_eq!(store.add_tenant("acme", 3).await.expect("reweigh").weight, 3);
        store.add_tenant("beta", 2).await.expect("add");
        assert!(matches!(store.add_tenant("gamma", 0).await, Err(SchedulerError::Invalid(_))));
        assert!(matches!(store.add_tenant("has space", 1).await, Err(SchedulerError::Invalid(_))));
        let names: Vec<(String, i32)> = store.list_tenants().await.expect("list").into_iter().map(|t| (t.name, t.weight)).collect();
        assert_eq!(names, [("acme".to_owned(), 3), ("beta".to_owned(), 2)]);
    })
    .await;
}

#[tokio::test]
async fn circuits_are_versioned_per_name_and_resolve_in_every_form() {
    in_fresh_schema("circuits", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        // A real zkey through the key store, as `zkq circuit add` does it.
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = KeyStore::open(dir.path().join("keys")).expect("key store");
        let stored = keys.add(&zkq_engine::fixtures::MULTI_PUBLIC.zkey()).expect("adds the fixture zkey");
        let v1 = store.add_circuit(&NewCircuit::from_zkey_info("mul", &stored.info).expect("record")).await.expect("register");
        assert_eq!((v1.name.as_str(), v1.version, v1.id.as_str()), ("mul", 1, stored.id.as_str()));
        assert_eq!((v1.n_public, v1.zkey_bytes), (7, stored.info.file_size as i64));

        // The same zkey again: the same record, no new version.
        let again = store.add_circuit(&NewCircuit::from_zkey_info("mul", &stored.info).expect("record")).await.expect("idempotent");
        assert_eq!(again, v1);
        // A new zkey under the same name: version 2. Under another name: version 1 there.
        let v2 = store.add_circuit(&new_circuit(&hex_id(2), "mul")).await.expect("v2");
        assert_eq!(v2.version, 2);
        let other = store.add_circuit(&new_circuit(&hex_id(3), "other")).await.expect("other");
        assert_eq!(other.version, 1);
        // One zkey, one identity: it cannot be registered under a second name.
        let err = store.add_circuit(&new_circuit(&hex_id(2), "renamed")).await.expect_err("refused");
        assert!(err.to_string().contains("mul@2"), "{err}");
        assert!(matches!(store.add_circuit(&new_circuit(&hex_id(4), "bad name")).await, Err(SchedulerError::Invalid(_))));
        assert!(matches!(store.add_circuit(&new_circuit("abc", "short")).await, Err(SchedulerError::Invalid(_))));

        let resolve = |r: String| {
            let store = store.clone();
            async move { store.resolve_circuit(&r).await.expect("resolve").map(|c| c.label()) }
        };
        assert_eq!(resolve(format!("sha256:{}", v1.id)).await.as_deref(), Some("mul@1"));
        assert_eq!(resolve(v1.id.clone()).await.as_deref(), Some("mul@1"));
        assert_eq!(resolve(v2.id.to_uppercase()).await.as_deref(), Some("mul@2"));
        assert_eq!(resolve("mul@1".into()).await.as_deref(), Some("mul@1"));
        assert_eq!(resolve("mul@2".into()).await.as_deref(), Some("mul@2"));
        assert_eq!(resolve("mul".into()).await.as_deref(), Some("mul@2"), "a bare name is its latest version");
        assert_eq!(resolve("other".into()).await.as_deref(), Some("other@1"));
        for unknown in ["mul@3", "nobody", &hex_id(9), "sha256:zz", "", "mul@x", "a b"] {
            assert_eq!(resolve(unknown.into()).await, None, "{unknown:?}");
        }

        let labels: Vec<String> = store.list_circuits().await.expect("list").iter().map(|c| c.label()).collect();
        assert_eq!(labels, ["mul@1", "mul@2", "other@1"]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_registrations_get_distinct_versions() {
    in_fresh_schema("circuit_race", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        let tasks: Vec<_> = (10..16u8)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { store.add_circuit(&new_circuit(&hex_id(n), "raced")).await.expect("register").version })
            })
            .collect();
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.expect("task"));
        }
        versions.sort();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
    })
    .await;
}

#[tokio::test]
async fn price_at_picks_the_latest_price_in_force() {
    in_fresh_schema("prices", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        // The seed: public list prices from 2026-01-01.
        assert_eq!(store.price_at("cpu-2core", at("2025-12-31T23:59:59Z")).await.expect("query"), None);
        let seed = cpu_price(&store).await;
        assert_eq!((seed.instance_type.as_str(), seed.usd_per_hour, seed.devices_per_instance), ("c7i.large", 0.08925, 1));
        let h100 = store.price_at("nvidia-h100", at("2026-03-01T00:00:00Z")).await.expect("query").expect("h100 price");
        assert_eq!((h100.instance_type.as_str(), h100.usd_per_hour, h100.devices_per_instance), ("p5.48xlarge", 55.04, 8));
        assert!((h100.usd_per_device_second() - 55.04 / 3600.0 / 8.0).abs() < 1e-15);
        let a100 = store.price_at("nvidia-a100", at("2026-03-01T00:00:00Z")).await.expect("query").expect("a100 price");
        assert_eq!((a100.instance_type.as_str(), a100.usd_per_hour), ("p4d.24xlarge", 21.96));
        assert_eq!(store.price_at("tpu", Utc::now()).await.expect("query"), None);

        // A new version from July; a spot price starting the same instant loses the tie.
        let july = at("2026-07-01T00:00:00Z");
        let new = |category: &str, usd: f64| NewPrice {
            provider: "aws".into(),
            region: "us-east-1".into(),
            instance_type: "c7i.large".into(),
            device_type: "cpu-2core".into(),
            devices_per_instance: 1,
            pricing_category: category.into(),
            usd_per_hour: usd,
            valid_from: july,
            source: Some("test".into()),
        };
        let spot = store.add_price(&new("spot", 0.03)).await.expect("spot");
        let on_demand = store.add_price(&new("on-demand", 0.1)).await.expect("on-demand");
        assert_eq!(store.price_at("cpu-2core", july - chrono::Duration::seconds(1)).await.expect("query"), Some(seed.clone()));
        assert_eq!(store.price_at("cpu-2core", july).await.expect("query"), Some(on_demand.clone()));
        assert_eq!(store.price_at("cpu-2core", at("2027-01-01T00:00:00Z")).await.expect("query"), Some(on_demand.clone()));
        assert_eq!(spot.usd_per_hour, 0.03);

        // Prices are never edited, and bad rows are refused before reaching the table.
        assert!(matches!(store.add_price(&new("on-demand", 0.2)).await, Err(SchedulerError::Invalid(_))));
        assert!(matches!(store.add_price(&new("black-market", 0.2)).await, Err(SchedulerError::Invalid(_))));
        assert!(matches!(store.add_price(&NewPrice { usd_per_hour: -1.0, ..new("reserved", 0.0) }).await, Err(SchedulerError::Invalid(_))));
        assert!(matches!(store.add_price(&NewPrice { devices_per_instance: 0, ..new("reserved", 0.0) }).await, Err(SchedulerError::Invalid(_))));
        assert_eq!(store.list_prices().await.expect("list").len(), 5);
    })
    .await;
}

/// A schema with a tenant, a circuit and the seed prices.
async fn ready_store(config: &StoreConfig) -> (Store, String) {
    let store = Store::connect(config).await.expect("connect");
    store.add_tenant("acme", 1).await.expect("tenant");
    let circuit = store.add_circuit(&new_circuit(&hex_id(1), "mul")).await.expect("circuit");
    (store, circuit.id)
}

#[tokio::test]
async fn commit_batch_is_idempotent() {
    in_fresh_schema("commit_twice", |config| async move {
        let (store, cid) = ready_store(&config).await;
        let price = cpu_price(&store).await;
        let b = batch(&cid, 2, Some(price.id));
        let outcomes = vec![
            proved(meta("job-1", "acme", Some(&cid), Some(1_000)), &b, price.usd_per_device_second(), "1"),
            proved(meta("job-2", "acme", Some(&cid), Some(2_000)), &b, price.usd_per_device_second(), "2"),
            failed(meta("job-3", "acme", Some(&cid), Some(3_000)), ReasonCode::BadWitness, "job job-3 witness: truncated"),
        ];
        let ids: Vec<String> = outcomes.iter().map(|(o, _)| o.meta.job_id.clone()).collect();

        let first = store.commit_batch(Some(&b), &outcomes).await.expect("first commit");
        assert_eq!(first.inserted, ids);
        assert!(first.already_done.is_empty());
        let second = store.commit_batch(Some(&b), &outcomes).await.expect("second commit");
        assert!(second.inserted.is_empty());
        assert_eq!(second.already_done, ids);

        let raw = raw_client(&config).await;
        assert_eq!(count(&raw, "select count(*) from batches").await, 1);
        assert_eq!(count(&raw, "select count(*) from jobs").await, 3);
        assert_eq!(count(&raw, "select count(*) from job_results").await, 3);
        assert_eq!(count(&raw, "select count(*) from job_costs").await, 2);
        assert_eq!(store.count_results(&ids).await.expect("count"), 3);
        assert_eq!(store.missing_results(&["job-0".into(), "job-2".into(), "job-9".into()]).await.expect("missing"), ["job-0", "job-9"]);

        let summary = store.summarize_results(&ids).await.expect("summary");
        assert_eq!((summary.results, summary.proved, summary.failed), (3, 2, 1));
        assert!((summary.device_seconds - 0.4).abs() < 1e-9);
        let expected_usd = 0.4 * 0.08925 / 3600.0;
        assert!((summary.usd - expected_usd).abs() < 1e-12, "{} vs {expected_usd}", summary.usd);

        // A job id given twice in one call counts once.
        let b2 = batch(&cid, 1, Some(price.id));
        let dup = proved(meta("job-4", "acme", Some(&cid), None), &b2, price.usd_per_device_second(), "4");
        let report = store.commit_batch(Some(&b2), &[dup.clone(), dup]).await.expect("dup commit");
        assert_eq!((report.inserted, report.already_done), (vec!["job-4".to_owned()], vec!["job-4".to_owned()]));
        assert_eq!(store.count_results(&["job-4".into()]).await.expect("count"), 1);
    })
    .await;
}

/// Issue 17, point 3: a job id belongs to its tenant and its content. Another tenant's outcome
/// under a known id — proved or still queued — is a conflict, written nowhere, and never gets
/// the stored result; the same tenant with another witness or circuit likewise; the same job
/// again is already done, as before.
#[tokio::test]
async fn job_ids_belong_to_their_tenant_and_content() {
    in_fresh_schema("job_id_owner", |config| async move {
        let (store, cid) = ready_store(&config).await;
        store.add_tenant("globex", 1).await.expect("tenant");
        let other_circuit = store.add_circuit(&new_circuit(&hex_id(2), "add")).await.expect("circuit").id;
        let price = cpu_price(&store).await;
        let b = batch(&cid, 1, Some(price.id));
        let rate = price.usd_per_device_second();
        let first = proved(meta("shared-1", "acme", Some(&cid), Some(1_000)), &b, rate, "acme's");
        assert_eq!(store.commit_batch(Some(&b), std::slice::from_ref(&first)).await.expect("commit").inserted, ["shared-1"]);
        // A job queued by acme (zkq submit records it before publishing).
        store.insert_queued_jobs(&[meta("queued-1", "acme", Some(&cid), Some(2_000))]).await.expect("queued");

        let b2 = batch(&cid, 4, Some(price.id));
        let mut other_witness = meta("shared-1", "acme", Some(&cid), None);
        other_witness.witness_sha256 = Some("cd".repeat(32));
        let outcomes = vec![
            proved(meta("shared-1", "globex", Some(&cid), None), &b2, rate, "globex's"),
            failed(meta("queued-1", "globex", Some(&cid), None), ReasonCode::BadWitness, "globex's failure"),
            proved(other_witness, &b2, rate, "acme's second witness"),
            proved(meta("shared-1", "acme", Some(&other_circuit), None), &b2, rate, "acme's other circuit"),
            first.clone(),
        ];
        let report = store.commit_batch(Some(&b2), &outcomes).await.expect("commit");
        assert!(report.inserted.is_empty(), "{report:?}");
        assert_eq!(report.already_done, ["shared-1"], "the same job again is answered from the store");
        let conflicts: Vec<usize> = report.conflicts.iter().map(|(i, _)| *i).collect();
        assert_eq!(conflicts, [0, 1, 2, 3], "{report:?}");
        let reasons: Vec<&str> = report.conflicts.iter().map(|(_, r)| r.as_str()).collect();
        assert!(reasons[0].contains("another tenant") && !reasons[0].contains("acme"), "never names the owner: {}", reasons[0]);
        assert!(reasons[2].contains("witness") && reasons[3].contains("circuit"), "{reasons:?}");

        let raw = raw_client(&config).await;
        assert_eq!(count(&raw, "select count(*) from jobs where tenant = 'globex'").await, 0, "nothing recorded for globex");
        assert_eq!(count(&raw, "select count(*) from job_results where job_id = 'queued-1'").await, 0, "acme's queued job keeps no result");
        let state: String = raw.query_one("select state from jobs where job_id = 'queued-1'", &[]).await.expect("row").get(0);
        assert_eq!(state, "queued");
        let stored = store.stored_results(&["shared-1".into()]).await.expect("stored");
        assert_eq!(stored["shared-1"]["proof"]["tag"], "acme's", "the stored result is acme's, unchanged");
        assert_eq!(count(&raw, "select count(*) from job_costs").await, 1, "only acme's first job is charged");

        // A redelivered job: its own stored result, or a conflict — never another's result.
        assert_eq!(store.stored_result_for(&first.0.meta).await.expect("look-up"), StoredResult::Same(first.1.clone()));
        let spoof = meta("shared-1", "globex", None, None);
        assert!(matches!(store.stored_result_for(&spoof).await.expect("look-up"), StoredResult::Conflict(_)));
        assert!(matches!(store.stored_result_for(&meta("queued-1", "globex", None, None)).await.expect("look-up"), StoredResult::Conflict(_)));
        assert_eq!(store.stored_result_for(&meta("queued-1", "acme", None, None)).await.expect("look-up"), StoredResult::Nothing);

        // Two tenants with one new id in one call: the first is written, the second conflicts.
        let b3 = batch(&cid, 2, Some(price.id));
        let race = vec![
            proved(meta("new-1", "acme", Some(&cid), None), &b3, rate, "acme"),
            proved(meta("new-1", "globex", Some(&cid), None), &b3, rate, "globex"),
        ];
        let report = store.commit_batch(Some(&b3), &race).await.expect("commit");
        assert_eq!(report.inserted, ["new-1"]);
        assert_eq!(report.conflicts.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1]);
        assert!(report.already_done.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_redelivered_job_gets_its_stored_result_unchanged() {
    in_fresh_schema("redelivery", |config| async move {
        let (store, cid) = ready_store(&config).await;
        let price = cpu_price(&store).await;
        store.insert_queued_jobs(&[meta("job-r", "acme", Some(&cid), Some(5_000))]).await.expect("queued");

        let b1 = batch(&cid, 1, Some(price.id));
        let (o1, json1) = proved(meta("job-r", "acme", Some(&cid), Some(5_000)), &b1, price.usd_per_device_second(), "first");
        let report = store.commit_batch(Some(&b1), &[(o1, json1.clone())]).await.expect("first delivery");
        assert_eq!(report.inserted, ["job-r"]);

        // Redelivered after the commit (the worker died before acking), proved again in
        // another batch — or, this time, failing: either way the first result stands.
        let b2 = batch(&cid, 1, Some(price.id));
        let (o2, json2) = proved(meta("job-r", "acme", Some(&cid), Some(5_000)), &b2, price.usd_per_device_second(), "second");
        assert_ne!(json1, json2);
        let (o3, json3) = failed(meta("job-r", "acme", Some(&cid), Some(5_000)), ReasonCode::DeadlineExceeded, "late");
        for (b, o, json) in [(Some(&b2), o2, json2), (None, o3, json3)] {
            let report = store.commit_batch(b, &[(o, json)]).await.expect("redelivery");
            assert!(report.inserted.is_empty());
            assert_eq!(report.already_done, ["job-r"]);
        }
        let stored = store.stored_results(&["job-r".into(), "job-unknown".into()]).await.expect("stored");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored.get("job-r"), Some(&json1), "the stored reply is the first one, byte for byte");
        let back: JobResult = serde_json::from_value(json1.clone()).expect("a JobResult");
        assert_eq!(back.job_id, "job-r");

        let view = store.job("job-r").await.expect("query").expect("exists");
        assert_eq!(view.state, "proved", "a later failure does not overwrite the committed state");
        let raw = raw_client(&config).await;
        assert_eq!(count(&raw, "select count(*) from job_costs").await, 1, "no second cost row");
        let batch_of: Uuid = raw.query_one("select batch_id from job_results where job_id = 'job-r'", &[]).await.expect("row").get(0);
        assert_eq!(batch_of, b1.id);
    })
    .await;
}

#[tokio::test]
async fn concurrent_commits_of_overlapping_jobs_write_one_result_each() {
    in_fresh_schema("commit_race", |config| async move {
        let (store, cid) = ready_store(&config).await;
        let price = cpu_price(&store).await;
        let (rate, price_id) = (price.usd_per_device_second(), price.id);
        // Two workers (own pools), several rounds of committing overlapping job sets at the
        // same instant, in opposite orders.
        let workers = [Store::connect(&config).await.expect("worker a"), Store::connect(&config).await.expect("worker b")];
        for round in 0..8 {
            let ids = |range: std::ops::Range<usize>| -> Vec<String> { range.map(|i| format!("r{round}-job-{i:03}")).collect() };
            let (a_ids, mut b_ids) = (ids(0..40), ids(20..60));
            b_ids.reverse();
            let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            let mut tasks = Vec::new();
            for ((worker, job_ids), store) in [("a", a_ids), ("b", b_ids)].into_iter().zip(workers.iter().cloned()) {
                let (cid, start) = (cid.clone(), start.clone());
                tasks.push(tokio::spawn(async move {
                    let b = batch(&cid, job_ids.len() as i32, Some(price_id));
                    let outcomes: Vec<_> =
                        job_ids.iter().map(|id| proved(meta(id, "acme", Some(&cid), Some(1)), &b, rate, worker)).collect();
                    start.wait().await;
                    let report = store.commit_batch(Some(&b), &outcomes).await.expect("commit");
                    assert_eq!(report.inserted.len() + report.already_done.len(), job_ids.len());
                    report
                }));
            }
            let mut inserted: Vec<String> = Vec::new();
            for t in tasks {
                inserted.extend(t.await.expect("task").inserted);
            }
            let unique: HashSet<&String> = inserted.iter().collect();
            assert_eq!(unique.len(), inserted.len(), "no job inserted by both workers");
            let all = ids(0..60);
            assert_eq!(unique.len(), all.len(), "every job inserted by one of them");
            assert_eq!(store.count_results(&all).await.expect("count"), 60);
            assert!(store.missing_results(&all).await.expect("missing").is_empty());
        }
        let raw = raw_client(&config).await;
        assert_eq!(count(&raw, "select count(*) from job_results").await, 8 * 60);
        assert_eq!(count(&raw, "select count(*) from job_costs").await, 8 * 60);
        assert_eq!(count(&raw, "select count(*) from jobs where state <> 'proved'").await, 0);
        // Each job's result and cost name the same batch.
        assert_eq!(count(&raw, "select count(*) from job_results r join job_costs c using (job_id) where r.batch_id <> c.batch_id").await, 0);
    })
    .await;
}

#[tokio::test]
async fn job_views_show_state_timings_and_cost() {
    in_fresh_schema("views", |config| async move {
        let (store, cid) = ready_store(&config).await;
        let price = cpu_price(&store).await;
        let queued: Vec<JobMeta> = (1..=3).map(|i| meta(&format!("v-{i}"), "acme", Some(&cid), Some(i * 1_000))).collect();
        assert_eq!(store.insert_queued_jobs(&queued).await.expect("queued"), 3);
        assert_eq!(store.insert_queued_jobs(&queued).await.expect("again"), 0, "ON CONFLICT DO NOTHING");
        store.insert_queued_jobs(&[meta("other-1", "beta", Some(&cid), Some(9_000))]).await.expect("other tenant");

        let v = store.job("v-1").await.expect("query").expect("exists");
        assert_eq!((v.state.as_str(), v.tenant.as_str(), v.purpose.as_str(), v.priority), ("queued", "acme", "kyc", 3));
        assert_eq!(v.submitted_at, DateTime::<Utc>::from_timestamp_millis(1_000));
        assert_eq!((v.timings, v.completed_at, v.cost_usd, v.batch_size), (None, None, None, None));
        assert_eq!(store.job("nope").await.expect("query"), None);

        let b = batch(&cid, 1, Some(price.id));
        let (o, json) = proved(queued[0].clone(), &b, price.usd_per_device_second(), "v1");
        let timings = o.timings;
        store.commit_batch(Some(&b), &[(o, json)]).await.expect("commit");
        let v = store.job("v-1").await.expect("query").expect("exists");
        assert_eq!(v.state, "proved");
        assert_eq!(v.timings, Some(timings));
        assert_eq!((v.batch_size, v.device.as_deref()), (Some(1), Some("cpu cpu (2 threads)")));
        assert!(v.completed_at.is_some());
        let usd = v.cost_usd.expect("cost");
        assert!((usd - 0.4 * 0.08925 / 3600.0).abs() < 1e-12, "{usd}");
        // Recording the job as queued again (a re-run `zkq submit`) does not reset it.
        store.insert_queued_jobs(&queued[..1]).await.expect("again");
        assert_eq!(store.job("v-1").await.expect("query").expect("exists").state, "proved");

        let listed: Vec<(String, String)> = store.jobs("acme", 10).await.expect("list").into_iter().map(|v| (v.job_id, v.state)).collect();
        assert_eq!(listed, [("v-3".into(), "queued".into()), ("v-2".into(), "queued".into()), ("v-1".into(), "proved".into())]);
        assert_eq!(store.jobs("acme", 2).await.expect("list").len(), 2);
        assert_eq!(store.jobs("beta", 10).await.expect("list").len(), 1);
        assert!(store.jobs("nobody", 10).await.expect("list").is_empty());
    })
    .await;
}

#[tokio::test]
async fn failures_commit_without_a_batch() {
    in_fresh_schema("failures", |config| async move {
        let (store, cid) = ready_store(&config).await;
        // An unknown circuit (no circuit id) and an unknown tenant, rejected before batching;
        // the jobs were never recorded by a submitter, so the commit creates their rows.
        let outcomes = vec![
            failed(meta("f-1", "acme", None, None), ReasonCode::UnknownCircuit, "no circuit nope@1 is registered"),
            failed(meta("f-2", "mallory", Some(&cid), Some(7)), ReasonCode::UnknownTenant, "tenant mallory is not registered"),
        ];
        let report = store.commit_batch(None, &outcomes).await.expect("commit");
        assert_eq!(report.inserted, ["f-1", "f-2"]);
        let v = store.job("f-1").await.expect("query").expect("exists");
        assert_eq!((v.state.as_str(), v.reason_code.as_deref()), ("failed", Some("unknown_circuit")));
        assert_eq!(v.reason.as_deref(), Some("no circuit nope@1 is registered"));
        assert_eq!((v.circuit_id, v.cost_usd, v.batch_size, v.device), (None, None, Some(0), None));
        assert_eq!(v.timings.map(|t| t.queue_wait_ms), Some(1.0));
        let v = store.job("f-2").await.expect("query").expect("exists");
        assert_eq!((v.tenant.as_str(), v.reason_code.as_deref()), ("mallory", Some("unknown_tenant")));
        let raw = raw_client(&config).await;
        assert_eq!(count(&raw, "select count(*) from batches").await, 0);
        assert_eq!(count(&raw, "select count(*) from job_costs").await, 0);
        let stored = store.stored_results(&["f-1".into()]).await.expect("stored");
        assert_eq!(stored["f-1"]["status"], "failed");
        assert_eq!(stored["f-1"]["code"], "unknown_circuit");
        assert_eq!(store.commit_batch(None, &outcomes).await.expect("again").already_done, ["f-1", "f-2"]);
        assert_eq!(store.commit_batch(None, &[]).await.expect("empty"), Default::default());
    })
    .await;
}

/// Issue 5: job history as a simulator trace (`zkq sched trace`), with device time fitted to
/// the measured batches, and the measured cost per proof the worker's cost model starts from.
#[tokio::test]
async fn job_history_becomes_a_trace_and_a_measured_cost() {
    in_fresh_schema("history_trace", |config| async move {
        let (store, cid) = ready_store(&config).await;
        store.add_tenant("zeta", 3).await.expect("tenant");
        let price = cpu_price(&store).await;
        assert_eq!(store.measured_seconds_per_proof(&cid, "cpu-2core").await.expect("query"), None, "no batch yet");
        // Two batches: 2 jobs in 0.4 s and 4 jobs in 0.6 s → 0.2 s fixed + 0.1 s per proof.
        let b2 = batch(&cid, 2, Some(price.id));
        let mut b4 = batch(&cid, 4, Some(price.id));
        b4.device_seconds = 0.6;
        let two: Vec<_> = (0..2).map(|i| proved(meta(&format!("h-{i}"), "acme", Some(&cid), Some(1_000_000 + i * 250)), &b2, 0.0, "x")).collect();
        let four: Vec<_> = (2..6).map(|i| proved(meta(&format!("h-{i}"), "zeta", Some(&cid), Some(1_000_000 + i * 250)), &b4, 0.0, "x")).collect();
        store.commit_batch(Some(&b2), &two).await.expect("commit");
        store.commit_batch(Some(&b4), &four).await.expect("commit");
        let per_proof = store.measured_seconds_per_proof(&cid, "cpu-2core").await.expect("query").expect("measured");
        assert!((per_proof - 1.0 / 6.0).abs() < 1e-9, "1.0 s over 6 proofs: {per_proof}");
        assert_eq!(store.measured_seconds_per_proof(&cid, "nvidia-h100").await.expect("query"), None, "per device type");

        let mut trace = store.record_trace(None, None, 1000).await.expect("trace");
        trace.validate().expect("a valid trace");
        assert_eq!(trace.jobs.len(), 6);
        assert_eq!(trace.jobs[0].at_ms, 0.0, "time zero is the first arrival");
        assert_eq!(trace.jobs[5].at_ms, 1250.0);
        assert_eq!(trace.jobs[5].priority, 3);
        let weights: Vec<(String, u32)> = trace.tenants.iter().map(|t| (t.name.clone(), t.weight)).collect();
        assert_eq!(weights, [("acme".to_owned(), 1), ("zeta".to_owned(), 3)]);
        let c = &trace.circuits[0];
        assert_eq!((c.shape.n_vars, c.shape.domain_size, c.shape.zkey_bytes), (10, 16, 4096));
        assert!((c.fixed_ms.expect("fitted") - 200.0).abs() < 1e-6 && (c.per_proof_ms.expect("fitted") - 100.0).abs() < 1e-6, "{c:?}");
        let since = store.record_trace(Some(DateTime::<Utc>::from_timestamp_millis(1_000_500).expect("instant")), None, 1000).await.expect("trace");
        assert_eq!(since.jobs.len(), 4, "--since filters by submission");
    })
    .await;
}

#[tokio::test]
async fn uptime_rows_only_move_forward_and_the_queue_age_reads_the_oldest_queued_job() {
    in_fresh_schema("uptime", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        let raw = raw_client(&config).await;
        let record = zkq_scheduler::store::UptimeRecord {
            worker_id: "w1".into(),
            started_at: at("2026-11-23T00:00:00Z"),
            device: "cpu (2 threads)".into(),
            device_type: "cpu-2core".into(),
            devices: 1,
            region: Some("us-east-1".into()),
        };
        store.record_uptime(&record, at("2026-11-23T00:00:15Z")).await.expect("first beat");
        store.record_uptime(&record, at("2026-11-23T01:00:00Z")).await.expect("second beat");
        store.record_uptime(&record, at("2026-11-23T00:30:00Z")).await.expect("a late beat");
        let row = raw.query_one("select last_seen_at, region from worker_uptime", &[]).await.expect("row");
        assert_eq!(row.get::<_, DateTime<Utc>>(0), at("2026-11-23T01:00:00Z"), "last_seen_at never moves backwards");
        assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("us-east-1"));
        // A restart is a new row.
        let restarted = zkq_scheduler::store::UptimeRecord { started_at: at("2026-11-23T02:00:00Z"), ..record.clone() };
        store.record_uptime(&restarted, at("2026-11-23T02:00:00Z")).await.expect("restart");
        assert_eq!(count(&raw, "select count(*) from worker_uptime").await, 2);

        assert_eq!(store.oldest_queued_age_seconds().await.expect("age"), None, "no queued job");
        let queued = |id: &str, ms: i64| meta(id, "acme", None, Some(ms));
        let now = Utc::now().timestamp_millis();
        store.insert_queued_jobs(&[queued("old", now - 90_000), queued("new", now - 5_000)]).await.expect("queue");
        let age = store.oldest_queued_age_seconds().await.expect("age").expect("some");
        assert!((89.0..120.0).contains(&age), "oldest queued job is ~90 s old, got {age}");
    })
    .await;
}

/// Drift prediction's change events (migration 0012): prices, circuits and policy versions
/// are recorded by triggers whoever writes them; a fleet's configuration and prover version by
/// the worker at start, once per value even when workers start together.
#[tokio::test]
async fn changes_are_recorded_by_triggers_and_once_per_fleet_state() {
    in_fresh_schema("changes", |config| async move {
        let store = Store::connect(&config).await.expect("connect");
        let pg = raw_client(&config).await;
        let events = |kind: &'static str| {
            let pg = &pg;
            async move {
                pg.query("select subject, before, after, features, source from change_events where kind = $1 order by id", &[&kind])
                    .await
                    .expect("events")
            }
        };
        // A new c7i.large price: 0.08925 → 0.1071 per device-hour is +20 %.
        let price = NewPrice {
            provider: "aws".into(),
            region: "us-east-1".into(),
            instance_type: "c7i.large".into(),
            device_type: "cpu-2core".into(),
            devices_per_instance: 1,
            pricing_category: "spot".into(),
            usd_per_hour: 0.1071,
            valid_from: Utc::now(),
            source: None,
        };
        store.add_price(&price).await.expect("price");
        let rows = events("price").await;
        assert_eq!(rows.len(), 1);
        let (subject, features): (String, serde_json::Value) = (rows[0].get(0), rows[0].get(3));
        assert_eq!(subject, "cpu-2core");
        let relative = features["relative_change"].as_f64().expect("relative change");
        assert!((relative - 0.2).abs() < 1e-9, "{features}");
        assert_eq!(rows[0].get::<_, String>(4), "trigger");

        store.add_circuit(&new_circuit(&hex_id(9), "kyc")).await.expect("circuit");
        let rows = events("circuit").await;
        assert_eq!((rows.len(), rows[0].get::<_, String>(0).as_str()), (1, "kyc@v1"));

        store.add_tenant("acme", 1).await.expect("tenant");
        pg.execute("insert into policies (tenant, policy_id, version, source, created_by) values ('acme', 'kyc', 1, 'permit(principal, action, resource);', 'ana')", &[])
            .await
            .expect("policy");
        pg.execute("update policies set revoked_at = now(), revoked_by = 'bo' where policy_id = 'kyc'", &[]).await.expect("revoke");
        let rows = events("policy").await;
        let ops: Vec<String> = rows.iter().map(|r| r.get::<_, serde_json::Value>(3)["operation"].as_str().unwrap_or("").to_owned()).collect();
        assert_eq!(ops, ["create", "revoke"]);
        assert_eq!(rows[0].get::<_, String>(0), "acme/kyc");

        // Two workers of one fleet start together: one configuration and one version change.
        let worker = zkq_scheduler::WorkerConfig { max_batch: 16, device_type: "cpu-2core".into(), ..Default::default() };
        let (a, b) = tokio::join!(
            zkq_scheduler::fleet_changes::record(&store, &worker),
            zkq_scheduler::fleet_changes::record(&store, &worker)
        );
        assert_eq!(a.expect("a").len() + b.expect("b").len(), 2, "one worker records, the other finds it done");
        assert!(zkq_scheduler::fleet_changes::record(&store, &worker).await.expect("restart").is_empty(), "a restart is no change");
        let bigger = zkq_scheduler::WorkerConfig { max_batch: 32, ..worker };
        assert_eq!(zkq_scheduler::fleet_changes::record(&store, &bigger).await.expect("reconfigured").len(), 1);
        let rows = events("worker_config").await;
        assert_eq!(rows.len(), 2);
        let (subject, before, features): (String, Option<serde_json::Value>, serde_json::Value) = (rows[1].get(0), rows[1].get(1), rows[1].get(3));
        assert_eq!(subject, "cpu-2core@-");
        assert_eq!(before.expect("before")["max_batch"], 16);
        assert_eq!(features, serde_json::json!({ "max_batch": { "from": 16, "to": 32 } }));
        let rows = events("prover_version").await;
        assert_eq!(rows.len(), 1);
        let after: serde_json::Value = rows[0].get(2);
        assert_eq!(after["version"], env!("CARGO_PKG_VERSION"));
        assert!(after["libraries"]["tokio-postgres"].is_array(), "the build's libraries are recorded");
    })
    .await;
}
