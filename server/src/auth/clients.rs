//! OAuth 2.0 clients of the auditor API (table `oauth_clients`, migration 0008).
//!
//! A client authenticates with its id and a secret (RFC 6749 §2.3.1) to get access tokens
//! ([`crate::auth::tokens`]). The secret is 256 random bits from the operating system's CSPRNG,
//! url-safe base64 without padding, prefixed `zkqcs_` (so leaked secrets are recognisable); it is
//! shown once by [`add_client`] and only its sha256 (hex) is stored, so reading the table
//! authenticates nobody. [`authenticate`] compares digests in constant time and does the same
//! work for an unknown id (a digest of a dummy), so neither answer nor timing tells which ids
//! exist. [`revoke_client`] sets `revoked_at`: the client can no longer get tokens, and its
//! tokens already issued stop working at once (every token check reads the table).

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_postgres::Row;
use zkq_store::Db;

use super::scopes::Scope;
use crate::error::{random_bytes, Result, ServerError};

/// The prefix of every client secret.
pub const SECRET_PREFIX: &str = "zkqcs_";
/// Longest secret [`authenticate`] looks at, in bytes (a real one is 49).
pub const MAX_SECRET_BYTES: usize = 256;

/// An OAuth client, as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its id: 1-64 characters of ASCII letters, digits and `._-`.
    pub client_id: String,
    /// The scopes its tokens may carry.
    pub scopes: BTreeSet<Scope>,
    /// The tenant it is bound to (it sees only that tenant's records); `None` sees all.
    pub tenant: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it (the operating-system user of `zkq auth client add`, or an operator).
    pub created_by: String,
    /// When it was revoked (a revoked client gets no tokens and its tokens are refused).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A client just created, with its secret (returned once, stored nowhere).
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The client.
    pub client: Client,
    /// Its secret: `zkqcs_` and 43 characters of url-safe base64.
    pub secret: String,
}

/// Whether `id` is a valid client id: 1-64 characters of ASCII letters, digits and `._-` (the
/// table's check constraint).
pub fn valid_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The stored form of a secret: sha256 of its bytes, lowercase hex.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh secret: `zkqcs_` + 256 random bits in url-safe base64 without padding.
pub fn new_secret() -> Result<String> {
    Ok(format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)))
}

/// The scopes of a stored row; a name this version does not know is skipped with a warning
/// (it grants nothing).
fn scopes_of(client_id: &str, names: &[String]) -> BTreeSet<Scope> {
    names
        .iter()
        .filter_map(|n| match n.parse::<Scope>() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(client = %client_id, "stored scope ignored: {e}");
                None
            }
        })
        .collect()
}

fn client_row(row: &Row) -> Client {
    let client_id: String = row.get("client_id");
    let names: Vec<String> = row.get("scopes");
    Client {
        scopes: scopes_of(&client_id, &names),
        client_id,
        tenant: row.get("tenant"),
        created_at: row.get("created_at"),
        created_by: row.get("created_by"),
        revoked_at: row.get("revoked_at"),
    }
}

const COLUMNS: &str = "client_id, scopes, tenant, created_at, created_by, revoked_at";

/// Creates client `client_id` with `scopes` (at least one), bound to `tenant` when given (the
/// tenant must exist), recording `created_by`. Returns the client and its secret, which is
/// never shown again. Fails when the id is taken (revoked clients keep their ids: the access
/// log names them).
pub async fn add_client(
    db: &Db,
    client_id: &str,
    scopes: &BTreeSet<Scope>,
    tenant: Option<&str>,
    created_by: &str,
) -> Result<NewClient> {
    if !valid_client_id(client_id) {
        return Err(ServerError::Invalid(format!(
            "invalid client id {client_id:?}: use 1-64 letters, digits or the characters . _ -"
        )));
    }
    if scopes.is_empty() {
        return Err(ServerError::Invalid(
            "a client needs at least one scope (audit:read, budget:read, costs:read or admin)".into(),
        ));
    }
    let secret = new_secret()?;
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let client = db.client().await?;
    if let Some(t) = tenant {
        if client.query_opt("select 1 from tenants where name = $1", &[&t]).await?.is_none() {
            return Err(ServerError::NotFound(format!("there is no tenant {t:?} (zkq tenant list)")));
        }
    }
    let row = client
        .query_opt(
            &format!(
                "insert into oauth_clients (client_id, secret_sha256, scopes, tenant, created_by)
                 values ($1, $2, $3, $4, $5) on conflict (client_id) do nothing returning {COLUMNS}"
            ),
            &[&client_id, &secret_digest(&secret), &names, &tenant, &created_by],
        )
        .await?;
    let row = row.ok_or_else(|| {
        ServerError::Invalid(format!("client {client_id:?} already exists (revoked ids are not reused)"))
    })?;
    Ok(NewClient { client: client_row(&row), secret })
}

