//! Allocation in the OpenCost manner (OpenCost spec v0.1, "Cluster idle costs" and "Shared
//! costs"): workload cost is the device-seconds spent proving; device time paid for but not
//! proving is **idle** cost; fixed costs (broker, database, …) and idle are **shared** across
//! the report's rows `weighted` by workload cost (default), `even`ly, or not at all.
//!
//! ## Idle
//! For each worker process (a `worker_uptime` row) and a period P:
//! `paid_s = |uptime ∩ P| × devices`, `proving_s = Σ device-seconds of its jobs completed in P`,
//! `idle_s = max(0, paid_s − proving_s)`, and
//! `idle_usd = idle_s × (paid_usd / paid_s)` where `paid_usd` prices each stretch of the uptime
//! at the price in force then (the price table's rule: latest `valid_from` not after the
//! instant; same region preferred when the worker has one; then `on-demand`; then the newest
//! row). A worker with batches but no uptime row (data from before uptime was recorded) has no
//! idle time.
//!
//! ## Shared
//! Each `shared_costs` component costs `usd_per_hour × hours` for every stretch of P in which
//! that row is the latest `valid_from` of its (component, region).
//!
//! ## Spreading
//! `weighted`: row i gets `workload_usd_i / Σ workload_usd` of the pool (rows with no workload
//! cost get none; with no workload cost anywhere it falls back to `even`); `even`: `1 / rows`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::{FinopsError, Result};
use crate::model::{Dataset, PriceRow, SharedCostRow};
use crate::period::Period;

/// How shared cost (broker, database, idle) is spread across a report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareMode {
    /// In proportion to each row's workload cost (default).
    Weighted,
    /// Equally across rows.
    Even,
    /// Not spread: idle and shared stay on their own rows.
    None,
}

impl std::str::FromStr for ShareMode {
    type Err = FinopsError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "weighted" => Ok(Self::Weighted),
            "even" => Ok(Self::Even),
            "none" => Ok(Self::None),
            other => Err(FinopsError::BadInput(format!("--share {other:?} is not one of weighted, even, none"))),
        }
    }
}

impl ShareMode {
    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weighted => "weighted",
            Self::Even => "even",
            Self::None => "none",
        }
    }
}

/// One worker's paid, proving and idle time in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerIdle {
    /// Worker id.
    pub worker_id: String,
    /// Device description.
    pub device: String,
    /// Device type.
    pub device_type: String,
    /// Region (the uptime row's, else `unknown`).
    pub region: String,
    /// Device-seconds paid for.
    pub paid_seconds: f64,
    /// Cost of the paid device-seconds.
    pub paid_usd: f64,
    /// Device-seconds spent on jobs completed in the period.
    pub proving_seconds: f64,
    /// `max(0, paid − proving)`.
    pub idle_seconds: f64,
    /// Cost of the idle seconds.
    pub idle_usd: f64,
}

/// The price rule of the price table (see the module docs): the row for `device_type` in
/// force at `t`.
pub fn price_at<'a>(prices: &'a [PriceRow], device_type: &str, region: Option<&str>, t: DateTime<Utc>) -> Option<&'a PriceRow> {
    let candidates = || prices.iter().filter(move |p| p.device_type == device_type && p.valid_from <= t);
    let pick = |it: &mut dyn Iterator<Item = &'a PriceRow>| {
        it.max_by(|a, b| a.valid_from.cmp(&b.valid_from).then((a.pricing_category == "on-demand").cmp(&(b.pricing_category == "on-demand"))).then(a.id.cmp(&b.id)))
    };
    if let Some(r) = region {
        if let Some(p) = pick(&mut candidates().filter(|p| p.region == r)) {
            return Some(p);
        }
    }
    pick(&mut candidates())
}

