//! `zkq worker`: consume → admit → batch → prove (device thread) → commit → reply → ack.
//!
//! Exactly-once effects over at-least-once delivery:
//! 1. nothing is acked before its effects are committed: results, timings and costs of a
//!    batch go to PostgreSQL in **one transaction** (`ON CONFLICT (job_id) DO NOTHING`);
//! 2. then each result is published to the job's `reply_to` and each failed job's dead letter
//!    (its headers, reason and witness sha256, never the witness) to the dead-letter exchange,
//!    `mandatory`, with properties built from scratch (nothing of the submitter's, so no data
//!    in a message can make the broker close this channel), all published before any confirm
//!    is awaited (pipelined);
//! 3. only once each job's publishes are confirmed — or nacked or returned, which is logged
//!    and counted as undeliverable (the result is committed) — is its delivery acked.
//!
//! A crash before (1) loses nothing: the broker redelivers. A crash between (1) and (3) makes
//! the broker redeliver jobs whose results exist: the worker recognises them (the
//! `redelivered` flag, then the store) and re-sends the stored result instead of proving
//! again, so the submitter may see a result twice (it keys on the job id) but the database
//! never holds two. If PostgreSQL is down, commits are retried with backoff while the
//! deliveries stay unacked; if the broker goes away, the session ends, unacked deliveries
//! return to the queue, and the worker reconnects and re-applies its QoS. Only connection,
//! pool and timeout errors are retried ([`SchedulerError::is_transient`]): an error the
//! database will repeat (a value it refuses, SQLSTATE classes 22, 23, 42, 54, …) fails the one
//! job it concerns with `rejected_by_database` — replied, dead-lettered and acked, without a
//! result row — and a batch whose commit is refused is committed again job by job, so the
//! others keep their results.
//!
//! Fair scheduling (`crate::fair`): the worker consumes the shared job queue and one queue per
//! registered tenant and priority class (re-listed every 10 s), each consumer with its own
//! prefetch (4 × max batch × the tenant's weight), so every
//! tenant's next jobs are among its deliveries however much another tenant has queued. Received
//! deliveries are taken up in weighted-fair order (`crate::fair::intake`), so shares follow
//! weights also when this loop, not the device, is the bottleneck (`docs/fairness.md`). Admitted
//! jobs go into the weighted fair queue (weights from the `tenants` table, cost = estimated
//! device time of the circuit, refined by measured batches; priority classes first); a batch of
//! one circuit is formed when the device has a free slot (one proving, one waiting), cut by
//! size, wait and device memory. A held job whose deadline passes fails `deadline_exceeded`. A
//! circuit too large for the device even alone is rejected `exceeds_device_memory`. Fairness
//! figures go to `config.fairness_metrics`.
//!
//! Memory (`crate::held_bytes`, `docs/worker.md`): every body received counts against a byte
//! budget until it is settled; each consumer's prefetch is scaled so that the broker cannot push
//! more than ¾ of the budget of largest-witness bodies, and consumption pauses (consumers
//! cancelled) above ¾ of it and resumes at ⅜.
//!
//! Shaped like mini-redis's `server::run(listener, shutdown)`: the shutdown future stops
//! consumption, in-flight and partially filled batches are finished and acked, then it returns.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::stream::{BoxStream, FuturesUnordered, SelectAll};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer, PublisherConfirm};
use tokio::sync::watch;

use crate::cache::TtlCache;
use crate::config::WorkerConfig;
use crate::device::{Device, DeviceBatch, DeviceConfig, DeviceJob, DeviceOutcome, DeviceResult, PANIC_TRIES};
use crate::fair::cost::{cpu_memory_default, human_bytes, CircuitShape, CostModel, DeviceSpec, MemoryModel};
use crate::fair::{FairConfig, FairQueue, FairnessMetrics, HeldJobs, Intake, JobSpec, Time};
use crate::held_bytes::{prefetch_scale, scaled_prefetch, HeldBytes, Lease};
use crate::model::{BatchRecord, CircuitRecord, JobMeta, JobOutcome, JobTimings, Outcome, Price, TenantRecord};
use crate::protocol::{self, JobResult, ReasonCode, Rejection, H_FAILURE_CODE, H_FAILURE_REASON, H_WITNESS_SHA256, PROTOCOL_VERSION, RESULT_CONTENT_TYPE};
use crate::metrics::{JobOutcomeLabel, WorkerMetrics};
use crate::policy_gate::PolicyGate;
use zkq_policy::AdmissionRequest;
use crate::store::{CommitReport, Store, StoredResult, UptimeRecord};
use crate::{identity, topology, SchedulerError};

/// How long admission caches (tenants, circuits, prices) trust an entry; also how often the
/// tenant list is re-read to consume new tenants' queues.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// Most tenant names (and, separately, circuit references) the admission caches hold: their
/// keys come from messages, so they are bounded (`crate::cache`).
const ADMISSION_CACHE_ENTRIES: usize = 4096;

/// How often a session checks that its channel is still open. A broker restart can close the
/// connection without any consumer stream yielding an error; the session would then wait for
/// deliveries forever instead of reconnecting.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);
/// How long a job whose failure was the infrastructure's waits before it goes back to its
/// queue: a key store or backend that fails for a moment does not burn the job's delivery
/// limit in a hot loop.
const REQUEUE_DELAY: Duration = Duration::from_secs(1);
/// Longest the worker waits for the broker to confirm a reply or dead letter before it takes
/// the connection for lost (a healthy broker confirms within milliseconds).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// Most expired privacy-budget holds reclaimed per tenant refresh (every [`CACHE_TTL`]).
const RECLAIM_BATCH: i64 = 500;
/// Batches the worker keeps at the device: one proving, one formed and waiting. More would
/// bind batches early (less fair); fewer would idle the device between batches.
const DEVICE_SLOTS: usize = 2;

/// Counts of what a worker did, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Jobs whose proof verified and was committed.
    pub proved: u64,
    /// Jobs committed as failed.
    pub failed: u64,
    /// Redelivered jobs answered from the store.
    pub resent: u64,
    /// Broker sessions started (1 + reconnects).
    pub sessions: u64,
}

/// A delivery held until its batch is committed.
struct Held {
    meta: JobMeta,
    delivery: Delivery,
    /// Its body's bytes, counted against the byte budget until it is settled.
    lease: Lease,
    received_at: chrono::DateTime<Utc>,
    queue_wait_ms: f64,
}

/// A delivery received and not yet taken up, with its body's lease and the queue it came from.
struct Received {
    delivery: Delivery,
    lease: Lease,
    source: SourceTag,
}

/// Where a delivery came from: its queue's tenant (`""` for the shared queue) and priority
/// class. Only orders the intake: the job's tenant is still read from the message.
#[derive(Debug, Clone)]
struct SourceTag {
    tenant: String,
    priority: u8,
}

/// Every consumer's deliveries, tagged with their source.
type Consumers = SelectAll<BoxStream<'static, (SourceTag, Result<Delivery, lapin::Error>)>>;

fn tagged(consumer: Consumer, source: SourceTag) -> BoxStream<'static, (SourceTag, Result<Delivery, lapin::Error>)> {
    consumer.map(move |d| (source.clone(), d)).boxed()
}

type InFlight = Pin<Box<dyn Future<Output = (Vec<Held>, Result<DeviceResult, SchedulerError>)> + Send>>;

/// What woke the worker loop (its `select!`), handled after the wait so that the loop's time
/// can be split into waiting and each step (`zkq_worker_loop_seconds_total`).
enum Step {
    /// A batch came back from the device.
    Finished(Vec<Held>, Result<DeviceResult, SchedulerError>),
    /// A batch's wait or a deadline is due.
    Wake,
    /// Time to check that the channel is open.
    Liveness,
    /// Time to re-list tenants.
    Refresh,
    /// A consumer yielded (a delivery, an error, or the end of every stream).
    Delivery(Option<(SourceTag, Result<Delivery, lapin::Error>)>),
    /// Nothing else is ready and the intake holds a delivery: take one up.
    TakeUp,
}

impl Step {
    /// The `step` label of the loop-time metric.
    fn name(&self) -> &'static str {
        match self {
            Self::Finished(..) => "finish_batch",
            Self::Wake => "pump",
            Self::Liveness => "liveness",
            Self::Refresh => "subscribe",
            Self::Delivery(_) => "deliver",
            Self::TakeUp => "take_up",
        }
    }
}

