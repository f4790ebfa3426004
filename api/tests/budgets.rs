//! Privacy budgets end to end (issue 18), against the REAL broker and database with the real
//! `zkq worker` and CLI: purpose binding, charges with signed receipts, actionable blocks with
//! their result fields, a reset, refused bad input that moves no ledger, and an exported
//! receipt bundle that verifies offline — and stops verifying when one byte changes.

#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::OutgoingJob;
use zkq_scheduler::protocol::JobResult;

use common::{run_pipeline_test, witness_bytes, Worker, CIRCUIT, TENANT};

/// ε per proof of the fixture circuit in this test.
const COST: &str = "0.1";
/// The purpose's cap: five proofs.
const CAP: &str = "0.5";
const PURPOSE: &str = "fraud-check";

fn job(env: &common::Env, id: &str, tenant: &str, purpose: &str, witness: &[u8]) -> OutgoingJob {
    OutgoingJob { tenant: tenant.into(), purpose: purpose.into(), ..env.good_job(id, witness) }
}

async fn run(env: &common::Env, jobs: &[OutgoingJob]) -> HashMap<String, JobResult> {
    common::submit_and_collect(env, jobs).await
}

fn zkq_ok(env: &common::Env, args: &[&str]) -> String {
    let o = env.zkq().args(args).output().expect("run zkq");
    assert!(o.status.success(), "zkq {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn code(r: &JobResult) -> Option<&'static str> {
    match &r.outcome {
        zkq_scheduler::model::Outcome::Failed { code, .. } => Some(code.as_str()),
        zkq_scheduler::model::Outcome::Proved { .. } => None,
    }
}

async fn count(env: &common::Env, sql: &str) -> i64 {
    env.pg().await.query_one(sql, &[]).await.expect("query").get(0)
}

#[test]
fn budgets_bind_purposes_charge_proofs_block_with_reasons_and_sign_receipts() {
    run_pipeline_test("budgets", |env| async move {
        zkq_ok(&env, &["circuit", "add", &MULTI_PUBLIC.zkey().display().to_string(), "--name", CIRCUIT, "--epsilon", COST]);
        zkq_ok(&env, &["budget", "set", "--tenant", TENANT, "--purpose", PURPOSE, "--cap", CAP, "--window", "calendar:day", "--reason", "contract 2026"]);
        zkq_ok(&env, &["tenant", "add", "other"]);

        // Bad input: refused with exit 2, and no ledger moves (one receipt: the creation).
        for (args, says) in [
            (vec!["--cap", "NaN"], "not a decimal number"),
            (vec!["--cap", "-1"], "negative"),
            (vec!["--cap", "0"], "zero"),
            (vec!["--cap", "1e-3"], "not a decimal number"),
            (vec!["--cap", "0.0000001"], "more than 6 decimal places"),
            (vec!["--cap", "99999999999"], "larger than the largest"),
        ] {
            let mut full = vec!["budget", "set", "--tenant", TENANT, "--purpose", PURPOSE, "--reason", "x"];
            full.extend(args.iter().copied());
            let o = env.zkq().args(&full).output().expect("run");
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
        }
        let long = "p".repeat(10_240);
        for purpose in ["Fraud Check", "<script>", long.as_str(), "a\tb"] {
            let o = env.zkq().args(["budget", "set", "--tenant", TENANT, "--purpose", purpose, "--cap", "1", "--window", "total", "--reason", "x"]).output().expect("run");
            assert_eq!(o.status.code(), Some(2), "purpose {:?}: {}", &purpose[..purpose.len().min(20)], String::from_utf8_lossy(&o.stderr));
        }
        let o = env.zkq().args(["budget", "reset", "--tenant", TENANT, "--purpose", PURPOSE, "--reason", ""]).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "a reset needs a reason: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(count(&env, "select count(*) from budget_receipts").await, 1, "refused commands wrote no receipt");

        let worker = Worker::start(&env, "budgets", &["--max-batch", "4", "--max-wait-ms", "50", "--metrics-addr", "off", "--budget-contact", "privacy@acme.example"]);
        common::wait_consuming_tenant(&env, &worker, TENANT).await;
        common::wait_consuming_tenant(&env, &worker, "other").await;
        let witness = witness_bytes(MULTI_PUBLIC);
        let mut jobs: Vec<OutgoingJob> = (0..8).map(|i| job(&env, &format!("b-{i}"), TENANT, PURPOSE, &witness)).collect();
        jobs.push(job(&env, "no-purpose", TENANT, "", &witness));
        jobs.push(job(&env, "unknown-purpose", TENANT, "marketing", &witness));
        jobs.push(job(&env, "other-tenant", "other", PURPOSE, &witness));
        let results = run(&env, &jobs).await;

        let proved: Vec<&JobResult> = (0..8).map(|i| &results[&format!("b-{i}")]).filter(|r| code(r).is_none()).collect();
        let blocked: Vec<&JobResult> = (0..8).map(|i| &results[&format!("b-{i}")]).filter(|r| code(r) == Some("budget_exhausted")).collect();
        assert_eq!((proved.len(), blocked.len()), (5, 3), "a 0.5 ε cap pays for five 0.1 ε proofs: {results:?}");
        for r in &proved {
            let b = r.budget.as_ref().expect("a charged job's budget object");
            assert_eq!((b.purpose.as_str(), b.charged.as_deref()), (PURPOSE, Some(COST)));
            assert_eq!(b.receipt_id.as_deref().map(str::len), Some(64));
        }
        for r in &blocked {
            let b = r.budget.as_ref().expect("a blocked job's budget object");
            assert_eq!((b.cap.as_str(), b.requested.as_str(), b.remaining.as_str()), (CAP, COST, "0"));
            // Spent and held by jobs in progress (admitted before any batch committed) fill the cap.
            let micros = |t: &str| if t == "0" { 0 } else { t.parse::<zkq_budget::Epsilon>().map_or(u64::MAX, zkq_budget::Epsilon::micros) };
            assert_eq!(micros(&b.spent) + micros(&b.reserved), 500_000, "{b:?}");
            assert!(b.frees_at.is_some() && b.next_reset.is_some(), "a daily budget frees up at midnight UTC: {b:?}");
            assert_eq!(b.contact.as_deref(), Some("privacy@acme.example"));
            let zkq_scheduler::model::Outcome::Failed { reason, .. } = &r.outcome else { unreachable!() };
            for part in ["\"fraud-check\"", "needs 0.1 ε", "0.5 ε cap", "frees up at", "privacy@acme.example"] {
                assert!(reason.contains(part), "{part:?} missing from: {reason}");
            }
        }
        assert_eq!(code(&results["no-purpose"]), Some("unknown_purpose"), "a circuit that costs ε needs a purpose");
        assert_eq!(code(&results["unknown-purpose"]), Some("unknown_purpose"));
        assert_eq!(code(&results["other-tenant"]), Some("unknown_purpose"), "another tenant cannot spend acme's purpose");

        // The ledger: exactly the five charges, nothing held, receipts chained.
        assert_eq!(count(&env, "select spent_micro from budgets where purpose = 'fraud-check'").await, 500_000);
        assert_eq!(count(&env, "select count(*) from budget_reservations").await, 0, "no hold outlives its job");
        assert_eq!(count(&env, "select count(*) from budget_receipts where kind = 'charge'").await, 5);
        assert_eq!(count(&env, "select count(*) from budget_blocks").await, 3);
        let show: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["budget", "show", "--tenant", TENANT, "--format", "json"])).expect("JSON");
        assert_eq!((show[0]["spent"].as_str(), show[0]["remaining"].as_str()), (Some(CAP), Some("0")), "{show}");

        // A reset (audited) frees the budget; two more proofs are charged.
        zkq_ok(&env, &["budget", "reset", "--tenant", TENANT, "--purpose", PURPOSE, "--reason", "incident 7: refunded by agreement"]);
        let more: Vec<OutgoingJob> = (0..2).map(|i| job(&env, &format!("after-reset-{i}"), TENANT, PURPOSE, &witness)).collect();
        let after = run(&env, &more).await;
        assert!(after.values().all(|r| code(r).is_none()), "{after:?}");
        assert_eq!(count(&env, "select spent_micro from budgets where purpose = 'fraud-check'").await, 200_000);

        // Export, verify offline; one edited byte is found.
        let dir = env.dir.join("bundle");
        let d = dir.display().to_string();
        zkq_ok(&env, &["budget", "receipts", "export", "--tenant", TENANT, "--out", &d]);
        let ok = zkq_ok(&env, &["budget", "receipts", "verify", &d, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&ok).expect("JSON");
        assert_eq!(v["valid"], true, "{ok}");
        assert_eq!(v["ledgers"][0]["charges"], 7, "{ok}");
        let receipts = dir.join("receipts.jsonl");
        let text = std::fs::read_to_string(&receipts).expect("receipts");
        let tampered = text.replacen("\"payload\":\"", "\"payload\":\"x", 1);
        std::fs::write(&receipts, &tampered).expect("write");
        let o = env.zkq().args(["budget", "receipts", "verify", &d]).output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("receipts.jsonl") && err.contains("was changed"), "{err}");
        // The same edit with the manifest's digest fixed up: the signature catches it, on line 1.
        let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("m")).expect("json");
        manifest["files"][0]["sha256"] = zkq_budget::bundle::sha256_hex(tampered.as_bytes()).into();
        manifest["files"][0]["bytes"] = tampered.len().into();
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("write");
        let o = env.zkq().args(["budget", "receipts", "verify", &d]).output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("line 1"), "{err}");
        // A replayed (duplicated) receipt line is named too.
        let first = text.lines().next().expect("a receipt").to_owned();
        let replayed = format!("{text}{first}\n");
        std::fs::write(&receipts, &replayed).expect("write");
        manifest["files"][0]["sha256"] = zkq_budget::bundle::sha256_hex(replayed.as_bytes()).into();
        manifest["files"][0]["bytes"] = replayed.len().into();
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("write");
        let o = env.zkq().args(["budget", "receipts", "verify", &d]).output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("line {}", text.lines().count() + 1)) && err.contains("seq 1"), "{err}");
        drop(worker);
    });
}

