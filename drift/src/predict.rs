//! Prediction: the shift a change will cause, estimated before it is observed, and the feedback
//! loop that scores those estimates and adjusts the alerting thresholds.
//!
//! The model (`docs/drift.md`, "Prediction"), per change and per [`PREDICTED`] series:
//!
//! 1. **Simulator.** Where the change is one the batch simulator models (worker configuration,
//!    prices, a prover version with a measured device-time model), the caller replays the recent
//!    workload under the old and the new settings and passes the shift between the two runs.
//! 2. **Past effects.** For every earlier change of the same kind whose effect was observed, the
//!    observed shift, and the simulator's estimate where there was one. With at least
//!    [`MIN_HISTORY`] of them:
//!    - with a simulator estimate, the mean error of the simulator on that kind (observed −
//!      simulated) is added to it: the simulator's known bias is corrected;
//!    - without one, the prediction is the mean observed shift of that kind (the best guess of a
//!      model that knows only the kind).
//! 3. **Alert** when the predicted shift's size reaches the threshold of the kind and series
//!    ([`default_threshold`], adjusted by [`adjust_threshold`]).
//! 4. **Outcome.** Once the window after the change has passed, the observed shift (the same
//!    statistic before and after, [`shift`]) classifies the prediction ([`outcome`]); per kind,
//!    precision and recall ([`score`]) move the threshold ([`adjust_threshold`]).
//!
//! Shifts are relative (`after / before − 1`) for costs, times and waits, and absolute
//! (`after − before`) for the failure rate, whose baseline is often zero.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::Series;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new zkq version on a fleet, with the libraries it was built with (`Cargo.lock`).
    ProverVersion,
    /// A fleet's worker configuration: max batch, max wait, device type, devices.
    WorkerConfig,
    /// A policy version or revocation (a tenant's set or the shared one).
    Policy,
    /// A device price row.
    Price,
    /// A shared cost row (broker, database, …).
    SharedCost,
    /// A circuit registration.
    Circuit,
}

impl ChangeKind {
    /// Every kind, in documentation order.
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::ProverVersion,
        ChangeKind::WorkerConfig,
        ChangeKind::Policy,
        ChangeKind::Price,
        ChangeKind::SharedCost,
        ChangeKind::Circuit,
    ];

    /// The name in the database and in reports (`prover_version`, …).
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::ProverVersion => "prover_version",
            ChangeKind::WorkerConfig => "worker_config",
            ChangeKind::Policy => "policy",
            ChangeKind::Price => "price",
            ChangeKind::SharedCost => "shared_cost",
            ChangeKind::Circuit => "circuit",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChangeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            format!("`{s}` is not a change kind (one of {})", names.join(", "))
        })
    }
}

/// The series predictions are made for, fleet-wide: mean cost per proof, the 95th percentile
/// of queue wait, device seconds per proof, and the share of jobs failed.
pub const PREDICTED: [Series; 4] = [Series::CostPerProof, Series::QueueWait, Series::ProveTime, Series::FailureRate];

/// How a series' shift is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// `after / before − 1`.
    Relative,
    /// `after − before`.
    Absolute,
}

/// The scale of `series`' shifts: absolute for the failure rate, relative otherwise.
pub fn scale(series: Series) -> Scale {
    match series {
        Series::FailureRate | Series::FairnessGini | Series::KeyCacheHitRate => Scale::Absolute,
        _ => Scale::Relative,
    }
}

/// The shift from `before` to `after` on `series`' scale; `None` for a relative shift from a
/// baseline that is not positive, or a value that is not finite.
pub fn shift(series: Series, before: f64, after: f64) -> Option<f64> {
    if !before.is_finite() || !after.is_finite() {
        return None;
    }
    match scale(series) {
        Scale::Relative if before > 0.0 => Some(after / before - 1.0),
        Scale::Relative => None,
        Scale::Absolute => Some(after - before),
    }
}

/// The default alerting threshold of a predicted shift: 10 % on cost per proof and prove time
/// (what a FinOps review notices), 25 % on the p95 queue wait (which moves with load alone), one
/// point (0.01) on the failure rate (a quarter of it is the SLO's whole error budget).
pub fn default_threshold(series: Series) -> f64 {
    match series {
        Series::CostPerProof | Series::CostPer1kProofs | Series::ProveTime => 0.10,
        Series::QueueWait => 0.25,
        Series::FailureRate => 0.01,
        Series::FairnessGini | Series::KeyCacheHitRate => 0.05,
    }
}

/// Past effects needed before they count: below this, one odd change would set the next
/// prediction.
pub const MIN_HISTORY: usize = 3;

/// An earlier change of the same kind, as observed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PastEffect {
    /// What the simulator estimated for it, if it did.
    pub simulator_shift: Option<f64>,
    /// What was observed.
    pub observed_shift: f64,
}

