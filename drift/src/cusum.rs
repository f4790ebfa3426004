//! Two-sided tabular CUSUM.
//!
//! Source: E. S. Page, "Continuous Inspection Schemes", *Biometrika* 41 (1954) 100–115; the
//! tabular form and its design tables from D. C. Montgomery, *Introduction to Statistical Quality
//! Control*, §9.1 ("The Cumulative Sum Control Chart").
//!
//! With standardised deviations `z_t = (x_t − μ0) / σ`:
//!
//! ```text
//! C⁺_t = max(0, C⁺_{t−1} + z_t − k)      alarm Up   when C⁺_t > h
//! C⁻_t = max(0, C⁻_{t−1} − z_t − k)      alarm Down when C⁻_t > h
//! ```
//!
//! `k` (the allowance, half the shift to detect fastest) and `h` (the decision interval) are in σ
//! units. Montgomery's table for the two-sided chart with k = 0.5: h = 4 gives ARL0 ≈ 168 and
//! ARL1(1σ) ≈ 8.4; h = 5 gives ARL0 ≈ 465 and ARL1(1σ) ≈ 10.4. zkq's default h = 10 trades
//! delay for far fewer false alarms (Siegmund's approximation with known μ0, σ: ARL0 ≈ 70,000,
//! ARL1(1σ) ≈ 20; the 200-point warm-up's estimation error lowers the ARL0 actually measured),
//! because a drift alert that cries wolf every few hundred points is ignored; the evaluation in
//! `docs/drift.md` measures it.

use serde::{Deserialize, Serialize};

use crate::detector::{check_positive, check_reference, Alarm, Baseline, Detector, Reference};
use crate::DriftError;

/// CUSUM's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CusumConfig {
    /// Allowance k in σ units. Default 0.5 (tuned to a 1σ shift).
    pub k: f64,
    /// Decision interval h in σ units. Default 10.
    pub h: f64,
    /// μ0 and σ. Default: estimated from the first 200 points after each (re)start.
    pub reference: Reference,
}

impl Default for CusumConfig {
    fn default() -> Self {
        CusumConfig {
            k: 0.5,
            h: 10.0,
            reference: Reference::Estimate { warmup: 200 },
        }
    }
}

/// A two-sided tabular CUSUM (see the module docs).
#[derive(Debug, Clone)]
pub struct Cusum {
    config: CusumConfig,
    baseline: Baseline,
    upper: f64,
    lower: f64,
}

impl Cusum {
    /// A CUSUM with these parameters; an error names a parameter out of range.
    pub fn new(config: CusumConfig) -> Result<Self, DriftError> {
        check_positive("cusum", "h", config.h)?;
        crate::detector::check_non_negative("cusum", "k", config.k)?;
        check_reference("cusum", &config.reference)?;
        Ok(Cusum {
            config,
            baseline: Baseline::new(config.reference),
            upper: 0.0,
            lower: 0.0,
        })
    }

    /// The upper and lower sums (C⁺, C⁻), in σ units.
    pub fn sums(&self) -> (f64, f64) {
        (self.upper, self.lower)
    }

    /// (μ0, σ) once known (after the warm-up when estimated).
    pub fn reference(&self) -> Option<(f64, f64)> {
        self.baseline.known
    }
}

impl Detector for Cusum {
    fn update(&mut self, x: f64) -> Option<Alarm> {
        if !x.is_finite() {
            return None;
        }
        let (mu, sigma) = self.baseline.observe(x)?;
        let z = (x - mu) / sigma;
        let k = self.config.k;
        self.upper = (self.upper + z - k).max(0.0);
        self.lower = (self.lower - z - k).max(0.0);
        let alarm = crate::detector::two_sided(self.upper, self.lower, self.config.h);
        if alarm.is_some() {
            self.reset();
        }
        alarm
    }

    fn reset(&mut self) {
        self.baseline.reset();
        self.upper = 0.0;
        self.lower = 0.0;
    }

    fn statistic(&self) -> f64 {
        self.upper.max(self.lower)
    }

    fn name(&self) -> &'static str {
        "cusum"
    }
}
