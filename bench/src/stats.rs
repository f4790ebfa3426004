//! Summaries of repeated runs of one tool on one fixture.

use std::time::Duration;

use serde::Serialize;

/// Median, spread and peak memory of a set of runs, plus the ratio against zkq's median.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Fixture name.
    pub fixture: String,
    /// Tool name (`zkq`, `snarkjs`, `rapidsnark`).
    pub tool: String,
    /// Number of timed runs.
    pub runs: usize,
    /// Median wall time, seconds (mean of the middle two for an even count).
    pub median_s: f64,
    /// Fastest run, seconds.
    pub min_s: f64,
    /// Slowest run, seconds.
    pub max_s: f64,
    /// `1 / median_s`: proofs per second at the median.
    pub proofs_per_s: f64,
    /// Median CPU time per proof (user + system over all threads), seconds; `None` where not
    /// measured. On a shared machine it moves far less than wall time.
    pub cpu_median_s: Option<f64>,
    /// Largest peak RSS over the runs, MiB (`None` where not measurable).
    pub peak_rss_mib: Option<f64>,
    /// `median / zkq's median` on the same fixture (`None` until [`fill_ratios`], or with no
    /// zkq row for the fixture). Above 1: slower than zkq.
    pub ratio_vs_zkq: Option<f64>,
    /// Every timed run, seconds, in run order.
    pub times_s: Vec<f64>,
}

impl Summary {
    /// Summarises `times` and per-run peak RSS (bytes). `None` for no runs.
    pub fn new(
        fixture: &str,
        tool: &str,
        times: &[Duration],
        rss_bytes: &[Option<u64>],
    ) -> Option<Self> {
        let times_s: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
        let mut sorted = times_s.clone();
        sorted.sort_by(f64::total_cmp);
        let (&min_s, &max_s) = (sorted.first()?, sorted.last()?);
        let peak = rss_bytes
            .iter()
            .copied()
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().max());
        let median_s = median_sorted(&sorted);
        Some(Self {
            fixture: fixture.to_owned(),
            tool: tool.to_owned(),
            runs: times_s.len(),
            median_s,
            proofs_per_s: 1.0 / median_s.max(f64::MIN_POSITIVE),
            cpu_median_s: None,
            min_s,
            max_s,
            peak_rss_mib: peak.map(|b| b as f64 / (1024.0 * 1024.0)),
            ratio_vs_zkq: None,
            times_s,
        })
    }
}

impl Summary {
    /// Sets [`Summary::cpu_median_s`] from per-run CPU times (`None` if any run lacks one).
    pub fn with_cpu(mut self, cpu: &[Option<Duration>]) -> Self {
        self.cpu_median_s = cpu.iter().map(|c| c.map(|d| d.as_secs_f64())).collect::<Option<Vec<f64>>>().and_then(|mut v| {
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| median_sorted(&v))
        });
        self
    }
}

/// Median of a sorted, non-empty slice.
fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Sets every row's [`Summary::ratio_vs_zkq`] from the `zkq` row of the same fixture.
pub fn fill_ratios(rows: &mut [Summary]) {
    let zkq: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| r.tool == "zkq")
        .map(|r| (r.fixture.clone(), r.median_s))
        .collect();
    for row in rows.iter_mut() {
        row.ratio_vs_zkq = zkq
            .iter()
            .find(|(f, _)| *f == row.fixture)
            .filter(|(_, m)| *m > 0.0)
            .map(|(_, m)| row.median_s / m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&x| Duration::from_millis(x)).collect()
    }

    #[test]
    fn median_min_max_and_ratio() {
        let a = Summary::new(
            "f",
            "zkq",
            &ms(&[30, 10, 20]),
            &[Some(1 << 20), Some(3 << 20), Some(2 << 20)],
        );
        let b = Summary::new(
            "f",
            "snarkjs",
            &ms(&[100, 40, 60, 80]),
            &[None, None, None, None],
        );
        let mut rows = vec![a.expect("runs"), b.expect("runs")];
        fill_ratios(&mut rows);
        assert!((rows[0].median_s - 0.020).abs() < 1e-12);
        assert!((rows[0].min_s - 0.010).abs() < 1e-12 && (rows[0].max_s - 0.030).abs() < 1e-12);
        assert_eq!(rows[0].peak_rss_mib, Some(3.0));
        assert!((rows[1].median_s - 0.070).abs() < 1e-12);
        assert_eq!(rows[1].peak_rss_mib, None);
        assert!((rows[1].ratio_vs_zkq.expect("ratio") - 3.5).abs() < 1e-9);
        assert!((rows[0].ratio_vs_zkq.expect("ratio") - 1.0).abs() < 1e-12);
        assert!(Summary::new("f", "zkq", &[], &[]).is_none());
        assert!((rows[0].proofs_per_s - 50.0).abs() < 1e-9);
        let with = rows[0].clone().with_cpu(&[Some(Duration::from_millis(5)), Some(Duration::from_millis(9)), Some(Duration::from_millis(7))]);
        assert!((with.cpu_median_s.expect("cpu") - 0.007).abs() < 1e-12);
        assert_eq!(rows[0].clone().with_cpu(&[Some(Duration::from_millis(5)), None]).cpu_median_s, None);
    }
}
