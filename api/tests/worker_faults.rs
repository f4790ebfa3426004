//! Issue 16, points 3, 6 and 7, against the REAL RabbitMQ and PostgreSQL with the real
//! `zkq worker`: what the infrastructure throws at the worker is not committed as the job's
//! final failure, a device panic is contained and noticed, and a key file that is not the
//! registered circuit's key is refused instead of yielding "proved".
//!
//! - A device panic (test hook `ZKQ_TEST_DEVICE_PANIC=<job id prefix>`: no honest input makes
//!   the prover panic) fails only the job that panics alone, after `PANIC_TRIES` panics,
//!   while the jobs batched with it are proved; `zkq_device_panics_total` counts them.
//! - A device that panics on everything stops the worker with a non-zero exit, its jobs back in
//!   the queue, none lost.
//! - A key file missing for a moment: the jobs go back to their queue (counted
//!   `zkq_jobs_total{outcome="requeued"}`) and are proved once it is back — before the fix
//!   they were committed `prover_error` for ever.
//! - A key file replaced by another setup of the same circuit (`snarkjs zkey contribute`):
//!   refused by its sha256 — before the fix its proofs verified against its own verifying key
//!   and were delivered "proved" although the registered key rejects them.
//!
//! Harness and isolation: `common/mod.rs`.

#[allow(dead_code)]
mod common;
mod process;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::{OutgoingJob, Submitter};

use common::{publish_confirmed, run_pipeline_test, witness_bytes, Db, Env, Worker};

/// Worker flags: small batches, so a panicking batch holds innocent jobs too.
const ARGS: [&str; 4] = ["--max-batch", "8", "--max-wait-ms", "50"];
/// The tenant whose jobs share the worker with the faults.
const BYSTANDER: &str = "bystander";
/// Longest any wait here may take.
const WITHIN: Duration = Duration::from_secs(120);

/// The worker's metrics (empty while the endpoint cannot be read).
async fn scrape(addr: &str) -> HashMap<String, f64> {
    common::metrics_samples(addr).await.unwrap_or_default()
}

fn jobs(env: &Env, prefix: &str, n: usize) -> Vec<OutgoingJob> {
    let witness = witness_bytes(MULTI_PUBLIC);
    (0..n).map(|k| env.good_job(&format!("{prefix}{k:03}"), &witness)).collect()
}

/// Another tenant, `bystander`, registered with `n` jobs of its own: whatever happens to the
/// test's tenant, these must all be proved with exactly one result and one reply each.
async fn bystander_jobs(env: &Env, n: usize) -> Vec<OutgoingJob> {
    env.store().await.add_tenant(BYSTANDER, 1).await.expect("add the bystander tenant");
    jobs(env, "by-", n).into_iter().map(|j| OutgoingJob { tenant: BYSTANDER.into(), ..j }).collect()
}

