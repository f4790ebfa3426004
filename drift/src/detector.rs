//! The [`Detector`] trait, its [`Alarm`], and the in-control [`Reference`] that the
//! parametric detectors (CUSUM, Page-Hinkley, EWMA) measure deviations against.

use serde::{Deserialize, Serialize};

/// Which way the series moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The level rose (cost, latency, failures went up).
    Up,
    /// The level fell.
    Down,
}

/// A change detected at the point just fed to [`Detector::update`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Which way the series moved.
    pub direction: Direction,
    /// The detector's statistic when it crossed its threshold (in the detector's own units:
    /// σ units for CUSUM, Page-Hinkley and EWMA, the mean difference for ADWIN).
    pub statistic: f64,
}

/// An online change detector: one value at a time, an [`Alarm`] when the series changed.
///
/// An alarm resets the detector so that it can detect the next change: the parametric detectors
/// forget their sums (and, when they estimate their reference, re-estimate it on the next
/// points); ADWIN drops the sub-window from before the change. Non-finite values are ignored.
pub trait Detector {
    /// Feeds one value; `Some` when this value completes the evidence of a change.
    fn update(&mut self, x: f64) -> Option<Alarm>;
    /// Forgets everything seen, as if newly built.
    fn reset(&mut self);
    /// The current statistic (what is compared with the threshold; 0 while warming up).
    fn statistic(&self) -> f64;
    /// The detector's name, as in reports: `cusum`, `page-hinkley`, `ewma`, `adwin`.
    fn name(&self) -> &'static str;
}

/// The in-control mean μ0 and standard deviation σ that deviations are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// Estimated robustly from the first `warmup` points after a (re)start: the mean and sample
    /// standard deviation of the points within [`TRIM`] robust σ (median absolute deviation ×
    /// 1.4826) of the median — all points when the MAD is 0 (discrete data) — with σ floored at
    /// [`MIN_SIGMA`] × max(1, |μ0|) (a constant warm-up). No alarms during warm-up.
    Estimate {
        /// Points used for the estimate.
        warmup: usize,
    },
    /// Known in advance (from a baseline); the detector alarms from the first point.
    Given {
        /// In-control mean μ0.
        mean: f64,
        /// In-control standard deviation σ (> 0).
        sigma: f64,
    },
}

/// The relative floor of an estimated σ: a warm-up of identical values gives σ = 1e-9 × max(1, |μ0|),
/// so that any later change of a constant series alarms, but the constant series never does.
pub const MIN_SIGMA: f64 = 1e-9;

/// Warm-up points further than this many robust σ from the median are left out of the estimate.
pub const TRIM: f64 = 4.0;

/// μ0 and σ by the trimmed estimate with the fallbacks documented on [`Reference::Estimate`].
pub(crate) fn robust_estimate(sample: &[f64]) -> (f64, f64) {
    if sample.is_empty() {
        return (0.0, MIN_SIGMA);
    }
    let median = |v: &mut Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let mut v = sample.to_vec();
    let med = median(&mut v);
    let mut dev: Vec<f64> = sample.iter().map(|x| (x - med).abs()).collect();
    let mad_sigma = 1.4826 * median(&mut dev);
    // Mean and standard deviation of the points within TRIM MAD-σ of the median: as efficient
    // as the plain estimates on normal data, and an outlier in the warm-up does not set μ0 or σ.
    let kept: Vec<f64> = if mad_sigma > 0.0 {
        sample
            .iter()
            .copied()
            .filter(|x| (x - med).abs() <= TRIM * mad_sigma)
            .collect()
    } else {
        sample.to_vec()
    };
    let n = kept.len() as f64;
    let mu = kept.iter().sum::<f64>() / n;
    let var = kept.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / (n - 1.0).max(1.0);
    let sigma = var.sqrt();
    let floor = MIN_SIGMA * mu.abs().max(1.0);
    (mu, sigma.max(floor))
}

/// A reference being estimated or known: shared by CUSUM and EWMA.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    reference: Reference,
    warm: Vec<f64>,
    /// (μ0, σ) once known.
    pub(crate) known: Option<(f64, f64)>,
}

impl Baseline {
    pub(crate) fn new(reference: Reference) -> Self {
        let known = match reference {
            Reference::Given { mean, sigma } => Some((mean, sigma)),
            Reference::Estimate { .. } => None,
        };
        Baseline {
            reference,
            warm: Vec::new(),
            known,
        }
    }