/// Which evidence a prediction rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// The simulator's replay alone.
    #[serde(rename = "simulator")]
    Simulator,
    /// Past changes of the same kind alone.
    #[serde(rename = "history")]
    History,
    /// The replay, corrected by the simulator's mean error on past changes of the kind.
    #[serde(rename = "simulator+history")]
    SimulatorHistory,
    /// Neither: no prediction, no alert.
    #[serde(rename = "none")]
    None,
}

impl Method {
    /// The name in the database (`simulator`, `history`, `simulator+history`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Simulator => "simulator",
            Method::History => "history",
            Method::SimulatorHistory => "simulator+history",
            Method::None => "none",
        }
    }
}

/// A prediction for one change and series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The evidence used.
    pub method: Method,
    /// The predicted shift (`None` with [`Method::None`]).
    pub predicted: Option<f64>,
    /// The simulator's shift, when the change was replayed.
    pub simulator: Option<f64>,
    /// The mean observed shift of past changes of the kind (with at least [`MIN_HISTORY`]).
    pub history: Option<f64>,
    /// How many past changes of the kind were observed.
    pub history_n: usize,
    /// The simulator's mean error on past changes of the kind (observed − simulated), when at
    /// least [`MIN_HISTORY`] of them had both.
    pub bias: Option<f64>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<(f64, usize)> {
    let (sum, n) = values.filter(|v| v.is_finite()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| (sum / n as f64, n))
}

/// Combines the simulator's shift (if the change was replayed) with past effects of the same
/// kind (see the module docs).
pub fn estimate(simulator: Option<f64>, past: &[PastEffect]) -> Estimate {
    let simulator = simulator.filter(|s| s.is_finite());
    let history = mean(past.iter().map(|p| p.observed_shift)).filter(|&(_, n)| n >= MIN_HISTORY);
    let bias = mean(past.iter().filter_map(|p| p.simulator_shift.map(|s| p.observed_shift - s))).filter(|&(_, n)| n >= MIN_HISTORY);
    let history_n = past.iter().filter(|p| p.observed_shift.is_finite()).count();
    let (method, predicted) = match (simulator, bias, history) {
        (Some(s), Some((b, _)), _) => (Method::SimulatorHistory, Some(s + b)),
        (Some(s), None, _) => (Method::Simulator, Some(s)),
        (None, _, Some((h, _))) => (Method::History, Some(h)),
        (None, _, None) => (Method::None, None),
    };
    Estimate { method, predicted, simulator, history: history.map(|h| h.0), history_n, bias: bias.map(|b| b.0) }
}

/// Whether a prediction raises a preemptive alert: its size reaches the threshold.
pub fn should_alert(predicted: Option<f64>, threshold: f64) -> bool {
    predicted.is_some_and(|p| p.abs() >= threshold)
}

/// How a prediction turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Alerted, and the series moved past the threshold the predicted way.
    TruePositive,
    /// Alerted, and it did not (or moved the other way).
    FalsePositive,
    /// Not alerted, and it moved past the threshold.
    FalseNegative,
    /// Not alerted, and it did not move past the threshold.
    TrueNegative,
    /// Too few observations before or after the change to say.
    NoData,
}

impl Outcome {
    /// The name in the database.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::TruePositive => "true_positive",
            Outcome::FalsePositive => "false_positive",
            Outcome::FalseNegative => "false_negative",
            Outcome::TrueNegative => "true_negative",
            Outcome::NoData => "no_data",
        }
    }

    /// From its database name.
    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::TruePositive, Outcome::FalsePositive, Outcome::FalseNegative, Outcome::TrueNegative, Outcome::NoData]
            .into_iter()
            .find(|o| o.name() == s)
    }
}

/// Classifies a prediction once its effect was observed (`observed`: `None` without enough
/// data). The threshold is the one the prediction was alerted against.
pub fn outcome(alerted: bool, predicted: Option<f64>, observed: Option<f64>, threshold: f64) -> Outcome {
    let Some(observed) = observed else { return Outcome::NoData };
    let moved = observed.abs() >= threshold;
    let same_way = predicted.is_some_and(|p| p.signum() == observed.signum());
    match (alerted, moved) {
        (true, true) if same_way => Outcome::TruePositive,
        (true, _) => Outcome::FalsePositive,
        (false, true) => Outcome::FalseNegative,
        (false, false) => Outcome::TrueNegative,
    }
}

/// The outcomes of one change kind's predictions on one series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Score {
    /// Alerts that held.
    pub true_positive: usize,
    /// Alerts that did not.
    pub false_positive: usize,
    /// Shifts not alerted.
    pub false_negative: usize,
    /// Quiet changes not alerted.
    pub true_negative: usize,
    /// Predictions without enough data to score.
    pub no_data: usize,
}

