//! Scheduler errors.

use zkq_engine::EngineError;

use crate::redact::redact;

/// An error from the pipeline's infrastructure (broker, database, key store). Per-job input
/// problems are not errors: they become failure results ([`crate::model::Outcome::Failed`]).
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The AMQP broker refused or dropped the connection. (Printed with passwords redacted: an
    /// invalid URI is echoed whole by the parser.)
    #[error("AMQP: {}", redact(&.0.to_string()))]
    Amqp(#[from] lapin::Error),
    /// The broker connection was found closed while no broker call was waiting to report it
    /// (lapin only reports a lost connection to a call in flight; consumers just go quiet).
    #[error("AMQP: the broker connection was lost ({})", redact(.0))]
    BrokerLost(String),
    /// PostgreSQL failed. Printed with the server's SQLSTATE and message when the server
    /// answered (`PostgreSQL: SQLSTATE 22021: invalid byte sequence …`), else with the driver's
    /// error and its cause.
    #[error("PostgreSQL: {}", describe_postgres(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection within the wait timeout, or the pool could not connect.
    #[error("PostgreSQL pool: {}", redact(.0))]
    Pool(String),
    /// The key store failed.
    #[error("key store {path}: {what}")]
    KeyStore {
        /// File or directory.
        path: String,
        /// What went wrong.
        what: String,
    },
    /// The engine failed on something that is not a job's input (e.g. a stored zkey is corrupt).
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// The device thread has stopped (after repeated panics): the worker cannot prove and
    /// exits non-zero so that a supervisor restarts it.
    #[error("device: {0}")]
    DeviceGone(String),
    /// A registration or query was refused, with a reason for the user.
    #[error("{}", redact(.0))]
    Invalid(String),
    /// A migration failed.
    #[error("migration {version}: {what}")]
    Migration {
        /// Migration version.
        version: i32,
        /// What failed.
        what: String,
    },
    /// The broker did not take a published job: it returned it as unroutable (a `mandatory`
    /// publish no queue was bound for: the job is in no queue) or refused it (nack: the broker
    /// does not say whether some queue took it; publishing again under the same job id is safe).
    #[error("job {job_id} was not submitted: {why}")]
    NotSubmitted {
        /// The job.
        job_id: String,
        /// Why, in the broker's words.
        why: String,
        /// Returned as unroutable: certainly in no queue.
        returned: bool,
    },
}

impl From<zkq_store::StoreError> for SchedulerError {
    fn from(e: zkq_store::StoreError) -> Self {
        match e {
            zkq_store::StoreError::Postgres(e) => SchedulerError::Postgres(e),
            zkq_store::StoreError::Pool(what) => SchedulerError::Pool(what),
            zkq_store::StoreError::Migration { version, what } => SchedulerError::Migration { version, what },
            zkq_store::StoreError::Invalid(what) => SchedulerError::Invalid(what),
        }
    }
}

impl From<zkq_audit::pg::LogError> for SchedulerError {
    fn from(e: zkq_audit::pg::LogError) -> Self {
        match e {
            zkq_audit::pg::LogError::Db(e) => e.into(),
            other => SchedulerError::Invalid(other.to_string()),
        }
    }
}

impl From<zkq_budget::BudgetError> for SchedulerError {
    fn from(e: zkq_budget::BudgetError) -> Self {
        match e {
            zkq_budget::BudgetError::Store(e) => e.into(),
            other => SchedulerError::Invalid(other.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for SchedulerError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        SchedulerError::Pool(e.to_string())
    }
}

impl SchedulerError {
    /// Whether retrying the same operation may succeed: the database or the broker could not
    /// be reached, a pooled connection was not had in time, the server timed the statement out,
    /// was shutting down, short of resources, or lost a serialization race. Everything else is
    /// permanent: the database refused this request (bad data, a violated constraint, a value
    /// over a limit, an undefined object, …) and will refuse it again, so the job it belongs to
    /// must fail rather than be retried.
    pub fn is_transient(&self) -> bool {
        match self {
            SchedulerError::Amqp(_) | SchedulerError::BrokerLost(_) | SchedulerError::Pool(_) => true,
            SchedulerError::Postgres(e) => postgres_is_transient(e),
            SchedulerError::KeyStore { .. }
            | SchedulerError::Engine(_)
            | SchedulerError::DeviceGone(_)
            | SchedulerError::NotSubmitted { .. }
            | SchedulerError::Invalid(_)
            | SchedulerError::Migration { .. } => false,
        }
    }

    /// The SQLSTATE of a PostgreSQL error the server reported.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            SchedulerError::Postgres(e) => e.code().map(|c| c.code()),
            _ => None,
        }
    }
}

pub use zkq_store::error::sqlstate_is_transient;
use zkq_store::error::postgres_is_transient;

/// A PostgreSQL error for a log or error line: `SQLSTATE <code>: <message>` from the server,
/// else the driver's text and its causes (tokio-postgres prints only "db error" for the former
/// and omits the cause of the latter).
fn describe_postgres(e: &tokio_postgres::Error) -> String {
    redact(&zkq_store::error::describe_postgres(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_timeout_and_resource_states_are_retried() {
        for transient in ["08006", "08001", "40001", "40P01", "53300", "53100", "57014", "57P01", "57P03", "58030", "55P03"] {
            assert!(sqlstate_is_transient(transient), "{transient}");
        }
        // NUL byte, value too long, timestamp out of range, unique and foreign-key violations,
        // index row too large, undefined table, permission denied, internal error.
        for permanent in ["22021", "22001", "22008", "23505", "23503", "54000", "42P01", "42501", "XX000", "55000", ""] {
            assert!(!sqlstate_is_transient(permanent), "{permanent}");
        }
        assert!(SchedulerError::Pool("timed out".into()).is_transient());
        assert!(!SchedulerError::Invalid("no".into()).is_transient());
        assert_eq!(SchedulerError::Pool("x".into()).sqlstate(), None);
    }
}
