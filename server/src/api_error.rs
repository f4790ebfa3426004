//! [`ApiError`]: every refusal or failure of the JSON API (`/v1/…`), as the status, JSON body and
//! headers it is answered with.
//!
//! The body is always `{"error": "<code>", "message": "<one line>"}`. Refusals of a bearer token
//! also carry RFC 6750 §3's `WWW-Authenticate: Bearer realm="zkq"` challenge (with
//! `error="invalid_token"` or `error="insufficient_scope"`). A 500 logs its cause and says only
//! "internal error": causes may name tables, hosts or files.

use axum::http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::Scope;
use crate::ServerError;

/// The `realm` of every bearer challenge.
pub const REALM: &str = "zkq";

/// Why an API request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials at all (401, code `unauthenticated`, a bare `Bearer` challenge).
    #[error("this request needs an access token (Authorization: Bearer) or an operator session")]
    Unauthenticated,
    /// A bearer token that is malformed, expired, signed by another key, of another issuer or
    /// audience, or of a revoked client (401, code `invalid_token`).
    #[error("{0}")]
    InvalidToken(String),
    /// A valid token without the scope the route needs (403, code `insufficient_scope`).
    #[error("this request needs scope {0}")]
    InsufficientScope(Scope),
    /// Authenticated, but the record is not for this client (403, code `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing at this address, or no such record (404, code `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// A malformed query, path or body (400, code `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// A dependency is down (503, code `unavailable`); the message says which, in plain words.
    #[error("{0}")]
    Unavailable(String),
    /// A failure inside the server (500, code `internal`): the cause is logged, the answer says
    /// only "internal error".
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::InsufficientScope(_) => "insufficient_scope",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The `WWW-Authenticate` challenge, for the 401s and `insufficient_scope`.
    fn challenge(&self) -> Option<String> {
        match self {
            ApiError::Unauthenticated => Some(format!("Bearer realm=\"{REALM}\"")),
            ApiError::InvalidToken(_) => Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")),
            ApiError::InsufficientScope(scope) => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause, "API request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let message: String = message.split('\n').next().unwrap_or_default().chars().take(300).collect();
        let mut res = (self.status(), Json(json!({ "error": self.code(), "message": message }))).into_response();
        if let Some(challenge) = self.challenge().and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Invalid(why) => ApiError::BadRequest(why),
            ServerError::NotFound(why) => ApiError::NotFound(why),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<zkq_store::StoreError> for ApiError {
    fn from(e: zkq_store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_are_json_with_a_code_and_challenges() {
        let res = ApiError::InsufficientScope(Scope::Admin).into_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"zkq\", error=\"insufficient_scope\", scope=\"admin\""
        );
        let res = ApiError::Internal("password=hunter2 at db.internal".into()).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v, json!({"error": "internal", "message": "internal error"}));
        let res = ApiError::Unauthenticated.into_response();
        assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer realm=\"zkq\"");
    }
}