/// Runs a worker until `shutdown` resolves; then drains in-flight work and returns.
pub async fn run(config: WorkerConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<WorkerStats, SchedulerError> {
    if config.attest.enabled && config.budget.signing_key.is_none() {
        return Err(SchedulerError::Invalid("attestation is on but the worker has no signing key: give it one, or turn attestation off".into()));
    }
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let store = retry_until_stopped("PostgreSQL", &stop, || Store::connect(&config.store)).await?;
    let Some(mut store) = store else { return Ok(WorkerStats::default()) };
    store = store.with_budget_contact(&config.budget.contact);
    if let Some(key) = &config.budget.signing_key {
        let client = store.db().client().await?;
        zkq_budget::pg::register_key(&**client, &key.public()).await?;
        tracing::info!(key_id = %key.key_id(), "budget receipts are signed with this key");
        store = store.with_signing_key(key.clone());
        if config.attest.enabled {
            tracing::info!(key_id = %key.key_id(), origin = %config.attest.log_origin, "proofs are attested and logged");
            store = store.with_attestation(key.clone(), &config.attest.log_origin);
        }
    }
    if !config.attest.enabled {
        tracing::warn!("attestation is off: proofs are committed without statements or log entries");
    }
    let metrics = crate::metrics::start(&config, store.clone(), stop.clone()).await;
    let device = Device::spawn(
        DeviceConfig {
            backend: config.backend.clone(),
            key_dir: config.key_dir.clone(),
            key_cache: config.key_cache,
            device_type: config.device_type.clone(),
            worker_id: config.worker_id.clone(),
            null_prover: config.null_prover,
            witness_dir: config.witness_dir.clone(),
            null_prover_delay: config.null_prover_delay,
            region: config.region.clone(),
            metrics: Some(metrics.clone()),
            fault: config.device_fault.clone(),
        },
        DEVICE_SLOTS - 1,
    )?;
    let device_spec = device_spec(&config);
    tracing::info!(backend = device_spec.backend.as_str(), memory_mib = device_spec.memory_bytes >> 20, "device memory for admission and batch caps");
    let origin = Instant::now();
    let uptime = UptimeRecord {
        worker_id: config.worker_id.clone(),
        started_at: Utc::now(),
        device: device.name().to_owned(),
        device_type: config.device_type.clone(),
        devices: 1,
        region: config.region.clone(),
    };
    let heartbeat = tokio::spawn(crate::uptime::heartbeat(store.clone(), uptime, config.heartbeat_interval, stop.clone()));
    // A change of configuration or version is recorded for drift prediction; failing to record
    // it costs a prediction, not the fleet's capacity: warn and go on.
    match crate::fleet_changes::record(&store, &config).await {
        Ok(ids) if !ids.is_empty() => tracing::info!(changes = ?ids, fleet = %crate::fleet_changes::fleet(&config), "recorded a change of this fleet's configuration or version"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not record this fleet's configuration and version for drift prediction"),
    }
    tracing::info!(
        worker = %config.worker_id,
        device = device.name(),
        max_batch = config.max_batch,
        amqp = %crate::redact::redact(&config.amqp.uri),
        pg = %crate::redact::redact(&config.store.url),
        "worker started"
    );
    // The policies are loaded before the first job is consumed (a stored set that does not
    // validate is reported, and denies every job until it is fixed).
    let mut policy = PolicyGate::new(config.policy.clone())?;
    if policy.enabled() {
        let mut backoff = Backoff::new();
        while let Err(e) = policy.refresh(&store, true).await {
            if !e.is_transient() {
                return Err(e);
            }
            tracing::warn!(error = %e, "cannot load the admission policies; retrying");
            backoff.wait(&stop).await;
            if *stop.borrow() {
                return Ok(WorkerStats::default());
            }
        }
    } else {
        tracing::warn!("admission policies are off: jobs are admitted by identity and budget alone");
    }
    let mut stats = WorkerStats::default();
    let mut backoff = Backoff::new();
    while !*stop.borrow() {
        let session = async {
            let conn = Connection::connect(&config.amqp.uri, ConnectionProperties::default()).await?;
            let channel = conn.create_channel().await?;
            channel.confirm_select(ConfirmSelectOptions::default()).await?;
            // A queue of an older zkq (the unbounded dead-letter queue) is reported, not fatal.
            for conflict in topology::declare_checked(&conn, &channel, &config.amqp).await? {
                tracing::warn!(%conflict, "using it as it is; see docs/job-protocol.md (Dead letters) for what an operator should do");
                metrics.queue_conflict();
            }
            channel.basic_qos(config.prefetch(), BasicQosOptions { global: false }).await?;
            Ok::<_, SchedulerError>((conn, channel))
        };
        let (conn, channel) = match session.await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the broker; retrying");
                backoff.wait(&stop).await;
                continue;
            }
        };
        backoff.reset();
        stats.sessions += 1;
        let mut s = Session::new(
            &config,
            &conn,
            store.clone(),
            device.clone(),
            channel.clone(),
            stop.clone(),
            device_spec.clone(),
            origin,
            metrics.clone(),
            &mut policy,
        );
        let ended = s.run(&mut stats).await;
        let _ = conn.close(200, "bye".into()).await;
        match ended {
            Ok(()) => break,
            Err(e @ SchedulerError::DeviceGone(_)) => {
                // Reconnecting cannot help: unacked deliveries went back to their queues with
                // the connection; exit non-zero so that a supervisor restarts the worker.
                tracing::error!(error = %e, "the device is gone; the worker stops");
                heartbeat.abort();
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(error = %e, "broker session ended; reconnecting");
                backoff.wait(&stop).await;
            }
        }
    }
    // The worker leaves the loop only once stop is set: the heartbeat writes its last beat.
    let _ = tokio::time::timeout(Duration::from_secs(5), heartbeat).await;
    tracing::info!(?stats, "worker stopped");
    Ok(stats)
}

async fn retry_until_stopped<T, F, Fut>(what: &str, stop: &watch::Receiver<bool>, mut f: F) -> Result<Option<T>, SchedulerError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SchedulerError>>,
{
    let mut backoff = Backoff::new();
    loop {
        match f().await {
            Ok(v) => return Ok(Some(v)),
            Err(e) if *stop.borrow() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "{what} unavailable; retrying");
                backoff.wait(stop).await;
                if *stop.borrow() {
                    return Ok(None);
                }
            }
        }
    }
}

/// Exponential backoff, 100 ms doubling to 3 s, cut short by shutdown.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(Duration::from_millis(100))
    }
    fn reset(&mut self) {
        self.0 = Duration::from_millis(100);
    }
    async fn wait(&mut self, stop: &watch::Receiver<bool>) {
        let mut stop = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(self.0) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        self.0 = (self.0 * 2).min(Duration::from_secs(3));
    }
    /// Like [`Backoff::wait`], but not cut short by shutdown (for retries during the drain).
    async fn sleep(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(3));
    }
}

/// The device's memory for admission: the configured size, else (CPU) half of MemAvailable,
/// else unbounded (logged).
fn device_spec(config: &WorkerConfig) -> DeviceSpec {
    let memory_bytes = config.device_memory_bytes.or_else(|| {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        cpu_memory_default(&meminfo)
    });
    let memory_bytes = memory_bytes.unwrap_or_else(|| {
        tracing::warn!("device memory unknown (no --device-memory, no /proc/meminfo): batches are capped by size only");
        u64::MAX
    });
    DeviceSpec { name: "device0".into(), backend: config.backend.kind, memory_bytes }
}

struct Cached<T> {
    value: T,
    at: Instant,
}

struct Session<'a> {
    config: &'a WorkerConfig,
    /// The session's connection: throwaway channels for declarations that may be refused.
    conn: &'a Connection,
    /// Queues found declared with other arguments, reported once per session.
    conflicts: HashSet<String>,
    /// Tenant-queue consumer tags handed out in this session (tags must never repeat on a
    /// channel, also when a skipped queue leaves a number unused).
    tenant_tags: usize,
    store: Store,
    device: Device,
    channel: Channel,
    stop: watch::Receiver<bool>,
    queue: FairQueue<Held>,
    costs: CostModel,
    shapes: HashMap<String, CircuitShape>,
    device_spec: DeviceSpec,
    origin: Instant,
    fairness: Arc<FairnessMetrics>,
    inflight: FuturesUnordered<InFlight>,
    tenants: TtlCache<Option<TenantRecord>>,
    circuits: TtlCache<Option<CircuitRecord>>,
    prices: Option<Cached<Option<Price>>>,
    metrics: Arc<WorkerMetrics>,
    /// Received deliveries not yet taken up, in weighted-fair order ([`crate::fair::intake`]).
    intake: Intake<Received>,
    /// Bytes of the bodies held, against `config.held_bytes_budget` ([`crate::held_bytes`]).
    held: HeldBytes,
    /// Shared-queue consumer tags handed out in this session (tags never repeat on a channel).
    shared_tags: usize,
    /// The operator's broker user (of `config.amqp.uri`): may publish for every tenant.
    operator_user: String,
    /// The factor applied to every consumer's configured prefetch so that what the broker may
    /// push fits the byte budget ([`crate::held_bytes::prefetch_scale`]).
    prefetch_scale: f64,
    /// The registered tenants, as last listed (every refresh, by [`Session::plan_prefetch`]):
    /// the prefetch plan and the subscriptions use one listing.
    listed: Vec<TenantRecord>,
    /// Tenant weights, as last listed (intake order and prefetch).
    weights: HashMap<String, u32>,
    /// Jobs per tenant in batches at the device, until their batch is committed and acked.
    at_device: HashMap<String, usize>,
    /// Deliveries to return to their queues (nack, requeue) once their instant has come:
    /// jobs whose failure was the infrastructure's.
    requeue: Vec<(Instant, Delivery, Lease)>,
    /// (tenant, purpose) pairs found to have a privacy budget: budgets are never deleted, so
    /// purpose binding of jobs that charge nothing asks the store once per pair. Bounded by the
    /// budgets that exist (only confirmed pairs are kept).
    budgets_seen: HashSet<(String, String)>,
    /// The admission policies (lives across sessions: its counts and rate windows too).
    policy: &'a mut PolicyGate,
}

