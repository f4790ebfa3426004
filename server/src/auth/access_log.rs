//! The access log (table `access_events`, migration 0008): one row for EVERY request `zkq serve`
//! answers — API, token endpoint, admin pages, `/healthz`, 404s and refusals alike.
//!
//! [`layer`] wraps the whole router. Per request it records: who (a token's client id and
//! tenant, or an operator, with the scopes they held: whatever authenticated), the method, the
//! matched route template (`/v1/attestations/{job_id}`; `-` when no route matched), the path
//! (at most [`MAX_PATH_CHARS`] characters, never the query string, which may carry secrets),
//! the status, an outcome word ([`outcome`]), the duration and the peer address (when the server
//! runs with `ConnectInfo`). Secrets never reach the table: not client secrets, not tokens, not
//! passwords, not cookies.
//!
//! Who asked is learned three ways: extractors put an [`AccessIdentity`] into the request's
//! [`IdentitySlot`] ([`crate::auth::Principal`] does); handlers may put one into their
//! response's extensions (the token endpoint names the client that asked, authenticated or not;
//! a successful admin login names the operator); otherwise a live operator session cookie names
//! its operator (looked up before the handler runs, so a logout is still attributed).
//!
//! **The row is written before the answer leaves.** If it cannot be written, the error is logged
//! and the answer is replaced by a 503 (`{"error":"unavailable",…}`): no token, record or page
//! leaves the server unrecorded. The exception is what cannot be withheld: a state change made
//! by the handler (an admin cap change or reset; it has its own signed receipt) stands, though
//! its answer is the 503.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use zkq_store::Db;

use crate::api_error::ApiError;
use crate::error::Result;
use crate::{csrf, sessions};

/// Longest path recorded, in characters (longer ones are cut).
pub const MAX_PATH_CHARS: usize = 512;
/// Default number of events [`list_events`] returns.
pub const DEFAULT_LIMIT: i64 = 100;
/// Most events [`list_events`] returns.
pub const MAX_LIMIT: i64 = 1000;

/// Who made a request, as far as the server learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessIdentity {
    /// The OAuth client (of a bearer token, or that asked the token endpoint).
    pub client_id: Option<String>,
    /// The operator (of a session, or who just logged in).
    pub operator: Option<String>,
    /// The tenant a client is bound to.
    pub tenant: Option<String>,
    /// The scopes held (space-delimited; empty when none or not authenticated).
    pub scopes: String,
}

/// Where extractors record who asked: the layer puts one into every request's extensions.
#[derive(Debug, Clone, Default)]
pub struct IdentitySlot(Arc<Mutex<Option<AccessIdentity>>>);

impl IdentitySlot {
    /// Records `identity` (replacing what was there).
    pub fn set(&self, identity: AccessIdentity) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(identity);
        }
    }

    fn take(&self) -> Option<AccessIdentity> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// Records `identity` in the request's slot, if the request passed through [`layer`].
pub fn record(extensions: &Extensions, identity: AccessIdentity) {
    if let Some(slot) = extensions.get::<IdentitySlot>() {
        slot.set(identity);
    }
}

/// The outcome word of a status: `ok` (1xx-3xx), `unauthenticated` (401), `forbidden` (403),
/// `not_found` (404), `bad_request` (other 4xx), `error` (5xx).
pub fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        400..=499 => "bad_request",
        500..=599 => "error",
        _ => "ok",
    }
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEvent {
    /// Its sequence number.
    pub id: i64,
    /// When the request was answered.
    pub at: DateTime<Utc>,
    /// The OAuth client, if any.
    pub client_id: Option<String>,
    /// The operator, if any.
    pub operator: Option<String>,
    /// The client's tenant, if bound to one.
    pub tenant: Option<String>,
    /// Scopes held, space-delimited.
    pub scopes: String,
    /// HTTP method.
    pub method: String,
    /// The matched route template, or `-`.
    pub route: String,
    /// The path, without the query string.
    pub path: String,
    /// HTTP status.
    pub status: i32,
    /// See [`outcome`].
    pub outcome: String,
    /// Time to answer, milliseconds.
    pub duration_ms: f64,
    /// The peer's address, when known.
    pub remote: Option<String>,
}

fn event_row(r: &Row) -> AccessEvent {
    AccessEvent {
        id: r.get("id"),
        at: r.get("at"),
        client_id: r.get("client_id"),
        operator: r.get("operator"),
        tenant: r.get("tenant"),
        scopes: r.get("scopes"),
        method: r.get("method"),
        route: r.get("route"),
        path: r.get("path"),
        status: r.get("status"),
        outcome: r.get("outcome"),
        duration_ms: r.get("duration_ms"),
        remote: r.get("remote"),
    }
}

/// Which events [`list_events`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessQuery {
    /// Most events, 1..=[`MAX_LIMIT`]. Default [`DEFAULT_LIMIT`].
    pub limit: i64,
    /// Only this client's.
    pub client: Option<String>,
    /// Only those at or after this instant.
    pub since: Option<DateTime<Utc>>,
}

