//! Job history as a simulator trace (`zkq sched trace`): arrivals from `jobs`, weights from
//! `tenants`, header sizes from `circuits`, and per-circuit device time fitted to the measured
//! `batches` (least squares of device-seconds on batch size: `fixed + per_proof · size`).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::{Result, Store};
use crate::fair::cost::CircuitShape;
use crate::fair::sim::{Trace, TraceCircuit, TraceJob, TraceTenant, TRACE_VERSION};

/// Least-squares line through `(size, seconds)`: `(fixed_s, per_proof_s)`, both clamped at 0;
/// with one distinct size, the line through the origin.
pub fn fit_device_time(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    if sxx <= f64::EPSILON {
        return (mx > 0.0).then(|| (0.0, my / mx));
    }
    let slope = (sxy / sxx).max(0.0);
    let fixed = (my - slope * mx).max(0.0);
    Some((fixed, slope))
}

impl Store {
    /// Measured device-seconds per proof of `circuit_id` on `device_type` over its last 20
    /// batches (`None` before any), for the cost model's history across worker restarts.
    pub async fn measured_seconds_per_proof(&self, circuit_id: &str, device_type: &str) -> Result<Option<f64>> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "select sum(device_seconds) / nullif(sum(size), 0)::float8 as per_proof from (
                     select device_seconds, size from batches
                     where circuit_id = $1 and device_type = $2 and size > 0
                     order by finished_at desc limit 20) recent",
                &[&circuit_id, &device_type],
            )
            .await?;
        Ok(row.get::<_, Option<f64>>("per_proof").filter(|v| v.is_finite() && *v > 0.0))
    }

    /// The jobs submitted in `[since, until)` (by `submitted_at`; at most `limit`), as a trace
    /// whose time zero is the first arrival. Jobs without a resolved circuit are left out (they
    /// never reached a device).
    pub async fn record_trace(&self, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, limit: i64) -> Result<Trace> {
        let client = self.client().await?;
        let rows = client
            .query(
                "select j.tenant, j.circuit_id, j.priority, j.submitted_at, j.deadline_at
                 from jobs j
                 where j.circuit_id is not null and j.submitted_at is not null
                   and ($1::timestamptz is null or j.submitted_at >= $1)
                   and ($2::timestamptz is null or j.submitted_at < $2)
                 order by j.submitted_at, j.job_id
                 limit $3",
                &[&since, &until, &limit.max(0)],
            )
            .await?;
        let first: Option<DateTime<Utc>> = rows.first().map(|r| r.get("submitted_at"));
        let mut tenant_names = BTreeSet::new();
        let mut circuit_ids = BTreeSet::new();
        let mut jobs = Vec::with_capacity(rows.len());
        for r in &rows {
            let tenant: String = r.get("tenant");
            let circuit: String = r.get("circuit_id");
            let at: DateTime<Utc> = r.get("submitted_at");
            let deadline: Option<DateTime<Utc>> = r.get("deadline_at");
            let priority: i16 = r.get("priority");
            let at_ms = first.map_or(0.0, |f| (at - f).num_microseconds().unwrap_or(0) as f64 / 1e3);
            jobs.push(TraceJob {
                at_ms,
                tenant: tenant.clone(),
                circuit: circuit.clone(),
                priority: priority.clamp(0, 9) as u8,
                deadline_ms: deadline.map(|d| ((d - at).num_microseconds().unwrap_or(0) as f64 / 1e3).max(0.0)),
            });
            tenant_names.insert(tenant);
            circuit_ids.insert(circuit);
        }
        let names: Vec<String> = tenant_names.into_iter().collect();
        let ids: Vec<String> = circuit_ids.into_iter().collect();
        let weights: HashMap<String, i32> = client
            .query("select name, weight from tenants where name = any($1)", &[&names])
            .await?
            .iter()
            .map(|r| (r.get("name"), r.get("weight")))
            .collect();
        let tenants = names.iter().map(|n| TraceTenant { name: n.clone(), weight: weights.get(n).copied().unwrap_or(1).max(1) as u32 }).collect();
        let shapes = client
            .query("select id, n_vars, n_public, domain_size, zkey_bytes from circuits where id = any($1)", &[&ids])
            .await?;
        let batches = client
            .query(
                "select circuit_id, size, device_seconds from batches
                 where circuit_id = any($1) and size > 0
                   and ($2::timestamptz is null or started_at >= $2)
                   and ($3::timestamptz is null or started_at < $3)",
                &[&ids, &since, &until],
            )
            .await?;
        let mut points: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
        for b in &batches {
            let size: i32 = b.get("size");
            let secs: f64 = b.get("device_seconds");
            points.entry(b.get("circuit_id")).or_default().push((f64::from(size), secs));
        }
        let circuits = shapes
            .iter()
            .map(|r| {
                let id: String = r.get("id");
                let shape = CircuitShape {
                    n_vars: r.get::<_, i32>("n_vars").max(1) as u64,
                    n_public: r.get::<_, i32>("n_public").max(0) as u64,
                    domain_size: r.get::<_, i32>("domain_size").max(1) as u64,
                    zkey_bytes: r.get::<_, i64>("zkey_bytes").max(0) as u64,
                };
                let fit = points.get(&id).and_then(|p| fit_device_time(p));
                TraceCircuit { id, shape, fixed_ms: fit.map(|f| f.0 * 1e3), per_proof_ms: fit.map(|f| f.1 * 1e3) }
            })
            .collect();
        Ok(Trace { version: TRACE_VERSION, tenants, circuits, jobs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_line_and_degenerate_inputs() {
        let pts: Vec<(f64, f64)> = (1..=8).map(|b| (f64::from(b), 0.01 + 0.1 * f64::from(b))).collect();
        let (f, p) = fit_device_time(&pts).expect("a fit");
        assert!((f - 0.01).abs() < 1e-9 && (p - 0.1).abs() < 1e-9);
        assert_eq!(fit_device_time(&[]), None);
        let (f, p) = fit_device_time(&[(4.0, 2.0), (4.0, 2.0)]).expect("through the origin");
        assert!(f == 0.0 && (p - 0.5).abs() < 1e-12);
    }
}
