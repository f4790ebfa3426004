//! Configuration, read only at the binary edge (`zkq worker` flags) and passed in.

use std::path::PathBuf;
use std::time::Duration;

use zkq_kernels::BackendConfig;

use crate::metrics::MetricsConfig;

/// Where the broker is and how the queues are shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpConfig {
    /// Broker URI. Default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub uri: String,
    /// RabbitMQ's management HTTP API, where tenants' broker users are created
    /// (`crate::identity`), with the credentials of [`AmqpConfig::uri`]. Default
    /// `http://127.0.0.1:15672`.
    pub management_url: String,
    /// Prefix of every exchange and queue name. Default `zkq`: exchange `zkq.jobs`, queue
    /// `zkq.jobs`, dead-letter exchange `zkq.dlx` and queue `zkq.jobs.dead`. Tests use their own
    /// prefix so they never touch each other's queues.
    pub prefix: String,
    /// Deliveries of one message before the broker dead-letters it (quorum-queue
    /// `x-delivery-limit`). Default 5: enough for worker crashes, small enough that a message
    /// that crashes workers stops.
    pub delivery_limit: u32,
    /// Most messages the dead-letter queue holds (`x-max-length`). Default 100,000. Dead letters
    /// carry no witness (a small JSON body: about 1 KiB each), so the default is about 100 MiB.
    pub dead_letter_max_length: u32,
    /// Most bytes of message bodies the dead-letter queue holds (`x-max-length-bytes`). Default
    /// 256 MiB.
    pub dead_letter_max_bytes: u64,
    /// How long a dead letter is kept (`x-message-ttl`). Default 7 days: long enough for an
    /// operator to look after a weekend, short enough that failure records do not pile up.
    pub dead_letter_ttl: std::time::Duration,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            uri: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            management_url: "http://127.0.0.1:15672".into(),
            prefix: "zkq".into(),
            delivery_limit: 5,
            dead_letter_max_length: 100_000,
            dead_letter_max_bytes: 256 << 20,
            dead_letter_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl AmqpConfig {
    /// The exchange submitters publish to.
    pub fn jobs_exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }
    /// The shared job queue (routing key `job`): older submitters and raw publishers. Workers
    /// consume it beside every tenant queue.
    pub fn jobs_queue(&self) -> String {
        format!("{}.jobs", self.prefix)
    }
    /// Routing key of the shared job queue.
    pub fn jobs_routing_key(&self) -> String {
        "job".into()
    }
    /// The suffix naming a tenant's queue and routing key: the tenant name itself when it is
    /// short ASCII of `[A-Za-z0-9._:-]`, else `h-` and the first 32 hex digits of its sha256
    /// (AMQP names are at most 255 bytes; tenant names may be 128 characters of any script).
    pub fn tenant_suffix(tenant: &str) -> String {
        if !tenant.is_empty() && tenant.len() <= 128 && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)) {
            tenant.to_owned()
        } else {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(tenant.as_bytes());
            format!("h-{}", &hex::encode(digest)[..32])
        }
    }
    /// A tenant's own job queue for one priority class (see `fair` for why):
    /// `<prefix>.jobs.tenant.<tenant>` for priority 0, `<prefix>.jobs.p<k>.tenant.<tenant>` for
    /// priority `k` in 1–9 (above 9 counts as 9). One queue per class, because a queue is FIFO:
    /// an urgent job must not wait behind its own tenant's backlog of routine ones (RabbitMQ
    /// 3.10's quorum queues have no message priorities).
    pub fn tenant_queue(&self, tenant: &str, priority: u8) -> String {
        format!("{}.jobs.{}", self.prefix, Self::tenant_routing_key(tenant, priority))
    }
    /// The routing key of a tenant's jobs of one priority class: `tenant.<tenant>` or
    /// `p<k>.tenant.<tenant>`.
    pub fn tenant_routing_key(tenant: &str, priority: u8) -> String {
        match priority.min(9) {
            0 => format!("tenant.{}", Self::tenant_suffix(tenant)),
            k => format!("p{k}.tenant.{}", Self::tenant_suffix(tenant)),
        }
    }
    /// A tenant's own inbound exchange (direct, bound to its ten queues with the routing keys
    /// of [`AmqpConfig::tenant_routing_key`]): `<prefix>.in.<tenant>`. The tenant's broker user may
    /// publish there and nowhere else (`crate::identity`).
    pub fn tenant_exchange(&self, tenant: &str) -> String {
        format!("{}.in.{}", self.prefix, Self::tenant_suffix(tenant))
    }
    /// The dead-letter exchange.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }
    /// The dead-letter queue.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.jobs.dead", self.prefix)
    }
}

/// PostgreSQL connection settings: `zkq-store`'s (the crate that owns the schema and the pool).
pub use zkq_store::StoreConfig;

