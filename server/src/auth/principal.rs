//! [`Principal`]: who is asking the API, and what they may read — the extractor every `/v1`
//! handler takes.
//!
//! From `Authorization: Bearer <access token>` (RFC 6750 §2.1; verified by
//! [`TokenIssuer::verify`](crate::auth::TokenIssuer::verify), revocation included), or, for
//! GET and HEAD only, from a live operator session cookie of the admin pages (an operator holds
//! exactly the `admin` scope and no tenant; other methods would need the pages' CSRF checks, so
//! they take tokens only). A request that has a bearer header is judged by it alone.
//!
//! Refusals ([`ApiError`]): no credentials → 401 with `WWW-Authenticate: Bearer realm="zkq"`; a
//! bad token → 401 `error="invalid_token"`; [`Principal::require`] of a scope not held → 403
//! `error="insufficient_scope"`. Whoever authenticated is recorded for the access log.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::Method;

use super::access_log::{self, AccessIdentity};
use super::scopes::{format_scopes, Scope};
use crate::api::ApiState;
use crate::api_error::ApiError;
use crate::{csrf, sessions};

/// Who is asking, and what they may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The OAuth client of a bearer token.
    pub client_id: Option<String>,
    /// The operator of a session cookie.
    pub operator: Option<String>,
    /// The tenant a client is bound to: it sees only that tenant's records.
    pub tenant: Option<String>,
    /// The scopes held.
    pub scopes: BTreeSet<Scope>,
}

impl Principal {
    /// An operator of the admin pages: scope `admin`, no tenant.
    pub fn operator(name: &str) -> Principal {
        Principal {
            client_id: None,
            operator: Some(name.to_owned()),
            tenant: None,
            scopes: [Scope::Admin].into(),
        }
    }

    /// `Ok` when `scope` is held; else 403 `insufficient_scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(scope))
        }
    }

    /// Whether records of `tenant` are visible: always for a principal bound to no tenant,
    /// else only that tenant's.
    pub fn may_see_tenant(&self, tenant: &str) -> bool {
        self.tenant.as_deref().is_none_or(|t| t == tenant)
    }

    /// What the access log records of this principal.
    pub fn identity(&self) -> AccessIdentity {
        AccessIdentity {
            client_id: self.client_id.clone(),
            operator: self.operator.clone(),
            tenant: self.tenant.clone(),
            scopes: format_scopes(&self.scopes),
        }
    }
}

/// The token of an `Authorization` header: `Ok(None)` when it is not a Bearer header (no
/// credentials for this API), `Err` when it is a malformed one.
fn bearer_token(value: &[u8]) -> Result<Option<&str>, ApiError> {
    let text = std::str::from_utf8(value).map_err(|_| ApiError::InvalidToken("the Authorization header is not text".into()))?;
    let Some((scheme, token)) = text.split_once(' ') else {
        if text.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::InvalidToken("the Bearer token is empty".into()));
        }
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(ApiError::InvalidToken("the Authorization header is not \"Bearer <token>\"".into()));
    }
    Ok(Some(token))
}

impl<S> FromRequestParts<S> for Principal
where
    Arc<ApiState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api = Arc::<ApiState>::from_ref(state);
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            if let Some(token) = bearer_token(value.as_bytes())? {
                let principal = api.tokens.verify(&api.db, token).await?;
                access_log::record(&parts.extensions, principal.identity());
                return Ok(principal);
            }
        }
        if parts.method == Method::GET || parts.method == Method::HEAD {
            if let Some(cookie) = csrf::cookie(&parts.headers, csrf::session_cookie_name(api.config.secure_cookies)) {
                if let Some(session) = sessions::find_session(&api.db, cookie).await? {
                    let principal = Principal::operator(&session.operator);
                    access_log::record(&parts.extensions, principal.identity());
                    return Ok(principal);
                }
            }
        }
        Err(ApiError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(bearer_token(b"Bearer abc.def.ghi").ok().flatten(), Some("abc.def.ghi"));
        assert_eq!(bearer_token(b"bearer abc").ok().flatten(), Some("abc"));
        assert!(matches!(bearer_token(b"Basic YTpi"), Ok(None)));
        assert!(bearer_token(b"Bearer").is_err());
        assert!(bearer_token(b"Bearer a b").is_err());
        assert!(bearer_token(b"Bearer ").is_err());
    }

    #[test]
    fn tenants_and_scopes() {
        let op = Principal::operator("alice");
        assert!(op.require(Scope::Admin).is_ok());
        assert!(matches!(op.require(Scope::AuditRead), Err(ApiError::InsufficientScope(Scope::AuditRead))));
        assert!(op.may_see_tenant("acme"));
        let bound = Principal { tenant: Some("acme".into()), operator: None, client_id: Some("c".into()), scopes: BTreeSet::new() };
        assert!(bound.may_see_tenant("acme") && !bound.may_see_tenant("beta"));
    }
}