/// Publishes one job with these headers to the tenant's queue (confirmed), as a raw client would.
async fn publish_raw(env: &common::Env, job_id: &str, headers: lapin::types::FieldTable) {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    let (conn, ch) = common::amqp_channel(env).await;
    ch.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm.select");
    let props = lapin::BasicProperties::default().with_message_id(job_id.into()).with_delivery_mode(2).with_headers(headers);
    let witness = witness_bytes(MULTI_PUBLIC);
    let confirm = ch
        .basic_publish(
            env.amqp.jobs_exchange().as_str().into(),
            zkq_scheduler::AmqpConfig::tenant_routing_key(TENANT, 0).as_str().into(),
            BasicPublishOptions { mandatory: true, ..Default::default() },
            &witness,
            props,
        )
        .await
        .expect("publish");
    assert!(confirm.await.expect("confirm").is_ack(), "the broker takes {job_id}");
    let _ = conn.close(200, "bye".into()).await;
}

/// (status, reason code, reason) of a job's stored result, waiting for it.
async fn stored(env: &common::Env, job_id: &str) -> (String, Option<String>, Option<String>, serde_json::Value) {
    let pg = env.pg().await;
    let t = Instant::now();
    loop {
        if let Some(r) = pg.query_opt("select status, reason_code, reason, result from job_results where job_id = $1", &[&job_id]).await.expect("query") {
            return (r.get(0), r.get(1), r.get(2), r.get(3));
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no result for {job_id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `zkq-epsilon`: a job may ask less than its circuit's ε per proof, never more; bad values are
/// refused as malformed and charge nothing. A hold whose job never comes back (its worker died
/// and the job was lost) is reclaimed once expired, with a refund receipt.
#[test]
fn jobs_may_ask_less_epsilon_never_more_and_expired_holds_are_reclaimed() {
    run_pipeline_test("budgets-epsilon", |env| async move {
        use lapin::types::AMQPValue;
        zkq_ok(&env, &["circuit", "add", &MULTI_PUBLIC.zkey().display().to_string(), "--name", CIRCUIT, "--epsilon", COST]);
        zkq_ok(&env, &["budget", "set", "--tenant", TENANT, "--purpose", PURPOSE, "--cap", "1", "--window", "sliding:24h", "--reason", "test"]);
        let worker = Worker::start(&env, "budgets-eps", &["--max-batch", "4", "--max-wait-ms", "20", "--metrics-addr", "off", "--reservation-ttl-secs", "1"]);
        common::wait_consuming_tenant(&env, &worker, TENANT).await;
        let circuit = format!("sha256:{}", env.circuit_id);
        let with_epsilon = |eps: &str| {
            let mut h = zkq_scheduler::protocol::job_headers(TENANT, &circuit, PURPOSE, 0, None, zkq_scheduler::client::now_ms());
            h.insert(zkq_scheduler::protocol::H_EPSILON.into(), AMQPValue::LongString(eps.into()));
            h
        };
        for (id, eps) in [("less", "0.05"), ("more", "0.5"), ("nan", "NaN"), ("negative", "-0.1"), ("zero", "0"), ("fine", "0.0000001"), ("huge", "1e9")] {
            publish_raw(&env, &format!("eps-{id}"), with_epsilon(eps)).await;
        }
        let (status, _, _, result) = stored(&env, "eps-less").await;
        assert_eq!(status, "proved", "{result}");
        assert_eq!(result["budget"]["charged"], "0.05", "{result}");
        let (status, code, reason, _) = stored(&env, "eps-more").await;
        assert_eq!((status.as_str(), code.as_deref()), ("failed", Some("epsilon_too_large")), "{reason:?}");
        assert!(reason.as_deref().is_some_and(|r| r.contains("at most 0.1 ε")), "{reason:?}");
        for id in ["nan", "negative", "zero", "fine", "huge"] {
            let (status, code, reason, _) = stored(&env, &format!("eps-{id}")).await;
            assert_eq!((status.as_str(), code.as_deref()), ("failed", Some("malformed_message")), "{id}: {reason:?}");
            assert!(reason.as_deref().is_some_and(|r| r.contains("zkq-epsilon")), "{id}: {reason:?}");
        }
        let pg = env.pg().await;
        let spent: i64 = pg.query_one("select spent_micro from budgets", &[]).await.expect("spent").get(0);
        assert_eq!(spent, 50_000, "only the job that asked 0.05 was charged");

        // A hold taken for a job whose delivery is then lost: reclaimed after its 1 s expiry by
        // the worker's next tenant refresh (every 10 s).
        let db = zkq_store::Db::connect(&zkq_store::StoreConfig { url: env.pg_url.clone(), pool_size: 1, wait_timeout: Duration::from_secs(10) }).await.expect("db");
        let mut client = db.client().await.expect("client");
        let tx = client.transaction().await.expect("tx");
        let lost = zkq_budget::pg::JobCharge { tenant: TENANT.into(), job_id: "lost-job".into(), purpose: PURPOSE.into(), epsilon: "0.3".parse().expect("ε") };
        let held = zkq_budget::pg::reserve(&tx, &lost, "a-dead-worker", chrono::Duration::seconds(1)).await.expect("reserve");
        assert!(matches!(held, zkq_budget::pg::Admission::Reserved(_)), "{held:?}");
        tx.commit().await.expect("commit");
        let t = Instant::now();
        loop {
            let left: i64 = pg.query_one("select count(*) from budget_reservations", &[]).await.expect("holds").get(0);
            if left == 0 {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(40), "the expired hold was not reclaimed\n{}", worker.log_tail(20));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let reserved: i64 = pg.query_one("select reserved_micro from budgets", &[]).await.expect("reserved").get(0);
        assert_eq!(reserved, 0, "the reclaimed ε is free again");
        let refund: i64 = pg
            .query_one("select count(*) from budget_receipts where kind = 'refund' and job_id = 'lost-job'", &[])
            .await
            .expect("refund")
            .get(0);
        assert_eq!(refund, 1, "a refund receipt records the reclaim");
        drop(worker);
    });
}
