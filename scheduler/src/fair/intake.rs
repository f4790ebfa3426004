//! Weighted intake: the order in which the worker takes up deliveries the broker has already
//! handed it.
//!
//! ## Why
//! The fair queue ([`super::queue`]) decides shares only among the jobs it holds. When the
//! device is the bottleneck it holds a backlog of every tenant and shares follow weights. When
//! the pipeline before it is the bottleneck (the worker's own loop: admission, commits, replies,
//! acks), it holds almost nothing, and a tenant's share is decided by the order in which the
//! worker reads its consumers. `futures::stream::SelectAll` reads ready consumers round-robin,
//! so every backlogged tenant got the same raw share whatever its weight — measured in a
//! fresh-clone CI run on a 2-vCPU Xeon: Gini worst 0.350, the weight-4 tenants waiting longest
//! (p95 21 s against 9 s for weight 1); see `docs/fairness.md`.
//!
//! ## What
//! The worker first moves every delivery that has already arrived into an [`Intake`], then
//! takes them up one at a time in weighted-fair order: highest priority class first, then the
//! tenant with the smallest *intake pass* (deliveries taken / weight — stride scheduling,
//! Waldspurger & Weihl, MIT/LCS/TM-528, 1995, the same rule as the fair queue but counting
//! deliveries, since a job's circuit is not known before its headers are read), its oldest
//! delivery. A tenant that was empty restarts at the class's virtual time (no banked credit),
//! so a quiet tenant's job is among the next two taken up (a tie at the virtual time goes to
//! the older delivery). When the loop keeps up, the intake is empty and changes nothing.
//! Pure: no I/O, unit-tested below.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

/// The order in which received deliveries are taken up (`WorkerConfig::intake_order`, and the
/// simulator's intake model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntakeOrder {
    /// Weighted-fair by tenant ([`Intake::pop`]): the default.
    #[default]
    Weighted,
    /// In the order the consumers yielded them ([`Intake::pop_oldest`]):
    /// `futures::stream::SelectAll` reads ready consumers round-robin, one delivery per tenant
    /// queue in turn whatever the weight. The worker before issue 15; for comparison runs only.
    RoundRobin,
}

/// How many unacked deliveries each tenant's consumer may hold (`WorkerConfig::prefetch_rule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrefetchRule {
    /// The base prefetch × the tenant's weight: the default.
    #[default]
    Weighted,
    /// The base prefetch for every tenant: the worker before issue 15; for comparison runs only.
    Flat,
}

impl PrefetchRule {
    /// The prefetch of a tenant of `weight`, from the `base`.
    pub fn limit(self, base: usize, weight: u32) -> usize {
        match self {
            Self::Weighted => base.max(1).saturating_mul(weight.max(1) as usize),
            Self::Flat => base.max(1),
        }
    }
}

#[derive(Debug)]
struct Source<T> {
    weight: u32,
    pass: f64,
    items: VecDeque<(u64, T)>,
}

#[derive(Debug)]
struct Class<T> {
    virtual_time: f64,
    sources: HashMap<String, Source<T>>,
}

impl<T> Default for Class<T> {
    fn default() -> Self {
        Self { virtual_time: 0.0, sources: HashMap::new() }
    }
}

/// Deliveries received but not yet taken up, per priority class and tenant. See the module docs.
#[derive(Debug)]
pub struct Intake<T> {
    classes: BTreeMap<u8, Class<T>>,
    len: usize,
    seq: u64,
}

impl<T> Default for Intake<T> {
    fn default() -> Self {
        Self { classes: BTreeMap::new(), len: 0, seq: 0 }
    }
}

impl<T> Intake<T> {
    /// An empty intake.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deliveries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Deliveries held for `tenant` (every class).
    pub fn backlog(&self, tenant: &str) -> usize {
        self.classes.values().filter_map(|c| c.sources.get(tenant)).map(|s| s.items.len()).sum()
    }

    /// Adds a delivery of `tenant` (`""`: a source with no tenant, the shared queue) in
    /// priority class `priority`, with the tenant's current `weight` (at least 1).
    pub fn push(&mut self, tenant: &str, weight: u32, priority: u8, item: T) {
        let class = self.classes.entry(priority).or_default();
        let v = class.virtual_time;
        let source = class.sources.entry(tenant.to_owned()).or_insert_with(|| Source { weight: 1, pass: v, items: VecDeque::new() });
        source.weight = weight.max(1);
        if source.items.is_empty() {
            source.pass = source.pass.max(v);
        }
        self.seq += 1;
        source.items.push_back((self.seq, item));
        self.len += 1;
    }

