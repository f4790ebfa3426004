//! The report: one row per group (tenant, circuit, device type, region) or per time bucket
//! (day, ISO week), each with its previous-period figures and changes, an explicit `__idle__`
//! row and a `__shared__` row, and the total with the three-driver attribution of the change in
//! cost per 1k proofs.
//!
//! Row costs: `total_usd = workload_usd + idle_usd + shared_usd`, where idle and shared are the
//! row's allocated share ([`crate::allocate`]). By `device` or `region`, idle cost stays with the
//! device type or region whose workers idled; by tenant or circuit it is spread like the fixed
//! shared costs. The `__idle__` and `__shared__` rows always show the pool; their `total_usd` is 0
//! when the pool was spread into the rows above (`spread = true`), so the rows' `total_usd`
//! always sum to the period's total.
//!
//! By day or week, every bucket is its own allocation (its own idle and shared cost) and is
//! compared with the equal-length period just before it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::allocate::{self, ShareMode, WorkerIdle};
use crate::drivers::{self, Drivers, Factors};
use crate::error::{FinopsError, Result};
use crate::figures::{workload_by, Workload};
use crate::model::{Dataset, JobRow};
use crate::period::{Bucket, Period};

/// The group name of the idle row.
pub const IDLE_ROW: &str = "__idle__";
/// The group name of the shared-cost row.
pub const SHARED_ROW: &str = "__shared__";

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// Per tenant.
    Tenant,
    /// Per circuit (`name@version`).
    Circuit,
    /// Per device type.
    Device,
    /// Per region.
    Region,
    /// Per UTC day.
    Day,
    /// Per ISO week.
    Week,
}

impl std::str::FromStr for By {
    type Err = FinopsError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "tenant" => Self::Tenant,
            "circuit" => Self::Circuit,
            "device" => Self::Device,
            "region" => Self::Region,
            "day" => Self::Day,
            "week" => Self::Week,
            other => return Err(FinopsError::BadInput(format!("--by {other:?} is not one of tenant, circuit, device, region, day, week"))),
        })
    }
}

impl By {
    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Circuit => "circuit",
            Self::Device => "device",
            Self::Region => "region",
            Self::Day => "day",
            Self::Week => "week",
        }
    }

    fn key(self, j: &JobRow) -> String {
        match self {
            Self::Tenant => j.tenant.clone(),
            Self::Circuit => j.circuit.clone(),
            Self::Device => j.device_type.clone(),
            Self::Region => j.region.clone(),
            Self::Day | Self::Week => "total".into(),
        }
    }

    fn bucket(self) -> Option<Bucket> {
        match self {
            Self::Day => Some(Bucket::Day),
            Self::Week => Some(Bucket::Week),
            _ => None,
        }
    }
}

/// What a row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// A group's (or bucket's) jobs with its allocated shares.
    Workload,
    /// Device time paid for but not proving.
    Idle,
    /// Fixed shared costs (broker, database, …).
    Shared,
    /// The period's total.
    Total,
}

/// One row's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// Group (tenant, circuit, …, bucket label, `__idle__`, `__shared__`, `TOTAL`).
    pub group: String,
    /// What the row is.
    pub kind: LineKind,
    /// Jobs with a cost row.
    pub jobs: u64,
    /// Proofs (verified jobs).
    pub proofs: u64,
    /// Device-seconds spent proving.
    pub proving_seconds: f64,
    /// Idle device-seconds (allocated to this row, or the pool on the idle row).
    pub idle_seconds: f64,
    /// Workload cost, USD.
    pub workload_usd: f64,
    /// Idle cost, USD (allocated, or the pool on the idle row).
    pub idle_usd: f64,
    /// Shared cost, USD (allocated, or the pool on the shared row).
    pub shared_usd: f64,
    /// What the row adds to the period's total.
    pub total_usd: f64,
    /// Workload cost at on-demand list prices.
    pub list_usd: f64,
    /// p95 prove time, ms.
    pub p95_prove_ms: Option<f64>,
    /// Proving-key cache hit rate (0–1).
    pub cache_hit_rate: Option<f64>,
    /// On the idle and shared rows: whether the pool was spread into the rows above.
    pub spread: bool,
}

