//! `zkq-loadgen`: an open-loop load generator for zkq's job pipeline (RabbitMQ → `zkq worker`
//! → PostgreSQL → reply).
//!
//! Jobs are published on a fixed schedule — job `i` is due at `t0 + i / --rate` — for
//! `--warmup` seconds (not recorded) and then `--duration` seconds (recorded), never waiting
//! for earlier results. Each job's end-to-end latency runs from its *scheduled* send time to
//! the arrival of its result on the submitter's reply queue, both read from one monotonic clock
//! in this process, into an HdrHistogram (1 µs – 60 s, 3 significant digits): a generator or
//! broker stall is charged to the jobs it delayed (no coordinated omission). Publishes are
//! confirmed by the broker, pipelined (at most `--confirm-window` outstanding).
//!
//! After the run it reads the measured jobs' `job_results` rows (and their batches) from
//! PostgreSQL and shows, from the worker's side, where the time went: queue wait, batch wait,
//! witness load, each prove phase, verification, commit wait, batch size. It also samples
//! `/proc` at the start and end of the measured window and splits the machine's CPU between the
//! worker (`zkq`), RabbitMQ (`beam.smp`), PostgreSQL and the generator itself.
//!
//! ```text
//! cargo build --release -p zkq-cli -p zkq-bench
//! bash scripts/services.sh
//! # start a worker for the run (queue prefix `loadgen`, temporary key store), real proofs:
//! $CARGO_TARGET_DIR/release/zkq-loadgen --spawn-worker --purge --rate 100 --duration 60
//! # the pipeline's own capacity (no proving):
//! $CARGO_TARGET_DIR/release/zkq-loadgen --spawn-worker --null-prover --purge --rate 700
//! # against a worker you run yourself (tenant and circuit registered, same queue prefix):
//! $CARGO_TARGET_DIR/release/zkq-loadgen --queue-prefix zkq --circuit multi_public --rate 50
//! ```
//!
//! Progress goes to stderr once per second; the report (text or `--format json`) to stdout.
//! A spawned worker is stopped (SIGTERM, then SIGKILL after 15 s) when the run ends, when this
//! process fails, and — through `PR_SET_PDEATHSIG` — even when this process is killed.
//!
//! One task owns the [`Submitter`]: it publishes on schedule, collects confirms and reads
//! results (the submitter's reply consumer needs `&mut`, publishing `&`, so the two cannot be
//! split across tasks). It only timestamps and forwards; a second task keeps every count and
//! histogram and prints progress.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use lapin::options::{QueueDeclareOptions, QueuePurgeOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use zkq_bench::load::{cpu, ColumnSummary, JobIds, LatencyHistogram, LatencySummary, Schedule};
use zkq_bench::report::load_average;
use zkq_bench::tools::resolve_zkq;
use zkq_engine::fixtures::repo_root;
use zkq_scheduler::client::{OutgoingJob, Submitter};
use zkq_scheduler::keystore::KeyStore;
use zkq_scheduler::model::{CircuitRecord, Outcome};
use zkq_scheduler::store::{CircuitRef, NewCircuit, Store};
use zkq_scheduler::{topology, AmqpConfig, StoreConfig};

/// Open-loop load generator for the zkq job pipeline.
#[derive(Debug, Parser)]
#[command(name = "zkq-loadgen", version)]
struct Args {
    /// Arrival rate, jobs per second (sent on schedule, whatever the results).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,

    /// Recorded seconds of load.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,

    /// Seconds of load before the recorded window (sent and answered, not recorded).
    #[arg(long, default_value_t = 10.0)]
    warmup: f64,

    /// Seconds to wait after the last send for outstanding results; a recorded job still
    /// without a result then counts as an error.
    #[arg(long, default_value_t = 30.0)]
    grace: f64,

    /// Tenant (registered if missing).
    #[arg(long, default_value = "loadgen")]
    tenant: String,

    /// Circuit: a registered name (or name@version, sha256:<hex>). With --spawn-worker it must
    /// be a plain name, under which --zkey is registered if needed.
    #[arg(long, default_value = "multi_public")]
    circuit: String,

    /// The zkey --spawn-worker registers under --circuit [default:
    /// fixtures/circuits/multi_public/circuit.zkey].
    #[arg(long, value_name = "ZKEY")]
    zkey: Option<PathBuf>,

    /// The witness every job carries [default: fixtures/circuits/multi_public/witness.wtns].
    #[arg(long, value_name = "WTNS")]
    witness: Option<PathBuf>,

    /// Prefix of exchange and queue names (`<prefix>.jobs`).
    #[arg(long, default_value = "loadgen")]
    queue_prefix: String,

    /// RabbitMQ URI.
    #[arg(
        long,
        env = "ZKQ_AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp: String,

