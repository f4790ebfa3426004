//! The worker's memory under a flood of large bodies (issue 16, points 4 and 11), against the
//! REAL RabbitMQ and PostgreSQL with the real `zkq worker`.
//!
//! A deployment has a circuit with a large witness registered (1 MiB: 32,768 values). A hostile
//! tenant floods its ten priority queues with bodies of up to that size that are no valid job —
//! many times the worker's byte budget in all. Before the budget (issue 16) the worker's
//! prefetch let the broker push 32 per queue at once, all held in the intake: its resident
//! memory grew by about 240 MiB here. With the budget the prefetch is scaled so that every
//! consumer's deliveries, each as large as the largest witness, fit ¾ of the budget, and
//! consumption pauses above that; so its peak resident memory (`VmHWM`) stays within the budget
//! above what it used before the flood, and a bystander tenant's jobs all complete with exactly
//! one result each. Every flood message is answered (`bad_witness`).
//! Needs `scripts/services.sh`; see `common/mod.rs` for isolation and cleanup.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::BasicProperties;
use zkq_scheduler::client::now_ms;
use zkq_scheduler::store::NewCircuit;
use zkq_scheduler::{protocol, topology, AmqpConfig};

use common::{run_pipeline_test, Bystanders, Env, Worker};

/// The flooding tenant.
const FLOOD_TENANT: &str = "flood";
/// The worker's byte budget, MiB.
const BUDGET_MIB: u64 = 32;
/// Values of the large registered circuit: its `.wtns` is 76 + 32 × 32,768 bytes, just over
/// 1 MiB (registered as a record only: no job of it is proved).
const LARGE_N_VARS: i32 = 32_768;
/// Size of each flood body: up to the large witness, and no witness of either circuit.
const BODY_BYTES: usize = 1 << 20;
/// Flood messages per priority queue (10 queues). With `--max-batch 8` each consumer may be
/// pushed 32 at once, so the broker could hand the worker 320 MiB; the flood is 400 MiB.
const PER_QUEUE: usize = 40;
/// Bystander jobs.
const BYSTANDERS: usize = 16;
/// How long the flood and the bystanders may take.
const WITHIN: Duration = Duration::from_secs(240);

/// `VmRSS` and `VmHWM` of a process, bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
            * 1024
    };
    (kib("VmRSS:"), kib("VmHWM:"))
}