impl<'a> Session<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: &'a WorkerConfig,
        conn: &'a Connection,
        store: Store,
        device: Device,
        channel: Channel,
        stop: watch::Receiver<bool>,
        device_spec: DeviceSpec,
        origin: Instant,
        metrics: Arc<WorkerMetrics>,
        policy: &'a mut PolicyGate,
    ) -> Self {
        Self {
            config,
            conn,
            conflicts: HashSet::new(),
            tenant_tags: 0,
            store,
            device,
            channel,
            stop,
            queue: FairQueue::new(FairConfig { max_batch: config.max_batch, max_wait: config.max_wait }),
            costs: CostModel::new(),
            shapes: HashMap::new(),
            device_spec,
            origin,
            fairness: config.fairness_metrics.clone(),
            inflight: FuturesUnordered::new(),
            tenants: TtlCache::new(CACHE_TTL, ADMISSION_CACHE_ENTRIES),
            circuits: TtlCache::new(CACHE_TTL, ADMISSION_CACHE_ENTRIES),
            prices: None,
            metrics,
            intake: Intake::new(),
            held: HeldBytes::new(config.held_bytes_budget),
            shared_tags: 0,
            operator_user: identity::operator_user(&config.amqp.uri),
            prefetch_scale: 1.0,
            listed: Vec::new(),
            weights: HashMap::new(),
            at_device: HashMap::new(),
            requeue: Vec::new(),
            budgets_seen: HashSet::new(),
            policy,
        }
    }

    /// Runs until shutdown (Ok) or a broker error (Err: the caller reconnects).
    async fn run(&mut self, stats: &mut WorkerStats) -> Result<(), SchedulerError> {
        let session = uuid::Uuid::new_v4().simple().to_string();
        let mut tags: Vec<String> = Vec::new();
        let mut consumers: Consumers = SelectAll::new();
        let mut subscribed: HashSet<String> = HashSet::new();
        self.plan_prefetch().await?;
        self.subscribe_all(&mut consumers, &mut subscribed, &session, &mut tags).await?;
        let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + CACHE_TTL, CACHE_TTL);
        let mut liveness = tokio::time::interval_at(tokio::time::Instant::now() + LIVENESS_CHECK, LIVENESS_CHECK);
        let mut stop = self.stop.clone();
        // Consumption is paused (consumers cancelled) while the held bytes are over budget.
        let mut paused = false;
        loop {
            let wake = self.wakeup();
            // Biased: finished batches, timers and new deliveries first; a held delivery is taken
            // up only when nothing else is ready, so every delivery that has arrived is in the
            // intake when the weighted choice is made (`crate::fair::intake`).
            let has_intake = !self.intake.is_empty();
            // Paused, the cancelled consumers still yield what the broker pushed before the
            // cancels arrived; once every one has ended there is nothing to poll.
            let consuming = !(paused && consumers.is_empty());
            let idle_from = Instant::now();
            let step = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                Some((held, result)) = self.inflight.next(), if !self.inflight.is_empty() => Step::Finished(held, result),
                _ = sleep_until(wake), if wake.is_some() => Step::Wake,
                _ = liveness.tick() => Step::Liveness,
                _ = refresh.tick() => Step::Refresh,
                next = consumers.next(), if consuming => Step::Delivery(next),
                _ = std::future::ready(()), if has_intake => Step::TakeUp,
            };
            let busy_from = Instant::now();
            self.metrics.loop_time("wait", busy_from - idle_from);
            let name = step.name();
            match step {
                Step::Finished(held, result) => {
                    // The device is free of this batch: give it the next one before committing
                    // this one, so the commit's round trips never idle the device.
                    self.pump(false, stats).await?;
                    self.finish_batch(held, result, stats).await?;
                }
                Step::Wake => {
                    self.requeue_due(false).await;
                    self.pump(false, stats).await?;
                }
                Step::Liveness => {
                    let status = self.channel.status();
                    if !status.connected() {
                        return Err(SchedulerError::BrokerLost(format!("channel {status:?}")));
                    }
                    // The connection can be gone (reset by the broker) while the channel still
                    // reads as connected; its consumers then go quiet for good.
                    let conn = self.conn.status();
                    if !conn.connected() {
                        return Err(SchedulerError::BrokerLost(format!("connection {conn:?}")));
                    }
                }
                // Paused, new tenants' queues are consumed when consumption resumes.
                Step::Refresh if paused => {
                    self.plan_prefetch().await?;
                }
                Step::Refresh => {
                    if self.plan_prefetch().await? {
                        // Consumers keep the prefetch they started with: start them again.
                        self.cancel_consumers(&mut tags).await;
                        subscribed.clear();
                        self.subscribe_all(&mut consumers, &mut subscribed, &session, &mut tags).await?;
                    } else {
                        self.subscribe_tenants(&mut consumers, &mut subscribed, &session, &mut tags).await?;
                    }
                    // Privacy-budget holds whose worker died or lost the job: given back once
                    // expired (docs/budgets.md). A failure here only delays the next attempt.
                    match self.store.reclaim_budget_holds(RECLAIM_BATCH).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(holds = n, "reclaimed expired privacy-budget holds"),
                        Err(e) => tracing::warn!(error = %e, "cannot reclaim expired privacy-budget holds"),
                    }
                }
                Step::Delivery(Some((source, Ok(delivery)))) if delivery.data.len() > self.config.max_message_bytes => {
                    // Too large to be any job: refused now, never held in the intake.
                    let lease = self.held.lease(delivery.data.len());
                    self.handle(Received { delivery, lease, source }, stats).await?;
                }
                Step::Delivery(Some((source, Ok(delivery)))) => {
                    let weight = self.weights.get(&source.tenant).copied().unwrap_or(1);
                    let lease = self.held.lease(delivery.data.len());
                    let (tenant, priority) = (source.tenant.clone(), source.priority);
                    self.intake.push(&tenant, weight, priority, Received { delivery, lease, source });
                    if !tenant.is_empty() {
                        self.fairness.delivered(&tenant);
                        self.note_held(&tenant, self.now());
                    }
                }
                Step::Delivery(Some((_, Err(e)))) => return Err(e.into()),
                // Every cancelled consumer has ended: what the broker pushed is in hand.
                Step::Delivery(None) if paused => {}
                Step::Delivery(None) => return Err(SchedulerError::Invalid("the broker cancelled the consumers".into())),
                Step::TakeUp => {
                    if let Some(received) = self.intake.pop_in(self.config.intake_order) {
                        self.handle(received, stats).await?;
                    }
                }
            }
            if !paused && self.held.should_pause() {
                tracing::warn!(held = self.held.bytes(), budget = self.held.budget(), consumers = tags.len(), "held deliveries over ¾ of the byte budget: pausing consumption");
                self.cancel_consumers(&mut tags).await;
                subscribed.clear();
                paused = true;
                self.metrics.consumption_paused();
            } else if paused && self.held.may_resume() {
                tracing::info!(held = self.held.bytes(), budget = self.held.budget(), "held deliveries at or below ⅜ of the byte budget: consuming again");
                self.subscribe_all(&mut consumers, &mut subscribed, &session, &mut tags).await?;
                paused = false;
            }
            self.metrics.set_held(self.held.bytes(), self.held.budget(), paused);
            self.metrics.loop_time(name, busy_from.elapsed());
        }
        // Drain: stop taking deliveries, prove what is held, commit, reply, ack.
        tracing::info!(held = self.queue.len(), inflight = self.inflight.len(), "draining before shutdown");
        self.cancel_consumers(&mut tags).await;
        self.requeue_due(true).await;
        // Deliveries received but not taken up are admitted and proved like the others.
        while let Some(received) = self.intake.pop_in(self.config.intake_order) {
            self.handle(received, stats).await?;
        }
        loop {
            self.pump(true, stats).await?;
            match self.inflight.next().await {
                Some((held, result)) => self.finish_batch(held, result, stats).await?,
                None if self.queue.is_empty() => break,
                None => {
                    // Nothing could be dispatched (cannot happen: admission keeps out what fits
                    // no device); never spin. Unacked deliveries return to their queues.
                    tracing::warn!(held = self.queue.len(), "jobs left undispatched at shutdown; the broker will redeliver them");
                    break;
                }
            }
        }
        Ok(())
    }

    /// Consumes the shared queue and every registered tenant's queues (at the session's start,
    /// when consumption resumes, and when the prefetch scale changed).
    async fn subscribe_all(
        &mut self,
        consumers: &mut Consumers,
        subscribed: &mut HashSet<String>,
        session: &str,
        tags: &mut Vec<String>,
    ) -> Result<(), SchedulerError> {
        let shared = self.consume(&self.config.amqp.jobs_queue(), session, tags).await?;
        consumers.push(tagged(shared, SourceTag { tenant: String::new(), priority: 0 }));
        self.subscribe_tenants(consumers, subscribed, session, tags).await
    }

    /// Lists the tenants (kept in `self.listed` for the subscriptions) and derives the prefetch
    /// scale from the byte budget: every consumer's configured prefetch (the shared queue's, ten
    /// per tenant by weight), each delivery as large as the largest registered circuit's
    /// witness, must fit ¾ of the budget. True when the scale changed (the running consumers
    /// must be started again to take it). A listing the database refuses keeps the last one:
    /// the queues consumed so far stay consumed, and the next refresh tries again.
    async fn plan_prefetch(&mut self) -> Result<bool, SchedulerError> {
        let listed = self.with_store_retry(|s| async move { Ok((s.list_tenants().await?, s.largest_n_vars().await?)) }).await;
        let (tenants, n_vars) = match listed {
            Ok(v) => v,
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "cannot list the tenants and circuits; keeping the last listing and prefetch, trying again in {} s", CACHE_TTL.as_secs());
                return Ok(false);
            }
        };
        self.listed = tenants;
        let tenants = &self.listed;
        let weight = |t: &TenantRecord| u32::try_from(t.weight).unwrap_or(1).max(1);
        let configured = u64::from(self.config.prefetch()) + tenants.iter().map(|t| 10 * u64::from(self.config.tenant_prefetch(weight(t)))).sum::<u64>();
        let consumers = 1 + 10 * tenants.len() as u64;
        let body = n_vars.and_then(|n| usize::try_from(n).ok()).map_or(0, zkq_engine::Witness::encoded_len) as u64;
        let scale = prefetch_scale(self.held.budget(), body, configured);
        if scale == self.prefetch_scale {
            return Ok(false);
        }
        self.prefetch_scale = scale;
        if consumers.saturating_mul(body) > self.held.budget() / 4 * 3 {
            tracing::warn!(
                consumers,
                largest_witness = body,
                budget = self.held.budget(),
                "even one delivery per consumer does not fit ¾ of the byte budget: consumption pauses above it, but raise --held-budget-mib"
            );
        } else {
            tracing::info!(scale, consumers, largest_witness = body, budget = self.held.budget(), "prefetch scaled to fit the byte budget");
        }
        Ok(true)
    }

    /// Starts a consumer on the shared `queue` (QoS: the channel's default prefetch, scaled to
    /// the budget, set again here because tenant subscriptions change it).
    async fn consume(&mut self, queue: &str, session: &str, tags: &mut Vec<String>) -> Result<Consumer, SchedulerError> {
        let tag = format!("{}-{}-{}", self.config.worker_id, session, self.shared_tags);
        self.shared_tags += 1;
        let prefetch = scaled_prefetch(self.config.prefetch(), self.prefetch_scale);
        self.channel.basic_qos(prefetch, BasicQosOptions { global: false }).await?;
        let consumer = self.channel.basic_consume(queue.into(), tag.as_str().into(), BasicConsumeOptions::default(), FieldTable::default()).await?;
        tags.push(tag);
        Ok(consumer)
    }

    /// Cancels every consumer in `tags` (pipelined) and empties it. The broker pushes nothing
    /// more; what it pushed before still arrives, then each consumer's stream ends.
    async fn cancel_consumers(&self, tags: &mut Vec<String>) {
        let cancels = tags.iter().map(|tag| self.channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()));
        for result in futures_util::future::join_all(cancels).await {
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot cancel a consumer");
            }
        }
        tags.clear();
    }

    /// Declares and consumes the queues (one per priority class) of every tenant of the last
    /// listing ([`Session::plan_prefetch`]) not consumed yet. `subscribed` holds queue names. A queue that exists with other arguments
    /// (a submitter pre-declared it) is reported once per session and skipped: it is not
    /// consumed, and declaring it again on the next refresh is cheap (a throwaway channel), so
    /// it is taken up once an operator has deleted it.
    async fn subscribe_tenants(
        &mut self,
        consumers: &mut Consumers,
        subscribed: &mut HashSet<String>,
        session: &str,
        tags: &mut Vec<String>,
    ) -> Result<(), SchedulerError> {
        for t in self.listed.clone() {
            self.fairness.set_weight(&t.name, f64::from(t.weight.max(1)));
            let weight = u32::try_from(t.weight).unwrap_or(1).max(1);
            self.weights.insert(t.name.clone(), weight);
            let amqp = &self.config.amqp;
            let todo: Vec<u8> = (0..=9u8).filter(|p| !subscribed.contains(&amqp.tenant_queue(&t.name, *p))).collect();
            if todo.is_empty() {
                continue;
            }
            // Prefetch in proportion to the weight (QoS applies to the consumers started after
            // it on this channel): a tenant's held deliveries must last for its weighted share
            // of the intake while its acks travel and the broker refills them.
            let prefetch = scaled_prefetch(self.config.tenant_prefetch(weight), self.prefetch_scale);
            self.channel.basic_qos(prefetch, BasicQosOptions { global: false }).await?;
            // The classes' declare + consume round trips, pipelined. Each queue is declared on a
            // throwaway channel: a refusal (406) closes that channel, not the session's.
            let base = self.tenant_tags;
            self.tenant_tags += todo.len();
            let subscribe = todo.iter().enumerate().map(|(i, &priority)| {
                let (conn, channel, amqp) = (self.conn, self.channel.clone(), &self.config.amqp);
                let tag = format!("{}-{}-t{}", self.config.worker_id, session, base + i);
                let name = t.name.clone();
                async move {
                    if let Some(conflict) = topology::declare_tenant_checked(conn, &channel, amqp, &name, priority).await? {
                        return Ok::<_, SchedulerError>((priority, Err(conflict)));
                    }
                    let queue = amqp.tenant_queue(&name, priority);
                    let c = channel.basic_consume(queue.as_str().into(), tag.as_str().into(), BasicConsumeOptions::default(), FieldTable::default()).await?;
                    Ok((priority, Ok((tag, c))))
                }
            });
            let mut consumed = 0;
            for (priority, outcome) in futures_util::future::try_join_all(subscribe).await? {
                match outcome {
                    Ok((tag, consumer)) => {
                        tags.push(tag);
                        consumers.push(tagged(consumer, SourceTag { tenant: t.name.clone(), priority }));
                        subscribed.insert(self.config.amqp.tenant_queue(&t.name, priority));
                        consumed += 1;
                    }
                    Err(conflict) => {
                        if self.conflicts.insert(conflict.queue.clone()) {
                            tracing::warn!(tenant = %t.name, priority, %conflict, "not consuming it: its jobs wait until an operator deletes the queue (the next worker or refresh declares it properly)");
                            self.metrics.queue_conflict();
                        }
                    }
                }
            }
            if consumed > 0 {
                tracing::info!(tenant = %t.name, weight = t.weight, prefetch, queues = consumed, "consuming the tenant's queues");
            }
        }
        Ok(())
    }

    /// Records `tenant`'s backlog and its held deliveries by stage (metrics). The backlog is its
    /// jobs held and not yet in a batch: in the intake (by source queue) and in the fair queue.
    /// The fairness figures count a tenant as backlogged while it has any: when the intake is
    /// the bottleneck the fair queue alone holds almost nothing.
    fn note_held(&self, tenant: &str, now: Time) {
        let held = HeldJobs {
            intake: self.intake.backlog(tenant),
            queue: self.queue.backlog(tenant),
            device: self.at_device.get(tenant).copied().unwrap_or(0),
        };
        // Backlogged = work in the system, waiting or in service (as in GPS/WFQ, Parekh &
        // Gallager 1993): quorum queues hand prefetch credit back in bursts, so the jobs not yet
        // in a batch can run out for a moment between bursts while the tenant is still served.
        self.fairness.backlog(tenant, now, held.intake + held.queue + held.device);
        self.fairness.held(tenant, held);
    }

    /// Now, on the fair queue's clock.
    fn now(&self) -> Time {
        self.origin.elapsed()
    }

    /// The instant the loop next needs attention: a batch's wait or a deadline in the fair queue,
    /// or a delivery due to go back to its queue.
    fn wakeup(&self) -> Option<Instant> {
        let (shapes, spec, max_batch) = (&self.shapes, &self.device_spec, self.config.max_batch);
        let fair = self.queue.next_wakeup(|c| memory_cap(shapes, spec, max_batch, c)).map(|t| self.origin + t);
        let requeue = self.requeue.iter().map(|(at, ..)| *at).min();
        fair.into_iter().chain(requeue).min()
    }

    /// Returns the deliveries whose time has come (all of them with `all`) to their queues.
    async fn requeue_due(&mut self, all: bool) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.requeue).into_iter().partition(|(at, ..)| all || *at <= now);
        self.requeue = later;
        // Each lease is given back once its delivery is nacked.
        for (_, delivery, _lease) in due {
            if let Err(e) = delivery.nack(BasicNackOptions { multiple: false, requeue: true }).await {
                // The session is ending: the broker returns unacked deliveries to their queues.
                tracing::warn!(error = %e, "cannot requeue a delivery");
            }
        }
    }

    /// Fails held jobs whose deadline passed, then forms and dispatches batches while the
    /// device has a free slot (`flush`: partial batches too, for shutdown).
    async fn pump(&mut self, flush: bool, stats: &mut WorkerStats) -> Result<(), SchedulerError> {
        for q in self.queue.expire(self.now()) {
            self.fairness.deadline_exceeded(&q.tenant);
            self.note_held(&q.tenant, self.now());
            let held = q.item;
            let rejection = Rejection { code: ReasonCode::DeadlineExceeded, reason: "the deadline passed while the job waited for a batch".into() };
            self.reject(Some(held.meta), rejection, held.delivery, held.received_at, stats).await?;
        }
        while self.inflight.len() < DEVICE_SLOTS {
            let now = self.now();
            let (shapes, spec, max_batch) = (&self.shapes, &self.device_spec, self.config.max_batch);
            let Some(batch) = self.queue.next_batch(now, |c| memory_cap(shapes, spec, max_batch, c), flush) else { break };
            let mut tenants = HashSet::new();
            for q in &batch.jobs {
                self.fairness.served(&q.tenant, now, q.cost, now.saturating_sub(q.arrived));
                tenants.insert(q.tenant.clone());
            }
            for q in &batch.jobs {
                *self.at_device.entry(q.tenant.clone()).or_default() += 1;
            }
            for t in tenants {
                self.note_held(&t, now);
            }
            self.fairness.refresh(now);
            tracing::debug!(circuit = %batch.circuit, size = batch.jobs.len(), cut = ?batch.cut, "batch formed");
            self.dispatch(batch.circuit, batch.jobs.into_iter().map(|q| q.item).collect(), stats).await?;
        }
        Ok(())
    }

    async fn tenant(&mut self, name: &str) -> Result<Option<TenantRecord>, SchedulerError> {
        if let Some(t) = self.tenants.get(name) {
            return Ok(t);
        }
        let t = self
            .with_store_retry(|s| {
                let name = name.to_owned();
                async move { s.tenant(&name).await }
            })
            .await?;
        self.tenants.insert(name, t.clone());
        Ok(t)
    }

    async fn circuit(&mut self, reference: &str) -> Result<Option<CircuitRecord>, SchedulerError> {
        if let Some(c) = self.circuits.get(reference) {
            return Ok(c);
        }
        let c = self
            .with_store_retry(|s| {
                let reference = reference.to_owned();
                async move { s.resolve_circuit(&reference).await }
            })
            .await?;
        self.circuits.insert(reference, c.clone());
        Ok(c)
    }

    async fn price(&mut self) -> Result<Option<Price>, SchedulerError> {
        if let Some(c) = self.prices.as_ref().filter(|c| c.at.elapsed() < CACHE_TTL) {
            return Ok(c.value.clone());
        }
        let device_type = self.config.device_type.clone();
        let p = match self
            .with_store_retry(|s| {
                let device_type = device_type.clone();
                async move { s.price_at(&device_type, Utc::now()).await }
            })
            .await
        {
            Ok(p) => p,
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the price; this batch's jobs get no cost");
                None
            }
        };
        self.prices = Some(Cached { value: p.clone(), at: Instant::now() });
        Ok(p)
    }

    /// Admission: read the message, answer redeliveries from the store, check tenant,
    /// circuit and deadline, then hand the job to the batcher.
    async fn handle(&mut self, received: Received, stats: &mut WorkerStats) -> Result<(), SchedulerError> {
        // `lease` lives until the delivery is settled (returning from here, or in `Held`).
        let Received { delivery, lease, source } = received;
        let received_at = Utc::now();
        let meta = match protocol::parse_job(&delivery.properties, &delivery.data, self.config.max_message_bytes) {
            Ok(m) => m,
            Err((partial, rejection)) => return self.reject(partial, rejection, delivery, received_at, stats).await,
        };
        if let Err(rejection) = protocol::check_routing(&meta, &source.tenant, source.priority) {
            // The result row is keyed on the job id under the tenant the queue vouches for, not
            // the header's: nothing is recorded under the other tenant's name.
            let meta = JobMeta { tenant: source.tenant.clone(), ..meta };
            return self.reject(Some(meta), rejection, delivery, received_at, stats).await;
        }
        if delivery.redelivered {
            let stored = match self
                .with_store_retry(|s| {
                    let meta = meta.clone();
                    async move { s.stored_result_for(&meta).await }
                })
                .await
            {
                Ok(stored) => stored,
                Err(e) => return self.reject(Some(meta), refused(e)?, delivery, received_at, stats).await,
            };
            if let StoredResult::Conflict(reason) = stored {
                let outcome = unrecorded_outcome(meta, received_at);
                return self.answer_unrecorded((outcome, delivery), None, Rejection { code: ReasonCode::JobIdConflict, reason }, stats).await;
            }
            if let StoredResult::Same(result) = stored {
                tracing::info!(job = %meta.job_id, "redelivered job already has a result; re-sending it");
                let confirm = self.publish_reply(&meta, &delivery.properties, &result).await?;
                let why = undelivered(confirm).await?;
                self.record_undelivered(&meta.job_id, false, why);
                ack(&delivery).await;
                stats.resent += 1;
                return Ok(());
            }
        }
        let fail = |code, reason: String| Rejection { code, reason };
        let user_id = delivery.properties.user_id().as_ref().map(|u| u.as_str().to_owned());
        let device_spec = self.device_spec.clone();
        let witness = &delivery.data;
        let admission = async {
            let tenant = match self.tenant(&meta.tenant).await {
                Ok(t) => t,
                Err(e) => return refused(e).map(Err),
            };
            let Some(tenant) = tenant else {
                return Ok::<_, SchedulerError>(Err(fail(ReasonCode::UnknownTenant, format!("tenant `{}` is not registered", meta.tenant))));
            };
            if let Some(at) = tenant.removed_at {
                return Ok(Err(fail(ReasonCode::UnknownTenant, format!("tenant `{}` was removed at {}", meta.tenant, at.to_rfc3339()))));
            }
            // The broker checked `user_id` against the publishing connection: only the tenant's
            // own user or the operator may publish its jobs (`crate::identity`).
            if let Some(user) = user_id.as_deref() {
                if !identity::user_may_publish_for(user, tenant.amqp_user.as_deref(), &self.operator_user) {
                    return Ok(Err(fail(
                        ReasonCode::TenantMismatch,
                        format!("the job was published by broker user {user:?}, which may not publish for tenant {:?}", meta.tenant),
                    )));
                }
            }
            let circuit = match self.circuit(&meta.circuit_ref).await {
                Ok(c) => c,
                Err(e) => return refused(e).map(Err),
            };
            let Some(circuit) = circuit else {
                return Ok(Err(fail(ReasonCode::UnknownCircuit, format!("circuit `{}` is not registered", meta.circuit_ref))));
            };
            if meta.deadline_ms.is_some_and(|d| d <= received_at.timestamp_millis()) {
                return Ok(Err(fail(ReasonCode::DeadlineExceeded, "the deadline had passed when the job arrived".into())));
            }
            // An inline witness must be exactly a .wtns of the circuit's size: anything else is
            // refused here, before it is copied or parsed.
            let want = usize::try_from(circuit.n_vars).map(zkq_engine::Witness::encoded_len).unwrap_or(0);
            if !witness.is_empty() && witness.len() != want {
                return Ok(Err(fail(
                    ReasonCode::BadWitness,
                    format!(
                        "the witness is {} bytes; a .wtns of circuit {} ({} values) is exactly {want} bytes",
                        witness.len(),
                        circuit.label(),
                        circuit.n_vars
                    ),
                )));
            }
            let shape = CircuitShape::from(&circuit);
            if MemoryModel.max_batch(&shape, &device_spec) == 0 {
                let need = MemoryModel.batch_bytes(&shape, device_spec.backend, 1);
                return Ok(Err(fail(
                    ReasonCode::ExceedsDeviceMemory,
                    format!(
                        "circuit {} needs {} of device memory for a single proof (key and working set, estimated from its zkey header); this worker's {} device has {}",
                        circuit.label(),
                        human_bytes(need),
                        device_spec.backend.as_str(),
                        human_bytes(device_spec.memory_bytes)
                    ),
                )));
            }
            Ok(Ok((tenant, circuit, shape)))
        };
        let (tenant, circuit, shape) = match admission.await? {
            Ok(c) => c,
            Err(rejection) => return self.reject(Some(meta), rejection, delivery, received_at, stats).await,
        };
        let mut meta = meta;
        // The ε one proof charges: the admission policy sees it, the budget holds it.
        let charge = match charge_for(&meta, &circuit) {
            Ok(c) => c,
            Err(rejection) => return self.reject(Some(meta), rejection, delivery, received_at, stats).await,
        };
        // The admission policy: a deny is final; an allow may cap the priority and set the weight.
        let weight = match self.admit_policy(&mut meta, &tenant, &circuit, charge, received_at).await? {
            Ok(w) => w,
            Err(rejection) => return self.reject(Some(meta), rejection, delivery, received_at, stats).await,
        };
        // Privacy budget, last: a hold is taken only for a job that passed every other check.
        if let Err((rejection, budget)) = self.admit_budget(&mut meta, &circuit, charge).await? {
            return self.reject_with_budget(Some(meta), rejection, budget, delivery, received_at, stats).await;
        }
        let queue_wait_ms = meta.submitted_at_ms.map_or(0.0, |s| (received_at.timestamp_millis() - s).max(0) as f64);
        meta.circuit_id = Some(circuit.id.clone());
        if !self.shapes.contains_key(&circuit.id) {
            // First sight of this circuit in this session: start its cost from the store's
            // measured history (this device type) rather than the header prior.
            let (id, device_type) = (circuit.id.clone(), self.config.device_type.clone());
            let measured = match self
                .with_store_retry(|s| {
                    let (id, device_type) = (id.clone(), device_type.clone());
                    async move { s.measured_seconds_per_proof(&id, &device_type).await }
                })
                .await
            {
                Ok(m) => m,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    let circuit = circuit.id.as_str();
                    tracing::error!(error = %e, circuit, "cannot read the circuit's measured cost; starting from the header's estimate");
                    None
                }
            };
            if let Some(per_proof) = measured {
                self.costs.seed(&circuit.id, per_proof);
            }
        }
        let now = self.now();
        let deadline = meta.deadline_ms.map(|d| now + Duration::from_millis(u64::try_from(d - received_at.timestamp_millis()).unwrap_or(0)));
        let spec = JobSpec {
            tenant: meta.tenant.clone(),
            weight: weight.unwrap_or_else(|| u32::try_from(tenant.weight).unwrap_or(1)).max(1),
            circuit: circuit.id.clone(),
            priority: meta.priority,
            cost: self.costs.per_proof_seconds(&circuit.id, &shape),
            deadline,
            item: Held { meta, delivery, lease, received_at, queue_wait_ms },
        };
        self.shapes.insert(circuit.id.clone(), shape);
        let tenant_name = spec.tenant.clone();
        self.queue.push(spec, now);
        self.fairness.set_weight(&tenant_name, f64::from(weight.unwrap_or_else(|| u32::try_from(tenant.weight).unwrap_or(1)).max(1)));
        self.note_held(&tenant_name, now);
        self.pump(false, stats).await
    }

    /// The admission policy (`crate::policy_gate`, `docs/policy.md`): checks for changed
    /// policies when due, decides, and records the decision in `meta` (the result, the stored
    /// result and the attestation carry it). An allow lowers the job's priority to its cap and
    /// may set the tenant's weight for the job (returned); a deny is a `policy_denied`
    /// rejection whose reason is the English explanation.
    async fn admit_policy(
        &mut self,
        meta: &mut JobMeta,
        tenant: &TenantRecord,
        circuit: &CircuitRecord,
        charge: Option<u64>,
        received_at: chrono::DateTime<Utc>,
    ) -> Result<Result<Option<u32>, Rejection>, SchedulerError> {
        if !self.policy.enabled() {
            return Ok(Ok(None));
        }
        if let Err(e) = self.policy.refresh(&self.store, false).await {
            // The loaded policies were valid and keep deciding; the next job retries.
            tracing::warn!(error = %e, "cannot check the admission policies for changes; deciding with the loaded ones");
        }
        let now = Utc::now();
        let request = AdmissionRequest {
            tenant: meta.tenant.clone(),
            tenant_tier: tenant.tier.clone(),
            tenant_weight: u32::try_from(tenant.weight).unwrap_or(1),
            circuit_id: circuit.id.clone(),
            circuit_name: circuit.name.clone(),
            constraints: i64::from(circuit.n_constraints),
            purpose: meta.purpose.clone(),
            epsilon_micro: charge.unwrap_or(0),
            priority: meta.priority,
            deadline_in_ms: meta.deadline_ms.map(|d| d - received_at.timestamp_millis()),
            region: self.config.region.clone().unwrap_or_default(),
            jobs_last_minute: self.policy.jobs_last_minute(&meta.tenant, now),
            at: now,
        };
        let decision = self.policy.decide(&request, charge);
        let verdict = decision.verdict;
        self.metrics.policy_decision(&meta.tenant, decision.allowed);
        if !decision.allowed {
            let reason = verdict.reason.en.clone();
            meta.policy = Some(Box::new(verdict));
            return Ok(Err(Rejection { code: ReasonCode::PolicyDenied, reason }));
        }
        if let Some(cap) = verdict.caps.priority {
            meta.priority = meta.priority.min(cap);
        }
        let weight = verdict.caps.weight;
        meta.policy = Some(Box::new(verdict));
        Ok(Ok(weight))
    }

    /// Purpose binding and the privacy-budget hold (`docs/budgets.md`): records `charge` (the ε
    /// the job charges, from [`charge_for`]) in `meta`, checks its purpose is one of the tenant's
    /// budgets, and holds the ε until the job's result commits.
    async fn admit_budget(
        &mut self,
        meta: &mut JobMeta,
        circuit: &CircuitRecord,
        charge: Option<u64>,
    ) -> Result<Result<(), (Rejection, Option<zkq_budget::JobBudget>)>, SchedulerError> {
        use zkq_budget::pg::{Admission, JobCharge};
        use zkq_budget::report::eps;
        let fail = |code, reason: String| Err((Rejection { code, reason }, None));
        meta.epsilon_micro = charge;
        let purpose_shown: String = meta.purpose.chars().take(64).collect();
        if meta.purpose.is_empty() {
            return Ok(match charge {
                Some(c) => fail(
                    ReasonCode::UnknownPurpose,
                    format!(
                        "circuit {} costs {} ε per proof: the job must name its purpose in zkq-purpose, one tenant {:?} has a privacy budget for (zkq budget list)",
                        circuit.label(),
                        eps(c),
                        meta.tenant
                    ),
                ),
                None => Ok(()),
            });
        }
        let unknown = || {
            fail(
                ReasonCode::UnknownPurpose,
                format!("tenant {:?} has no privacy budget for purpose {purpose_shown:?}; an operator creates one with zkq budget set", meta.tenant),
            )
        };
        let Some(epsilon) = charge.and_then(zkq_budget::Epsilon::from_micros) else {
            // Charges nothing: only the purpose binding applies.
            let (tenant, purpose) = (meta.tenant.clone(), meta.purpose.clone());
            if self.budgets_seen.contains(&(tenant.clone(), purpose.clone())) {
                return Ok(Ok(()));
            }
            let known = match self
                .with_store_retry(|s| {
                    let (tenant, purpose) = (tenant.clone(), purpose.clone());
                    async move { s.has_budget(&tenant, &purpose).await }
                })
                .await
            {
                Ok(k) => k,
                Err(e) => return refused(e).map(|r| Err((r, None))),
            };
            if known {
                self.budgets_seen.insert((tenant, purpose));
                return Ok(Ok(()));
            }
            return Ok(unknown());
        };
        let job = JobCharge { tenant: meta.tenant.clone(), job_id: meta.job_id.clone(), purpose: meta.purpose.clone(), epsilon };
        let ttl = chrono::Duration::from_std(self.config.budget.reservation_ttl).unwrap_or(chrono::Duration::minutes(15));
        let worker_id = self.config.worker_id.clone();
        let admission = match self
            .with_store_retry(|s| {
                let (job, worker_id) = (job.clone(), worker_id.clone());
                async move { s.reserve_budget(&job, &worker_id, ttl).await }
            })
            .await
        {
            Ok(a) => a,
            Err(e) => return refused(e).map(|r| Err((r, None))),
        };
        Ok(match admission {
            Admission::Reserved(view) | Admission::AlreadyHeld(view) => {
                self.metrics.budget_remaining(&view.tenant, &view.purpose, view.remaining_micro);
                Ok(())
            }
            Admission::AlreadyCharged => Ok(()),
            Admission::UnknownPurpose => unknown(),
            Admission::PerJobMax { max, requested } => fail(
                ReasonCode::EpsilonTooLarge,
                format!("the job would charge {} ε but purpose {purpose_shown:?} allows at most {} ε per job", eps(requested), eps(max)),
            ),
            Admission::Conflict(reason) => fail(ReasonCode::JobIdConflict, reason),
            Admission::Blocked(block) => {
                self.metrics.budget_blocked(&block.tenant, &block.purpose);
                self.metrics.budget_remaining(&block.tenant, &block.purpose, block.shortfall.remaining());
                let contact = self.config.budget.contact.clone();
                Err((Rejection { code: ReasonCode::BudgetExhausted, reason: block.message(&contact) }, Some(block.job_budget(&contact))))
            }
        })
    }

    /// Sends a batch to the device (waiting while its queue is full) and tracks it.
    async fn dispatch(&mut self, circuit_id: String, mut items: Vec<Held>, stats: &mut WorkerStats) -> Result<(), SchedulerError> {
        let circuit = match self.circuit(&circuit_id).await {
            Ok(c) => c,
            Err(e) => {
                let rejection = refused(e)?;
                for h in items {
                    self.reject(Some(h.meta), rejection.clone(), h.delivery, h.received_at, stats).await?;
                }
                return Ok(());
            }
        };
        let price = self.price().await?;
        let Some(circuit) = circuit else {
            return Err(SchedulerError::Invalid(format!("circuit {circuit_id} vanished from the store")));
        };
        // The witness moves to the device (no copy) and comes back with the result.
        let jobs = items
            .iter_mut()
            .map(|h| DeviceJob { meta: h.meta.clone(), witness: std::mem::take(&mut h.delivery.data), received_at: h.received_at, queue_wait_ms: h.queue_wait_ms })
            .collect();
        let rx = self.device.submit(DeviceBatch { circuit, jobs, price }).await?;
        let held = items;
        self.inflight.push(Box::pin(async move {
            let result = rx.await.map_err(|_| SchedulerError::DeviceGone("the device thread stopped with a batch in hand".into()));
            (held, result)
        }));
        Ok(())
    }

    /// Commits a finished batch, replies, dead-letters failures, acks.
    async fn finish_batch(&mut self, mut held: Vec<Held>, result: Result<DeviceResult, SchedulerError>, stats: &mut WorkerStats) -> Result<(), SchedulerError> {
        let mut result = result?;
        if let Some(b) = &result.batch {
            self.costs.observe(&b.circuit_id, usize::try_from(b.size).unwrap_or(0), b.device_seconds);
            if let Some(shape) = self.shapes.get(&b.circuit_id) {
                self.queue.set_cost(&b.circuit_id, self.costs.per_proof_seconds(&b.circuit_id, shape));
            }
            let usd: f64 = result
                .outcomes
                .iter()
                .filter_map(|o| match o {
                    DeviceOutcome::Final(o) => o.cost.map(|c| c.usd),
                    DeviceOutcome::Retry { .. } => None,
                })
                .sum();
            self.metrics.batch_ran(&b.device_type, b.size.max(0) as usize, b.device_seconds, usd);
        }
        let device = result.batch.as_ref().map(|b| b.device.clone());
        if result.witnesses.len() == held.len() {
            for (h, w) in held.iter_mut().zip(std::mem::take(&mut result.witnesses)) {
                h.delivery.data = w;
            }
        }
        let tenants: Vec<String> = held.iter().map(|h| h.meta.tenant.clone()).collect();
        let mut items: Vec<(JobOutcome, Delivery)> = Vec::with_capacity(held.len());
        // The committed jobs' leases, given back once they are acked.
        let mut leases: Vec<Lease> = Vec::with_capacity(held.len());
        let retry_at = Instant::now() + REQUEUE_DELAY;
        for (outcome, h) in result.outcomes.into_iter().zip(held) {
            match outcome {
                DeviceOutcome::Final(o) => {
                    items.push((*o, h.delivery));
                    leases.push(h.lease);
                }
                DeviceOutcome::Retry { reason, panicked } => {
                    let tries = delivery_count(&h.delivery) + 1;
                    if panicked && tries >= PANIC_TRIES {
                        // A job that panics the device alone, again: final, so that it cannot
                        // take the device down for everyone until its delivery limit.
                        let reason = format!("the device panicked on this job {tries} times (proved alone): {reason}");
                        tracing::error!(job = %h.meta.job_id, %reason, "failing the job");
                        let failed = JobOutcome {
                            meta: h.meta.clone(),
                            outcome: Outcome::Failed { code: ReasonCode::ProverError, reason },
                            timings: JobTimings { queue_wait_ms: h.queue_wait_ms, ..Default::default() },
                            received_at: h.received_at,
                            cost: None,
                            batch_id: None,
                            batch_size: 0,
                            budget: None,
                        };
                        items.push((failed, h.delivery));
                        leases.push(h.lease);
                        continue;
                    }
                    // Not the job's fault: nothing is committed; the delivery goes back to its
                    // queue after a pause (the queue's delivery limit bounds the tries).
                    tracing::warn!(job = %h.meta.job_id, %reason, tries, "infrastructure failure; the job goes back to its queue");
                    self.metrics.job_finished(JobOutcomeLabel::Requeued, None);
                    self.requeue.push((retry_at, h.delivery, h.lease));
                }
            }
        }
        if !items.is_empty() {
            self.commit_reply_ack(result.batch.as_ref(), items, device, stats).await?;
        }
        drop(leases);
        let now = self.now();
        for t in &tenants {
            if let Some(n) = self.at_device.get_mut(t) {
                *n = n.saturating_sub(1);
            }
        }
        for t in tenants.iter().collect::<HashSet<_>>() {
            self.note_held(t, now);
        }
        Ok(())
    }

    /// A job refused before batching: a failure result, stored (when it has a job id),
    /// replied and dead-lettered like any other failure.
    async fn reject(
        &mut self,
        partial: Option<JobMeta>,
        rejection: Rejection,
        delivery: Delivery,
        received_at: chrono::DateTime<Utc>,
        stats: &mut WorkerStats,
    ) -> Result<(), SchedulerError> {
        self.reject_with_budget(partial, rejection, None, delivery, received_at, stats).await
    }

    /// [`Session::reject`], with the result's `budget` object (a privacy-budget refusal).
    async fn reject_with_budget(
        &mut self,
        partial: Option<JobMeta>,
        rejection: Rejection,
        budget: Option<zkq_budget::JobBudget>,
        delivery: Delivery,
        received_at: chrono::DateTime<Utc>,
        stats: &mut WorkerStats,
    ) -> Result<(), SchedulerError> {
        tracing::warn!(job = partial.as_ref().map(|m| m.job_id.as_str()).unwrap_or("?"), code = %rejection.code, reason = %rejection.reason, "job rejected");
        let Some(meta) = partial else {
            // No valid job id: nothing to key a result row on. Answer `reply_to` (matched by the
            // submitter's correlation_id, job id empty) and dead-letter it with the reason.
            let reply = JobResult {
                protocol: PROTOCOL_VERSION,
                job_id: String::new(),
                tenant: String::new(),
                circuit_id: None,
                outcome: Outcome::Failed { code: rejection.code, reason: rejection.reason.clone() },
                timings_ms: JobTimings::default(),
                batch_size: 0,
                device: None,
                cost: None,
                budget: None,
                policy: None,
            };
            let reply = serde_json::to_value(reply).unwrap_or(serde_json::Value::Null);
            let reply_to = delivery.properties.reply_to().as_ref().map(|r| r.as_str());
            let reply = self.publish_reply_to(reply_to, "", &delivery.properties, &reply).await?;
            let dead = self.dead_letter(&delivery, None, rejection.code, &rejection.reason).await?;
            let (reply, dead) = (undelivered(reply).await?, undelivered(Some(dead)).await?);
            self.record_undelivered("", false, reply);
            self.record_undelivered("", true, dead);
            ack(&delivery).await;
            stats.failed += 1;
            return Ok(());
        };
        let outcome = JobOutcome {
            meta,
            outcome: Outcome::Failed { code: rejection.code, reason: rejection.reason },
            timings: JobTimings::default(),
            received_at,
            cost: None,
            batch_id: None,
            batch_size: 0,
            budget,
        };
        self.commit_reply_ack(None, vec![(outcome, delivery)], None, stats).await
    }

    /// Runs a store operation until it succeeds, with backoff, for as long as the broker
    /// channel is up: a database outage keeps the session, its unacked deliveries and their
    /// delivery counts as they are (admission look-ups included, so that a session is never
    /// torn down and its deliveries redelivered because PostgreSQL is away). Once the channel
    /// is gone the error is returned and the session ends.
    ///
    /// Only transient errors are retried ([`SchedulerError::is_transient`]: connection, pool,
    /// timeout, …). A permanent one — the database refuses this request and would refuse it
    /// again — is returned at once; the caller fails the job it belongs to ([`refused`]).
    async fn with_store_retry<T, F, Fut>(&self, mut f: F) -> Result<T, SchedulerError>
    where
        F: FnMut(Store) -> Fut,
        Fut: Future<Output = Result<T, SchedulerError>>,
    {
        let mut backoff = Backoff::new();
        loop {
            match f(self.store.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_transient() => {
                    tracing::warn!(error = %e, "PostgreSQL refused the operation; not retrying");
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "PostgreSQL unavailable; retrying (deliveries stay unacked)");
                    if self.channel.status().connected() {
                        // While draining for shutdown, keep waiting for the database (a kill is
                        // safe: the deliveries are unacked) but never spin.
                        if *self.stop.borrow() {
                            backoff.sleep().await;
                        } else {
                            backoff.wait(&self.stop).await;
                        }
                    } else {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Commits outcomes (one transaction), then replies, dead-letters failures and acks. When
    /// the database refuses the transaction for good, the outcomes are committed again one by
    /// one, and a job whose own commit is refused is answered `rejected_by_database` without a
    /// result row ([`Session::answer_unrecorded`]).
    async fn commit_reply_ack(
        &mut self,
        batch: Option<&BatchRecord>,
        items: Vec<(JobOutcome, Delivery)>,
        device: Option<String>,
        stats: &mut WorkerStats,
    ) -> Result<(), SchedulerError> {
        let rows: Vec<(JobOutcome, serde_json::Value)> = items
            .iter()
            .map(|(o, _)| (o.clone(), serde_json::to_value(result_message(o, device.clone())).unwrap_or(serde_json::Value::Null)))
            .collect();
        let rejection = match self.commit(batch, &rows).await {
            Ok(report) => return self.settle(items, rows, report, device, stats).await,
            Err(e) => refused(e)?,
        };
        if items.len() == 1 {
            let item = items.into_iter().next().expect("one item");
            return self.answer_unrecorded(item, device, rejection, stats).await;
        }
        let (jobs, reason) = (items.len(), rejection.reason.as_str());
        tracing::warn!(jobs, reason, "the database refused the batch's commit; committing its jobs one by one");
        for (item, row) in items.into_iter().zip(rows) {
            let rows = vec![row];
            match self.commit(batch, &rows).await {
                Ok(report) => self.settle(vec![item], rows, report, device.clone(), stats).await?,
                Err(e) => {
                    let rejection = refused(e)?;
                    self.answer_unrecorded(item, device.clone(), rejection, stats).await?;
                }
            }
        }
        Ok(())
    }

    /// After a commit: the jobs whose id belongs to another job fail `job_id_conflict` (no row,
    /// never the stored result); the others are replied to and acked ([`Session::reply_ack`]).
    async fn settle(
        &mut self,
        mut items: Vec<(JobOutcome, Delivery)>,
        mut rows: Vec<(JobOutcome, serde_json::Value)>,
        mut report: CommitReport,
        device: Option<String>,
        stats: &mut WorkerStats,
    ) -> Result<(), SchedulerError> {
        // The commit settled privacy budgets: reply with the results as stored.
        for (i, outcome, json) in std::mem::take(&mut report.rewritten) {
            if let Some(b) = &outcome.budget {
                let remaining = b.remaining.parse::<zkq_budget::Epsilon>().map_or(0, zkq_budget::Epsilon::micros);
                self.metrics.budget_remaining(&outcome.meta.tenant, &b.purpose, remaining);
                if matches!(outcome.outcome, Outcome::Failed { .. }) {
                    self.metrics.budget_blocked(&outcome.meta.tenant, &b.purpose);
                }
            }
            if let (Some(item), Some(row)) = (items.get_mut(i), rows.get_mut(i)) {
                item.0 = outcome.clone();
                *row = (outcome, json);
            }
        }
        if report.conflicts.is_empty() {
            return self.reply_ack(items, rows, report, stats).await;
        }
        let conflicts: HashMap<usize, String> = report.conflicts.iter().cloned().collect();
        let (mut kept, mut kept_rows, mut conflicted) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (item, row)) in items.into_iter().zip(rows).enumerate() {
            match conflicts.get(&i) {
                Some(reason) => conflicted.push((item, reason.clone())),
                None => {
                    kept.push(item);
                    kept_rows.push(row);
                }
            }
        }
        if !kept.is_empty() {
            self.reply_ack(kept, kept_rows, CommitReport { conflicts: Vec::new(), ..report }, stats).await?;
        }
        for (item, reason) in conflicted {
            self.answer_unrecorded(item, device.clone(), Rejection { code: ReasonCode::JobIdConflict, reason }, stats).await?;
        }
        Ok(())
    }

    /// One transaction with these outcomes ([`Store::commit_batch`], retried while transient).
    async fn commit(&self, batch: Option<&BatchRecord>, rows: &[(JobOutcome, serde_json::Value)]) -> Result<CommitReport, SchedulerError> {
        self.with_store_retry(|s| {
            let rows = rows.to_vec();
            async move { s.commit_batch(batch, &rows).await }
        })
        .await
    }

    /// A job the database refused to record: fails it with `rejection` (a failure reply and a
    /// dead letter, like any failure, but no result row), then acks it.
    async fn answer_unrecorded(
        &mut self,
        item: (JobOutcome, Delivery),
        device: Option<String>,
        rejection: Rejection,
        stats: &mut WorkerStats,
    ) -> Result<(), SchedulerError> {
        let (outcome, delivery) = item;
        tracing::warn!(job = %outcome.meta.job_id, code = %rejection.code, reason = %rejection.reason, "job failed: it cannot be recorded");
        let outcome_failed = Outcome::Failed { code: rejection.code, reason: rejection.reason.clone() };
        let failed = JobOutcome { outcome: outcome_failed, cost: None, ..outcome };
        let reply = serde_json::to_value(result_message(&failed, device)).unwrap_or(serde_json::Value::Null);
        let reply = self.publish_reply(&failed.meta, &delivery.properties, &reply).await?;
        let dead = self.dead_letter(&delivery, Some(&failed.meta), rejection.code, &rejection.reason).await?;
        // As in `reply_ack`: acked once the broker took both or said it would not.
        let (reply, dead) = (undelivered(reply).await?, undelivered(Some(dead)).await?);
        self.record_undelivered(&failed.meta.job_id, false, reply);
        self.record_undelivered(&failed.meta.job_id, true, dead);
        stats.failed += 1;
        let since_ms = failed.meta.submitted_at_ms.unwrap_or_else(|| failed.received_at.timestamp_millis());
        let latency_s = Utc::now().timestamp_millis().saturating_sub(since_ms).max(0) as f64 / 1e3;
        self.metrics.job_finished(JobOutcomeLabel::Failed, Some(latency_s));
        ack(&delivery).await;
        Ok(())
    }

    /// After a commit: replies (the stored result for jobs committed before), dead-letters new
    /// failures, waits for the confirms, acks.
    async fn reply_ack(
        &mut self,
        items: Vec<(JobOutcome, Delivery)>,
        rows: Vec<(JobOutcome, serde_json::Value)>,
        report: CommitReport,
        stats: &mut WorkerStats,
    ) -> Result<(), SchedulerError> {
        let already: Vec<String> = report.already_done.clone();
        let stored = if already.is_empty() {
            HashMap::new()
        } else {
            match self
                .with_store_retry(|s| {
                    let ids = already.clone();
                    async move { s.stored_results(&ids).await }
                })
                .await
            {
                Ok(stored) => stored,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    // Their results are committed; they get this delivery's result instead of the stored one.
                    tracing::error!(error = %e, jobs = already.len(), "cannot read stored results; replying with this delivery's");
                    HashMap::new()
                }
            }
        };
        // Publish every reply and dead letter first (pipelined), then await their confirms: a
        // job is acked only once the broker took both, or said it would not (nack, or returned
        // as unroutable). Then the reply is recorded as undeliverable and the job acked anyway:
        // its result is committed, `zkq job <id>` shows it, and requeueing could not deliver it
        // either (the redelivery would be answered the same way until the delivery limit
        // dead-lettered it). A confirm that never comes (channel lost) ends the session unacked.
        let mut confirms = Vec::with_capacity(items.len());
        for ((outcome, delivery), (_, fresh)) in items.iter().zip(&rows) {
            let reply = stored.get(&outcome.meta.job_id).unwrap_or(fresh);
            let reply = self.publish_reply(&outcome.meta, &delivery.properties, reply).await?;
            let mut dead = None;
            if let Outcome::Failed { code, reason } = &outcome.outcome {
                if !stored.contains_key(&outcome.meta.job_id) {
                    dead = Some(self.dead_letter(delivery, Some(&outcome.meta), *code, reason).await?);
                }
            }
            confirms.push((reply, dead));
        }
        for ((outcome, _), (reply, dead)) in items.iter().zip(confirms) {
            let (reply, dead) = (undelivered(reply).await?, undelivered(dead).await?);
            self.record_undelivered(&outcome.meta.job_id, false, reply);
            self.record_undelivered(&outcome.meta.job_id, true, dead);
        }
        let now_ms = Utc::now().timestamp_millis();
        for (outcome, delivery) in &items {
            let label = if stored.contains_key(&outcome.meta.job_id) {
                stats.resent += 1;
                JobOutcomeLabel::Resent
            } else if matches!(outcome.outcome, Outcome::Proved { .. }) {
                stats.proved += 1;
                JobOutcomeLabel::Proved
            } else {
                stats.failed += 1;
                JobOutcomeLabel::Failed
            };
            let since_ms = outcome.meta.submitted_at_ms.unwrap_or_else(|| outcome.received_at.timestamp_millis());
            self.metrics.job_finished(label, Some((now_ms - since_ms).max(0) as f64 / 1e3));
            ack(delivery).await;
        }
        Ok(())
    }

    async fn publish_reply(
        &self,
        meta: &JobMeta,
        original: &BasicProperties,
        body: &serde_json::Value,
    ) -> Result<Option<PublisherConfirm>, SchedulerError> {
        self.publish_reply_to(meta.reply_to.as_deref(), &meta.job_id, original, body).await
    }

    /// Publishes a result to `reply_to` (if any; `mandatory`, so a missing reply queue is
    /// reported) with the original message's correlation_id, else the job id; `job_id` is empty
    /// for a message that had no valid one. The properties are built from scratch: nothing of
    /// the submitter's (`user_id`, `expiration`, …) is copied, so no data in a message can make
    /// the broker refuse the publish and close the worker's channel.
    async fn publish_reply_to(
        &self,
        reply_to: Option<&str>,
        job_id: &str,
        original: &BasicProperties,
        body: &serde_json::Value,
    ) -> Result<Option<PublisherConfirm>, SchedulerError> {
        let Some(reply_to) = reply_to.filter(|r| !r.is_empty()) else { return Ok(None) };
        let mut headers = FieldTable::default();
        headers.insert(protocol::H_PROTOCOL.into(), AMQPValue::LongLongInt(PROTOCOL_VERSION));
        let mut props = BasicProperties::default()
            .with_content_type(RESULT_CONTENT_TYPE.into())
            .with_delivery_mode(2)
            .with_headers(headers);
        if let Some(correlation) = original.correlation_id().clone().or_else(|| (!job_id.is_empty()).then(|| job_id.into())) {
            props = props.with_correlation_id(correlation);
        }
        if !job_id.is_empty() {
            props = props.with_message_id(job_id.into());
        }
        let payload = serde_json::to_vec(body).unwrap_or_default();
        let confirm = self
            .channel
            .basic_publish("".into(), reply_to.into(), BasicPublishOptions { mandatory: true, ..Default::default() }, &payload, props)
            .await?;
        Ok(Some(confirm))
    }

    /// Publishes a failed job's dead letter to the dead-letter exchange (`mandatory`): the job's
    /// `zkq-*` headers plus `zkq-failure-code`, `zkq-failure-reason` and `zkq-witness-sha256`,
    /// and a small JSON body ([`dead_letter_body`]) — never the witness. The properties are built
    /// from scratch (message_id = the job id when valid, the original correlation_id).
    async fn dead_letter(
        &self,
        delivery: &Delivery,
        meta: Option<&JobMeta>,
        code: ReasonCode,
        reason: &str,
    ) -> Result<PublisherConfirm, SchedulerError> {
        let witness_sha256 = meta
            .and_then(|m| m.witness_sha256.clone())
            .or_else(|| (!delivery.data.is_empty()).then(|| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&delivery.data))));
        let mut headers = FieldTable::default();
        if let Some(original) = delivery.properties.headers() {
            for (k, v) in original.inner().iter().filter(|(k, _)| k.as_str().starts_with("zkq-")) {
                headers.insert(k.clone(), v.clone());
            }
        }
        headers.insert(H_FAILURE_CODE.into(), AMQPValue::LongString(code.as_str().into()));
        headers.insert(H_FAILURE_REASON.into(), AMQPValue::LongString(reason.into()));
        if let Some(digest) = &witness_sha256 {
            headers.insert(H_WITNESS_SHA256.into(), AMQPValue::LongString(digest.as_str().into()));
        }
        let mut props = BasicProperties::default()
            .with_content_type(RESULT_CONTENT_TYPE.into())
            .with_delivery_mode(2)
            .with_timestamp(u64::try_from(Utc::now().timestamp()).unwrap_or(0))
            .with_headers(headers);
        if let Some(m) = meta.filter(|m| protocol::valid_job_id(&m.job_id)) {
            props = props.with_message_id(m.job_id.as_str().into());
        }
        if let Some(correlation) = delivery.properties.correlation_id().clone() {
            props = props.with_correlation_id(correlation);
        }
        let body = dead_letter_body(meta, code, reason, witness_sha256.as_deref(), delivery.data.len());
        let payload = serde_json::to_vec(&body).unwrap_or_default();
        let confirm = self
            .channel
            .basic_publish(
                self.config.amqp.dead_letter_exchange().as_str().into(),
                "".into(),
                BasicPublishOptions { mandatory: true, ..Default::default() },
                &payload,
                props,
            )
            .await?;
        Ok(confirm)
    }

    /// Logs and counts a reply (`dead_letter: false`) or dead letter the broker did not take.
    fn record_undelivered(&self, job_id: &str, dead_letter: bool, why: Option<String>) {
        let Some(why) = why else { return };
        let what = if dead_letter { "dead letter" } else { "reply" };
        tracing::warn!(job = job_id, %why, "{what} undeliverable; the job is acked (its result is committed: `zkq job <id>` shows it)");
        self.metrics.undeliverable(dead_letter);
    }
}

