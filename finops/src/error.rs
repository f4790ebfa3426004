//! Typed errors of the FinOps library, each with the class that decides the CLI's exit code.

use thiserror::Error;

/// What went wrong in a FinOps operation.
#[derive(Debug, Error)]
pub enum FinopsError {
    /// Bad input: a date, a flag value, a CSV row, a price.
    #[error("{0}")]
    BadInput(String),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// Which file and what was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// PostgreSQL is unreachable or refused a query.
    #[error("{what}: {source}")]
    Database {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: postgres::Error,
    },
    /// polars failed building or writing a frame.
    #[error("{what}: {source}")]
    Frame {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A chart could not be drawn.
    #[error("drawing {what}: {reason}")]
    Chart {
        /// Which chart.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, FinopsError>;

impl FinopsError {
    /// A [`FinopsError::Io`] for `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { what: what.into(), source }
    }
    /// A [`FinopsError::Database`] for `what`.
    pub fn db(what: impl Into<String>, source: postgres::Error) -> Self {
        Self::Database { what: what.into(), source }
    }
    /// A [`FinopsError::Frame`] for `what`.
    pub fn frame(what: impl Into<String>, source: polars::error::PolarsError) -> Self {
        Self::Frame { what: what.into(), source }
    }
}