/// Asserts every bystander job was proved once and replied to once.
async fn assert_bystander_unharmed(env: &Env, by: &[OutgoingJob], replies: &std::sync::Arc<std::sync::Mutex<HashMap<String, u32>>>) {
    let got = results(env, "by-").await;
    assert_eq!(got.len(), by.len(), "every bystander job has its one result row");
    assert!(got.values().all(|(s, _, _)| s == "proved"), "{got:?}");
    let t = Instant::now();
    loop {
        let seen = replies.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if by.iter().all(|j| seen.get(&j.job_id) == Some(&1)) {
            return;
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "a bystander job was answered twice: {twice:?}");
        assert!(t.elapsed() < Duration::from_secs(30), "bystander replies: {} of {}", by.iter().filter(|j| seen.contains_key(&j.job_id)).count(), by.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(status, reason_code, reason)` of every result whose job id starts with `prefix`.
async fn results(env: &Env, prefix: &str) -> HashMap<String, (String, Option<String>, Option<String>)> {
    env.pg()
        .await
        .query("select job_id, status, reason_code, reason from job_results where job_id like $1", &[&format!("{prefix}%")])
        .await
        .expect("results")
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

async fn wait_until<F, Fut>(what: &str, worker: &mut Worker, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < WITHIN, "{what}: not within {WITHIN:?}\n{}", worker.log_tail(40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the worker consumes `tenant`'s routine queue: publishing into a quorum queue
/// another connection is still creating can be refused (nacked) by RabbitMQ 3.10 under load.
async fn wait_consuming(env: &Env, tenant: &str, worker: &mut Worker) {
    let queue = env.amqp.tenant_queue(tenant, 0);
    let t = Instant::now();
    while common::try_queue_counts(env, &queue).await.is_none_or(|(_, consumers)| consumers == 0) {
        assert!(t.elapsed() < WITHIN, "the worker never consumed {queue}\n{}", worker.log_tail(30));
        assert!(worker.is_running(), "the worker exited\n{}", worker.log_tail(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_results(env: &Env, n: i64, worker: &mut Worker, what: &str) {
    let mut db = Db::new(env);
    let t = Instant::now();
    while db.results().await != Some(n) {
        assert!(t.elapsed() < WITHIN, "{what}: {:?} of {n} results within {WITHIN:?}\n{}", db.results().await, worker.log_tail(40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_device_panic_fails_only_the_job_that_panics_alone() {
    run_pipeline_test("panic", |env| async move {
        let addr = common::free_local_addr();
        let mut args = ARGS.to_vec();
        args.extend(["--metrics-addr", &addr]);
        let by = bystander_jobs(&env, 30).await;
        let mut worker = Worker::start_with_env(&env, "panic", &args, &[("ZKQ_TEST_DEVICE_PANIC", "boom-")]);
        wait_consuming(&env, common::TENANT, &mut worker).await;
        wait_consuming(&env, BYSTANDER, &mut worker).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter");
        let mut all = jobs(&env, "ok-", 40);
        all.insert(17, jobs(&env, "boom-", 1).remove(0));
        assert_eq!(publish_confirmed(&submitter, &all).await.len(), all.len());
        assert_eq!(publish_confirmed(&submitter, &by).await.len(), by.len());
        let (_task, replies) = common::collect_replies(submitter);
        wait_results(&env, (all.len() + by.len()) as i64, &mut worker, "every job has a result").await;
        assert_bystander_unharmed(&env, &by, &replies).await;
        let got = results(&env, "").await;
        for (id, (status, code, reason)) in got.iter().filter(|(id, _)| !id.starts_with("by-")) {
            if id.starts_with("boom-") {
                assert_eq!((status.as_str(), code.as_deref()), ("failed", Some("prover_error")), "{id}: {reason:?}");
                assert!(reason.as_deref().is_some_and(|r| r.contains("panicked")), "the reason says what happened: {reason:?}");
            } else {
                assert_eq!(status, "proved", "{id} was batched with the poison job and must still be proved: {reason:?}");
            }
        }
        let m = scrape(&addr).await;
        let panics = m.get("zkq_device_panics_total").copied().unwrap_or(0.0);
        assert!(panics >= 2.0, "panics are counted (the batch, then the job alone): {panics}");
        assert!(worker.is_running(), "one poison job does not stop the worker\n{}", worker.log_tail(30));
        eprintln!("panic: {} results, {panics} panics contained, the poison job failed alone: {:?}", got.len(), got.iter().find(|(k, _)| k.starts_with("boom-")).map(|(_, v)| v));
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success());
    });
}

#[test]
fn a_device_that_panics_on_everything_stops_the_worker_and_loses_nothing() {
    run_pipeline_test("panicall", |env| async move {
        let args = ["--max-batch", "1", "--max-wait-ms", "0", "--metrics-addr", "off"];
        let mut worker = Worker::start_with_env(&env, "panicall", &args, &[("ZKQ_TEST_DEVICE_PANIC", "all-")]);
        wait_consuming(&env, common::TENANT, &mut worker).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter");
        let all = jobs(&env, "all-", 12);
        assert_eq!(publish_confirmed(&submitter, &all).await.len(), all.len());
        let t = Instant::now();
        let status = loop {
            if let Some(s) = worker.exit_status() {
                break s;
            }
            assert!(t.elapsed() < WITHIN, "the worker kept running with a device that panics on every batch\n{}", worker.log_tail(40));
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(!status.success(), "a worker whose device is gone exits non-zero: {status}");
        assert!(worker.log_tail(80).contains("the device is gone"), "{}", worker.log_tail(40));
        // Nothing is lost: every job has a final result (failed after panicking alone twice) or is
        // back in its queue.
        let done = results(&env, "all-").await;
        let (ready, _) = common::queue_counts(&env, &env.amqp.tenant_queue(common::TENANT, 0)).await;
        let (shared, _) = common::queue_counts(&env, &env.amqp.jobs_queue()).await;
        assert_eq!(done.len() + ready as usize + shared as usize, all.len(), "results {done:?}, {ready} + {shared} queued");
        assert!(done.values().all(|(s, c, _)| s == "failed" && c.as_deref() == Some("prover_error")));
        eprintln!("panicall: worker exited {status} after {:.1} s; {} jobs failed alone, {} back in the queue", t.elapsed().as_secs_f64(), done.len(), ready + shared);
    });
}

#[test]
fn a_missing_key_file_requeues_the_jobs_until_it_is_back() {
    run_pipeline_test("keygone", |env| async move {
        let key = env.key_dir().join(format!("{}.zkey", env.circuit_id));
        let aside = env.dir.join("aside.zkey");
        std::fs::rename(&key, &aside).expect("move the key away");
        let addr = common::free_local_addr();
        let mut args = ARGS.to_vec();
        args.extend(["--metrics-addr", &addr]);
        let mut worker = Worker::start(&env, "keygone", &args);
        wait_consuming(&env, common::TENANT, &mut worker).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter");
        let all = jobs(&env, "kg-", 5);
        assert_eq!(publish_confirmed(&submitter, &all).await.len(), all.len());
        wait_until("the jobs are requeued", &mut worker, || {
            let addr = addr.clone();
            async move { scrape(&addr).await.get("zkq_jobs_total{outcome=\"requeued\"}").is_some_and(|v| *v >= 5.0) }
        })
        .await;
        assert!(results(&env, "kg-").await.is_empty(), "nothing is committed while the key store fails");
        std::fs::rename(&aside, &key).expect("put the key back");
        wait_results(&env, 5, &mut worker, "the jobs are proved once the key is back").await;
        let got = results(&env, "kg-").await;
        assert!(got.values().all(|(s, _, _)| s == "proved"), "{got:?}");
        let requeued = scrape(&addr).await.get("zkq_jobs_total{outcome=\"requeued\"}").copied().unwrap_or(0.0);
        eprintln!("keygone: {requeued} requeues while the key was missing, then all 5 proved");
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success());
    });
}

#[test]
fn a_key_file_that_is_not_the_registered_key_is_refused() {
    run_pipeline_test("keyswap", |env| async move {
        // Another setup of the same circuit: same shape, different δ.
        let key = env.key_dir().join(format!("{}.zkey", env.circuit_id));
        let other = env.dir.join("other.zkey");
        let o = Command::new(process::snarkjs())
            .args(["zkey", "contribute"])
            .arg(&key)
            .arg(&other)
            .args(["--name=attacker", "-e=not the registered setup"])
            .output()
            .expect("run snarkjs zkey contribute");
        assert!(o.status.success(), "snarkjs zkey contribute: {}", String::from_utf8_lossy(&o.stderr));
        std::fs::copy(&other, &key).expect("replace the key file");
        let addr = common::free_local_addr();
        let mut args = ARGS.to_vec();
        args.extend(["--metrics-addr", &addr]);
        let mut worker = Worker::start(&env, "keyswap", &args);
        wait_consuming(&env, common::TENANT, &mut worker).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter");
        let all = jobs(&env, "ks-", 3);
        assert_eq!(publish_confirmed(&submitter, &all).await.len(), all.len());
        wait_until("the jobs are refused and requeued", &mut worker, || {
            let addr = addr.clone();
            async move { scrape(&addr).await.get("zkq_jobs_total{outcome=\"requeued\"}").is_some_and(|v| *v >= 3.0) }
        })
        .await;
        let got = results(&env, "ks-").await;
        assert!(!got.values().any(|(s, _, _)| s == "proved"), "a proof made with a key that is not the registered one is never delivered: {got:?}");
        let log = worker.log_tail(200);
        assert!(log.contains("is not circuit") && log.contains("registered id"), "the log says why\n{log}");
        eprintln!("keyswap: refused, {} results; the key's sha256 did not match the circuit id", got.len());
        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success());
    });
}