/// The body of a dead letter: who, why, and which witness (its sha256 and length), so that an
/// operator or the submitter can find the witness it kept and retry. Never the witness itself.
fn dead_letter_body(
    meta: Option<&JobMeta>,
    code: ReasonCode,
    reason: &str,
    witness_sha256: Option<&str>,
    body_bytes: usize,
) -> serde_json::Value {
    serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "job_id": meta.map(|m| m.job_id.as_str()).unwrap_or(""),
        "tenant": meta.map(|m| m.tenant.as_str()).unwrap_or(""),
        "circuit": meta.map(|m| m.circuit_ref.as_str()).unwrap_or(""),
        "code": code.as_str(),
        "reason": reason,
        "witness_sha256": witness_sha256,
        "body_bytes": body_bytes,
    })
}

/// What the broker said about a reply or dead letter: `None` when it took it (or there was
/// nothing to publish), else why not. An error is a lost channel.
async fn undelivered(confirm: Option<PublisherConfirm>) -> Result<Option<String>, SchedulerError> {
    let Some(confirm) = confirm else { return Ok(None) };
    // A confirm that never comes (the connection died under it) ends the session instead of
    // holding the loop: the deliveries go back to their queues and the worker reconnects.
    let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
        .await
        .map_err(|_| SchedulerError::BrokerLost(format!("no publisher confirm within {} s", CONFIRM_TIMEOUT.as_secs())))??;
    Ok(match confirmation {
        Confirmation::Ack(None) | Confirmation::NotRequested => None,
        Confirmation::Ack(Some(r)) | Confirmation::Nack(Some(r)) => {
            Some(format!("returned as unroutable ({} {}, routing key `{}`)", r.reply_code, r.reply_text, r.delivery.routing_key))
        }
        Confirmation::Nack(None) => Some("refused by the broker (nack)".into()),
    })
}

