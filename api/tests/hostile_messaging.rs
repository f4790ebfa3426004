//! Hostile messages against the worker's broker messaging (issue 16, points 2, 5, 8 and, for
//! these triggers, 11), against the REAL RabbitMQ and PostgreSQL with the real `zkq worker`:
//!
//! - a message whose properties the broker would refuse on a republish (`user_id` of another
//!   broker user, no `message_id`) is answered and dead-lettered by the worker without closing
//!   its channel (one broker session);
//! - a tenant queue pre-declared with other arguments is reported and skipped, not fatal;
//! - dead letters are bounded (`x-max-length`) and carry the reason and the witness sha256,
//!   never the witness; a dead-letter queue declared by an older zkq (other arguments) is
//!   reported, not fatal;
//! - a reply the broker does not accept (nacked, or returned as unroutable) is recorded
//!   (`zkq_worker_undeliverable_total`) and its job acked once, its result committed;
//! - a job the broker returns or refuses is reported by the submitter (library and `zkq submit`)
//!   as not submitted.
//!
//! In every test another tenant's jobs ("bystanders") run beside the hostile messages and must
//! all complete with exactly one result row each. Needs `scripts/services.sh` and root (for
//! `rabbitmqctl add_user`); see `common/mod.rs` for isolation and cleanup.

#[allow(dead_code)]
mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::{now_ms, OutgoingJob, Submitter};
use zkq_scheduler::model::Outcome;
use zkq_scheduler::protocol::{self, JobResult, ReasonCode, H_FAILURE_CODE, H_FAILURE_REASON};
use zkq_scheduler::topology;

use common::{
    drain_queue, Bystanders, header_string, record_queued, run_pipeline_test, witness_bytes,
    Env, Worker, TENANT,
};

/// Bystander jobs per test.
const BYSTANDERS: usize = 24;
/// Worker flags: small batches, short waits.
const ARGS: [&str; 4] = ["--max-batch", "8", "--max-wait-ms", "50"];
/// How long the bystanders may take.
const WITHIN: Duration = Duration::from_secs(90);
/// A marker inside hostile bodies: it must never reach a dead letter.
const MARKER: &str = "ZKQ-PRIVATE-MARKER";

/// Runs `rabbitmqctl -q <args>` and panics with its output on failure.
fn rabbitmqctl(args: &[&str]) {
    let o = Command::new("rabbitmqctl")
        .arg("-q")
        .args(args)
        .output()
        .expect("run rabbitmqctl (these tests need root and scripts/services.sh)");
    assert!(
        o.status.success(),
        "rabbitmqctl {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A broker user of the test's own, deleted on drop.
struct BrokerUser {
    name: String,
    password: String,
}

impl BrokerUser {
    fn create(env: &Env) -> BrokerUser {
        let salt = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let user = BrokerUser {
            name: format!("zkqt-hostile-{}-{salt}", std::process::id()),
            password: format!("pw-{salt}"),
        };
        rabbitmqctl(&["add_user", &user.name, &user.password]);
        rabbitmqctl(&["set_permissions", "-p", "/", &user.name, ".*", ".*", ".*"]);
        let _ = env;
        user
    }

    /// The test broker's URI with this user's credentials.
    fn uri(&self, env: &Env) -> String {
        let rest = env.amqp.uri.split_once('@').map_or("127.0.0.1:5672/%2f", |(_, r)| r);
        format!("amqp://{}:{}@{rest}", self.name, self.password)
    }
}

impl Drop for BrokerUser {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["-q", "delete_user", &self.name])
            .output();
    }
}

async fn scrape(addr: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect to /metrics");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: zkq\r\n\r\n")
        .await
        .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).await.expect("response");
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    text
}