    /// Feeds a value while warming up; `Some((μ0, σ))` once the reference is known and `x` is
    /// to be monitored (the warm-up points themselves are not).
    pub(crate) fn observe(&mut self, x: f64) -> Option<(f64, f64)> {
        if let Some(k) = self.known {
            return Some(k);
        }
        if let Reference::Estimate { warmup } = self.reference {
            self.warm.push(x);
            if self.warm.len() >= warmup.max(1) {
                self.known = Some(robust_estimate(&self.warm));
                self.warm = Vec::new();
            }
        }
        None
    }

    pub(crate) fn reset(&mut self) {
        *self = Baseline::new(self.reference);
    }
}

pub(crate) fn check_positive(detector: &'static str, param: &'static str, value: f64) -> Result<(), crate::DriftError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(crate::DriftError::Parameter {
            detector,
            param,
            value,
            why: "must be finite and > 0",
        })
    }
}

/// A two-sided test's alarm: up when `up` exceeds `threshold`, else down when `down` does (both
/// statistics ≥ 0 in the detector's units).
pub(crate) fn two_sided(up: f64, down: f64, threshold: f64) -> Option<Alarm> {
    if up > threshold {
        Some(Alarm { direction: Direction::Up, statistic: up })
    } else if down > threshold {
        Some(Alarm { direction: Direction::Down, statistic: down })
    } else {
        None
    }
}

/// `value` must be finite and ≥ 0, else a [`crate::DriftError::Parameter`] naming it.
pub(crate) fn check_non_negative(detector: &'static str, param: &'static str, value: f64) -> Result<(), crate::DriftError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(crate::DriftError::Parameter { detector, param, value, why: "must be finite and >= 0" })
    }
}

pub(crate) fn check_reference(detector: &'static str, r: &Reference) -> Result<(), crate::DriftError> {
    match *r {
        Reference::Estimate { warmup } if warmup < 2 => Err(crate::DriftError::Parameter {
            detector,
            param: "warmup",
            value: warmup as f64,
            why: "must be at least 2",
        }),
        Reference::Estimate { .. } => Ok(()),
        Reference::Given { mean, sigma } => {
            if !mean.is_finite() {
                return Err(crate::DriftError::Parameter {
                    detector,
                    param: "mean",
                    value: mean,
                    why: "must be finite",
                });
            }
            check_positive(detector, "sigma", sigma)
        }
    }
}

/// Which detector, with its parameters: what a [`SeriesConfig`](crate::SeriesConfig) lists and
/// the evaluation runs. Serialises as `{"cusum": {...}}` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorConfig {
    /// [`Cusum`](crate::Cusum).
    Cusum(crate::CusumConfig),
    /// [`PageHinkley`](crate::PageHinkley).
    PageHinkley(crate::PageHinkleyConfig),
    /// [`Ewma`](crate::Ewma).
    Ewma(crate::EwmaConfig),
    /// [`Adwin`](crate::Adwin).
    Adwin(crate::AdwinConfig),
}

impl DetectorConfig {
    /// Every detector at its defaults, in report order.
    pub fn defaults() -> [DetectorConfig; 4] {
        [
            DetectorConfig::Cusum(Default::default()),
            DetectorConfig::PageHinkley(Default::default()),
            DetectorConfig::Ewma(Default::default()),
            DetectorConfig::Adwin(Default::default()),
        ]
    }

    /// A fresh detector; an error names a parameter out of range.
    pub fn build(&self) -> Result<Box<dyn Detector + Send>, crate::DriftError> {
        Ok(match *self {
            DetectorConfig::Cusum(c) => Box::new(crate::Cusum::new(c)?),
            DetectorConfig::PageHinkley(c) => Box::new(crate::PageHinkley::new(c)?),
            DetectorConfig::Ewma(c) => Box::new(crate::Ewma::new(c)?),
            DetectorConfig::Adwin(c) => Box::new(crate::Adwin::new(c)?),
        })
    }

    /// The detector's name, as in reports.
    pub fn name(&self) -> &'static str {
        match self {
            DetectorConfig::Cusum(_) => "cusum",
            DetectorConfig::PageHinkley(_) => "page-hinkley",
            DetectorConfig::Ewma(_) => "ewma",
            DetectorConfig::Adwin(_) => "adwin",
        }
    }
}

/// Runs a fresh detector over `values`: the indices of the values that raised an alarm, with
/// the alarms.
pub fn run(config: &DetectorConfig, values: &[f64]) -> Result<Vec<(usize, Alarm)>, crate::DriftError> {
    let mut d = config.build()?;
    Ok(values
        .iter()
        .enumerate()
        .filter_map(|(i, &x)| d.update(x).map(|a| (i, a)))
        .collect())
}
