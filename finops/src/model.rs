//! The rows a report is computed from, as loaded from PostgreSQL (or built by tests).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One job with a cost row: its batch's device-seconds share, priced at the price valid when
/// its batch started.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    /// Job id.
    pub job_id: String,
    /// Tenant.
    pub tenant: String,
    /// Circuit (`name@version`, else its id).
    pub circuit: String,
    /// Device type (`nvidia-h100`, `cpu-2core`, …).
    pub device_type: String,
    /// Region (the batch's, else its price's, else `unknown`).
    pub region: String,
    /// Pricing category of the price (`on-demand`, `spot`, …; `unpriced` without a price).
    pub pricing_category: String,
    /// Provider of the price (`aws`, …; empty without one).
    pub provider: String,
    /// Instance type of the price (empty without one).
    pub instance_type: String,
    /// The worker whose batch ran it.
    pub worker_id: String,
    /// The device description (FOCUS ResourceId).
    pub device: String,
    /// When its result was committed (the instant a report buckets it by).
    pub completed_at: DateTime<Utc>,
    /// Whether its proof verified (failed jobs cost device time but are not proofs).
    pub proved: bool,
    /// Its share of its batch's device-seconds.
    pub device_seconds: f64,
    /// Its cost, USD, at the price valid at its batch's start.
    pub usd: f64,
    /// Its cost at the on-demand list price of the same instance and region (FOCUS ListCost).
    pub list_usd: f64,
    /// Its proving time (the five MSM/NTT phases), milliseconds.
    pub prove_ms: f64,
    /// Whether its batch found the proving key in the worker's cache (`None`: not recorded).
    pub cache_hit: Option<bool>,
}

/// One worker process's uptime (paid device time).
#[derive(Debug, Clone, PartialEq)]
pub struct UptimeRow {
    /// Worker id (matches [`JobRow::worker_id`]).
    pub worker_id: String,
    /// Device description.
    pub device: String,
    /// Device type (for pricing).
    pub device_type: String,
    /// Region, when the worker was told it.
    pub region: Option<String>,
    /// Devices held.
    pub devices: i32,
    /// Process start.
    pub started_at: DateTime<Utc>,
    /// Last heartbeat.
    pub last_seen_at: DateTime<Utc>,
}

/// One row of the versioned price table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceRow {
    /// Row id.
    pub id: i64,
    /// Provider.
    pub provider: String,
    /// Region.
    pub region: String,
    /// Instance type.
    pub instance_type: String,
    /// Device type.
    pub device_type: String,
    /// Devices per instance.
    pub devices_per_instance: i32,
    /// `on-demand`, `spot`, `reserved` or `savings-plan`.
    pub pricing_category: String,
    /// Instance price, USD per hour.
    pub usd_per_hour: f64,
    /// First instant it applies.
    pub valid_from: DateTime<Utc>,
    /// Where the figure comes from.
    pub source: Option<String>,
}

impl PriceRow {
    /// USD per device-second.
    pub fn usd_per_device_second(&self) -> f64 {
        self.usd_per_hour / f64::from(self.devices_per_instance.max(1)) / 3600.0
    }
}

/// One row of the versioned shared-cost table (broker, database, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedCostRow {
    /// Row id.
    pub id: i64,
    /// Component (`broker`, `database`, …).
    pub component: String,
    /// Region, if regional.
    pub region: Option<String>,
    /// USD per hour.
    pub usd_per_hour: f64,
    /// First instant it applies.
    pub valid_from: DateTime<Utc>,
    /// Where the figure comes from.
    pub source: Option<String>,
}

/// Everything a report reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Jobs with costs.
    pub jobs: Vec<JobRow>,
    /// Worker uptime rows.
    pub uptime: Vec<UptimeRow>,
    /// The whole price table.
    pub prices: Vec<PriceRow>,
    /// The whole shared-cost table.
    pub shared: Vec<SharedCostRow>,
}