impl Line {
    fn empty(group: &str, kind: LineKind) -> Self {
        Line {
            group: group.to_owned(),
            kind,
            jobs: 0,
            proofs: 0,
            proving_seconds: 0.0,
            idle_seconds: 0.0,
            workload_usd: 0.0,
            idle_usd: 0.0,
            shared_usd: 0.0,
            total_usd: 0.0,
            list_usd: 0.0,
            p95_prove_ms: None,
            cache_hit_rate: None,
            spread: false,
        }
    }

    fn from_workload(group: &str, w: &Workload) -> Self {
        Line {
            jobs: w.jobs,
            proofs: w.proofs,
            proving_seconds: w.proving_seconds,
            workload_usd: w.usd,
            list_usd: w.list_usd,
            p95_prove_ms: w.p95_prove_ms,
            cache_hit_rate: w.cache_hit_rate,
            ..Line::empty(group, LineKind::Workload)
        }
    }

    /// Device-seconds paid for: proving plus (allocated) idle.
    pub fn paid_seconds(&self) -> f64 {
        self.proving_seconds + self.idle_seconds
    }

    /// The row's cost including its shares (for the idle and shared rows: their pool).
    pub fn cost_usd(&self) -> f64 {
        match self.kind {
            LineKind::Idle => self.idle_usd,
            LineKind::Shared => self.shared_usd,
            _ => self.total_usd,
        }
    }

    /// Cost per proof, when there were proofs.
    pub fn usd_per_proof(&self) -> Option<f64> {
        (self.proofs > 0).then(|| self.total_usd / self.proofs as f64)
    }

    /// Cost per 1k proofs, when there were proofs.
    pub fn usd_per_1k(&self) -> Option<f64> {
        self.usd_per_proof().map(|c| c * 1000.0)
    }

    /// The driver factors.
    pub fn factors(&self) -> Factors {
        Factors { total_usd: self.total_usd, proofs: self.proofs as f64, proving_seconds: self.proving_seconds, paid_seconds: self.paid_seconds() }
    }
}

/// A figure compared across periods: (name, how to read it from a row).
pub type Figure = (&'static str, fn(&Line) -> Option<f64>);

/// The figures every row shows beside the previous period's.
pub const FIGURES: &[Figure] = &[
    ("proofs", |l| Some(l.proofs as f64)),
    ("device_seconds", |l| Some(l.proving_seconds)),
    ("total_usd", |l| Some(l.cost_usd())),
    ("usd_per_proof", Line::usd_per_proof),
    ("usd_per_1k_proofs", Line::usd_per_1k),
    ("p95_prove_ms", |l| l.p95_prove_ms),
    ("cache_hit_rate", |l| l.cache_hit_rate),
];

/// A change: absolute and percent (percent only against a non-zero previous value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// Current − previous.
    pub abs: Option<f64>,
    /// 100 × (current − previous) / previous.
    pub pct: Option<f64>,
}

/// The change from `previous` to `current`.
pub fn change(current: Option<f64>, previous: Option<f64>) -> Change {
    match (current, previous) {
        (Some(c), Some(p)) => Change { abs: Some(c - p), pct: (p != 0.0).then(|| 100.0 * (c - p) / p) },
        _ => Change { abs: None, pct: None },
    }
}

/// A row with its previous-period counterpart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compared {
    /// This period.
    pub current: Line,
    /// The previous period's row (a group absent then has zero figures).
    pub previous: Option<Line>,
    /// Attribution of the change in cost per 1k proofs.
    pub drivers: Option<Drivers>,
}

impl Compared {
    fn new(current: Line, previous: Option<Line>) -> Self {
        let drivers = previous.as_ref().and_then(|p| drivers::attribute(&p.factors(), &current.factors()));
        Compared { current, previous, drivers }
    }

    /// The change of figure `f`.
    pub fn change_of(&self, f: &Figure) -> Change {
        change((f.1)(&self.current), self.previous.as_ref().and_then(|p| (f.1)(p)))
    }
}

