//! Scoring alarms against known change points, and the reproducible evaluation of every
//! detector at its defaults over every [`Scenario`].
//!
//! Method (after TCPDBench: G. J. J. van den Burg and C. K. I. Williams, "An Evaluation of Change
//! Point Detection Algorithms", 2020): an alarm at index `a` is a **true positive** for change
//! point `c` when `c <= a < c + MARGIN` (and before the next change point); later alarms in the
//! same window are duplicates and count once (neither true nor false); every other alarm is a
//! **false alarm**. Precision = TP / (TP + false alarms); recall = TP / change points; the
//! detection delay of a TP is `a − c` (0 when the alarm fires on the first changed value).
//! False alarms per 10,000 points are over the points outside the detection windows (the
//! stationary stretches): 10,000 / that figure is the measured ARL0.

use serde::{Deserialize, Serialize};

use crate::detector::{run, DetectorConfig};
use crate::synth::{generate, Scenario};
use crate::DriftError;

/// Points after a change point within which an alarm counts as its detection. TCPDBench uses 5
/// on short real series; 50 suits detectors tuned for a 1σ shift (CUSUM's ARL1 ≈ 16 at the
/// defaults) while still calling a detection 100+ points late a miss.
pub const MARGIN: usize = 50;

/// Streams generated per scenario in [`evaluate`].
pub const STREAMS_PER_SCENARIO: u64 = 20;

/// The tally of one detector over one or more streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Values seen.
    pub points: usize,
    /// Values outside the detection windows (the denominator of the false-alarm rate).
    pub stationary_points: usize,
    /// True change points.
    pub changes: usize,
    /// Alarms raised.
    pub alarms: usize,
    /// Change points detected within the margin.
    pub true_positives: usize,
    /// Alarms within a detection window after its first (counted once).
    pub duplicates: usize,
    /// Alarms outside every detection window.
    pub false_alarms: usize,
    /// Sum of the delays of the true positives.
    pub delay_sum: usize,
}

impl Score {
    /// Scores alarm indices (increasing) against change points (increasing) in a stream of
    /// `len` values, with detection windows of `margin` points.
    pub fn of(alarms: &[usize], change_points: &[usize], len: usize, margin: usize) -> Score {
        let mut s = Score {
            points: len,
            changes: change_points.len(),
            alarms: alarms.len(),
            ..Score::default()
        };
        let window = |i: usize| -> (usize, usize) {
            let c = change_points[i];
            let end = (c + margin)
                .min(change_points.get(i + 1).copied().unwrap_or(usize::MAX))
                .min(len);
            (c, end)
        };
        let in_windows: usize = (0..change_points.len())
            .map(|i| window(i).1.saturating_sub(window(i).0))
            .sum();
        s.stationary_points = len.saturating_sub(in_windows);
        let mut detected = vec![false; change_points.len()];
        for &a in alarms {
            // The last change point at or before `a`.
            let i = change_points.partition_point(|&c| c <= a);
            match i.checked_sub(1).filter(|&i| a < window(i).1) {
                Some(i) if !detected[i] => {
                    detected[i] = true;
                    s.true_positives += 1;
                    s.delay_sum += a - change_points[i];
                }
                Some(_) => s.duplicates += 1,
                None => s.false_alarms += 1,
            }
        }
        s
    }

    /// Adds another tally.
    pub fn add(&mut self, o: &Score) {
        self.points += o.points;
        self.stationary_points += o.stationary_points;
        self.changes += o.changes;
        self.alarms += o.alarms;
        self.true_positives += o.true_positives;
        self.duplicates += o.duplicates;
        self.false_alarms += o.false_alarms;
        self.delay_sum += o.delay_sum;
    }

    /// TP / (TP + false alarms); `None` without any.
    pub fn precision(&self) -> Option<f64> {
        let d = self.true_positives + self.false_alarms;
        (d > 0).then(|| self.true_positives as f64 / d as f64)
    }

    /// TP / change points; `None` without change points.
    pub fn recall(&self) -> Option<f64> {
        (self.changes > 0).then(|| self.true_positives as f64 / self.changes as f64)
    }

    /// Mean points from a change to its detection; `None` without a detection.
    pub fn mean_delay(&self) -> Option<f64> {
        (self.true_positives > 0).then(|| self.delay_sum as f64 / self.true_positives as f64)
    }

