//! Hostile submitters against the REAL RabbitMQ and PostgreSQL (no mocks), with the real `zkq
//! worker` as a subprocess: a message that PostgreSQL cannot store must fail alone, with its
//! reason, and never stall the worker for everyone else (issue 16, point 1).
//!
//! Before the fix, a `zkq-tenant` holding a NUL byte (PostgreSQL rejects it, SQLSTATE 22021)
//! or 6,000 characters long (too large for the `jobs_tenant_submitted_at` index, 54000) made
//! the worker retry the tenant look-up or the commit forever: it answered nothing else and
//! ignored SIGTERM. Now such headers are refused when the job is parsed
//! (`malformed_message`), and a value that passes parsing but that the database still refuses
//! (a timestamp before 4713 BC, 22008) fails only its own job (`rejected_by_database`), also
//! when it was proved in a batch with good jobs.
//!
//! Needs `scripts/services.sh` (RabbitMQ 127.0.0.1:5672 guest/guest, PostgreSQL 127.0.0.1:5432
//! with role zkq and database zkq_test). Harness and isolation: `common/mod.rs`.

#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::now_ms;
use zkq_scheduler::protocol::{self, H_CIRCUIT, H_DEADLINE_MS, H_FAILURE_CODE, H_FAILURE_REASON, H_PURPOSE, H_SUBMITTED_AT_MS, H_TENANT};
use zkq_scheduler::redact::redact;
use zkq_scheduler::topology;

use common::{drain_queue, header_string, run_pipeline_test, witness_bytes, Worker, TENANT};

/// Milliseconds since 1970 of a moment about 31,700 years ago: chrono represents it, PostgreSQL's
/// `timestamptz` (4713 BC onwards) refuses it with SQLSTATE 22008.
const BEFORE_POSTGRES_TIME: i64 = -1_000_000_000_000_000;

/// One published message: its name is its correlation id; `expect` is the failure code
/// (`None`: proved).
struct Case {
    name: String,
    headers: FieldTable,
    expect: Option<&'static str>,
    /// Whether the failure has a result row (`None` for proved jobs: they always do).
    stored: bool,
}

/// `n` pseudo-random letters and digits: a value PostgreSQL cannot compress below its index
/// row limit (a repetitive one would be compressed and fit).
fn incompressible(n: usize) -> String {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect()
}

fn headers(tenant: &str, circuit: &str) -> FieldTable {
    protocol::job_headers(tenant, circuit, "", 0, None, now_ms())
}

fn with(mut h: FieldTable, name: &str, value: AMQPValue) -> FieldTable {
    h.insert(name.into(), value);
    h
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(s.into())
}