impl Score {
    /// Adds one outcome.
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::TruePositive => self.true_positive += 1,
            Outcome::FalsePositive => self.false_positive += 1,
            Outcome::FalseNegative => self.false_negative += 1,
            Outcome::TrueNegative => self.true_negative += 1,
            Outcome::NoData => self.no_data += 1,
        }
    }

    /// Scored outcomes (all but no-data).
    pub fn scored(&self) -> usize {
        self.true_positive + self.false_positive + self.false_negative + self.true_negative
    }

    /// TP / (TP + FP); `None` without an alert.
    pub fn precision(&self) -> Option<f64> {
        let alerts = self.true_positive + self.false_positive;
        (alerts > 0).then(|| self.true_positive as f64 / alerts as f64)
    }

    /// TP / (TP + FN); `None` without a shift.
    pub fn recall(&self) -> Option<f64> {
        let shifts = self.true_positive + self.false_negative;
        (shifts > 0).then(|| self.true_positive as f64 / shifts as f64)
    }
}

/// Scores per change kind and series from `(kind, series, outcome)` triples.
pub fn score<'a>(outcomes: impl IntoIterator<Item = (ChangeKind, &'a str, Outcome)>) -> BTreeMap<(ChangeKind, String), Score> {
    let mut out: BTreeMap<(ChangeKind, String), Score> = BTreeMap::new();
    for (kind, series, o) in outcomes {
        out.entry((kind, series.to_owned())).or_default().add(o);
    }
    out
}

/// How the feedback loop moves a threshold. Defaults: target precision 0.8 and recall 0.8,
/// at least 5 scored outcomes, steps ×1.25 up and ×0.8 down, kept within ¼ to 4 × the default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThresholdRule {
    /// Below this precision, the threshold rises (fewer, surer alerts).
    pub target_precision: f64,
    /// Below this recall (with precision at target), the threshold falls.
    pub target_recall: f64,
    /// Scored outcomes needed before the threshold moves.
    pub min_outcomes: usize,
    /// Factor up.
    pub step_up: f64,
    /// Factor down.
    pub step_down: f64,
    /// Lowest threshold, as a multiple of the default.
    pub floor: f64,
    /// Highest threshold, as a multiple of the default.
    pub ceiling: f64,
}

impl Default for ThresholdRule {
    fn default() -> Self {
        Self { target_precision: 0.8, target_recall: 0.8, min_outcomes: 5, step_up: 1.25, step_down: 0.8, floor: 0.25, ceiling: 4.0 }
    }
}