/// Everything `zkq worker` needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Broker.
    pub amqp: AmqpConfig,
    /// Database.
    pub store: StoreConfig,
    /// Content-addressed zkey directory. Default `$XDG_DATA_HOME/zkq/keys` (or
    /// `~/.local/share/zkq/keys`), resolved by the binary.
    pub key_dir: PathBuf,
    /// Kernel backend. Default: CPU, one thread per core.
    pub backend: BackendConfig,
    /// Device type for pricing (a `prices.device_type`). Default `cpu-2core`.
    pub device_type: String,
    /// This worker's id in batch records. Default `<hostname>-<pid>`, set by the binary.
    pub worker_id: String,
    /// Most jobs in one batch. Default 16.
    pub max_batch: usize,
    /// Longest a job waits for its batch to fill. Default 50 ms.
    pub max_wait: Duration,
    /// Largest accepted witness (message body). Default 64 MiB. A larger body is rejected the
    /// moment it arrives, without being held. Set the broker's `max_message_size` to the same
    /// value: what the broker accepts, it may push before the worker can refuse it.
    pub max_message_bytes: usize,
    /// Most bytes of message bodies the worker holds (received, not yet settled): consumption
    /// pauses above ¾ of it and resumes at ⅜ ([`crate::held_bytes`]). Default 1 GiB.
    pub held_bytes_budget: u64,
    /// Skip proving and answer with fixed placeholder results (`--null-prover`): measures the
    /// pipeline's own capacity. Never for production; results are marked failed with
    /// `prover_error` so nobody mistakes them for proofs.
    pub null_prover: bool,
    /// Proving-key cache capacity, in keys. Default 4.
    pub key_cache: usize,
    /// Device memory batches may use, bytes (admission rejects circuits that cannot fit even
    /// one proof; batches are capped to fit). Default `None`: for the CPU backend, half of
    /// `MemAvailable` in `/proc/meminfo`, read once when the worker starts (`zkq worker
    /// --device-memory` sets it).
    pub device_memory_bytes: Option<u64>,
    /// Null prover only: device time it pretends per batch (`fixed + per_proof × size`), so that
    /// fairness tests and load runs can make the device the bottleneck without proving. Default
    /// zero.
    pub null_prover_delay: (Duration, Duration),
    /// The fairness metrics this worker updates (Prometheus text via
    /// [`crate::fair::FairnessMetrics::render`]). Default: a fresh one with a 60 s window; the
    /// binary creates it and shares the `Arc` with the metrics endpoint.
    pub fairness_metrics: std::sync::Arc<crate::fair::FairnessMetrics>,
    /// Witness store for jobs that reference their witness (`zkq-witness-ref`): files named
    /// `<sha256>.wtns`. Default `$XDG_DATA_HOME/zkq/witnesses`, resolved by the binary.
    pub witness_dir: PathBuf,
    /// Region this worker runs in (recorded on batches and uptime rows for FinOps reports).
    /// Default `None`: reports then take the region of the price the batch was charged at.
    pub region: Option<String>,
    /// How often the worker records that it is up (`worker_uptime.last_seen_at`), for the idle
    /// row of FinOps reports. Default 15 s: paid-but-unrecorded time after a crash is at most
    /// one interval.
    pub heartbeat_interval: Duration,
    /// The Prometheus `/metrics` endpoint (default `127.0.0.1:9464`; off with `addr: None`).
    pub metrics: MetricsConfig,
    /// Order in which received deliveries are taken up. Default
    /// [`IntakeOrder::Weighted`](crate::fair::IntakeOrder); `RoundRobin` is the order before
    /// issue 15, kept for comparison runs (`docs/fairness.md`).
    pub intake_order: crate::fair::IntakeOrder,
    /// Prefetch of each tenant queue. Default [`PrefetchRule::Weighted`](crate::fair::PrefetchRule)
    /// ([`WorkerConfig::prefetch`] × weight); `Flat` is the rule before issue 15, kept for
    /// comparison runs.
    pub prefetch_rule: crate::fair::PrefetchRule,
    /// Testing only: a fault the device thread injects ([`crate::device::FaultInjection`]).
    /// Default: none.
    pub device_fault: crate::device::FaultInjection,
    /// Privacy budgets ([`BudgetConfig`]).
    pub budget: BudgetConfig,
    /// Attestations of proofs and the transparency log ([`AttestConfig`]).
    pub attest: AttestConfig,
    /// Admission policies ([`PolicyConfig`]).
    pub policy: PolicyConfig,
}

/// How the worker asks the admission policies (zkq-policy, `docs/policy.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Ask the policies at admission. Default true. False only to measure what policies cost
    /// (`zkq worker --no-policy`): jobs are then admitted by identity and budget alone, and
    /// their results and attestations say so.
    pub enabled: bool,
    /// How often the worker checks the `policies` table for changes (one small aggregate
    /// query) and reloads when it changed; also when it adds its decision counts to the
    /// telemetry. A change applies to every job admitted later than this after it was
    /// committed. Default [`DEFAULT_POLICY_RELOAD`] (2 s).
    pub reload_interval: Duration,
}

