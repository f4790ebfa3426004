//! The job pipeline end to end against the REAL RabbitMQ and PostgreSQL (no mocks), with the
//! real `zkq worker` as subprocess(es): bad input fails alone with its reason (reply,
//! dead-letter queue, one `failed` row, witness never stored); kill -9, broker restarts and
//! database restarts mid-run lose nothing and duplicate nothing; SIGTERM drains in-flight and
//! partially filled batches.
//!
//! Needs `scripts/services.sh` (RabbitMQ 127.0.0.1:5672 guest/guest, PostgreSQL 127.0.0.1:5432
//! with role zkq and database zkq_test) and root for `rabbitmqctl stop_app`/`start_app` and
//! `pg_ctlcluster … stop`/`start`. Tests are serialised (a restart disturbs every test); see
//! `common/mod.rs` for isolation and cleanup.
//!
//! Not tested here: a batch member that makes the *batch* prove fail while the others succeed
//! (the device then retries the batch as singletons). No honest input triggers it: the device
//! parses and shape-checks every witness before the batch prove (bad ones fail alone there),
//! an unsatisfying witness proves fine and fails at verification, and `Prover::prove_batch`
//! has no other per-witness failure; only a kernel or OS-randomness failure reaches that path.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use zkq_engine::encoding::{field_to_canonical_le, field_to_decimal};
use zkq_engine::fixtures::{MULTI_PUBLIC, POSEIDON_MERKLE};
use zkq_engine::json::{proof_from_json, public_from_json, read_public, read_verifying_key};
use zkq_engine::Witness;
use zkq_scheduler::client::{now_ms, OutgoingJob, Submitter};
use zkq_scheduler::model::Outcome;
use zkq_scheduler::protocol::{self, JobResult, ReasonCode, H_CIRCUIT, H_DEADLINE_MS, H_FAILURE_CODE, H_FAILURE_REASON, H_PROTOCOL, H_TENANT};
use zkq_scheduler::topology;

use common::{
    collect_replies, drain_queue, header_string, log_tail, publish_confirmed, ready_jobs, ready_messages, record_queued, run_pipeline_test, witness_bytes, Db,
    Env, Rng, ServiceOutage, Worker, TENANT,
};

/// Jobs in each reliability test.
const BULK: usize = 1000;
/// Worker flags of the reliability tests: batches of 16 (prefetch 64 per queue).
const BULK_ARGS: [&str; 4] = ["--max-batch", "16", "--max-wait-ms", "50"];
/// A wait for results fails when no new result has appeared for this long.
const STALL: Duration = Duration::from_secs(60);
/// How long a stopped service stays down.
const OUTAGE: Duration = Duration::from_secs(3);

