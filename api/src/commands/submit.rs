//! `zkq submit`: publish one job per witness with publisher confirms, wait for the results,
//! print a summary.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::json;
use zkq_engine::EngineError;
use zkq_scheduler::client::{now_ms, OutgoingJob, Submitter};
use zkq_scheduler::model::{JobMeta, Outcome};

use super::services::runtime;
use crate::cli::{Format, SubmitArgs};
use crate::exit::ExitCode;
use crate::progress;

/// Confirms outstanding at once: enough to keep the broker busy, bounded memory.
const CONFIRM_WINDOW: usize = 512;
/// Times a job the broker refused (nacked) is published again, after 0.2, 0.4, 0.8 s, before
/// `zkq submit` reports it as not submitted. A nack means the job may or may not be queued, and
/// publishing it again under the same job id is safe: the worker keeps one result per job id,
/// though a copy queued by a refused try is proved again. RabbitMQ 3.10 nacks publishes into a
/// quorum queue another connection is still creating, for a moment.
const NACK_RETRIES: u32 = 3;

fn collect_witnesses(paths: &[PathBuf]) -> Result<Vec<PathBuf>, EngineError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| EngineError::Io { path: p.clone(), action: "open", source })?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|source| EngineError::Io { path: p.clone(), action: "read directory", source })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "wtns"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(EngineError::format(p.display().to_string(), "directory holds no .wtns files"));
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, EngineError> {
    std::fs::read(path).map_err(|source| EngineError::Io { path: path.to_owned(), action: "read", source })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(super) fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    if args.priority > 9 {
        return Err(EngineError::format("--priority", format!("{} is outside 0–9", args.priority)).into());
    }
    let files = collect_witnesses(&args.witnesses)?;
    let witnesses = files.iter().map(|f| read(f)).collect::<Result<Vec<_>, _>>()?;
    runtime()?.block_on(run(args, files, witnesses))
}

