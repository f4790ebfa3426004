//! Changes, predictions and outcomes in PostgreSQL (zkq-store migration 0012:
//! `change_events`, `drift_predictions`, `drift_thresholds`; predicted alerts in
//! `drift_alerts`). The pure model is [`crate::predict`]; these are its rows.

use serde::Serialize;
use serde_json::Value;
use tokio_postgres::GenericClient;

use super::WatchError;
use crate::predict::{default_threshold, ChangeKind, Estimate, Outcome, PastEffect};
use crate::Series;

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// Its id.
    pub id: i64,
    /// What changed.
    pub kind: ChangeKind,
    /// Which one: a device type, a fleet (`cpu-2core@eu-west-1`), `tenant/policy`, `name@v2`.
    pub subject: String,
    /// The value before (absent for a first one).
    pub before: Option<Value>,
    /// The value after.
    pub after: Value,
    /// What describes the change (the libraries that moved, the price's relative change, …).
    pub features: Value,
    /// Who recorded it: `trigger`, `worker` or `cli`.
    pub source: String,
    /// The operator or author, where known.
    pub actor: Option<String>,
    /// When (UTC, RFC 3339).
    pub occurred_at: String,
}

const CHANGE_COLUMNS: &str = "c.id, c.kind, c.subject, c.before, c.after, c.features, c.source, c.actor,
     to_char(c.occurred_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

fn change_from(row: &tokio_postgres::Row) -> Result<ChangeEvent, WatchError> {
    let kind: String = row.try_get(1)?;
    Ok(ChangeEvent {
        id: row.try_get(0)?,
        kind: kind.parse().map_err(WatchError::Data)?,
        subject: row.try_get(2)?,
        before: row.try_get(3)?,
        after: row.try_get(4)?,
        features: row.try_get(5)?,
        source: row.try_get(6)?,
        actor: row.try_get(7)?,
        occurred_at: row.try_get(8)?,
    })
}

/// Records a change (`zkq drift changes record`); returns its id.
pub async fn record_change(
    client: &impl GenericClient,
    kind: ChangeKind,
    subject: &str,
    before: Option<&Value>,
    after: &Value,
    features: &Value,
    actor: Option<&str>,
) -> Result<i64, WatchError> {
    let row = client
        .query_one(
            "insert into change_events (kind, subject, before, after, features, source, actor)
             values ($1, $2, $3, $4, $5, 'cli', $6) returning id",
            &[&kind.name(), &subject, &before, after, features, &actor],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Records a fleet's state when it differs from the last one recorded for the same kind and
/// subject (a worker's configuration or its prover version, at start): the previous state
/// becomes `before`, `features(before, after)` the features. Holds a transaction-scoped advisory
/// lock per kind and subject, so workers starting together record one change: pass a
/// transaction and commit it. Returns the new change's id, or `None` when nothing changed.
pub async fn record_if_changed(
    tx: &impl GenericClient,
    kind: ChangeKind,
    subject: &str,
    after: &Value,
    features: impl FnOnce(Option<&Value>, &Value) -> Value,
) -> Result<Option<i64>, WatchError> {
    let key = format!("zkq-change:{}:{subject}", kind.name());
    tx.execute("select pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
    let last = tx
        .query_opt("select after from change_events where kind = $1 and subject = $2 order by id desc limit 1", &[&kind.name(), &subject])
        .await?;
    let before: Option<Value> = last.map(|r| r.try_get(0)).transpose()?;
    if before.as_ref() == Some(after) {
        return Ok(None);
    }
    let features = features(before.as_ref(), after);
    let row = tx
        .query_one(
            "insert into change_events (kind, subject, before, after, features, source)
             values ($1, $2, $3, $4, $5, 'worker') returning id",
            &[&kind.name(), &subject, &before, after, &features],
        )
        .await?;
    Ok(Some(row.try_get(0)?))
}

/// Changes, newest first (at most `limit`; `kind` filters).
pub async fn list_changes(client: &impl GenericClient, kind: Option<ChangeKind>, limit: i64) -> Result<Vec<ChangeEvent>, WatchError> {
    let sql = format!(
        "select {CHANGE_COLUMNS} from change_events c where ($1::text is null or c.kind = $1) order by c.id desc limit $2"
    );
    let rows = client.query(&sql, &[&kind.map(ChangeKind::name), &limit]).await?;
    rows.iter().map(change_from).collect()
}

/// Changes that have no prediction yet, oldest first.
pub async fn unpredicted(client: &impl GenericClient, limit: i64) -> Result<Vec<ChangeEvent>, WatchError> {
    let sql = format!(
        "select {CHANGE_COLUMNS} from change_events c
         where not exists (select 1 from drift_predictions p where p.change_id = c.id)
         order by c.id limit $1"
    );
    let rows = client.query(&sql, &[&limit]).await?;
    rows.iter().map(change_from).collect()
}

/// The observed effects of earlier changes of `kind` on `series` (with the simulator's
/// estimate where there was one), oldest first, for [`crate::predict::estimate`].
pub async fn past_effects(client: &impl GenericClient, kind: ChangeKind, series: Series) -> Result<Vec<PastEffect>, WatchError> {
    let rows = client
        .query(
            "select p.simulator_shift, p.observed_shift from drift_predictions p join change_events c on c.id = p.change_id
             where c.kind = $1 and p.series = $2 and p.observed_shift is not null order by p.change_id",
            &[&kind.name(), &series.name()],
        )
        .await?;
    rows.iter().map(|r| Ok(PastEffect { simulator_shift: r.try_get(0)?, observed_shift: r.try_get(1)? })).collect()
}

/// The threshold in force for `kind` and `series`: the feedback loop's, or the default.
pub async fn threshold(client: &impl GenericClient, kind: ChangeKind, series: Series) -> Result<f64, WatchError> {
    let row = client
        .query_opt("select threshold from drift_thresholds where kind = $1 and series = $2", &[&kind.name(), &series.name()])
        .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => default_threshold(series),
    })
}

/// Sets the threshold of `kind` and `series`, with the reason.
pub async fn set_threshold(client: &impl GenericClient, kind: ChangeKind, series: &str, value: f64, reason: &str) -> Result<(), WatchError> {
    client
        .execute(
            "insert into drift_thresholds (kind, series, threshold, reason) values ($1, $2, $3, $4)
             on conflict (kind, series) do update set threshold = excluded.threshold, reason = excluded.reason, updated_at = now()",
            &[&kind.name(), &series, &value, &reason],
        )
        .await?;
    Ok(())
}

/// Records a prediction; returns its id, or `None` if the change already has one for the
/// series (another predictor got there first).
pub async fn record_prediction(
    client: &impl GenericClient,
    change_id: i64,
    series: Series,
    estimate: &Estimate,
    threshold: f64,
    alerted: bool,
    detail: &Value,
) -> Result<Option<i64>, WatchError> {
    let history_n = i32::try_from(estimate.history_n).unwrap_or(i32::MAX);
    let row = client
        .query_opt(
            "insert into drift_predictions (change_id, series, method, predicted_shift, simulator_shift, history_shift, history_n,
                                            threshold, alerted, detail)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (change_id, series) do nothing returning id",
            &[
                &change_id,
                &series.name(),
                &estimate.method.name(),
                &estimate.predicted,
                &estimate.simulator,
                &estimate.history,
                &history_n,
                &threshold,
                &alerted,
                detail,
            ],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// The playbook of a predicted shift.
pub const PREDICTED_PLAYBOOK: &str = "docs/playbooks/DriftPredictedShift.md";

/// The alert name of a predicted shift.
pub const PREDICTED_ALERT: &str = "DriftPredictedShift";

/// Writes the preemptive alert of a prediction to `drift_alerts` (kind `predicted`); returns its
/// id (`None` if already written).
pub async fn record_predicted_alert(
    client: &impl GenericClient,
    change: &ChangeEvent,
    series: Series,
    estimate: &Estimate,
    threshold: f64,
) -> Result<Option<i64>, WatchError> {
    let predicted = estimate.predicted.unwrap_or(0.0);
    let direction = if predicted >= 0.0 { "up" } else { "down" };
    let scope = format!("change={} {}={}", change.id, change.kind.name(), change.subject);
    let detectors = vec![format!("predictor:{}", estimate.method.name())];
    let row = client
        .query_opt(
            "insert into drift_alerts (series, scope, direction, detectors, observed_at, value, statistic, playbook, kind, change_id)
             values ($1, $2, $3, $4, $5::text::timestamptz, $6, $7, $8, 'predicted', $9)
             on conflict (series, scope, observed_at) do nothing returning id",
            &[&series.name(), &scope, &direction, &detectors, &change.occurred_at, &predicted, &threshold, &PREDICTED_PLAYBOOK, &change.id],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// A prediction as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Its id.
    pub id: i64,
    /// The change.
    pub change_id: i64,
    /// The change's kind.
    pub kind: ChangeKind,
    /// The change's subject.
    pub subject: String,
    /// When the change happened.
    pub occurred_at: String,
    /// The series.
    pub series: String,
    /// The evidence (`simulator`, `history`, `simulator+history`, `none`).
    pub method: String,
    /// The predicted shift.
    pub predicted_shift: Option<f64>,
    /// The simulator's shift.
    pub simulator_shift: Option<f64>,
    /// The threshold it was alerted against.
    pub threshold: f64,
    /// Whether it raised a preemptive alert.
    pub alerted: bool,
    /// What was observed (after the window).
    pub observed_shift: Option<f64>,
    /// The outcome (absent until scored).
    pub outcome: Option<Outcome>,
}

/// Predictions, newest first (`pending`: only those not scored yet, oldest first, whose change
/// is at least `min_age_secs` old).
pub async fn predictions(client: &impl GenericClient, pending: bool, min_age_secs: f64, limit: i64) -> Result<Vec<Prediction>, WatchError> {
    let filter = if pending {
        "where p.outcome is null and c.occurred_at <= now() - make_interval(secs => $1) order by p.id"
    } else {
        "where $1::float8 is not null order by p.id desc"
    };
    let sql = format!(
        "select p.id, p.change_id, c.kind, c.subject, to_char(c.occurred_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                p.series, p.method, p.predicted_shift, p.simulator_shift, p.threshold, p.alerted, p.observed_shift, p.outcome
         from drift_predictions p join change_events c on c.id = p.change_id {filter} limit $2"
    );
    let rows = client.query(&sql, &[&min_age_secs, &limit]).await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(2)?;
            let outcome: Option<String> = r.try_get(12)?;
            Ok(Prediction {
                id: r.try_get(0)?,
                change_id: r.try_get(1)?,
                kind: kind.parse().map_err(WatchError::Data)?,
                subject: r.try_get(3)?,
                occurred_at: r.try_get(4)?,
                series: r.try_get(5)?,
                method: r.try_get(6)?,
                predicted_shift: r.try_get(7)?,
                simulator_shift: r.try_get(8)?,
                threshold: r.try_get(9)?,
                alerted: r.try_get(10)?,
                observed_shift: r.try_get(11)?,
                outcome: outcome.as_deref().and_then(Outcome::parse),
            })
        })
        .collect()
}

/// A series' fleet-wide statistic over a time range and the observations it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Observed {
    /// The statistic (`None` without observations).
    pub value: Option<f64>,
    /// How many observations.
    pub n: i64,
}

/// The statistic a prediction of `series` is about, over `[from, to)` (RFC 3339 instants): mean
/// cost per proof (USD), the 95th percentile of queue wait (seconds), device seconds per proof,
/// the share of jobs failed.
pub async fn observe(client: &impl GenericClient, series: Series, from: &str, to: &str) -> Result<Observed, WatchError> {
    let sql = match series {
        Series::CostPerProof => {
            "select avg(c.usd)::float8, count(*) from job_costs c join job_results r on r.job_id = c.job_id
             where r.received_at >= $1::text::timestamptz and r.received_at < $2::text::timestamptz"
        }
        Series::QueueWait => {
            "select (percentile_cont(0.95) within group (order by r.queue_wait_ms) / 1000.0)::float8, count(*) from job_results r
             where r.received_at >= $1::text::timestamptz and r.received_at < $2::text::timestamptz"
        }
        Series::ProveTime => {
            "select (sum(b.device_seconds) / nullif(sum(b.size), 0))::float8, coalesce(sum(b.size), 0)::int8 from batches b
             where b.started_at >= $1::text::timestamptz and b.started_at < $2::text::timestamptz"
        }
        Series::FailureRate => {
            "select avg(case when r.status = 'failed' then 1.0 else 0.0 end)::float8, count(*) from job_results r
             where r.received_at >= $1::text::timestamptz and r.received_at < $2::text::timestamptz"
        }
        other => return Err(WatchError::Data(format!("series `{}` has no fleet-wide statistic to observe", other.name()))),
    };
    let row = client.query_one(sql, &[&from, &to]).await?;
    Ok(Observed { value: row.try_get(0)?, n: row.try_get(1)? })
}

/// Records what was observed for a prediction and its outcome.
pub async fn record_outcome(
    client: &impl GenericClient,
    prediction_id: i64,
    observed_shift: Option<f64>,
    before: i64,
    after: i64,
    outcome: Outcome,
) -> Result<(), WatchError> {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    client
        .execute(
            "update drift_predictions set observed_shift = $2, observed_before = $3, observed_after = $4, outcome = $5, evaluated_at = now()
             where id = $1 and outcome is null",
            &[&prediction_id, &observed_shift, &clamp(before), &clamp(after), &outcome.name()],
        )
        .await?;
    Ok(())
}

/// Every scored outcome: (kind, series, outcome).
pub async fn outcomes(client: &impl GenericClient) -> Result<Vec<(ChangeKind, String, Outcome)>, WatchError> {
    let rows = client
        .query(
            "select c.kind, p.series, p.outcome from drift_predictions p join change_events c on c.id = p.change_id
             where p.outcome is not null order by p.id",
            &[],
        )
        .await?;
    rows.iter()
        .filter_map(|r| {
            let kind: Result<String, _> = r.try_get(0);
            let series: Result<String, _> = r.try_get(1);
            let outcome: Result<String, _> = r.try_get(2);
            match (kind, series, outcome) {
                (Ok(k), Ok(s), Ok(o)) => match (k.parse::<ChangeKind>(), Outcome::parse(&o)) {
                    (Ok(k), Some(o)) => Some(Ok((k, s, o))),
                    _ => Some(Err(WatchError::Data(format!("drift_predictions: unknown kind `{k}` or outcome `{o}`")))),
                },
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Some(Err(e.into())),
            }
        })
        .collect()
}