/// One period's allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodLines {
    /// Workload rows, then `__idle__` and `__shared__`.
    pub lines: Vec<Line>,
    /// The total row.
    pub total: Line,
    /// Per-worker idle.
    pub idle: Vec<WorkerIdle>,
    /// Shared cost per component.
    pub shared: BTreeMap<String, f64>,
}

/// Allocates one period by a non-time dimension (by day/week, use [`build`]).
pub fn period_lines(ds: &Dataset, period: &Period, by: By, share: ShareMode) -> Result<PeriodLines> {
    let jobs: Vec<&JobRow> = ds.jobs.iter().filter(|j| period.contains(j.completed_at)).collect();
    let groups = workload_by(&jobs, |j| by.key(j))?;
    let all = workload_by(&jobs, |_| "total".into())?.remove("total").unwrap_or_default();
    let idle = allocate::idle(ds, period);
    let shared = allocate::shared(&ds.shared, period);
    let idle_s: f64 = idle.iter().map(|w| w.idle_seconds).fold(0.0, |a, b| a + b);
    let idle_usd: f64 = idle.iter().map(|w| w.idle_usd).fold(0.0, |a, b| a + b);
    let shared_usd: f64 = shared.values().fold(0.0, |a, b| a + b);

    let mut lines: Vec<Line> = groups.iter().map(|(g, w)| Line::from_workload(g, w)).collect();
    // By device type or region, idle stays where it happened.
    let direct = share != ShareMode::None && matches!(by, By::Device | By::Region);
    let (mut pool_s, mut pool_usd) = (idle_s, idle_usd);
    if direct {
        for w in &idle {
            let key = if by == By::Device { &w.device_type } else { &w.region };
            let line = match lines.iter_mut().position(|l| &l.group == key) {
                Some(i) => &mut lines[i],
                None => {
                    lines.push(Line::empty(key, LineKind::Workload));
                    lines.last_mut().ok_or_else(|| FinopsError::BadInput("internal: no line".into()))?
                }
            };
            line.idle_seconds += w.idle_seconds;
            line.idle_usd += w.idle_usd;
        }
        lines.sort_by(|a, b| a.group.cmp(&b.group));
        pool_s = 0.0;
        pool_usd = 0.0;
    }
    let weights = allocate::spread(&lines.iter().map(|l| l.workload_usd).collect::<Vec<_>>(), share);
    let spread = share != ShareMode::None && !lines.is_empty();
    for (line, w) in lines.iter_mut().zip(&weights) {
        line.idle_seconds += pool_s * w;
        line.idle_usd += pool_usd * w;
        line.shared_usd += shared_usd * w;
        line.total_usd = line.workload_usd + line.idle_usd + line.shared_usd;
    }
    let mut idle_line = Line::empty(IDLE_ROW, LineKind::Idle);
    idle_line.idle_seconds = idle_s;
    idle_line.idle_usd = idle_usd;
    idle_line.spread = spread;
    idle_line.total_usd = if spread { 0.0 } else { idle_usd };
    let mut shared_line = Line::empty(SHARED_ROW, LineKind::Shared);
    shared_line.shared_usd = shared_usd;
    shared_line.spread = spread;
    shared_line.total_usd = if spread { 0.0 } else { shared_usd };

    let workload_usd: f64 = lines.iter().map(|l| l.workload_usd).fold(0.0, |a, b| a + b);
    let total = Line {
        idle_seconds: idle_s,
        idle_usd,
        shared_usd,
        total_usd: workload_usd + idle_usd + shared_usd,
        ..Line::from_workload("TOTAL", &all)
    };
    let total = Line { kind: LineKind::Total, ..total };
    lines.push(idle_line);
    lines.push(shared_line);
    Ok(PeriodLines { lines, total, idle, shared })
}

