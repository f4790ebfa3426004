//! The simulator's model of the worker's intake stage: how a job gets from its tenant's broker
//! queue into the fair queue (issue 15, `docs/fairness.md`).
//!
//! The broker pushes a tenant's messages to the worker while the tenant has fewer unacked
//! deliveries than its prefetch ([`PrefetchRule`]), at most [`IntakeModel::per_consumer_per_s`]
//! a second per consumer. The worker's single loop takes the received deliveries up one at a
//! time ([`IntakeModel::rate_per_s`]: parse, admission, push to the fair queue) in an
//! [`IntakeOrder`]; after each finished batch the loop spends [`IntakeModel::batch_overhead`]
//! on the commit, replies, confirms and acks, taking nothing up, and the acks free their
//! prefetch slots [`IntakeModel::ack_latency`] later. The default is the device-bound view the
//! simulator had before: an instant loop, with the worker's weighted order and prefetch.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

pub use crate::fair::intake::{IntakeOrder, PrefetchRule};
use crate::fair::intake::Intake;

/// The intake stage. [`Default`]: an instant loop with the worker's order and prefetch rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntakeModel {
    /// Deliveries the worker's loop takes up per second, all consumers together; `None`: as
    /// many as arrive (the loop is never the bottleneck). Default `None`.
    pub rate_per_s: Option<f64>,
    /// Most deliveries per second the broker pushes to one consumer; `None`: no limit.
    /// Default `None`.
    pub per_consumer_per_s: Option<f64>,
    /// Loop time per finished batch (commit, replies, confirms, acks) during which no delivery
    /// is taken up. Default zero.
    pub batch_overhead: Duration,
    /// From the worker's acks to the broker freeing their prefetch slots. Default zero.
    pub ack_latency: Duration,
    /// Order of the received deliveries. Default [`IntakeOrder::Weighted`]; the simulator's
    /// [`IntakeOrder::RoundRobin`] serves the tenants' consumers in turn, as `SelectAll` does.
    pub order: IntakeOrder,
    /// Prefetch per tenant. Default [`PrefetchRule::Weighted`].
    pub prefetch: PrefetchRule,
}

impl Default for IntakeModel {
    fn default() -> Self {
        Self {
            rate_per_s: None,
            per_consumer_per_s: None,
            batch_overhead: Duration::ZERO,
            ack_latency: Duration::ZERO,
            order: IntakeOrder::Weighted,
            prefetch: PrefetchRule::Weighted,
        }
    }
}

impl IntakeModel {
    /// Checks the rates (finite and positive). The error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("rate_per_s", self.rate_per_s), ("per_consumer_per_s", self.per_consumer_per_s)] {
            if v.is_some_and(|v| !v.is_finite() || v <= 0.0) {
                return Err(format!("intake {name} must be a positive number"));
            }
        }
        Ok(())
    }

    /// Loop time to take up one delivery.
    pub(super) fn handle_time(&self) -> Duration {
        self.rate_per_s.map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r))
    }

    /// Gap between two deliveries to one consumer.
    pub(super) fn consumer_gap(&self) -> Duration {
        self.per_consumer_per_s.map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r))
    }
}

/// Deliveries received by the simulated worker and not yet taken up (job indices), in the
/// configured order. Tenants are indices into the trace's tenant list.
pub(super) enum Received {
    /// The worker's own [`Intake`], keyed by tenant name.
    Weighted { intake: Intake<usize>, names: Vec<String>, weights: Vec<u32> },
    /// Per-tenant FIFOs served in turn from a cursor.
    RoundRobin { fifos: Vec<VecDeque<(u8, usize)>>, cursor: usize, len: usize },
}

impl Received {
    pub(super) fn new(order: IntakeOrder, names: Vec<String>, weights: Vec<u32>) -> Self {
        match order {
            IntakeOrder::Weighted => Self::Weighted { intake: Intake::new(), names, weights },
            IntakeOrder::RoundRobin => Self::RoundRobin { fifos: vec![VecDeque::new(); names.len()], cursor: 0, len: 0 },
        }
    }

    pub(super) fn push(&mut self, tenant: usize, priority: u8, job: usize) {
        match self {
            Self::Weighted { intake, names, weights } => intake.push(&names[tenant], weights[tenant], priority, job),
            Self::RoundRobin { fifos, len, .. } => {
                fifos[tenant].push_back((priority, job));
                *len += 1;
            }
        }
    }

    pub(super) fn pop(&mut self) -> Option<usize> {
        match self {
            Self::Weighted { intake, .. } => intake.pop(),
            Self::RoundRobin { fifos, cursor, len } => {
                let n = fifos.len();
                let k = (0..n).map(|i| (*cursor + i) % n).find(|&k| !fifos[k].is_empty())?;
                *cursor = (k + 1) % n;
                *len -= 1;
                fifos[k].pop_front().map(|(_, job)| job)
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        match self {
            Self::Weighted { intake, .. } => intake.is_empty(),
            Self::RoundRobin { len, .. } => *len == 0,
        }
    }

    pub(super) fn backlog(&self, tenant: usize) -> usize {
        match self {
            Self::Weighted { intake, names, .. } => intake.backlog(&names[tenant]),
            Self::RoundRobin { fifos, .. } => fifos[tenant].len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_takes_one_per_tenant_in_turn_and_weighted_follows_weights() {
        let names = vec!["a".to_owned(), "b".to_owned()];
        for (order, want_a) in [(IntakeOrder::RoundRobin, 50), (IntakeOrder::Weighted, 25)] {
            let mut r = Received::new(order, names.clone(), vec![1, 3]);
            for j in 0..200 {
                r.push(j % 2, 0, j);
            }
            let a = (0..100).filter_map(|_| r.pop()).filter(|j| j % 2 == 0).count();
            assert!(a.abs_diff(want_a) <= 1, "{order:?}: tenant a got {a} of 100, want {want_a}");
            assert_eq!(r.backlog(0) + r.backlog(1), 100);
        }
    }

    #[test]
    fn prefetch_rules_and_rates_are_checked() {
        assert_eq!(PrefetchRule::Weighted.limit(64, 3), 192);
        assert_eq!(PrefetchRule::Flat.limit(64, 3), 64);
        assert!(IntakeModel { rate_per_s: Some(0.0), ..Default::default() }.validate().expect_err("a zero rate is refused").contains("rate_per_s"));
        assert!(IntakeModel { per_consumer_per_s: Some(f64::NAN), ..Default::default() }.validate().is_err());
        assert!(IntakeModel::default().validate().is_ok());
    }
}