#[test]
fn hostile_headers_fail_alone_and_the_worker_keeps_serving_and_stops() {
    run_pipeline_test("hostile", |env| async move {
        let good = witness_bytes(MULTI_PUBLIC);
        let circuit = format!("sha256:{}", env.circuit_id);
        let long = incompressible(6000);
        let hostile: Vec<Case> = vec![
            Case { name: "tenant-nul".into(), headers: headers("a\u{0}b", &circuit), expect: Some("malformed_message"), stored: true },
            Case { name: "tenant-6000".into(), headers: headers(&long, &circuit), expect: Some("malformed_message"), stored: true },
            Case {
                name: "purpose-nul".into(),
                headers: with(headers(TENANT, &circuit), H_PURPOSE, text("kyc\u{0}")),
                expect: Some("malformed_message"),
                stored: true,
            },
            Case {
                name: "circuit-nul".into(),
                headers: with(headers(TENANT, &circuit), H_CIRCUIT, text("multi_public\u{0}@1")),
                expect: Some("malformed_message"),
                stored: true,
            },
            Case {
                name: "circuit-6000".into(),
                headers: with(headers(TENANT, &circuit), H_CIRCUIT, text(&long)),
                expect: Some("malformed_message"),
                stored: true,
            },
            // Refused by the database at commit, alone (a deadline long past: rejected before batching)…
            Case {
                name: "deadline-before-postgres-time".into(),
                headers: with(headers(TENANT, &circuit), H_DEADLINE_MS, AMQPValue::LongLongInt(BEFORE_POSTGRES_TIME)),
                expect: Some("rejected_by_database"),
                stored: false,
            },
            // …and in a batch with the good jobs (proved, then its row refused).
            Case {
                name: "submitted-before-postgres-time".into(),
                headers: with(headers(TENANT, &circuit), H_SUBMITTED_AT_MS, AMQPValue::LongLongInt(BEFORE_POSTGRES_TIME)),
                expect: Some("rejected_by_database"),
                stored: false,
            },
        ];
        // Good jobs of the registered tenant before, between and after the hostile ones.
        let mut cases = Vec::new();
        let mut n_good = 0;
        let mut good_case = |cases: &mut Vec<Case>| {
            cases.push(Case { name: format!("good-{n_good}"), headers: headers(TENANT, &circuit), expect: None, stored: true });
            n_good += 1;
        };
        for h in hostile {
            good_case(&mut cases);
            cases.push(h);
        }
        good_case(&mut cases);
        good_case(&mut cases);
        assert!(cases.iter().all(|c| c.headers.inner().contains_key(H_TENANT)));

        // Everything goes to `<prefix>.jobs` with routing key `job` (the shared queue), before
        // the worker starts: it takes them up in this order.
        let (conn, ch) = common::amqp_channel(&env).await;
        ch.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm.select");
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let reply_q = ch
            .queue_declare(
                "".into(),
                QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() },
                FieldTable::default(),
            )
            .await
            .expect("reply queue");
        let mut replies_in = ch
            .basic_consume(
                reply_q.name().clone(),
                "".into(),
                BasicConsumeOptions { no_ack: true, ..Default::default() },
                FieldTable::default(),
            )
            .await
            .expect("consume replies");
        let job_id = |name: &str| format!("{}-{name}", env.name);
        for c in &cases {
            let props = BasicProperties::default()
                .with_message_id(job_id(&c.name).as_str().into())
                .with_correlation_id(c.name.as_str().into())
                .with_reply_to(reply_q.name().clone())
                .with_delivery_mode(2)
                .with_headers(c.headers.clone());
            let confirm = ch
                .basic_publish(
                    env.amqp.jobs_exchange().as_str().into(),
                    env.amqp.jobs_routing_key().as_str().into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    &good,
                    props,
                )
                .await
                .expect("publish");
            assert!(confirm.await.expect("confirm").is_ack(), "{}: the broker refused it", c.name);
        }

        let mut worker = Worker::start(&env, "hostile", &["--max-batch", "32", "--max-wait-ms", "1000", "--metrics-addr", "off"]);
        let mut replies: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while replies.len() < cases.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let d = match tokio::time::timeout(left, replies_in.next()).await {
                Ok(Some(Ok(d))) => d,
                other => panic!(
                    "replies for {:?} of the {} messages, then {}\n{}",
                    replies.keys().collect::<Vec<_>>(),
                    cases.len(),
                    if other.is_err() { "timed out".to_owned() } else { format!("{other:?}") },
                    worker.log_tail(40)
                ),
            };
            let corr = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
            let r: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or_else(|e| panic!("reply for {corr} is not JSON: {e}"));
            replies.entry(corr).or_default().push(r);
        }
        // The worker still stops on SIGTERM, promptly and cleanly.
        let (status, took) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "worker exit: {status}\n{}", worker.log_tail(30));
        eprintln!("hostile: the worker stopped {:.1} s after SIGTERM", took.as_secs_f64());
        while let Ok(Some(Ok(d))) = tokio::time::timeout(Duration::from_millis(300), replies_in.next()).await {
            let corr = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
            replies.entry(corr).or_default().push(serde_json::from_slice(&d.data).expect("JSON"));
        }
        let _ = conn.close(200, "bye".into()).await;

        // Exactly one reply per message: proofs for the good ones, the code and a reason for the rest.
        for c in &cases {
            let got = replies.get(&c.name).map(Vec::as_slice).unwrap_or(&[]);
            assert_eq!(got.len(), 1, "{}: expected exactly one reply, got {got:?}", c.name);
            let r = &got[0];
            assert_eq!(r["job_id"], job_id(&c.name), "{}: job id in the reply", c.name);
            match c.expect {
                None => {
                    assert_eq!(r["status"], "proved", "{}: {r}", c.name);
                    assert!(r["proof"]["pi_a"].is_array(), "{}: no proof in {r}", c.name);
                }
                Some(code) => {
                    assert_eq!((r["status"].as_str(), r["code"].as_str()), (Some("failed"), Some(code)), "{}: {r}", c.name);
                    let reason = r["reason"].as_str().unwrap_or_default();
                    assert!(!reason.trim().is_empty() && reason.len() < 1000, "{}: reason {reason:?}", c.name);
                    let echoes = reason.contains('\u{0}') || reason.contains(&long);
                    assert!(!echoes, "{}: the reason echoes the hostile value: {reason:?}", c.name);
                    if code == "rejected_by_database" {
                        assert!(reason.contains("22008"), "{}: the reason names the SQLSTATE: {reason:?}", c.name);
                    }
                }
            }
        }
        // The job refused at commit shared its batch with good jobs: the batch's commit failed,
        // and the others were still committed one by one.
        let in_batch = replies["submitted-before-postgres-time"][0]["batch_size"].as_i64().unwrap_or(0);
        assert!(in_batch > 1, "submitted-before-postgres-time was proved in a batch of {in_batch}, not with good jobs");

        // Dead-letter queue: exactly the hostile messages, each with its code and reason.
        let dead = drain_queue(&env, &env.amqp.dead_letter_queue()).await;
        let mut dead_by_name: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
        for d in &dead {
            let corr = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
            let previous = dead_by_name.insert(corr.clone(), (header_string(d, H_FAILURE_CODE), header_string(d, H_FAILURE_REASON)));
            assert!(previous.is_none(), "{corr} dead-lettered twice");
        }
        let bad: Vec<&Case> = cases.iter().filter(|c| c.expect.is_some()).collect();
        assert_eq!(
            dead_by_name.keys().cloned().collect::<HashSet<_>>(),
            bad.iter().map(|c| c.name.clone()).collect::<HashSet<_>>(),
            "the dead-letter queue holds exactly the hostile messages"
        );
        for c in &bad {
            let (code, reason) = &dead_by_name[&c.name];
            assert_eq!(code.as_deref(), c.expect, "{}: {H_FAILURE_CODE}", c.name);
            assert!(reason.as_deref().is_some_and(|r| !r.trim().is_empty()), "{}: {H_FAILURE_REASON} missing", c.name);
        }
        assert_eq!(common::ready_jobs(&env).await, 0, "nothing is left in the job queues");

        // PostgreSQL: exactly one row per good job (proved) and per stored failure; none for a
        // job the database refused.
        let pg = env.pg().await;
        let rows = pg.query("select job_id, status, reason_code from job_results", &[]).await.expect("results");
        let mut by_id: HashMap<String, (String, Option<String>)> = HashMap::new();
        for r in &rows {
            assert!(by_id.insert(r.get(0), (r.get(1), r.get(2))).is_none(), "duplicate row");
        }
        for c in &cases {
            let row = by_id.get(&job_id(&c.name));
            match (c.expect, c.stored) {
                (None, _) => assert_eq!(row, Some(&("proved".to_owned(), None)), "{}", c.name),
                (Some(code), true) => assert_eq!(row, Some(&("failed".to_owned(), Some(code.to_owned()))), "{}", c.name),
                (Some(_), false) => assert_eq!(row, None, "{}: the database refused it, yet it has a row", c.name),
            }
        }
        assert_eq!(rows.len(), cases.iter().filter(|c| c.stored).count(), "no other rows: {by_id:?}");

        // The worker's log names the broker and the database, without their passwords.
        let log = std::fs::read_to_string(&worker.log).expect("worker log");
        for url in [&env.amqp.uri, &env.pg_url] {
            let shown = redact(url);
            assert!(log.contains(&shown), "the log names {shown}");
            assert!(shown == *url || !log.contains(url.as_str()), "the log prints a password: {url}");
        }
    });
}
