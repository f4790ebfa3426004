//! The routes of this module: the token endpoint and the access log.
//!
//! | Route | What it does |
//! |---|---|
//! | `POST /oauth/token` | RFC 6749 §4.4 client-credentials grant: an access token for a client |
//! | `GET /v1/access-log` | the newest access events (scope `admin`); `limit`, `client`, `since` |
//!
//! **Token endpoint.** The body is `application/x-www-form-urlencoded` with
//! `grant_type=client_credentials` and an optional `scope` (space-delimited; a subset of the
//! client's scopes; absent: all of them). The client authenticates with HTTP Basic (id and
//! secret form-urlencoded, then base64; §2.3.1) or with `client_id` and `client_secret` in the
//! body — one of the two, never both. A parameter sent twice is refused (§3.2). Success is
//! §5.1's `{"access_token","token_type":"Bearer","expires_in","scope"}`; errors are §5.2's
//! `{"error","error_description"}` with `invalid_request` (400), `invalid_client` (401, with
//! `WWW-Authenticate: Basic realm="zkq"`), `unsupported_grant_type` (400) or `invalid_scope`
//! (400). Both carry `Cache-Control: no-store`. A wrong secret, an unknown id and a revoked
//! client get the same answer; the server logs the refusal with the id that asked.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::access_log::{self, AccessIdentity, AccessQuery};
use super::clients::{self, SECRET_PREFIX};
use super::principal::Principal;
use super::scopes::{format_scopes, parse_scopes, Scope};
use crate::api::ApiState;
use crate::api_error::{ApiError, REALM};

/// The token endpoint and the access-log route, over `state`. Merge it with the admin pages'
/// router and the data routes, then wrap the whole with [`access_log::layer`]
/// (see [`crate::app`]). It has no fallback, so it merges with a router that has one.
pub fn auth_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/v1/access-log", get(access_log_route))
        .with_state(state)
}

// ------------------------------------------------------------------------------------------ token

/// An RFC 6749 §5.2 error of the token endpoint.
#[derive(Debug)]
struct OAuthError {
    code: &'static str,
    description: String,
}

fn oauth_error(code: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError { code, description: description.into() }
}

/// Cache-Control and Pragma of every token-endpoint answer (§5.1).
fn no_store(res: &mut Response) {
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = if self.code == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        let mut res = (status, Json(json!({ "error": self.code, "error_description": self.description }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{REALM}\"")) {
                res.headers_mut().insert(WWW_AUTHENTICATE, v);
            }
        }
        no_store(&mut res);
        res
    }
}

/// Form-urlencoding decoded (`+` is a space), as §2.3.1 asks of Basic credentials.
fn form_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The client id and secret of a Basic `Authorization` header; `Ok(None)` when there is none.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || oauth_error("invalid_client", "the Authorization header is not Basic client credentials");
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((form_decode(id).ok_or_else(bad)?, form_decode(secret).ok_or_else(bad)?)))
}

/// What of the client id goes into the access log: a valid id that does not look like a
/// secret (someone swapping the two must not put the secret in the log).
fn loggable_id(id: &str) -> Option<String> {
    (clients::valid_client_id(id) && !id.starts_with(SECRET_PREFIX)).then(|| id.to_owned())
}

/// The answer, with the access log's view of who asked in its extensions.
fn with_identity(mut res: Response, identity: AccessIdentity) -> Response {
    res.extensions_mut().insert(identity);
    res
}

async fn token(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut asked = AccessIdentity::default();
    let res = match token_inner(&st, &headers, &body, &mut asked).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    };
    with_identity(res, asked)
}