/// Idle time and cost of every worker with uptime in `period`.
pub fn idle(ds: &Dataset, period: &Period) -> Vec<WorkerIdle> {
    let mut proving: BTreeMap<&str, f64> = BTreeMap::new();
    for j in ds.jobs.iter().filter(|j| period.contains(j.completed_at)) {
        *proving.entry(j.worker_id.as_str()).or_default() += j.device_seconds;
    }
    let mut by_worker: BTreeMap<&str, WorkerIdle> = BTreeMap::new();
    for u in &ds.uptime {
        let (start, end) = (u.started_at.max(period.start), u.last_seen_at.min(period.end));
        if end <= start {
            continue;
        }
        let devices = f64::from(u.devices.max(1));
        // Cut the stretch at every price change of this device type.
        let mut cuts: Vec<DateTime<Utc>> = ds.prices.iter().filter(|p| p.device_type == u.device_type && p.valid_from > start && p.valid_from < end).map(|p| p.valid_from).collect();
        cuts.push(end);
        cuts.sort();
        cuts.dedup();
        let (mut from, mut paid_s, mut paid_usd) = (start, 0.0, 0.0);
        for to in cuts {
            let secs = (to - from).num_milliseconds() as f64 / 1e3 * devices;
            let rate = price_at(&ds.prices, &u.device_type, u.region.as_deref(), from).map_or(0.0, PriceRow::usd_per_device_second);
            paid_s += secs;
            paid_usd += secs * rate;
            from = to;
        }
        let e = by_worker.entry(u.worker_id.as_str()).or_insert_with(|| WorkerIdle {
            worker_id: u.worker_id.clone(),
            device: u.device.clone(),
            device_type: u.device_type.clone(),
            region: u.region.clone().unwrap_or_else(|| "unknown".into()),
            paid_seconds: 0.0,
            paid_usd: 0.0,
            proving_seconds: 0.0,
            idle_seconds: 0.0,
            idle_usd: 0.0,
        });
        e.paid_seconds += paid_s;
        e.paid_usd += paid_usd;
    }
    by_worker
        .into_values()
        .map(|mut w| {
            w.proving_seconds = proving.get(w.worker_id.as_str()).copied().unwrap_or(0.0);
            w.idle_seconds = (w.paid_seconds - w.proving_seconds).max(0.0);
            w.idle_usd = if w.paid_seconds > 0.0 { w.idle_seconds * w.paid_usd / w.paid_seconds } else { 0.0 };
            w
        })
        .collect()
}

/// Shared cost per component in `period` (see the module docs).
pub fn shared(rows: &[SharedCostRow], period: &Period) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    let mut keys: Vec<(&str, Option<&str>)> = rows.iter().map(|r| (r.component.as_str(), r.region.as_deref())).collect();
    keys.sort();
    keys.dedup();
    for (component, region) in keys {
        let mut versions: Vec<&SharedCostRow> = rows.iter().filter(|r| r.component == component && r.region.as_deref() == region).collect();
        versions.sort_by(|a, b| a.valid_from.cmp(&b.valid_from).then(a.id.cmp(&b.id)));
        let mut usd = 0.0;
        for (i, v) in versions.iter().enumerate() {
            // A later row with the same valid_from replaces this one entirely.
            let until = versions[i + 1..].iter().map(|n| n.valid_from).find(|t| *t >= v.valid_from);
            let end = until.unwrap_or(period.end);
            usd += period.overlap_seconds(v.valid_from, end) / 3600.0 * v.usd_per_hour;
        }
        *out.entry(component.to_owned()).or_default() += usd;
    }
    out
}

