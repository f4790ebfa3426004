//! The budget module's errors.

use zkq_store::StoreError;

/// Why a budget operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The database failed or refused (see [`BudgetError::is_transient`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input that zkq refuses, with the reason (one line, names the value and the rule).
    #[error("{0}")]
    Invalid(String),
    /// No budget for this tenant and purpose.
    #[error("tenant {tenant:?} has no budget for purpose {purpose:?} (zkq budget set creates one)")]
    UnknownBudget {
        /// Tenant.
        tenant: String,
        /// Purpose.
        purpose: String,
    },
    /// The tenant is not registered.
    #[error("tenant {0:?} is not registered (zkq tenant add creates it)")]
    UnknownTenant(String),
    /// The stored ledger disagrees with its own receipts: nothing was changed.
    #[error("ledger of tenant {tenant:?}, purpose {purpose:?} is inconsistent: {why}")]
    Inconsistent {
        /// Tenant.
        tenant: String,
        /// Purpose.
        purpose: String,
        /// What disagrees.
        why: String,
    },
    /// A receipt bundle or key file could not be read or written.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        why: String,
    },
    /// Signing keys.
    #[error(transparent)]
    Audit(#[from] zkq_audit::AuditError),
}

impl From<tokio_postgres::Error> for BudgetError {
    fn from(e: tokio_postgres::Error) -> Self {
        BudgetError::Store(StoreError::from(e))
    }
}

impl BudgetError {
    /// True when the same operation may succeed if run again (connection, pool, timeout,
    /// deadlock, serialization failure).
    pub fn is_transient(&self) -> bool {
        matches!(self, BudgetError::Store(e) if e.is_transient())
    }
}
