//! ADWIN: adaptive windowing.
//!
//! Source: A. Bifet and R. Gavaldà, "Learning from Time-Changing Data with Adaptive Windowing",
//! *SIAM International Conference on Data Mining* (SDM 2007): ADWIN2, the window kept as an
//! exponential histogram; the cut test and defaults as in river's `drift.ADWIN`
//! (<https://riverml.xyz/dev/api/drift/ADWIN/>) and MOA's `ADWIN.java`.
//!
//! The window W holds the recent values as buckets: row i holds at most `max_buckets` buckets of
//! 2^i values each (count, sum and sum of squared deviations); when a row overflows its two oldest
//! buckets merge into one of the next row. Every `clock` values (once W is longer than
//! `grace_period`) every split of W at a bucket boundary into an older W0 and a newer W1, each at
//! least `min_window_length` long, is tested:
//!
//! ```text
//! m    = 1/(n0 − mwl + 1) + 1/(n1 − mwl + 1)
//! δ'   = ln(2 ln|W| / δ)
//! ε    = √(2 m σ²_W δ') + (2/3) m δ'
//! cut when |μ̂0 − μ̂1| > ε
//! ```
//!
//! On a cut the oldest bucket is dropped and the test repeats until no split cuts: W shrinks to
//! the values since the change. That is ADWIN's reset; an alarm is raised once per check that
//! cuts, its direction the sign of μ̂1 − μ̂0 at the first cut. The bound is Bernstein's: it holds
//! for values in [0, 1] (failure and hit indicators, ratios); on unbounded data (Gaussian) the
//! second term is not scale-free and the test is approximate.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::detector::{check_positive, Alarm, Detector, Direction};
use crate::DriftError;

/// ADWIN's parameters (river's names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdwinConfig {
    /// Confidence δ of the cut test: smaller, fewer false cuts and slower detection. Default 0.002.
    pub delta: f64,
    /// Test for a cut every `clock` values. Default 32.
    pub clock: usize,
    /// Buckets per row of the exponential histogram. Default 5.
    pub max_buckets: usize,
    /// Least length of each sub-window tested. Default 5.
    pub min_window_length: usize,
    /// No test before the window holds this many values. Default 10.
    pub grace_period: usize,
}

impl Default for AdwinConfig {
    fn default() -> Self {
        AdwinConfig {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10,
        }
    }
}

/// One bucket: `n` values with this sum and sum of squared deviations from their mean.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    n: f64,
    sum: f64,
    m2: f64,
}

impl Bucket {
    fn merge(a: Bucket, b: Bucket) -> Bucket {
        let n = a.n + b.n;
        let d = a.sum / a.n - b.sum / b.n;
        Bucket {
            n,
            sum: a.sum + b.sum,
            m2: a.m2 + b.m2 + a.n * b.n / n * d * d,
        }
    }
}

/// ADWIN (see the module docs).
#[derive(Debug, Clone)]
pub struct Adwin {
    config: AdwinConfig,
    /// Row i: buckets of 2^i values, oldest at the front. Older rows hold older values.
    rows: Vec<VecDeque<Bucket>>,
    width: f64,
    sum: f64,
    m2: f64,
    tick: usize,
    stat: f64,
}

impl Adwin {
    /// An ADWIN with these parameters; an error names a parameter out of range.
    pub fn new(config: AdwinConfig) -> Result<Self, DriftError> {
        if !(config.delta > 0.0 && config.delta < 1.0) {
            return Err(DriftError::Parameter {
                detector: "adwin",
                param: "delta",
                value: config.delta,
                why: "must be in (0, 1)",
            });
        }
        check_positive("adwin", "clock", config.clock as f64)?;
        if config.max_buckets < 2 {
            return Err(DriftError::Parameter {
                detector: "adwin",
                param: "max_buckets",
                value: config.max_buckets as f64,
                why: "must be at least 2",
            });
        }
        check_positive("adwin", "min_window_length", config.min_window_length as f64)?;
        Ok(Adwin {
            config,
            rows: Vec::new(),
            width: 0.0,
            sum: 0.0,
            m2: 0.0,
            tick: 0,
            stat: 0.0,
        })
    }

    /// The window's length |W|.
    pub fn width(&self) -> usize {
        self.width as usize
    }

