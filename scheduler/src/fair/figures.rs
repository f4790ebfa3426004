//! Fairness figures: Gini and Jain indices of weight-normalised service, each backlogged
//! tenant's share of its weighted share (the floor), and wait percentiles — computed per
//! window **over the tenants that stayed backlogged for the whole window** (an idle tenant is
//! not owed service; Jain, Chiu & Hawe, DEC-TR-301, 1984, for the index; the Gini mean
//! absolute difference over `2 n² mean`).
//!
//! [`FairnessLog`] records what the scheduler did — backlog changes and service (cost charged,
//! per tenant) — and [`FairnessLog::window`] turns a time window of it into
//! [`WindowFigures`]. The simulator, the integration test and the worker's metrics all use it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::queue::Time;

/// Gini index of `xs` (0: equal; (n−1)/n: one holds everything). 0 for an empty or all-zero set.
pub fn gini(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.is_empty() || mean <= 0.0 {
        return 0.0;
    }
    let mut sum = 0.0;
    for a in xs {
        for b in xs {
            sum += (a - b).abs();
        }
    }
    sum / (2.0 * n * n * mean)
}

/// Jain's index of `xs`: `(Σx)² / (n Σx²)`, from 1/n (one holds everything) to 1 (equal).
/// 1 for an empty or all-zero set.
pub fn jain(xs: &[f64]) -> f64 {
    let sum: f64 = xs.iter().sum();
    let sq: f64 = xs.iter().map(|x| x * x).sum();
    if xs.is_empty() || sq <= 0.0 {
        return 1.0;
    }
    sum * sum / (xs.len() as f64 * sq)
}

/// The `p`-th percentile (0–100) by nearest rank of unsorted `xs`; `None` when empty.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

/// Figures of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowFigures {
    /// Window start, seconds since the origin.
    pub start_s: f64,
    /// Window end, seconds.
    pub end_s: f64,
    /// Tenants backlogged throughout.
    pub backlogged: usize,
    /// Gini of weight-normalised service over them.
    pub gini: f64,
    /// Jain's index of the same.
    pub jain: f64,
    /// The lowest service / weighted share among them.
    pub floor: f64,
    /// The tenant at the floor.
    pub floor_tenant: String,
    /// Per tenant: service / weighted share.
    pub share_ratio: BTreeMap<String, f64>,
}

/// What the scheduler did, for fairness figures.
#[derive(Debug, Clone, Default)]
pub struct FairnessLog {
    weights: HashMap<String, f64>,
    /// Per tenant: (instant, jobs waiting after the change), in time order.
    backlog: HashMap<String, Vec<(Time, usize)>>,
    /// (instant, tenant, cost), in time order.
    served: Vec<(Time, String, f64)>,
}

impl FairnessLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a tenant's weight.
    pub fn set_weight(&mut self, tenant: &str, weight: f64) {
        self.weights
            .insert(tenant.to_owned(), weight.max(f64::MIN_POSITIVE));
    }

    /// Records that `tenant` has `waiting` jobs from `now` on.
    pub fn backlog(&mut self, tenant: &str, now: Time, waiting: usize) {
        let v = self.backlog.entry(tenant.to_owned()).or_default();
        if v.last().is_some_and(|(_, w)| *w == waiting) {
            return;
        }
        v.push((now, waiting));
    }

    /// Records service: one of `tenant`'s jobs, charged `cost`, started at `now`.
    pub fn served(&mut self, tenant: &str, now: Time, cost: f64) {
        self.served.push((now, tenant.to_owned(), cost));
    }

    /// Forgets everything before `before` (keeps each tenant's backlog state at `before`).
    pub fn prune(&mut self, before: Time) {
        self.served.retain(|(t, _, _)| *t >= before);
        for v in self.backlog.values_mut() {
            let keep_from = v.iter().rposition(|(t, _)| *t <= before).unwrap_or(0);
            v.drain(..keep_from);
        }
        self.backlog.retain(|_, v| !(v.len() == 1 && v[0].1 == 0));
    }

    /// Whether `tenant` had at least one job waiting at every instant of `[start, end)`.
    pub fn backlogged_throughout(&self, tenant: &str, start: Time, end: Time) -> bool {
        let Some(v) = self.backlog.get(tenant) else {
            return false;
        };
        let at_start = v
            .iter()
            .take_while(|(t, _)| *t <= start)
            .last()
            .map_or(0, |(_, w)| *w);
        at_start > 0
            && v.iter()
                .filter(|(t, _)| *t > start && *t < end)
                .all(|(_, w)| *w > 0)
    }

    /// The figures of `[start, end)`; `None` when fewer than two tenants stayed backlogged or
    /// nothing was served.
    pub fn window(&self, start: Time, end: Time) -> Option<WindowFigures> {
        let mut tenants: Vec<&String> = self
            .backlog
            .keys()
            .filter(|t| self.backlogged_throughout(t, start, end))
            .collect();
        tenants.sort();
        if tenants.len() < 2 {
            return None;
        }
        let mut service: HashMap<&str, f64> = tenants.iter().map(|t| (t.as_str(), 0.0)).collect();
        for (t, tenant, cost) in &self.served {
            if *t >= start && *t < end {
                if let Some(s) = service.get_mut(tenant.as_str()) {
                    *s += cost;
                }
            }
        }
        let total: f64 = service.values().sum();
        if total <= 0.0 {
            return None;
        }
        let weight = |t: &str| self.weights.get(t).copied().unwrap_or(1.0);
        let weight_sum: f64 = tenants.iter().map(|t| weight(t)).sum();
        let normalised: Vec<f64> = tenants
            .iter()
            .map(|t| service[t.as_str()] / weight(t))
            .collect();
        let mut share_ratio = BTreeMap::new();
        let (mut floor, mut floor_tenant) = (f64::INFINITY, String::new());
        for t in &tenants {
            let share = total * weight(t) / weight_sum;
            let ratio = service[t.as_str()] / share;
            if ratio < floor {
                floor = ratio;
                floor_tenant = (*t).clone();
            }
            share_ratio.insert((*t).clone(), ratio);
        }
        Some(WindowFigures {
            start_s: start.as_secs_f64(),
            end_s: end.as_secs_f64(),
            backlogged: tenants.len(),
            gini: gini(&normalised),
            jain: jain(&normalised),
            floor,
            floor_tenant,
            share_ratio,
        })
    }

    /// Consecutive windows of `length` from `start` to `end`.
    pub fn windows(&self, start: Time, end: Time, length: Time) -> Vec<WindowFigures> {
        let mut out = Vec::new();
        if length.is_zero() {
            return out;
        }
        let mut a = start;
        while a + length <= end {
            if let Some(w) = self.window(a, a + length) {
                out.push(w);
            }
            a += length;
        }
        out
    }
}