    /// PostgreSQL connection string.
    #[arg(
        long,
        env = "ZKQ_PG_URL",
        hide_env_values = true,
        default_value = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq"
    )]
    pg: String,

    /// Purge `<prefix>.jobs` before starting (drops jobs an aborted earlier run left behind;
    /// only for a queue prefix nobody else uses).
    #[arg(long)]
    purge: bool,

    /// Publishes awaiting their broker confirm, at most; when full, sending waits (and the
    /// delay is charged to the delayed jobs' latency).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    confirm_window: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Start `zkq worker` for the run (registering tenant and circuit first, with a temporary
    /// key store) and stop it at the end.
    #[arg(long)]
    spawn_worker: bool,

    /// The spawned worker skips proving (`zkq worker --null-prover`): the pipeline's own capacity.
    #[arg(long, requires = "spawn_worker")]
    null_prover: bool,

    /// The spawned worker commits proofs without attesting them (`zkq worker --no-attest`): run
    /// with and without it to measure what attestation and the transparency log cost.
    #[arg(long, requires = "spawn_worker")]
    no_attest: bool,

    /// The spawned worker admits without asking the admission policies (`zkq worker
    /// --no-policy`): run with and without it to measure what policy decisions cost.
    #[arg(long, requires = "spawn_worker")]
    no_policy: bool,

    /// The spawned worker's --max-batch.
    #[arg(long, default_value_t = 16, requires = "spawn_worker")]
    max_batch: usize,

    /// The spawned worker's --max-wait-ms.
    #[arg(long, default_value_t = 50, requires = "spawn_worker")]
    max_wait_ms: u64,

    /// The spawned worker's --threads [default: its own, one per core].
    #[arg(long, requires = "spawn_worker")]
    worker_threads: Option<usize>,

    /// The `zkq` binary [default: $CARGO_TARGET_DIR/release/zkq, else target/release/zkq].
    #[arg(long, value_name = "PATH", requires = "spawn_worker")]
    zkq_bin: Option<PathBuf>,

    /// The spawned worker's key store [default: a temporary directory].
    #[arg(long, value_name = "DIR", requires = "spawn_worker")]
    key_dir: Option<PathBuf>,

    /// Keep the spawned worker's log (ZKQ_LOG, default info) in this file [default: a
    /// temporary file; its tail is printed if the worker fails].
    #[arg(long, value_name = "FILE", requires = "spawn_worker")]
    worker_log: Option<PathBuf>,
}

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned text.
    Text,
    /// One JSON document.
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zkq-loadgen: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `block_on` polls `run` on this (the main) thread, so the worker child is spawned from a
    // thread that lives as long as the process (PR_SET_PDEATHSIG fires when the *thread* that
    // spawned the child exits).
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkq-loadgen: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn fixture_file(name: &str) -> PathBuf {
    let root = repo_root();
    std::fs::canonicalize(&root)
        .unwrap_or(root)
        .join("fixtures/circuits/multi_public")
        .join(name)
}

// ------------------------------------------------------------------------------ the worker

/// A `zkq worker` child; killed on drop if still running.
struct WorkerChild {
    child: Child,
    log: PathBuf,
}

