//! Worker uptime rows (`worker_uptime`) and the queue-age gauge's query.
//!
//! A worker process inserts its row (keyed by worker id and start time) on start and moves
//! `last_seen_at` forward on each heartbeat; FinOps reports read the rows as paid device time.

use chrono::{DateTime, Utc};

use super::{Result, Store};

/// One worker process's uptime record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptimeRecord {
    /// Worker id.
    pub worker_id: String,
    /// When the process started.
    pub started_at: DateTime<Utc>,
    /// Device description.
    pub device: String,
    /// Device type (prices' `device_type`).
    pub device_type: String,
    /// Devices this worker holds (paid time is uptime × devices).
    pub devices: i32,
    /// Region, when configured.
    pub region: Option<String>,
}

impl Store {
    /// Records that the worker is up at `now` (inserting its row on the first call).
    /// `last_seen_at` never moves backwards.
    pub async fn record_uptime(&self, record: &UptimeRecord, now: DateTime<Utc>) -> Result<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "insert into worker_uptime (worker_id, started_at, last_seen_at, device, device_type, devices, region)
                 values ($1, $2::timestamptz, greatest($2::timestamptz, $3::timestamptz), $4, $5, $6, $7)
                 on conflict (worker_id, started_at) do update
                     set last_seen_at = greatest(worker_uptime.last_seen_at, excluded.last_seen_at)",
            )
            .await?;
        client
            .execute(
                &stmt,
                &[&record.worker_id, &record.started_at, &now, &record.device, &record.device_type, &record.devices, &record.region],
            )
            .await?;
        Ok(())
    }

    /// Seconds since the oldest job still `queued` was submitted (else last updated); `None`
    /// when no job is queued.
    pub async fn oldest_queued_age_seconds(&self) -> Result<Option<f64>> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "select extract(epoch from now() - min(coalesce(submitted_at, updated_at)))::float8 from jobs where state = 'queued'",
                &[],
            )
            .await?;
        Ok(row.get::<_, Option<f64>>(0))
    }
}