/// The threshold after scoring: `Some((new, reason))` when it moves. Precision comes first:
/// an alert that cries wolf costs attention every time; a missed shift is still caught by the
/// detectors once it is observed.
pub fn adjust_threshold(current: f64, default: f64, score: &Score, rule: &ThresholdRule) -> Option<(f64, String)> {
    if score.scored() < rule.min_outcomes {
        return None;
    }
    let (lo, hi) = (default * rule.floor, default * rule.ceiling);
    let precision = score.precision();
    let recall = score.recall();
    let (target, why) = match (precision, recall) {
        (Some(p), _) if p < rule.target_precision => (
            current * rule.step_up,
            format!("precision {p:.2} below {:.2} over {} outcomes: raised", rule.target_precision, score.scored()),
        ),
        (p, Some(r)) if r < rule.target_recall && p.is_none_or(|p| p >= rule.target_precision) => (
            current * rule.step_down,
            format!("recall {r:.2} below {:.2} over {} outcomes: lowered", rule.target_recall, score.scored()),
        ),
        _ => return None,
    };
    let new = target.clamp(lo, hi);
    ((new - current).abs() > 1e-12).then_some((new, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past(sim: Option<f64>, observed: f64) -> PastEffect {
        PastEffect { simulator_shift: sim, observed_shift: observed }
    }

    #[test]
    fn shifts_are_relative_for_costs_and_absolute_for_failures() {
        assert_eq!(shift(Series::CostPerProof, 2.0, 2.5), Some(0.25));
        assert_eq!(shift(Series::QueueWait, 0.0, 1.0), None);
        assert_eq!(shift(Series::FailureRate, 0.0, 0.02), Some(0.02));
        assert_eq!(shift(Series::ProveTime, f64::NAN, 1.0), None);
    }

    #[test]
    fn the_simulator_alone_until_history_knows_its_bias() {
        // Two past effects: too few for history.
        let e = estimate(Some(0.2), &[past(Some(0.1), 0.15), past(None, 0.3)]);
        assert_eq!((e.method, e.predicted, e.history, e.bias, e.history_n), (Method::Simulator, Some(0.2), None, None, 2));
        // Three with the simulator's estimate: errors 0.05, 0.10, −0.03 → bias 0.04.
        let with = [past(Some(0.1), 0.15), past(Some(0.2), 0.3), past(Some(0.0), -0.03)];
        let e = estimate(Some(0.2), &with);
        assert_eq!(e.method, Method::SimulatorHistory);
        assert!((e.bias.unwrap() - 0.04).abs() < 1e-12);
        assert!((e.predicted.unwrap() - 0.24).abs() < 1e-12);
        assert!((e.history.unwrap() - 0.14).abs() < 1e-12);
    }

    #[test]
    fn history_alone_without_a_replay_and_nothing_without_either() {
        let e = estimate(None, &[past(None, 0.1), past(None, 0.2), past(None, 0.6)]);
        assert_eq!(e.method, Method::History);
        assert!((e.predicted.unwrap() - 0.3).abs() < 1e-12);
        let e = estimate(None, &[past(None, 0.1)]);
        assert_eq!((e.method, e.predicted), (Method::None, None));
        assert!(!should_alert(e.predicted, 0.1));
        assert!(should_alert(Some(-0.1), 0.1));
        assert!(!should_alert(Some(0.099), 0.1));
    }

    #[test]
    fn outcomes_need_the_right_size_and_direction() {
        assert_eq!(outcome(true, Some(0.2), Some(0.15), 0.1), Outcome::TruePositive);
        assert_eq!(outcome(true, Some(0.2), Some(-0.15), 0.1), Outcome::FalsePositive);
        assert_eq!(outcome(true, Some(0.2), Some(0.05), 0.1), Outcome::FalsePositive);
        assert_eq!(outcome(false, Some(0.05), Some(0.3), 0.1), Outcome::FalseNegative);
        assert_eq!(outcome(false, None, Some(0.01), 0.1), Outcome::TrueNegative);
        assert_eq!(outcome(true, Some(0.2), None, 0.1), Outcome::NoData);
        for o in [Outcome::TruePositive, Outcome::NoData, Outcome::FalseNegative] {
            assert_eq!(Outcome::parse(o.name()), Some(o));
        }
    }

    #[test]
    fn scores_per_kind_and_series() {
        use Outcome::*;
        let s = score([
            (ChangeKind::Price, "cost_per_proof", TruePositive),
            (ChangeKind::Price, "cost_per_proof", TruePositive),
            (ChangeKind::Price, "cost_per_proof", FalsePositive),
            (ChangeKind::Price, "cost_per_proof", FalseNegative),
            (ChangeKind::Price, "cost_per_proof", NoData),
            (ChangeKind::Policy, "queue_wait", TrueNegative),
        ]);
        let p = s[&(ChangeKind::Price, "cost_per_proof".to_owned())];
        assert_eq!((p.scored(), p.no_data), (4, 1));
        assert!((p.precision().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((p.recall().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let q = s[&(ChangeKind::Policy, "queue_wait".to_owned())];
        assert_eq!((q.precision(), q.recall()), (None, None));
    }

    #[test]
    fn thresholds_rise_on_false_alarms_fall_on_misses_and_stay_in_bounds() {
        let rule = ThresholdRule::default();
        let noisy = Score { true_positive: 2, false_positive: 3, ..Score::default() };
        let (t, why) = adjust_threshold(0.10, 0.10, &noisy, &rule).unwrap();
        assert!((t - 0.125).abs() < 1e-12, "{t}");
        assert!(why.contains("precision 0.40"), "{why}");
        let blind = Score { true_positive: 4, false_negative: 4, ..Score::default() };
        let (t, _) = adjust_threshold(0.10, 0.10, &blind, &rule).unwrap();
        assert!((t - 0.08).abs() < 1e-12);
        // At the floor, a lower threshold is not possible: no change.
        assert_eq!(adjust_threshold(0.025, 0.10, &blind, &rule), None);
        assert!((adjust_threshold(0.39, 0.10, &noisy, &rule).unwrap().0 - 0.40).abs() < 1e-12);
        // Too few outcomes, or on target: no change.
        let few = Score { false_positive: 4, ..Score::default() };
        assert_eq!(adjust_threshold(0.10, 0.10, &few, &rule), None);
        let good = Score { true_positive: 5, true_negative: 5, ..Score::default() };
        assert_eq!(adjust_threshold(0.10, 0.10, &good, &rule), None);
    }

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_named() {
        for k in ChangeKind::ALL {
            assert_eq!(k.name().parse::<ChangeKind>(), Ok(k));
        }
        let e = "deploy".parse::<ChangeKind>().unwrap_err();
        assert!(e.contains("`deploy`") && e.contains("prover_version"), "{e}");
    }
}
