//! The admin pages: routes, handlers and the response headers every answer carries.
//!
//! | Route | What it does |
//! |---|---|
//! | `GET /healthz` | `ok` (200) when the database answers, else 503 |
//! | `GET /`, `GET /admin` | redirect to `/admin/budgets` |
//! | `GET /admin/login` | the login form (a logged-in operator is sent on to the budgets) |
//! | `POST /admin/login` | checks name and password; 303 to the budgets, or the form again (401) |
//! | `POST /admin/logout` | ends the session; 303 to the login form |
//! | `GET /admin/budgets` | every ledger with its forms, recent blocks, recent receipts |
//! | `POST /admin/budgets/cap` | sets a ledger's cap (`tenant`, `purpose`, `cap`, `reason`); 303 back |
//! | `POST /admin/budgets/reset` | resets a ledger's spent ε (`tenant`, `purpose`, `reason`); 303 back |
//!
//! A request without a live session (none, unknown, expired, or its operator removed) is sent to
//! the login form (303) and changes nothing. Every POST passes [`crate::csrf`]'s checks first;
//! a refused one gets 403 and changes nothing. After a POST the answer is a 303 redirect whose
//! one-shot message (a `zkq_flash` cookie) the next page shows: what was done, or why not, in
//! plain words. Failures inside the server are logged and shown as one plain sentence.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use serde::Deserialize;
use zkq_store::Db;

use crate::budget::{AdminError, BudgetAdmin};
use crate::config::ServerConfig;
use crate::csrf::{self, Refusal};
use crate::html::{self, BudgetsView, Flash};
use crate::sessions::{self, Session};
use crate::{operators, ServerError};

/// How many recent blocks and receipts the budgets page shows.
pub const RECENT_ROWS: usize = 20;
/// How long the login form's double-submit token lives, seconds.
const LOGIN_TOKEN_SECS: u64 = 3600;
/// How long a one-shot message waits for the next page, seconds.
const FLASH_SECS: u64 = 60;
/// Longest one-shot message, in characters (cookies are small).
const FLASH_MAX_CHARS: usize = 300;

/// The `Content-Security-Policy` of every answer: nothing but our own inline style, forms only
/// to ourselves, never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// What the handlers share: the database (operators, sessions), the budget backend, the
/// configuration.
#[derive(Debug)]
pub struct AppState<B> {
    /// Where operators and sessions live.
    pub db: Db,
    /// The privacy-budget ledger.
    pub budgets: B,
    /// Session lifetime, cookie flags.
    pub config: ServerConfig,
}

impl<B: BudgetAdmin> AppState<B> {
    /// The state of a server over `db` and `budgets`.
    pub fn new(db: Db, budgets: B, config: ServerConfig) -> Self {
        Self { db, budgets, config }
    }
}

/// The admin pages' router, with the security headers on every answer.
pub fn router<B: BudgetAdmin>(state: Arc<AppState<B>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz::<B>))
        .route("/", get(|| async { see_other("/admin/budgets", Vec::new()) }))
        .route("/admin", get(|| async { see_other("/admin/budgets", Vec::new()) }))
        .route("/admin/login", get(login_form::<B>).post(login::<B>))
        .route("/admin/logout", post(logout::<B>))
        .route("/admin/budgets", get(budgets::<B>))
        .route("/admin/budgets/cap", post(set_cap::<B>))
        .route("/admin/budgets/reset", post(reset::<B>))
        .fallback(|| async {
            page(
                StatusCode::NOT_FOUND,
                html::message_page("Not found", "There is no page at this address."),
                Vec::new(),
            )
        })
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    // Pages carry CSRF tokens and budget figures: never cached.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

// ------------------------------------------------------------------------------------------ helpers

/// An HTML answer with `cookies` set.
fn page(status: StatusCode, body: String, cookies: Vec<String>) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    add_cookies(&mut res, cookies);
    res
}

/// A 303 redirect to `location` with `cookies` set.
fn see_other(location: &'static str, cookies: Vec<String>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(LOCATION, HeaderValue::from_static(location));
    add_cookies(&mut res, cookies);
    res
}

fn add_cookies(res: &mut Response, cookies: Vec<String>) {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
}

