//! Typed errors of the store: PostgreSQL (with the server's SQLSTATE), the pool, migrations.

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// PostgreSQL failed: `SQLSTATE <code>: <message>` when the server answered, else the
    /// driver's error and its causes.
    #[cfg(feature = "pool")]
    #[error("PostgreSQL: {}", describe_postgres(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection within the wait timeout, or the pool could not be built.
    #[error("PostgreSQL pool: {0}")]
    Pool(String),
    /// A migration failed (nothing of it, nor of the later ones, was applied).
    #[error("migration {version}: {what}")]
    Migration {
        /// Migration version.
        version: i32,
        /// What failed.
        what: String,
    },
    /// The configuration is unusable (an invalid connection string).
    #[error("{0}")]
    Invalid(String),
}

#[cfg(feature = "pool")]
impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Pool(e.to_string())
    }
}

impl StoreError {
    /// Whether the same operation may succeed if simply run again later: pool timeouts,
    /// connection errors and the transient SQLSTATE classes ([`sqlstate_is_transient`]).
    pub fn is_transient(&self) -> bool {
        match self {
            #[cfg(feature = "pool")]
            StoreError::Postgres(e) => postgres_is_transient(e),
            StoreError::Pool(_) => true,
            StoreError::Migration { .. } | StoreError::Invalid(_) => false,
        }
    }
}

/// Whether a server error with this SQLSTATE may go away on retry: classes 08 (connection
/// exception), 40 (transaction rollback: serialization failure, deadlock), 53 (insufficient
/// resources), 57 (operator intervention: statement timeout, admin shutdown, cannot connect
/// now), 58 (system error: I/O) and 55P03 (lock not available). Everything else, e.g. 22 (data
/// exception), 23 (integrity constraint), 42 (syntax error or access rule), 54 (program limit
/// exceeded), XX (internal error), is permanent (PostgreSQL documentation, Appendix A).
pub fn sqlstate_is_transient(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "40" | "53" | "57" | "58")) || code == "55P03"
}

/// Whether a driver error may go away on retry: a transient SQLSTATE, or a connection problem.
#[cfg(feature = "pool")]
pub fn postgres_is_transient(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return sqlstate_is_transient(code.code());
    }
    if e.is_closed() {
        return true;
    }
    // tokio-postgres does not expose its error kinds; these are the Display texts of the kinds
    // that are about the connection (Io, Connect, Timeout, Closed, Tls, and a desynchronised
    // protocol stream). Parameter/column conversion and the like are permanent.
    let text = e.to_string();
    let connection = [
        "error communicating with the server",
        "error connecting to server",
        "timeout waiting for server",
        "connection closed",
        "error performing TLS handshake",
        "unexpected message from server",
        "error parsing response from server",
    ];
    connection.contains(&text.as_str()) || has_io_cause(e)
}

#[cfg(feature = "pool")]
fn has_io_cause(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A PostgreSQL error for a log or error line: `SQLSTATE <code>: <message>` from the server,
/// else the driver's text and its causes (tokio-postgres prints only "db error" for the former
/// and omits the cause of the latter). Callers that may echo connection strings redact it.
#[cfg(feature = "pool")]
pub fn describe_postgres(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("SQLSTATE {}: {}", db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes_are_sorted_into_transient_and_permanent() {
        for code in ["08006", "40001", "40P01", "53300", "57014", "58030", "55P03"] {
            assert!(sqlstate_is_transient(code), "{code}");
        }
        for code in ["22021", "23505", "42P01", "54000", "XX000", "55000", ""] {
            assert!(!sqlstate_is_transient(code), "{code}");
        }
        assert!(StoreError::Pool("timed out".into()).is_transient());
        assert!(!StoreError::Invalid("no".into()).is_transient());
    }
}
