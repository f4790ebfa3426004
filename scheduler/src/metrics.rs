//! The worker's Prometheus `/metrics` endpoint: a small hand-written text exposition (format
//! 0.0.4) served by a tiny HTTP handler on tokio — no metrics framework, no web framework.
//!
//! ## What is exported ([`METRICS`] lists every family)
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `zkq_jobs_total` | counter | `outcome` = proved, failed, resent, requeued | jobs the worker finished; `requeued`: returned to their queue after an infrastructure failure (key store, backend, device panic), not committed |
//! | `zkq_device_panics_total` | counter | | panics contained on the device thread (its batch's jobs were requeued) |
//! | `zkq_batch_size` | histogram | | jobs per proved batch ([`MetricsConfig::batch_size_buckets`]) |
//! | `zkq_job_end_to_end_seconds` | histogram | | submission (else receipt) → result committed ([`MetricsConfig::latency_buckets_seconds`]) |
//! | `zkq_oldest_queued_job_age_seconds` | gauge | | age of the oldest `queued` job in PostgreSQL, read at scrape time |
//! | `zkq_key_cache_hits_total` / `zkq_key_cache_misses_total` | counter | | proving-key cache look-ups, one per batch |
//! | `zkq_device_seconds_total` | counter | `device_type` | device time spent proving and verifying |
//! | `zkq_cost_usd_total` | counter | `device_type` | accrued cost: device-seconds × the price valid when the batch ran |
//! | `zkq_worker_up` | gauge | `worker` | 1 while the endpoint is served |
//! | `zkq_worker_loop_seconds_total` | counter | `step` | the worker loop's time by step: `wait` (idle in its `select!`), `take_up` (parse and admit a delivery), `finish_batch` (commit, replies, confirms, acks), `pump` (deadlines and batch forming on a timer), `subscribe` (tenant refresh), `deliver` (moving a delivery into the intake) — where the loop's time goes, so an intake-bound worker shows as `wait` near zero |
//! | `zkq_worker_undeliverable_total` | counter | `kind` = reply, dead_letter | replies and dead letters the broker nacked or returned as unroutable; their jobs were acked (results are committed) |
//! | `zkq_budget_blocked_total` | counter | `tenant`, `purpose` | jobs refused `budget_exhausted` (at admission, or at commit when the cap was lowered meanwhile) |
//! | `zkq_policy_decisions_total` | counter | `tenant`, `decision` = allow, deny | admission policy decisions (a deny fails the job `policy_denied`) |
//! | `zkq_budget_remaining_epsilon` | gauge | `tenant`, `purpose` | ε left in the purpose's window (cap − spent − held), as this worker last saw it |
//! | `zkq_queue_declare_conflicts_total` | counter | | queues found declared with other arguments, once per broker session and queue (a tenant queue is then skipped, the dead-letter queue used as it is) |
//!
//! So cost per 1k proofs is a PromQL panel:
//! `1000 * increase(zkq_cost_usd_total[1h]) / increase(zkq_jobs_total{outcome="proved"}[1h])`.
//!
//! Other parts of the worker add their own families with a [`MetricsSource`]: its `render`
//! output is appended to every scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A source of extra metric families appended to every scrape.
pub trait MetricsSource: Send + Sync {
    /// Appends complete families (`# HELP`, `# TYPE` and samples, Prometheus text format 0.0.4).
    fn render(&self, out: &mut String);
}

/// Every metric family the worker itself exports: (name, type). The Grafana dashboard test
/// checks its queries against this list and against a rendered scrape.
pub const METRICS: &[(&str, &str)] = &[
    ("zkq_jobs_total", "counter"),
    ("zkq_batch_size", "histogram"),
    ("zkq_job_end_to_end_seconds", "histogram"),
    ("zkq_oldest_queued_job_age_seconds", "gauge"),
    ("zkq_key_cache_hits_total", "counter"),
    ("zkq_key_cache_misses_total", "counter"),
    ("zkq_device_seconds_total", "counter"),
    ("zkq_cost_usd_total", "counter"),
    ("zkq_worker_up", "gauge"),
    ("zkq_worker_loop_seconds_total", "counter"),
    ("zkq_device_panics_total", "counter"),
    ("zkq_worker_undeliverable_total", "counter"),
    ("zkq_queue_declare_conflicts_total", "counter"),
    ("zkq_budget_blocked_total", "counter"),
    ("zkq_budget_remaining_epsilon", "gauge"),
    ("zkq_policy_decisions_total", "counter"),
    ("zkq_worker_held_bytes", "gauge"),
    ("zkq_worker_held_bytes_budget", "gauge"),
    ("zkq_worker_consumption_paused", "gauge"),
    ("zkq_worker_consumption_pauses_total", "counter"),
];