impl WorkerChild {
    fn spawn(args: &Args, zkq: &Path, key_dir: &Path, log: &Path) -> Result<Self> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create the worker log {}", log.display()))?;
        let err = out.try_clone().context("cannot reopen the worker log")?;
        let mut cmd = Command::new(zkq);
        cmd.arg("worker")
            .args(["--amqp", &args.amqp, "--pg", &args.pg])
            .args(["--queue-prefix", &args.queue_prefix])
            .arg("--key-dir")
            .arg(key_dir)
            .args(["--max-batch", &args.max_batch.to_string()])
            .args(["--max-wait-ms", &args.max_wait_ms.to_string()])
            .args(["--worker-id", &format!("loadgen-{}", std::process::id())]);
        if args.null_prover {
            cmd.arg("--null-prover");
        }
        if args.no_attest {
            cmd.arg("--no-attest");
        }
        if args.no_policy {
            cmd.arg("--no-policy");
        }
        if let Some(t) = args.worker_threads {
            cmd.args(["--threads", &t.to_string()]);
        }
        if std::env::var_os("ZKQ_LOG").is_none() {
            cmd.env("ZKQ_LOG", "info");
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: the closure runs in the forked child before exec and only calls
            // async-signal-safe prctl(2).
            unsafe {
                cmd.pre_exec(|| {
                    // Die with the load generator, even if it is SIGKILLed.
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {} worker", zkq.display()))?;
        Ok(Self {
            child,
            log: log.to_owned(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(description)` once the child has exited.
    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// SIGTERM (the worker drains in-flight batches), then SIGKILL after `patience`.
    async fn stop(&mut self, patience: Duration) -> String {
        if let Some(s) = self.exited() {
            return format!("had already exited ({s})");
        }
        let start = Instant::now();
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals our own, not yet reaped child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        while start.elapsed() < patience {
            if let Some(s) = self.exited() {
                return format!(
                    "stopped by SIGTERM in {:.1} s ({s})",
                    start.elapsed().as_secs_f64()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        format!("killed (SIGKILL) after {} s of SIGTERM", patience.as_secs())
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for WorkerChild {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ------------------------------------------------------------------------------ services

fn is_local(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]")
}

/// The broker's port, when the URI names this machine.
fn local_amqp_port(uri: &str) -> Option<u16> {
    let u: lapin::uri::AMQPUri = uri.parse().ok()?;
    is_local(&u.authority.host).then_some(u.authority.port)
}

/// The database's port, when the connection string names this machine (TCP or socket).
fn local_pg_port(conn: &str) -> Option<u16> {
    let c: tokio_postgres::Config = conn.parse().ok()?;
    let local = c.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(h) => is_local(h),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => true,
    });
    local.then(|| c.get_ports().first().copied().unwrap_or(5432))
}

// ------------------------------------------------------------------------------ broker admin

/// (messages ready, consumers) of a queue, by passive declare.
async fn queue_state(channel: &Channel, queue: &str) -> Result<(u32, u32)> {
    let q = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("cannot inspect queue {queue}"))?;
    Ok((q.message_count(), q.consumer_count()))
}

// ------------------------------------------------------------------------------ the run

/// What the driver task tells the recorder, timestamped where it happened.
#[derive(Debug)]
enum Event {
    Published {
        idx: u64,
        at: Instant,
    },
    PublishFailed {
        idx: u64,
        error: String,
    },
    Confirmed,
    Nacked {
        job_id: String,
        error: String,
    },
    Result {
        job_id: String,
        at: Instant,
        failure: Option<(String, String)>,
        device: Option<String>,
    },
    AllPublished {
        at: Instant,
    },
    Closed {
        error: String,
    },
}

/// Publishes on schedule, collects confirms, reads results; forwards everything as events.
async fn drive(
    mut submitter: Submitter,
    schedule: Schedule,
    ids: JobIds,
    mut job: OutgoingJob,
    window: usize,
    tx: mpsc::UnboundedSender<Event>,
    mut stop: watch::Receiver<bool>,
) {
    let mut confirms = FuturesUnordered::new();
    let total = schedule.total_jobs();
    let mut next = 0u64;
    if total == 0 {
        let _ = tx.send(Event::AllPublished { at: Instant::now() });
    }
    loop {
        let sending = next < total && confirms.len() < window;
        let due = tokio::time::Instant::from_std(schedule.at(next.min(total)));
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(due), if sending => {
                // Send every job now due (a few at a time, so results keep being read).
                let now = Instant::now();
                let mut burst = 0;
                while next < total && schedule.at(next) <= now && confirms.len() < window && burst < 32 {
                    job.job_id = ids.id(next);
                    match submitter.publish(&job).await {
                        Ok(p) => {
                            let _ = tx.send(Event::Published { idx: next, at: Instant::now() });
                            confirms.push(p.confirmed());
                        }
                        Err(e) => {
                            let _ = tx.send(Event::PublishFailed { idx: next, error: e.to_string() });
                        }
                    }
                    next += 1;
                    burst += 1;
                }
                if next == total {
                    let _ = tx.send(Event::AllPublished { at: Instant::now() });
                }
            }
            Some(c) = confirms.next(), if !confirms.is_empty() => {
                let _ = tx.send(match c {
                    Ok(_) => Event::Confirmed,
                    Err((job_id, e)) => Event::Nacked { job_id, error: e.to_string() },
                });
            }
            r = submitter.next_result() => match r {
                Some(Ok(res)) => {
                    let at = Instant::now();
                    let failure = match res.outcome {
                        Outcome::Proved { .. } => None,
                        Outcome::Failed { code, reason } => Some((code.to_string(), reason)),
                    };
                    let _ = tx.send(Event::Result { job_id: res.job_id, at, failure, device: res.device });
                }
                Some(Err(e)) => {
                    let _ = tx.send(Event::Closed { error: e.to_string() });
                    break;
                }
                None => {
                    let _ = tx.send(Event::Closed { error: "the broker closed the reply queue".into() });
                    break;
                }
            }
        }
    }
}

const PUBLISHED: u8 = 1;
const DONE: u8 = 2;
const LOST: u8 = 4;

/// Every count and histogram of a run; fed by [`Event`]s.
struct Recorder {
    schedule: Schedule,
    ids: JobIds,
    state: Vec<u8>,
    latency: LatencyHistogram,
    last_second: LatencyHistogram,
    publish_lag: LatencyHistogram,
    published: u64,
    measured_published: u64,
    first_measured_publish: Option<Instant>,
    last_measured_publish: Option<Instant>,
    publish_failed: u64,
    confirmed: u64,
    nacked: u64,
    results: u64,
    measured_results: u64,
    measured_failed: u64,
    measured_lost: u64,
    window_completions: u64,
    duplicates: u64,
    in_flight: u64,
    failures: BTreeMap<String, u64>,
    failure_examples: Vec<String>,
    devices: BTreeSet<String>,
    all_published_at: Option<Instant>,
    closed: Option<String>,
}

impl Recorder {
    fn new(schedule: Schedule, ids: JobIds) -> Self {
        Self {
            schedule,
            ids,
            state: vec![0; usize::try_from(schedule.total_jobs()).unwrap_or(0)],
            latency: LatencyHistogram::new(),
            last_second: LatencyHistogram::new(),
            publish_lag: LatencyHistogram::new(),
            published: 0,
            measured_published: 0,
            first_measured_publish: None,
            last_measured_publish: None,
            publish_failed: 0,
            confirmed: 0,
            nacked: 0,
            results: 0,
            measured_results: 0,
            measured_failed: 0,
            measured_lost: 0,
            window_completions: 0,
            duplicates: 0,
            in_flight: 0,
            failures: BTreeMap::new(),
            failure_examples: Vec::new(),
            devices: BTreeSet::new(),
            all_published_at: None,
            closed: None,
        }
    }

    fn slot(&mut self, idx: u64) -> Option<&mut u8> {
        self.state.get_mut(usize::try_from(idx).ok()?)
    }

    fn failure(&mut self, code: &str, reason: &str) {
        *self.failures.entry(code.to_owned()).or_default() += 1;
        if self.failure_examples.len() < 5 {
            self.failure_examples.push(format!("{code}: {reason}"));
        }
    }

    fn apply(&mut self, ev: Event) {
        match ev {
            Event::Published { idx, at } => {
                self.published += 1;
                self.in_flight += 1;
                if let Some(s) = self.slot(idx) {
                    *s |= PUBLISHED;
                }
                if self.schedule.is_measured(idx) {
                    self.measured_published += 1;
                    self.first_measured_publish.get_or_insert(at);
                    self.last_measured_publish = Some(at);
                    self.publish_lag
                        .record(at.saturating_duration_since(self.schedule.at(idx)));
                }
            }
            Event::PublishFailed { idx, error } => {
                self.publish_failed += 1;
                if let Some(s) = self.slot(idx) {
                    *s |= LOST;
                }
                if self.schedule.is_measured(idx) {
                    self.measured_lost += 1;
                }
                self.failure("publish_failed", &error);
            }
            Event::Confirmed => self.confirmed += 1,
            Event::Nacked { job_id, error } => {
                self.nacked += 1;
                let Some(idx) = self.ids.index(&job_id) else {
                    return;
                };
                let before = self.slot(idx).map_or(0, |s| *s);
                if before & (DONE | LOST) == 0 {
                    if let Some(s) = self.slot(idx) {
                        *s |= LOST;
                    }
                    self.in_flight = self.in_flight.saturating_sub(1);
                    if self.schedule.is_measured(idx) {
                        self.measured_lost += 1;
                    }
                }
                self.failure("publish_nacked", &error);
            }
            Event::Result {
                job_id,
                at,
                failure,
                device,
            } => {
                let Some(idx) = self.ids.index(&job_id) else {
                    return;
                };
                let Some(s) = self.slot(idx) else { return };
                if *s & DONE != 0 {
                    self.duplicates += 1;
                    return;
                }
                let was_lost = *s & LOST != 0;
                *s |= DONE;
                if !was_lost {
                    self.in_flight = self.in_flight.saturating_sub(1);
                }
                self.results += 1;
                if let Some(d) = device {
                    self.devices.insert(d);
                }
                let latency = at.saturating_duration_since(self.schedule.at(idx));
                if (self.schedule.window_start()..=self.schedule.window_end()).contains(&at) {
                    self.window_completions += 1;
                }
                let measured = self.schedule.is_measured(idx);
                if measured && was_lost {
                    // Nacked (or its publish reported failed), yet it was queued and answered.
                    self.measured_lost -= 1;
                }
                match failure {
                    None => {
                        self.last_second.record(latency);
                        if measured {
                            self.measured_results += 1;
                            self.latency.record(latency);
                        }
                    }
                    Some((code, reason)) => {
                        if measured {
                            self.measured_results += 1;
                            self.measured_failed += 1;
                        }
                        self.failure(&code, &reason);
                    }
                }
            }
            Event::AllPublished { at } => self.all_published_at = Some(at),
            Event::Closed { error } => self.closed = Some(error),
        }
    }

    fn progress(&mut self, start: Instant) {
        let now = Instant::now();
        let phase = if now < self.schedule.window_start() {
            "warm-up"
        } else if self.all_published_at.is_none() {
            "measure"
        } else {
            "drain"
        };
        eprintln!(
            "[{:>6.1} s] {phase:<7} sent {:>7}  done {:>7}  in flight {:>6}  p95 last 1 s {:>8.1} ms  p95 recorded {:>8.1} ms  errors {}",
            now.duration_since(start).as_secs_f64(),
            self.published,
            self.results,
            self.in_flight,
            self.last_second.quantile_ms(0.95),
            self.latency.quantile_ms(0.95),
            self.failures.values().sum::<u64>(),
        );
        self.last_second.reset();
    }
}

/// Worker-side figures from PostgreSQL, per measured job with a result (ms unless noted).
#[derive(Debug, Clone, Serialize)]
struct WorkerSide {
    rows: usize,
    batches: usize,
    queue_wait_ms: ColumnSummary,
    batch_wait_ms: ColumnSummary,
    witness_load_ms: ColumnSummary,
    compute_h_ms: ColumnSummary,
    compute_a_ms: ColumnSummary,
    compute_b_g1_ms: ColumnSummary,
    compute_b_g2_ms: ColumnSummary,
    compute_c_ms: ColumnSummary,
    prove_ms: ColumnSummary,
    verify_ms: ColumnSummary,
    device_batch_ms: ColumnSummary,
    commit_wait_ms: ColumnSummary,
    batch_size: ColumnSummary,
    /// Σ device wall time of these jobs' batches / (last batch end − first batch start).
    device_busy_fraction: f64,
    /// First batch start to last batch end, seconds.
    batch_span_s: f64,
}

async fn worker_side(pg: &str, job_ids: &[String]) -> Result<WorkerSide> {
    let (client, connection) = tokio_postgres::connect(pg, tokio_postgres::NoTls)
        .await
        .context("cannot connect to PostgreSQL for the worker-side figures")?;
    let conn = tokio::spawn(connection);
    let stmt = client
        .prepare(
            "select r.queue_wait_ms, r.witness_load_ms, r.compute_h_ms, r.compute_a_ms,
                    r.compute_b_g1_ms, r.compute_b_g2_ms, r.compute_c_ms, r.verify_ms,
                    r.batch_size::float8,
                    (extract(epoch from (b.started_at - r.received_at)) * 1000)::float8,
                    (extract(epoch from (b.finished_at - b.started_at)) * 1000)::float8,
                    (extract(epoch from (r.completed_at - b.finished_at)) * 1000)::float8,
                    r.batch_id::text,
                    extract(epoch from b.started_at)::float8,
                    extract(epoch from b.finished_at)::float8
             from job_results r left join batches b on b.id = r.batch_id
             where r.job_id = any($1::text[])",
        )
        .await?;
    let mut cols: Vec<Vec<f64>> = (0..13).map(|_| Vec::with_capacity(job_ids.len())).collect();
    let mut batches: HashSet<String> = HashSet::new();
    let mut device_ms_total = 0.0;
    let (mut first_start, mut last_end) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut rows = 0;
    for chunk in job_ids.chunks(10_000) {
        for row in client.query(&stmt, &[&chunk]).await? {
            rows += 1;
            let f = |i: usize| row.get::<_, Option<f64>>(i).unwrap_or(f64::NAN);
            let v: Vec<f64> = (0..12).map(f).collect();
            let prove = v[2] + v[3] + v[4] + v[5] + v[6];
            // queue, batch wait, witness, h, a, b_g1, b_g2, c, prove, verify, device, commit, size
            for (col, x) in cols.iter_mut().zip([
                v[0], v[9], v[1], v[2], v[3], v[4], v[5], v[6], prove, v[7], v[10], v[11], v[8],
            ]) {
                col.push(x);
            }
            if let Some(b) = row.get::<_, Option<String>>(12) {
                if batches.insert(b) && !v[10].is_nan() {
                    device_ms_total += v[10];
                    first_start =
                        first_start.min(row.get::<_, Option<f64>>(13).unwrap_or(f64::INFINITY));
                    last_end =
                        last_end.max(row.get::<_, Option<f64>>(14).unwrap_or(f64::NEG_INFINITY));
                }
            }
        }
    }
    drop(client);
    let _ = conn.await;
    let s = |i: usize| ColumnSummary::of(&cols[i]);
    Ok(WorkerSide {
        rows,
        batches: batches.len(),
        queue_wait_ms: s(0),
        batch_wait_ms: s(1),
        witness_load_ms: s(2),
        compute_h_ms: s(3),
        compute_a_ms: s(4),
        compute_b_g1_ms: s(5),
        compute_b_g2_ms: s(6),
        compute_c_ms: s(7),
        prove_ms: s(8),
        verify_ms: s(9),
        device_batch_ms: s(10),
        commit_wait_ms: s(11),
        batch_size: s(12),
        device_busy_fraction: if last_end > first_start {
            device_ms_total / 1e3 / (last_end - first_start)
        } else {
            0.0
        },
        batch_span_s: (last_end - first_start).max(0.0),
    })
}

/// The whole report.
#[derive(Debug, Serialize)]
struct Report {
    circuit: String,
    circuit_id: String,
    tenant: String,
    queue_prefix: String,
    worker: String,
    prover: String,
    offered_rate: f64,
    warmup_s: f64,
    duration_s: f64,
    grace_s: f64,
    recorded_jobs: u64,
    achieved_publish_rate: f64,
    completed_rate: f64,
    published: u64,
    confirmed: u64,
    nacked: u64,
    publish_failed: u64,
    recorded_results: u64,
    recorded_failed: u64,
    recorded_without_result: u64,
    recorded_publish_lost: u64,
    /// Recorded jobs never sent because the run was interrupted (not counted as errors).
    recorded_not_sent: u64,
    errors: u64,
    error_rate: f64,
    failures: BTreeMap<String, u64>,
    failure_examples: Vec<String>,
    duplicate_results: u64,
    latency_ms: LatencySummary,
    publish_lag_ms: LatencySummary,
    worker_side: Option<WorkerSide>,
    worker_side_error: Option<String>,
    cpu_percent_of_one_core: Option<cpu::Split>,
    cpu_window_s: f64,
    queue_depth_at_start: u32,
    queue_depth_at_end: Option<u32>,
    load_average_before: Option<String>,
    load_average_after: Option<String>,
    interrupted: bool,
    worker_died: Option<String>,
    reply_stream_error: Option<String>,
    worker_exit: Option<String>,
}

#[allow(clippy::too_many_lines)]
async fn run(args: Args) -> Result<()> {
    ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate must be a positive number"
    );
    ensure!(
        args.duration.is_finite() && args.duration > 0.0,
        "--duration must be positive"
    );
    ensure!(
        args.warmup.is_finite() && args.warmup >= 0.0,
        "--warmup must be ≥ 0"
    );
    ensure!(
        args.grace.is_finite() && args.grace >= 0.0,
        "--grace must be ≥ 0"
    );
    let load_before = load_average();
    let witness_path = args
        .witness
        .clone()
        .unwrap_or_else(|| fixture_file("witness.wtns"));
    let witness = std::fs::read(&witness_path)
        .with_context(|| format!("cannot read the witness {}", witness_path.display()))?;
    let store = Store::connect(&StoreConfig {
        url: args.pg.clone(),
        ..Default::default()
    })
    .await
    .context("cannot reach PostgreSQL")?;
    let amqp = AmqpConfig {
        uri: args.amqp.clone(),
        prefix: args.queue_prefix.clone(),
        ..Default::default()
    };
    let tmp = tempfile::Builder::new()
        .prefix("zkq-loadgen-")
        .tempdir()
        .context("cannot create a temporary directory")?;

    // Tenant and circuit.
    if store.tenant(&args.tenant).await?.is_none() {
        store.add_tenant(&args.tenant, 1).await?;
        eprintln!("registered tenant {}", args.tenant);
    }
    let (circuit, key_dir): (CircuitRecord, Option<PathBuf>) = if args.spawn_worker {
        let Some(CircuitRef::Name(name)) = CircuitRef::parse(&args.circuit) else {
            bail!(
                "--circuit {}: with --spawn-worker give a plain name (the --zkey is registered under it)",
                args.circuit
            );
        };
        let key_dir = args
            .key_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("keys"));
        let zkey = args
            .zkey
            .clone()
            .unwrap_or_else(|| fixture_file("circuit.zkey"));
        let stored = KeyStore::open(&key_dir)?.add(&zkey)?;
        // A zkey registered earlier (under any name) is used as it is.
        let c = match store
            .resolve_circuit(&format!("sha256:{}", stored.id))
            .await?
        {
            Some(c) => c,
            None => {
                store
                    .add_circuit(&NewCircuit::from_zkey_info(&name, &stored.info)?)
                    .await?
            }
        };
        (c, Some(key_dir))
    } else {
        let c = store.resolve_circuit(&args.circuit).await?.ok_or_else(|| {
            anyhow!(
                "circuit `{}` is not registered (register it with `zkq circuit add`, or use --spawn-worker)",
                args.circuit
            )
        })?;
        (c, None)
    };
    drop(store);

    // Broker: topology, leftovers, readiness.
    let admin = Connection::connect(&args.amqp, ConnectionProperties::default())
        .await
        .context("cannot reach RabbitMQ")?;
    let admin_ch = admin.create_channel().await?;
    topology::declare(&admin_ch, &amqp).await?;
    // Jobs go to the tenant's own queue (priority 0): that is the queue to watch.
    topology::declare_tenant(&admin_ch, &amqp, &args.tenant, 0).await?;
    let queue = amqp.tenant_queue(&args.tenant, 0);
    let (mut depth_at_start, consumers_before) = queue_state(&admin_ch, &queue).await?;
    if args.purge && depth_at_start > 0 {
        let n = admin_ch
            .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
            .await?;
        eprintln!("purged {n} messages left in {queue}");
        depth_at_start = queue_state(&admin_ch, &queue).await?.0;
    } else if depth_at_start > 0 {
        eprintln!(
            "warning: {queue} already holds {depth_at_start} messages; they will be served first (--purge drops them)"
        );
    }

    let mut worker = None;
    if let Some(key_dir) = &key_dir {
        let zkq = resolve_zkq(args.zkq_bin.clone())?;
        let log = args
            .worker_log
            .clone()
            .unwrap_or_else(|| tmp.path().join("worker.log"));
        let mut w = WorkerChild::spawn(&args, &zkq, key_dir, &log)?;
        let ready_by = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = w.exited() {
                bail!(
                    "the worker exited before consuming ({status}); its log:\n{}",
                    w.log_tail(20)
                );
            }
            if queue_state(&admin_ch, &queue).await?.1 > consumers_before {
                break;
            }
            ensure!(
                Instant::now() < ready_by,
                "the worker did not start consuming {queue} within 60 s; its log:\n{}",
                w.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "worker {} started (pid {}, {}max batch {}, max wait {} ms)",
            zkq.display(),
            w.pid(),
            if args.null_prover {
                "null prover, "
            } else {
                ""
            },
            args.max_batch,
            args.max_wait_ms
        );
        worker = Some(w);
    } else {
        let consumers = queue_state(&admin_ch, &queue).await?.1;
        if consumers == 0 {
            eprintln!("warning: nobody consumes {queue}: start `zkq worker --queue-prefix {}` (or use --spawn-worker)", args.queue_prefix);
        }
    }

    // The run.
    let submitter = Submitter::connect(&amqp)
        .await
        .context("cannot connect the submitter")?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let ids = JobIds::new(&run_id);
    let start = Instant::now();
    let schedule = Schedule::new(
        start + Duration::from_millis(100),
        args.rate,
        args.warmup,
        args.duration,
    );
    eprintln!(
        "run {run_id}: {} jobs/s of {} ({}) for {} s after {} s warm-up: {} jobs, {} recorded",
        args.rate,
        circuit.label(),
        witness_path.display(),
        args.duration,
        args.warmup,
        schedule.total_jobs(),
        schedule.measured_jobs
    );
    let job = OutgoingJob {
        job_id: String::new(),
        tenant: args.tenant.clone(),
        circuit: format!("sha256:{}", circuit.id),
        purpose: String::new(),
        priority: 0,
        deadline_ms: None,
        witness,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let driver = tokio::spawn(drive(
        submitter,
        schedule,
        ids.clone(),
        job,
        args.confirm_window as usize,
        tx,
        stop_rx,
    ));
    let (abort_tx, mut abort) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            if let Ok(mut term) = signal(SignalKind::terminate()) {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            } else {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        let _ = abort_tx.send(true);
    });

    // Whose CPU is whose: the worker child, and the servers listening on the ports we use.
    let roles = cpu::Roles {
        loadgen: std::process::id(),
        worker: worker.as_ref().map(WorkerChild::pid),
        broker: local_amqp_port(&args.amqp).and_then(cpu::listener_pid),
        database: local_pg_port(&args.pg).and_then(cpu::listener_pid),
    };
    let mut rec = Recorder::new(schedule, ids.clone());
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::from_std(start + Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cpu_start: Option<(Instant, cpu::Snapshot)> = None;
    let mut cpu_end: Option<(Instant, cpu::Snapshot)> = None;
    let mut interrupted = false;
    let mut worker_died: Option<String> = None;
    let grace = Duration::from_secs_f64(args.grace);
    let deadline = |rec: &Recorder| {
        rec.all_published_at
            .map(|t| tokio::time::Instant::from_std(t + grace))
    };
    loop {
        let until = deadline(&rec);
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => rec.apply(ev),
                None => break,
            },
            _ = tick.tick() => {
                rec.progress(start);
                if let Some(status) = worker.as_mut().and_then(WorkerChild::exited) {
                    eprintln!("the worker exited during the run ({status}); stopping");
                    worker_died = Some(status);
                    break;
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(schedule.window_start())), if cpu_start.is_none() => {
                cpu_start = Some((Instant::now(), cpu::Snapshot::take()));
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(schedule.window_end())), if cpu_start.is_some() && cpu_end.is_none() => {
                cpu_end = Some((Instant::now(), cpu::Snapshot::take()));
            }
            _ = async { if let Some(u) = until { tokio::time::sleep_until(u).await } }, if until.is_some() => break,
            _ = abort.changed() => {
                interrupted = true;
                eprintln!("interrupted: stopping and reporting what was measured");
                break;
            }
        }
        if rec.closed.is_some() {
            break;
        }
        if rec.all_published_at.is_some() && rec.in_flight == 0 {
            break;
        }
    }
    if cpu_start.is_some() && cpu_end.is_none() {
        cpu_end = Some((Instant::now(), cpu::Snapshot::take()));
    }
    let _ = stop_tx.send(true);
    let _ = driver.await;
    // Drain events already forwarded.
    while let Ok(ev) = rx.try_recv() {
        rec.apply(ev);
    }
    rec.progress(start);

    let depth_at_end = queue_state(&admin_ch, &queue).await.ok().map(|s| s.0);
    let worker_exit = match worker.as_mut() {
        Some(w) => {
            let s = w.stop(Duration::from_secs(15)).await;
            eprintln!("worker {s}");
            Some(s)
        }
        None => None,
    };
    let _ = admin.close(200, "bye".into()).await;

    // Recorded jobs that were published and not lost at the broker.
    let measured_ids: Vec<String> = (schedule.warmup_jobs..schedule.total_jobs())
        .filter(|&i| {
            usize::try_from(i)
                .ok()
                .and_then(|i| rec.state.get(i))
                .is_some_and(|s| s & DONE != 0)
        })
        .map(|i| ids.id(i))
        .collect();
    let (worker_side, worker_side_error) = match worker_side(&args.pg, &measured_ids).await {
        Ok(w) => (Some(w), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };

    let measured = schedule.measured_jobs;
    // Recorded jobs whose send was attempted (all of them unless the run was cut short).
    let attempted = (schedule.warmup_jobs..schedule.total_jobs())
        .filter(|&i| {
            usize::try_from(i)
                .ok()
                .and_then(|i| rec.state.get(i))
                .is_some_and(|s| s & (PUBLISHED | LOST) != 0)
        })
        .count() as u64;
    let without_result = attempted.saturating_sub(rec.measured_results + rec.measured_lost);
    let errors = rec.measured_failed + rec.measured_lost + without_result;
    let publish_span = match (rec.first_measured_publish, rec.last_measured_publish) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64() + 1.0 / args.rate,
        _ => 0.0,
    };
    let cpu_split = match (&cpu_start, &cpu_end) {
        (Some((ta, a)), Some((tb, b))) => Some((
            cpu::Split::between(
                a,
                b,
                tb.duration_since(*ta).as_secs_f64(),
                cpu::ticks_per_second(),
                &roles,
                std::thread::available_parallelism().map_or(1, usize::from),
            ),
            tb.duration_since(*ta).as_secs_f64(),
        )),
        _ => None,
    };
    let null = rec.devices.iter().any(|d| d.contains("null prover"));
    let report = Report {
        circuit: circuit.label(),
        circuit_id: circuit.id.clone(),
        tenant: args.tenant.clone(),
        queue_prefix: args.queue_prefix.clone(),
        worker: if args.spawn_worker {
            format!(
                "spawned: max batch {}, max wait {} ms{}",
                args.max_batch,
                args.max_wait_ms,
                args.worker_threads
                    .map_or(String::new(), |t| format!(", {t} threads"))
            )
        } else {
            "external".into()
        },
        prover: if null || args.null_prover {
            "null (no proving)".into()
        } else {
            rec.devices.iter().cloned().collect::<Vec<_>>().join(", ")
        },
        offered_rate: args.rate,
        warmup_s: args.warmup,
        duration_s: args.duration,
        grace_s: args.grace,
        recorded_jobs: measured,
        achieved_publish_rate: if publish_span > 0.0 {
            rec.measured_published as f64 / publish_span
        } else {
            0.0
        },
        completed_rate: rec.window_completions as f64 / args.duration,
        published: rec.published,
        confirmed: rec.confirmed,
        nacked: rec.nacked,
        publish_failed: rec.publish_failed,
        recorded_results: rec.measured_results,
        recorded_failed: rec.measured_failed,
        recorded_without_result: without_result,
        recorded_publish_lost: rec.measured_lost,
        recorded_not_sent: measured - attempted,
        errors,
        error_rate: if attempted > 0 {
            errors as f64 / attempted as f64
        } else {
            0.0
        },
        failures: rec.failures.clone(),
        failure_examples: rec.failure_examples.clone(),
        duplicate_results: rec.duplicates,
        latency_ms: rec.latency.summary(),
        publish_lag_ms: rec.publish_lag.summary(),
        worker_side,
        worker_side_error,
        cpu_percent_of_one_core: cpu_split.map(|c| c.0),
        cpu_window_s: cpu_split.map_or(0.0, |c| c.1),
        queue_depth_at_start: depth_at_start,
        queue_depth_at_end: depth_at_end,
        load_average_before: load_before,
        load_average_after: load_average(),
        interrupted,
        worker_died,
        reply_stream_error: rec.closed.clone(),
        worker_exit,
    };
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&json!(report))?)?,
        Format::Text => stdout.write_all(text(&report).as_bytes())?,
    }
    stdout.flush()?;
    if let Some(w) = worker.as_ref() {
        if let Some(e) = report.reply_stream_error.as_ref() {
            eprintln!(
                "reply stream ended early ({e}); worker log tail:\n{}",
                w.log_tail(20)
            );
        } else if report.worker_died.is_some() {
            eprintln!("worker log tail:\n{}", w.log_tail(20));
        }
    }
    Ok(())
}

fn text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let l = &r.latency_ms;
    let _ = writeln!(
        o,
        "zkq-loadgen: {} (sha256:{}…) tenant {}, queue prefix {}, worker {}, prover {}",
        r.circuit,
        &r.circuit_id[..12.min(r.circuit_id.len())],
        r.tenant,
        r.queue_prefix,
        r.worker,
        r.prover
    );
    let _ = writeln!(
        o,
        "offered    {:>9.1} jobs/s for {} s after {} s warm-up ({} recorded jobs)",
        r.offered_rate, r.duration_s, r.warmup_s, r.recorded_jobs
    );
    let _ = writeln!(
        o,
        "published  {:>9.1} jobs/s (send lag behind schedule: p99 {:.2} ms, max {:.2} ms; {} confirmed, {} nacked, {} failed)",
        r.achieved_publish_rate,
        r.publish_lag_ms.p99_ms,
        r.publish_lag_ms.max_ms,
        r.confirmed,
        r.nacked,
        r.publish_failed
    );
    let _ = writeln!(
        o,
        "completed  {:>9.1} jobs/s during the recorded window; {} of {} recorded jobs answered",
        r.completed_rate, r.recorded_results, r.recorded_jobs
    );
    let _ = writeln!(
        o,
        "errors     {:>9} ({:.3} %): {} failed results, {} without a result after {} s grace, {} lost at publish",
        r.errors,
        r.error_rate * 100.0,
        r.recorded_failed,
        r.recorded_without_result,
        r.grace_s,
        r.recorded_publish_lost
    );
    if r.recorded_not_sent > 0 {
        let _ = writeln!(
            o,
            "           ({} recorded jobs never sent: the run was cut short; the rate is over those sent)",
            r.recorded_not_sent
        );
    }
    for (code, n) in &r.failures {
        let _ = writeln!(o, "           {n} × {code}");
    }
    for e in &r.failure_examples {
        let _ = writeln!(o, "           e.g. {e}");
    }
    let _ = writeln!(
        o,
        "latency    p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  p99.9 {:.1} ms  max {:.1} ms  mean {:.1} ms  (n = {}, from scheduled send to result)",
        l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms, l.count
    );
    match (&r.worker_side, &r.worker_side_error) {
        (Some(w), _) => {
            let _ = writeln!(
                o,
                "worker side ({} job_results rows, {} batches; mean / p95 ms):",
                w.rows, w.batches
            );
            let row = |o: &mut String, name: &str, c: &ColumnSummary, note: &str| {
                let _ = writeln!(o, "  {name:<16} {:>9.3} / {:>9.3}  {note}", c.mean, c.p95);
            };
            row(
                &mut o,
                "queue wait",
                &w.queue_wait_ms,
                "publish → worker receipt (broker)",
            );
            row(
                &mut o,
                "batch wait",
                &w.batch_wait_ms,
                "receipt → batch start (filling, device queue)",
            );
            row(&mut o, "witness load", &w.witness_load_ms, "");
            row(
                &mut o,
                "prove",
                &w.prove_ms,
                "per job: its share of the batch's phases",
            );
            row(&mut o, "  h (NTT)", &w.compute_h_ms, "");
            row(&mut o, "  a", &w.compute_a_ms, "");
            row(&mut o, "  b_g1", &w.compute_b_g1_ms, "");
            row(&mut o, "  b_g2", &w.compute_b_g2_ms, "");
            row(&mut o, "  c", &w.compute_c_ms, "");
            row(&mut o, "verify", &w.verify_ms, "per proof");
            row(
                &mut o,
                "device batch",
                &w.device_batch_ms,
                "batch start → end, every job waits for its whole batch",
            );
            row(
                &mut o,
                "commit wait",
                &w.commit_wait_ms,
                "batch end → its commit transaction began",
            );
            let accounted = r.publish_lag_ms.mean_ms
                + w.queue_wait_ms.mean
                + w.batch_wait_ms.mean
                + w.device_batch_ms.mean
                + w.commit_wait_ms.mean;
            let _ = writeln!(
                o,
                "  {:<16} {:>9.3}             mean e2e − the above − send lag: commit, reply, ack, delivery",
                "rest",
                l.mean_ms - accounted
            );
            let _ = writeln!(
                o,
                "  batch size       {:>9.2} / {:>9.0}  (per job); {:.2} jobs per batch; device busy {:.0} % of the {:.1} s from first batch start to last batch end",
                w.batch_size.mean,
                w.batch_size.p95,
                if w.batches > 0 { w.rows as f64 / w.batches as f64 } else { 0.0 },
                w.device_busy_fraction * 100.0,
                w.batch_span_s
            );
        }
        (None, Some(e)) => {
            let _ = writeln!(o, "worker side: unavailable ({e})");
        }
        (None, None) => {}
    }
    if let Some(c) = &r.cpu_percent_of_one_core {
        let _ = writeln!(
            o,
            "cpu        % of one core over {:.1} s ({} cpus = {} %): zkq worker {:.0}, rabbitmq {:.0}, postgres {:.0}, loadgen {:.0}, other {:.0}, idle {:.0}",
            r.cpu_window_s,
            c.cpus,
            c.cpus * 100,
            c.zkq_worker,
            c.rabbitmq,
            c.postgres,
            c.loadgen,
            c.other,
            c.idle
        );
        let how = |by_pid: bool| if by_pid { "by pid" } else { "by command name" };
        let _ = writeln!(
            o,
            "           (worker {}, rabbitmq {}, postgres {}; other = every other process)",
            how(c.by_pid[0]),
            how(c.by_pid[1]),
            how(c.by_pid[2])
        );
    }
    let _ = writeln!(
        o,
        "queue      {} messages waiting at start, {} at end",
        r.queue_depth_at_start,
        r.queue_depth_at_end
            .map_or("?".to_owned(), |d| d.to_string())
    );
    let _ = writeln!(
        o,
        "load avg   before {}, after {}",
        r.load_average_before.as_deref().unwrap_or("?"),
        r.load_average_after.as_deref().unwrap_or("?")
    );
    if r.duplicate_results > 0 {
        let _ = writeln!(
            o,
            "note       {} duplicate results (re-sent after redelivery)",
            r.duplicate_results
        );
    }
    if let Some(w) = &r.worker_died {
        let _ = writeln!(
            o,
            "note       the worker exited during the run ({w}): partial figures"
        );
    }
    if r.interrupted {
        let _ = writeln!(o, "note       interrupted before the end: partial figures");
    }
    if let Some(e) = &r.reply_stream_error {
        let _ = writeln!(o, "note       the reply stream ended early: {e}");
    }
    if let Some(w) = &r.worker_exit {
        let _ = writeln!(o, "worker     {w}");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ports_of_local_uris() {
        assert_eq!(
            local_amqp_port("amqp://guest:guest@127.0.0.1:5673/%2f"),
            Some(5673)
        );
        assert_eq!(local_amqp_port("amqp://localhost"), Some(5672));
        assert_eq!(local_amqp_port("amqp://broker.example:5672/%2f"), None);
        assert_eq!(
            local_pg_port("host=127.0.0.1 port=5433 user=zkq password=zkq dbname=zkq"),
            Some(5433)
        );
        assert_eq!(local_pg_port("host=localhost user=zkq"), Some(5432));
        assert_eq!(
            local_pg_port("postgresql://zkq@127.0.0.1:6000/zkq"),
            Some(6000)
        );
        assert_eq!(local_pg_port("host=db.example user=zkq"), None);
    }

    #[test]
    fn recorder_counts_each_job_once() {
        let t0 = Instant::now();
        let schedule = Schedule::new(t0, 10.0, 0.2, 0.3); // jobs 0,1 warm-up; 2,3,4 measured
        let ids = JobIds::new("t");
        let mut r = Recorder::new(schedule, ids.clone());
        for i in 0..5 {
            r.apply(Event::Published {
                idx: i,
                at: schedule.at(i),
            });
        }
        let res = |i: u64, failure: Option<(String, String)>| Event::Result {
            job_id: ids.id(i),
            at: schedule.at(i) + Duration::from_millis(40),
            failure,
            device: None,
        };
        r.apply(res(0, None));
        r.apply(res(2, None));
        r.apply(res(2, None)); // re-sent after a redelivery
        r.apply(res(3, Some(("bad_witness".into(), "x".into()))));
        r.apply(Event::Nacked {
            job_id: ids.id(4),
            error: "nack".into(),
        });
        assert_eq!((r.results, r.duplicates, r.in_flight), (3, 1, 1));
        assert_eq!(
            (r.measured_results, r.measured_failed, r.measured_lost),
            (2, 1, 1)
        );
        assert_eq!(r.latency.len(), 1);
        assert!((r.latency.quantile_ms(0.5) - 40.0).abs() < 0.1);
        assert_eq!(r.failures.get("bad_witness"), Some(&1));
        assert_eq!(r.failures.get("publish_nacked"), Some(&1));
    }
}