    /// Takes the next delivery: highest class, smallest pass (ties: the older delivery).
    pub fn pop(&mut self) -> Option<T> {
        let class = self.classes.values_mut().rev().find(|c| c.sources.values().any(|s| !s.items.is_empty()))?;
        let (name, _) = class
            .sources
            .iter()
            .filter_map(|(n, s)| s.items.front().map(|(seq, _)| (n, (s.pass, *seq))))
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(a.1 .1.cmp(&b.1 .1)))?;
        let name = name.clone();
        let source = class.sources.get_mut(&name)?;
        let (_, item) = source.items.pop_front()?;
        source.pass += 1.0 / f64::from(source.weight);
        // V: the smallest pass among sources still holding deliveries (the one just served
        // counts: its next delivery is on its way).
        let served = source.pass;
        class.virtual_time = class.sources.values().filter(|s| !s.items.is_empty()).map(|s| s.pass).fold(served, f64::min).max(class.virtual_time);
        self.len -= 1;
        Some(item)
    }

    /// Takes the next delivery in `order`.
    pub fn pop_in(&mut self, order: IntakeOrder) -> Option<T> {
        match order {
            IntakeOrder::Weighted => self.pop(),
            IntakeOrder::RoundRobin => self.pop_oldest(),
        }
    }

    /// Takes the oldest delivery, whatever its class and tenant (the order they were pushed).
    pub fn pop_oldest(&mut self) -> Option<T> {
        let (priority, name) = self
            .classes
            .iter()
            .flat_map(|(p, c)| c.sources.iter().filter_map(move |(n, s)| s.items.front().map(|(seq, _)| (*seq, *p, n))))
            .min_by_key(|(seq, _, _)| *seq)
            .map(|(_, p, n)| (p, n.clone()))?;
        let (_, item) = self.classes.get_mut(&priority)?.sources.get_mut(&name)?.items.pop_front()?;
        self.len -= 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `n` deliveries from an intake where every tenant always has more, and counts them.
    fn shares(weights: &[(&str, u32)], n: usize) -> HashMap<String, usize> {
        let mut intake = Intake::new();
        for (t, w) in weights {
            for _ in 0..n {
                intake.push(t, *w, 0, t.to_string());
            }
        }
        let mut got: HashMap<String, usize> = HashMap::new();
        for _ in 0..n {
            *got.entry(intake.pop().expect("backlogged")).or_default() += 1;
        }
        got
    }

    #[test]
    fn backlogged_tenants_are_taken_up_in_proportion_to_their_weights() {
        let got = shares(&[("a", 1), ("b", 2), ("c", 3), ("d", 4)], 1000);
        for (t, w) in [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)] {
            let want = 1000.0 * w / 10.0;
            assert!((got[t] as f64 - want).abs() <= 1.0, "{t}: {} of 1000, want {want}", got[t]);
        }
    }

    #[test]
    fn round_robin_is_what_equal_weights_give() {
        let got = shares(&[("a", 1), ("b", 1), ("c", 1)], 300);
        assert!(got.values().all(|&n| n == 100), "{got:?}");
    }

    #[test]
    fn a_quiet_tenant_is_taken_up_next_without_banked_credit() {
        let mut intake = Intake::new();
        for _ in 0..100 {
            intake.push("flood", 1, 0, "flood");
        }
        for _ in 0..50 {
            assert_eq!(intake.pop(), Some("flood"));
        }
        intake.push("quiet", 1, 0, "quiet");
        let next: Vec<&str> = (0..2).filter_map(|_| intake.pop()).collect();
        assert!(next.contains(&"quiet"), "the quiet tenant's delivery is among the next two (a tie at V goes to the older delivery): {next:?}");
        // No banked credit: the quiet tenant's next two deliveries alternate with the flood.
        intake.push("quiet", 1, 0, "quiet");
        intake.push("quiet", 1, 0, "quiet");
        let next: Vec<&str> = (0..4).filter_map(|_| intake.pop()).collect();
        assert_eq!(next.iter().filter(|s| **s == "quiet").count(), 2, "{next:?}");
        assert_ne!(next[..2], ["quiet", "quiet"], "{next:?}");
    }

    #[test]
    fn the_comparison_order_takes_deliveries_as_they_arrived() {
        let mut intake = Intake::new();
        for (k, t) in ["a", "b", "a", "c", "b"].iter().enumerate() {
            intake.push(t, if *t == "a" { 4 } else { 1 }, if k == 3 { 9 } else { 0 }, k);
        }
        let order: Vec<usize> = std::iter::from_fn(|| intake.pop_in(IntakeOrder::RoundRobin)).collect();
        assert_eq!(order, [0, 1, 2, 3, 4]);
        assert!(intake.is_empty() && intake.backlog("a") == 0);
    }

    #[test]
    fn higher_classes_first_and_fifo_within_a_tenant() {
        let mut intake = Intake::new();
        intake.push("a", 1, 0, 1);
        intake.push("a", 1, 0, 2);
        intake.push("b", 1, 5, 3);
        assert_eq!(intake.backlog("a"), 2);
        assert_eq!(intake.pop(), Some(3));
        assert_eq!(intake.pop(), Some(1));
        assert_eq!(intake.pop(), Some(2));
        assert_eq!(intake.pop(), None);
        assert!(intake.is_empty());
    }
}
