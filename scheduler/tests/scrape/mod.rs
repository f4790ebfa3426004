//! Scrapes of a worker that has done one of everything, shared by the tests that check
//! monitoring files against what the worker exports (`grafana_dashboard.rs`, `alert_rules.rs`).

use std::time::Duration;

use zkq_scheduler::fair::FairnessMetrics;
use zkq_scheduler::metrics::{JobOutcomeLabel, MetricsConfig, WorkerMetrics};

/// The worker's own families, every one with samples.
pub fn worker() -> String {
    let m = WorkerMetrics::new("w", &MetricsConfig::default());
    for o in [JobOutcomeLabel::Proved, JobOutcomeLabel::Failed] {
        m.job_finished(o, Some(0.5));
    }
    m.batch_ran("cpu-2core", 4, 1.0, 0.001);
    m.device_panicked();
    m.key_cache(true);
    m.key_cache(false);
    m.set_oldest_queued_age(Some(1.0));
    m.loop_time("wait", Duration::from_millis(5));
    m.budget_blocked("acme", "fraud-check");
    m.budget_remaining("acme", "fraud-check", 250_000);
    m.policy_decision("acme", true);
    m.policy_decision("acme", false);
    m.undeliverable(true);
    m.undeliverable(false);
    m.queue_conflict();
    m.set_held(10, 100, true);
    m.consumption_paused();
    m.render()
}

/// The fair scheduler's families (appended to every scrape by the worker), with a window of two
/// backlogged tenants so every family has samples.
pub fn fairness() -> String {
    let f = FairnessMetrics::new(Duration::from_secs(10), vec![0.1, 1.0]);
    let s = Duration::from_secs;
    for t in ["a", "b"] {
        f.set_weight(t, 1.0);
        f.backlog(t, s(0), 3);
    }
    for k in 0..30u64 {
        let at = s(1) + Duration::from_millis(k * 100);
        f.served("a", at, 1.0, Duration::from_millis(50));
        f.served("b", at, 1.0, Duration::from_millis(60));
    }
    f.deadline_exceeded("a");
    f.delivered("a");
    f.held("a", zkq_scheduler::fair::HeldJobs { intake: 1, queue: 1, device: 1 });
    f.refresh(s(10));
    let mut text = String::new();
    f.render(&mut text);
    text
}
