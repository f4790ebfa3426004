//! [`ApiState`] and [`ApiConfig`]: what every route of the JSON API (`/oauth/token`, `/v1/…`)
//! shares, as `State<Arc<ApiState>>`.

use std::time::Duration;

use zkq_store::Db;

use crate::auth::TokenIssuer;

/// The default token issuer (`iss`).
pub const DEFAULT_ISSUER: &str = "zkq";
/// The default token audience (`aud`).
pub const DEFAULT_AUDIENCE: &str = "zkq-auditor-api";
/// The default access-token lifetime: 5 minutes (short, since tokens are cheap to get again and
/// a leaked one is good until it expires, or until its client is revoked).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);

/// Settings of the JSON API. Every field has a documented default ([`Default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The `iss` of issued tokens, and the only one accepted. Default [`DEFAULT_ISSUER`] (`zkq`).
    pub issuer: String,
    /// The `aud` of issued tokens, and the only one accepted. Default [`DEFAULT_AUDIENCE`]
    /// (`zkq-auditor-api`).
    pub audience: String,
    /// How long an access token lasts. Default [`DEFAULT_TOKEN_TTL`] (300 s).
    pub token_ttl: Duration,
    /// Whether the admin pages' session cookie is the `Secure` one (`__Host-zkq_session`): an
    /// operator session is accepted on `/v1` GETs under that name only. Default false, as
    /// [`crate::ServerConfig::secure_cookies`], which it must match.
    pub secure_cookies: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            token_ttl: DEFAULT_TOKEN_TTL,
            secure_cookies: false,
        }
    }
}

/// What the API's handlers share.
#[derive(Debug)]
pub struct ApiState {
    /// The database: clients, sessions, access events, and the records the API serves.
    pub db: Db,
    /// Issues and verifies access tokens (built from [`ApiState::config`]).
    pub tokens: TokenIssuer,
    /// Issuer, audience, token lifetime.
    pub config: ApiConfig,
}

impl ApiState {
    /// The state of an API over `db`, signing tokens with `key` as `config` says.
    pub fn new(db: Db, key: &zkq_audit::SigningKey, config: ApiConfig) -> crate::Result<ApiState> {
        let tokens = TokenIssuer::new(key, &config.issuer, &config.audience, config.token_ttl)?;
        Ok(ApiState { db, tokens, config })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = ApiConfig::default();
        assert_eq!((c.issuer.as_str(), c.audience.as_str()), ("zkq", "zkq-auditor-api"));
        assert_eq!(c.token_ttl, Duration::from_secs(300));
        assert!(!c.secure_cookies);
    }
}
