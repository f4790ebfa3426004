//! [`DriftError`]: one line each, naming what is wrong and where.

/// Why a detector could not be built or a series could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriftError {
    /// A detector parameter is out of its range.
    #[error("{detector}: parameter {param} = {value}: {why}")]
    Parameter {
        /// The detector (`cusum`, `page-hinkley`, `ewma`, `adwin`).
        detector: &'static str,
        /// The parameter's name.
        param: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range.
        why: &'static str,
    },
    /// A CSV line is malformed: the line (1-based), the column when one is to blame, and why.
    #[error("line {line}{}: {why}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
    Csv {
        /// The line, counted from 1.
        line: usize,
        /// The column, counted from 1 (`1` time, `2` value), when one is to blame.
        column: Option<usize>,
        /// What is wrong.
        why: String,
    },
}
