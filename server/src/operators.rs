//! Operator accounts: who may log in to the admin pages (table `operators`, migration 0007).
//!
//! Passwords are stored as argon2id PHC strings (argon2's default parameters: 19 MiB, 2
//! passes, 1 lane — OWASP's recommendation), with a fresh 128-bit salt each. [`authenticate`]
//! costs one argon2 verification whatever the name: an unknown or disabled operator is checked
//! against a dummy hash, so the response time does not tell which names exist. Hashing runs on
//! tokio's blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use zkq_store::Db;

use crate::error::{random_bytes, Result, ServerError};

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes (bounds the work one login attempt costs).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Name (1-64 characters of letters, digits and `._@-`).
    pub name: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When it was removed (a removed operator cannot log in).
    pub disabled_at: Option<DateTime<Utc>>,
}

fn operator_row(row: &Row) -> Operator {
    Operator {
        name: row.get("name"),
        created_at: row.get("created_at"),
        disabled_at: row.get("disabled_at"),
    }
}

/// Whether `name` is a valid operator name: 1-64 characters of ASCII letters, digits and
/// `._@-` (the table's check constraint).
pub fn valid_operator_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(ServerError::Invalid("the password is empty".into()));
    }
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ServerError::Invalid(format!(
            "the password is too short: {chars} characters, at least {MIN_PASSWORD_CHARS} needed"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ServerError::Invalid(format!(
            "the password is too long: at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| ServerError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. A malformed stored hash is an error, not a
/// mismatch.
pub fn verify_password(password: &str, hash: &str) -> Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(|e| ServerError::Hash(format!("stored hash is malformed: {e}")))?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(ServerError::Hash(e.to_string())),
    }
}

/// A hash of a random password nobody knows, made once: unknown names are verified against it.
fn dummy_hash() -> Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let h = hash_password(&hex::encode(random_bytes::<32>()?))?;
    Ok(DUMMY.get_or_init(|| h))
}

/// Creates operator `name` with `password`, or — for a removed operator — enables it again with
/// the new password. Fails when an enabled operator of that name exists.
pub async fn add_operator(db: &Db, name: &str, password: &str) -> Result<Operator> {
    if !valid_operator_name(name) {
        return Err(ServerError::Invalid(format!(
            "invalid operator name {name:?}: use 1-64 letters, digits or the characters . _ @ -"
        )));
    }
    check_new_password(password)?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServerError::Hash(format!("the hashing task failed: {e}")))??;
    let client = db.client().await?;
    let row = client
        .query_opt(
            "insert into operators (name, password_hash) values ($1, $2)
             on conflict (name) do update set password_hash = excluded.password_hash, disabled_at = null,
                                              created_at = now()
                 where operators.disabled_at is not null
             returning name, created_at, disabled_at",
            &[&name, &hash],
        )
        .await?;
    row.as_ref()
        .map(operator_row)
        .ok_or_else(|| ServerError::Invalid(format!("operator {name:?} already exists")))
}

/// Removes operator `name`: marks it disabled (the row stays: receipts name it) and deletes its
/// sessions, logging it out everywhere. Returns false when no enabled operator has that name.
pub async fn remove_operator(db: &Db, name: &str) -> Result<bool> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let n = tx
        .execute(
            "update operators set disabled_at = now() where name = $1 and disabled_at is null",
            &[&name],
        )
        .await?;
    tx.execute("delete from operator_sessions where operator = $1", &[&name])
        .await?;
    tx.commit().await?;
    Ok(n == 1)
}

/// Every operator, by name (removed ones too).
pub async fn list_operators(db: &Db) -> Result<Vec<Operator>> {
    let client = db.client().await?;
    Ok(client
        .query("select name, created_at, disabled_at from operators order by name", &[])
        .await?
        .iter()
        .map(operator_row)
        .collect())
}

/// The enabled operator `name` if `password` is theirs; `None` for a wrong password, an unknown
/// name or a removed operator alike, after the same work (one argon2 verification).
pub async fn authenticate(db: &Db, name: &str, password: &str) -> Result<Option<Operator>> {
    let found = if valid_operator_name(name) {
        let client = db.client().await?;
        client
            .query_opt(
                "select name, created_at, disabled_at, password_hash from operators where name = $1",
                &[&name],
            )
            .await?
            .map(|row| (operator_row(&row), row.get::<_, String>("password_hash")))
    } else {
        None
    };
    let hash = match &found {
        Some((_, hash)) => hash.clone(),
        None => dummy_hash()?.to_owned(),
    };
    let password: String = password.chars().take(MAX_PASSWORD_BYTES).collect();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ServerError::Hash(format!("the hashing task failed: {e}")))??;
    Ok(match found {
        Some((op, _)) if matches && op.disabled_at.is_none() => Some(op),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_table_constraint() {
        for ok in ["alice", "ops.bob@example.com", "a-b_c", &"x".repeat(64)] {
            assert!(valid_operator_name(ok), "{ok}");
        }
        for bad in ["", "with space", "<script>", "ünïcode", &"x".repeat(65), "semi;colon"] {
            assert!(!valid_operator_name(bad), "{bad}");
        }
    }

    #[test]
    fn short_and_empty_passwords_are_refused_in_plain_words() {
        assert_eq!(
            check_new_password("").expect_err("empty").to_string(),
            "the password is empty"
        );
        let e = check_new_password("elevenchars").expect_err("short").to_string();
        assert!(e.contains("too short: 11 characters, at least 12"), "{e}");
        check_new_password("twelve chars").expect("12 characters are enough");
        // Characters, not bytes: 12 two-byte characters pass, 11 do not.
        check_new_password(&"é".repeat(12)).expect("12 characters");
        assert!(check_new_password(&"é".repeat(11)).is_err());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = hash_password("correct horse battery").expect("hash");
        let b = hash_password("correct horse battery").expect("hash");
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt per hash");
        assert!(verify_password("correct horse battery", &a).expect("verify"));
        assert!(!verify_password("correct horse batterY", &a).expect("verify"));
        assert!(verify_password("x", "not a phc string").is_err());
    }
}