/// The series names a family of `kind` produces (histograms add `_bucket`, `_sum`, `_count`).
pub fn series_names(name: &str, kind: &str) -> Vec<String> {
    if kind == "histogram" {
        vec![format!("{name}_bucket"), format!("{name}_sum"), format!("{name}_count")]
    } else {
        vec![name.to_owned()]
    }
}

/// Metrics settings (read at the binary edge: `zkq worker --metrics-addr ...`).
#[derive(Clone)]
pub struct MetricsConfig {
    /// Where `/metrics` listens. Default `127.0.0.1:9464`; `None` turns the endpoint off
    /// (`--metrics-addr off`). A port already taken is logged and the worker runs without it.
    pub addr: Option<SocketAddr>,
    /// Upper bounds of the batch-size histogram. Default 1, 2, 4, 8, 16, 32, 64, 128, 256.
    pub batch_size_buckets: Vec<f64>,
    /// Upper bounds of the end-to-end latency histogram, seconds. Default 0.05, 0.1, 0.25,
    /// 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300.
    pub latency_buckets_seconds: Vec<f64>,
    /// Extra families appended to each scrape (e.g. fairness metrics).
    pub sources: Vec<Arc<dyn MetricsSource>>,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("addr", &self.addr)
            .field("batch_size_buckets", &self.batch_size_buckets)
            .field("latency_buckets_seconds", &self.latency_buckets_seconds)
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// The default listen address of `/metrics`.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9464";

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_METRICS_ADDR.parse().ok(),
            batch_size_buckets: vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
            latency_buckets_seconds: vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0],
            sources: Vec::new(),
        }
    }
}

/// Parses a bucket list (`1,2,4,8`): finite, strictly increasing numbers.
pub fn parse_buckets(text: &str) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v: f64 = part.parse().map_err(|_| format!("bucket bound {part:?} is not a number"))?;
        if !v.is_finite() {
            return Err(format!("bucket bound {part:?} is not finite"));
        }
        if out.last().is_some_and(|last| *last >= v) {
            return Err(format!("bucket bounds must strictly increase ({part} after {})", out.last().copied().unwrap_or_default()));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err("no bucket bounds given".into());
    }
    Ok(out)
}

/// A cumulative histogram with fixed upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>,
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// A histogram with `bounds` (ascending upper bounds; `+Inf` is implicit).
    pub fn new(bounds: &[f64]) -> Self {
        Self { bounds: bounds.to_vec(), counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(), sum_micro: AtomicU64::new(0), count: AtomicU64::new(0) }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micro.fetch_add((v.max(0.0) * 1e6).round() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", fmt_f64(*b));
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", fmt_f64(self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6));
        let _ = writeln!(out, "{name}_count {count}");
    }
}

fn fmt_f64(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Escapes a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The worker's own metrics. Cheap to update from any thread (atomics and a short lock).
pub struct WorkerMetrics {
    worker_id: String,
    proved: AtomicU64,
    failed: AtomicU64,
    resent: AtomicU64,
    requeued: AtomicU64,
    device_panics: AtomicU64,
    batch_size: Histogram,
    end_to_end: Histogram,
    key_cache_hits: AtomicU64,
    key_cache_misses: AtomicU64,
    /// device_type → (device-seconds, USD), as f64 bits behind a lock.
    spend: Mutex<BTreeMap<String, (f64, f64)>>,
    /// Age of the oldest queued job, seconds, as f64 bits (NaN bits = unknown).
    oldest_queued_age: AtomicU64,
    loop_seconds: Mutex<BTreeMap<&'static str, f64>>,
    undeliverable_replies: AtomicU64,
    undeliverable_dead_letters: AtomicU64,
    queue_conflicts: AtomicU64,
    held_bytes: AtomicU64,
    held_budget: AtomicU64,
    paused: AtomicU64,
    pauses: AtomicU64,
    sources: Vec<Arc<dyn MetricsSource>>,
    /// (tenant, purpose) → (jobs blocked, remaining micro-ε). Bounded by the budgets that
    /// exist: a purpose without a budget is refused before it is counted.
    budgets: Mutex<BTreeMap<(String, String), (u64, u64)>>,
    /// Per tenant: (allows, denies) of the admission policy.
    policy: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl std::fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerMetrics").field("worker_id", &self.worker_id).finish_non_exhaustive()
    }
}

