//! `zkq job <id>`, `zkq jobs --tenant T`.

use zkq_engine::EngineError;
use zkq_scheduler::model::JobView;

use super::services::runtime;
use crate::cli::{Format, JobArgs, JobsArgs};
use crate::exit::ExitCode;

fn line(j: &JobView) -> String {
    format!(
        "{:<36} {:<7} {:>8} {:>10} {:>14}  {}",
        j.job_id,
        j.state,
        j.batch_size.map(|b| b.to_string()).unwrap_or_else(|| "-".into()),
        j.timings.map(|t| format!("{:.1}", t.compute_h_ms + t.compute_a_ms + t.compute_b_g1_ms + t.compute_b_g2_ms + t.compute_c_ms + t.verify_ms)).unwrap_or_else(|| "-".into()),
        j.cost_usd.map(|c| format!("{c:.10}")).unwrap_or_else(|| "-".into()),
        j.reason_code.clone().unwrap_or_default()
    )
}

const HEADER: &str = "JOB                                  STATE      BATCH   PROVE_MS       COST_USD  REASON";

pub(super) fn job(args: JobArgs) -> anyhow::Result<ExitCode> {
    let j = runtime()?.block_on(async { args.services.store().await?.job(&args.id).await.map_err(anyhow::Error::from) })?;
    let Some(j) = j else {
        return Err(EngineError::format(args.id.clone(), "no such job").into());
    };
    match args.format.format {
        Format::Json => println!("{}", serde_json::to_string(&j)?),
        Format::Text => {
            println!("job:        {}", j.job_id);
            println!("tenant:     {}", j.tenant);
            println!("state:      {}", j.state);
            println!("circuit:    {}", j.circuit_id.as_deref().unwrap_or("-"));
            println!("purpose:    {}", j.purpose);
            println!("priority:   {}", j.priority);
            println!("submitted:  {}", j.submitted_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into()));
            println!("completed:  {}", j.completed_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into()));
            if let Some(code) = &j.reason_code {
                println!("failure:    {code}: {}", j.reason.as_deref().unwrap_or(""));
            }
            if let Some(t) = j.timings {
                println!(
                    "timings ms: queue {:.1}, held {:.1}, batch {:.1}; shares: witness {:.2}, H {:.2}, A {:.2}, B1 {:.2}, B2 {:.2}, C {:.2}, verify {:.2}",
                    t.queue_wait_ms,
                    t.held_ms,
                    t.batch_ms,
                    t.witness_load_ms,
                    t.compute_h_ms,
                    t.compute_a_ms,
                    t.compute_b_g1_ms,
                    t.compute_b_g2_ms,
                    t.compute_c_ms,
                    t.verify_ms
                );
            }
            println!("batch size: {}", j.batch_size.map(|b| b.to_string()).unwrap_or_else(|| "-".into()));
            println!("device:     {}", j.device.as_deref().unwrap_or("-"));
            println!("cost:       {}", j.cost_usd.map(|c| format!("${c:.10}")).unwrap_or_else(|| "-".into()));
        }
    }
    Ok(ExitCode::Ok)
}

pub(super) fn jobs(args: JobsArgs) -> anyhow::Result<ExitCode> {
    let js = runtime()?.block_on(async { args.services.store().await?.jobs(&args.tenant, args.limit).await.map_err(anyhow::Error::from) })?;
    match args.format.format {
        Format::Json => println!("{}", serde_json::to_string(&js)?),
        Format::Text => {
            println!("{HEADER}");
            for j in &js {
                println!("{}", line(j));
            }
        }
    }
    Ok(ExitCode::Ok)
}
