//! Fairness metrics for Prometheus: the worker's fair scheduler updates a
//! [`FairnessMetrics`] as it queues and dispatches jobs, and [`FairnessMetrics::render`]
//! writes the Prometheus text exposition format (version 0.0.4) for the worker's `/metrics`
//! endpoint, so the fairness promise (Gini ≤ 0.15) is watched in production.
//!
//! Families ([`FAIRNESS_METRIC_NAMES`]):
//! - `zkq_fairness_gini`, `zkq_fairness_jain`, `zkq_fairness_floor_ratio` — gauges over the
//!   latest window (default 60 s, ending at a dispatch) in which at least two tenants stayed
//!   backlogged throughout, over those tenants (absent until there is one);
//!   `zkq_fairness_backlogged_tenants`, `zkq_fairness_window_seconds`, and
//!   `zkq_fairness_windows_total` (a counter: whether the gauges are fresh).
//! - `zkq_tenant_share_ratio{tenant}` — service / weighted share in that window.
//! - `zkq_tenant_wait_seconds{tenant}` — histogram of queue wait (arrival at the worker to the
//!   start of the job's batch), buckets configurable.
//! - `zkq_tenant_backlog_jobs{tenant}` — jobs held and not yet dispatched.
//! - `zkq_tenant_deliveries_total{tenant}` — deliveries received from the tenant's queues.
//! - `zkq_tenant_held_jobs{tenant,stage}` — the tenant's unacked deliveries by stage: `intake`
//!   (received, not yet taken up), `queue` (admitted, in the fair queue), `device` (in a batch,
//!   until its commit and acks): their sum over the prefetch is the prefetch occupancy.
//! - `zkq_tenant_served_cost_seconds_total{tenant}` — estimated device-seconds dispatched.
//! - `zkq_tenant_deadline_exceeded_total{tenant}` — jobs failed `deadline_exceeded`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use super::figures::{FairnessLog, WindowFigures};
use super::queue::Time;

/// Every metric family [`FairnessMetrics::render`] writes.
pub const FAIRNESS_METRIC_NAMES: &[&str] = &[
    "zkq_fairness_gini",
    "zkq_fairness_jain",
    "zkq_fairness_floor_ratio",
    "zkq_fairness_backlogged_tenants",
    "zkq_fairness_window_seconds",
    "zkq_fairness_windows_total",
    "zkq_tenant_share_ratio",
    "zkq_tenant_wait_seconds",
    "zkq_tenant_backlog_jobs",
    "zkq_tenant_deliveries_total",
    "zkq_tenant_held_jobs",
    "zkq_tenant_served_cost_seconds_total",
    "zkq_tenant_deadline_exceeded_total",
];

/// Default wait-histogram bucket bounds, seconds.
pub const DEFAULT_WAIT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct TenantCounters {
    wait: Histogram,
    backlog: usize,
    served_cost: f64,
    deadline_exceeded: u64,
    deliveries: u64,
    held: HeldJobs,
}

/// A tenant's unacked deliveries held by the worker, by stage.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HeldJobs {
    /// Received, not yet taken up.
    pub intake: usize,
    /// Admitted, in the fair queue.
    pub queue: usize,
    /// In a batch at the device, until it is committed and acked.
    pub device: usize,
}

#[derive(Debug, Default)]
struct Inner {
    log: FairnessLog,
    tenants: BTreeMap<String, TenantCounters>,
    last: Option<WindowFigures>,
    windows: u64,
}

/// Fairness figures and per-tenant counters, shared (`Arc`) between the worker and the
/// metrics endpoint. All methods take `&self`.
#[derive(Debug)]
pub struct FairnessMetrics {
    window: Duration,
    buckets: Vec<f64>,
    inner: Mutex<Inner>,
}

impl Default for FairnessMetrics {
    fn default() -> Self {
        Self::new(Duration::from_secs(60), DEFAULT_WAIT_BUCKETS.to_vec())
    }
}

