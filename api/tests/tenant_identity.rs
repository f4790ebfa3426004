//! Tenant identity (issue 17), against the REAL RabbitMQ and PostgreSQL with the real
//! `zkq worker`: what the broker vouches for — the tenant queue a job was routed to — wins over
//! what a header claims.
//!
//! - A job in tenant `acme`'s queue whose `zkq-tenant` header names another registered tenant
//!   fails `tenant_mismatch` (the reason names both); its rows are `acme`'s, none is the other
//!   tenant's, and nothing is charged.
//! - A job whose `zkq-priority` disagrees with its queue's class fails `malformed_message`
//!   naming both values.
//! - A job id belongs to its tenant and content: another tenant publishing a known job id —
//!   proved or still queued — fails `job_id_conflict` and never receives the stored result;
//!   the same tenant with another witness likewise; the same job again gets its stored result.
//! - Integer headers in every AMQP integer encoding, and integral doubles (JavaScript
//!   clients), are read as the document says; a numeric string is refused.
//!
//! - Tenants authenticate (points 1 and 2): `zkq tenant add` creates a broker user whose
//!   credentials reach only the tenant's inbound exchange and its own reply queues — another
//!   tenant's exchange, the job exchange, the default exchange and other queues are refused by
//!   the broker, and a header naming another tenant fails `tenant_mismatch`; a rotated password
//!   locks out the old one; a removed tenant's credentials stop working and its queued jobs are
//!   failed with the reason. Every check reads PostgreSQL rows.
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
    publish_job(env, routing_key, job_id, headers, &witness_bytes(MULTI_PUBLIC), None).await;
}

/// Publishes one job with this witness, and `reply_to` when given (confirmed).
async fn publish_job(env: &Env, routing_key: &str, job_id: &str, headers: FieldTable, witness: &[u8], reply_to: Option<&str>) {
    let (conn, ch) = common::amqp_channel(env).await;
    ch.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm.select");
    let mut props = BasicProperties::default().with_message_id(job_id.into()).with_delivery_mode(2).with_headers(headers);
    if let Some(r) = reply_to {
        props = props.with_reply_to(r.into()).with_correlation_id(job_id.into());
    }
    let confirm = ch
        .basic_publish(
            env.amqp.jobs_exchange().as_str().into(),
            routing_key.into(),
            BasicPublishOptions { mandatory: true, ..Default::default() },
            witness,
            props,
        )
        .await
        .expect("publish");
    assert!(confirm.await.expect("confirm").is_ack(), "the broker takes {job_id}");
    let _ = conn.close(200, "bye".into()).await;
}

