//! Scheduler errors.

use zkq_engine::EngineError;

/// An error from the pipeline's infrastructure (broker, database, key store). Per-job input
/// problems are not errors: they become failure results ([`crate::model::Outcome::Failed`]).
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The AMQP broker refused or dropped the connection.
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker connection was found closed while no broker call was waiting to report it
    /// (lapin only reports a lost connection to a call in flight; consumers just go quiet).
    #[error("AMQP: the broker connection was lost ({0})")]
    BrokerLost(String),
    /// PostgreSQL failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection within the wait timeout, or the pool could not connect.
    #[error("PostgreSQL pool: {0}")]
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
    /// A registration or query was refused, with a reason for the user.
    #[error("{0}")]
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

impl From<deadpool_postgres::PoolError> for SchedulerError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        SchedulerError::Pool(e.to_string())
    }
}
