//! Login sessions (table `operator_sessions`, migration 0007).
//!
//! A session is a random 256-bit token from the operating system's CSPRNG, given to the browser
//! in a cookie as 64 hex digits; the table keeps only its sha256, so reading the table logs
//! nobody in. Each session has its own CSRF token (random, 256 bits), which every form carries
//! ([`crate::csrf`]). A session lasts a fixed time from login (no renewal); an expired or
//! unknown token, or one whose operator was removed, finds nothing: the request is logged out.
//! Logout deletes the row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zkq_store::Db;

use crate::error::{random_bytes, Result, ServerError};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The logged-in operator.
    pub operator: String,
    /// The session's CSRF token (64 hex digits), for the hidden field of every form.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// A new session: the token for the cookie (returned once, stored nowhere) and the session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie's value: 64 hex digits.
    pub token: String,
    /// The session.
    pub session: Session,
}

/// A fresh random 256-bit value as 64 lowercase hex digits.
pub fn random_token() -> Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// The stored form of a session token: the sha256 of its 32 bytes, in hex. `None` when `token`
/// is not 64 hex digits (no such token was ever issued).
pub fn token_digest(token: &str) -> Option<String> {
    if token.len() != 64 {
        return None;
    }
    let bytes = hex::decode(token).ok()?;
    Some(hex::encode(Sha256::digest(bytes)))
}

/// Logs `operator` in for `ttl`, and deletes every expired session of anyone (housekeeping).
pub async fn create_session(db: &Db, operator: &str, ttl: Duration) -> Result<NewSession> {
    let token = random_token()?;
    let digest = token_digest(&token).ok_or_else(|| ServerError::Random("a malformed token was generated".into()))?;
    let csrf_token = random_token()?;
    let ttl_secs = ttl.as_secs_f64();
    let client = db.client().await?;
    client
        .execute("delete from operator_sessions where expires_at <= now()", &[])
        .await?;
    let row = client
        .query_one(
            "insert into operator_sessions (token_sha256, operator, csrf_token, expires_at)
             values ($1, $2, $3, now() + make_interval(secs => $4))
             returning expires_at",
            &[&digest, &operator, &csrf_token, &ttl_secs],
        )
        .await?;
    Ok(NewSession {
        token,
        session: Session {
            operator: operator.to_owned(),
            csrf_token,
            expires_at: row.get(0),
        },
    })
}

/// The live session of `token`: not expired, and its operator not removed. `None` otherwise
/// (also for a malformed token, without asking the database).
pub async fn find_session(db: &Db, token: &str) -> Result<Option<Session>> {
    let Some(digest) = token_digest(token) else {
        return Ok(None);
    };
    let client = db.client().await?;
    let row = client
        .query_opt(
            "select s.operator, s.csrf_token, s.expires_at
               from operator_sessions s join operators o on o.name = s.operator
              where s.token_sha256 = $1 and s.expires_at > now() and o.disabled_at is null",
            &[&digest],
        )
        .await?;
    Ok(row.map(|r| Session {
        operator: r.get(0),
        csrf_token: r.get(1),
        expires_at: r.get(2),
    }))
}

/// Logs the session of `token` out. Returns whether there was one.
pub async fn delete_session(db: &Db, token: &str) -> Result<bool> {
    let Some(digest) = token_digest(token) else {
        return Ok(false);
    };
    let client = db.client().await?;
    Ok(client
        .execute("delete from operator_sessions where token_sha256 = $1", &[&digest])
        .await?
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_only_their_digest_is_kept() {
        let a = random_token().expect("token");
        let b = random_token().expect("token");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let d = token_digest(&a).expect("digest");
        assert_eq!(d.len(), 64);
        assert_ne!(d, a);
        assert_eq!(token_digest(&a), Some(d), "deterministic");
        assert_eq!(token_digest("short"), None);
        assert_eq!(token_digest(&"z".repeat(64)), None);
    }
}
