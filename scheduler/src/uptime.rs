//! The worker's heartbeat: its `worker_uptime` row, written on start and every
//! [`crate::WorkerConfig::heartbeat_interval`] (default 15 s), and once more on shutdown.
//!
//! FinOps reports read these rows as device time paid for (uptime × devices); what the
//! batches did not use of it is the idle row. A database outage only delays the next beat:
//! the row's `last_seen_at` catches up on the first successful one.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::store::{Store, UptimeRecord};

/// Runs until `stop` turns true, recording `record` as up every `interval`.
pub async fn heartbeat(store: Store, record: UptimeRecord, interval: Duration, mut stop: watch::Receiver<bool>) {
    let interval = interval.max(Duration::from_millis(100));
    loop {
        if let Err(e) = store.record_uptime(&record, Utc::now()).await {
            tracing::warn!(error = %e, "cannot record worker uptime; retrying at the next heartbeat");
        }
        let stopped = *stop.borrow();
        if stopped {
            return;
        }
        let stopping = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopping {
            // One last beat so the paid time ends at shutdown, not at the previous beat.
            let _ = store.record_uptime(&record, Utc::now()).await;
            return;
        }
    }
}
