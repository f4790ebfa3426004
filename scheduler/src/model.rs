//! Records shared by the worker, the store and the CLI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::protocol::ReasonCode;

/// A registered circuit: its zkey (by sha256) and the facts read from its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitRecord {
    /// sha256 of the zkey file, lowercase hex: the circuit's identity.
    pub id: String,
    /// Registered name.
    pub name: String,
    /// Version under that name (1, 2, …).
    pub version: i32,
    /// Variables, the constant 1 included.
    pub n_vars: i32,
    /// Public signals.
    pub n_public: i32,
    /// Constraints.
    pub n_constraints: i32,
    /// Domain size.
    pub domain_size: i32,
    /// Size of the zkey file.
    pub zkey_bytes: i64,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// ε each proof of it costs, micro-ε (`None`: proofs of it charge no privacy budget).
    #[serde(default)]
    pub epsilon_micro: Option<i64>,
}

impl CircuitRecord {
    /// `name@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A tenant allowed to submit jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Name, as in the job's `zkq-tenant` header.
    pub name: String,
    /// Fair-share weight (≥ 1).
    pub weight: i32,
    /// Its broker user (`crate::identity`); `None` for a tenant registered before identities.
    pub amqp_user: Option<String>,
    /// When `zkq tenant remove` removed it: its jobs are then failed, not proved.
    pub removed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its tier: a label the operator sets (`zkq tenant add --tier`), read by policies as
    /// `principal.tier`; `""` when none.
    #[serde(default)]
    pub tier: String,
}

/// One row of the versioned price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Row id.
    pub id: i64,
    /// Cloud provider (`aws`, …).
    pub provider: String,
    /// Region (`us-east-1`, …).
    pub region: String,
    /// Instance type (`p5.48xlarge`, …).
    pub instance_type: String,
    /// The device type workers report (`nvidia-h100`, `cpu-2core`, …).
    pub device_type: String,
    /// Devices per instance: the hourly price is split evenly across them.
    pub devices_per_instance: i32,
    /// `on-demand`, `spot`, `reserved`.
    pub pricing_category: String,
    /// Price of the whole instance per hour, USD.
    pub usd_per_hour: f64,
    /// First instant the price applies.
    pub valid_from: DateTime<Utc>,
}

impl Price {
    /// USD per device-second.
    pub fn usd_per_device_second(&self) -> f64 {
        self.usd_per_hour / 3600.0 / f64::from(self.devices_per_instance.max(1))
    }
}

/// What the submitter said about a job (from the message), plus what the worker derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMeta {
    /// Job id: the idempotency key.
    pub job_id: String,
    /// Tenant.
    pub tenant: String,
    /// The circuit reference as submitted (`sha256:<hex>`, `<hex>`, `name@version`, `name`).
    pub circuit_ref: String,
    /// The resolved circuit id, once known.
    pub circuit_id: Option<String>,
    /// Purpose (free text, for budgets and reports).
    pub purpose: String,
    /// Priority class, 0 (lowest) to 9.
    pub priority: u8,
    /// Deadline, Unix milliseconds.
    pub deadline_ms: Option<i64>,
    /// When the submitter published it, Unix milliseconds.
    pub submitted_at_ms: Option<i64>,
    /// Where the result goes.
    pub reply_to: Option<String>,
    /// sha256 of the witness bytes (the witness itself is never stored or logged).
    pub witness_sha256: Option<String>,
    /// ε, micro: what the job asked for (`zkq-epsilon`) until admission, then what it is
    /// charged (its circuit's cost, or less if it asked less); `None` charges nothing.
    #[serde(default)]
    pub epsilon_micro: Option<u64>,
    /// The admission policy's decision, once made (`crate::policy_gate`); boxed, so that a job
    /// without one stays small as it moves through the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Box<PolicyVerdict>>,
}

/// The admission policy's decision on a job, as the result message, the stored result
/// (`job_results.policy_decision`) and the attestation carry it (`docs/policy.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVerdict {
    /// `allow` or `deny`.
    pub decision: String,
    /// The policies that decided, as `<tenant>.<id>@v<version>` (`shared.<id>@v<version>` for a
    /// shared policy); empty for a default deny.
    pub policies: Vec<String>,
    /// The caps the allow applied (absent when none).
    #[serde(default, skip_serializing_if = "VerdictCaps::is_empty")]
    pub caps: VerdictCaps,
    /// The explanation in language-neutral form (a string key and its arguments):
    /// `zkq policy explain --job` renders it in any language.
    pub explanation: serde_json::Value,
    /// The explanation rendered, in English and Spanish.
    pub reason: LocalizedReason,
}

/// Caps an allow carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCaps {
    /// Highest priority the job kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Most ε per proof, micro-ε.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon_micro: Option<u64>,
    /// The fair-share weight the job was scheduled with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

impl VerdictCaps {
    /// No cap set.
    pub fn is_empty(&self) -> bool {
        self.priority.is_none() && self.epsilon_micro.is_none() && self.weight.is_none()
    }
}

/// A text in English and Spanish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedReason {
    /// English.
    pub en: String,
    /// Spanish.
    pub es: String,
}

