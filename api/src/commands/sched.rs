//! `zkq sched simulate | trace | synth`: the batch-size simulator SREs use before changing
//! `--max-batch` / `--max-wait-ms`, and the traces it replays. The simulator runs the worker's
//! own fair-queuing core (`zkq_scheduler::fair`), not a copy.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use zkq_engine::EngineError;
use zkq_scheduler::fair::cost::{cpu_memory_default, CircuitShape, DeviceSpec};
use zkq_scheduler::fair::sim::{simulate as run_simulation, FloodScenario, IntakeModel, IntakeOrder, PrefetchRule, SimConfig, SimReport, Trace, TraceCircuit};
use zkq_kernels::BackendKind;

use super::services::runtime;
use crate::cli::{Format, SimulateArgs, SynthArgs, TraceArgs};
use crate::exit::ExitCode;

fn bad(what: impl Into<String>, why: impl Into<String>) -> anyhow::Error {
    EngineError::format(what.into(), why.into()).into()
}

fn read_trace(path: &Path) -> anyhow::Result<Trace> {
    let bytes = std::fs::read(path).map_err(|source| EngineError::Io { path: path.to_owned(), action: "read", source })?;
    let mut trace: Trace = serde_json::from_slice(&bytes).map_err(|e| bad(path.display().to_string(), format!("not a zkq trace: {e}")))?;
    trace.validate().map_err(|e| bad(path.display().to_string(), e))?;
    Ok(trace)
}

fn write_out(out: &Path, trace: &Trace) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(trace)?;
    if out.as_os_str() == "-" {
        println!("{}", String::from_utf8_lossy(&json));
    } else {
        zkq_engine::io::write_atomic(out, &json)?;
        eprintln!("wrote {} jobs, {} tenants, {} circuits to {}", trace.jobs.len(), trace.tenants.len(), trace.circuits.len(), out.display());
    }
    Ok(())
}

/// The default device: the CPU backend with half of MemAvailable.
fn default_device() -> anyhow::Result<DeviceSpec> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").map_err(|source| EngineError::Io { path: "/proc/meminfo".into(), action: "read", source })?;
    let memory_bytes = cpu_memory_default(&meminfo).ok_or_else(|| bad("/proc/meminfo", "has no MemAvailable line; pass --devices"))?;
    Ok(DeviceSpec { name: "cpu0".into(), backend: BackendKind::Cpu, memory_bytes })
}

pub(super) fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    if args.max_batch == 0 {
        return Err(bad("--max-batch", "must be at least 1"));
    }
    let trace = read_trace(&args.trace)?;
    let devices = if args.devices.is_empty() {
        vec![default_device()?]
    } else {
        args.devices.iter().enumerate().map(|(i, d)| DeviceSpec::parse(d, i).map_err(|e| bad("--devices", e))).collect::<anyhow::Result<Vec<_>>>()?
    };
    let positive = |flag: &str, v: Option<f64>| match v {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(bad(flag, format!("must be a positive number, got {v}"))),
        _ => Ok(v),
    };
    let millis = |flag: &str, v: f64| {
        if v.is_finite() && (0.0..=3_600_000.0).contains(&v) {
            Ok(Duration::from_secs_f64(v / 1e3))
        } else {
            Err(bad(flag, format!("must be 0 to 3600000 milliseconds, got {v}")))
        }
    };
    let intake = IntakeModel {
        rate_per_s: positive("--intake-rate", args.intake_rate)?,
        per_consumer_per_s: positive("--consumer-rate", args.consumer_rate)?,
        batch_overhead: millis("--batch-overhead-ms", args.batch_overhead_ms)?,
        ack_latency: millis("--ack-latency-ms", args.ack_latency_ms)?,
        order: args.intake_order.into(),
        prefetch: args.prefetch_rule.into(),
    };
    let config = SimConfig {
        max_batch: args.max_batch,
        max_wait: Duration::from_millis(args.max_wait_ms),
        devices,
        prefetch_per_tenant: args.prefetch.unwrap_or(4 * args.max_batch).max(1),
        intake,
        device_queue: args.device_queue,
        window: args.window_ms.map(Duration::from_millis),
    };
    let report = run_simulation(&trace, &config).map_err(|e| bad(args.trace.display().to_string(), e))?;
    match args.format.format {
        Format::Json => println!("{}", serde_json::to_string(&report)?),
        Format::Text => print_report(&report, &config),
    }
    Ok(ExitCode::Ok)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

