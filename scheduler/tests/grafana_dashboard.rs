//! The Grafana dashboard in `infra/grafana/zkq-dashboard.json` (Classic model) only queries
//! metrics the worker exports: every metric name in every panel `expr` and template query must
//! be a series of a rendered `/metrics` scrape (and so of `zkq_scheduler::metrics::METRICS`).

use std::collections::BTreeSet;

use zkq_scheduler::fair::metrics::FAIRNESS_METRIC_NAMES;
use zkq_scheduler::metrics::{series_names, METRICS};

mod scrape;

fn dashboard() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/grafana/zkq-dashboard.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read the dashboard")).expect("the dashboard is JSON")
}

/// Series names of a scrape of a worker that has done one of everything.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_owned())
        .collect()
}

/// The fair scheduler's families, every one with samples.
fn fairness_exported() -> BTreeSet<String> {
    series(&scrape::fairness())
}

fn exported() -> BTreeSet<String> {
    series(&scrape::worker())
}

/// Identifiers in a PromQL expression that look like zkq metric names.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cur = String::new();
    let mut in_string = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_string = !in_string;
            cur.clear();
            continue;
        }
        if !in_string && (c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            cur.push(c);
        } else {
            if cur.starts_with("zkq_") {
                names.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    names
}

#[test]
fn every_query_names_an_exported_metric() {
    let mut exported = exported();
    let listed: BTreeSet<String> = METRICS.iter().flat_map(|(n, k)| series_names(n, k)).collect();
    assert_eq!(exported, listed, "METRICS lists exactly the rendered series");
    let fairness = fairness_exported();
    for family in FAIRNESS_METRIC_NAMES {
        assert!(fairness.iter().any(|s| s.starts_with(family)), "fairness family {family} renders samples");
    }
    exported.extend(fairness);

    let d = dashboard();
    let mut queries: Vec<String> = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            queries.push(t["expr"].as_str().expect("expr").to_owned());
        }
    }
    for v in d["templating"]["list"].as_array().expect("templating") {
        queries.push(v["definition"].as_str().expect("definition").to_owned());
    }
    assert!(queries.len() >= 9);
    let mut used = BTreeSet::new();
    for q in &queries {
        let names = metric_names(q);
        assert!(!names.is_empty(), "query names no zkq metric: {q}");
        for n in names {
            assert!(exported.contains(&n), "query uses {n}, which the worker does not export: {q}");
            used.insert(n);
        }
    }
    for family in ["zkq_fairness_gini", "zkq_tenant_share_ratio", "zkq_tenant_wait_seconds_bucket", "zkq_jobs_total", "zkq_job_end_to_end_seconds_bucket", "zkq_batch_size_bucket", "zkq_oldest_queued_job_age_seconds", "zkq_key_cache_hits_total", "zkq_key_cache_misses_total", "zkq_cost_usd_total"] {
        assert!(used.contains(family), "the dashboard shows {family}");
    }
}

#[test]
fn the_dashboard_is_classic_importable_json() {
    let d = dashboard();
    assert_eq!(d["uid"], "zkq-workers");
    assert!(d["schemaVersion"].as_i64().is_some_and(|v| v >= 30));
    assert_eq!(d["__inputs"][0]["name"], "DS_PROMETHEUS");
    let mut ids = BTreeSet::new();
    for p in d["panels"].as_array().expect("panels") {
        assert!(ids.insert(p["id"].as_i64().expect("id")), "panel ids are unique");
        assert!(p["gridPos"]["w"].as_i64().is_some() && p["gridPos"]["h"].as_i64().is_some());
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}");
    }
}

#[test]
fn the_name_scanner_skips_label_values() {
    assert_eq!(metric_names(r#"sum(rate(zkq_jobs_total{outcome="zkq_fake"}[5m])) / zkq_b"#), ["zkq_jobs_total", "zkq_b"]);
}
