//! The EWMA control chart.
//!
//! Sources: S. W. Roberts, "Control Chart Tests Based on Geometric Moving Averages",
//! *Technometrics* 1 (1959) 239–250; J. M. Lucas and M. S. Saccucci, "Exponentially Weighted
//! Moving Average Control Schemes: Properties and Enhancements", *Technometrics* 32 (1990) 1–12
//! (ARL tables; the time-varying limits as a fast-initial-response); Montgomery, *Introduction to
//! Statistical Quality Control*, §9.2.
//!
//! ```text
//! z_0 = μ0,   z_t = λ x_t + (1 − λ) z_{t−1}
//! σ_z(t) = σ √( λ/(2−λ) · (1 − (1−λ)^{2t}) )     (time-varying; asymptotic: drop the bracket)
//! alarm Up when z_t > μ0 + L σ_z(t), Down when z_t < μ0 − L σ_z(t)
//! ```
//!
//! Lucas & Saccucci: λ = 0.1, L = 2.814 gives ARL0 ≈ 500 and ARL1(1σ) ≈ 10.3. zkq's default
//! λ = 0.05, L = 4.4 moves ARL0 into the tens of thousands for the same reason as CUSUM's
//! h (see [`crate::cusum`]); the evaluation in `docs/drift.md` measures it.

use serde::{Deserialize, Serialize};

use crate::detector::{check_positive, check_reference, Alarm, Baseline, Detector, Reference};
use crate::DriftError;

/// EWMA's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EwmaConfig {
    /// Smoothing weight λ in (0, 1]. Default 0.05 (λ = 1 is a Shewhart chart).
    pub lambda: f64,
    /// Width of the limits L, in units of σ_z. Default 4.4.
    pub l: f64,
    /// Time-varying limits (narrower for the first points after a start). Default true;
    /// false uses the asymptotic limits from the first point.
    pub time_varying: bool,
    /// μ0 and σ. Default: estimated from the first 200 points after each (re)start.
    pub reference: Reference,
}

impl Default for EwmaConfig {
    fn default() -> Self {
        EwmaConfig {
            lambda: 0.05,
            l: 4.4,
            time_varying: true,
            reference: Reference::Estimate { warmup: 200 },
        }
    }
}

/// An EWMA chart (see the module docs).
#[derive(Debug, Clone)]
pub struct Ewma {
    config: EwmaConfig,
    baseline: Baseline,
    z: Option<f64>,
    t: u32,
    stat: f64,
}

impl Ewma {
    /// An EWMA chart with these parameters; an error names a parameter out of range.
    pub fn new(config: EwmaConfig) -> Result<Self, DriftError> {
        if !(config.lambda > 0.0 && config.lambda <= 1.0) {
            return Err(DriftError::Parameter {
                detector: "ewma",
                param: "lambda",
                value: config.lambda,
                why: "must be in (0, 1]",
            });
        }
        check_positive("ewma", "l", config.l)?;
        check_reference("ewma", &config.reference)?;
        Ok(Ewma {
            config,
            baseline: Baseline::new(config.reference),
            z: None,
            t: 0,
            stat: 0.0,
        })
    }

    /// The smoothed value z_t (`None` before the first monitored point).
    pub fn smoothed(&self) -> Option<f64> {
        self.z
    }

    /// σ_z at monitored point `t` (1-based) for standard deviation `sigma`.
    pub fn sigma_z(&self, sigma: f64, t: u32) -> f64 {
        let l = self.config.lambda;
        let asymptotic = l / (2.0 - l);
        let bracket = if self.config.time_varying {
            1.0 - (1.0 - l).powf(2.0 * f64::from(t))
        } else {
            1.0
        };
        sigma * (asymptotic * bracket).sqrt()
    }
}

impl Detector for Ewma {
    fn update(&mut self, x: f64) -> Option<Alarm> {
        if !x.is_finite() {
            return None;
        }
        let (mu, sigma) = self.baseline.observe(x)?;
        let l = self.config.lambda;
        let z = l * x + (1.0 - l) * self.z.unwrap_or(mu);
        self.z = Some(z);
        self.t = self.t.saturating_add(1);
        let sz = self.sigma_z(sigma, self.t);
        self.stat = (z - mu) / sz;
        let alarm = crate::detector::two_sided(self.stat, -self.stat, self.config.l);
        if alarm.is_some() {
            self.reset();
        }
        alarm
    }

    fn reset(&mut self) {
        self.baseline.reset();
        self.z = None;
        self.t = 0;
        self.stat = 0.0;
    }

    /// |z_t − μ0| / σ_z(t): compared with L.
    fn statistic(&self) -> f64 {
        self.stat.abs()
    }

    fn name(&self) -> &'static str {
        "ewma"
    }
}