fn print_report(r: &SimReport, c: &SimConfig) {
    let i = &c.intake;
    let rule = match i.prefetch {
        PrefetchRule::Weighted => "× weight",
        PrefetchRule::Flat => "flat",
    };
    println!(
        "simulated {} jobs on {} device(s): max batch {}, max wait {} ms, prefetch {}/tenant ({rule})",
        r.jobs,
        c.devices.len(),
        c.max_batch,
        c.max_wait.as_millis(),
        c.prefetch_per_tenant
    );
    println!(
        "intake: {} deliveries/s ({} order), {} per consumer, batch overhead {:.1} ms, ack latency {:.1} ms; loop busy {:.1}%",
        i.rate_per_s.map_or_else(|| "unlimited".into(), |v| format!("{v:.0}")),
        match i.order {
            IntakeOrder::Weighted => "weighted",
            IntakeOrder::RoundRobin => "round-robin",
        },
        i.per_consumer_per_s.map_or_else(|| "no limit".into(), |v| format!("{v:.0}/s")),
        i.batch_overhead.as_secs_f64() * 1e3,
        i.ack_latency.as_secs_f64() * 1e3,
        r.intake_busy * 100.0
    );
    println!(
        "throughput {:.1} proofs/s over {:.2} s; {} batches, mean {:.2} jobs; proved {}, rejected (fit no device) {}, deadline_exceeded {}",
        r.throughput_per_s, r.span_s, r.batches, r.mean_batch, r.proved, r.rejected, r.deadline_exceeded
    );
    println!("{:<10} {:>8} {:>12}", "DEVICE", "BATCHES", "UTILISATION");
    for d in &r.devices {
        println!("{:<10} {:>8} {:>11.1}%", d.name, d.batches, d.utilisation * 100.0);
    }
    match &r.fairness {
        Some(f) => {
            println!("fairness over {} windows of {:.3} s (tenants backlogged throughout each window):", f.windows, r.window_s);
            println!("  Gini   worst {:.4}  mean {:.4}   (target <= 0.05)", f.gini_worst, f.gini_mean);
            println!("  Jain   worst {:.4}  mean {:.4}   (target >= 0.99)", f.jain_worst, f.jain_mean);
            println!("  floor  worst {:.3}  mean {:.3}   (service / weighted share; target >= 0.80)", f.floor_worst, f.floor_mean);
        }
        None => println!("fairness: no window of {:.3} s had two tenants backlogged throughout", r.window_s),
    }
    println!("{:<16} {:>6} {:>8} {:>8} {:>9} {:>12} {:>12} {:>12} {:>8}", "TENANT", "WEIGHT", "JOBS", "PROVED", "DEADLINE", "P50_WAIT_MS", "P95_WAIT_MS", "MAX_WAIT_MS", "MAX_BATCHES_WAITED");
    for t in &r.tenants {
        println!(
            "{:<16} {:>6} {:>8} {:>8} {:>9} {:>12} {:>12} {:>12} {:>8}",
            t.tenant,
            t.weight,
            t.jobs,
            t.proved,
            t.deadline_exceeded,
            opt(t.p50_wait_ms, 1),
            opt(t.p95_wait_ms, 1),
            opt(t.max_wait_ms, 1),
            t.max_batches_waited.map_or_else(|| "-".into(), |b| b.to_string())
        );
    }
}

fn instant(flag: &str, v: &Option<String>) -> anyhow::Result<Option<DateTime<Utc>>> {
    v.as_deref()
        .map(|s| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| bad(flag, format!("`{s}` is not an RFC 3339 instant: {e}"))))
        .transpose()
}

pub(super) fn trace(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let since = instant("--since", &args.since)?;
    let until = instant("--until", &args.until)?;
    let trace = runtime()?.block_on(async { args.services.store().await?.record_trace(since, until, args.limit).await.map_err(anyhow::Error::from) })?;
    write_out(&args.out, &trace)?;
    Ok(ExitCode::Ok)
}

pub(super) fn synth(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let positive = |flag: &str, v: f64| if v.is_finite() && v > 0.0 { Ok(v) } else { Err(bad(flag, format!("must be a positive number, got {v}"))) };
    positive("--flood-factor", args.flood_factor)?;
    positive("--load", args.load)?;
    positive("--duration-secs", args.duration_secs)?;
    positive("--quiet-every-secs", args.quiet_every_secs)?;
    positive("--per-proof-ms", args.per_proof_ms)?;
    if !(args.fixed_ms.is_finite() && args.fixed_ms >= 0.0) {
        return Err(bad("--fixed-ms", "must be a non-negative number"));
    }
    if args.tenants < 3 {
        return Err(bad("--tenants", "the flood scenario needs at least 3 tenants (a flooder, a quiet one, backlogged ones)"));
    }
    let scenario = FloodScenario {
        tenants: args.tenants,
        burst: args.burst,
        flood_factor: args.flood_factor,
        load: args.load,
        duration: Duration::from_secs_f64(args.duration_secs),
        quiet_every: Duration::from_secs_f64(args.quiet_every_secs),
        circuit: TraceCircuit {
            id: "synthetic".into(),
            shape: CircuitShape { n_vars: 1 << 12, n_public: 1, domain_size: 1 << 13, zkey_bytes: 2 << 20 },
            fixed_ms: Some(args.fixed_ms),
            per_proof_ms: Some(args.per_proof_ms),
        },
        max_batch: args.max_batch.max(1),
        seed: args.seed,
    };
    write_out(&args.out, &scenario.trace())?;
    Ok(ExitCode::Ok)
}
