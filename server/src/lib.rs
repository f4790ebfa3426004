//! # zkq-server — the HTTP server of `zkq serve`
//!
//! Server-rendered admin pages where an authenticated operator sees every privacy budget
//! (tenant × purpose: cap, spent, reserved, remaining, window, recent blocks, recent receipts)
//! and sets caps or resets spent ε, giving a reason each time. The later auditor API extends the
//! same router. Only `zkq serve` links this crate: the worker never does.
//!
//! The JSON API's authentication, authorization and access log live in [`auth`]: OAuth clients
//! and their access tokens (`POST /oauth/token`), the [`Principal`] extractor with its scopes,
//! and a layer that records every request the server answers (docs/auditor-api.md).
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
//! - [`auth`] — OAuth clients, access tokens, [`Principal`], the access log; [`auth_router`].
//! - [`api`] — [`ApiState`], [`ApiConfig`]: what the JSON API's routes share.
//! - [`api_error`] — [`ApiError`]: the JSON API's refusals and failures.
//! - [`auditor`] — the auditor API's data routes: keys, attestations, the transparency log and
//!   its proofs, admission decisions, budget receipts and ledgers, costs, health
//!   (`docs/auditor-api.yaml`).
//! - [`decisions`] — `GET /v1/decisions/{job_id}`: a job's admission decision, its explanation
//!   re-rendered in the language `?lang=` or `Accept-Language` asks for (EN/ES).
//! - `testing` (feature `testing`) — `MemoryBudgets`, an in-memory [`BudgetAdmin`].
//!
//! ## Running it
//! [`app`] composes the admin pages' router with the API's routers (each built over its own
//! state) and wraps the whole with the access log:
//!
//! ```text
//! let api = Arc::new(ApiState::new(db.clone(), &token_key, ApiConfig::default())?);
//! let routes = auth_router(api.clone()).merge(auditor::router(api));
//! let app = zkq_server::app(router(Arc::new(admin_state)), routes, db.clone());
//! zkq_server::serve(listener, app, shutdown).await?;
//! ```
//!
//! [`serve`] takes a bound listener, the composed router and a shutdown future (the shape of
//! tokio's mini-redis): tests bind port 0, `zkq serve` binds [`ServerConfig::listen`] and
//! passes Ctrl-C. It serves with the peer's address known, so the access log records it.

pub mod admin;
pub mod auditor;
pub mod api;
pub mod api_error;
pub mod auth;
pub mod budget;
pub mod config;
pub mod csrf;
pub mod decisions;
pub mod error;
pub mod html;
pub mod operators;
pub mod pg_budgets;
pub mod sessions;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use zkq_store::Db;

pub use admin::{router, AppState};
pub use api::{ApiConfig, ApiState};
pub use api_error::ApiError;
pub use auth::{auth_router, Principal, Scope, TokenIssuer};
pub use budget::{AdminError, BlockRow, BudgetAdmin, LedgerRow, ReceiptRow};
pub use config::ServerConfig;
pub use pg_budgets::PgBudgets;
pub use error::{Result, ServerError};

/// The whole server: `admin` (the admin pages' [`router`], which has the fallback) merged with
/// `api` (the JSON API's routers: [`auth_router`] and the data routes), every request recorded
/// by [`auth::access_log::layer`] over `db`.
pub fn app(admin: Router, api: Router, db: Db) -> Router {
    admin.merge(api).layer(auth::access_log::layer(db))
}

/// Serves `app` (see [`app`]) on `listener` until `shutdown` completes, then lets requests in
/// flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
