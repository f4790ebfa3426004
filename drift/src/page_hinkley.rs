//! The Page-Hinkley test.
//!
//! Sources: E. S. Page, "Continuous Inspection Schemes", *Biometrika* 41 (1954); D. V. Hinkley,
//! "Inference about the change-point from cumulative sum tests", *Biometrika* 58 (1971) 509–523;
//! parameters as in river's `drift.PageHinkley` (<https://riverml.xyz/dev/api/drift/PageHinkley/>:
//! `min_instances`, `delta`, `threshold`, `alpha`, `mode`).
//!
//! CUSUM on the deviations from the *running* mean x̄_t (no reference to estimate up front):
//!
//! ```text
//! m⁺_t = α m⁺_{t−1} + (x_t − x̄_t − δ)     M⁺_t = min(M⁺_{t−1}, m⁺_t)   alarm Up   when m⁺_t − M⁺_t > λ
//! m⁻_t = α m⁻_{t−1} + (x_t − x̄_t + δ)     M⁻_t = max(M⁻_{t−1}, m⁻_t)   alarm Down when M⁻_t − m⁻_t > λ
//! ```
//!
//! river's `delta` (0.005) and `threshold` (50) are in the data's units; zkq's series differ in
//! scale by orders of magnitude (cents, seconds, ratios), so here δ and λ are in σ units, σ
//! estimated robustly from the first `min_instances` points after each (re)start (as
//! [`Reference::Estimate`](crate::Reference::Estimate) does) or given. No alarms before
//! `min_instances` points, as in river; when σ is estimated, the sums start after those points
//! (the running mean includes them).

use serde::{Deserialize, Serialize};

use crate::detector::{check_positive, robust_estimate, Alarm, Detector};
use crate::DriftError;

/// Page-Hinkley's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PageHinkleyConfig {
    /// Points before the first alarm is possible; also the σ estimate's sample. Default 200
    /// (river: 30).
    pub min_instances: usize,
    /// Tolerated deviation δ in σ units. Default 0.5 (river: 0.005 in data units).
    pub delta: f64,
    /// Threshold λ in σ units. Default 12 (river: 50 in data units).
    pub threshold: f64,
    /// Fading factor α of the sums. Default 0.9999 (river's `1 − 0.0001`).
    pub alpha: f64,
    /// σ when known; `None` (the default) estimates it from the first `min_instances` points.
    pub sigma: Option<f64>,
}

impl Default for PageHinkleyConfig {
    fn default() -> Self {
        PageHinkleyConfig {
            min_instances: 200,
            delta: 0.5,
            threshold: 12.0,
            alpha: 0.9999,
            sigma: None,
        }
    }
}

/// The Page-Hinkley test, both directions (see the module docs).
#[derive(Debug, Clone)]
pub struct PageHinkley {
    config: PageHinkleyConfig,
    n: usize,
    mean: f64,
    sigma: Option<f64>,
    warm: Vec<f64>,
    sum_up: f64,
    min_up: f64,
    sum_down: f64,
    max_down: f64,
}

impl PageHinkley {
    /// A Page-Hinkley test with these parameters; an error names a parameter out of range.
    pub fn new(config: PageHinkleyConfig) -> Result<Self, DriftError> {
        check_positive("page-hinkley", "threshold", config.threshold)?;
        crate::detector::check_non_negative("page-hinkley", "delta", config.delta)?;
        if !(config.alpha > 0.0 && config.alpha <= 1.0) {
            return Err(DriftError::Parameter {
                detector: "page-hinkley",
                param: "alpha",
                value: config.alpha,
                why: "must be in (0, 1]",
            });
        }
        if let Some(s) = config.sigma {
            check_positive("page-hinkley", "sigma", s)?;
        } else if config.min_instances < 2 {
            return Err(DriftError::Parameter {
                detector: "page-hinkley",
                param: "min_instances",
                value: config.min_instances as f64,
                why: "must be at least 2 when sigma is estimated",
            });
        }
        Ok(PageHinkley {
            config,
            n: 0,
            mean: 0.0,
            sigma: config.sigma,
            warm: Vec::new(),
            sum_up: 0.0,
            min_up: 0.0,
            sum_down: 0.0,
            max_down: 0.0,
        })
    }

    /// The running mean x̄ since the last (re)start.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The upward and downward statistics (m⁺ − M⁺, M⁻ − m⁻), in σ units (0 until σ is known).
    pub fn statistics(&self) -> (f64, f64) {
        match self.sigma {
            Some(s) => ((self.sum_up - self.min_up) / s, (self.max_down - self.sum_down) / s),
            None => (0.0, 0.0),
        }
    }
}

impl Detector for PageHinkley {
    fn update(&mut self, x: f64) -> Option<Alarm> {
        if !x.is_finite() {
            return None;
        }
        self.n += 1;
        self.mean += (x - self.mean) / self.n as f64;
        let Some(sigma) = self.sigma else {
            // Warming up: the running mean and σ's sample only; the sums start once σ is known
            // (a zero-drift sum over the warm-up would already be near the threshold).
            self.warm.push(x);
            if self.warm.len() >= self.config.min_instances {
                self.sigma = Some(robust_estimate(&self.warm).1);
                self.warm = Vec::new();
            }
            return None;
        };
        let delta = self.config.delta * sigma;
        let a = self.config.alpha;
        self.sum_up = a * self.sum_up + (x - self.mean - delta);
        self.min_up = self.min_up.min(self.sum_up);
        self.sum_down = a * self.sum_down + (x - self.mean + delta);
        self.max_down = self.max_down.max(self.sum_down);
        if self.n < self.config.min_instances {
            return None;
        }
        let (up, down) = self.statistics();
        let alarm = crate::detector::two_sided(up, down, self.config.threshold);
        if alarm.is_some() {
            self.reset();
        }
        alarm
    }

    fn reset(&mut self) {
        self.n = 0;
        self.mean = 0.0;
        self.sigma = self.config.sigma;
        self.warm = Vec::new();
        self.sum_up = 0.0;
        self.min_up = 0.0;
        self.sum_down = 0.0;
        self.max_down = 0.0;
    }

    fn statistic(&self) -> f64 {
        let (up, down) = self.statistics();
        up.max(down)
    }

    fn name(&self) -> &'static str {
        "page-hinkley"
    }
}