/// A store error that retrying cannot fix becomes the failure of the job it concerns
/// (`Ok`, code `rejected_by_database`, the SQLSTATE and message in the reason); a transient one
/// (which [`Session::with_store_retry`] returns only once the broker channel is gone) stays an
/// error and ends the session.
fn refused(e: SchedulerError) -> Result<Rejection, SchedulerError> {
    if e.is_transient() {
        return Err(e);
    }
    Ok(Rejection { code: ReasonCode::RejectedByDatabase, reason: format!("the database refused to record the job: {e}") })
}

/// A failed outcome for a job refused before batching (its failure is set by the caller).
fn unrecorded_outcome(meta: JobMeta, received_at: chrono::DateTime<Utc>) -> JobOutcome {
    JobOutcome {
        meta,
        outcome: Outcome::Failed { code: ReasonCode::JobIdConflict, reason: String::new() },
        timings: JobTimings::default(),
        received_at,
        cost: None,
        batch_id: None,
        batch_size: 0,
        budget: None,
    }
}

/// The ε one proof of the job charges (micro-ε): its circuit's cost per proof, or less if the
/// job asked less (`zkq-epsilon`); `None` charges nothing. Asking more, or asking ε of a circuit
/// that costs none, is `epsilon_too_large`.
fn charge_for(meta: &JobMeta, circuit: &CircuitRecord) -> Result<Option<u64>, Rejection> {
    use zkq_budget::report::eps;
    let fail = |reason: String| Err(Rejection { code: ReasonCode::EpsilonTooLarge, reason });
    let cost = circuit.epsilon_micro.and_then(|m| u64::try_from(m).ok()).filter(|m| *m > 0);
    match (cost, meta.epsilon_micro) {
        (None, Some(asked)) => {
            fail(format!("the job asks {} ε (zkq-epsilon) but circuit {} costs no ε per proof; leave zkq-epsilon out", eps(asked), circuit.label()))
        }
        (Some(c), Some(asked)) if asked > c => fail(format!(
            "the job asks {} ε (zkq-epsilon) but circuit {} costs at most {} ε per proof; a job may ask less, never more",
            eps(asked),
            circuit.label(),
            eps(c)
        )),
        (Some(_), Some(asked)) => Ok(Some(asked)),
        (cost, None) => Ok(cost),
    }
}