    /// The window's mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.width > 0.0 {
            self.sum / self.width
        } else {
            0.0
        }
    }

    /// The window's variance σ²_W (population; 0 when empty).
    pub fn variance(&self) -> f64 {
        if self.width > 0.0 {
            (self.m2 / self.width).max(0.0)
        } else {
            0.0
        }
    }

    fn insert(&mut self, x: f64) {
        if self.width > 0.0 {
            let n = self.width + 1.0;
            let d = x - self.sum / self.width;
            self.m2 += (n - 1.0) / n * d * d;
        }
        self.width += 1.0;
        self.sum += x;
        if self.rows.is_empty() {
            self.rows.push(VecDeque::new());
        }
        self.rows[0].push_back(Bucket {
            n: 1.0,
            sum: x,
            m2: 0.0,
        });
        let mut i = 0;
        while i < self.rows.len() && self.rows[i].len() > self.config.max_buckets {
            if let (Some(a), Some(b)) = (self.rows[i].pop_front(), self.rows[i].pop_front()) {
                if i + 1 == self.rows.len() {
                    self.rows.push(VecDeque::new());
                }
                self.rows[i + 1].push_back(Bucket::merge(a, b));
            }
            i += 1;
        }
    }

    /// Drops the oldest bucket (the front of the highest non-empty row).
    fn drop_oldest(&mut self) {
        while self.rows.last().is_some_and(VecDeque::is_empty) {
            self.rows.pop();
        }
        let Some(b) = self.rows.last_mut().and_then(VecDeque::pop_front) else {
            return;
        };
        let rest = self.width - b.n;
        if rest <= 0.0 {
            self.width = 0.0;
            self.sum = 0.0;
            self.m2 = 0.0;
        } else {
            let rest_sum = self.sum - b.sum;
            let d = b.sum / b.n - rest_sum / rest;
            self.m2 = (self.m2 - b.m2 - b.n * rest / self.width * d * d).max(0.0);
            self.width = rest;
            self.sum = rest_sum;
        }
        while self.rows.last().is_some_and(VecDeque::is_empty) {
            self.rows.pop();
        }
    }

    /// The first split (oldest first) that cuts: the sign of μ̂1 − μ̂0 and |μ̂1 − μ̂0|. Records
    /// the largest |μ̂0 − μ̂1| / ε seen as the statistic.
    fn find_cut(&mut self) -> Option<(f64, f64)> {
        let mwl = self.config.min_window_length as f64;
        let d_prime = (2.0 * self.width.ln() / self.config.delta).ln();
        let var = self.variance();
        let (mut n0, mut s0) = (0.0, 0.0);
        let last = self.width;
        for b in self.rows.iter().rev().flat_map(|row| row.iter()) {
            n0 += b.n;
            s0 += b.sum;
            let n1 = last - n0;
            if n1 < 1.0 {
                break;
            }
            if n0 < mwl || n1 < mwl {
                continue;
            }
            let diff = (self.sum - s0) / n1 - s0 / n0;
            let m = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0);
            let eps = (2.0 * m * var * d_prime).sqrt() + 2.0 / 3.0 * m * d_prime;
            self.stat = self.stat.max(diff.abs() / eps);
            if diff.abs() > eps {
                return Some((diff.signum(), diff.abs()));
            }
        }
        None
    }
}

impl Detector for Adwin {
    fn update(&mut self, x: f64) -> Option<Alarm> {
        if !x.is_finite() {
            return None;
        }
        self.insert(x);
        self.tick += 1;
        if !self.tick.is_multiple_of(self.config.clock) || self.width <= self.config.grace_period as f64 {
            return None;
        }
        self.stat = 0.0;
        let mut first: Option<(f64, f64)> = None;
        while let Some(cut) = self.find_cut() {
            first.get_or_insert(cut);
            self.drop_oldest();
            self.stat = 0.0;
        }
        first.map(|(sign, diff)| Alarm {
            direction: if sign >= 0.0 { Direction::Up } else { Direction::Down },
            statistic: diff,
        })
    }

    fn reset(&mut self) {
        *self = Adwin {
            config: self.config,
            rows: Vec::new(),
            width: 0.0,
            sum: 0.0,
            m2: 0.0,
            tick: 0,
            stat: 0.0,
        };
    }

    /// The largest |μ̂0 − μ̂1| / ε over the splits of the last check (a cut when > 1).
    fn statistic(&self) -> f64 {
        self.stat
    }

    fn name(&self) -> &'static str {
        "adwin"
    }
}
