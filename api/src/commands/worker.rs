//! `zkq worker`.

use std::time::Duration;

use std::sync::Arc;

use zkq_engine::EngineError;
use zkq_scheduler::config::{AttestConfig, BudgetConfig, PolicyConfig, WorkerConfig};
use zkq_scheduler::device::FaultInjection;
use zkq_scheduler::fair::cost::parse_bytes;
use zkq_scheduler::fair::metrics::DEFAULT_WAIT_BUCKETS;
use zkq_scheduler::fair::FairnessMetrics;
use zkq_scheduler::metrics::{parse_buckets, MetricsConfig};
use zkq_scheduler::SchedulerError;

use super::services::runtime;
use crate::cli::WorkerArgs;
use crate::exit::ExitCode;

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}

/// `--metrics-addr` (`host:port` or `off`) and the bucket flags.
fn metrics_config(addr: &str, batch: &str, latency: &str) -> anyhow::Result<MetricsConfig> {
    let bad = |flag: &str, e: String| SchedulerError::Invalid(format!("{flag}: {e}"));
    let addr = if addr.eq_ignore_ascii_case("off") {
        None
    } else {
        Some(addr.parse().map_err(|_| bad("--metrics-addr", format!("{addr:?} is not host:port (an IP address and a port) or `off`")))?)
    };
    Ok(MetricsConfig {
        addr,
        batch_size_buckets: parse_buckets(batch).map_err(|e| bad("--metrics-batch-buckets", e))?,
        latency_buckets_seconds: parse_buckets(latency).map_err(|e| bad("--metrics-latency-buckets", e))?,
        sources: Vec::new(),
    })
}

pub(super) fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let device_memory_bytes = match &args.device_memory {
        None => None,
        Some(text) => match parse_bytes(text) {
            Some(b) if b > 0 => Some(b),
            _ => return Err(EngineError::format("--device-memory", format!("`{text}` is not a positive size (use e.g. 8GiB, 512MiB or a byte count)")).into()),
        },
    };
    let null_prover_delay = match args.null_prover_ms.as_slice() {
        [] => (Duration::ZERO, Duration::ZERO),
        [fixed, per] if fixed.is_finite() && per.is_finite() && *fixed >= 0.0 && *per >= 0.0 => {
            (Duration::from_secs_f64(fixed / 1e3), Duration::from_secs_f64(per / 1e3))
        }
        _ => return Err(EngineError::format("--null-prover-ms", "expects FIXED,PER_PROOF: two non-negative milliseconds").into()),
    };
    // The fairness metrics: the worker updates them; a metrics endpoint renders them
    // (`FairnessMetrics::render`) from this same Arc.
    let fairness_metrics = Arc::new(FairnessMetrics::new(Duration::from_secs(args.fairness_window_secs.max(1)), DEFAULT_WAIT_BUCKETS.to_vec()));
    let mut amqp = args.services.amqp()?;
    amqp.delivery_limit = args.delivery_limit;
    let config = WorkerConfig {
        amqp,
        store: args.services.store_config(),
        key_dir: args.services.key_dir(),
        witness_dir: args.services.witness_dir(),
        backend: args.backend.config(),
        device_type: args.device_type,
        worker_id: args.worker_id.unwrap_or_else(default_worker_id),
        max_batch: args.max_batch.max(1),
        max_wait: Duration::from_millis(args.max_wait_ms),
        max_message_bytes: args.max_message_mib << 20,
        held_bytes_budget: args.held_budget_mib.saturating_mul(1 << 20),
        null_prover: args.null_prover,
        null_prover_delay,
        device_memory_bytes,
        fairness_metrics,
        region: args.region.filter(|r| !r.trim().is_empty()),
        heartbeat_interval: Duration::from_secs(args.heartbeat_secs.max(1)),
        metrics: metrics_config(&args.metrics_addr, &args.metrics_batch_buckets, &args.metrics_latency_buckets)?,
        intake_order: args.intake_order.into(),
        prefetch_rule: args.prefetch_rule.into(),
        // A test hook (api/tests/worker_faults.rs): never set in production.
        device_fault: FaultInjection { panic_on_job_prefix: std::env::var("ZKQ_TEST_DEVICE_PANIC").ok().filter(|p| !p.is_empty()) },
        budget: BudgetConfig {
            signing_key: Some(args.services.signing_key()?),
            reservation_ttl: Duration::from_secs(args.reservation_ttl_secs.max(1)),
            contact: args.budget_contact.clone(),
        },
        attest: AttestConfig { enabled: !args.no_attest, log_origin: args.log_origin.clone() },
        policy: PolicyConfig { enabled: !args.no_policy, reload_interval: Duration::from_millis(args.policy_reload_ms.max(100)) },
        ..Default::default()
    };
    let rt = runtime()?;
    let stats = rt.block_on(async move {
        let shutdown = async {
            super::services::shutdown_signal().await;
            tracing::info!("shutdown requested: draining in-flight batches");
        };
        zkq_scheduler::worker::run(config, shutdown).await
    })?;
    eprintln!("zkq worker: stopped ({} proved, {} failed, {} re-sent, {} broker sessions)", stats.proved, stats.failed, stats.resent, stats.sessions);
    Ok(ExitCode::Ok)
}