impl FairnessMetrics {
    /// Figures over sliding windows of `window`; wait histogram with `buckets` (seconds,
    /// sorted; non-finite bounds dropped).
    pub fn new(window: Duration, mut buckets: Vec<f64>) -> Self {
        buckets.retain(|b| b.is_finite());
        buckets.sort_by(f64::total_cmp);
        buckets.dedup();
        Self {
            window,
            buckets,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    fn tenant<'a>(&self, inner: &'a mut Inner, tenant: &str) -> &'a mut TenantCounters {
        let n = self.buckets.len();
        inner
            .tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| TenantCounters {
                wait: Histogram {
                    counts: vec![0; n],
                    ..Default::default()
                },
                ..Default::default()
            })
    }

    /// Sets a tenant's weight.
    pub fn set_weight(&self, tenant: &str, weight: f64) {
        self.with(|i| i.log.set_weight(tenant, weight));
    }

    /// `tenant` has `waiting` jobs held and not dispatched, from `now`.
    pub fn backlog(&self, tenant: &str, now: Time, waiting: usize) {
        self.with(|i| {
            i.log.backlog(tenant, now, waiting);
            self.tenant(i, tenant).backlog = waiting;
        });
    }

    /// One of `tenant`'s jobs, charged `cost` device-seconds, was dispatched at `now` after
    /// waiting `wait`.
    pub fn served(&self, tenant: &str, now: Time, cost: f64, wait: Duration) {
        self.with(|i| {
            i.log.served(tenant, now, cost);
            let t = self.tenant(i, tenant);
            t.served_cost += cost;
            let w = wait.as_secs_f64();
            for (k, b) in self.buckets.iter().enumerate() {
                if w <= *b {
                    t.wait.counts[k] += 1;
                }
            }
            t.wait.sum += w;
            t.wait.count += 1;
        });
    }

    /// A delivery from one of `tenant`'s queues arrived.
    pub fn delivered(&self, tenant: &str) {
        self.with(|i| self.tenant(i, tenant).deliveries += 1);
    }

    /// `tenant`'s unacked deliveries, by stage.
    pub fn held(&self, tenant: &str, held: HeldJobs) {
        self.with(|i| self.tenant(i, tenant).held = held);
    }

    /// One of `tenant`'s jobs failed `deadline_exceeded`.
    pub fn deadline_exceeded(&self, tenant: &str) {
        self.with(|i| self.tenant(i, tenant).deadline_exceeded += 1);
    }

    /// Recomputes the window ending at `now` and forgets what is older.
    pub fn refresh(&self, now: Time) {
        let start = now.saturating_sub(self.window);
        self.with(|i| {
            // Keep the most recent window that had two backlogged tenants: a quiet spell does not
            // blank the gauges (`zkq_fairness_windows_total` shows whether they are fresh).
            if let Some(w) = i.log.window(start, now) {
                i.last = Some(w);
                i.windows += 1;
            }
            i.log.prune(start);
        });
    }

    /// The last window's figures.
    pub fn last_window(&self) -> Option<WindowFigures> {
        self.with(|i| i.last.clone())
    }

    /// Writes every family in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        self.with(|i| {
            let gauge = |out: &mut String, name: &str, help: &str, value: Option<f64>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                if let Some(v) = value {
                    let _ = writeln!(out, "{name} {}", number(v));
                }
            };
            let w = i.last.as_ref();
            gauge(out, "zkq_fairness_gini", "Gini index of weight-normalised service over tenants backlogged throughout the last window.", w.map(|w| w.gini));
            gauge(out, "zkq_fairness_jain", "Jain's index of weight-normalised service over tenants backlogged throughout the last window.", w.map(|w| w.jain));
            gauge(out, "zkq_fairness_floor_ratio", "Lowest service / weighted share among tenants backlogged throughout the last window.", w.map(|w| w.floor));
            gauge(out, "zkq_fairness_backlogged_tenants", "Tenants backlogged throughout the last window.", Some(w.map_or(0.0, |w| w.backlogged as f64)));
            gauge(out, "zkq_fairness_window_seconds", "Length of the fairness window.", Some(self.window.as_secs_f64()));
            let _ = writeln!(
                out,
                "# HELP zkq_fairness_windows_total Fairness windows evaluated (each with two or more tenants backlogged throughout); the gauges show the latest.\n# TYPE zkq_fairness_windows_total counter\nzkq_fairness_windows_total {}",
                i.windows
            );

            let _ = writeln!(out, "# HELP zkq_tenant_share_ratio Service / weighted share in the last window (tenants backlogged throughout it).\n# TYPE zkq_tenant_share_ratio gauge");
            if let Some(w) = w {
                for (t, r) in &w.share_ratio {
                    let _ = writeln!(out, "zkq_tenant_share_ratio{{tenant=\"{}\"}} {}", escape(t), number(*r));
                }
            }
            let _ = writeln!(out, "# HELP zkq_tenant_wait_seconds Wait from arrival at the worker to the start of the job's batch.\n# TYPE zkq_tenant_wait_seconds histogram");
            for (t, c) in &i.tenants {
                let t = escape(t);
                for (k, b) in self.buckets.iter().enumerate() {
                    let _ = writeln!(out, "zkq_tenant_wait_seconds_bucket{{tenant=\"{t}\",le=\"{}\"}} {}", number(*b), c.wait.counts[k]);
                }
                let _ = writeln!(out, "zkq_tenant_wait_seconds_bucket{{tenant=\"{t}\",le=\"+Inf\"}} {}", c.wait.count);
                let _ = writeln!(out, "zkq_tenant_wait_seconds_sum{{tenant=\"{t}\"}} {}", number(c.wait.sum));
                let _ = writeln!(out, "zkq_tenant_wait_seconds_count{{tenant=\"{t}\"}} {}", c.wait.count);
            }
            let per_tenant = |out: &mut String, name: &str, kind: &str, help: &str, f: &dyn Fn(&TenantCounters) -> f64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (t, c) in &i.tenants {
                    let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {}", escape(t), number(f(c)));
                }
            };
            per_tenant(out, "zkq_tenant_backlog_jobs", "gauge", "Jobs held by the worker and not yet dispatched.", &|c| c.backlog as f64);
            per_tenant(out, "zkq_tenant_served_cost_seconds_total", "counter", "Estimated device-seconds dispatched.", &|c| c.served_cost);
            per_tenant(out, "zkq_tenant_deadline_exceeded_total", "counter", "Jobs failed with deadline_exceeded.", &|c| c.deadline_exceeded as f64);
            per_tenant(out, "zkq_tenant_deliveries_total", "counter", "Deliveries received from the tenant's queues.", &|c| c.deliveries as f64);
            let _ = writeln!(
                out,
                "# HELP zkq_tenant_held_jobs Unacked deliveries held by the worker, by stage (intake, queue, device).\n# TYPE zkq_tenant_held_jobs gauge"
            );
            for (t, c) in &i.tenants {
                let t = escape(t);
                for (stage, n) in [("intake", c.held.intake), ("queue", c.held.queue), ("device", c.held.device)] {
                    let _ = writeln!(out, "zkq_tenant_held_jobs{{tenant=\"{t}\",stage=\"{stage}\"}} {n}");
                }
            }
        });
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Label-value escaping of the text format: backslash, double quote, newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The worker's `/metrics` endpoint appends these families to every scrape
/// (`crate::metrics::start` registers the worker's `fairness_metrics`).
impl crate::metrics::MetricsSource for FairnessMetrics {
    fn render(&self, out: &mut String) {
        FairnessMetrics::render(self, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A small parser of the text format: (name, labels) → value, and family → type.
    fn parse(text: &str) -> (HashMap<String, f64>, HashMap<String, String>) {
        let mut samples = HashMap::new();
        let mut types = HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                types.insert(name.to_owned(), kind.to_owned());
            } else if line.starts_with("# HELP ") {
                assert!(line.split(' ').count() >= 4, "HELP has text: {line}");
            } else {
                let (key, value) = line.rsplit_once(' ').expect("sample: key value");
                let value: f64 = match value {
                    "+Inf" => f64::INFINITY,
                    v => v.parse().unwrap_or_else(|_| panic!("a number in {line:?}")),
                };
                assert!(
                    samples.insert(key.to_owned(), value).is_none(),
                    "duplicate sample {key}"
                );
            }
        }
        (samples, types)
    }

