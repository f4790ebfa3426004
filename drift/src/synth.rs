//! Seeded synthetic streams with known change points, for the evaluation and the tests.
//!
//! Reproducible: the generator is an in-crate SplitMix64 (Steele, Lea & Flood, "Fast Splittable
//! Pseudorandom Number Generators", OOPSLA 2014) and normal variates are Box–Muller, so a seed
//! gives the same stream on every platform and crate version (up to the last bit of the
//! platform's `ln`/`cos`, which IEEE 754 does not pin down).
//!
//! A stream is a run of segments of [`SEGMENT_MIN`]..=[`SEGMENT_MAX`] points (uniform) until it
//! holds at least [`STREAM_LEN`] points; each segment boundary is a change point. The in-control
//! level is [`BASE_MEAN`] with σ = 1.

use serde::{Deserialize, Serialize};

/// Points in a generated stream (at least; the last segment may overrun).
pub const STREAM_LEN: usize = 10_000;
/// Shortest segment between change points.
pub const SEGMENT_MIN: usize = 600;
/// Longest segment between change points.
pub const SEGMENT_MAX: usize = 1_400;
/// The in-control mean of the generated series (σ = 1).
pub const BASE_MEAN: f64 = 10.0;

/// SplitMix64: a 64-bit state, one add and a mix per output.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// A standard normal variate (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// +1 or −1 with equal odds.
    pub fn sign(&mut self) -> f64 {
        if self.next_u64() & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }
}

/// What changes at each change point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scenario {
    /// No change at all: [`STREAM_LEN`] points of N(μ, 1). Measures false alarms (ARL0).
    Stationary,
    /// The mean jumps by `sigmas` σ, up or down at random.
    MeanShift {
        /// Shift size in σ.
        sigmas: f64,
    },
    /// σ alternates between 1 and `factor`; the mean stays.
    VarianceChange {
        /// The raised σ.
        factor: f64,
    },
    /// The mean moves by `sigmas` σ (up or down at random) linearly over `length` points.
    SlowRamp {
        /// Total move in σ.
        sigmas: f64,
        /// Points the ramp takes.
        length: usize,
    },
    /// A sine of `amplitude` σ and `period` points on top of mean jumps of `sigmas` σ.
    Seasonal {
        /// Sine amplitude in σ.
        amplitude: f64,
        /// Sine period in points.
        period: usize,
        /// Mean jump in σ at each change point.
        sigmas: f64,
    },
    /// 0/1 values (a failure or cache-hit indicator) whose rate alternates between `p0` and `p1`.
    Bernoulli {
        /// The in-control rate.
        p0: f64,
        /// The changed rate.
        p1: f64,
    },
}

impl Scenario {
    /// The scenarios the evaluation runs, in report order.
    pub fn all() -> Vec<Scenario> {
        vec![
            Scenario::Stationary,
            Scenario::MeanShift { sigmas: 1.0 },
            Scenario::MeanShift { sigmas: 2.0 },
            Scenario::MeanShift { sigmas: 3.0 },
            Scenario::VarianceChange { factor: 3.0 },
            Scenario::SlowRamp {
                sigmas: 2.0,
                length: 300,
            },
            Scenario::Seasonal {
                amplitude: 1.0,
                period: 100,
                sigmas: 2.0,
            },
            Scenario::Bernoulli { p0: 0.05, p1: 0.2 },
        ]
    }

    /// A short label for tables: `mean-shift 1σ`, `slow-ramp 2σ/300`, ….
    pub fn label(&self) -> String {
        match *self {
            Scenario::Stationary => "stationary".into(),
            Scenario::MeanShift { sigmas } => format!("mean-shift {sigmas}σ"),
            Scenario::VarianceChange { factor } => format!("variance ×{factor}"),
            Scenario::SlowRamp { sigmas, length } => format!("slow-ramp {sigmas}σ/{length}"),
            Scenario::Seasonal {
                amplitude,
                period,
                sigmas,
            } => format!("seasonal {amplitude}σ/{period} + {sigmas}σ"),
            Scenario::Bernoulli { p0, p1 } => format!("bernoulli {p0}↔{p1}"),
        }
    }

    /// Whether this is a sudden shift of the mean of at least one σ (the targets' scope).
    pub fn is_sudden_shift(&self) -> bool {
        matches!(*self, Scenario::MeanShift { sigmas } if sigmas >= 1.0)
    }
}

/// A generated stream and where it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    /// The values.
    pub values: Vec<f64>,
    /// The indices of the first value after each change, increasing.
    pub change_points: Vec<usize>,
}

/// A stream of `scenario` from `seed`.
pub fn generate(scenario: Scenario, seed: u64) -> Stream {
    let mut rng = SplitMix64::new(seed);
    let mut values = Vec::with_capacity(STREAM_LEN + SEGMENT_MAX);
    let mut change_points = Vec::new();
    if scenario == Scenario::Stationary {
        values.extend((0..STREAM_LEN).map(|_| BASE_MEAN + rng.normal()));
        return Stream { values, change_points };
    }
    let mut level = BASE_MEAN;
    let mut segment = 0usize;
    while values.len() < STREAM_LEN {
        let len = rng.range(SEGMENT_MIN, SEGMENT_MAX);
        if segment > 0 {
            change_points.push(values.len());
        }
        let start_level = level;
        let changed = segment % 2 == 1;
        match scenario {
            Scenario::MeanShift { sigmas } | Scenario::Seasonal { sigmas, .. } if segment > 0 => {
                level += rng.sign() * sigmas;
            }
            Scenario::SlowRamp { sigmas, .. } if segment > 0 => level += rng.sign() * sigmas,
            _ => {}
        }
        for i in 0..len {
            let t = values.len();
            let x = match scenario {
                Scenario::Stationary | Scenario::MeanShift { .. } => level + rng.normal(),
                Scenario::VarianceChange { factor } => BASE_MEAN + if changed { factor } else { 1.0 } * rng.normal(),
                Scenario::SlowRamp { length, .. } => {
                    let f = if length == 0 {
                        1.0
                    } else {
                        ((i + 1) as f64 / length as f64).min(1.0)
                    };
                    start_level + f * (level - start_level) + rng.normal()
                }
                Scenario::Seasonal { amplitude, period, .. } => {
                    let phase = 2.0 * std::f64::consts::PI * t as f64 / period.max(1) as f64;
                    level + amplitude * phase.sin() + rng.normal()
                }
                Scenario::Bernoulli { p0, p1 } => {
                    let p = if changed { p1 } else { p0 };
                    if rng.next_f64() < p {
                        1.0
                    } else {
                        0.0
                    }
                }
            };
            values.push(x);
        }
        segment += 1;
    }
    Stream { values, change_points }
}