async fn token_inner(
    st: &ApiState,
    headers: &HeaderMap,
    body: &[u8],
    asked: &mut AccessIdentity,
) -> Result<Response, OAuthError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded"));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| oauth_error("invalid_request", "the body is not a valid form"))?;
    let mut seen = BTreeSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.as_str()) {
            return Err(oauth_error("invalid_request", format!("parameter {k:?} is sent more than once")));
        }
    }
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());

    let basic = basic_credentials(headers)?;
    let form_id = param("client_id");
    let form_secret = param("client_secret");
    let (client_id, secret) = match (basic, form_id, form_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(oauth_error(
                "invalid_request",
                "use one client authentication method: HTTP Basic or client_id/client_secret, not both",
            ))
        }
        (Some((id, secret)), None, None) => (id, secret),
        (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
        (None, None, None) => return Err(oauth_error("invalid_client", "client authentication is required")),
        (None, _, _) => {
            return Err(oauth_error("invalid_request", "client_id and client_secret must be sent together"))
        }
    };
    asked.client_id = loggable_id(&client_id);

    match param("grant_type") {
        None => return Err(oauth_error("invalid_request", "grant_type is missing")),
        Some("client_credentials") => {}
        Some(_) => return Err(oauth_error("unsupported_grant_type", "only grant_type=client_credentials is supported")),
    }
    let requested = match param("scope") {
        None => None,
        Some(list) => Some(parse_scopes(list).map_err(|e| oauth_error("invalid_scope", e.to_string()))?),
    };

    let client = match clients::authenticate(&st.db, &client_id, &secret).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::info!(client = %asked.client_id.as_deref().unwrap_or("-"), "token request refused: wrong client credentials");
            return Err(oauth_error("invalid_client", "client authentication failed"));
        }
        Err(e) => {
            tracing::error!(error = %e, "token request: cannot check the client");
            let mut res = ApiError::Internal(e.to_string()).into_response();
            no_store(&mut res);
            return Ok(res);
        }
    };
    asked.tenant = client.tenant.clone();
    let granted = match requested {
        None => client.scopes.clone(),
        Some(req) if req.is_subset(&client.scopes) => req,
        Some(req) => {
            let missing: BTreeSet<Scope> = req.difference(&client.scopes).copied().collect();
            return Err(oauth_error(
                "invalid_scope",
                format!("scope {} is not granted to this client", format_scopes(&missing)),
            ));
        }
    };
    if granted.is_empty() {
        return Err(oauth_error("invalid_scope", "this client has no scopes"));
    }
    let (access_token, expires_in) = match st.tokens.issue(&client, &granted) {
        Ok(t) => t,
        Err(e) => {
            let mut res = ApiError::Internal(e.to_string()).into_response();
            no_store(&mut res);
            return Ok(res);
        }
    };
    asked.scopes = format_scopes(&granted);
    tracing::info!(client = %client.client_id, scope = %asked.scopes, "access token issued");
    let mut res = Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": asked.scopes,
    }))
    .into_response();
    no_store(&mut res);
    Ok(res)
}

// ------------------------------------------------------------------------------------------ access log

/// The query of `GET /v1/access-log`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessLogParams {
    limit: Option<String>,
    client: Option<String>,
    since: Option<String>,
}

/// Parses the query of `GET /v1/access-log` (and of `zkq audit access-log`): `limit` 1-1000
/// (default 100), `client` an id, `since` RFC 3339.
pub fn access_query(limit: Option<&str>, client: Option<&str>, since: Option<&str>) -> Result<AccessQuery, ApiError> {
    let limit = match limit {
        None => access_log::DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=access_log::MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("limit must be a whole number from 1 to {}", access_log::MAX_LIMIT)))?,
    };
    if let Some(c) = client {
        if !clients::valid_client_id(c) {
            return Err(ApiError::BadRequest("client must be a client id (1-64 letters, digits or . _ -)".into()));
        }
    }
    let since = since
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::BadRequest("since must be an RFC 3339 instant, e.g. 2026-01-31T12:00:00Z".into()))
        })
        .transpose()?;
    Ok(AccessQuery { limit, client: client.map(str::to_owned), since })
}

async fn access_log_route(
    State(st): State<Arc<ApiState>>,
    principal: Principal,
    query: Result<Query<AccessLogParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    principal.require(Scope::Admin)?;
    let Query(p) = query.map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text().replace('\n', " "))))?;
    let q = access_query(p.limit.as_deref(), p.client.as_deref(), p.since.as_deref())?;
    let events = access_log::list_events(&st.db, &q).await?;
    let mut res = Json(events).into_response();
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode("a%3Ab+c:s%25e+t");
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {enc}")).expect("header"));
        let (id, secret) = basic_credentials(&h).expect("ok").expect("some");
        assert_eq!((id.as_str(), secret.as_str()), ("a:b c", "s%e t"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&h).expect_err("bad").code, "invalid_client");
        assert!(basic_credentials(&HeaderMap::new()).expect("ok").is_none());
    }

    #[test]
    fn secrets_never_pass_for_ids_in_the_log() {
        assert_eq!(loggable_id("auditor"), Some("auditor".into()));
        assert_eq!(loggable_id("zkqcs_abc"), None);
        assert_eq!(loggable_id("has space"), None);
    }

    #[test]
    fn access_queries_are_checked() {
        let q = access_query(None, None, None).expect("defaults");
        assert_eq!(q, AccessQuery::default());
        assert!(access_query(Some("0"), None, None).is_err());
        assert!(access_query(Some("1001"), None, None).is_err());
        assert_eq!(access_query(Some("1000"), Some("c-1"), Some("2026-01-01T00:00:00+01:00")).expect("ok").limit, 1000);
        assert!(access_query(None, Some("a b"), None).is_err());
        assert!(access_query(None, None, Some("yesterday")).is_err());
    }
}