/// The fraction of a shared pool each row gets, in the order of `workload_usd`.
pub fn spread(workload_usd: &[f64], mode: ShareMode) -> Vec<f64> {
    let n = workload_usd.len();
    if n == 0 || mode == ShareMode::None {
        return vec![0.0; n];
    }
    let total: f64 = workload_usd.iter().map(|u| u.max(0.0)).sum();
    if mode == ShareMode::Even || total <= 0.0 {
        return vec![1.0 / n as f64; n];
    }
    workload_usd.iter().map(|u| u.max(0.0) / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UptimeRow;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    fn price(id: i64, category: &str, region: &str, usd_per_hour: f64, from: &str) -> PriceRow {
        PriceRow {
            id,
            provider: "aws".into(),
            region: region.into(),
            instance_type: "x".into(),
            device_type: "gpu".into(),
            devices_per_instance: 2,
            pricing_category: category.into(),
            usd_per_hour,
            valid_from: at(from),
            source: None,
        }
    }

    #[test]
    fn the_price_in_force_prefers_the_region_then_on_demand_then_the_newest_row() {
        let prices = vec![
            price(1, "on-demand", "us-east-1", 10.0, "2026-01-01T00:00:00Z"),
            price(2, "spot", "us-east-1", 4.0, "2026-06-01T00:00:00Z"),
            price(3, "on-demand", "us-east-1", 8.0, "2026-06-01T00:00:00Z"),
            price(4, "on-demand", "eu-west-1", 9.0, "2026-03-01T00:00:00Z"),
        ];
        assert_eq!(price_at(&prices, "gpu", None, at("2025-12-31T00:00:00Z")), None);
        assert_eq!(price_at(&prices, "gpu", None, at("2026-02-01T00:00:00Z")).map(|p| p.id), Some(1));
        assert_eq!(price_at(&prices, "gpu", Some("us-east-1"), at("2026-07-01T00:00:00Z")).map(|p| p.id), Some(3));
        assert_eq!(price_at(&prices, "gpu", Some("eu-west-1"), at("2026-07-01T00:00:00Z")).map(|p| p.id), Some(4));
        assert_eq!(price_at(&prices, "gpu", Some("ap-south-1"), at("2026-07-01T00:00:00Z")).map(|p| p.id), Some(3), "falls back to any region");
    }

    #[test]
    fn idle_is_paid_time_minus_proving_time_priced_per_stretch() {
        // A 2-device worker up 10:00–12:00 on a $7.20/h instance of 2 devices ($0.001/device-s),
        // whose price drops to $3.60/h at 11:00 ($0.0005/device-s). Period 10:30–12:00.
        let ds = Dataset {
            jobs: vec![],
            uptime: vec![UptimeRow {
                worker_id: "w".into(),
                device: "d".into(),
                device_type: "gpu".into(),
                region: Some("us-east-1".into()),
                devices: 2,
                started_at: at("2026-11-16T10:00:00Z"),
                last_seen_at: at("2026-11-16T12:00:00Z"),
            }],
            prices: vec![price(1, "on-demand", "us-east-1", 7.2, "2026-01-01T00:00:00Z"), price(2, "on-demand", "us-east-1", 3.6, "2026-11-16T11:00:00Z")],
            shared: vec![],
        };
        let period = Period::new(at("2026-11-16T10:30:00Z"), at("2026-11-16T12:00:00Z")).expect("period");
        let idle = idle(&ds, &period);
        assert_eq!(idle.len(), 1);
        let w = &idle[0];
        // paid: 1800 s × 2 = 3600 device-s at 0.001 → $3.60, plus 3600 s × 2 = 7200 at 0.0005 → $3.60.
        assert!((w.paid_seconds - 10_800.0).abs() < 1e-9);
        assert!((w.paid_usd - 7.2).abs() < 1e-12);
        // No jobs: all idle.
        assert!((w.idle_seconds - 10_800.0).abs() < 1e-9 && (w.idle_usd - 7.2).abs() < 1e-12);
    }

    #[test]
    fn shared_cost_integrates_each_version_over_its_stretch() {
        let row = |id, component: &str, usd_per_hour, from: &str| SharedCostRow {
            id,
            component: component.into(),
            region: None,
            usd_per_hour,
            valid_from: at(from),
            source: None,
        };
        let rows = vec![row(1, "broker", 2.0, "2026-11-01T00:00:00Z"), row(2, "broker", 4.0, "2026-11-16T12:00:00Z"), row(3, "database", 1.0, "2026-11-16T18:00:00Z")];
        let day = Period::parse("2026-11-16", "2026-11-16").expect("day");
        let s = shared(&rows, &day);
        // broker: 12 h × $2 + 12 h × $4 = $72; database: 6 h × $1 = $6.
        assert!((s["broker"] - 72.0).abs() < 1e-9, "{s:?}");
        assert!((s["database"] - 6.0).abs() < 1e-9);
    }

    #[test]
    fn spreading_is_weighted_even_or_none() {
        assert_eq!(spread(&[3.0, 1.0], ShareMode::Weighted), vec![0.75, 0.25]);
        assert_eq!(spread(&[3.0, 1.0], ShareMode::Even), vec![0.5, 0.5]);
        assert_eq!(spread(&[3.0, 1.0], ShareMode::None), vec![0.0, 0.0]);
        assert_eq!(spread(&[0.0, 0.0], ShareMode::Weighted), vec![0.5, 0.5], "no workload cost: even");
        assert!(spread(&[], ShareMode::Weighted).is_empty());
    }
}
