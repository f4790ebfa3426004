//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use zkq_kernels::BackendKind;

/// GPU-accelerated batch Groth16 prover for circom/snarkjs circuits (BN254).
#[derive(Debug, Parser)]
#[command(name = "zkq", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Prove one witness: a drop-in for `snarkjs groth16 prove` and rapidsnark's `prover`.
    ///
    /// The proof is verified before anything is written; a witness that does not satisfy the
    /// circuit exits with code 4 and writes nothing.
    Prove(ProveArgs),
    /// Prove many witnesses of one circuit with the key loaded once (a batch).
    ProveBatch(ProveBatchArgs),
    /// Verify a proof: exit 0 valid, 1 invalid, 2 bad input, 3 missing file.
    Verify(VerifyArgs),
    /// Inspect and export from `.zkey` files.
    #[command(subcommand)]
    Zkey(ZkeyCommand),
    /// List the kernel backends and whether this machine can run them.
    Backends(FormatArgs),
    /// Development tools. INSECURE: never use their output outside tests and benchmarks.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Run a proving worker: consume jobs from RabbitMQ, prove in batches, store results in
    /// PostgreSQL, reply. SIGTERM or Ctrl-C drains in-flight batches, then exits.
    Worker(WorkerArgs),
    /// Register and list tenants (who may submit jobs).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Register and list circuits (zkeys in the content-addressed key store).
    #[command(subcommand)]
    Circuit(CircuitCommand),
    /// Privacy budgets: ε caps per tenant and purpose, their ledgers and signed receipts.
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// Publish proof jobs (one per witness), wait for their results, print a summary.
    Submit(SubmitArgs),
    /// Show one job: state, timings, cost.
    Job(JobArgs),
    /// List a tenant's jobs, newest first.
    Jobs(JobsArgs),
    /// Fair scheduling: simulate batch sizes on a workload, record and synthesise workloads.
    #[command(subcommand)]
    Sched(SchedCommand),
    /// Operator accounts of the admin pages (`zkq serve`).
    #[command(subcommand)]
    Operator(crate::commands::operators::OperatorCommand),
    /// Serve the admin pages (privacy budgets) and the auditor API over HTTP until Ctrl-C or
    /// SIGTERM (docs/admin.md, docs/auditor-api.md).
    Serve(crate::commands::serve::ServeArgs),
    /// OAuth clients of the auditor API (docs/auditor-api.md).
    #[command(subcommand)]
    Auth(crate::commands::auth::AuthCommand),
    /// Admission policies (Cedar): policies in force, lint and suggested fixes, decisions
    /// explained in English or Spanish, and the reviewed template marketplace (docs/policy.md).
    #[command(subcommand)]
    Policy(crate::commands::policy::PolicyCommand),
    /// Drift detection: the detectors' evaluation on synthetic streams, and the detectors over
    /// your own `time,value` CSV (docs/drift.md).
    #[command(subcommand)]
    Drift(crate::commands::drift::DriftCommand),
    /// Audit records: the access log of `zkq serve`.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// FinOps: cost reports, FOCUS exports, charts, prices (runs the `zkq-finops` binary
    /// found next to `zkq` or on PATH; `zkq finops --help` lists its commands).
    #[command(disable_help_flag = true)]
    Finops {
        /// Arguments passed to `zkq-finops` unchanged.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// The newest requests `zkq serve` answered: who, which route, the outcome.
    AccessLog(crate::commands::access_log::AccessLogArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum BudgetCommand {
    /// Create a tenant's budget for a purpose, or change its cap, window or per-job maximum
    /// (signed `cap` receipt with your --reason).
    Set {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Purpose (1-64 of a-z 0-9 . _ -), as jobs name it in zkq-purpose.
        #[arg(long)]
        purpose: String,
        /// Cap, ε (exact decimal, at most 6 decimal places).
        #[arg(long, allow_hyphen_values = true)]
        cap: String,
        /// Window: sliding:<n>s|m|h|d (e.g. sliding:24h), calendar:day|week|month (UTC) or
        /// total. Required for a new budget; default: unchanged.
        #[arg(long)]
        window: Option<String>,
        /// Most ε one job may charge ("none" removes it). Default: unchanged (none for a new budget).
        #[arg(long)]
        per_job_max: Option<String>,
        /// Why (recorded in the signed receipt).
        #[arg(long, default_value = "set with zkq budget set")]
        reason: String,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Show budgets with cap, spent, held, remaining, window and next release.
    Show {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// List budgets (tenant, purpose, window, cap).
    List {
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Reset a budget: spent becomes 0 (audited: a signed receipt with your reason).
    Reset {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Purpose.
        #[arg(long)]
        purpose: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Signed receipts: export an evidence bundle, verify one offline.
    #[command(subcommand)]
    Receipts(ReceiptsCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReceiptsCommand {
    /// Write a tenant's receipts (each ledger's chain from its first receipt up to --to),
    /// the public keys and a manifest of sha256s into a new directory.
    Export {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Receipts from (RFC 3339); earlier ones are included as context for the totals.
        #[arg(long)]
        from: Option<String>,
        /// Receipts up to (RFC 3339). Default: now.
        #[arg(long)]
        to: Option<String>,
        /// The new directory.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Verify a bundle offline: digests, signatures, hash chains, windows and totals. Exit 1
    /// names the first bad receipt or file.
    Verify {
        /// The bundle directory.
        dir: PathBuf,
        /// Verify signatures with these trusted keys (a key ring JSON) instead of the bundle's.
        #[arg(long)]
        keys: Option<PathBuf>,
        #[command(flatten)]
        format: FormatArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SchedCommand {
    /// Replay a workload through the worker's fair scheduler with a device-time model and
    /// print throughput, p50/p95 wait per tenant, fairness figures and device utilisation.
    Simulate(SimulateArgs),
    /// Record a trace from PostgreSQL's job history (arrivals, weights, circuits, and device
    /// time fitted to the measured batches).
    Trace(TraceArgs),
    /// Write a synthetic trace: the flood scenario (tenants with weights 1-4; the first floods,
    /// the last is quiet, the rest are backlogged).
    Synth(SynthArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The trace (JSON, from `zkq sched trace` or `zkq sched synth`).
    #[arg(long)]
    pub(crate) trace: PathBuf,
    /// Most jobs per batch.
    #[arg(long, default_value_t = 16)]
    pub(crate) max_batch: usize,
    /// Longest a circuit's oldest job waits for its batch to fill, milliseconds.
    #[arg(long, default_value_t = 50)]
    pub(crate) max_wait_ms: u64,
    /// Devices as BACKEND:MEMORY, comma-separated (e.g. `cuda:80GiB,cuda:80GiB`)
    /// [default: one `cpu` device with half of this machine's MemAvailable].
    #[arg(long, value_delimiter = ',')]
    pub(crate) devices: Vec<String>,
    /// Base prefetch: unacked deliveries held per tenant [default: 4 × max batch, as the worker].
    #[arg(long)]
    pub(crate) prefetch: Option<usize>,
    /// Prefetch rule: `weighted` (the base × the tenant's weight, as the worker) or `flat`
    /// (the base for every tenant, as before issue 15).
    #[arg(long, value_enum, default_value_t = PrefetchArg::Weighted)]
    pub(crate) prefetch_rule: PrefetchArg,
    /// Deliveries per second the worker's loop takes up (parse, admission), all tenants
    /// together [default: unlimited — the loop is never the bottleneck]. Set it to the measured
    /// intake rate to replay an intake-bound pipeline.
    #[arg(long)]
    pub(crate) intake_rate: Option<f64>,
    /// Order of received deliveries: `weighted` (as the worker) or `round-robin` (one per
    /// tenant in turn, as before issue 15).
    #[arg(long, value_enum, default_value_t = IntakeOrderArg::Weighted)]
    pub(crate) intake_order: IntakeOrderArg,
    /// Most deliveries per second the broker pushes to one tenant's consumer [default: no limit].
    #[arg(long)]
    pub(crate) consumer_rate: Option<f64>,
    /// Loop time per finished batch (commit, replies, confirms, acks), milliseconds, during
    /// which no delivery is taken up.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) batch_overhead_ms: f64,
    /// From the worker's acks to the broker freeing their prefetch, milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) ack_latency_ms: f64,
    /// Batches queued per device behind the one proving (the worker: 1).
    #[arg(long, default_value_t = 1)]
    pub(crate) device_queue: usize,
    /// Fairness window, milliseconds [default: 50 mean batch durations].
    #[arg(long)]
    pub(crate) window_ms: Option<u64>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

/// `zkq sched simulate --prefetch-rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrefetchArg {
    /// The base × the tenant's weight (the worker).
    Weighted,
    /// The base for every tenant.
    Flat,
}

/// `zkq sched simulate --intake-order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IntakeOrderArg {
    /// Weighted-fair by tenant (the worker).
    Weighted,
    /// One delivery per tenant in turn.
    RoundRobin,
}

impl From<PrefetchArg> for zkq_scheduler::fair::PrefetchRule {
    fn from(a: PrefetchArg) -> Self {
        match a {
            PrefetchArg::Weighted => Self::Weighted,
            PrefetchArg::Flat => Self::Flat,
        }
    }
}

impl From<IntakeOrderArg> for zkq_scheduler::fair::IntakeOrder {
    fn from(a: IntakeOrderArg) -> Self {
        match a {
            IntakeOrderArg::Weighted => Self::Weighted,
            IntakeOrderArg::RoundRobin => Self::RoundRobin,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    #[command(flatten)]
    pub(crate) services: ServiceArgs,
    /// First submission instant (RFC 3339) [default: the beginning].
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// End instant, exclusive (RFC 3339) [default: now].
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Most jobs.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) limit: i64,
    /// Where to write the trace; `-` for stdout.
    #[arg(long, default_value = "-")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// Where to write the trace; `-` for stdout.
    #[arg(long, default_value = "-")]
    pub(crate) out: PathBuf,
    /// Tenants (weights cycle 1, 2, 3, 4).
    #[arg(long, default_value_t = 10)]
    pub(crate) tenants: usize,
    /// Jobs the flooding tenant dumps at time 0.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) burst: usize,
    /// The flooder's rate, in multiples of its weighted share of one device.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) flood_factor: f64,
    /// The backlogged tenants' rate, in multiples of their weighted share.
    #[arg(long, default_value_t = 1.3)]
    pub(crate) load: f64,
    /// Seconds of arrivals.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) duration_secs: f64,
    /// The quiet tenant sends one job every this many seconds.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) quiet_every_secs: f64,
    /// Device time per proof, milliseconds.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) per_proof_ms: f64,
    /// Device time per batch, milliseconds.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) fixed_ms: f64,
    /// Batch size the device's capacity is computed for.
    #[arg(long, default_value_t = 16)]
    pub(crate) max_batch: usize,
    /// Seed of the arrival process.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DevCommand {
    /// INSECURE Groth16 setup, `.r1cs` → `.zkey` in seconds, for tests and benchmarks.
    ///
    /// One process draws the toxic waste (τ, α, β, γ, δ), so whoever ran it — or, with
    /// --seed, whoever knows the seed — can forge proofs. The key is otherwise what snarkjs
    /// makes: `snarkjs groth16 prove` and `snarkjs zkey export verificationkey` accept it.
    /// Use a powers-of-tau ceremony and `snarkjs groth16 setup` for anything real.
    Setup(DevSetupArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DevSetupArgs {
    /// The constraint system (`circuit.r1cs`, from circom).
    pub(crate) r1cs: PathBuf,
    /// Where to write the proving key.
    pub(crate) zkey: PathBuf,
    /// Derive the toxic waste from this hex seed (reproducible keys; anyone with the seed can
    /// forge proofs) [default: a fresh seed from the OS CSPRNG, then discarded].
    #[arg(long, value_name = "HEX")]
    pub(crate) seed: Option<String>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct BackendArgs {
    /// Kernel backend: cpu, wgpu or cuda.
    #[arg(long, default_value = "cpu", value_parser = parse_backend)]
    pub(crate) backend: BackendKind,
    /// CPU threads for the cpu backend [default: one per core].
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Backend to use instead when --backend has no usable device or is not compiled in
    /// (e.g. `--backend wgpu --fallback cpu`) [default: none: fail with exit code 5].
    #[arg(long, value_parser = parse_backend)]
    pub(crate) fallback: Option<BackendKind>,
}

impl BackendArgs {
    /// The kernels' configuration for these flags.
    pub(crate) fn config(&self) -> zkq_kernels::BackendConfig {
        zkq_kernels::BackendConfig { kind: self.backend, cpu_threads: self.threads, fallback: self.fallback }
    }
}

fn parse_backend(s: &str) -> Result<BackendKind, String> {
    s.parse().map_err(|e: zkq_kernels::KernelError| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The proving key (`circuit_final.zkey`).
    pub(crate) zkey: PathBuf,
    /// The witness (`witness.wtns`).
    pub(crate) witness: PathBuf,
    /// Where to write `proof.json`.
    pub(crate) proof: PathBuf,
    /// Where to write `public.json`.
    pub(crate) public: PathBuf,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Print per-phase timings to stderr (text) or stdout (json).
    #[arg(long, value_enum)]
    pub(crate) timings: Option<Format>,
}

#[derive(Debug, Args)]
pub(crate) struct ProveBatchArgs {
    /// The proving key.
    pub(crate) zkey: PathBuf,
    /// Directory for `<witness stem>.proof.json` and `<witness stem>.public.json`.
    #[arg(long = "out-dir")]
    pub(crate) out_dir: PathBuf,
    /// Witness files.
    #[arg(required = true)]
    pub(crate) witnesses: Vec<PathBuf>,
    /// Proofs per backend batch [default: 16].
    #[arg(long, default_value_t = 16)]
    pub(crate) batch_size: usize,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// `verification_key.json`.
    pub(crate) verification_key: PathBuf,
    /// `public.json`.
    pub(crate) public: PathBuf,
    /// `proof.json`.
    pub(crate) proof: PathBuf,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ZkeyCommand {
    /// Curve, sizes, sections and sha256 of a zkey.
    Info {
        /// The zkey.
        zkey: PathBuf,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Write `verification_key.json` as `snarkjs zkey export verificationkey` does.
    ExportVk {
        /// The zkey.
        zkey: PathBuf,
        /// Output `verification_key.json`.
        verification_key: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// Where the broker, the database and the key store are.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// RabbitMQ URI. (`--help` never shows the environment's value: it holds a password.)
    #[arg(long, env = "ZKQ_AMQP_URL", hide_env_values = true, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub(crate) amqp: String,
    /// PostgreSQL connection string. (`--help` never shows the environment's value.)
    #[arg(long, env = "ZKQ_PG_URL", hide_env_values = true, default_value = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq")]
    pub(crate) pg: String,
    /// RabbitMQ's management API (`http://host[:port]`), where `zkq tenant` creates tenants'
    /// broker users, with the credentials of --amqp.
    #[arg(long, env = "ZKQ_AMQP_ADMIN_URL", default_value = "http://127.0.0.1:15672")]
    pub(crate) amqp_admin_url: String,
    /// Prefix of exchange and queue names.
    #[arg(long, env = "ZKQ_QUEUE_PREFIX", default_value = "zkq")]
    pub(crate) queue_prefix: String,
    /// Key store directory [default: $XDG_DATA_HOME/zkq/keys or ~/.local/share/zkq/keys].
    #[arg(long, env = "ZKQ_KEY_DIR")]
    pub(crate) key_dir: Option<PathBuf>,
    /// The ed25519 key (PKCS#8 PEM, mode 0600) that signs privacy-budget receipts [default:
    /// <key dir>/../signing/receipts.key, created on first use].
    #[arg(long, env = "ZKQ_SIGNING_KEY")]
    pub(crate) signing_key: Option<PathBuf>,
    /// Most messages the dead-letter queue keeps (x-max-length); beyond it the oldest are dropped.
    #[arg(long, env = "ZKQ_DLQ_MAX_LENGTH", default_value_t = 100_000)]
    pub(crate) dlq_max_length: u32,
    /// Most bytes the dead-letter queue keeps (x-max-length-bytes), e.g. 256MiB; beyond it the
    /// oldest are dropped.
    #[arg(long, env = "ZKQ_DLQ_MAX_BYTES", default_value = "256MiB")]
    pub(crate) dlq_max_bytes: String,
    /// Hours a dead letter is kept (x-message-ttl).
    #[arg(long, env = "ZKQ_DLQ_TTL_HOURS", default_value_t = 168)]
    pub(crate) dlq_ttl_hours: u32,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    pub(crate) services: ServiceArgs,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// How long an admitted job's privacy-budget hold lasts before it may be reclaimed,
    /// seconds (its worker died or lost it; a redelivery renews it).
    #[arg(long, env = "ZKQ_RESERVATION_TTL_SECS", default_value_t = 900)]
    pub(crate) reservation_ttl_secs: u64,
    /// Who `budget_exhausted` messages say can raise a cap (a team, an address).
    #[arg(long, env = "ZKQ_BUDGET_CONTACT", default_value = "your zkq operator")]
    pub(crate) budget_contact: String,
    /// Commit proofs without attesting them (no signed statement, no transparency-log entry).
    /// Only for measuring what attestation costs: auditors cannot check unattested proofs.
    #[arg(long, env = "ZKQ_NO_ATTEST")]
    pub(crate) no_attest: bool,
    /// The transparency log's origin line in its checkpoints (names the log; every worker of a
    /// database must use the same one).
    #[arg(long, env = "ZKQ_LOG_ORIGIN", default_value = zkq_scheduler::config::DEFAULT_LOG_ORIGIN)]
    pub(crate) log_origin: String,
    /// Admit jobs without asking the admission policies (identity and budget alone). Only for
    /// measuring what policies cost: results and attestations then say no policy decided.
    #[arg(long, env = "ZKQ_NO_POLICY")]
    pub(crate) no_policy: bool,
    /// How often the worker checks the policies for changes, milliseconds: a put or a revoke
    /// applies to jobs admitted this long after it was committed, without a restart.
    #[arg(long, env = "ZKQ_POLICY_RELOAD_MS", default_value_t = 2000)]
    pub(crate) policy_reload_ms: u64,
    /// Most jobs per batch.
    #[arg(long, default_value_t = 16)]
    pub(crate) max_batch: usize,
    /// Longest a job waits for its batch to fill, milliseconds.
    #[arg(long, default_value_t = 50)]
    pub(crate) max_wait_ms: u64,
    /// Device type for pricing (a row of the price table).
    #[arg(long, default_value = "cpu-2core")]
    pub(crate) device_type: String,
    /// Deliveries of one message before the broker dead-letters it.
    #[arg(long, default_value_t = 5)]
    pub(crate) delivery_limit: u32,
    /// Largest accepted witness, MiB; a larger body is refused as it arrives. Set the broker's
    /// `max_message_size` to the same.
    #[arg(long, default_value_t = 64)]
    pub(crate) max_message_mib: usize,
    /// Byte budget for the message bodies the worker holds, MiB: consumption pauses above ¾ of
    /// it and resumes at ⅜ (docs/worker.md).
    #[arg(long, env = "ZKQ_HELD_BUDGET_MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) held_budget_mib: u64,
    /// This worker's id in batch records [default: <hostname>-<pid>].
    #[arg(long)]
    pub(crate) worker_id: Option<String>,
    /// Skip proving (results carry a null proof): measures the pipeline's own capacity.
    #[arg(long)]
    pub(crate) null_prover: bool,
    /// With --null-prover: device time to pretend per batch and per proof, milliseconds
    /// (`FIXED,PER_PROOF`), so fairness and load runs can make the device the bottleneck.
    #[arg(long, value_delimiter = ',', requires = "null_prover")]
    pub(crate) null_prover_ms: Vec<f64>,
    /// Device memory batches may use (e.g. `8GiB`); admission rejects circuits that cannot fit
    /// one proof and batches are capped to fit [default: for the CPU backend, half of
    /// MemAvailable].
    #[arg(long)]
    pub(crate) device_memory: Option<String>,
    /// Fairness window of the fairness metrics, seconds.
    #[arg(long, default_value_t = 60)]
    pub(crate) fairness_window_secs: u64,
    /// Where the Prometheus `/metrics` endpoint listens (`host:port`), or `off`.
    #[arg(long, env = "ZKQ_METRICS_ADDR", default_value = zkq_scheduler::metrics::DEFAULT_METRICS_ADDR)]
    pub(crate) metrics_addr: String,
    /// Upper bounds of the batch-size histogram (comma-separated, increasing).
    #[arg(long, default_value = "1,2,4,8,16,32,64,128,256")]
    pub(crate) metrics_batch_buckets: String,
    /// Upper bounds of the end-to-end latency histogram, seconds (comma-separated, increasing).
    #[arg(long, default_value = "0.05,0.1,0.25,0.5,1,2.5,5,10,30,60,120,300")]
    pub(crate) metrics_latency_buckets: String,
    /// Region this worker runs in, recorded on batches and uptime rows for FinOps reports.
    #[arg(long, env = "ZKQ_REGION")]
    pub(crate) region: Option<String>,
    /// Seconds between uptime heartbeats (the FinOps idle row's paid time).
    #[arg(long, default_value_t = 15)]
    pub(crate) heartbeat_secs: u64,
    /// Order in which received deliveries are taken up: `weighted` (weighted-fair by tenant),
    /// or `round-robin` (one per tenant queue in turn: the order before issue 15, for
    /// comparison runs only — docs/fairness.md).
    #[arg(long, value_enum, default_value_t = IntakeOrderArg::Weighted)]
    pub(crate) intake_order: IntakeOrderArg,
    /// Prefetch of each tenant queue: `weighted` (4 × max batch × the tenant's weight) or `flat`
    /// (4 × max batch for every tenant: the rule before issue 15, for comparison runs only).
    #[arg(long, value_enum, default_value_t = PrefetchArg::Weighted)]
    pub(crate) prefetch_rule: PrefetchArg,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Register a tenant with its own broker user and inbound exchange, printing the user's
    /// password once; for a registered tenant, change its weight (credentials unchanged).
    Add {
        /// Name.
        name: String,
        /// Fair-share weight (≥ 1).
        #[arg(long, default_value_t = 1)]
        weight: i32,
        /// Tier: a label policies read as `principal.tier` (up to 32 letters, digits, `._-`).
        /// Default: unchanged ("" for a new tenant).
        #[arg(long)]
        tier: Option<String>,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Replace a tenant's broker password (printed once); the old one, and connections made
    /// with it, stop working.
    RotateCredentials {
        /// Name.
        name: String,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Remove a tenant: its broker user is deleted (its connections close) and workers fail the
    /// jobs still in its queues `unknown_tenant`, with the reason.
    Remove {
        /// Name.
        name: String,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CircuitCommand {
    /// Register a zkey under a name (a new version if the name exists with another zkey).
    Add {
        /// The zkey.
        zkey: PathBuf,
        /// Name to register it under.
        #[arg(long)]
        name: String,
        /// ε each proof of it costs against the job's purpose budget (exact decimal, e.g. 0.1);
        /// registering it again with another value changes it. Default: none (no ε charged).
        #[arg(long)]
        epsilon: Option<String>,
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// List registered circuits.
    List {
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    #[command(flatten)]
    pub(crate) services: ServiceArgs,
    /// Tenant.
    #[arg(long)]
    pub(crate) tenant: String,
    /// Circuit: name, name@version or sha256:<hex>.
    #[arg(long)]
    pub(crate) circuit: String,
    /// Purpose recorded with each job.
    #[arg(long, default_value = "")]
    pub(crate) purpose: String,
    /// Priority class 0–9.
    #[arg(long, default_value_t = 0)]
    pub(crate) priority: u8,
    /// Deadline, seconds from now; a job not proved by then fails with deadline_exceeded.
    #[arg(long)]
    pub(crate) deadline_secs: Option<f64>,
    /// Publish each witness this many times (load and demos).
    #[arg(long, default_value_t = 1)]
    pub(crate) repeat: usize,
    /// Give up waiting for results after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub(crate) timeout_secs: u64,
    /// Publish and exit without waiting for results.
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// Put each witness in the shared witness store (beside the key store) and send a
    /// reference (`zkq-witness-ref`) instead of the bytes. Workers must share that directory.
    #[arg(long)]
    pub(crate) store_witnesses: bool,
    /// Witness files, or directories of `.wtns` files.
    #[arg(required = true)]
    pub(crate) witnesses: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct JobArgs {
    /// Job id.
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) services: ServiceArgs,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    /// Tenant.
    #[arg(long)]
    pub(crate) tenant: String,
    /// Most rows.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: i64,
    #[command(flatten)]
    pub(crate) services: ServiceArgs,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}
