//! Tenant identity (issue 17), against the REAL RabbitMQ and PostgreSQL with the real
//! `zkq worker`: what the broker vouches for — the tenant queue a job was routed to — wins over
//! what a header claims.
//!
//! - A job in tenant `acme`'s queue whose `zkq-tenant` header names another registered tenant
//!   fails `tenant_mismatch` (the reason names both); its rows are `acme`'s, none is the other
//!   tenant's, and nothing is charged.
//! - A job whose `zkq-priority` disagrees with its queue's class fails `malformed_message`
//!   naming both values.
//! - Integer headers in every AMQP integer encoding, and integral doubles (JavaScript
//!   clients), are read as the document says; a numeric string is refused.
//!
//! Bystander jobs of `acme` run beside them and complete once each. Needs `scripts/services.sh`;
//! see `common/mod.rs` for isolation and cleanup.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::now_ms;
use zkq_scheduler::protocol::{self, H_DEADLINE_MS, H_PRIORITY, H_TENANT};
use zkq_scheduler::{topology, AmqpConfig};

use common::{run_pipeline_test, witness_bytes, Bystanders, Env, Worker, TENANT};

/// Another registered tenant, named in hostile headers.
const OTHER_TENANT: &str = "globex";
/// How long everything may take.
const WITHIN: Duration = Duration::from_secs(120);

/// Publishes one raw job to `routing_key` with `headers` (confirmed).
async fn publish_raw(env: &Env, routing_key: &str, job_id: &str, headers: FieldTable) {
    let (conn, ch) = common::amqp_channel(env).await;
    ch.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm.select");
    let props = BasicProperties::default().with_message_id(job_id.into()).with_delivery_mode(2).with_headers(headers);
    let confirm = ch
        .basic_publish(
            env.amqp.jobs_exchange().as_str().into(),
            routing_key.into(),
            BasicPublishOptions { mandatory: true, ..Default::default() },
            &witness_bytes(MULTI_PUBLIC),
            props,
        )
        .await
        .expect("publish");
    assert!(confirm.await.expect("confirm").is_ack(), "the broker takes {job_id}");
    let _ = conn.close(200, "bye".into()).await;
}

/// Headers of a good job of `tenant` (the fixture circuit).
fn headers(env: &Env, tenant: &str, priority: u8) -> FieldTable {
    protocol::job_headers(tenant, &format!("sha256:{}", env.circuit_id), "test", priority, None, now_ms())
}