/// Every client, by id (revoked ones too).
pub async fn list_clients(db: &Db) -> Result<Vec<Client>> {
    let client = db.client().await?;
    Ok(client
        .query(&format!("select {COLUMNS} from oauth_clients order by client_id"), &[])
        .await?
        .iter()
        .map(client_row)
        .collect())
}

/// Client `client_id`, if it exists (revoked or not).
pub async fn find_client(db: &Db, client_id: &str) -> Result<Option<Client>> {
    if !valid_client_id(client_id) {
        return Ok(None);
    }
    let client = db.client().await?;
    Ok(client
        .query_opt(&format!("select {COLUMNS} from oauth_clients where client_id = $1"), &[&client_id])
        .await?
        .as_ref()
        .map(client_row))
}

/// Revokes client `client_id`: no more tokens, and its tokens are refused from now on. Returns
/// false when no unrevoked client has that id.
pub async fn revoke_client(db: &Db, client_id: &str) -> Result<bool> {
    let client = db.client().await?;
    Ok(client
        .execute(
            "update oauth_clients set revoked_at = now() where client_id = $1 and revoked_at is null",
            &[&client_id],
        )
        .await?
        == 1)
}

/// The digest unknown ids are compared against: of a random secret nobody knows, made once.
fn dummy_digest() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let seed = random_bytes::<32>().map(hex::encode).unwrap_or_else(|_| "zkq dummy client secret".into());
        secret_digest(&seed)
    })
}

/// The unrevoked client `client_id` if `secret` is its secret; `None` for a wrong secret, an
/// unknown id or a revoked client alike, after the same work (one query, one sha256, one
/// constant-time comparison).
pub async fn authenticate(db: &Db, client_id: &str, secret: &str) -> Result<Option<Client>> {
    let found = if valid_client_id(client_id) {
        let client = db.client().await?;
        client
            .query_opt(
                &format!("select {COLUMNS}, secret_sha256 from oauth_clients where client_id = $1"),
                &[&client_id],
            )
            .await?
            .map(|row| (client_row(&row), row.get::<_, String>("secret_sha256")))
    } else {
        None
    };
    let stored = found.as_ref().map(|(_, d)| d.as_str()).unwrap_or_else(|| dummy_digest());
    let given = if secret.len() <= MAX_SECRET_BYTES { secret_digest(secret) } else { secret_digest("") };
    let matches = bool::from(stored.as_bytes().ct_eq(given.as_bytes())) && secret.len() <= MAX_SECRET_BYTES;
    Ok(match found {
        Some((client, _)) if matches && client.revoked_at.is_none() => Some(client),
        _ => None,
    })
}

/// Whether client `client_id` exists and is not revoked (the per-request check of a token).
pub async fn is_active(db: &Db, client_id: &str) -> Result<bool> {
    let client = db.client().await?;
    Ok(client
        .query_opt(
            "select 1 from oauth_clients where client_id = $1 and revoked_at is null",
            &[&client_id],
        )
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_256_bit_url_safe_base64() {
        let a = new_secret().expect("secret");
        let b = new_secret().expect("secret");
        assert_ne!(a, b);
        let body = a.strip_prefix(SECRET_PREFIX).expect("prefix");
        assert_eq!(body.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(body).expect("base64").len(), 32);
        assert!(body.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let d = secret_digest(&a);
        assert_eq!(d.len(), 64);
        assert!(d.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn client_ids_follow_the_table_constraint() {
        for ok in ["auditor-1", "a.b_c", &"x".repeat(64)] {
            assert!(valid_client_id(ok), "{ok}");
        }
        for bad in ["", "a b", "a:b", "é", &"x".repeat(65), "a@b"] {
            assert!(!valid_client_id(bad), "{bad}");
        }
    }
}
