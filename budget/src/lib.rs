//! # zkq-budget — privacy budgets that cannot be overspent
//!
//! Each proof a tenant asks for reveals a bounded amount ε about someone's data. A tenant
//! agrees a cap per purpose ("fraud-check" 2.0 ε per UTC day); zkq keeps one **ledger** per
//! tenant × purpose and makes exceeding the cap impossible: admission reserves the job's ε
//! with a conditional update under the ledger's row lock (a filter: refuse before spending),
//! the job's result commit turns the reservation into a charge in the *same* transaction, a
//! failure's commit refunds it. Every event is a signed, hash-chained receipt that an auditor
//! verifies offline.
//!
//! Pure cores, database at the edge: everything but [`pg`] is pure and property-tested; [`pg`]
//! holds this module's queries (tables by zkq-store's migration 0006) and takes the caller's
//! transaction, so that the worker's batch commit includes the charges.
//!
//! ## Module map
//! - [`epsilon`] — [`Epsilon`]: exact micro-ε fixed point, strict decimal parsing.
//! - [`window`] — [`Window`]: sliding, calendar (UTC) and total windows; boundaries.
//! - [`ledger`] — [`Ledger`]: the rules (reserve, charge, refund, reset, aging, a monotone
//!   clock), property-tested against a model.
//! - [`receipt`] — [`Receipt`]: the signed payload, ids and the hash chain.
//! - [`verify`] — offline verification of receipts (signatures, chain, windows, totals).
//! - [`bundle`] — evidence bundles: export layout, manifest, verification of a directory.
//! - [`report`] — the `budget` object of job results; the actionable block message.
//! - [`names`] — purpose names and reasons.
//! - [`pg`] — the PostgreSQL operations (admission, settlement, administration, queries).
//! - [`error`] — [`BudgetError`].
//!
//! `docs/budgets.md` is the operator's and auditor's guide.

pub mod bundle;
pub mod epsilon;
pub mod error;
pub mod ledger;
pub mod names;
pub mod pg;
pub mod receipt;
pub mod report;
pub mod verify;
pub mod window;

pub use epsilon::Epsilon;
pub use error::BudgetError;
pub use ledger::Ledger;
pub use receipt::Receipt;
pub use report::{Block, JobBudget};
pub use window::Window;
