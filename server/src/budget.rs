//! The seam between the admin pages and the privacy-budget ledger: [`BudgetAdmin`], the rows
//! it returns and [`AdminError`].
//!
//! The server knows nothing of how budgets are stored. The PostgreSQL implementation lives with
//! the ledger (crate `zkq-budget`); `testing::MemoryBudgets` (feature `testing`) is an
//! in-memory one for tests. ε amounts cross this seam as exact decimal strings (`"2.0"`,
//! `"0.125"`): the page shows them as given and passes what the operator typed unparsed, so the
//! ledger alone decides what a valid amount is.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A ledger (one tenant × purpose) as the admin page shows it. ε amounts are exact decimal
/// strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// Tenant name (any text: the page escapes it).
    pub tenant: String,
    /// Purpose the budget is for.
    pub purpose: String,
    /// The accounting window: `sliding:24h`, `calendar:day`, `calendar:week`, `calendar:month`
    /// or `total`.
    pub window: String,
    /// The most ε that may be spent in one window.
    pub cap: String,
    /// ε charged in the current window.
    pub spent: String,
    /// ε reserved by admitted jobs not yet charged or refunded.
    pub reserved: String,
    /// What admission may still reserve: cap − spent − reserved, at least 0.
    pub remaining: String,
    /// The most ε one job may request, if limited.
    pub per_job_max: Option<String>,
    /// When the current window began (none for `total`).
    pub window_start: Option<DateTime<Utc>>,
    /// When spent ε is next released (the window rolls or the oldest charge leaves a sliding
    /// window); none when nothing will be released.
    pub next_release: Option<DateTime<Utc>>,
}

/// A job that admission refused because its budget could not cover it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    /// When it was refused.
    pub at: DateTime<Utc>,
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// The refused job.
    pub job_id: String,
    /// ε the job asked for.
    pub requested: String,
    /// Why, as told to the submitter.
    pub message: String,
}

/// One entry of a ledger's receipt chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRow {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The receipt's id.
    pub receipt_id: String,
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// `charge`, `refund`, `reset` or `cap`.
    pub kind: String,
    /// ε of the entry (for `cap`: the new cap).
    pub epsilon: String,
    /// ε spent in the window after it.
    pub running_total: String,
    /// Position in the ledger's chain.
    pub seq: i64,
    /// The job charged or refunded.
    pub job_id: Option<String>,
    /// The operator who set a cap or reset.
    pub actor: Option<String>,
    /// The operator's reason.
    pub reason: Option<String>,
}

/// Why a budget operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The request is not valid (a malformed cap, an empty reason, an unknown ledger). The text
    /// is shown to the operator as it is: plain words, one line.
    #[error("{0}")]
    Invalid(String),
    /// The backend failed (the database is unreachable, …). Shown to the operator prefixed by
    /// "the budget backend failed"; logged.
    #[error("the budget backend failed: {0}")]
    Backend(String),
}

/// What the admin pages need from the privacy-budget ledger.
///
/// `actor` is the logged-in operator's name; `reason` is what the operator typed (the pages
/// refuse an empty one before calling, and implementations must refuse it too).
pub trait BudgetAdmin: Send + Sync + 'static {
    /// Every ledger, in the order the page lists them (by tenant, then purpose).
    fn ledgers(&self) -> impl Future<Output = Result<Vec<LedgerRow>, AdminError>> + Send;
    /// The `limit` most recent admission blocks, newest first.
    fn recent_blocks(&self, limit: usize) -> impl Future<Output = Result<Vec<BlockRow>, AdminError>> + Send;
    /// The `limit` most recent receipts of all ledgers, newest first.
    fn recent_receipts(&self, limit: usize) -> impl Future<Output = Result<Vec<ReceiptRow>, AdminError>> + Send;
    /// Sets the cap of `tenant` × `purpose` to `cap` (a decimal string, as typed), recording a
    /// `cap` receipt with `actor` and `reason`.
    fn set_cap(
        &self,
        actor: &str,
        tenant: &str,
        purpose: &str,
        cap: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), AdminError>> + Send;
    /// Resets the ε spent in the current window of `tenant` × `purpose` to zero, recording a
    /// `reset` receipt with `actor` and `reason`.
    fn reset(
        &self,
        actor: &str,
        tenant: &str,
        purpose: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), AdminError>> + Send;
}

/// A shared backend is a backend (the server and its caller may hold the same one).
impl<T: BudgetAdmin> BudgetAdmin for Arc<T> {
    fn ledgers(&self) -> impl Future<Output = Result<Vec<LedgerRow>, AdminError>> + Send {
        (**self).ledgers()
    }
    fn recent_blocks(&self, limit: usize) -> impl Future<Output = Result<Vec<BlockRow>, AdminError>> + Send {
        (**self).recent_blocks(limit)
    }
    fn recent_receipts(&self, limit: usize) -> impl Future<Output = Result<Vec<ReceiptRow>, AdminError>> + Send {
        (**self).recent_receipts(limit)
    }
    fn set_cap(
        &self,
        actor: &str,
        tenant: &str,
        purpose: &str,
        cap: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), AdminError>> + Send {
        (**self).set_cap(actor, tenant, purpose, cap, reason)
    }
    fn reset(
        &self,
        actor: &str,
        tenant: &str,
        purpose: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), AdminError>> + Send {
        (**self).reset(actor, tenant, purpose, reason)
    }
}
