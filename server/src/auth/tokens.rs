//! [`TokenIssuer`]: access tokens of the auditor API — JWTs in RFC 9068's profile, signed with
//! ed25519 (`alg: EdDSA`).
//!
//! **Issued**: header `{"alg":"EdDSA","typ":"at+jwt"}`; claims `iss`, `sub` (= `client_id`),
//! `client_id`, `aud`, `iat`, `exp` (`iat` + the configured lifetime), `jti` (128 random bits,
//! hex), `scope` (space-delimited) and, for a tenant-bound client, `tenant`.
//!
//! **Verified** (RFC 8725): the algorithm is pinned to EdDSA (`alg: none`, HMAC and every other
//! algorithm are refused before any key is used), the signature must be by this issuer's key,
//! `exp`, `iss`, `aud` and `sub` are required, `iss` and `aud` must be this server's, at most
//! [`LEEWAY_SECS`] of clock skew is allowed, `typ` must be `at+jwt` (so an ID token or another
//! JWT of the same key is not an access token), every scope must be known, and finally the
//! client must still exist unrevoked in the database: revocation takes effect at once.
//!
//! jsonwebtoken checks none of the scopes: routes check them ([`crate::auth::Principal::require`]).

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use zkq_audit::SigningKey;
use zkq_store::Db;

use super::clients::{self, Client};
use super::principal::Principal;
use super::scopes::{format_scopes, parse_scopes, Scope};
use crate::api_error::ApiError;
use crate::error::{random_bytes, Result, ServerError};

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Clock skew allowed when checking `exp` (and `nbf`, if present), seconds.
pub const LEEWAY_SECS: u64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: [`crate::ApiConfig::issuer`].
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// The client id (RFC 9068 §2.2).
    pub client_id: String,
    /// Audience: [`crate::ApiConfig::audience`].
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// Token id: 32 hex digits.
    pub jti: String,
    /// Granted scopes, space-delimited.
    pub scope: String,
    /// The tenant of a tenant-bound client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// Issues and verifies access tokens with one ed25519 key.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key_id: String,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("key_id", &self.key_id)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The jsonwebtoken signing key of `key`: its PKCS#8 DER (what jsonwebtoken's EdDSA signer
/// reads), taken from the PEM zkq-audit writes.
pub fn encoding_key(key: &SigningKey) -> Result<EncodingKey> {
    let pem = key.to_pem().map_err(|e| ServerError::Token(e.to_string()))?;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| ServerError::Token(format!("the key's PEM is not base64 ({e})")))?;
    Ok(EncodingKey::from_ed_der(&der))
}

/// The jsonwebtoken verifying key of `key`'s public half (its raw 32 bytes).
pub fn decoding_key(key: &SigningKey) -> Result<DecodingKey> {
    let raw = hex::decode(key.public().to_hex()).map_err(|e| ServerError::Token(e.to_string()))?;
    Ok(DecodingKey::from_ed_der(&raw))
}