impl WorkerMetrics {
    /// Metrics for worker `worker_id`, with the configured buckets and extra sources.
    pub fn new(worker_id: &str, config: &MetricsConfig) -> Self {
        Self {
            worker_id: worker_id.to_owned(),
            proved: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            resent: AtomicU64::new(0),
            requeued: AtomicU64::new(0),
            device_panics: AtomicU64::new(0),
            batch_size: Histogram::new(&config.batch_size_buckets),
            end_to_end: Histogram::new(&config.latency_buckets_seconds),
            key_cache_hits: AtomicU64::new(0),
            key_cache_misses: AtomicU64::new(0),
            spend: Mutex::new(BTreeMap::new()),
            oldest_queued_age: AtomicU64::new(f64::NAN.to_bits()),
            loop_seconds: Mutex::new(BTreeMap::new()),
            undeliverable_replies: AtomicU64::new(0),
            undeliverable_dead_letters: AtomicU64::new(0),
            queue_conflicts: AtomicU64::new(0),
            held_bytes: AtomicU64::new(0),
            held_budget: AtomicU64::new(0),
            paused: AtomicU64::new(0),
            pauses: AtomicU64::new(0),
            sources: config.sources.clone(),
            budgets: Mutex::new(BTreeMap::new()),
            policy: Mutex::new(BTreeMap::new()),
        }
    }

    /// The worker loop spent `took` in `step` (see the module table).
    pub fn loop_time(&self, step: &'static str, took: Duration) {
        if let Ok(mut steps) = self.loop_seconds.lock() {
            *steps.entry(step).or_insert(0.0) += took.as_secs_f64();
        }
    }

    /// A job finished: `outcome` is `proved`, `failed` or `resent`; `end_to_end_seconds` when known.
    pub fn job_finished(&self, outcome: JobOutcomeLabel, end_to_end_seconds: Option<f64>) {
        match outcome {
            JobOutcomeLabel::Proved => &self.proved,
            JobOutcomeLabel::Failed => &self.failed,
            JobOutcomeLabel::Resent => &self.resent,
            JobOutcomeLabel::Requeued => &self.requeued,
        }
        .fetch_add(1, Ordering::Relaxed);
        if let Some(s) = end_to_end_seconds {
            self.end_to_end.observe(s);
        }
    }

    /// A batch ran on the device: its size, device-seconds and cost.
    pub fn batch_ran(&self, device_type: &str, size: usize, device_seconds: f64, usd: f64) {
        self.batch_size.observe(size as f64);
        if let Ok(mut spend) = self.spend.lock() {
            let e = spend.entry(device_type.to_owned()).or_insert((0.0, 0.0));
            e.0 += device_seconds.max(0.0);
            e.1 += usd.max(0.0);
        }
    }

    /// The device thread contained a panic.
    pub fn device_panicked(&self) {
        self.device_panics.fetch_add(1, Ordering::Relaxed);
    }

    /// A job of this tenant and purpose was refused `budget_exhausted`.
    pub fn budget_blocked(&self, tenant: &str, purpose: &str) {
        if let Ok(mut b) = self.budgets.lock() {
            b.entry((tenant.to_owned(), purpose.to_owned())).or_default().0 += 1;
        }
    }