/// Headers of a good job of `tenant` (the fixture circuit).
fn headers(env: &Env, tenant: &str, priority: u8) -> FieldTable {
    protocol::job_headers(tenant, &format!("sha256:{}", env.circuit_id), "", priority, None, now_ms())
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

/// `zkq tenant <verb> <name> --format json`, parsed; panics on failure.
fn tenant_cli(env: &Env, verb: &str, name: &str) -> serde_json::Value {
    let o = env.zkq().args(["tenant", verb, name, "--format", "json"]).output().expect("run zkq tenant");
    assert!(o.status.success(), "zkq tenant {verb} {name}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("zkq tenant {verb} prints JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

async fn start_worker(env: &Env) -> Worker {
    let (admin, ch) = common::amqp_channel(env).await;
    topology::declare(&ch, &env.amqp).await.expect("declare the topology");
    let _ = admin.close(200, "bye".into()).await;
    tenant_cli(env, "add", OTHER_TENANT);
    spawn_worker(env).await
}

async fn spawn_worker(env: &Env) -> Worker {
    let worker = Worker::start(env, &env.name, &["--max-batch", "8", "--max-wait-ms", "50", "--metrics-addr", "off"]);
    common::wait_consuming_tenant(env, &worker, TENANT).await;
    common::wait_consuming_tenant(env, &worker, OTHER_TENANT).await;
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

/// A reply queue of the test's own: the replies received, by correlation id.
struct Replies {
    _conn: lapin::Connection,
    name: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Replies {
    async fn open(env: &Env) -> Replies {
        use futures_util::StreamExt;
        use lapin::options::{BasicConsumeOptions, QueueDeclareOptions};
        let (conn, ch) = common::amqp_channel(env).await;
        let q = ch
            .queue_declare("".into(), QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() }, FieldTable::default())
            .await
            .expect("reply queue");
        let mut consumer = ch
            .basic_consume(q.name().clone(), "".into(), BasicConsumeOptions { no_ack: true, ..Default::default() }, FieldTable::default())
            .await
            .expect("consume replies");
        let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>> = Default::default();
        let out = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                let id = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
                let v: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or(serde_json::Value::Null);
                out.lock().unwrap_or_else(|p| p.into_inner()).push((id, v));
            }
        });
        Replies { _conn: conn, name: q.name().as_str().to_owned(), seen }
    }

    /// The `n`-th reply (0-based) to `job_id`, waiting for it.
    async fn nth(&self, job_id: &str, n: usize, worker: &Worker) -> serde_json::Value {
        let t = Instant::now();
        loop {
            let got: Vec<serde_json::Value> =
                self.seen.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|(id, _)| id == job_id).map(|(_, v)| v.clone()).collect();
            if let Some(v) = got.get(n) {
                return v.clone();
            }
            assert!(t.elapsed() < WITHIN, "reply {n} to {job_id} not received\n{}", worker.log_tail(40));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[test]
fn a_known_job_id_from_another_tenant_or_with_other_content_never_gets_the_stored_result() {
    run_pipeline_test("identity-jobid", |env| async move {
        let worker = start_worker(&env).await;
        let replies = Replies::open(&env).await;
        let witness = witness_bytes(MULTI_PUBLIC);
        let own = AmqpConfig::tenant_routing_key(TENANT, 0);
        let other = AmqpConfig::tenant_routing_key(OTHER_TENANT, 0);
        let x = format!("{}-x", env.name);
        let y = format!("{}-y", env.name);

        // acme's job x is proved.
        publish_job(&env, &own, &x, headers(&env, TENANT, 0), &witness, Some(&replies.name)).await;
        let proved = replies.nth(&x, 0, &worker).await;
        assert_eq!(proved["status"], "proved", "{proved}");

        // globex publishes x into its own queue: a conflict, and none of acme's result.
        publish_job(&env, &other, &x, headers(&env, OTHER_TENANT, 0), &witness, Some(&replies.name)).await;
        let refused = replies.nth(&x, 1, &worker).await;
        assert_eq!((refused["status"].as_str(), refused["code"].as_str()), (Some("failed"), Some("job_id_conflict")), "{refused}");
        assert!(refused.get("proof").is_none() && refused["tenant"] == OTHER_TENANT, "no trace of acme's result: {refused}");

        // acme again, another witness (one value changed, same size): a conflict.
        let mut changed = witness.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        publish_job(&env, &own, &x, headers(&env, TENANT, 0), &changed, Some(&replies.name)).await;
        let changed_reply = replies.nth(&x, 2, &worker).await;
        assert_eq!(changed_reply["code"], "job_id_conflict", "{changed_reply}");

        // acme again, the same job: the stored result, unchanged.
        publish_job(&env, &own, &x, headers(&env, TENANT, 0), &witness, Some(&replies.name)).await;
        let again = replies.nth(&x, 3, &worker).await;
        assert_eq!(again["proof"], proved["proof"], "the stored result is re-sent");

        // y is queued for acme (recorded, not yet published); globex takes its id first.
        let mut queued = env.good_job(&y, &witness);
        queued.priority = 0;
        common::record_queued(&env, std::slice::from_ref(&queued)).await;
        publish_job(&env, &other, &y, headers(&env, OTHER_TENANT, 0), &witness, Some(&replies.name)).await;
        let taken = replies.nth(&y, 0, &worker).await;
        assert_eq!(taken["code"], "job_id_conflict", "{taken}");
        publish_job(&env, &own, &y, headers(&env, TENANT, 0), &witness, Some(&replies.name)).await;
        let own_y = replies.nth(&y, 1, &worker).await;
        assert_eq!(own_y["status"], "proved", "acme's queued job is still acme's: {own_y}");

        let pg = env.pg().await;
        let globex: i64 = pg.query_one("select count(*) from jobs where tenant = $1", &[&OTHER_TENANT]).await.expect("count").get(0);
        assert_eq!(globex, 0, "nothing recorded for {OTHER_TENANT}");
        let rows = pg
            .query("select r.job_id, j.tenant, r.status from job_results r join jobs j using (job_id) where r.job_id = any($1) order by 1", &[&vec![x.clone(), y.clone()]])
            .await
            .expect("rows");
        let rows: Vec<(String, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        assert_eq!(rows, [(x.clone(), TENANT.to_owned(), "proved".to_owned()), (y.clone(), TENANT.to_owned(), "proved".to_owned())]);
        let stored: serde_json::Value = pg.query_one("select result from job_results where job_id = $1", &[&x]).await.expect("row").get(0);
        assert_eq!(stored["proof"], proved["proof"], "x's stored result is still acme's first proof");
    });
}

/// A connection as a tenant, with its credentials' URL.
async fn connect_as(url: &str) -> Result<lapin::Connection, lapin::Error> {
    lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await
}

/// Publishes a job as the connection's user on a fresh channel; true only when the broker
/// confirms it (a refused publish closes the channel: false).
async fn publish_as(conn: &lapin::Connection, exchange: &str, routing_key: &str, job_id: &str, headers: FieldTable, user_id: Option<&str>) -> bool {
    let Ok(ch) = conn.create_channel().await else { return false };
    if ch.confirm_select(ConfirmSelectOptions::default()).await.is_err() {
        return false;
    }
    let mut props = BasicProperties::default().with_message_id(job_id.into()).with_delivery_mode(2).with_headers(headers);
    if let Some(u) = user_id {
        props = props.with_user_id(u.into());
    }
    let witness = witness_bytes(MULTI_PUBLIC);
    let published = ch.basic_publish(exchange.into(), routing_key.into(), BasicPublishOptions { mandatory: true, ..Default::default() }, &witness, props).await;
    let confirmed = match published {
        Ok(confirm) => match tokio::time::timeout(Duration::from_secs(10), confirm).await {
            Ok(Ok(c)) => c.is_ack() && c.take_message().is_none(),
            _ => false,
        },
        Err(_) => false,
    };
    let _ = ch.close(200, "bye".into()).await;
    confirmed
}

/// Rows recorded for a job id: (tenant, status, reason_code).
async fn job_rows(env: &Env, job_id: &str) -> Option<(String, Option<String>, Option<String>)> {
    let pg = env.pg().await;
    pg.query_opt("select j.tenant, r.status, r.reason_code from jobs j left join job_results r using (job_id) where j.job_id = $1", &[&job_id])
        .await
        .expect("query")
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

#[test]
fn a_tenants_credentials_reach_only_its_own_exchange_and_reply_queues() {
    run_pipeline_test("identity-broker", |env| async move {
        let worker = start_worker(&env).await;
        let creds = tenant_cli(&env, "rotate-credentials", OTHER_TENANT);
        let url = creds["amqp_url"].as_str().expect("amqp_url");
        assert_eq!(creds["amqp_user"], zkq_scheduler::identity::tenant_user(&env.amqp, OTHER_TENANT));
        let globex = connect_as(url).await.expect("globex connects with its own credentials");
        let acme_key = AmqpConfig::tenant_routing_key(TENANT, 0);
        let own_key = AmqpConfig::tenant_routing_key(OTHER_TENANT, 0);
        let n = |s: &str| format!("{}-{s}", env.name);

        // Refused by the broker: acme's inbound exchange, the operator's job exchange, the
        // default exchange straight into acme's queue, and a user_id that is not globex's.
        let refused = [
            ("acme-exchange", env.amqp.tenant_exchange(TENANT), acme_key.clone(), None),
            ("jobs-exchange", env.amqp.jobs_exchange(), acme_key.clone(), None),
            ("default-exchange", String::new(), env.amqp.tenant_queue(TENANT, 0), None),
            ("operator-user-id", env.amqp.tenant_exchange(OTHER_TENANT), own_key.clone(), Some("guest")),
        ];
        for (what, exchange, key, user_id) in &refused {
            let ok = publish_as(&globex, exchange, key, &n(what), headers(&env, TENANT, 0), *user_id).await;
            assert!(!ok, "{what}: the broker must refuse globex's publish");
        }
        // Through its own exchange, claiming to be acme: tenant_mismatch, recorded as globex's.
        assert!(publish_as(&globex, &env.amqp.tenant_exchange(OTHER_TENANT), &own_key, &n("claims-acme"), headers(&env, TENANT, 0), None).await);
        // Its own job, with its own user_id: proved.
        let own_user = creds["amqp_user"].as_str().expect("user");
        assert!(publish_as(&globex, &env.amqp.tenant_exchange(OTHER_TENANT), &own_key, &n("own"), headers(&env, OTHER_TENANT, 0), Some(own_user)).await);
        let got = results(&env, &worker, &[n("claims-acme"), n("own")]).await;
        assert_eq!(got[0].1.as_deref(), Some("tenant_mismatch"), "{:?}", got[0]);
        assert_eq!(got[1].0, "proved", "{:?}", got[1]);
        assert_eq!(job_rows(&env, &n("claims-acme")).await.map(|r| r.0), Some(OTHER_TENANT.to_owned()));
        assert_eq!(job_rows(&env, &n("own")).await.map(|r| r.0), Some(OTHER_TENANT.to_owned()));
        for (what, ..) in &refused {
            assert_eq!(job_rows(&env, &n(what)).await, None, "{what}: nothing recorded");
        }
        let acme_rows: i64 = env.pg().await.query_one("select count(*) from jobs where tenant = $1", &[&TENANT]).await.expect("count").get(0);
        assert_eq!(acme_rows, 0, "nothing was proved, billed or recorded as acme's");

        // zkq submit with globex's credentials: through its own exchange; acme's jobs refused.
        let dir = env.dir.join("one-witness");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("w.wtns"), witness_bytes(MULTI_PUBLIC)).expect("witness");
        let submit = |tenant: &str| {
            env.zkq()
                .env("ZKQ_AMQP_URL", url)
                .args(["submit", "--tenant", tenant, "--circuit", common::CIRCUIT, "--timeout-secs", "60"])
                .arg(&dir)
                .output()
                .expect("run zkq submit")
        };
        let o = submit(OTHER_TENANT);
        assert!(o.status.success(), "zkq submit as globex: {}", String::from_utf8_lossy(&o.stderr));
        let o = submit(TENANT);
        assert_eq!(o.status.code(), Some(2), "globex's credentials cannot submit acme's jobs: {}", String::from_utf8_lossy(&o.stderr));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("cannot submit that tenant's jobs") && !stderr.contains(creds["amqp_password"].as_str().unwrap_or("?")), "{stderr}");

        // globex cannot read acme's queue, but has reply queues of its own.
        let ch = globex.create_channel().await.expect("channel");
        let stolen = ch.basic_get(env.amqp.tenant_queue(TENANT, 0).as_str().into(), lapin::options::BasicGetOptions::default()).await;
        assert!(stolen.is_err(), "globex must not read acme's queue: {stolen:?}");
        // Nor acme's replies: another connection's exclusive reply queue (`amq.gen-…`, which
        // globex's permissions match by name) is locked to that connection.
        let acme_replies = Replies::open(&env).await;
        let ch = globex.create_channel().await.expect("channel");
        let peek = ch.basic_get(acme_replies.name.as_str().into(), lapin::options::BasicGetOptions::default()).await;
        assert!(peek.is_err(), "globex must not read another connection's reply queue: {peek:?}");
        let ch = globex.create_channel().await.expect("channel");
        let reply = ch
            .queue_declare("".into(), lapin::options::QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() }, FieldTable::default())
            .await;
        assert!(reply.is_ok(), "globex may declare its own reply queue: {reply:?}");
        let _ = globex.close(200, "bye".into()).await;
    });
}

#[test]
fn rotated_and_removed_credentials_stop_working_and_a_removed_tenants_jobs_are_failed() {
    run_pipeline_test("identity-revoke", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let _ = admin.close(200, "bye".into()).await;
        let first = tenant_cli(&env, "add", OTHER_TENANT);
        let old_url = first["amqp_url"].as_str().expect("a new tenant gets credentials").to_owned();
        assert!(first["amqp_password"].is_string());
        let again = tenant_cli(&env, "add", OTHER_TENANT);
        assert!(again["amqp_password"].is_null(), "adding again (a weight change) keeps the credentials: {again}");
        assert!(connect_as(&old_url).await.is_ok(), "the first password works");

        let rotated = tenant_cli(&env, "rotate-credentials", OTHER_TENANT);
        let new_url = rotated["amqp_url"].as_str().expect("amqp_url").to_owned();
        assert!(connect_as(&old_url).await.is_err(), "the old password is locked out");
        let globex = connect_as(&new_url).await.expect("the new password works");
        // A job published while no worker runs: it waits in globex's queue.
        let queued = format!("{}-queued", env.name);
        let own_key = AmqpConfig::tenant_routing_key(OTHER_TENANT, 0);
        assert!(publish_as(&globex, &env.amqp.tenant_exchange(OTHER_TENANT), &own_key, &queued, headers(&env, OTHER_TENANT, 0), None).await);
        let _ = globex.close(200, "bye".into()).await;

        let removed = tenant_cli(&env, "remove", OTHER_TENANT);
        assert!(removed["removed_at"].is_string(), "{removed}");
        assert!(connect_as(&new_url).await.is_err(), "a removed tenant's credentials stop working");

        // A worker fails the removed tenant's queued job, with the reason.
        let worker = spawn_worker(&env).await;
        let got = results(&env, &worker, std::slice::from_ref(&queued)).await;
        let (status, code, reason) = &got[0];
        assert_eq!((status.as_str(), code.as_deref()), ("failed", Some("unknown_tenant")), "{reason:?}");
        assert!(reason.as_deref().unwrap_or_default().contains("removed"), "{reason:?}");
    });
}