impl TokenIssuer {
    /// An issuer signing with `key`, naming itself `issuer`, for `audience`, tokens lasting
    /// `ttl`. Checks once that the key signs and verifies.
    pub fn new(key: &SigningKey, issuer: &str, audience: &str, ttl: Duration) -> Result<TokenIssuer> {
        if issuer.is_empty() || audience.is_empty() {
            return Err(ServerError::Invalid("the token issuer and audience must not be empty".into()));
        }
        if ttl.as_secs() == 0 {
            return Err(ServerError::Invalid("the token lifetime must be at least 1 second".into()));
        }
        let issuer = TokenIssuer {
            encoding: encoding_key(key)?,
            decoding: decoding_key(key)?,
            key_id: key.key_id(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        };
        let probe = issuer.sign(&issuer.claims("probe", &BTreeSet::new(), None, chrono::Utc::now().timestamp())?)?;
        issuer
            .decode(&probe)
            .map_err(|e| ServerError::Token(format!("a probe token does not verify: {e}")))?;
        Ok(issuer)
    }

    /// The signing key's id (zkq-audit key id).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn claims(&self, client_id: &str, scopes: &BTreeSet<Scope>, tenant: Option<&str>, now: i64) -> Result<Claims> {
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        Ok(Claims {
            iss: self.issuer.clone(),
            sub: client_id.to_owned(),
            client_id: client_id.to_owned(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add(ttl),
            jti: hex::encode(random_bytes::<16>()?),
            scope: format_scopes(scopes),
            tenant: tenant.map(str::to_owned),
        })
    }

    fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| ServerError::Token(e.to_string()))
    }

    /// A token for `client` carrying `granted` (which the caller has checked is a non-empty
    /// subset of the client's scopes), and its lifetime in seconds.
    pub fn issue(&self, client: &Client, granted: &BTreeSet<Scope>) -> Result<(String, u64)> {
        let claims = self.claims(&client.client_id, granted, client.tenant.as_deref(), chrono::Utc::now().timestamp())?;
        Ok((self.sign(&claims)?, self.ttl.as_secs()))
    }

    /// The validation of every token: EdDSA only, required claims, issuer, audience, leeway.
    fn validation(&self) -> Validation {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v
    }

    /// The claims of `token` if it is one of ours and in force — everything but the database
    /// check. The error is one line for the client (`invalid_token`).
    pub fn decode(&self, token: &str) -> Result<Claims, ApiError> {
        use jsonwebtoken::errors::ErrorKind as K;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::InvalidToken("the access token is malformed".into()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(ApiError::InvalidToken("the access token is not signed with EdDSA".into()));
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(ApiError::InvalidToken("the token is not an access token (typ must be at+jwt)".into()));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation()).map_err(|e| {
            ApiError::InvalidToken(
                match e.kind() {
                    K::ExpiredSignature => "the access token has expired",
                    K::InvalidIssuer => "the access token is of another issuer",
                    K::InvalidAudience => "the access token is for another audience",
                    K::InvalidSignature => "the access token's signature is not valid",
                    K::MissingRequiredClaim(_) => "the access token lacks a required claim",
                    _ => "the access token is malformed",
                }
                .into(),
            )
        })?;
        let claims = data.claims;
        if claims.sub != claims.client_id {
            return Err(ApiError::InvalidToken("the access token's sub is not its client_id".into()));
        }
        Ok(claims)
    }

    /// The principal of `token`: [`decode`](Self::decode), then the client must exist unrevoked
    /// (asked of the database on every request).
    pub async fn verify(&self, db: &Db, token: &str) -> Result<Principal, ApiError> {
        let claims = self.decode(token)?;
        let scopes = if claims.scope.is_empty() {
            BTreeSet::new()
        } else {
            parse_scopes(&claims.scope).map_err(|_| ApiError::InvalidToken("the access token has an unknown scope".into()))?
        };
        if !clients::is_active(db, &claims.client_id).await? {
            return Err(ApiError::InvalidToken("the access token's client was revoked".into()));
        }
        Ok(Principal {
            client_id: Some(claims.client_id),
            operator: None,
            tenant: claims.tenant,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(seed: u8, iss: &str, aud: &str) -> TokenIssuer {
        TokenIssuer::new(&SigningKey::from_seed(&[seed; 32]), iss, aud, Duration::from_secs(300)).expect("issuer")
    }

    fn client(tenant: Option<&str>) -> Client {
        Client {
            client_id: "auditor".into(),
            scopes: [Scope::AuditRead, Scope::BudgetRead].into(),
            tenant: tenant.map(str::to_owned),
            created_at: chrono::Utc::now(),
            created_by: "test".into(),
            revoked_at: None,
        }
    }

    #[test]
    fn issued_tokens_follow_rfc_9068_and_verify() {
        let iss = issuer(1, "zkq", "zkq-auditor-api");
        let (token, expires_in) = iss.issue(&client(Some("acme")), &[Scope::AuditRead].into()).expect("issue");
        assert_eq!(expires_in, 300);
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!((header.alg, header.typ.as_deref()), (Algorithm::EdDSA, Some("at+jwt")));
        let c = iss.decode(&token).expect("valid");
        assert_eq!((c.iss.as_str(), c.aud.as_str(), c.sub.as_str()), ("zkq", "zkq-auditor-api", "auditor"));
        assert_eq!(c.client_id, "auditor");
        assert_eq!(c.scope, "audit:read");
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        assert_eq!(c.exp - c.iat, 300);
        assert_eq!(c.jti.len(), 32);
        let (other, _) = iss.issue(&client(None), &[Scope::AuditRead].into()).expect("issue");
        assert!(!other.contains("tenant") && iss.decode(&other).expect("valid").tenant.is_none());
    }

    #[test]
    fn foreign_tokens_are_refused() {
        let iss = issuer(1, "zkq", "zkq-auditor-api");
        let scopes: BTreeSet<Scope> = [Scope::AuditRead].into();
        for (other, why) in [
            (issuer(2, "zkq", "zkq-auditor-api"), "signature"),
            (issuer(1, "someone-else", "zkq-auditor-api"), "another issuer"),
            (issuer(1, "zkq", "another-api"), "another audience"),
        ] {
            let (token, _) = other.issue(&client(None), &scopes).expect("issue");
            let e = iss.decode(&token).expect_err(why).to_string();
            assert!(e.contains(why), "{e}");
        }
        assert!(iss.decode("garbage").is_err());
        assert!(iss.decode("").is_err());
    }
}