/// Waits until the job queue has `n` consumers (a worker has connected and consumes).
async fn wait_consumers(env: &Env, n: u32, within: Duration, worker: &Worker) {
    let (conn, ch) = common::amqp_channel(env).await;
    topology::declare(&ch, &env.amqp).await.expect("declare the topology");
    let _ = conn.close(200, "bye".into()).await;
    let t = Instant::now();
    loop {
        let (_, consumers) = common::queue_counts(env, &env.amqp.jobs_queue()).await;
        if consumers >= n {
            return;
        }
        assert!(t.elapsed() < within, "{consumers} consumers on the job queue after {within:?}, waiting for {n}\n{}", worker.log_tail(20));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the worker consumes each of the test tenant's queues of these priority classes:
/// publishing into a quorum queue while another connection is still creating it can be refused
/// (nacked) by RabbitMQ 3.10 under load — seen in a CI run, 40 of 64 jobs nacked.
async fn wait_tenant_consumers(env: &Env, classes: &[u8], within: Duration, worker: &Worker) {
    let t = Instant::now();
    for &k in classes {
        let queue = env.amqp.tenant_queue(TENANT, k);
        while common::try_queue_counts(env, &queue).await.is_none_or(|(_, consumers)| consumers == 0) {
            assert!(t.elapsed() < within, "nobody consumes {queue} after {within:?}\n{}", worker.log_tail(20));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Polls the results table until it holds at least `target` rows. Panics, with the counts,
/// the queues and the worker's log, when no new row has appeared for `stall` (a hang, not a
/// slow shared machine) or after 10 minutes in all.
async fn wait_results(db: &mut Db, target: i64, stall: Duration, worker: &mut Worker, env: &Env, what: &str) -> i64 {
    let t = Instant::now();
    let mut progress_at = Instant::now();
    let (mut first, mut last) = (None, None);
    loop {
        if let Some(n) = db.results().await {
            if n >= target {
                return n;
            }
            first = first.or(Some(n));
            if last != Some(n) {
                last = Some(n);
                progress_at = Instant::now();
            }
        }
        if progress_at.elapsed() > stall || t.elapsed() > Duration::from_secs(600) {
            let jobs = (common::try_queue_counts(env, &env.amqp.jobs_queue()).await, common::try_queue_counts(env, &env.amqp.tenant_queue(common::TENANT, 0)).await);
            let dead = common::try_queue_counts(env, &env.amqp.dead_letter_queue()).await;
            panic!(
                "{what}: waiting for {target} result rows: {last:?} now, {first:?} {:.0} s ago, none new for {:.0} s; \
                 job queues (shared, tenant) (ready, consumers) {jobs:?}, dead letters {dead:?}; worker running: {}\n{}",
                t.elapsed().as_secs_f64(),
                progress_at.elapsed().as_secs_f64(),
                worker.is_running(),
                worker.log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Jobs published and confirmed before a reliability run, with their replies collected in
/// the background.
struct Bulk {
    ids: Vec<String>,
    confirmed: HashSet<String>,
    replies: std::sync::Arc<std::sync::Mutex<HashMap<String, u32>>>,
}

impl Bulk {
    /// Records `n` good jobs as queued (as `zkq submit` does), publishes them with confirms,
    /// and starts collecting their replies.
    async fn submit(env: &Env, n: usize) -> Bulk {
        Bulk::publish(env, Bulk::prepare(env, n).await).await
    }

    /// Records `n` good jobs as queued (this needs the database).
    async fn prepare(env: &Env, n: usize) -> Vec<OutgoingJob> {
        let witness = witness_bytes(MULTI_PUBLIC);
        let jobs: Vec<OutgoingJob> = (0..n).map(|i| env.good_job(&format!("{}-{i:05}", env.name), &witness)).collect();
        record_queued(env, &jobs).await;
        jobs
    }

    /// Publishes prepared jobs with confirms (only the broker is needed) and starts collecting
    /// their replies.
    async fn publish(env: &Env, jobs: Vec<OutgoingJob>) -> Bulk {
        let n = jobs.len();
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter connects");
        let t = Instant::now();
        let confirmed = publish_confirmed(&submitter, &jobs).await;
        eprintln!("{}: {} jobs published and confirmed in {:.2} s", env.name, confirmed.len(), t.elapsed().as_secs_f64());
        assert_eq!(confirmed.len(), n, "every job is confirmed by the broker");
        let (_task, replies) = collect_replies(submitter);
        Bulk { ids: jobs.into_iter().map(|j| j.job_id).collect(), confirmed, replies }
    }

    /// Publishes `n` more good jobs (confirmed; their replies are not collected).
    async fn submit_more(&mut self, env: &Env, n: usize) {
        let witness = witness_bytes(MULTI_PUBLIC);
        let jobs: Vec<OutgoingJob> = (self.ids.len()..self.ids.len() + n).map(|i| env.good_job(&format!("{}-{i:05}", env.name), &witness)).collect();
        record_queued(env, &jobs).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter connects");
        let confirmed = publish_confirmed(&submitter, &jobs).await;
        assert_eq!(confirmed.len(), n, "every job is confirmed by the broker");
        self.confirmed.extend(confirmed);
        self.ids.extend(jobs.into_iter().map(|j| j.job_id));
    }

    fn replies(&self) -> HashMap<String, u32> {
        self.replies.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until every confirmed job has had at least one reply; returns (replies, unique).
    async fn wait_replies(&self, within: Duration) -> (u32, usize) {
        let t = Instant::now();
        loop {
            let r = self.replies();
            let missing: Vec<&String> = self.confirmed.iter().filter(|id| !r.contains_key(*id)).collect();
            if missing.is_empty() {
                return (r.values().sum(), r.len());
            }
            assert!(
                t.elapsed() < within,
                "{} of {} confirmed jobs got no reply within {within:?}, e.g. {:?}",
                missing.len(),
                self.confirmed.len(),
                &missing[..missing.len().min(3)]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The exactly-once claims, after the last worker has stopped: every confirmed job has exactly
/// one result row (proved, with its cost), there is no row for a job nobody submitted, no job
/// is still queued, and both queues are empty (nothing left unacked or dead-lettered).
async fn assert_exactly_once(env: &Env, bulk: &Bulk) {
    let pg = env.pg().await;
    let row = pg.query_one("select count(*), count(distinct job_id) from job_results", &[]).await.expect("count results");
    let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(rows, distinct, "duplicate result rows");
    let unknown: Vec<String> = pg
        .query("select job_id from job_results where not (job_id = any($1)) order by job_id limit 5", &[&bulk.ids])
        .await
        .expect("unknown rows")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(unknown.is_empty(), "result rows for job ids nobody submitted: {unknown:?}");
    let confirmed: Vec<String> = bulk.confirmed.iter().cloned().collect();
    let missing = env.store().await.missing_results(&confirmed).await.expect("missing_results");
    assert!(missing.is_empty(), "{} confirmed jobs lost (no result row), e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
    assert_eq!(rows, bulk.confirmed.len() as i64, "exactly one result row per confirmed job");
    let count = |sql: &'static str| {
        let pg = &pg;
        async move { pg.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get::<_, i64>(0) }
    };
    assert_eq!(count("select count(*) from job_results where status <> 'proved'").await, 0, "every job proved");
    assert_eq!(count("select count(*) from job_costs").await, rows, "one cost row per result");
    assert_eq!(count("select count(*) from jobs where state = 'queued'").await, 0, "no job left queued");
    assert_eq!(count("select count(*) from jobs where state <> 'proved'").await, 0, "every job's state is proved");
    assert_eq!(ready_jobs(env).await, 0, "the job queues are empty at the end");
    assert_eq!(ready_messages(env, &env.amqp.dead_letter_queue()).await, 0, "no job was dead-lettered");
}

// ------------------------------------------------------------------------------- bad input

/// One message of the bad-input batch.
struct Case {
    /// correlation_id (and the key of everything checked).
    name: String,
    /// message_id (the job id), if any.
    job_id: Option<String>,
    headers: FieldTable,
    body: Vec<u8>,
    /// `None`: proved.
    expect: Option<ReasonCode>,
}

fn headers(tenant: &str, circuit: &str) -> FieldTable {
    protocol::job_headers(tenant, circuit, "", 0, None, now_ms())
}

fn field_hexes(v: &ark_bn254::Fr) -> [String; 2] {
    let le = field_to_canonical_le(v);
    let mut be = le;
    be.reverse();
    [hex::encode(le), hex::encode(be)]
}

#[test]
fn bad_input_fails_alone_with_reason_in_reply_and_dead_letter_queue() {
    run_pipeline_test("badinput", |env| async move {
        let good = witness_bytes(MULTI_PUBLIC);
        let circuit = format!("sha256:{}", env.circuit_id);
        let witness = Witness::parse("fixture", &good).expect("fixture witness parses");
        let fixture_public: Vec<String> = read_public(&MULTI_PUBLIC.public_json()).expect("public.json").iter().map(field_to_decimal).collect();

        // An unsatisfying witness: its last (private) value plus one.
        let mut unsat = witness.clone();
        let last = unsat.values.len() - 1;
        unsat.values[last] += ark_bn254::Fr::from(1u64);
        let unsat_bytes = unsat.to_wtns_bytes();
        // A witness with a corrupted prime (a byte inside section 1's prime).
        let mut bad_prime = good.clone();
        bad_prime[28] ^= 0x01;
        const MARKER: &str = "ZKQ-PRIVATE-MARKER";
        let garbage = format!("{:0>64}{MARKER}-garbage-not-a-wtns", "").into_bytes();
        let mut oversize = Vec::with_capacity((1 << 20) + 4096);
        while oversize.len() < (1 << 20) + 4096 {
            oversize.extend_from_slice(format!("{MARKER}-oversize-").as_bytes());
        }

        let mut no_tenant = FieldTable::default();
        for (k, v) in headers(TENANT, &circuit).inner().iter().filter(|(k, _)| k.as_str() != H_TENANT) {
            no_tenant.insert(k.clone(), v.clone());
        }
        let mut v2 = headers(TENANT, &circuit);
        v2.insert(H_PROTOCOL.into(), AMQPValue::LongLongInt(2));
        let mut expired = headers(TENANT, &circuit);
        expired.insert(H_DEADLINE_MS.into(), AMQPValue::LongLongInt(now_ms() - 60_000));
        let mut unknown_circuit = headers(TENANT, &circuit);
        unknown_circuit.insert(H_CIRCUIT.into(), AMQPValue::LongString("nope@1".into()));

        let id = |s: &str| Some(format!("{}-{s}", env.name));
        let case = |name: &str, job_id: Option<String>, headers: FieldTable, body: &[u8], expect: Option<ReasonCode>| Case {
            name: name.to_owned(),
            job_id,
            headers,
            body: body.to_vec(),
            expect,
        };
        let mut cases: Vec<Case> = (0..8).map(|i| case(&format!("good-{i}"), id(&format!("good-{i}")), headers(TENANT, &circuit), &good, None)).collect();
        cases.extend([
            case("no-tenant", id("no-tenant"), no_tenant, &good, Some(ReasonCode::MalformedMessage)),
            case("no-message-id", None, headers(TENANT, &circuit), &good, Some(ReasonCode::MalformedMessage)),
            case("invalid-message-id", Some("has spaces/and slashes".into()), headers(TENANT, &circuit), &good, Some(ReasonCode::MalformedMessage)),
            case("protocol-2", id("protocol-2"), v2, &good, Some(ReasonCode::UnsupportedProtocol)),
            case("unknown-circuit", id("unknown-circuit"), unknown_circuit, &good, Some(ReasonCode::UnknownCircuit)),
            case("unknown-tenant", id("unknown-tenant"), headers("nobody", &circuit), &good, Some(ReasonCode::UnknownTenant)),
            case("wrong-size", id("wrong-size"), headers(TENANT, &circuit), &witness_bytes(POSEIDON_MERKLE), Some(ReasonCode::BadWitness)),
            case("bad-prime", id("bad-prime"), headers(TENANT, &circuit), &bad_prime, Some(ReasonCode::BadWitness)),
            case("garbage", id("garbage"), headers(TENANT, &circuit), &garbage, Some(ReasonCode::BadWitness)),
            case("unsatisfied", id("unsatisfied"), headers(TENANT, &circuit), &unsat_bytes, Some(ReasonCode::Unsatisfied)),
            case("oversize", id("oversize"), headers(TENANT, &circuit), &oversize, Some(ReasonCode::Oversize)),
            case("expired", id("expired"), expired, &good, Some(ReasonCode::DeadlineExceeded)),
        ]);

        // Publish everything before the worker starts, so that it all lands in one batch window.
        let (conn, ch) = common::amqp_channel(&env).await;
        ch.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm.select");
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let reply_q = ch
            .queue_declare("".into(), QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() }, FieldTable::default())
            .await
            .expect("reply queue");
        let mut replies_in = ch
            .basic_consume(reply_q.name().clone(), "".into(), BasicConsumeOptions { no_ack: true, ..Default::default() }, FieldTable::default())
            .await
            .expect("consume replies");
        for c in &cases {
            let mut props = BasicProperties::default()
                .with_correlation_id(c.name.as_str().into())
                .with_reply_to(reply_q.name().clone())
                .with_delivery_mode(2)
                .with_headers(c.headers.clone());
            if let Some(id) = &c.job_id {
                props = props.with_message_id(id.as_str().into());
            }
            let confirm = ch
                .basic_publish(env.amqp.jobs_exchange().as_str().into(), env.amqp.jobs_routing_key().as_str().into(), BasicPublishOptions { mandatory: true, ..Default::default() }, &c.body, props)
                .await
                .expect("publish");
            assert!(confirm.await.expect("confirm").is_ack(), "{}: the broker refused it", c.name);
        }

        let mut worker = Worker::start(&env, "badinput", &["--max-batch", "32", "--max-wait-ms", "1000", "--max-message-mib", "1"]);
        let mut replies: BTreeMap<String, Vec<JobResult>> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while replies.len() < cases.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let d = match tokio::time::timeout(left, replies_in.next()).await {
                Ok(Some(Ok(d))) => d,
                other => panic!(
                    "replies for {:?} of {} cases, then {}\n{}",
                    replies.keys().collect::<Vec<_>>(),
                    cases.len(),
                    if other.is_err() { "timed out".to_owned() } else { format!("{other:?}") },
                    worker.log_tail(40)
                ),
            };
            let corr = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
            let r: JobResult = serde_json::from_slice(&d.data).unwrap_or_else(|e| panic!("reply for {corr} is not a JobResult: {e}"));
            replies.entry(corr).or_default().push(r);
        }
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "worker exit: {status}\n{}", worker.log_tail(30));
        // Anything still in flight would show up as an extra reply now.
        while let Ok(Some(Ok(d))) = tokio::time::timeout(Duration::from_millis(300), replies_in.next()).await {
            let corr = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
            replies.entry(corr).or_default().push(serde_json::from_slice(&d.data).expect("JobResult"));
        }
        let _ = conn.close(200, "bye".into()).await;

        // Replies: exactly one per message, proofs that verify, failures with their code.
        let vk = read_verifying_key(&MULTI_PUBLIC.vk_json()).expect("verification key");
        for c in &cases {
            let got = replies.get(&c.name).map(Vec::as_slice).unwrap_or(&[]);
            assert_eq!(got.len(), 1, "{}: expected exactly one reply, got {got:?}", c.name);
            let r = &got[0];
            let expected_id = c.job_id.clone().filter(|id| protocol::valid_job_id(id)).unwrap_or_default();
            assert_eq!(r.job_id, expected_id, "{}: job id in the reply", c.name);
            match (&r.outcome, c.expect) {
                (Outcome::Proved { proof, public_signals }, None) => {
                    let proof = proof_from_json("reply", proof).expect("proof JSON");
                    let public = public_from_json("reply", public_signals).expect("public signals JSON");
                    assert_eq!(public.iter().map(field_to_decimal).collect::<Vec<_>>(), fixture_public, "{}: public signals", c.name);
                    assert!(zkq_engine::verify(&vk, &public, &proof).expect("verify runs"), "{}: the proof does not verify", c.name);
                    assert!(r.batch_size >= 9, "{}: proved in a batch of {} (expected the 8 good jobs and the unsatisfied one together)", c.name, r.batch_size);
                }
                (Outcome::Failed { code, reason }, Some(expected)) => {
                    assert_eq!(*code, expected, "{}: failure code (reason: {reason})", c.name);
                    assert!(!reason.trim().is_empty(), "{}: empty reason", c.name);
                }
                (outcome, expected) => panic!("{}: expected {expected:?}, got {outcome:?}", c.name),
            }
        }

        // Dead-letter queue: every bad message, none of the good ones, with code and reason.
        let dead = drain_queue(&env, &env.amqp.dead_letter_queue()).await;
        let mut dead_by_name: BTreeMap<String, (Option<String>, Option<String>, usize)> = BTreeMap::new();
        for d in &dead {
            let corr = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
            let previous = dead_by_name.insert(corr.clone(), (header_string(d, H_FAILURE_CODE), header_string(d, H_FAILURE_REASON), d.data.len()));
            assert!(previous.is_none(), "{corr} dead-lettered twice");
        }
        let bad: Vec<&Case> = cases.iter().filter(|c| c.expect.is_some()).collect();
        assert_eq!(
            dead_by_name.keys().cloned().collect::<HashSet<_>>(),
            bad.iter().map(|c| c.name.clone()).collect::<HashSet<_>>(),
            "the dead-letter queue holds exactly the bad messages"
        );
        for c in &bad {
            let (code, reason, len) = &dead_by_name[&c.name];
            assert_eq!(code.as_deref(), c.expect.map(ReasonCode::as_str), "{}: {H_FAILURE_CODE}", c.name);
            assert!(reason.as_deref().is_some_and(|r| !r.trim().is_empty()), "{}: {H_FAILURE_REASON} missing", c.name);
            assert!(*len < 4096, "{}: the dead letter carries a small JSON body, not the witness ({len} bytes)", c.name);
        }

        // PostgreSQL: one row per message with a valid job id, `failed` with its code for bad ones.
        let pg = env.pg().await;
        let rows = pg.query("select job_id, status, reason_code, batch_id from job_results", &[]).await.expect("results");
        let mut by_id: HashMap<String, (String, Option<String>, Option<uuid::Uuid>)> = HashMap::new();
        for r in &rows {
            assert!(by_id.insert(r.get(0), (r.get(1), r.get(2), r.get(3))).is_none(), "duplicate row");
        }
        let with_row: Vec<&Case> = cases.iter().filter(|c| c.job_id.as_deref().is_some_and(protocol::valid_job_id)).collect();
        assert_eq!(rows.len(), with_row.len(), "one result row per message with a valid job id, no others: {by_id:?}");
        for c in &with_row {
            let id = c.job_id.as_deref().unwrap_or_default();
            let (status, code, _) = by_id.get(id).unwrap_or_else(|| panic!("{}: no result row", c.name));
            match c.expect {
                None => assert_eq!((status.as_str(), code.as_deref()), ("proved", None), "{}", c.name),
                Some(e) => assert_eq!((status.as_str(), code.as_deref()), ("failed", Some(e.as_str())), "{}", c.name),
            }
        }
        // The unsatisfying witness was proved in the same batch as the good jobs, and failed alone.
        let batch_of = |name: &str| by_id[&format!("{}-{name}", env.name)].2;
        let batch = batch_of("good-0").expect("good jobs have a batch");
        for c in cases.iter().filter(|c| c.expect.is_none()).map(|c| c.name.as_str()).chain(["unsatisfied"]) {
            assert_eq!(batch_of(c), Some(batch), "{c}: not in the good jobs' batch");
        }

        // Witnesses are never stored: no table holds a private value (decimal or hex), the
        // altered value of the unsatisfying witness, or the bytes of the garbage/oversize bodies.
        let private = witness.values[1 + 7..]
            .iter()
            .map(field_to_decimal)
            .filter(|d| !fixture_public.contains(d))
            .max_by_key(String::len)
            .expect("the fixture has private values");
        assert!(private.len() >= 18, "no distinctive private value in the fixture: {private}");
        let private_fr = witness.values.iter().find(|v| field_to_decimal(&**v) == private).expect("value");
        let mut needles = vec![private.clone(), field_to_decimal(&unsat.values[last]), MARKER.to_lowercase(), "987654321987654321".to_owned()];
        needles.extend(field_hexes(private_fr));
        needles.extend(field_hexes(&unsat.values[last]));
        let tables: Vec<String> = pg
            .query("select table_name::text from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'", &[&env.schema])
            .await
            .expect("tables")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(tables.iter().any(|t| t == "job_results") && tables.iter().any(|t| t == "jobs"), "tables: {tables:?}");
        // Positive control: the search does find what is stored (a public signal, in the results).
        let control: i64 = pg
            .query_one("select count(*) from job_results x where strpos(lower(x::text), $1) > 0", &[&fixture_public[0]])
            .await
            .expect("search")
            .get(0);
        assert_eq!(control, 8, "the search finds the public signal {} in the 8 proved results", fixture_public[0]);
        for t in &tables {
            for n in &needles {
                let hits: i64 = pg
                    .query_one(&format!("select count(*) from \"{t}\" x where strpos(lower(x::text), $1) > 0"), &[&n.to_lowercase()])
                    .await
                    .expect("search")
                    .get(0);
                assert_eq!(hits, 0, "table {t} holds witness data ({n})");
            }
        }
        let log = std::fs::read_to_string(&worker.log).expect("worker log");
        for n in &needles {
            assert!(!log.to_lowercase().contains(&n.to_lowercase()), "the worker logged witness data ({n})\n{}", log_tail(&worker.log, 40));
        }
    });
}

// ------------------------------------------------------------------------------ reliability

#[test]
fn kill_9_twice_mid_run_loses_nothing_and_duplicates_nothing() {
    run_pipeline_test("kill9", |env| async move {
        let mut rng = Rng::from_env("kill9");
        let bulk = Bulk::submit(&env, BULK).await;
        let kill_at = [rng.range(BULK as u64 / 10, BULK as u64 * 6 / 10), rng.range(BULK as u64 * 6 / 10, BULK as u64 * 9 / 10)];
        let mut db = Db::new(&env);
        let t = Instant::now();
        let mut worker = Worker::start(&env, "kill9-0", &BULK_ARGS);
        for (i, at) in kill_at.iter().enumerate() {
            let n = wait_results(&mut db, *at as i64, STALL, &mut worker, &env, "before kill -9").await;
            assert!(worker.is_running(), "the worker died on its own\n{}", worker.log_tail(30));
            worker.kill9();
            let after = db.results().await.unwrap_or(-1);
            eprintln!("kill9: kill -9 #{} at {n} result rows (target {at}); {after} just after", i + 1);
            worker = Worker::start(&env, &format!("kill9-{}", i + 1), &BULK_ARGS);
        }
        wait_results(&mut db, BULK as i64, STALL, &mut worker, &env, "after two kill -9").await;
        let run = t.elapsed();
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "last worker's exit: {status}\n{}", worker.log_tail(30));
        let last = worker.stopped_line().unwrap_or_else(|| panic!("no stopped line\n{}", worker.log_tail(10)));
        assert_exactly_once(&env, &bulk).await;
        let (replies, unique) = bulk.wait_replies(Duration::from_secs(30)).await;
        eprintln!(
            "kill9: {BULK} jobs in {:.1} s; last worker {last:?}; {replies} replies for {unique} jobs ({} duplicates from redelivery)",
            run.as_secs_f64(),
            replies as usize - unique
        );
    });
}

#[test]
fn broker_restart_mid_run() {
    run_pipeline_test("broker", |env| async move {
        let mut rng = Rng::from_env("broker");
        let bulk = Bulk::submit(&env, BULK).await;
        let mut db = Db::new(&env);
        let mut worker = Worker::start(&env, "broker", &BULK_ARGS);
        let pid = worker.pid();
        let at = rng.range(BULK as u64 / 10, BULK as u64 * 6 / 10) as i64;
        let n = wait_results(&mut db, at, STALL, &mut worker, &env, "before the broker restart").await;
        let outage = tokio::task::block_in_place(ServiceOutage::stop_broker);
        let stopped_at = db.results().await.unwrap_or(-1);
        tokio::time::sleep(OUTAGE).await;
        let during = db.results().await.unwrap_or(-1);
        tokio::task::block_in_place(|| outage.restore());
        eprintln!("broker: stop_app at {n} rows ({stopped_at} after the stop, {during} 3 s later), start_app done");
        assert!(worker.is_running(), "the worker exited while the broker was down\n{}", worker.log_tail(30));
        wait_results(&mut db, BULK as i64, STALL, &mut worker, &env, "after the broker restart").await;
        assert!(worker.is_running(), "the worker exited after the broker restart\n{}", worker.log_tail(30));
        assert_eq!(worker.pid(), pid, "the same worker process");
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "worker exit: {status}\n{}", worker.log_tail(30));
        let line = worker.stopped_line().unwrap_or_else(|| panic!("no stopped line\n{}", worker.log_tail(10)));
        assert!(line.sessions >= 2, "the worker reconnected (broker sessions: {line:?})\n{}", worker.log_tail(30));
        eprintln!("broker: worker {line:?}");
        assert_exactly_once(&env, &bulk).await;
    });
}

/// PostgreSQL goes away twice: first while the worker is idle and jobs arrive (its admission
/// look-ups fail), then mid-run at a random point (its batch commits fail).
#[test]
fn postgres_restart_mid_run() {
    run_pipeline_test("postgres", |env| async move {
        let mut rng = Rng::from_env("postgres");
        let jobs = Bulk::prepare(&env, BULK).await;
        let mut db = Db::new(&env);
        let mut worker = Worker::start(&env, "postgres", &BULK_ARGS);
        let pid = worker.pid();
        wait_consumers(&env, 1, Duration::from_secs(30), &worker).await;
        wait_tenant_consumers(&env, &[0], Duration::from_secs(30), &worker).await;

        // 1. The database stops while the worker is idle; then the jobs arrive.
        let outage = tokio::task::block_in_place(ServiceOutage::stop_postgres);
        let bulk = Bulk::publish(&env, jobs).await;
        tokio::time::sleep(OUTAGE).await;
        tokio::task::block_in_place(|| outage.restore());
        assert!(worker.is_running(), "the worker exited while PostgreSQL was down\n{}", worker.log_tail(30));
        let after = db.results().await.unwrap_or(-1);
        eprintln!("postgres: down {OUTAGE:?} while {BULK} jobs arrived at an idle worker; {after} rows just after the start");

        // 2. It stops again mid-run, while batches are being committed.
        let at = rng.range(BULK as u64 / 10, BULK as u64 * 6 / 10) as i64;
        let n = wait_results(&mut db, at, STALL, &mut worker, &env, "before the PostgreSQL restart").await;
        let outage = tokio::task::block_in_place(ServiceOutage::stop_postgres);
        tokio::time::sleep(OUTAGE).await;
        tokio::task::block_in_place(|| outage.restore());
        let after = db.results().await.unwrap_or(-1);
        eprintln!("postgres: stop requested at {n} rows, down {OUTAGE:?}; {after} rows just after the start");
        assert!(worker.is_running(), "the worker exited while PostgreSQL was down\n{}", worker.log_tail(30));

        wait_results(&mut db, BULK as i64, STALL, &mut worker, &env, "after the PostgreSQL restarts").await;
        assert!(worker.is_running(), "the worker exited after the PostgreSQL restart\n{}", worker.log_tail(30));
        assert_eq!(worker.pid(), pid, "the same worker process");
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "worker exit: {status}\n{}", worker.log_tail(30));
        let line = worker.stopped_line().unwrap_or_else(|| panic!("no stopped line\n{}", worker.log_tail(10)));
        eprintln!("postgres: worker {line:?}");
        assert_eq!(line.sessions, 1, "the worker kept its broker session (and its unacked deliveries) while PostgreSQL was down\n{}", worker.log_tail(40));
        assert_exactly_once(&env, &bulk).await;
        let (replies, unique) = bulk.wait_replies(Duration::from_secs(30)).await;
        eprintln!("postgres: {replies} replies for {unique} jobs");
    });
}

/// SIGTERM drains: in-flight batches are committed and acked; during a database outage the
/// drain waits for the database (without spinning); a partially filled batch is proved at once
/// instead of waiting out its max wait.
#[test]
fn sigterm_drains_in_flight_batches() {
    run_pipeline_test("sigterm", |env| async move {
        const TOTAL: usize = 300;
        // Batches wait up to 20 s to fill: a partially filled batch is only proved early if
        // shutdown drains it.
        let args = ["--max-batch", "16", "--max-wait-ms", "20000"];
        let mut bulk = Bulk::submit(&env, TOTAL).await;
        let mut db = Db::new(&env);
        let mut proved_by_workers = 0;

        // After a worker exits: every delivery it held was committed and acked, or returned to
        // the queue unacked; none was acked without its result or committed without its ack.
        async fn after_exit(env: &Env, db: &mut Db, worker: &Worker, total: i64) -> (i64, common::StoppedLine) {
            let done = db.results().await.expect("results");
            let ready = ready_jobs(env).await;
            assert_eq!(i64::from(ready) + done, total, "{ready} ready + {done} results after {} exited", worker.label);
            let stats = worker.stopped_line().unwrap_or_else(|| panic!("no stopped line\n{}", worker.log_tail(10)));
            assert_eq!(stats.resent, 0, "{}: no job came back after its commit (every commit was acked)", worker.label);
            (done, stats)
        }

        // 1. SIGTERM mid-run, with batches proving, queued for the device and filling.
        let mut first = Worker::start(&env, "sigterm-0", &args);
        wait_results(&mut db, 100, STALL, &mut first, &env, "before SIGTERM").await;
        let at_signal = db.results().await.expect("results");
        let (status, took) = first.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "exit after SIGTERM: {status}\n{}", first.log_tail(30));
        let (done, stats) = after_exit(&env, &mut db, &first, TOTAL as i64).await;
        eprintln!("sigterm: worker 0 exited 0 in {:.2} s; {at_signal} results at SIGTERM, {done} after; {stats:?}", took.as_secs_f64());
        assert!(done > at_signal, "the jobs it held at SIGTERM were proved and committed before exit ({at_signal} -> {done})");
        proved_by_workers += stats.proved;

        // 2. SIGTERM while PostgreSQL is down: the drain waits for the database, retrying with
        //    backoff, and finishes once it is back.
        let mut second = Worker::start(&env, "sigterm-1", &args);
        wait_results(&mut db, done + 48, STALL, &mut second, &env, "second worker").await;
        let outage = tokio::task::block_in_place(ServiceOutage::stop_postgres);
        let signalled = Instant::now();
        let pid = libc::pid_t::try_from(second.pid()).expect("pid");
        // SAFETY: kill(2) on our own, unreaped child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill -TERM");
        tokio::time::sleep(OUTAGE).await;
        assert!(second.is_running(), "the worker exited during the outage instead of waiting to commit what it held\n{}", second.log_tail(20));
        tokio::task::block_in_place(|| outage.restore());
        let (status, _) = second.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "exit after SIGTERM: {status}\n{}", second.log_tail(30));
        let retries = std::fs::read_to_string(&second.log).expect("log").matches("PostgreSQL unavailable").count();
        assert!(retries < 40, "{retries} database retries in {OUTAGE:?}: the drain spins instead of backing off");
        let (done2, stats2) = after_exit(&env, &mut db, &second, TOTAL as i64).await;
        eprintln!(
            "sigterm: worker 1 got SIGTERM with PostgreSQL down, retried {retries} times, exited 0 {:.2} s after the signal; {done2} results; {stats2:?}",
            signalled.elapsed().as_secs_f64()
        );
        proved_by_workers += stats2.proved;

        // 3. A third worker finishes the full batches; the remainder sits in a partial batch
        //    (20 s wait) until SIGTERM drains it.
        if (TOTAL as i64 - done2) % 16 == 0 {
            bulk.submit_more(&env, 5).await;
        }
        let total = bulk.ids.len() as i64;
        let remainder = (total - done2) % 16;
        let mut third = Worker::start(&env, "sigterm-2", &args);
        let full = total - remainder;
        wait_results(&mut db, full, STALL, &mut third, &env, "third worker, full batches").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(db.results().await, Some(full), "the partial batch of {remainder} waits (max wait 20 s)");
        assert_eq!(ready_jobs(&env).await, 0, "the partial batch is held by the worker");
        let (status, took) = third.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "exit after SIGTERM: {status}\n{}", third.log_tail(30));
        assert!(took < Duration::from_secs(10), "drain took {took:?}: the partial batch was not dispatched at shutdown");
        let (done3, stats3) = after_exit(&env, &mut db, &third, total).await;
        eprintln!("sigterm: worker 2 drained a partial batch of {remainder} and exited 0 in {:.2} s; {stats3:?}", took.as_secs_f64());
        assert_eq!(done3, total, "all jobs have a result");
        proved_by_workers += stats3.proved;
        assert_eq!(proved_by_workers, total as u64, "each job proved exactly once across the three workers");
        assert_exactly_once(&env, &bulk).await;
    });
}

/// Protocol v1's second witness form: the body is empty and `zkq-witness-ref` names a witness
/// in the shared store (`<key dir>/../witnesses/<sha256>.wtns`). A stored witness proves; a
/// missing one and one whose bytes do not match its name fail alone with `bad_witness`.
#[test]
fn witness_references_are_read_from_the_store_and_checked() {
    run_pipeline_test("witnessref", |env| async move {
        use sha2::Digest;
        let good = witness_bytes(MULTI_PUBLIC);
        let digest = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
        let store = env.dir.join("witnesses");
        std::fs::create_dir_all(&store).expect("witness store");
        std::fs::write(store.join(format!("{}.wtns", digest(&good))), &good).expect("store the witness");
        let corrupt = digest(b"not the bytes stored under this name");
        std::fs::write(store.join(format!("{corrupt}.wtns")), &good).expect("store a mismatching file");
        let missing = digest(b"never stored");
        let worker = Worker::start(&env, "witnessref", &["--max-batch", "4", "--max-wait-ms", "50"]);
        wait_tenant_consumers(&env, &[0], Duration::from_secs(60), &worker).await;
        let mut sub = Submitter::connect(&env.amqp).await.expect("submitter");
        let cases = [("stored", digest(&good), None), ("corrupt", corrupt, Some(ReasonCode::BadWitness)), ("missing", missing, Some(ReasonCode::BadWitness))];
        for (name, d, _) in &cases {
            let job = env.good_job(&format!("{}-{name}", env.name), &[]);
            sub.publish_with_witness_ref(&job, d).await.expect("publish").confirmed().await.expect("confirmed");
        }
        let mut results: HashMap<String, JobResult> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while results.len() < cases.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, sub.next_result()).await {
                Ok(Some(Ok(r))) => {
                    results.insert(r.job_id.clone(), r);
                }
                other => panic!("waiting for witness-ref results: {other:?}; worker log: {}", worker.log_tail(40)),
            }
        }
        for (name, _, expect) in &cases {
            let r = &results[&format!("{}-{name}", env.name)];
            match (&r.outcome, expect) {
                (Outcome::Proved { public_signals, .. }, None) => {
                    assert_eq!(public_signals.as_array().map(Vec::len), Some(7), "{name}: public signals");
                }
                (Outcome::Failed { code, reason }, Some(want)) => {
                    assert_eq!(code, want, "{name}: {reason}");
                    assert!(reason.contains("stored witness"), "{name}: reason should name the store: {reason}");
                }
                (got, want) => panic!("{name}: got {got:?}, expected {want:?}"),
            }
        }
        drop(worker);
    });
}

/// Issue 5, points 3 and 4, against the real broker: (a) a higher priority class is served
/// before a backlog of lower-priority jobs; (b) held jobs whose deadline passes fail with
/// `deadline_exceeded` and no job is delivered proved after its deadline; (c) a worker whose
/// device memory cannot hold the circuit rejects its jobs with `exceeds_device_memory`.
#[test]
fn priorities_deadlines_and_memory_admission() {
    run_pipeline_test("prio", |env| async move {
        let witness = witness_bytes(MULTI_PUBLIC);
        let args = ["--null-prover", "--null-prover-ms", "100,0", "--max-batch", "1", "--max-wait-ms", "0"];
        let mut worker = Worker::start(&env, "prio", &args);
        wait_consumers(&env, 1, Duration::from_secs(60), &worker).await;
        wait_tenant_consumers(&env, &[0, 5, 9], Duration::from_secs(60), &worker).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter connects");
        // 40 low-priority jobs, then 4 urgent ones; one job per batch, 100 ms each.
        let mut jobs: Vec<OutgoingJob> = (0..40).map(|k| env.good_job(&format!("low-{k:02}"), &witness)).collect();
        jobs.extend((0..4).map(|k| OutgoingJob { priority: 9, ..env.good_job(&format!("high-{k}"), &witness) }));
        // And 20 at priority 5 with a deadline 1.2 s out: after the urgent ones, a few make it.
        let deadline = now_ms() + 1200;
        jobs.extend((0..20).map(|k| OutgoingJob { priority: 5, deadline_ms: Some(deadline), ..env.good_job(&format!("dl-{k:02}"), &witness) }));
        let confirmed = publish_confirmed(&submitter, &jobs).await;
        assert_eq!(confirmed.len(), jobs.len());
        let (_task, replies) = collect_replies(submitter);
        let mut db = Db::new(&env);
        wait_results(&mut db, jobs.len() as i64, STALL, &mut worker, &env, "priority run").await;
        let pg = env.pg().await;
        let rows = pg
            .query(
                "select r.job_id, r.status, r.reason_code, extract(epoch from r.completed_at)::float8 * 1000 as done_ms,
                        extract(epoch from b.started_at)::float8 as start
                 from job_results r left join batches b on b.id = r.batch_id",
                &[],
            )
            .await
            .expect("results");
        let start_of = |prefix: &str| -> Vec<f64> { rows.iter().filter(|r| r.get::<_, String>("job_id").starts_with(prefix)).filter_map(|r| r.get::<_, Option<f64>>("start")).collect() };
        let last_high = start_of("high-").into_iter().fold(f64::MIN, f64::max);
        let low_after = start_of("low-").into_iter().filter(|s| *s < last_high).count();
        // The urgent jobs have their own queue, consumed beside the routine one: at most the few
        // low jobs already dispatched or held start first, never the backlog.
        assert!(low_after <= 6, "{low_after} low-priority jobs started before the last urgent one");
        let (mut expired, mut proved) = (0, 0);
        for r in &rows {
            let id: String = r.get("job_id");
            if !id.starts_with("dl-") {
                continue;
            }
            let status: String = r.get("status");
            if status == "failed" {
                assert_eq!(r.get::<_, Option<String>>("reason_code").as_deref(), Some("deadline_exceeded"), "{id}");
                expired += 1;
            } else {
                let done: f64 = r.get("done_ms");
                assert!(done <= deadline as f64 + 50.0, "{id} was delivered proved after its deadline");
                proved += 1;
            }
        }
        assert!(expired >= 5, "only {expired} of 20 deadline jobs expired; they need 2 s of device time and had 1.2 s");
        let got = replies.lock().unwrap_or_else(|p| p.into_inner()).len();
        eprintln!("prio: {low_after} low jobs before the last urgent one; {expired} of 20 deadline jobs failed deadline_exceeded, {proved} proved in time; {got} replies");
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success());

        // (c) A device too small for the circuit.
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter connects");
        let job = env.good_job("too-big", &witness);
        assert_eq!(publish_confirmed(&submitter, std::slice::from_ref(&job)).await.len(), 1);
        let mut small = Worker::start(&env, "small", &["--device-memory", "4096"]);
        wait_results(&mut db, jobs.len() as i64 + 1, STALL, &mut small, &env, "small device").await;
        let row = pg.query_one("select status, reason_code, reason from job_results where job_id = 'too-big'", &[]).await.expect("result");
        assert_eq!(row.get::<_, String>("status"), "failed");
        assert_eq!(row.get::<_, Option<String>>("reason_code").as_deref(), Some("exceeds_device_memory"));
        let reason: String = row.get("reason");
        assert!(reason.contains("of device memory for a single proof") && reason.contains(CIRCUIT_LABEL), "a clear reason: {reason}");
        eprintln!("prio: too-big rejected: {reason}");
    });
}

/// The fixture circuit's label as the worker names it.
const CIRCUIT_LABEL: &str = "multi_public@1";
