//! The recorded series in PostgreSQL (feature `pg`): the rows each [`Series`] is read from, per
//! scope (tenant, circuit, device), oldest first — the edge `zkq drift watch` runs the
//! [`Monitor`]s over. Tables: zkq-store migrations 0001 (`jobs`, `job_results`, `job_costs`,
//! `batches`).
//!
//! - [`changes`] — change events, predictions, thresholds and outcomes (migration 0012).

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::{Direction, Monitor, Series};

pub mod changes;

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
    /// A stored value is not what the schema promises.
    #[error("drift: stored data: {0}")]
    Data(String),
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

/// Changes of one series and scope, in one direction, whose alarms fall within this many
/// observations of the first are one alert (the detectors agree on one change).
pub const ALERT_WINDOW: usize = crate::evaluate::MARGIN;

/// A drift alert: one change of one series in one scope, the detectors that saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The series (`cost_per_proof`, …).
    pub series: &'static str,
    /// The alert's name (`DriftCostPerProof`, …).
    pub alert: &'static str,
    /// Its scope.
    pub scope: String,
    /// Which way.
    pub direction: Direction,
    /// The detectors that alarmed, in the order they did.
    pub detectors: Vec<&'static str>,
    /// The first alarm's observation: its place in the scope's series, time and value.
    pub index: usize,
    /// When.
    pub time: String,
    /// The value as recorded.
    pub value: f64,
    /// The first alarm's statistic.
    pub statistic: f64,
    /// What to do: `docs/playbooks/<alert>.md`.
    pub playbook: String,
}

/// Groups `changes` (as [`watch`] returns them: per series and scope, in time order) into
/// alerts: alarms of one series, scope and direction within [`ALERT_WINDOW`] observations of
/// an alert's first alarm join it.
pub fn alerts(changes: &[Change]) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    for c in changes {
        let joined = out.iter_mut().rev().find(|a| {
            a.series == c.series.name() && a.scope == c.scope && a.direction == c.direction && c.index >= a.index && c.index - a.index <= ALERT_WINDOW
        });
        match joined {
            Some(a) => {
                if !a.detectors.contains(&c.detector) {
                    a.detectors.push(c.detector);
                }
            }
            None => out.push(Alert {
                series: c.series.name(),
                alert: c.series.alert_name(),
                scope: c.scope.clone(),
                direction: c.direction,
                detectors: vec![c.detector],
                index: c.index,
                time: c.time.clone(),
                value: c.value,
                statistic: c.statistic,
                playbook: format!("docs/playbooks/{}.md", c.series.alert_name()),
            }),
        }
    }
    out
}

/// Writes `alerts` to `drift_alerts` (zkq-store migration 0011); one already recorded (same
/// series, scope and observation time) is skipped. Returns the alerts written now, with their
/// ids.
pub async fn record(client: &impl GenericClient, alerts: &[Alert]) -> Result<Vec<(i64, Alert)>, WatchError> {
    let mut written = Vec::new();
    for a in alerts {
        let direction = match a.direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        let detectors: Vec<&str> = a.detectors.clone();
        let row = client
            .query_opt(
                "insert into drift_alerts (series, scope, direction, detectors, observed_at, value, statistic, playbook)
                 values ($1, $2, $3, $4, $5::text::timestamptz, $6, $7, $8)
                 on conflict (series, scope, observed_at) do nothing returning id",
                &[&a.series, &a.scope, &direction, &detectors, &a.time, &a.value, &a.statistic, &a.playbook],
            )
            .await?;
        if let Some(r) = row {
            written.push((r.try_get(0)?, a.clone()));
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(series: Series, scope: &str, detector: &'static str, index: usize, direction: Direction) -> Change {
        Change { series, scope: scope.into(), detector, index, time: format!("t{index}"), value: 1.0, direction, statistic: 2.0 }
    }

    #[test]
    fn alarms_of_one_change_make_one_alert_and_others_their_own() {
        let up = Direction::Up;
        let changes = [
            change(Series::CostPerProof, "tenant=a", "cusum", 100, up),
            change(Series::CostPerProof, "tenant=a", "page-hinkley", 130, up),
            change(Series::CostPerProof, "tenant=a", "cusum", 100 + ALERT_WINDOW + 1, up),
            change(Series::CostPerProof, "tenant=b", "cusum", 100, up),
            change(Series::CostPerProof, "tenant=a", "cusum", 140, Direction::Down),
            change(Series::QueueWait, "tenant=a", "ewma", 100, up),
        ];
        let a = alerts(&changes);
        let summary: Vec<(&str, &str, usize, Vec<&str>)> = a.iter().map(|a| (a.series, a.scope.as_str(), a.index, a.detectors.clone())).collect();
        assert_eq!(
            summary,
            vec![
                ("cost_per_proof", "tenant=a", 100, vec!["cusum", "page-hinkley"]),
                ("cost_per_proof", "tenant=a", 151, vec!["cusum"]),
                ("cost_per_proof", "tenant=b", 100, vec!["cusum"]),
                ("cost_per_proof", "tenant=a", 140, vec!["cusum"]),
                ("queue_wait", "tenant=a", 100, vec!["ewma"]),
            ]
        );
        assert_eq!(a[0].playbook, "docs/playbooks/DriftCostPerProof.md");
        assert_eq!(a[4].alert, "DriftQueueWait");
    }
}
