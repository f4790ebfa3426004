//! [`ServerError`]: why an operator, session or server operation failed.

use zkq_store::StoreError;

/// Why an operator, session or server operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request is not valid (an operator name or password that breaks the rules, an
    /// operator that does not exist). Plain words, one line.
    #[error("{0}")]
    Invalid(String),
    /// A named record (an OAuth client) does not exist. Plain words, one line.
    #[error("{0}")]
    NotFound(String),
    /// An access token could not be made (the signing key is unusable).
    #[error("cannot sign access tokens: {0}")]
    Token(String),
    /// Hashing or checking a password failed (not: a wrong password).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// The listener failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

impl From<tokio_postgres::Error> for ServerError {
    fn from(e: tokio_postgres::Error) -> Self {
        ServerError::Store(StoreError::Postgres(e))
    }
}

/// Result of this crate's operations.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// `n` random bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| ServerError::Random(e.to_string()))?;
    Ok(bytes)
}