/// The value of the sample line `series value`, or `None` if absent.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Waits until the worker consumes the test tenant's priority-0 queue. Submitting only then
/// keeps the submitter's declarations from racing the worker's: on a loaded RabbitMQ 3.10, a
/// quorum queue another connection is still creating answers `declare-ok` before its Raft
/// server runs, and a consume on it then fails the whole connection (541 INTERNAL_ERROR), a
/// publish to it is nacked.
async fn wait_consuming(env: &Env, worker: &Worker) {
    let queue = env.amqp.tenant_queue(TENANT, 0);
    let t = Instant::now();
    loop {
        if common::try_queue_counts(env, &queue)
            .await
            .is_some_and(|(_, consumers)| consumers >= 1)
        {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the worker does not consume {queue} after 60 s\n{}",
            worker.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the worker (SIGTERM) and returns its broker sessions.
async fn stop(worker: &mut Worker) -> u64 {
    let (status, _) = worker.terminate(Duration::from_secs(60)).await;
    assert!(status.success(), "worker exit: {status}\n{}", worker.log_tail(30));
    worker
        .stopped_line()
        .unwrap_or_else(|| panic!("no stopped line\n{}", worker.log_tail(30)))
        .sessions
}

/// A raw job message (headers of the test tenant and circuit).
fn job_props(env: &Env, job_id: Option<&str>, correlation: &str, reply_to: &str) -> BasicProperties {
    let headers = protocol::job_headers(TENANT, &format!("sha256:{}", env.circuit_id), "", 0, None, now_ms());
    let mut props = BasicProperties::default()
        .with_correlation_id(correlation.into())
        .with_delivery_mode(2)
        .with_headers(headers);
    if !reply_to.is_empty() {
        props = props.with_reply_to(reply_to.into());
    }
    if let Some(id) = job_id {
        props = props.with_message_id(id.into());
    }
    props
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

// ----------------------------------------------------------------------------- point 2

/// Reproduction of issue 16 point 2: a message published by another broker user with its own
/// `user_id` and no `message_id`. The worker's dead letter used to copy the properties, the
/// broker refused the republish (406, `user_id` ≠ the worker's user), the channel closed and
/// every session ended the same way until the broker dead-lettered the message itself.
#[test]
fn foreign_user_id_without_message_id_is_answered_and_dead_lettered_in_one_session() {
    run_pipeline_test("hostile-userid", |env| async move {
        let user = BrokerUser::create(&env);
        let (admin, ch) = common::amqp_channel(&env).await;
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let reply_q = ch
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("reply queue");
        let mut replies_in = ch
            .basic_consume(
                reply_q.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("consume replies");

        let mut worker = Worker::start(&env, "hostile-userid", &ARGS);
        wait_consuming(&env, &worker).await;
        let bystanders = Bystanders::submit(&env, BYSTANDERS).await;
        // The hostile publisher: its own broker user, user_id = itself, expiration set, no message_id.
        let hostile = Connection::connect(&user.uri(&env), ConnectionProperties::default())
            .await
            .expect("connect as the hostile user");
        let hch = hostile.create_channel().await.expect("channel");
        hch.confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm.select");
        let body = witness_bytes(MULTI_PUBLIC);
        let props = job_props(&env, None, "hostile-userid", reply_q.name().as_str())
            .with_user_id(user.name.as_str().into())
            .with_expiration("600000".into());
        let confirm = hch
            .basic_publish(
                env.amqp.jobs_exchange().as_str().into(),
                env.amqp.jobs_routing_key().as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &body,
                props,
            )
            .await
            .expect("publish");
        assert!(
            confirm.await.expect("confirm").is_ack(),
            "the broker accepts the hostile message from its own user"
        );
        let _ = hostile.close(200, "bye".into()).await;

        bystanders.assert_all_complete_once(&env, &worker, WITHIN).await;
        // The hostile message is answered (malformed_message, no job id) …
        let reply = match tokio::time::timeout(Duration::from_secs(30), replies_in.next()).await {
            Ok(Some(Ok(d))) => d,
            other => panic!("no reply to the hostile message: {other:?}\n{}", worker.log_tail(40)),
        };
        let r: JobResult = serde_json::from_slice(&reply.data).expect("a JobResult");
        assert!(
            matches!(
                r.outcome,
                Outcome::Failed {
                    code: ReasonCode::MalformedMessage,
                    ..
                }
            ),
            "{:?}",
            r.outcome
        );
        assert_eq!(reply.properties.user_id(), &None, "the reply carries no user_id");
        let sessions = stop(&mut worker).await;
        assert_eq!(
            sessions,
            1,
            "one broker session: the hostile message never closed the worker's channel\n{}",
            worker.log_tail(40)
        );
        // … and dead-lettered by the worker (with its reason), not by the broker's delivery limit.
        let dead = drain_queue(&env, &env.amqp.dead_letter_queue()).await;
        assert_eq!(
            dead.len(),
            1,
            "one dead letter: {:?}",
            dead.iter().map(|d| d.properties.headers()).collect::<Vec<_>>()
        );
        let d = &dead[0];
        assert_eq!(
            header_string(d, H_FAILURE_CODE).as_deref(),
            Some(ReasonCode::MalformedMessage.as_str()),
            "dead-lettered by the worker"
        );
        assert_eq!(d.properties.user_id(), &None, "the dead letter carries no user_id");
        assert_eq!(
            d.properties.expiration(),
            &None,
            "the dead letter carries no expiration"
        );
        let _ = admin.close(200, "bye".into()).await;
        drop(user);
    });
}

/// A submitter pre-declares a future tenant's queue with other arguments (classic, no
/// dead-lettering); once the tenant is registered, every worker session used to end on the
/// 406 of its declaration. Now the queue is reported and skipped.
#[test]
fn tenant_queue_with_other_arguments_is_reported_and_skipped() {
    run_pipeline_test("hostile-queueargs", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        let evil_queue = env.amqp.tenant_queue("evil", 0);
        ch.queue_declare(
            evil_queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("pre-declare the tenant queue as a classic queue");
        let o = env
            .zkq()
            .args(["tenant", "add", "evil"])
            .output()
            .expect("zkq tenant add");
        assert!(
            o.status.success(),
            "zkq tenant add evil: {}",
            String::from_utf8_lossy(&o.stderr)
        );

        let addr = common::free_local_addr();
        let mut args = ARGS.to_vec();
        args.extend(["--metrics-addr", addr.as_str()]);
        let mut worker = Worker::start(&env, "hostile-queueargs", &args);
        wait_consuming(&env, &worker).await;
        let bystanders = Bystanders::submit(&env, BYSTANDERS).await;
        bystanders.assert_all_complete_once(&env, &worker, WITHIN).await;
        let metrics = scrape(&addr).await;
        let conflicts = sample(&metrics, "zkq_queue_declare_conflicts_total").unwrap_or(0.0);
        assert!(
            conflicts >= 1.0,
            "the conflict is counted (zkq_queue_declare_conflicts_total = {conflicts})"
        );
        stop_reporting_conflict(&mut worker, &evil_queue, "the queue").await;
        let _ = admin.close(200, "bye".into()).await;
    });
}

/// Stops the worker and checks that it kept one broker session and logged `queue` as declared
/// with other arguments.
async fn stop_reporting_conflict(worker: &mut Worker, queue: &str, what: &str) {
    let sessions = stop(worker).await;
    assert_eq!(sessions, 1, "one broker session\n{}", worker.log_tail(40));
    let log = std::fs::read_to_string(&worker.log).expect("worker log");
    assert!(
        log.lines().any(|l| l.contains(queue) && l.contains("other arguments")),
        "the worker reports {what}\n{}",
        worker.log_tail(40)
    );
}

// ----------------------------------------------------------------------------- point 5

/// Failed jobs' dead letters carry the headers, the reason and the witness sha256 — not the
/// witness — and the dead-letter queue is bounded (`ZKQ_DLQ_MAX_LENGTH=3`: of five dead
/// letters the newest three stay).
#[test]
fn dead_letters_are_bounded_and_carry_the_digest_not_the_witness() {
    run_pipeline_test("hostile-deadletter", |env| async move {
        let mut worker = Worker::start_with_env(&env, "hostile-deadletter", &ARGS, &[("ZKQ_DLQ_MAX_LENGTH", "3")]);
        // The submitter declares the dead-letter queue too (whoever is first sets its
        // arguments): it reads the same bound, as `zkq submit` would from ZKQ_DLQ_MAX_LENGTH.
        let mut bounded = env.clone();
        bounded.amqp.dead_letter_max_length = 3;
        wait_consuming(&env, &worker).await;
        let bystanders = Bystanders::submit(&bounded, BYSTANDERS).await;
        let (admin, ch) = common::amqp_channel(&env).await;
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm.select");
        let mut bodies = Vec::new();
        for i in 0..5 {
            let body = format!("{:0>64}{MARKER}-{i}-not-a-wtns", "").into_bytes();
            let id = format!("{}-bad-{i}", env.name);
            let confirm = ch
                .basic_publish(
                    env.amqp.jobs_exchange().as_str().into(),
                    env.amqp.jobs_routing_key().as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &body,
                    job_props(&env, Some(&id), &id, ""),
                )
                .await
                .expect("publish");
            assert!(confirm.await.expect("confirm").is_ack());
            bodies.push((id, body));
        }
        bystanders.assert_all_complete_once(&env, &worker, WITHIN).await;
        let pg = env.pg().await;
        let t = Instant::now();
        loop {
            let n: i64 = pg
                .query_one(
                    "select count(*) from job_results where reason_code = 'bad_witness'",
                    &[],
                )
                .await
                .expect("count")
                .get(0);
            if n == 5 {
                break;
            }
            assert!(
                t.elapsed() < WITHIN,
                "{n} of 5 bad jobs failed\n{}",
                worker.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sessions = stop(&mut worker).await;
        assert_eq!(sessions, 1, "one broker session\n{}", worker.log_tail(40));
        let dead = drain_queue(&env, &env.amqp.dead_letter_queue()).await;
        assert_eq!(dead.len(), 3, "the dead-letter queue keeps at most 3 (x-max-length)");
        for d in &dead {
            let id = d
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            let (_, body) = bodies
                .iter()
                .find(|(i, _)| *i == id)
                .unwrap_or_else(|| panic!("dead letter of an unknown job {id:?}"));
            let text = String::from_utf8_lossy(&d.data);
            assert!(
                !text.contains(MARKER),
                "{id}: the dead letter carries the witness: {text}"
            );
            assert!(d.data.len() < 4096, "{id}: dead letter of {} bytes", d.data.len());
            let v: serde_json::Value =
                serde_json::from_slice(&d.data).unwrap_or_else(|e| panic!("{id}: the body is not JSON ({e}): {text}"));
            assert_eq!(v["job_id"], serde_json::json!(id), "{id}: {v}");
            assert_eq!(v["code"], "bad_witness", "{id}: {v}");
            assert_eq!(v["witness_sha256"], serde_json::json!(sha256_hex(body)), "{id}: {v}");
            assert_eq!(
                header_string(d, "zkq-witness-sha256"),
                Some(sha256_hex(body)),
                "{id}: zkq-witness-sha256 header"
            );
            assert_eq!(header_string(d, H_FAILURE_CODE).as_deref(), Some("bad_witness"), "{id}");
            assert!(
                header_string(d, H_FAILURE_REASON).is_some_and(|r| !r.is_empty()),
                "{id}: reason header"
            );
            assert_eq!(
                header_string(d, protocol::H_TENANT).as_deref(),
                Some(TENANT),
                "{id}: the job's headers are kept"
            );
        }
        let kept: HashSet<String> = dead
            .iter()
            .filter_map(|d| d.properties.message_id().as_ref().map(|m| m.as_str().to_owned()))
            .collect();
        let newest: HashSet<String> = bodies[2..].iter().map(|(i, _)| i.clone()).collect();
        assert_eq!(kept, newest, "overflow drops the oldest dead letters (drop-head)");
        let _ = admin.close(200, "bye".into()).await;
    });
}

/// A dead-letter queue declared by an older zkq (quorum, no bounds) cannot be re-declared with
/// the bounds: the worker reports it and goes on (dead letters still reach it).
#[test]
fn dead_letter_queue_with_old_arguments_is_reported_not_fatal() {
    run_pipeline_test("hostile-olddlq", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        let mut old = FieldTable::default();
        old.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
        ch.queue_declare(
            env.amqp.dead_letter_queue().as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            old,
        )
        .await
        .expect("declare the dead-letter queue as zkq 0.1 did");
        let mut worker = Worker::start(&env, "hostile-olddlq", &ARGS);
        wait_consuming(&env, &worker).await;
        let bystanders = Bystanders::submit(&env, BYSTANDERS).await;
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm.select");
        let id = format!("{}-bad", env.name);
        let confirm = ch
            .basic_publish(
                env.amqp.jobs_exchange().as_str().into(),
                env.amqp.jobs_routing_key().as_str().into(),
                BasicPublishOptions::default(),
                b"garbage",
                job_props(&env, Some(&id), &id, ""),
            )
            .await
            .expect("publish");
        assert!(confirm.await.expect("confirm").is_ack());
        bystanders.assert_all_complete_once(&env, &worker, WITHIN).await;
        let t = Instant::now();
        while common::ready_messages(&env, &env.amqp.dead_letter_queue()).await < 1 {
            assert!(
                t.elapsed() < WITHIN,
                "the bad job was not dead-lettered\n{}",
                worker.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop_reporting_conflict(&mut worker, &env.amqp.dead_letter_queue(), "the old dead-letter queue").await;
        let _ = admin.close(200, "bye".into()).await;
    });
}

// ----------------------------------------------------------------------------- point 8

/// Replies the broker does not take: one to a queue that refuses (`x-max-length 0`,
/// `reject-publish`: nacked), one to a queue that does not exist (returned as unroutable), one
/// to a direct reply-to name nobody consumes (a channel error if published as is). The
/// jobs' results are committed; the worker counts the replies undeliverable, acks the jobs
/// once and goes on.
#[test]
fn undeliverable_replies_are_counted_and_their_jobs_acked_once() {
    run_pipeline_test("hostile-replies", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm.select");
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let full = format!("{}.replies.full", env.amqp.prefix);
        let mut args = FieldTable::default();
        args.insert("x-max-length".into(), AMQPValue::LongLongInt(0));
        args.insert("x-overflow".into(), AMQPValue::LongString("reject-publish".into()));
        ch.queue_declare(full.as_str().into(), QueueDeclareOptions::default(), args)
            .await
            .expect("declare the refusing reply queue");
        let missing = format!("{}.replies.nowhere", env.amqp.prefix);
        let witness = witness_bytes(MULTI_PUBLIC);
        // A direct reply-to name no channel consumes (the broker only rewrites the bare
        // `amq.rabbitmq.reply-to` for a consuming publisher; this one is data).
        let bogus = "amq.rabbitmq.reply-to.bogus";
        let hostile: Vec<OutgoingJob> = ["nack", "return", "direct"]
            .iter()
            .map(|s| env.good_job(&format!("{}-{s}", env.name), &witness))
            .collect();
        record_queued(&env, &hostile).await;
        for (job, reply_to) in hostile.iter().zip([full.as_str(), missing.as_str(), bogus]) {
            let confirm = ch
                .basic_publish(
                    env.amqp.jobs_exchange().as_str().into(),
                    env.amqp.jobs_routing_key().as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &witness,
                    job_props(&env, Some(&job.job_id), &job.job_id, reply_to),
                )
                .await
                .expect("publish");
            assert!(confirm.await.expect("confirm").is_ack());
        }
        let addr = common::free_local_addr();
        let mut wargs = ARGS.to_vec();
        wargs.extend(["--metrics-addr", addr.as_str()]);
        let mut worker = Worker::start(&env, "hostile-replies", &wargs);
        wait_consuming(&env, &worker).await;
        let bystanders = Bystanders::submit(&env, BYSTANDERS).await;
        bystanders.assert_all_complete_once(&env, &worker, WITHIN).await;
        let pg = env.pg().await;
        let ids: Vec<String> = hostile.iter().map(|j| j.job_id.clone()).collect();
        let t = Instant::now();
        loop {
            let n: i64 = pg
                .query_one(
                    "select count(*) from job_results where job_id = any($1) and status = 'proved'",
                    &[&ids],
                )
                .await
                .expect("count")
                .get(0);
            if n == 3 {
                break;
            }
            assert!(
                t.elapsed() < WITHIN,
                "{n} of the 3 jobs with undeliverable replies proved\n{}",
                worker.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let t = Instant::now();
        loop {
            let metrics = scrape(&addr).await;
            let n = sample(&metrics, "zkq_worker_undeliverable_total{kind=\"reply\"}");
            if n == Some(3.0) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "zkq_worker_undeliverable_total{{kind=\"reply\"}} is {n:?}, expected 3\n{}",
                worker.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let sessions = stop(&mut worker).await;
        assert_eq!(sessions, 1, "one broker session\n{}", worker.log_tail(40));
        let log = std::fs::read_to_string(&worker.log).expect("worker log");
        for id in &ids {
            assert!(
                log.lines()
                    .any(|l| l.contains(id.as_str()) && l.contains("undeliverable")),
                "{id}: the undeliverable reply is logged\n{}",
                worker.log_tail(40)
            );
        }
        assert_eq!(common::ready_jobs(&env).await, 0, "every job was acked");
        assert_eq!(
            common::ready_messages(&env, &env.amqp.dead_letter_queue()).await,
            0,
            "nothing was dead-lettered"
        );
        let _ = ch
            .queue_delete(full.as_str().into(), QueueDeleteOptions::default())
            .await;
        let _ = admin.close(200, "bye".into()).await;
    });
}

/// The submitter reports a job the broker returned as unroutable (its tenant queue was deleted
/// after this connection declared it) as not submitted.
#[test]
fn submitter_reports_a_returned_job_as_not_submitted() {
    run_pipeline_test("hostile-returned", |env| async move {
        let witness = witness_bytes(MULTI_PUBLIC);
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter connects");
        let first = env.good_job(&format!("{}-first", env.name), &witness);
        submitter
            .publish(&first)
            .await
            .expect("publish")
            .confirmed()
            .await
            .unwrap_or_else(|(id, e)| panic!("{id}: {e}"));
        let (admin, ch) = common::amqp_channel(&env).await;
        ch.queue_delete(
            env.amqp.tenant_queue(TENANT, 0).as_str().into(),
            QueueDeleteOptions::default(),
        )
        .await
        .expect("delete the tenant queue");
        let second = env.good_job(&format!("{}-second", env.name), &witness);
        record_queued(&env, std::slice::from_ref(&second)).await;
        match submitter.publish(&second).await.expect("publish").confirmed().await {
            Ok(id) => panic!("{id}: an unroutable job was reported as submitted"),
            Err((id, e)) => {
                assert_eq!(id, second.job_id);
                let text = e.to_string();
                assert!(
                    text.contains("not submitted") && text.contains("NO_ROUTE"),
                    "error: {text}"
                );
                assert!(
                    matches!(e, zkq_scheduler::SchedulerError::NotSubmitted { returned: true, .. }),
                    "{e:?}"
                );
            }
        }
        // What `zkq submit` does with a returned job: its `queued` row goes (it is in no queue).
        let forgotten = env
            .store()
            .await
            .forget_unsubmitted(std::slice::from_ref(&second.job_id))
            .await
            .expect("forget_unsubmitted");
        assert_eq!(forgotten, 1, "the returned job's queued row is deleted");
        let left: i64 = env
            .pg()
            .await
            .query_one("select count(*) from jobs where job_id = $1", &[&second.job_id])
            .await
            .expect("count")
            .get(0);
        assert_eq!(left, 0);
        let _ = admin.close(200, "bye".into()).await;
    });
}

/// Declares `<prefix>.refuse`, capped at 0 messages with `reject-publish`, and binds it with
/// the test tenant's routing key: the broker nacks every publish to that key (a publish is
/// nacked when any queue it is routed to refuses it). Returns the queue's name.
async fn refuse_tenant_publishes(env: &Env, ch: &lapin::Channel) -> String {
    let refuse = format!("{}.refuse", env.amqp.prefix);
    let mut args = FieldTable::default();
    args.insert("x-max-length".into(), AMQPValue::LongLongInt(0));
    args.insert("x-overflow".into(), AMQPValue::LongString("reject-publish".into()));
    ch.queue_declare(refuse.as_str().into(), QueueDeclareOptions::default(), args).await.expect("declare the refusing queue");
    ch.queue_bind(
        refuse.as_str().into(),
        env.amqp.jobs_exchange().as_str().into(),
        zkq_scheduler::AmqpConfig::tenant_routing_key(TENANT, 0).as_str().into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind it with the tenant's routing key");
    refuse
}

/// A directory holding one good witness, for `zkq submit`.
fn one_witness_dir(env: &Env) -> std::path::PathBuf {
    let dir = env.dir.join("w");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(MULTI_PUBLIC.wtns(), dir.join("a.wtns")).expect("copy the witness");
    dir
}

/// `zkq submit` reports a job the broker refused as not submitted, with exit code 10: a second
/// queue bound with the tenant's routing key, capped at 0 messages with `reject-publish`,
/// makes the broker nack every publish to that key (a publish is nacked when any queue it is
/// routed to refuses it).
#[test]
fn zkq_submit_exits_10_when_a_job_is_not_submitted() {
    run_pipeline_test("hostile-submitcli", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let refuse = refuse_tenant_publishes(&env, &ch).await;
        let dir = one_witness_dir(&env);
        let o = env
            .zkq()
            .args([
                "submit",
                "--tenant",
                TENANT,
                "--circuit",
                common::CIRCUIT,
                "--timeout-secs",
                "5",
            ])
            .arg(&dir)
            .output()
            .expect("run zkq submit");
        let stderr = String::from_utf8_lossy(&o.stderr);
        let _ = ch
            .queue_delete(refuse.as_str().into(), QueueDeleteOptions::default())
            .await;
        let _ = admin.close(200, "bye".into()).await;
        assert_eq!(o.status.code(), Some(10), "exit code (stderr: {stderr})");
        assert!(
            stderr.contains("was not submitted") && stderr.contains("nack"),
            "stderr: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    });
}

/// A refusal that lasts a moment is not a failure: `zkq submit` publishes a nacked job again
/// (up to 3 times, after 0.2, 0.4 and 0.8 s). The refusing queue is deleted 300 ms after the
/// submit starts, so a later try goes through. (A nacked publish may still have been queued —
/// here the tenant queue took each try while the other queue refused it — so the tenant queue
/// holds one to three copies of the job, all under its one job id.)
#[test]
fn zkq_submit_publishes_a_job_refused_for_a_moment_again() {
    run_pipeline_test("hostile-submitretry", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        topology::declare_tenant(&ch, &env.amqp, TENANT, 0).await.expect("declare the tenant queue");
        let refuse = refuse_tenant_publishes(&env, &ch).await;
        let dir = one_witness_dir(&env);
        let child = env
            .zkq()
            .args(["submit", "--tenant", TENANT, "--circuit", common::CIRCUIT, "--no-wait"])
            .arg(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run zkq submit");
        tokio::time::sleep(Duration::from_millis(300)).await;
        ch.queue_delete(refuse.as_str().into(), QueueDeleteOptions::default()).await.expect("delete the refusing queue");
        let o = tokio::task::block_in_place(|| child.wait_with_output()).expect("zkq submit output");
        let _ = admin.close(200, "bye".into()).await;
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "the job goes through on a later try (stderr: {stderr})");
        let (ready, _) = common::queue_counts(&env, &env.amqp.tenant_queue(TENANT, 0)).await;
        assert!((1..=3).contains(&ready), "the job is queued (one copy per try at most): {ready}");
    });
}