    #[test]
    fn renders_parseable_families_with_figures() {
        let m = FairnessMetrics::new(Duration::from_secs(10), vec![0.1, 1.0]);
        let s = Duration::from_secs;
        m.set_weight("a", 1.0);
        m.set_weight("b\"x", 2.0);
        m.backlog("a", s(0), 3);
        m.backlog("b\"x", s(0), 3);
        for k in 0..30u64 {
            let at = s(1) + Duration::from_millis(k * 100);
            m.served("a", at, 1.0, Duration::from_millis(50));
            m.served("b\"x", at, 2.0, Duration::from_millis(500));
        }
        m.deadline_exceeded("a");
        m.delivered("a");
        m.delivered("a");
        m.held("a", HeldJobs { intake: 4, queue: 2, device: 16 });
        m.refresh(s(10));
        let mut out = String::new();
        m.render(&mut out);
        let (samples, types) = parse(&out);
        for name in FAIRNESS_METRIC_NAMES {
            assert!(types.contains_key(*name), "family {name} has a TYPE line");
        }
        assert_eq!(types["zkq_tenant_wait_seconds"], "histogram");
        assert_eq!(samples["zkq_fairness_gini"], 0.0);
        assert_eq!(samples["zkq_fairness_jain"], 1.0);
        assert!((samples["zkq_fairness_floor_ratio"] - 1.0).abs() < 1e-9);
        assert_eq!(samples["zkq_fairness_backlogged_tenants"], 2.0);
        assert_eq!(samples["zkq_fairness_windows_total"], 1.0);
        assert!((samples["zkq_tenant_share_ratio{tenant=\"a\"}"] - 1.0).abs() < 1e-9);
        assert_eq!(
            samples["zkq_tenant_wait_seconds_bucket{tenant=\"a\",le=\"0.1\"}"],
            30.0
        );
        assert_eq!(
            samples["zkq_tenant_wait_seconds_bucket{tenant=\"b\\\"x\",le=\"0.1\"}"], 0.0,
            "escaped label"
        );
        assert_eq!(
            samples["zkq_tenant_wait_seconds_bucket{tenant=\"b\\\"x\",le=\"1\"}"],
            30.0
        );
        assert_eq!(samples["zkq_tenant_wait_seconds_count{tenant=\"a\"}"], 30.0);
        assert!((samples["zkq_tenant_wait_seconds_sum{tenant=\"a\"}"] - 1.5).abs() < 1e-9);
        assert_eq!(
            samples["zkq_tenant_deadline_exceeded_total{tenant=\"a\"}"],
            1.0
        );
        assert_eq!(samples["zkq_tenant_backlog_jobs{tenant=\"a\"}"], 3.0);
        assert_eq!(samples["zkq_tenant_deliveries_total{tenant=\"a\"}"], 2.0);
        assert_eq!(samples["zkq_tenant_held_jobs{tenant=\"a\",stage=\"intake\"}"], 4.0);
        assert_eq!(samples["zkq_tenant_held_jobs{tenant=\"a\",stage=\"device\"}"], 16.0);
        assert_eq!(samples["zkq_tenant_held_jobs{tenant=\"b\\\"x\",stage=\"queue\"}"], 0.0);
        assert_eq!(
            samples["zkq_tenant_served_cost_seconds_total{tenant=\"b\\\"x\"}"],
            60.0
        );
    }

    #[test]
    fn an_unfair_window_shows_and_no_window_means_no_sample() {
        let m = FairnessMetrics::default();
        let mut out = String::new();
        m.render(&mut out);
        let (samples, _) = parse(&out);
        assert!(
            !samples.contains_key("zkq_fairness_gini"),
            "no figure before a window exists"
        );
        let s = Duration::from_secs;
        m.backlog("a", s(0), 1);
        m.backlog("b", s(0), 1);
        for k in 0..10 {
            m.served("a", s(1 + k), 1.0, Duration::ZERO);
        }
        m.served("b", s(1), 1.0, Duration::ZERO);
        m.refresh(s(30));
        let mut out = String::new();
        m.render(&mut out);
        let (samples, _) = parse(&out);
        assert!(samples["zkq_fairness_gini"] > 0.3);
        assert!(samples["zkq_fairness_floor_ratio"] < 0.3);
        assert!(m.last_window().is_some_and(|w| w.floor_tenant == "b"));
    }
}