/// The reply for an outcome.
pub fn result_message(o: &JobOutcome, device: Option<String>) -> JobResult {
    JobResult {
        protocol: PROTOCOL_VERSION,
        job_id: o.meta.job_id.clone(),
        tenant: o.meta.tenant.clone(),
        circuit_id: o.meta.circuit_id.clone(),
        outcome: o.outcome.clone(),
        timings_ms: o.timings,
        batch_size: o.batch_size,
        device,
        cost: o.cost,
        budget: o.budget.clone(),
        policy: o.meta.policy.as_deref().cloned(),
    }
}

/// Acks; a delivery whose channel is gone will simply be redelivered (and recognised).
async fn ack(delivery: &Delivery) {
    match delivery.ack(BasicAckOptions::default()).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("ack not sent (channel closed); the job will be redelivered and answered from the store"),
        Err(e) => tracing::warn!(error = %e, "ack failed; the job will be redelivered and answered from the store"),
    }
}

/// The batch cap device memory allows for `circuit` (`max_batch` when its shape is unknown).
fn memory_cap(shapes: &HashMap<String, CircuitShape>, spec: &DeviceSpec, max_batch: usize, circuit: &str) -> usize {
    shapes.get(circuit).map_or(max_batch, |shape| MemoryModel.max_batch(shape, spec))
}

/// How many times the broker delivered this message before: quorum queues count failed
/// deliveries in the `x-delivery-count` header; a redelivery without it counts as one.
fn delivery_count(delivery: &Delivery) -> u32 {
    let header = delivery.properties.headers().as_ref().and_then(|h| h.inner().get("x-delivery-count")).and_then(|v| match v {
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::ShortInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongUInt(n) => Some(*n),
        AMQPValue::ShortUInt(n) => Some(u32::from(*n)),
        _ => None,
    });
    header.unwrap_or(u32::from(delivery.redelivered))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
