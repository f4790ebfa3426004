//! The recorded series in PostgreSQL (feature `pg`): the rows each [`Series`] is read from, per
//! scope (tenant, circuit, device), oldest first — the edge `zkq drift watch` runs the
//! [`Monitor`]s over. Tables: zkq-store migrations 0001 (`jobs`, `job_results`, `job_costs`,
//! `batches`).

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::{Direction, Monitor, Series};

/// The series `watch` reads (the others are not recorded per event yet: fairness Gini is a
/// worker metric, key-cache hits are not stored per batch).
pub const WATCHED: [Series; 4] = [Series::CostPerProof, Series::QueueWait, Series::ProveTime, Series::FailureRate];

/// One recorded value.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The scope, e.g. `tenant=acme circuit=1eca…` (its dimensions, in [`Series::dimensions`] order).
    pub scope: String,
    /// When (as PostgreSQL prints the timestamp, UTC).
    pub time: String,
    /// The value (USD, seconds, or 1/0 for a failure).
    pub value: f64,
}

/// A change found in a recorded series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The series.
    pub series: Series,
    /// Its scope.
    pub scope: String,
    /// Which detector.
    pub detector: &'static str,
    /// The value's place in its scope's series (0-based) and its time and value.
    pub index: usize,
    /// When.
    pub time: String,
    /// The value as recorded.
    pub value: f64,
    /// Which way.
    pub direction: Direction,
    /// The detector's statistic at the alarm.
    pub statistic: f64,
}

/// Why reading the series failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// PostgreSQL refused or failed.
    #[error("drift: database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// A default configuration did not build (a bug).
    #[error("{0}")]
    Config(#[from] crate::DriftError),
}

fn query(series: Series) -> &'static str {
    match series {
        Series::CostPerProof => {
            "select 'tenant=' || j.tenant || ' circuit=' || coalesce(j.circuit_id, '?'), r.received_at::text, c.usd::float8
             from job_costs c join job_results r on r.job_id = c.job_id join jobs j on j.job_id = c.job_id
             where r.received_at >= now() - make_interval(secs => $1) order by r.received_at, c.job_id"
        }
        Series::QueueWait => {
            "select 'tenant=' || j.tenant, r.received_at::text, (r.queue_wait_ms / 1000.0)::float8
             from job_results r join jobs j on j.job_id = r.job_id
             where r.received_at >= now() - make_interval(secs => $1) order by r.received_at, r.job_id"
        }
        Series::ProveTime => {
            "select 'circuit=' || b.circuit_id || ' device=' || b.device_type, b.finished_at::text, b.device_seconds::float8
             from batches b where b.finished_at >= now() - make_interval(secs => $1) order by b.finished_at, b.id"
        }
        Series::FailureRate => {
            "select 'tenant=' || j.tenant || ' circuit=' || coalesce(j.circuit_id, '?') || ' device=' || coalesce(r.device, '?'),
                    r.received_at::text, (case when r.status = 'failed' then 1.0 else 0.0 end)::float8
             from job_results r join jobs j on j.job_id = r.job_id
             where r.received_at >= now() - make_interval(secs => $1) order by r.received_at, r.job_id"
        }
        Series::CostPer1kProofs | Series::FairnessGini | Series::KeyCacheHitRate => "",
    }
}

/// The recorded values of `series` in the last `since_secs` seconds, per scope, oldest first.
/// Empty for a series `watch` does not read.
pub async fn observations(client: &impl GenericClient, series: Series, since_secs: f64) -> Result<BTreeMap<String, Vec<Observation>>, WatchError> {
    let sql = query(series);
    let mut out: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
    if sql.is_empty() {
        return Ok(out);
    }
    for row in client.query(sql, &[&since_secs]).await? {
        let o = Observation { scope: row.try_get(0)?, time: row.try_get(1)?, value: row.try_get(2)? };
        out.entry(o.scope.clone()).or_default().push(o);
    }
    Ok(out)
}

/// Runs each watched series' default detectors over its recorded values in the last
/// `since_secs` seconds, per scope; the changes found, in series, scope and time order.
pub async fn watch(client: &impl GenericClient, since_secs: f64) -> Result<Vec<Change>, WatchError> {
    let mut changes = Vec::new();
    for series in WATCHED {
        let config = series.default_config();
        for (scope, obs) in observations(client, series, since_secs).await? {
            let mut monitor = Monitor::new(&config)?;
            for (index, o) in obs.iter().enumerate() {
                for e in monitor.push(o.value) {
                    changes.push(Change {
                        series,
                        scope: scope.clone(),
                        detector: e.detector,
                        index,
                        time: o.time.clone(),
                        value: o.value,
                        direction: e.alarm.direction,
                        statistic: e.alarm.statistic,
                    });
                }
            }
        }
    }
    Ok(changes)
}