/// A failure inside the server: logged, shown as one plain sentence.
fn internal(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        html::message_page(
            "Server error",
            &format!("{what}. The error is in the server's log; try again later."),
        ),
        Vec::new(),
    )
}

fn forbidden(refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::ForeignOrigin => "This form was sent from another site, so it was refused. Nothing was changed.",
        Refusal::BadToken => {
            "This form's security token is missing or out of date, so it was refused. Nothing was changed: reload the page and try again."
        }
    };
    page(
        StatusCode::FORBIDDEN,
        html::message_page("Forbidden", message),
        Vec::new(),
    )
}

fn bad_form(rejection: &FormRejection) -> Response {
    tracing::debug!(%rejection, "unreadable form");
    page(
        StatusCode::BAD_REQUEST,
        html::message_page("Bad request", "The form could not be read. Nothing was changed."),
        Vec::new(),
    )
}

/// The `Set-Cookie` of a one-shot message.
fn flash_cookie(flash: &Flash, secure: bool) -> String {
    let (kind, message) = match flash {
        Flash::Ok(m) => ('o', m),
        Flash::Error(m) => ('e', m),
    };
    let message: String = message.chars().take(FLASH_MAX_CHARS).collect();
    csrf::set_cookie(
        csrf::flash_cookie_name(secure),
        &format!("{kind}{}", hex::encode(message)),
        FLASH_SECS,
        secure,
    )
}

/// The request's one-shot message, if any, and the cookie that deletes it.
fn take_flash(headers: &HeaderMap, secure: bool) -> (Option<Flash>, Vec<String>) {
    let name = csrf::flash_cookie_name(secure);
    let Some(value) = csrf::cookie(headers, name) else {
        return (None, Vec::new());
    };
    let clear = vec![csrf::set_cookie(name, "", 0, secure)];
    let decoded = value
        .get(1..)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let flash = match (value.chars().next(), decoded) {
        (Some('o'), Some(m)) => Some(Flash::Ok(m)),
        (Some('e'), Some(m)) => Some(Flash::Error(m)),
        _ => None,
    };
    (flash, clear)
}

/// The request's live session and its token; `Ok(None)` when logged out.
async fn current_session<B>(st: &AppState<B>, headers: &HeaderMap) -> Result<Option<(String, Session)>, ServerError> {
    let Some(token) = csrf::cookie(headers, csrf::session_cookie_name(st.config.secure_cookies)) else {
        return Ok(None);
    };
    Ok(sessions::find_session(&st.db, token)
        .await?
        .map(|s| (token.to_owned(), s)))
}

/// Logged out: to the login form, with a message when something was being done.
fn to_login(secure: bool, message: Option<&str>) -> Response {
    let cookies = message
        .map(|m| vec![flash_cookie(&Flash::Error(m.to_owned()), secure)])
        .unwrap_or_default();
    see_other("/admin/login", cookies)
}

/// The checks every POST of a logged-in page passes: origin, session, CSRF token. `Err` is the
/// answer to give instead.
async fn authorize_post<B>(st: &AppState<B>, headers: &HeaderMap, form_token: &str) -> Result<Session, Response> {
    let secure = st.config.secure_cookies;
    csrf::check_origin(headers, secure).map_err(forbidden)?;
    let session = match current_session(st, headers).await {
        Ok(Some((_, s))) => s,
        Ok(None) => {
            return Err(to_login(
                secure,
                Some("You are not logged in (or your session ended). Nothing was changed."),
            ))
        }
        Err(e) => return Err(internal("Cannot check the session", &e)),
    };
    if !csrf::tokens_match(&session.csrf_token, form_token) {
        tracing::warn!(operator = %session.operator, "POST refused: missing or wrong CSRF token");
        return Err(forbidden(Refusal::BadToken));
    }
    Ok(session)
}

// ------------------------------------------------------------------------------------------ handlers

async fn healthz<B: BudgetAdmin>(State(st): State<Arc<AppState<B>>>) -> Response {
    match st.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer\n").into_response()
        }
    }
}