impl Default for AccessQuery {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, client: None, since: None }
    }
}

/// The newest events matching `query`, newest first.
pub async fn list_events(db: &Db, query: &AccessQuery) -> Result<Vec<AccessEvent>> {
    if !(1..=MAX_LIMIT).contains(&query.limit) {
        return Err(crate::ServerError::Invalid(format!(
            "limit {} is out of range: 1 to {MAX_LIMIT}",
            query.limit
        )));
    }
    let client = db.client().await?;
    Ok(client
        .query(
            "select id, at, client_id, operator, tenant, scopes, method, route, path, status, outcome,
                    duration_ms, remote
               from access_events
              where ($1::text is null or client_id = $1) and ($2::timestamptz is null or at >= $2)
              order by at desc, id desc
              limit $3",
            &[&query.client, &query.since, &query.limit],
        )
        .await?
        .iter()
        .map(event_row)
        .collect())
}

/// What the layer writes for one request.
struct Pending {
    identity: AccessIdentity,
    method: String,
    route: String,
    path: String,
    status: StatusCode,
    duration_ms: f64,
    remote: Option<String>,
}

async fn insert(db: &Db, e: &Pending) -> Result<()> {
    let client = db.client().await?;
    let status = i32::from(e.status.as_u16());
    client
        .execute(
            "insert into access_events (client_id, operator, tenant, scopes, method, route, path, status,
                                        outcome, duration_ms, remote)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &e.identity.client_id,
                &e.identity.operator,
                &e.identity.tenant,
                &e.identity.scopes,
                &e.method,
                &e.route,
                &e.path,
                &status,
                &outcome(e.status),
                &e.duration_ms,
                &e.remote,
            ],
        )
        .await?;
    Ok(())
}

/// The operator of the request's live session cookie (either cookie name), if any.
async fn session_operator(db: &Db, headers: &HeaderMap) -> Option<String> {
    let token = csrf::cookie(headers, csrf::session_cookie_name(true))
        .or_else(|| csrf::cookie(headers, csrf::session_cookie_name(false)))?;
    match sessions::find_session(db, token).await {
        Ok(s) => s.map(|s| s.operator),
        Err(e) => {
            tracing::warn!(error = %e, "access log: cannot look the session up");
            None
        }
    }
}

/// The access-log layer over `db`: wrap the whole router with it (`router.layer(layer(db))`),
/// after every route and the fallback are added, so MatchedPath is known and 404s pass through.
pub fn layer(db: Db) -> AccessLogLayer {
    AccessLogLayer { db }
}

/// See [`layer`].
#[derive(Debug, Clone)]
pub struct AccessLogLayer {
    db: Db,
}

impl<S> tower::Layer<S> for AccessLogLayer {
    type Service = AccessLogService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLogService { db: self.db.clone(), inner }
    }
}

/// The service [`AccessLogLayer`] makes.
#[derive(Debug, Clone)]
pub struct AccessLogService<S> {
    db: Db,
    inner: S,
}

impl<S> tower::Service<Request> for AccessLogService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The ready service is the one to call; a fresh clone takes its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let db = self.db.clone();
        Box::pin(async move { Ok(logged(db, inner, req).await) })
    }
}

async fn logged<S>(db: Db, mut inner: S, mut req: Request) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "-".to_owned());
    let path: String = req.uri().path().chars().take(MAX_PATH_CHARS).collect();
    let remote = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string());
    let slot = IdentitySlot::default();
    req.extensions_mut().insert(slot.clone());
    let operator = session_operator(&db, req.headers()).await;
    let res = match inner.call(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let identity = res
        .extensions()
        .get::<AccessIdentity>()
        .cloned()
        .or_else(|| slot.take())
        .or_else(|| {
            operator.map(|op| AccessIdentity {
                operator: Some(op),
                scopes: crate::auth::Scope::Admin.as_str().to_owned(),
                ..Default::default()
            })
        })
        .unwrap_or_default();
    let event = Pending {
        identity,
        method,
        route,
        path,
        status: res.status(),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        remote,
    };
    match insert(&db, &event).await {
        Ok(()) => res,
        Err(e) => {
            tracing::error!(error = %e, method = %event.method, path = %event.path, "access log: cannot record a request; answering 503");
            ApiError::Unavailable("the access log cannot be written; the request was not served".into()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_status() {
        for (status, word) in [
            (200, "ok"),
            (303, "ok"),
            (400, "bad_request"),
            (401, "unauthenticated"),
            (403, "forbidden"),
            (404, "not_found"),
            (405, "bad_request"),
            (500, "error"),
            (503, "error"),
        ] {
            assert_eq!(outcome(StatusCode::from_u16(status).expect("status")), word, "{status}");
        }
    }
}