/// The default [`PolicyConfig::reload_interval`].
pub const DEFAULT_POLICY_RELOAD: Duration = Duration::from_secs(2);

impl Default for PolicyConfig {
    fn default() -> Self {
        Self { enabled: true, reload_interval: DEFAULT_POLICY_RELOAD }
    }
}

/// How the worker attests proofs (`docs/transparency-log.md`): every proved job it commits gets
/// an in-toto statement signed with [`BudgetConfig::signing_key`] (the worker's one key),
/// appended to the transparency log in the batch's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestConfig {
    /// Attest proofs. Default true; a worker told to attest without a signing key refuses to
    /// start. False only for measuring what attestation costs (`zkq worker --no-attest`).
    pub enabled: bool,
    /// The origin line of the log's checkpoints: names the log (C2SP tlog-checkpoint). Default
    /// [`DEFAULT_LOG_ORIGIN`]; every worker of one database must use the same one.
    pub log_origin: String,
}

/// The default [`AttestConfig::log_origin`].
pub const DEFAULT_LOG_ORIGIN: &str = "zkq.local/log";

impl Default for AttestConfig {
    fn default() -> Self {
        Self { enabled: true, log_origin: DEFAULT_LOG_ORIGIN.into() }
    }
}

/// How the worker keeps privacy budgets (`docs/budgets.md`).
#[derive(Debug, Clone)]
pub struct BudgetConfig {
    /// The worker's key: it signs budget receipts, proof attestations and log checkpoints.
    /// Default `None`; the binary loads
    /// `$XDG_DATA_HOME/zkq/signing/receipts.key` (created, mode 0600, if missing) or
    /// `--signing-key`. Without one, jobs that charge ε are refused.
    pub signing_key: Option<std::sync::Arc<zkq_audit::SigningKey>>,
    /// How long an admitted job's hold lasts before another worker may reclaim it (its worker
    /// died or lost the job). Default 15 minutes: longer than any batch takes, shorter than
    /// RabbitMQ's 30-minute consumer timeout. A redelivered job renews its hold.
    pub reservation_ttl: Duration,
    /// Who `budget_exhausted` messages say can raise a cap. Default "your zkq operator".
    pub contact: String,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self { signing_key: None, reservation_ttl: Duration::from_secs(15 * 60), contact: crate::store::DEFAULT_BUDGET_CONTACT.into() }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            amqp: AmqpConfig::default(),
            store: StoreConfig::default(),
            key_dir: PathBuf::from("keys"),
            backend: BackendConfig::default(),
            device_type: "cpu-2core".into(),
            worker_id: format!("worker-{}", std::process::id()),
            max_batch: 16,
            max_wait: Duration::from_millis(50),
            max_message_bytes: 64 << 20,
            held_bytes_budget: 1 << 30,
            null_prover: false,
            key_cache: 4,
            witness_dir: PathBuf::from("witnesses"),
            device_memory_bytes: None,
            null_prover_delay: (Duration::ZERO, Duration::ZERO),
            fairness_metrics: std::sync::Arc::new(crate::fair::FairnessMetrics::default()),
            region: None,
            heartbeat_interval: Duration::from_secs(15),
            metrics: MetricsConfig::default(),
            intake_order: crate::fair::IntakeOrder::default(),
            prefetch_rule: crate::fair::PrefetchRule::default(),
            device_fault: crate::device::FaultInjection::default(),
            budget: BudgetConfig::default(),
            attest: AttestConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

impl WorkerConfig {
    /// Unacked deliveries the broker may hand this worker **per consumer**, i.e. per tenant
    /// queue: four batches. Two would do for one tenant (one batch proving, the next filling),
    /// but a tenant's held jobs must also last while its acks travel and the broker refills
    /// them; with two, a heavy tenant ran dry on a loaded machine and lost its share. (Quorum
    /// queues reject global QoS.) The worker holds at most queues × this many deliveries.
    pub fn prefetch(&self) -> u16 {
        u16::try_from(self.max_batch.saturating_mul(4)).unwrap_or(u16::MAX).max(1)
    }

    /// The prefetch of each of a tenant's queues: [`WorkerConfig::prefetch`] × its weight
    /// (at most 65,535) under the default [`WorkerConfig::prefetch_rule`]. In proportion to the
    /// weight because, when the intake rather than the device is the bottleneck, a tenant's
    /// throughput is at most its held deliveries over the time from delivery to ack (Little's
    /// law): equal prefetch caps the heavy tenants when acks are slow (`docs/fairness.md`).
    pub fn tenant_prefetch(&self, weight: u32) -> u16 {
        u16::try_from(self.prefetch_rule.limit(usize::from(self.prefetch()), weight)).unwrap_or(u16::MAX)
    }
}
