//! Engine errors. Every variant names the file (or input) and the problem in one line; callers
//! map [`EngineError::class`] to exit codes.

use std::path::PathBuf;

use zkq_kernels::KernelError;

/// Broad classes of failure, for exit codes and retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A file is missing, unreadable or unwritable.
    Io,
    /// Input is malformed: truncated, corrupt, wrong curve, wrong sizes.
    BadInput,
    /// The witness does not satisfy the circuit's constraints.
    Unsatisfied,
    /// The backend failed or is not available.
    Backend,
}

/// An error from the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Reading or writing a file failed.
    #[error("{}: {action} failed: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`open`, `read`, `write`, `rename`).
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file's contents are malformed.
    #[error("{source_name}: {what}")]
    Format {
        /// The file (or other input) name.
        source_name: String,
        /// What is wrong, and where.
        what: String,
    },
    /// The file is for another curve or field.
    #[error("{source_name}: wrong curve: {what} (zkq proves over BN254, snarkjs's `bn128`)")]
    WrongCurve {
        /// The file.
        source_name: String,
        /// Which prime was found.
        what: String,
    },
    /// Witness and proving key do not belong together.
    #[error("{source_name}: witness has {found} values but the proving key expects {expected}")]
    WitnessLength {
        /// The witness file.
        source_name: String,
        /// nVars of the key.
        expected: usize,
        /// Values in the witness.
        found: usize,
    },
    /// The witness does not satisfy the constraints (the proof failed verification).
    #[error("{source_name}: witness does not satisfy the circuit's constraints ({detail})")]
    Unsatisfied {
        /// The witness file.
        source_name: String,
        /// What showed it.
        detail: String,
    },
    /// A kernel backend failed.
    #[error("backend: {0}")]
    Kernel(#[from] KernelError),
}

impl EngineError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            EngineError::Io { .. } => ErrorClass::Io,
            EngineError::Format { .. } | EngineError::WrongCurve { .. } | EngineError::WitnessLength { .. } => {
                ErrorClass::BadInput
            }
            EngineError::Unsatisfied { .. } => ErrorClass::Unsatisfied,
            EngineError::Kernel(KernelError::InvalidInput(_)) => ErrorClass::BadInput,
            EngineError::Kernel(_) => ErrorClass::Backend,
        }
    }

    /// A [`EngineError::Format`] error.
    pub fn format(source_name: impl Into<String>, what: impl Into<String>) -> Self {
        EngineError::Format { source_name: source_name.into(), what: what.into() }
    }
}