async fn run(args: SubmitArgs, files: Vec<PathBuf>, witnesses: Vec<Vec<u8>>) -> anyhow::Result<ExitCode> {
    zkq_scheduler::client::may_submit_for(&args.services.amqp()?, &args.tenant)?;
    let store = args.services.store().await?;
    if store.tenant(&args.tenant).await?.is_none() {
        return Err(EngineError::format("--tenant", format!("tenant `{}` is not registered (see `zkq tenant add`)", args.tenant)).into());
    }
    let Some(circuit) = store.resolve_circuit(&args.circuit).await? else {
        return Err(EngineError::format("--circuit", format!("circuit `{}` is not registered (see `zkq circuit list`)", args.circuit)).into());
    };
    let deadline_ms = args.deadline_secs.map(|s| now_ms() + (s * 1e3) as i64);
    let mut jobs = Vec::with_capacity(files.len() * args.repeat.max(1));
    for _ in 0..args.repeat.max(1) {
        for w in &witnesses {
            jobs.push(OutgoingJob {
                job_id: uuid::Uuid::new_v4().to_string(),
                tenant: args.tenant.clone(),
                circuit: format!("sha256:{}", circuit.id),
                purpose: args.purpose.clone(),
                priority: args.priority,
                deadline_ms,
                witness: w.clone(),
            });
        }
    }
    // Record the jobs as queued before publishing: every result row then has its job.
    let metas: Vec<JobMeta> = jobs
        .iter()
        .map(|j| JobMeta {
            job_id: j.job_id.clone(),
            tenant: j.tenant.clone(),
            circuit_ref: j.circuit.clone(),
            circuit_id: Some(circuit.id.clone()),
            purpose: j.purpose.clone(),
            priority: j.priority,
            deadline_ms: j.deadline_ms,
            submitted_at_ms: Some(now_ms()),
            reply_to: None,
            witness_sha256: Some(hex_sha256(&j.witness)),
            epsilon_micro: None,
            policy: None,
        })
        .collect();
    store.insert_queued_jobs(&metas).await?;

    // With --store-witnesses, each distinct witness goes into the content-addressed store once.
    if args.store_witnesses {
        let dir = args.services.witness_dir();
        // Witnesses are private: the store is 0700, each file 0600, written atomically.
        zkq_engine::io::create_private_dir(&dir)?;
        for w in &witnesses {
            let path = dir.join(format!("{}.wtns", hex_sha256(w)));
            if !path.exists() {
                zkq_engine::io::write_private(&path, w)?;
            }
        }
    }
    let mut submitter = Submitter::connect(&args.services.amqp()?).await?;
    let start = Instant::now();
    let mut sent_at: HashMap<String, Instant> = HashMap::with_capacity(jobs.len());
    let bar = progress::bar(jobs.len() as u64, "published");
    let mut pending: FuturesUnordered<_> = FuturesUnordered::new();
    let by_id: HashMap<&str, &OutgoingJob> = jobs.iter().map(|j| (j.job_id.as_str(), j)).collect();
    let mut nacks: HashMap<String, u32> = HashMap::new();
    let mut queue: std::collections::VecDeque<&OutgoingJob> = jobs.iter().collect();
    loop {
        // Keep at most CONFIRM_WINDOW publishes unconfirmed; a nacked job goes back in line.
        while pending.len() < CONFIRM_WINDOW {
            let Some(job) = queue.pop_front() else { break };
            sent_at.insert(job.job_id.clone(), Instant::now());
            let published = if args.store_witnesses {
                submitter.publish_with_witness_ref(job, &hex_sha256(&job.witness)).await?
            } else {
                submitter.publish(job).await?
            };
            pending.push(published.confirmed());
        }
        let Some(r) = pending.next().await else { break };
        match r {
            Ok(_) => bar.inc(1),
            Err((id, zkq_scheduler::SchedulerError::NotSubmitted { returned: false, .. }))
                if nacks.get(&id).copied().unwrap_or(0) < NACK_RETRIES && by_id.contains_key(id.as_str()) =>
            {
                let tries = nacks.entry(id.clone()).or_insert(0);
                *tries += 1;
                tracing::debug!(job = %id, tries = *tries, "the broker refused the job (nack); publishing it again");
                tokio::time::sleep(Duration::from_millis(200 << (*tries - 1))).await;
                queue.push_back(by_id[id.as_str()]);
            }
            Err(e) => return Err(not_confirmed(&store, e).await),
        }
    }
    bar.finish_and_clear();
    let published = start.elapsed();
    if args.no_wait {
        match args.format.format {
            Format::Json => println!("{}", json!({"published": jobs.len(), "seconds": published.as_secs_f64(), "job_ids": jobs.iter().map(|j| &j.job_id).collect::<Vec<_>>()})),
            Format::Text => println!("published {} jobs in {:.2} s (confirmed by the broker); not waiting for results", jobs.len(), published.as_secs_f64()),
        }
        return Ok(ExitCode::Ok);
    }

    let bar = progress::bar(jobs.len() as u64, "results");
    let timeout = Duration::from_secs(args.timeout_secs);
    let mut latencies = Vec::with_capacity(jobs.len());
    let (mut proved, mut usd, mut device_seconds) = (0usize, 0.0f64, 0.0f64);
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed_jobs = Vec::new();
    while !sent_at.is_empty() {
        let left = timeout.saturating_sub(start.elapsed());
        let next = match tokio::time::timeout(left, submitter.next_result()).await {
            Ok(Some(r)) => r?,
            Ok(None) => return Err(anyhow::anyhow!("the broker closed the reply queue with {} results outstanding", sent_at.len())),
            Err(_) => break,
        };
        // Results may come twice (a redelivered job's stored result is re-sent): count once.
        let Some(t) = sent_at.remove(&next.job_id) else { continue };
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        bar.inc(1);
        if let Some(c) = next.cost {
            usd += c.usd;
            device_seconds += c.device_seconds;
        }
        match next.outcome {
            Outcome::Proved { .. } => proved += 1,
            Outcome::Failed { code, reason } => {
                *failures.entry(code.to_string()).or_default() += 1;
                if failed_jobs.len() < 20 {
                    failed_jobs.push(json!({"job_id": next.job_id, "code": code, "reason": reason}));
                }
            }
        }
    }
    bar.finish_and_clear();
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let failed: usize = failures.values().sum();
    let outstanding = sent_at.len();
    let per_proof = if proved > 0 { usd / proved as f64 } else { 0.0 };
    match args.format.format {
        Format::Json => println!(
            "{}",
            json!({
                "submitted": jobs.len(), "proved": proved, "failed": failed, "outstanding": outstanding,
                "failures": failures, "failed_jobs": failed_jobs, "seconds": elapsed,
                "jobs_per_second": (proved + failed) as f64 / elapsed,
                "latency_ms": {"p50": percentile(&latencies, 50.0), "p95": percentile(&latencies, 95.0), "p99": percentile(&latencies, 99.0), "max": latencies.last().copied().unwrap_or(0.0)},
                "device_seconds": device_seconds, "cost_usd_total": usd, "cost_usd_per_proof": per_proof,
                "circuit": circuit.label(), "tenant": args.tenant,
            })
        ),
        Format::Text => {
            println!(
                "{} jobs for {} on {}: {proved} proved, {failed} failed{} in {elapsed:.2} s ({:.1} jobs/s)",
                jobs.len(),
                args.tenant,
                circuit.label(),
                if outstanding > 0 { format!(", {outstanding} without a result") } else { String::new() },
                (proved + failed) as f64 / elapsed
            );
            println!(
                "end-to-end latency: p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                percentile(&latencies, 50.0),
                percentile(&latencies, 95.0),
                percentile(&latencies, 99.0),
                latencies.last().copied().unwrap_or(0.0)
            );
            println!("cost: ${usd:.8} for {device_seconds:.3} device-seconds; ${per_proof:.10} per proof (${:.6} per 1k proofs)", per_proof * 1000.0);
            for (code, n) in &failures {
                println!("  failed {code}: {n}");
            }
            for f in failed_jobs.iter().take(5) {
                println!("  e.g. {}: {}", f["job_id"].as_str().unwrap_or(""), f["reason"].as_str().unwrap_or(""));
            }
        }
    }
    Ok(if outstanding > 0 {
        ExitCode::Timeout
    } else if failed > 0 {
        ExitCode::JobsFailed
    } else {
        ExitCode::Ok
    })
}

/// A publish the broker did not confirm, as an error that keeps its type (for the exit code:
/// a returned or refused job is `NotSubmitted`, 10; a lost connection is a service error, 8).
/// A job the broker returned is in no queue: its `queued` row is deleted, so that it does not
/// age as queued forever (a nacked one may be queued after all, and keeps its row).
async fn not_confirmed(
    store: &zkq_scheduler::store::Store,
    (id, e): (String, zkq_scheduler::SchedulerError),
) -> anyhow::Error {
    match e {
        e @ zkq_scheduler::SchedulerError::NotSubmitted { returned, .. } => {
            if returned {
                if let Err(forget) = store.forget_unsubmitted(std::slice::from_ref(&id)).await {
                    tracing::warn!(job = %id, error = %forget, "cannot delete the queued row of a job the broker returned");
                }
            }
            anyhow::Error::new(e)
        }
        e => anyhow::Error::new(e).context(format!("job {id}")),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
