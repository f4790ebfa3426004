//! `zkq worker`.

use std::time::Duration;

use zkq_scheduler::config::WorkerConfig;

use super::services::runtime;
use crate::cli::WorkerArgs;
use crate::exit::ExitCode;

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}

pub(super) fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let mut amqp = args.services.amqp();
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
        null_prover: args.null_prover,
        ..Default::default()
    };
    let rt = runtime()?;
    let stats = rt.block_on(async move {
        let shutdown = async {
            use tokio::signal::unix::{signal, SignalKind};
            match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => std::future::pending::<()>().await,
            }
            tracing::info!("shutdown requested: draining in-flight batches");
        };
        zkq_scheduler::worker::run(config, shutdown).await
    })?;
    eprintln!("zkq worker: stopped ({} proved, {} failed, {} re-sent, {} broker sessions)", stats.proved, stats.failed, stats.resent, stats.sessions);
    Ok(ExitCode::Ok)
}