/// Publishes the flood: `PER_QUEUE` bodies of `BODY_BYTES` to each of the tenant's priority
/// queues, each a job of the registered circuit with its own id; confirms awaited in chunks.
async fn publish_flood(env: &Env) -> Vec<String> {
    let (conn, ch) = common::amqp_channel(env).await;
    ch.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm.select");
    let body: Vec<u8> = (0..BODY_BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let mut ids = Vec::new();
    for round in 0..PER_QUEUE {
        let mut confirms = Vec::new();
        for priority in 0..=9u8 {
            let id = format!("{}-flood-{priority}-{round:03}", env.name);
            let headers = protocol::job_headers(FLOOD_TENANT, &format!("sha256:{}", env.circuit_id), "", priority, None, now_ms());
            let props = BasicProperties::default().with_message_id(id.as_str().into()).with_delivery_mode(2).with_headers(headers);
            let confirm = ch
                .basic_publish(
                    env.amqp.jobs_exchange().as_str().into(),
                    AmqpConfig::tenant_routing_key(FLOOD_TENANT, priority).as_str().into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    &body,
                    props,
                )
                .await
                .expect("publish a flood message");
            confirms.push(confirm);
            ids.push(id);
        }
        for c in confirms {
            assert!(c.await.expect("confirm").is_ack(), "the broker takes every flood message");
        }
    }
    let _ = conn.close(200, "bye".into()).await;
    ids
}

/// What one flood run measured.
struct Flood {
    /// Resident memory before the flood, and its peak (`VmHWM`) after it, bytes.
    baseline: u64,
    peak: u64,
    /// `zkq_worker_consumption_pauses_total` at the end.
    pauses: f64,
    /// The worker's log.
    log: String,
}

impl Flood {
    fn growth(&self) -> u64 {
        self.peak.saturating_sub(self.baseline)
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / f64::from(1 << 20)
}

/// Registers the flood tenant and the large circuit, starts a worker with `budget_mib`, floods,
/// and checks that the bystanders complete once each, every flood message is answered
/// `bad_witness`, nothing is held at the end and the worker stops cleanly.
async fn flood(env: &Env, budget_mib: u64) -> Flood {
    let o = env.zkq().args(["tenant", "add", FLOOD_TENANT]).output().expect("run zkq tenant add");
    assert!(o.status.success(), "zkq tenant add: {}", String::from_utf8_lossy(&o.stderr));
    let large = NewCircuit {
        id: "5a".repeat(32),
        name: "large-witness".into(),
        n_vars: LARGE_N_VARS,
        n_public: 1,
        n_constraints: LARGE_N_VARS,
        domain_size: 65_536,
        zkey_bytes: 64 << 20,
        epsilon_micro: None,
    };
    env.store().await.add_circuit(&large).await.expect("register the large circuit's record");
    let (admin, ch) = common::amqp_channel(env).await;
    topology::declare(&ch, &env.amqp).await.expect("declare the topology");
    let _ = admin.close(200, "bye".into()).await;
    let addr = common::free_local_addr();
    let budget = budget_mib.to_string();
    let mut worker = Worker::start(
        env,
        &env.name,
        &["--max-batch", "8", "--max-wait-ms", "50", "--held-budget-mib", &budget, "--metrics-addr", &addr],
    );
    common::wait_consuming_tenant(env, &worker, FLOOD_TENANT).await;
    common::wait_consuming_tenant(env, &worker, common::TENANT).await;
    // Warm up: the bystanders' circuit key is loaded and a batch proved before the baseline.
    let warm = Bystanders::submit_as(env, "warm-up", 2).await;
    warm.assert_all_complete_once(env, &worker, WITHIN).await;
    let (baseline, _) = memory(worker.pid());

    let flood = tokio::spawn({
        let env = env.clone();
        async move { publish_flood(&env).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bystanders = Bystanders::submit(env, BYSTANDERS).await;
    let flood_ids = flood.await.expect("the flood publisher");
    bystanders.assert_all_complete_once(env, &worker, WITHIN).await;

    // Every flood message is answered: a bad_witness result row each.
    let pg = env.pg().await;
    let t = Instant::now();
    loop {
        let row = pg
            .query_one("select count(*), count(*) filter (where reason_code = 'bad_witness') from job_results where job_id = any($1)", &[&flood_ids])
            .await
            .expect("count the flood's results");
        let (rows, bad): (i64, i64) = (row.get(0), row.get(1));
        if rows == flood_ids.len() as i64 {
            assert_eq!(bad, rows, "every flood message fails bad_witness");
            break;
        }
        assert!(t.elapsed() < WITHIN, "{rows} of {} flood messages answered after {WITHIN:?}\n{}", flood_ids.len(), worker.log_tail(40));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (_, peak) = memory(worker.pid());
    let samples = common::metrics_samples(&addr).await.expect("the worker's /metrics");
    let pauses = samples.get("zkq_worker_consumption_pauses_total").copied().unwrap_or(f64::NAN);
    let held = samples.get("zkq_worker_held_bytes").copied().unwrap_or(f64::NAN);
    let (status, _) = worker.terminate(Duration::from_secs(60)).await;
    let log = std::fs::read_to_string(&worker.log).unwrap_or_default();
    let run = Flood { baseline, peak, pauses, log };
    eprintln!(
        "{}: {} MiB flooded; RSS before {:.1} MiB, peak {:.1} MiB (+{:.1} MiB, budget {budget_mib} MiB); {pauses} pauses",
        env.name,
        (flood_ids.len() * BODY_BYTES) >> 20,
        mib(run.baseline),
        mib(run.peak),
        mib(run.growth()),
    );
    assert!(status.success(), "worker exit: {status}\n{}", worker.log_tail(30));
    assert_eq!(held, 0.0, "nothing is held once every message is answered");
    run
}

/// The budget fits one largest witness per consumer: the prefetch is scaled to it, and the
/// worker's resident memory grows by less than the budget.
#[test]
fn a_flood_of_large_bodies_keeps_the_worker_within_its_byte_budget() {
    run_pipeline_test("memory-flood", |env| async move {
        let run = flood(&env, BUDGET_MIB).await;
        assert!(run.log.contains("prefetch scaled to fit the byte budget"), "the prefetch was scaled to the budget\n{}", run.log);
        assert!(
            run.growth() <= BUDGET_MIB << 20,
            "peak RSS grew by {:.1} MiB during the flood, over the {BUDGET_MIB} MiB budget",
            mib(run.growth())
        );
    });
}

/// A budget smaller than one largest witness per consumer (21 consumers, 8 MiB): the worker
/// says so, pauses consumption above ¾ of the budget and resumes at ⅜, loses nothing, and
/// its memory stays within the documented hard bound — one largest witness per consumer
/// (prefetch 1) plus the budget — far below the 240 MiB of the unbounded prefetch.
#[test]
fn a_budget_below_one_witness_per_consumer_pauses_consumption_and_loses_nothing() {
    run_pipeline_test("memory-pause", |env| async move {
        let budget_mib = 8;
        let run = flood(&env, budget_mib).await;
        assert!(run.log.contains("even one delivery per consumer does not fit"), "the worker warns\n{}", run.log);
        assert!(run.pauses >= 1.0, "consumption paused ({} pauses)", run.pauses);
        assert!(run.log.contains("consuming again"), "consumption resumed\n{}", run.log);
        let consumers = 1 + 2 * 10;
        let bound = consumers * (76 + 32 * LARGE_N_VARS as u64) + (budget_mib << 20);
        assert!(run.growth() <= bound, "peak RSS grew by {:.1} MiB, over the {:.1} MiB hard bound", mib(run.growth()), mib(bound));
    });
}
