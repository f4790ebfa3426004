//! `zkq serve`: the HTTP server (crate zkq-server) — the admin pages for privacy budgets — on
//! the database of `--pg`, until SIGINT (Ctrl-C) or SIGTERM. Settings come from flags and
//! environment variables here, and only here, into a [`ServerConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use zkq_server::{AdminError, AppState, BlockRow, BudgetAdmin, LedgerRow, ReceiptRow, ServerConfig};
use zkq_store::Db;

use super::operators::DbArgs;
use super::services::runtime;
use crate::exit::ExitCode;

/// `zkq serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen (`host:port`) [default: 127.0.0.1:8480]. zkq speaks plain HTTP: keep it
    /// on loopback and put a TLS proxy in front (docs/admin.md).
    #[arg(long, env = "ZKQ_SERVE_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// How long a login lasts, minutes [default: 480 (8 h)].
    #[arg(long, env = "ZKQ_SERVE_SESSION_TTL_MINS", value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 60))]
    pub(crate) session_ttl_mins: Option<u64>,
    /// Mark cookies `Secure` (sent over HTTPS only) and expect `https://` origins: set it behind
    /// a TLS proxy.
    #[arg(long, env = "ZKQ_SERVE_SECURE_COOKIES")]
    pub(crate) secure_cookies: bool,
    #[command(flatten)]
    pub(crate) db: DbArgs,
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            listen: self.listen.unwrap_or(defaults.listen),
            session_ttl: self.session_ttl_mins.map(|m| Duration::from_secs(m * 60)).unwrap_or(defaults.session_ttl),
            secure_cookies: self.secure_cookies,
        }
    }
}

// ──────────────────────────────────────────────────────────────────────────────────────────────
// THE ONE SPOT TO WIRE THE PRIVACY-BUDGET LEDGER.
//
// The admin pages read and change budgets through `zkq_server::BudgetAdmin`. The ledger's
// PostgreSQL implementation (crate zkq-budget) does not exist on this branch yet: replace the
// body of `budget_backend` with it (built on `db`) and delete `NotBuilt`. Until then every
// budget page says "privacy budgets are not built yet" (login, logout and operators work).
// ──────────────────────────────────────────────────────────────────────────────────────────────

/// The budget backend `zkq serve` runs with.
fn budget_backend(_db: &Db) -> impl BudgetAdmin {
    NotBuilt
}

/// A backend that answers every call with "privacy budgets are not built yet".
struct NotBuilt;

const NOT_BUILT: &str = "privacy budgets are not built yet";

impl BudgetAdmin for NotBuilt {
    async fn ledgers(&self) -> Result<Vec<LedgerRow>, AdminError> {
        Err(AdminError::Backend(NOT_BUILT.into()))
    }
    async fn recent_blocks(&self, _limit: usize) -> Result<Vec<BlockRow>, AdminError> {
        Err(AdminError::Backend(NOT_BUILT.into()))
    }
    async fn recent_receipts(&self, _limit: usize) -> Result<Vec<ReceiptRow>, AdminError> {
        Err(AdminError::Backend(NOT_BUILT.into()))
    }
    async fn set_cap(&self, _actor: &str, _tenant: &str, _purpose: &str, _cap: &str, _reason: &str) -> Result<(), AdminError> {
        Err(AdminError::Backend(NOT_BUILT.into()))
    }
    async fn reset(&self, _actor: &str, _tenant: &str, _purpose: &str, _reason: &str) -> Result<(), AdminError> {
        Err(AdminError::Backend(NOT_BUILT.into()))
    }
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    runtime()?.block_on(async move {
        let db = args.db.connect().await?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::Error::new(e).context(format!("cannot listen on {}", config.listen)))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && !config.secure_cookies {
            eprintln!("zkq serve: warning: listening on {addr} without --secure-cookies: zkq speaks plain HTTP; put a TLS proxy in front (docs/admin.md)");
        }
        eprintln!("zkq serve: admin pages at http://{addr}/admin/ (Ctrl-C stops)");
        let state = AppState::new(db.clone(), budget_backend(&db), config);
        zkq_server::serve(listener, state, shutdown_signal()).await?;
        eprintln!("zkq serve: stopped");
        Ok(ExitCode::Ok)
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
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
}
