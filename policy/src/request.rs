//! [`AdmissionRequest`]: what the worker knows about a job when it asks the policy.

use chrono::{DateTime, Utc};

/// A job at admission, as the policy sees it (the Cedar request is built from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionRequest {
    /// The authenticated tenant.
    pub tenant: String,
    /// The tenant's tier label (operator-set; `""` when none).
    pub tenant_tier: String,
    /// The tenant's fair-share weight.
    pub tenant_weight: u32,
    /// Circuit id (sha256 of its zkey, hex).
    pub circuit_id: String,
    /// Circuit name.
    pub circuit_name: String,
    /// The circuit's constraint count.
    pub constraints: i64,
    /// The job's purpose (`""` when none).
    pub purpose: String,
    /// ε the job asks, micro-ε (0: charges none).
    pub epsilon_micro: u64,
    /// Priority 0-9.
    pub priority: u8,
    /// Milliseconds from the decision to the job's deadline, when it has one.
    pub deadline_in_ms: Option<i64>,
    /// The worker's region (`""` when unset).
    pub region: String,
    /// The tenant's jobs this worker admitted in the 60 s before the decision.
    pub jobs_last_minute: u32,
    /// When the decision is made (policies see its UTC hour and weekday).
    pub at: DateTime<Utc>,
}