    /// The admission policy allowed (or denied) a job of this tenant.
    pub fn policy_decision(&self, tenant: &str, allowed: bool) {
        if let Ok(mut p) = self.policy.lock() {
            let e = p.entry(tenant.to_owned()).or_default();
            if allowed {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }

    /// The ε left in this tenant's purpose, micro-ε, as last seen.
    pub fn budget_remaining(&self, tenant: &str, purpose: &str, micros: u64) {
        if let Ok(mut b) = self.budgets.lock() {
            b.entry((tenant.to_owned(), purpose.to_owned())).or_default().1 = micros;
        }
    }

    /// A reply (`dead_letter: false`) or dead letter the broker did not take (nacked, or
    /// returned as unroutable); the job was acked anyway, its result being committed.
    pub fn undeliverable(&self, dead_letter: bool) {
        if dead_letter { &self.undeliverable_dead_letters } else { &self.undeliverable_replies }.fetch_add(1, Ordering::Relaxed);
    }

    /// A queue the worker could not declare because it exists with other arguments (reported
    /// once per broker session and queue; a tenant queue is then not consumed).
    pub fn queue_conflict(&self) {
        self.queue_conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// The bytes of message bodies held, the budget, and whether consumption is paused
    /// (`crate::held_bytes`).
    pub fn set_held(&self, bytes: u64, budget: u64, paused: bool) {
        self.held_bytes.store(bytes, Ordering::Relaxed);
        self.held_budget.store(budget, Ordering::Relaxed);
        self.paused.store(u64::from(paused), Ordering::Relaxed);
    }

    /// Consumption paused because the held bytes went over budget.
    pub fn consumption_paused(&self) {
        self.pauses.fetch_add(1, Ordering::Relaxed);
    }

    /// A proving-key cache look-up.
    pub fn key_cache(&self, hit: bool) {
        if hit { &self.key_cache_hits } else { &self.key_cache_misses }.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the oldest queued job's age (`None`: no queued job → 0; unknown keeps NaN out).
    pub fn set_oldest_queued_age(&self, seconds: Option<f64>) {
        self.oldest_queued_age.store(seconds.unwrap_or(0.0).max(0.0).to_bits(), Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every family, then the extra sources'.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP zkq_jobs_total Jobs this worker finished, by outcome.\n# TYPE zkq_jobs_total counter\n");
        for (o, c) in [("proved", &self.proved), ("failed", &self.failed), ("resent", &self.resent), ("requeued", &self.requeued)] {
            let _ = writeln!(out, "zkq_jobs_total{{outcome=\"{o}\"}} {}", c.load(Ordering::Relaxed));
        }
        self.batch_size.render("zkq_batch_size", "Jobs per batch run on the device.", &mut out);
        self.end_to_end.render("zkq_job_end_to_end_seconds", "Job submission (else receipt) to its result committed, seconds.", &mut out);
        out.push_str("# HELP zkq_oldest_queued_job_age_seconds Age of the oldest queued job in PostgreSQL, seconds.\n# TYPE zkq_oldest_queued_job_age_seconds gauge\n");
        let age = f64::from_bits(self.oldest_queued_age.load(Ordering::Relaxed));
        if age.is_finite() {
            let _ = writeln!(out, "zkq_oldest_queued_job_age_seconds {}", fmt_f64(age));
        }
        for (name, help, c) in [
            ("zkq_key_cache_hits_total", "Proving-key cache hits (one look-up per batch).", &self.key_cache_hits),
            ("zkq_key_cache_misses_total", "Proving-key cache misses (key loaded from the key store).", &self.key_cache_misses),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", c.load(Ordering::Relaxed));
        }
        out.push_str(
            "# HELP zkq_worker_undeliverable_total Replies and dead letters the broker did not take (nacked or returned); their jobs were acked, results committed.\n# TYPE zkq_worker_undeliverable_total counter\n",
        );
        for (kind, c) in [("reply", &self.undeliverable_replies), ("dead_letter", &self.undeliverable_dead_letters)] {
            let _ = writeln!(out, "zkq_worker_undeliverable_total{{kind=\"{kind}\"}} {}", c.load(Ordering::Relaxed));
        }
        if let Ok(b) = self.budgets.lock() {
            out.push_str("# HELP zkq_budget_blocked_total Jobs refused budget_exhausted, by tenant and purpose.\n# TYPE zkq_budget_blocked_total counter\n");
            for ((t, p), (blocked, _)) in b.iter() {
                let _ = writeln!(out, "zkq_budget_blocked_total{{tenant=\"{}\",purpose=\"{}\"}} {blocked}", label(t), label(p));
            }
            out.push_str("# HELP zkq_budget_remaining_epsilon Epsilon left in the purpose's window (cap - spent - held), as last seen.\n# TYPE zkq_budget_remaining_epsilon gauge\n");
            for ((t, p), (_, remaining)) in b.iter() {
                let _ = writeln!(out, "zkq_budget_remaining_epsilon{{tenant=\"{}\",purpose=\"{}\"}} {}", label(t), label(p), fmt_f64(*remaining as f64 / 1e6));
            }
        }
        if let Ok(p) = self.policy.lock() {
            out.push_str("# HELP zkq_policy_decisions_total Admission policy decisions, by tenant.\n# TYPE zkq_policy_decisions_total counter\n");
            for (t, (allows, denies)) in p.iter() {
                let _ = writeln!(out, "zkq_policy_decisions_total{{tenant=\"{}\",decision=\"allow\"}} {allows}", label(t));
                let _ = writeln!(out, "zkq_policy_decisions_total{{tenant=\"{}\",decision=\"deny\"}} {denies}", label(t));
            }
        }
        let _ = writeln!(
            out,
            "# HELP zkq_queue_declare_conflicts_total Queues found declared with other arguments (tenant queues are then skipped), once per session.\n# TYPE zkq_queue_declare_conflicts_total counter\nzkq_queue_declare_conflicts_total {}",
            self.queue_conflicts.load(Ordering::Relaxed)
        );
        for (name, kind, help, c) in [
            ("zkq_worker_held_bytes", "gauge", "Bytes of message bodies the worker holds (received, not yet settled).", &self.held_bytes),
            ("zkq_worker_held_bytes_budget", "gauge", "The byte budget for held message bodies: consumption pauses above 3/4 of it.", &self.held_budget),
            ("zkq_worker_consumption_paused", "gauge", "1 while consumption is paused because held bytes are over budget.", &self.paused),
            ("zkq_worker_consumption_pauses_total", "counter", "Times consumption paused because held bytes went over budget.", &self.pauses),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", c.load(Ordering::Relaxed));
        }
        let spend = self.spend.lock().map(|s| s.clone()).unwrap_or_default();
        out.push_str("# HELP zkq_device_seconds_total Device-seconds spent proving and verifying.\n# TYPE zkq_device_seconds_total counter\n");
        for (device_type, (seconds, _)) in &spend {
            let _ = writeln!(out, "zkq_device_seconds_total{{device_type=\"{}\"}} {}", label(device_type), fmt_f64(*seconds));
        }
        out.push_str("# HELP zkq_cost_usd_total Accrued device cost, USD, at the price valid when each batch ran.\n# TYPE zkq_cost_usd_total counter\n");
        for (device_type, (_, usd)) in &spend {
            let _ = writeln!(out, "zkq_cost_usd_total{{device_type=\"{}\"}} {}", label(device_type), fmt_f64(*usd));
        }
        let _ = writeln!(out, "# HELP zkq_worker_up 1 while this worker serves metrics.\n# TYPE zkq_worker_up gauge\nzkq_worker_up{{worker=\"{}\"}} 1", label(&self.worker_id));
        let _ = writeln!(
            out,
            "# HELP zkq_device_panics_total Panics contained on the device thread.\n# TYPE zkq_device_panics_total counter\nzkq_device_panics_total {}",
            self.device_panics.load(Ordering::Relaxed)
        );
        out.push_str("# HELP zkq_worker_loop_seconds_total The worker loop's time by step, seconds.\n# TYPE zkq_worker_loop_seconds_total counter\n");
        let steps = self.loop_seconds.lock().map(|s| s.clone()).unwrap_or_default();
        for (step, seconds) in &steps {
            let _ = writeln!(out, "zkq_worker_loop_seconds_total{{step=\"{step}\"}} {}", fmt_f64(*seconds));
        }
        for source in &self.sources {
            source.render(&mut out);
        }
        out
    }
}

/// The `outcome` label of `zkq_jobs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcomeLabel {
    /// Proof verified and committed.
    Proved,
    /// Committed as failed.
    Failed,
    /// A redelivered job answered from the store.
    Resent,
    /// Returned to its queue after an infrastructure failure.
    Requeued,
}

/// Serves `GET /metrics` on `addr` until `stop` resolves. Before each render, `refresh` runs
/// (bounded to 2 s) so gauges read from the database are current.
pub async fn serve<R, Fut>(listener: TcpListener, metrics: Arc<WorkerMetrics>, refresh: R, stop: impl Future<Output = ()>)
where
    R: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let refresh = Arc::new(refresh);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => return,
        };
        let Ok((mut stream, _)) = accepted else { continue };
        let metrics = metrics.clone();
        let refresh = refresh.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            // Read until the end of the request head (or 4 KiB, or 5 s).
            let head = tokio::time::timeout(Duration::from_secs(5), async {
                while len < buf.len() {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => len += n,
                    }
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            })
            .await;
            if head.is_err() {
                return;
            }
            let request = String::from_utf8_lossy(&buf[..len]);
            let mut words = request.split_whitespace();
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let path = path.split('?').next().unwrap_or("");
            let (status, content_type, body) = if path != "/metrics" {
                ("404 Not Found", "text/plain; charset=utf-8", "not found: zkq serves /metrics\n".to_owned())
            } else if method != "GET" && method != "HEAD" {
                ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET /metrics\n".to_owned())
            } else {
                let _ = tokio::time::timeout(Duration::from_secs(2), refresh()).await;
                ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render())
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).await;
            if method != "HEAD" {
                let _ = stream.write_all(body.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
        });
    }
}