/// Per-job timings, milliseconds. Batch phases are shared equally by the batch's jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct JobTimings {
    /// From publish (`zkq-submitted-at-ms`) to the worker receiving it.
    pub queue_wait_ms: f64,
    /// Parsing and checking the witness.
    pub witness_load_ms: f64,
    /// "compute H" share.
    pub compute_h_ms: f64,
    /// "compute A" share.
    pub compute_a_ms: f64,
    /// "compute B in G1" share.
    pub compute_b_g1_ms: f64,
    /// "compute B in G2" share.
    pub compute_b_g2_ms: f64,
    /// "compute C" share.
    pub compute_c_ms: f64,
    /// Verifying this job's proof.
    pub verify_ms: f64,
    /// From the worker receiving the job to the device taking up its batch: admission, the
    /// fair queue, waiting for the device. 0 for a job refused before batching.
    #[serde(default)]
    pub held_ms: f64,
    /// The device's whole work on the job's batch, wall clock: witness loads, proving and
    /// verifying every job of it (the phases above are this batch's, shared by its jobs).
    /// 0 for a job refused before batching.
    #[serde(default)]
    pub batch_ms: f64,
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// A proof that verified.
    Proved {
        /// snarkjs `proof.json`.
        proof: serde_json::Value,
        /// snarkjs `public.json`.
        public_signals: serde_json::Value,
    },
    /// No proof; why.
    Failed {
        /// Machine-readable reason.
        code: ReasonCode,
        /// One line for people.
        reason: String,
    },
}

/// The cost allocated to one job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JobCost {
    /// This job's share of its batch's device-seconds.
    pub device_seconds: f64,
    /// USD, from the price valid when the batch ran.
    pub usd: f64,
    /// The price row used (`None`: no price for this device type; usd is 0).
    pub price_id: Option<i64>,
}

/// A finished job, ready to commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// The job.
    pub meta: JobMeta,
    /// Result.
    pub outcome: Outcome,
    /// Timings.
    pub timings: JobTimings,
    /// When the worker received it.
    pub received_at: DateTime<Utc>,
    /// Cost (proved jobs in a batch; failures before proving cost nothing).
    pub cost: Option<JobCost>,
    /// The batch it was proved in.
    pub batch_id: Option<Uuid>,
    /// Size of that batch.
    pub batch_size: i32,
    /// Its privacy budget: what it was charged (with the receipt), or why it was blocked.
    #[serde(default)]
    pub budget: Option<zkq_budget::JobBudget>,
}

/// A batch as run on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// Batch id.
    pub id: Uuid,
    /// The worker that ran it.
    pub worker_id: String,
    /// Backend (`cpu`, …).
    pub backend: String,
    /// Device description.
    pub device: String,
    /// Device type for pricing (`cpu-2core`, `nvidia-h100`, …).
    pub device_type: String,
    /// The circuit.
    pub circuit_id: String,
    /// Jobs proved in it.
    pub size: i32,
    /// Proving started.
    pub started_at: DateTime<Utc>,
    /// Proving and verification finished.
    pub finished_at: DateTime<Utc>,
    /// Device-seconds the batch took (prove + verify).
    pub device_seconds: f64,
    /// Price row used.
    pub price_id: Option<i64>,
    /// Region the worker runs in, when configured.
    pub region: Option<String>,
    /// Whether the proving key was already in the worker's key cache (`None`: unknown).
    pub key_cache_hit: Option<bool>,
    /// sha256 (hex) of the circuit's verifying key as snarkjs `verification_key.json` in compact
    /// JSON ([`verifying_key_sha256`]): what the batch's attestations name. `None`: unknown.
    #[serde(default)]
    pub verifying_key_sha256: Option<String>,
}

/// The digest attestations give a verifying key: sha256 (lowercase hex) of the canonical JSON
/// (RFC 8785, [`zkq_audit::statement::canonical_json`]) of its snarkjs `verification_key.json`
/// form (`zkq_engine::json::verifying_key_to_json`), so an auditor recomputes it from the
/// circuit's `verification_key.json` (docs/transparency-log.md).
pub fn verifying_key_sha256(vk: &zkq_engine::VerifyingKey) -> String {
    use sha2::{Digest, Sha256};
    let json = zkq_engine::json::verifying_key_to_json(vk);
    hex::encode(Sha256::digest(zkq_audit::statement::canonical_json(&json)))
}

/// A job as `zkq job` / `zkq jobs` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    /// Job id.
    pub job_id: String,
    /// Tenant.
    pub tenant: String,
    /// `queued` (submitted, no result yet), `proved` or `failed`.
    pub state: String,
    /// Circuit id, when resolved.
    pub circuit_id: Option<String>,
    /// Purpose.
    pub purpose: String,
    /// Priority.
    pub priority: i16,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Failure code.
    pub reason_code: Option<String>,
    /// Failure reason.
    pub reason: Option<String>,
    /// Timings, if finished.
    pub timings: Option<JobTimings>,
    /// Batch size, if proved.
    pub batch_size: Option<i32>,
    /// Backend and device, if proved.
    pub device: Option<String>,
    /// Cost, if proved.
    pub cost_usd: Option<f64>,
}