/// Worst and mean of a set of windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairnessSummary {
    /// Windows with at least two backlogged tenants.
    pub windows: usize,
    /// Largest Gini.
    pub gini_worst: f64,
    /// Mean Gini.
    pub gini_mean: f64,
    /// Smallest Jain.
    pub jain_worst: f64,
    /// Mean Jain.
    pub jain_mean: f64,
    /// Smallest floor (service / weighted share).
    pub floor_worst: f64,
    /// Mean floor.
    pub floor_mean: f64,
}

impl FairnessSummary {
    /// Summarises windows; `None` when there are none.
    pub fn of(windows: &[WindowFigures]) -> Option<Self> {
        if windows.is_empty() {
            return None;
        }
        let n = windows.len() as f64;
        let fold = |f: fn(&WindowFigures) -> f64| windows.iter().map(f).collect::<Vec<f64>>();
        let (g, j, fl) = (fold(|w| w.gini), fold(|w| w.jain), fold(|w| w.floor));
        Some(Self {
            windows: windows.len(),
            gini_worst: g.iter().copied().fold(0.0, f64::max),
            gini_mean: g.iter().sum::<f64>() / n,
            jain_worst: j.iter().copied().fold(1.0, f64::min),
            jain_mean: j.iter().sum::<f64>() / n,
            floor_worst: fl.iter().copied().fold(f64::INFINITY, f64::min),
            floor_mean: fl.iter().sum::<f64>() / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn indices_match_worked_values() {
        // research/ops-and-reliability.md §4: worked values.
        assert!(close(gini(&[0.6, 0.4]), 0.100) && close(jain(&[0.6, 0.4]), 0.962));
        assert!(
            close(gini(&[1.0, 1.0, 1.0, 0.7]), 0.061) && close(jain(&[1.0, 1.0, 1.0, 0.7]), 0.981)
        );
        let starved: Vec<f64> = (0..10).map(|i| if i == 0 { 0.0 } else { 1.0 }).collect();
        assert!(close(gini(&starved), 0.100) && close(jain(&starved), 0.900));
        assert_eq!((gini(&[2.0; 5]), jain(&[2.0; 5])), (0.0, 1.0));
        assert_eq!((gini(&[]), jain(&[])), (0.0, 1.0));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 50.0), Some(50.0));
        assert_eq!(percentile(&xs, 95.0), Some(95.0));
        assert_eq!(percentile(&[3.0], 95.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn windows_count_only_tenants_backlogged_throughout() {
        let s = Duration::from_secs;
        let mut log = FairnessLog::new();
        log.set_weight("a", 1.0);
        log.set_weight("b", 3.0);
        log.set_weight("idle", 1.0);
        log.backlog("a", s(0), 5);
        log.backlog("b", s(0), 5);
        log.backlog("idle", s(0), 1);
        log.backlog("idle", s(1), 0);
        for i in 0..10 {
            log.served("a", s(2) + Duration::from_millis(i * 10), 1.0);
            for k in 0..3 {
                log.served("b", s(2) + Duration::from_millis(i * 10 + k), 1.0);
            }
        }
        let w = log.window(s(2), s(3)).expect("two backlogged tenants");
        assert_eq!(w.backlogged, 2, "the idle tenant is not owed service");
        assert!(
            close(w.gini, 0.0) && close(w.jain, 1.0) && close(w.floor, 1.0),
            "{w:?}"
        );
        log.served("b", s(2) + Duration::from_millis(500), 20.0);
        let w = log.window(s(2), s(3)).expect("window");
        assert!(w.floor < 0.8 && w.floor_tenant == "a", "{w:?}");
        assert!(log.window(s(0), s(2)).is_none(), "no service, no figures");
        assert_eq!(
            log.windows(s(0), s(4), s(1)).len(),
            1,
            "only the window with service counts"
        );
        log.prune(s(2));
        assert!(log.backlogged_throughout("a", s(2), s(3)));
        assert!(!log.backlogged_throughout("idle", s(2), s(3)));
    }
}