    /// False alarms per 10,000 stationary points.
    pub fn false_alarms_per_10k(&self) -> f64 {
        if self.stationary_points == 0 {
            0.0
        } else {
            self.false_alarms as f64 * 10_000.0 / self.stationary_points as f64
        }
    }
}

/// One detector over one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The detector's name.
    pub detector: String,
    /// The scenario's label.
    pub scenario: String,
    /// The scenario.
    pub scenario_spec: Scenario,
    /// The tally.
    pub score: Score,
    /// [`Score::precision`].
    pub precision: Option<f64>,
    /// [`Score::recall`].
    pub recall: Option<f64>,
    /// [`Score::mean_delay`].
    pub mean_delay: Option<f64>,
    /// [`Score::false_alarms_per_10k`].
    pub false_alarms_per_10k: f64,
}

/// The evaluation: every detector at its defaults over every scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The seed everything was generated from.
    pub seed: u64,
    /// [`MARGIN`].
    pub margin: usize,
    /// [`STREAMS_PER_SCENARIO`].
    pub streams_per_scenario: u64,
    /// The detectors' configurations.
    pub detectors: Vec<DetectorConfig>,
    /// One row per detector × scenario, detector-major.
    pub rows: Vec<Row>,
}

impl Report {
    /// The row of `detector` (a name) over `scenario`.
    pub fn row(&self, detector: &str, scenario: &Scenario) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.detector == detector && r.scenario_spec == *scenario)
    }

    /// A fixed-width text table (Markdown-compatible).
    pub fn table(&self) -> String {
        let f = |v: Option<f64>, p: usize| v.map_or_else(|| "–".to_string(), |v| format!("{v:.p$}"));
        let mut out = format!(
            "seed {}, margin {} points, {} streams per scenario\n\n| detector | scenario | changes | alarms | TP | FA | precision | recall | mean delay | FA/10k |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            self.seed, self.margin, self.streams_per_scenario
        );
        for r in &self.rows {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |\n",
                r.detector,
                r.scenario,
                r.score.changes,
                r.score.alarms,
                r.score.true_positives,
                r.score.false_alarms,
                f(r.precision, 3),
                f(r.recall, 3),
                f(r.mean_delay, 1),
                r.false_alarms_per_10k
            );
        }
        out
    }
}

/// The seed of stream `i` of scenario `s`: distinct streams, one `seed` for the whole report.
fn stream_seed(seed: u64, s: usize, i: u64) -> u64 {
    let mut g = crate::synth::SplitMix64::new(seed ^ ((s as u64) << 32) ^ i);
    g.next_u64()
}

/// Runs `detectors` over [`STREAMS_PER_SCENARIO`] streams of each of `scenarios`.
pub fn evaluate_with(seed: u64, detectors: &[DetectorConfig], scenarios: &[Scenario]) -> Result<Report, DriftError> {
    let streams: Vec<Vec<_>> = scenarios
        .iter()
        .enumerate()
        .map(|(s, sc)| {
            (0..STREAMS_PER_SCENARIO)
                .map(|i| generate(*sc, stream_seed(seed, s, i)))
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    for d in detectors {
        for (sc, streams) in scenarios.iter().zip(&streams) {
            let mut score = Score::default();
            for st in streams {
                let alarms: Vec<usize> = run(d, &st.values)?.into_iter().map(|(i, _)| i).collect();
                score.add(&Score::of(&alarms, &st.change_points, st.values.len(), MARGIN));
            }
            rows.push(Row {
                detector: d.name().to_string(),
                scenario: sc.label(),
                scenario_spec: *sc,
                precision: score.precision(),
                recall: score.recall(),
                mean_delay: score.mean_delay(),
                false_alarms_per_10k: score.false_alarms_per_10k(),
                score,
            });
        }
    }
    Ok(Report {
        seed,
        margin: MARGIN,
        streams_per_scenario: STREAMS_PER_SCENARIO,
        detectors: detectors.to_vec(),
        rows,
    })
}

/// Every detector at its defaults over every [`Scenario::all`], from `seed`.
pub fn evaluate(seed: u64) -> Report {
    // The defaults are valid: building them cannot fail.
    evaluate_with(seed, &DetectorConfig::defaults(), &Scenario::all()).unwrap_or_else(|_| Report {
        seed,
        margin: MARGIN,
        streams_per_scenario: STREAMS_PER_SCENARIO,
        detectors: Vec::new(),
        rows: Vec::new(),
    })
}
