//! The series zkq records and each one's default detectors.
//!
//! Every series is kept per scope (the dimensions in [`Series::dimensions`]), one detector set
//! per scope: a cost shift on one circuit must not be averaged away by the others. The defaults
//! follow the data's shape: costs and times are continuous (CUSUM for sudden shifts, Page-Hinkley
//! or EWMA as a second opinion), times and waits are right-skewed (monitored as ln(1 + x)),
//! failures and cache hits are 0/1 per event (ADWIN, whose bound is for values in [0, 1]).

use serde::{Deserialize, Serialize};

use crate::detector::{Alarm, Detector, DetectorConfig};
use crate::{AdwinConfig, CusumConfig, DriftError, EwmaConfig, PageHinkleyConfig};

/// A dimension a series is kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The tenant that asked for the proofs.
    Tenant,
    /// The circuit proved.
    Circuit,
    /// The device (GPU, or the CPU backend) that proved.
    Device,
}

/// A series zkq records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Series {
    /// Cost of one proof (per job, from the cost rows), per tenant and circuit. Default: CUSUM
    /// (k 0.5, h 10) and Page-Hinkley (δ 0.5, λ 12), both directions.
    CostPerProof,
    /// Cost per 1,000 proofs (per batch or per hour), per tenant and circuit. Default: CUSUM.
    CostPer1kProofs,
    /// Prove time of a batch, per circuit and device, monitored as ln(1 + seconds). Default:
    /// CUSUM and EWMA (λ 0.05, L 4.4).
    ProveTime,
    /// Queue wait of a job, per tenant, monitored as ln(1 + seconds). Default: EWMA and
    /// Page-Hinkley.
    QueueWait,
    /// Failure indicator per job (1 failed, 0 proved), per tenant, circuit and device. Default:
    /// ADWIN (δ 0.002, clock 32).
    FailureRate,
    /// The fairness Gini coefficient of device time across tenants (per window; in [0, 1]).
    /// Default: EWMA.
    FairnessGini,
    /// Key-cache hit indicator per batch (1 hit, 0 load), per device. Default: ADWIN.
    KeyCacheHitRate,
}

impl Series {
    /// Every series, in documentation order.
    pub const ALL: [Series; 7] = [
        Series::CostPerProof,
        Series::CostPer1kProofs,
        Series::ProveTime,
        Series::QueueWait,
        Series::FailureRate,
        Series::FairnessGini,
        Series::KeyCacheHitRate,
    ];

    /// The series' name in reports, alerts and JSON (`cost_per_proof`, …).
    pub fn name(self) -> &'static str {
        match self {
            Series::CostPerProof => "cost_per_proof",
            Series::CostPer1kProofs => "cost_per_1k_proofs",
            Series::ProveTime => "prove_time",
            Series::QueueWait => "queue_wait",
            Series::FailureRate => "failure_rate",
            Series::FairnessGini => "fairness_gini",
            Series::KeyCacheHitRate => "key_cache_hit_rate",
        }
    }

    /// The alert a change in this series raises (`DriftCostPerProof`, …): its playbook is
    /// `docs/playbooks/<alert>.md`.
    pub fn alert_name(self) -> &'static str {
        match self {
            Series::CostPerProof => "DriftCostPerProof",
            Series::CostPer1kProofs => "DriftCostPer1kProofs",
            Series::ProveTime => "DriftProveTime",
            Series::QueueWait => "DriftQueueWait",
            Series::FailureRate => "DriftFailureRate",
            Series::FairnessGini => "DriftFairnessGini",
            Series::KeyCacheHitRate => "DriftKeyCacheHitRate",
        }
    }

    /// The dimensions the series is kept per.
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension::*;
        match self {
            Series::CostPerProof | Series::CostPer1kProofs => &[Tenant, Circuit],
            Series::ProveTime => &[Circuit, Device],
            Series::QueueWait => &[Tenant],
            Series::FailureRate => &[Tenant, Circuit, Device],
            Series::FairnessGini => &[],
            Series::KeyCacheHitRate => &[Device],
        }
    }

    /// The documented defaults (see each variant).
    pub fn default_config(self) -> SeriesConfig {
        let cusum = DetectorConfig::Cusum(CusumConfig::default());
        let ph = DetectorConfig::PageHinkley(PageHinkleyConfig::default());
        let ewma = DetectorConfig::Ewma(EwmaConfig::default());
        let adwin = DetectorConfig::Adwin(AdwinConfig::default());
        let (transform, detectors) = match self {
            Series::CostPerProof => (Transform::Identity, vec![cusum, ph]),
            Series::CostPer1kProofs => (Transform::Identity, vec![cusum]),
            Series::ProveTime => (Transform::Log1p, vec![cusum, ewma]),
            Series::QueueWait => (Transform::Log1p, vec![ewma, ph]),
            Series::FailureRate | Series::KeyCacheHitRate => (Transform::Identity, vec![adwin]),
            Series::FairnessGini => (Transform::Identity, vec![ewma]),
        };
        SeriesConfig { transform, detectors }
    }
}

/// How values are transformed before the detectors see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// As recorded.
    Identity,
    /// ln(1 + x): right-skewed non-negative data (times, waits); values ≤ −1 are skipped.
    Log1p,
}

impl Transform {
    /// The transformed value; `None` when it is not finite (the value is skipped).
    pub fn apply(self, x: f64) -> Option<f64> {
        let y = match self {
            Transform::Identity => x,
            Transform::Log1p => x.ln_1p(),
        };
        y.is_finite().then_some(y)
    }
}

/// What monitors one series: a transform and the detectors (each alarms on its own). Tunable;
/// [`Series::default_config`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesConfig {
    /// Applied to each value first.
    pub transform: Transform,
    /// The detectors, each fed every value.
    pub detectors: Vec<DetectorConfig>,
}

/// A change found by a [`Monitor`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The index of the value (0-based, in the order pushed) that raised the alarm.
    pub index: usize,
    /// The detector's name.
    pub detector: &'static str,
    /// The alarm.
    pub alarm: Alarm,
}

/// A [`SeriesConfig`]'s detectors running over one series (one scope).
pub struct Monitor {
    transform: Transform,
    detectors: Vec<Box<dyn Detector + Send>>,
    index: usize,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.detectors.iter().map(|d| d.name()).collect();
        f.debug_struct("Monitor")
            .field("transform", &self.transform)
            .field("detectors", &names)
            .finish()
    }
}

impl Monitor {
    /// Fresh detectors for `config`; an error names a parameter out of range.
    pub fn new(config: &SeriesConfig) -> Result<Self, DriftError> {
        let detectors = config
            .detectors
            .iter()
            .map(DetectorConfig::build)
            .collect::<Result<_, _>>()?;
        Ok(Monitor {
            transform: config.transform,
            detectors,
            index: 0,
        })
    }

    /// Feeds one value to every detector; the alarms it raised.
    pub fn push(&mut self, x: f64) -> Vec<ChangeEvent> {
        let index = self.index;
        self.index += 1;
        let Some(y) = self.transform.apply(x) else {
            return Vec::new();
        };
        self.detectors
            .iter_mut()
            .filter_map(|d| {
                d.update(y).map(|alarm| ChangeEvent {
                    index,
                    detector: d.name(),
                    alarm,
                })
            })
            .collect()
    }

    /// Runs over a whole series.
    pub fn run(&mut self, values: impl IntoIterator<Item = f64>) -> Vec<ChangeEvent> {
        values.into_iter().flat_map(|x| self.push(x)).collect()
    }
}