async fn login_form<B: BudgetAdmin>(State(st): State<Arc<AppState<B>>>, headers: HeaderMap) -> Response {
    let secure = st.config.secure_cookies;
    match current_session(&st, &headers).await {
        Ok(Some(_)) => return see_other("/admin/budgets", Vec::new()),
        Ok(None) => {}
        Err(e) => return internal("Cannot check the session", &e),
    }
    let token = match sessions::random_token() {
        Ok(t) => t,
        Err(e) => return internal("Cannot make a login form", &e),
    };
    let (flash, mut cookies) = take_flash(&headers, secure);
    cookies.push(csrf::set_cookie(
        csrf::login_cookie_name(secure),
        &token,
        LOGIN_TOKEN_SECS,
        secure,
    ));
    page(StatusCode::OK, html::login_page(&token, flash.as_ref(), ""), cookies)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn login<B: BudgetAdmin>(
    State(st): State<Arc<AppState<B>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let secure = st.config.secure_cookies;
    if let Err(r) = csrf::check_origin(&headers, secure) {
        return forbidden(r);
    }
    let Form(form) = match form {
        Ok(f) => f,
        Err(r) => return bad_form(&r),
    };
    let expected = csrf::cookie(&headers, csrf::login_cookie_name(secure)).unwrap_or_default();
    if !csrf::tokens_match(expected, &form.csrf) {
        let message = "The login form expired or was not sent by this site. Reload the page and log in again.";
        return page(
            StatusCode::FORBIDDEN,
            html::message_page("Forbidden", message),
            Vec::new(),
        );
    }
    let operator = match operators::authenticate(&st.db, &form.name, &form.password).await {
        Ok(Some(op)) => op,
        Ok(None) => {
            tracing::info!(name = %form.name.chars().take(64).collect::<String>(), "failed admin login");
            let flash = Flash::Error("Wrong name or password.".into());
            return page(
                StatusCode::UNAUTHORIZED,
                html::login_page(&form.csrf, Some(&flash), &form.name),
                Vec::new(),
            );
        }
        Err(e) => return internal("Cannot check the password", &e),
    };
    let new = match sessions::create_session(&st.db, &operator.name, st.config.session_ttl).await {
        Ok(s) => s,
        Err(e) => return internal("Cannot start a session", &e),
    };
    tracing::info!(operator = %operator.name, "admin login");
    let cookies = vec![
        csrf::set_cookie(
            csrf::session_cookie_name(secure),
            &new.token,
            st.config.session_ttl.as_secs(),
            secure,
        ),
        csrf::set_cookie(csrf::login_cookie_name(secure), "", 0, secure),
        flash_cookie(&Flash::Ok(format!("Logged in as {}.", operator.name)), secure),
    ];
    let mut res = see_other("/admin/budgets", cookies);
    // The access log attributes the login to the operator (the request had no session yet).
    res.extensions_mut().insert(crate::auth::access_log::AccessIdentity {
        operator: Some(operator.name.clone()),
        scopes: crate::auth::Scope::Admin.as_str().to_owned(),
        ..Default::default()
    });
    res
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout<B: BudgetAdmin>(
    State(st): State<Arc<AppState<B>>>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let secure = st.config.secure_cookies;
    let Form(form) = match form {
        Ok(f) => f,
        Err(r) => return bad_form(&r),
    };
    let session = match authorize_post(&st, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Some(token) = csrf::cookie(&headers, csrf::session_cookie_name(secure)) {
        if let Err(e) = sessions::delete_session(&st.db, token).await {
            return internal("Cannot end the session", &e);
        }
    }
    tracing::info!(operator = %session.operator, "admin logout");
    let cookies = vec![
        csrf::set_cookie(csrf::session_cookie_name(secure), "", 0, secure),
        flash_cookie(&Flash::Ok("Logged out.".into()), secure),
    ];
    see_other("/admin/login", cookies)
}

async fn budgets<B: BudgetAdmin>(State(st): State<Arc<AppState<B>>>, headers: HeaderMap) -> Response {
    let secure = st.config.secure_cookies;
    let session = match current_session(&st, &headers).await {
        Ok(Some((_, s))) => s,
        Ok(None) => return to_login(secure, None),
        Err(e) => return internal("Cannot check the session", &e),
    };
    let (ledgers, blocks, receipts) = tokio::join!(
        st.budgets.ledgers(),
        st.budgets.recent_blocks(RECENT_ROWS),
        st.budgets.recent_receipts(RECENT_ROWS)
    );
    let mut errors = Vec::new();
    let (ledgers, blocks, receipts) = (
        keep(ledgers, &mut errors),
        keep(blocks, &mut errors),
        keep(receipts, &mut errors),
    );
    let backend_error = (!errors.is_empty()).then(|| format!("Some figures are missing: {}.", errors.join("; ")));
    let (flash, cookies) = take_flash(&headers, secure);
    let view = BudgetsView {
        operator: &session.operator,
        csrf: &session.csrf_token,
        ledgers: &ledgers,
        blocks: &blocks,
        receipts: &receipts,
        backend_error: backend_error.as_deref(),
    };
    let status = if backend_error.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    page(status, html::budgets_page(&view, flash.as_ref()), cookies)
}

/// The rows of a backend answer; a failure is logged, noted in `errors` once, and shows as no rows.
fn keep<T>(r: Result<Vec<T>, AdminError>, errors: &mut Vec<String>) -> Vec<T> {
    r.unwrap_or_else(|e| {
        tracing::error!(error = %e, "budget backend");
        if !errors.contains(&e.to_string()) {
            errors.push(e.to_string());
        }
        Vec::new()
    })
}

#[derive(Debug, Deserialize)]
struct CapForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    cap: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    reason: String,
}

/// The answer to a budget change: back to the budgets with what happened.
fn after_change(secure: bool, result: Result<String, AdminError>) -> Response {
    let flash = match result {
        Ok(done) => Flash::Ok(done),
        Err(AdminError::Invalid(why)) => Flash::Error(format!("Nothing was changed: {why}")),
        Err(e @ AdminError::Backend(_)) => {
            tracing::error!(error = %e, "budget backend");
            Flash::Error(format!("Nothing was changed: {e}."))
        }
    };
    see_other("/admin/budgets", vec![flash_cookie(&flash, secure)])
}

/// The checks of the page's own fields, before the backend's.
fn check_fields(tenant: &str, purpose: &str, reason: &str) -> Result<(), AdminError> {
    if tenant.is_empty() || purpose.is_empty() {
        return Err(AdminError::Invalid(
            "the form names no ledger (tenant and purpose are required)".into(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(AdminError::Invalid("a reason is required".into()));
    }
    Ok(())
}

async fn set_cap<B: BudgetAdmin>(
    State(st): State<Arc<AppState<B>>>,
    headers: HeaderMap,
    form: Result<Form<CapForm>, FormRejection>,
) -> Response {
    let Form(f) = match form {
        Ok(f) => f,
        Err(r) => return bad_form(&r),
    };
    let session = match authorize_post(&st, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let cap = f.cap.trim();
    let result = match check_fields(&f.tenant, &f.purpose, &f.reason) {
        Err(e) => Err(e),
        Ok(()) if cap.is_empty() => Err(AdminError::Invalid("a new cap is required".into())),
        Ok(()) => st.budgets.set_cap(&session.operator, &f.tenant, &f.purpose, cap, f.reason.trim()).await.map(|()| {
            tracing::info!(operator = %session.operator, tenant = %f.tenant, purpose = %f.purpose, cap, reason = %f.reason, "budget cap set");
            format!("The cap of {} × {} is now {cap} ε.", f.tenant, f.purpose)
        }),
    };
    after_change(st.config.secure_cookies, result)
}

async fn reset<B: BudgetAdmin>(
    State(st): State<Arc<AppState<B>>>,
    headers: HeaderMap,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Response {
    let Form(f) = match form {
        Ok(f) => f,
        Err(r) => return bad_form(&r),
    };
    let session = match authorize_post(&st, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let result = match check_fields(&f.tenant, &f.purpose, &f.reason) {
        Err(e) => Err(e),
        Ok(()) => st.budgets.reset(&session.operator, &f.tenant, &f.purpose, f.reason.trim()).await.map(|()| {
            tracing::info!(operator = %session.operator, tenant = %f.tenant, purpose = %f.purpose, reason = %f.reason, "budget reset");
            format!("The spent ε of {} × {} was reset to 0.", f.tenant, f.purpose)
        }),
    };
    after_change(st.config.secure_cookies, result)
}
