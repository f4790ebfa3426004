//! What `zkq-side-by-side` prints: a text table or a JSON document.

use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::Summary;

/// One tool and the executable that ran it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `zkq`, `snarkjs` or `rapidsnark`.
    pub name: String,
    /// The executable.
    pub path: String,
}

/// A whole side-by-side run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Timed runs per tool and fixture.
    pub runs: usize,
    /// Untimed (but verified) runs per tool and fixture before the timed ones.
    pub warmup_runs: usize,
    /// Logical CPUs of this machine.
    pub cpus: usize,
    /// `/proc/loadavg` when the run ended (Linux), to judge how busy the machine was.
    pub load_average: Option<String>,
    /// The tools compared.
    pub tools: Vec<ToolInfo>,
    /// One row per fixture and tool, fixtures in order, zkq first.
    pub results: Vec<Summary>,
}

/// The one-minute/five-minute/fifteen-minute load averages, where the OS exposes them.
pub fn load_average() -> Option<String> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Renders the report as an aligned text table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let fw = report
        .results
        .iter()
        .map(|r| r.fixture.len())
        .max()
        .unwrap_or(0)
        .max("fixture".len());
    let tw = report
        .results
        .iter()
        .map(|r| r.tool.len())
        .max()
        .unwrap_or(0)
        .max("tool".len());
    let _ = writeln!(
        out,
        "{:<fw$}  {:<tw$}  {:>4}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>12}  {:>8}",
        "fixture", "tool", "runs", "median s", "min s", "max s", "proofs/s", "CPU s", "peak RSS MiB", "vs zkq"
    );
    for r in &report.results {
        let rss = r
            .peak_rss_mib
            .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.1}"));
        let ratio = r
            .ratio_vs_zkq
            .map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}x"));
        let cpu = r.cpu_median_s.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.4}"));
        let _ = writeln!(
            out,
            "{:<fw$}  {:<tw$}  {:>4}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9.2}  {:>9}  {:>12}  {:>8}",
            r.fixture, r.tool, r.runs, r.median_s, r.min_s, r.max_s, r.proofs_per_s, cpu, rss, ratio
        );
    }
    let _ = writeln!(
        out,
        "\n{} timed run(s) per row after {} warm-up run(s); one process per proof (a `zkq warm` row: \
         seconds per proof in a batch of one warm process, one run per timed batch), every proof \
         verified; CPU s: user + system per proof; {} CPUs, load average {}.",
        report.runs,
        report.warmup_runs,
        report.cpus,
        report.load_average.as_deref().unwrap_or("n/a")
    );
    for t in &report.tools {
        let _ = writeln!(out, "{:<tw$}  {}", t.name, t.path);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn table_has_a_row_per_result() {
        let s = Summary::new(
            "multi_public",
            "zkq",
            &[Duration::from_millis(12)],
            &[Some(8 << 20)],
        )
        .expect("runs");
        let report = Report {
            runs: 1,
            warmup_runs: 0,
            cpus: 2,
            load_average: None,
            tools: vec![ToolInfo {
                name: "zkq".into(),
                path: "/bin/zkq".into(),
            }],
            results: vec![s],
        };
        let t = table(&report);
        assert!(t
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("multi_public") && l.contains("8.0")));
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["results"][0]["tool"], "zkq");
    }
}