/// Waits for a result row of each job; returns (status, reason_code, reason) per job.
async fn results(env: &Env, worker: &Worker, ids: &[String]) -> Vec<(String, Option<String>, Option<String>)> {
    let pg = env.pg().await;
    let t = Instant::now();
    loop {
        let rows = pg
            .query("select job_id, status, reason_code, reason from job_results where job_id = any($1)", &[&ids])
            .await
            .expect("results");
        if rows.len() == ids.len() {
            return ids
                .iter()
                .map(|id| {
                    let r = rows.iter().find(|r| r.get::<_, String>(0) == *id).expect("a row per job");
                    (r.get(1), r.get(2), r.get(3))
                })
                .collect();
        }
        assert!(t.elapsed() < WITHIN, "{} of {} results after {WITHIN:?}\n{}", rows.len(), ids.len(), worker.log_tail(40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_worker(env: &Env) -> Worker {
    let (admin, ch) = common::amqp_channel(env).await;
    topology::declare(&ch, &env.amqp).await.expect("declare the topology");
    let _ = admin.close(200, "bye".into()).await;
    let o = env.zkq().args(["tenant", "add", OTHER_TENANT]).output().expect("run zkq tenant add");
    assert!(o.status.success(), "zkq tenant add: {}", String::from_utf8_lossy(&o.stderr));
    let worker = Worker::start(env, &env.name, &["--max-batch", "8", "--max-wait-ms", "50", "--metrics-addr", "off"]);
    common::wait_consuming_tenant(env, &worker, TENANT).await;
    worker
}

#[test]
fn a_header_naming_another_tenant_fails_tenant_mismatch_and_charges_nobody_else() {
    run_pipeline_test("identity-mismatch", |env| async move {
        let worker = start_worker(&env).await;
        let bystanders = Bystanders::submit(&env, 8).await;
        let spoofed = format!("{}-spoofed", env.name);
        let wrong_class = format!("{}-wrong-class", env.name);
        // Into acme's own queue, claiming to be globex.
        publish_raw(&env, &AmqpConfig::tenant_routing_key(TENANT, 0), &spoofed, headers(&env, OTHER_TENANT, 0)).await;
        // Into acme's priority-0 queue, claiming priority 5.
        publish_raw(&env, &AmqpConfig::tenant_routing_key(TENANT, 0), &wrong_class, headers(&env, TENANT, 5)).await;
        bystanders.assert_all_complete_once(&env, &worker, WITHIN).await;
        let got = results(&env, &worker, &[spoofed.clone(), wrong_class.clone()]).await;
        let (status, code, reason) = &got[0];
        assert_eq!((status.as_str(), code.as_deref()), ("failed", Some("tenant_mismatch")), "{reason:?}");
        let reason = reason.as_deref().unwrap_or_default();
        assert!(reason.contains(&format!("{OTHER_TENANT:?}")) && reason.contains(&format!("{TENANT:?}")), "names both tenants: {reason}");
        let (status, code, reason) = &got[1];
        assert_eq!((status.as_str(), code.as_deref()), ("failed", Some("malformed_message")), "{reason:?}");
        let reason = reason.as_deref().unwrap_or_default();
        assert!(reason.contains("is 5") && reason.contains("priority 0"), "names both classes: {reason}");

        let pg = env.pg().await;
        let tenant: String = pg.query_one("select tenant from jobs where job_id = $1", &[&spoofed]).await.expect("the job row").get(0);
        assert_eq!(tenant, TENANT, "the spoofed job is recorded as the tenant whose queue it came through");
        let other: i64 = pg.query_one("select count(*) from jobs where tenant = $1", &[&OTHER_TENANT]).await.expect("count").get(0);
        assert_eq!(other, 0, "nothing is recorded under {OTHER_TENANT}");
        let costs: i64 = pg
            .query_one("select count(*) from job_costs where job_id = any($1)", &[&vec![spoofed.clone(), wrong_class.clone()]])
            .await
            .expect("count")
            .get(0);
        assert_eq!(costs, 0, "refused jobs are charged to nobody");
    });
}

#[test]
fn integer_headers_are_read_in_every_encoding_and_numeric_strings_are_refused() {
    run_pipeline_test("identity-integers", |env| async move {
        let worker = start_worker(&env).await;
        let deadline = now_ms() + 600_000;
        // (job suffix, priority value, deadline value, expected outcome)
        let cases: Vec<(&str, AMQPValue, AMQPValue, &str)> = vec![
            ("u8", AMQPValue::ShortShortUInt(2), AMQPValue::LongLongInt(deadline), "proved"),
            ("i16", AMQPValue::ShortInt(2), AMQPValue::LongLongInt(deadline), "proved"),
            ("u32", AMQPValue::LongUInt(2), AMQPValue::LongLongInt(deadline), "proved"),
            ("double", AMQPValue::Double(2.0), AMQPValue::Double(deadline as f64), "proved"),
            ("string", AMQPValue::LongString("2".into()), AMQPValue::LongLongInt(deadline), "malformed_message"),
            ("fraction", AMQPValue::Double(2.5), AMQPValue::LongLongInt(deadline), "malformed_message"),
        ];
        let mut ids = Vec::new();
        for (suffix, priority, dl, _) in &cases {
            let id = format!("{}-{suffix}", env.name);
            let mut h = headers(&env, TENANT, 2);
            h.insert(H_PRIORITY.into(), priority.clone());
            h.insert(H_DEADLINE_MS.into(), dl.clone());
            h.insert(H_TENANT.into(), AMQPValue::LongString(TENANT.into()));
            publish_raw(&env, &AmqpConfig::tenant_routing_key(TENANT, 2), &id, h).await;
            ids.push(id);
        }
        let got = results(&env, &worker, &ids).await;
        for ((suffix, _, _, want), (status, code, reason)) in cases.iter().zip(&got) {
            let outcome = if status == "proved" { "proved" } else { code.as_deref().unwrap_or("?") };
            assert_eq!(outcome, *want, "{suffix}: {reason:?}");
            if *want == "malformed_message" {
                assert!(reason.as_deref().unwrap_or_default().contains(H_PRIORITY), "{suffix}: names the header: {reason:?}");
            }
        }
        let pg = env.pg().await;
        let row = pg.query_one("select priority, deadline_at is not null from jobs where job_id = $1", &[&ids[3]]).await.expect("row");
        let (priority, has_deadline): (i16, bool) = (row.get(0), row.get(1));
        assert_eq!((priority, has_deadline), (2, true), "the doubles were read as integers");
    });
}
