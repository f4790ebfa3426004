//! # zkq-server — the HTTP server of `zkq serve`
//!
//! Server-rendered admin pages where an authenticated operator sees every privacy budget
//! (tenant × purpose: cap, spent, reserved, remaining, window, recent blocks, recent receipts)
//! and sets caps or resets spent ε, giving a reason each time. The later auditor API extends the
//! same router. Only `zkq serve` links this crate: the worker never does.
//!
//! The pages reach the budget ledger through the [`BudgetAdmin`] trait (implemented over
//! PostgreSQL by the ledger's crate); this crate owns only operator accounts and their sessions,
//! whose tables (`operators`, `operator_sessions`) zkq-store's migration 0007 creates.
//! Documentation for operators: `docs/admin.md`.
//!
//! ## Module map
//! - [`config`] — [`ServerConfig`]: listen address, session lifetime, secure cookies.
//! - [`budget`] — the seam: [`BudgetAdmin`], [`LedgerRow`], [`BlockRow`], [`ReceiptRow`],
//!   [`AdminError`].
//! - [`pg_budgets`] — [`PgBudgets`]: the seam over zkq-budget's PostgreSQL ledger (what
//!   `zkq serve` runs); changes sign receipts naming the operator and their reason.
//! - [`operators`] — operator accounts: argon2id password hashes, add/remove/list,
//!   [`operators::authenticate`] (same work for unknown names).
//! - [`sessions`] — random 256-bit session tokens (only their sha256 stored), expiry, each
//!   session's CSRF token, logout.
//! - [`csrf`] — the checks every POST passes (origin, synchronizer token) and the cookies.
//! - [`admin`] — the routes and handlers, the security headers; [`admin::router`].
//! - [`html`] — the escaper and the pages (no JavaScript).
//! - [`error`] — [`ServerError`].
//! - `testing` (feature `testing`) — `MemoryBudgets`, an in-memory [`BudgetAdmin`].
//!
//! ## Running it
//! [`serve`] takes a bound listener, the [`AppState`] and a shutdown future (the shape of
//! tokio's mini-redis): tests bind port 0, `zkq serve` binds [`ServerConfig::listen`] and
//! passes Ctrl-C.

pub mod admin;
pub mod budget;
pub mod config;
pub mod csrf;
pub mod error;
pub mod html;
pub mod operators;
pub mod pg_budgets;
pub mod sessions;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::sync::Arc;

pub use admin::{router, AppState};
pub use budget::{AdminError, BlockRow, BudgetAdmin, LedgerRow, ReceiptRow};
pub use config::ServerConfig;
pub use pg_budgets::PgBudgets;
pub use error::{Result, ServerError};

/// Serves the admin pages on `listener` until `shutdown` completes, then lets requests in
/// flight finish.
pub async fn serve<B: BudgetAdmin>(
    listener: tokio::net::TcpListener,
    state: AppState<B>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router(Arc::new(state)))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