/// A complete report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The rows' dimension.
    pub by: By,
    /// How shared cost was spread.
    pub share: &'static str,
    /// This period.
    pub period: Period,
    /// The previous equal-length period.
    pub previous_period: Period,
    /// The rows (workload rows, then `__idle__` and `__shared__`; by day/week: one per bucket).
    pub rows: Vec<Compared>,
    /// The total.
    pub total: Compared,
    /// True when the period had no jobs: "no proofs in <period>".
    pub empty: bool,
}

impl Report {
    /// The line printed for an empty period.
    pub fn empty_message(&self) -> String {
        format!("no proofs in {}", self.period.label())
    }
}

/// Builds the report of `period` by `by`, spreading shared cost by `share`.
pub fn build(ds: &Dataset, period: &Period, by: By, share: ShareMode) -> Result<Report> {
    let previous_period = period.previous();
    let cur = period_lines(ds, period, by, share)?;
    let prev = period_lines(ds, &previous_period, by, share)?;
    let rows = match by.bucket() {
        Some(unit) => {
            let mut rows = Vec::new();
            for (label, bucket) in period.buckets(unit) {
                let c = period_lines(ds, &bucket, By::Tenant, share)?;
                let p = period_lines(ds, &bucket.previous(), By::Tenant, share)?;
                let relabel = |mut l: Line| {
                    l.group = label.clone();
                    l.kind = LineKind::Workload;
                    l
                };
                rows.push(Compared::new(relabel(c.total), Some(relabel(p.total))));
            }
            rows
        }
        None => {
            let mut previous: BTreeMap<(String, u8), Line> = prev.lines.into_iter().map(|l| ((l.group.clone(), kind_order(l.kind)), l)).collect();
            let mut rows: Vec<Compared> = Vec::new();
            for line in cur.lines {
                let p = previous.remove(&(line.group.clone(), kind_order(line.kind))).unwrap_or_else(|| Line::empty(&line.group, line.kind));
                rows.push(Compared::new(line, Some(p)));
            }
            // Groups that had jobs only in the previous period: shown with zero figures now.
            for ((group, _), p) in previous {
                let at = rows.iter().position(|r| r.current.kind != LineKind::Workload).unwrap_or(rows.len());
                rows.insert(at, Compared::new(Line::empty(&group, LineKind::Workload), Some(p)));
            }
            rows
        }
    };
    let empty = cur.total.jobs == 0;
    Ok(Report { by, share: share.as_str(), period: *period, previous_period, rows, total: Compared::new(cur.total, Some(prev.total)), empty })
}