/// Starts the worker's `/metrics` endpoint (when configured) and returns the metrics handle.
/// A bind failure is logged and the worker goes on without the endpoint.
pub async fn start(config: &crate::WorkerConfig, store: crate::store::Store, stop: tokio::sync::watch::Receiver<bool>) -> Arc<WorkerMetrics> {
    // The fair scheduler's figures (issue 5) are part of every scrape.
    let mut families = config.metrics.clone();
    families.sources.push(config.fairness_metrics.clone());
    let metrics = Arc::new(WorkerMetrics::new(&config.worker_id, &families));
    let Some(addr) = config.metrics.addr else { return metrics };
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            tracing::info!(addr = %listener.local_addr().map_or(addr, |a| a), "serving Prometheus metrics on /metrics");
            let gauge = metrics.clone();
            let refresh = move || {
                let (store, gauge) = (store.clone(), gauge.clone());
                async move {
                    match store.oldest_queued_age_seconds().await {
                        Ok(age) => gauge.set_oldest_queued_age(age),
                        Err(e) => tracing::debug!(error = %e, "oldest queued job age unavailable"),
                    }
                }
            };
            let mut stop = stop;
            tokio::spawn(serve(listener, metrics.clone(), refresh, async move {
                let _ = stop.wait_for(|s| *s).await;
            }));
        }
        Err(e) => tracing::warn!(%addr, error = %e, "cannot serve /metrics (set another --metrics-addr, or off); running without it"),
    }
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fairness;
    impl MetricsSource for Fairness {
        fn render(&self, out: &mut String) {
            out.push_str("# TYPE zkq_fairness_gini gauge\nzkq_fairness_gini 0.25\n");
        }
    }

    #[test]
    fn histograms_are_cumulative_with_configured_buckets() {
        let config = MetricsConfig { batch_size_buckets: vec![1.0, 4.0, 16.0], ..Default::default() };
        let m = WorkerMetrics::new("w1", &config);
        for size in [1, 3, 4, 5, 100] {
            m.batch_ran("cpu-2core", size, 0.5, 0.25);
        }
        let text = m.render();
        assert!(text.contains("zkq_batch_size_bucket{le=\"1\"} 1\n"), "{text}");
        assert!(text.contains("zkq_batch_size_bucket{le=\"4\"} 3\n"));
        assert!(text.contains("zkq_batch_size_bucket{le=\"16\"} 4\n"));
        assert!(text.contains("zkq_batch_size_bucket{le=\"+Inf\"} 5\n"));
        assert!(text.contains("zkq_batch_size_sum 113\n"));
        assert!(text.contains("zkq_batch_size_count 5\n"));
        assert!(text.contains("zkq_device_seconds_total{device_type=\"cpu-2core\"} 2.5\n"));
        assert!(text.contains("zkq_cost_usd_total{device_type=\"cpu-2core\"} 1.25\n"));
        m.loop_time("take_up", Duration::from_millis(1500));
        m.loop_time("take_up", Duration::from_millis(500));
        m.loop_time("wait", Duration::from_millis(250));
        let text = m.render();
        assert!(text.contains("zkq_worker_loop_seconds_total{step=\"take_up\"} 2\n"), "{text}");
        assert!(text.contains("zkq_worker_loop_seconds_total{step=\"wait\"} 0.25\n"), "{text}");
    }

    #[test]
    fn jobs_cache_age_and_extra_sources_render() {
        let config = MetricsConfig { sources: vec![Arc::new(Fairness)], ..Default::default() };
        let m = WorkerMetrics::new("w\"1", &config);
        m.job_finished(JobOutcomeLabel::Proved, Some(0.2));
        m.job_finished(JobOutcomeLabel::Proved, Some(7.0));
        m.job_finished(JobOutcomeLabel::Failed, None);
        m.key_cache(true);
        m.key_cache(false);
        m.key_cache(true);
        let text = m.render();
        assert!(!text.contains("zkq_oldest_queued_job_age_seconds 0"), "unknown age is not exported as a number");
        m.set_oldest_queued_age(Some(12.5));
        let text2 = m.render();
        assert!(text.contains("zkq_jobs_total{outcome=\"proved\"} 2\n"));
        assert!(text.contains("zkq_jobs_total{outcome=\"failed\"} 1\n"));
        assert!(text.contains("zkq_job_end_to_end_seconds_bucket{le=\"0.25\"} 1\n"));
        assert!(text.contains("zkq_job_end_to_end_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("zkq_key_cache_hits_total 2\n") && text.contains("zkq_key_cache_misses_total 1\n"));
        assert!(text.contains("zkq_worker_up{worker=\"w\\\"1\"} 1"));
        assert!(text.ends_with("zkq_fairness_gini 0.25\n"));
        assert!(text2.contains("zkq_oldest_queued_job_age_seconds 12.5\n"));
    }

    #[test]
    fn every_listed_family_is_rendered_with_its_type() {
        let text = WorkerMetrics::new("w", &MetricsConfig::default()).render();
        for (name, kind) in METRICS {
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} missing");
        }
        let typed = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        assert_eq!(typed, METRICS.len(), "METRICS lists every family");
    }

    #[test]
    fn bucket_lists_are_checked() {
        assert_eq!(parse_buckets("1, 2,4").expect("ok"), vec![1.0, 2.0, 4.0]);
        assert!(parse_buckets("2,1").is_err());
        assert!(parse_buckets("1,x").is_err());
        assert!(parse_buckets("").is_err());
        assert!(parse_buckets("1,inf").is_err());
    }

    #[tokio::test]
    async fn the_endpoint_serves_metrics_and_404s_elsewhere() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let m = Arc::new(WorkerMetrics::new("w", &MetricsConfig::default()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let m2 = m.clone();
        let server = tokio::spawn(serve(listener, m.clone(), move || {
            let m = m2.clone();
            async move { m.set_oldest_queued_age(Some(3.0)) }
        }, async move {
            let _ = rx.await;
        }));
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.expect("write");
            let mut body = String::new();
            s.read_to_string(&mut body).await.expect("read");
            body
        };
        let ok = get("/metrics").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("text/plain; version=0.0.4"));
        assert!(ok.contains("zkq_oldest_queued_job_age_seconds 3\n"), "refresh ran before rendering");
        let missing = get("/other").await;
        assert!(missing.starts_with("HTTP/1.1 404"));
        let _ = tx.send(());
        server.await.expect("server stops");
    }
}