fn kind_order(k: LineKind) -> u8 {
    match k {
        LineKind::Workload => 0,
        LineKind::Idle => 1,
        LineKind::Shared => 2,
        LineKind::Total => 3,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::model::{PriceRow, SharedCostRow, UptimeRow};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    pub(crate) fn job(id: &str, tenant: &str, completed: &str, seconds: f64, prove_ms: f64, hit: bool) -> JobRow {
        JobRow {
            job_id: id.into(),
            tenant: tenant.into(),
            circuit: "mul@1".into(),
            device_type: "gpu".into(),
            region: "us-east-1".into(),
            pricing_category: "on-demand".into(),
            provider: "aws".into(),
            instance_type: "g1".into(),
            worker_id: "w1".into(),
            device: "gpu0".into(),
            completed_at: at(completed),
            proved: true,
            device_seconds: seconds,
            usd: seconds * 0.01,
            list_usd: seconds * 0.01,
            prove_ms,
            cache_hit: Some(hit),
        }
    }

    /// The fixed data set: one 1-device worker at $36/h ($0.01/device-s) up 09:00–11:00;
    /// broker $2/h and database $6/h.
    /// Current hour 10:00–11:00: tenant a 3 jobs × 100 s ($3), tenant b 1 job × 100 s ($1) →
    /// idle 3600 − 400 = 3200 s ($32), shared $8, total $44, 4 proofs.
    /// Previous hour 09:00–10:00: tenant a 2 jobs × 150 s ($3) → idle 3300 s ($33), shared $8,
    /// total $44, 2 proofs.
    pub(crate) fn dataset() -> Dataset {
        Dataset {
            jobs: vec![
                job("p1", "a", "2026-11-16T09:20:00Z", 150.0, 100.0, false),
                job("p2", "a", "2026-11-16T09:40:00Z", 150.0, 300.0, true),
                job("c1", "a", "2026-11-16T10:10:00Z", 100.0, 100.0, false),
                job("c2", "a", "2026-11-16T10:20:00Z", 100.0, 200.0, true),
                job("c3", "a", "2026-11-16T10:30:00Z", 100.0, 300.0, true),
                job("c4", "b", "2026-11-16T10:40:00Z", 100.0, 400.0, true),
            ],
            uptime: vec![UptimeRow {
                worker_id: "w1".into(),
                device: "gpu0".into(),
                device_type: "gpu".into(),
                region: Some("us-east-1".into()),
                devices: 1,
                started_at: at("2026-11-16T09:00:00Z"),
                last_seen_at: at("2026-11-16T11:00:00Z"),
            }],
            prices: vec![PriceRow {
                id: 1,
                provider: "aws".into(),
                region: "us-east-1".into(),
                instance_type: "g1".into(),
                device_type: "gpu".into(),
                devices_per_instance: 1,
                pricing_category: "on-demand".into(),
                usd_per_hour: 36.0,
                valid_from: at("2026-01-01T00:00:00Z"),
                source: None,
            }],
            shared: vec![
                SharedCostRow { id: 1, component: "broker".into(), region: None, usd_per_hour: 2.0, valid_from: at("2026-01-01T00:00:00Z"), source: None },
                SharedCostRow { id: 2, component: "database".into(), region: None, usd_per_hour: 6.0, valid_from: at("2026-01-01T00:00:00Z"), source: None },
            ],
        }
    }

    fn hour() -> Period {
        Period::new(at("2026-11-16T10:00:00Z"), at("2026-11-16T11:00:00Z")).expect("period")
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn row<'a>(r: &'a Report, group: &str) -> &'a Compared {
        r.rows.iter().find(|c| c.current.group == group).expect(group)
    }

    #[test]
    fn weighted_sharing_spreads_idle_and_shared_by_workload_cost() {
        let r = build(&dataset(), &hour(), By::Tenant, ShareMode::Weighted).expect("report");
        let a = &row(&r, "a").current;
        // a: 3/4 of the $32 idle and of the $8 shared: 3 + 24 + 6 = $33 for 3 proofs.
        assert_eq!((a.jobs, a.proofs), (3, 3));
        assert!(close(a.workload_usd, 3.0) && close(a.idle_usd, 24.0) && close(a.shared_usd, 6.0) && close(a.total_usd, 33.0), "{a:?}");
        assert!(close(a.idle_seconds, 2400.0));
        assert!(close(a.usd_per_proof().expect("proofs"), 11.0) && close(a.usd_per_1k().expect("proofs"), 11_000.0));
        // p95 of 100, 200, 300 ms (linear): 200 + 0.9 × 100 = 290; 2 of 3 batches hit the key cache.
        assert!(close(a.p95_prove_ms.expect("p95"), 290.0));
        assert!(close(a.cache_hit_rate.expect("rate"), 2.0 / 3.0));
        let b = &row(&r, "b").current;
        assert!(close(b.total_usd, 11.0), "b: 1 + 8 + 2");
        // The idle and shared rows show their pools, already spread.
        let idle = &row(&r, IDLE_ROW).current;
        assert!(close(idle.idle_seconds, 3200.0) && close(idle.idle_usd, 32.0) && idle.spread && idle.total_usd == 0.0);
        let shared = &row(&r, SHARED_ROW).current;
        assert!(close(shared.shared_usd, 8.0) && shared.spread);
        // Rows sum to the total.
        let sum: f64 = r.rows.iter().map(|c| c.current.total_usd).sum();
        assert!(close(sum, 44.0) && close(r.total.current.total_usd, 44.0));
        assert!(close(r.total.current.usd_per_1k().expect("proofs"), 11_000.0));
    }

    #[test]
    fn even_and_no_sharing() {
        let even = build(&dataset(), &hour(), By::Tenant, ShareMode::Even).expect("report");
        assert!(close(row(&even, "a").current.total_usd, 23.0), "3 + 16 + 4");
        assert!(close(row(&even, "b").current.total_usd, 21.0), "1 + 16 + 4");
        let none = build(&dataset(), &hour(), By::Tenant, ShareMode::None).expect("report");
        assert!(close(row(&none, "a").current.total_usd, 3.0));
        assert!(close(row(&none, IDLE_ROW).current.total_usd, 32.0) && !row(&none, IDLE_ROW).current.spread);
        assert!(close(row(&none, SHARED_ROW).current.total_usd, 8.0));
        let sum: f64 = none.rows.iter().map(|c| c.current.total_usd).sum();
        assert!(close(sum, 44.0));
    }

    #[test]
    fn period_over_period_with_the_three_drivers() {
        let r = build(&dataset(), &hour(), By::Tenant, ShareMode::Weighted).expect("report");
        let t = &r.total;
        let prev = t.previous.as_ref().expect("previous");
        assert_eq!((prev.proofs, t.current.proofs), (2, 4));
        assert!(close(prev.total_usd, 44.0) && close(prev.idle_seconds, 3300.0));
        let k = FIGURES.iter().find(|f| f.0 == "usd_per_1k_proofs").expect("figure");
        let c = t.change_of(k);
        // $22 000 → $11 000 per 1k proofs: −11 000, −50 %.
        assert!(close(c.abs.expect("abs"), -11_000.0) && close(c.pct.expect("pct"), -50.0));
        // Drivers: price per paid device-second unchanged ($44 / 3600 s both hours); device-
        // seconds per proof 150 → 100; utilisation 300/3600 → 400/3600.
        // L = −11000 / ln(0.5) = 15869.645; seconds: L·ln(2/3) = −6434.588; utilisation:
        // −L·ln(4/3) = −4565.412.
        let d = t.drivers.expect("drivers");
        assert!(d.price_mix.abs() < 1e-9, "{d:?}");
        assert!((d.device_seconds_per_proof + 6434.588).abs() < 0.001, "{d:?}");
        assert!((d.utilisation + 4565.412).abs() < 0.001, "{d:?}");
        assert!(close(d.price_mix + d.device_seconds_per_proof + d.utilisation, d.change));
        // Tenant b had no jobs the hour before: no percent change against zero proofs.
        let b = row(&r, "b");
        let proofs = b.change_of(&FIGURES[0]);
        assert_eq!((proofs.abs, proofs.pct), (Some(1.0), None));
    }

    #[test]
    fn idle_stays_with_its_region_and_buckets_compare_with_the_bucket_before() {
        let r = build(&dataset(), &hour(), By::Region, ShareMode::Weighted).expect("report");
        let us = &row(&r, "us-east-1").current;
        assert!(close(us.idle_usd, 32.0) && close(us.total_usd, 44.0));
        let two_hours = Period::new(at("2026-11-16T09:00:00Z"), at("2026-11-16T11:00:00Z")).expect("period");
        let days = build(&dataset(), &two_hours, By::Day, ShareMode::Weighted).expect("report");
        assert_eq!(days.rows.len(), 1);
        let d = &days.rows[0];
        assert_eq!(d.current.group, "2026-11-16");
        // Both hours: workload $7, idle 7200 − 700 = 6500 s ($65), shared $16: $88 for 6 proofs.
        assert!(close(d.current.total_usd, 88.0), "{:?}", d.current);
        assert_eq!(d.current.proofs, 6);
    }

    #[test]
    fn an_empty_period_says_so_and_has_no_nan() {
        let period = Period::parse("2026-12-01", "2026-12-07").expect("period");
        let r = build(&dataset(), &period, By::Tenant, ShareMode::Weighted).expect("report");
        assert!(r.empty);
        assert_eq!(r.empty_message(), "no proofs in 2026-12-01 – 2026-12-07");
        assert_eq!(r.total.current.usd_per_1k(), None);
        let json = serde_json::to_string(&r).expect("json");
        assert!(!json.contains("NaN") && !json.contains("-0.0"), "{json}");
    }
}
