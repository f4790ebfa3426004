//! # zkq-store — one home for zkq's PostgreSQL schema
//!
//! **The rule:** this crate owns the schema — every table, column, index and seed row is
//! created by a migration here, and nowhere else — and the connection pool the modules' queries
//! run on. It holds **no queries of any module**: each module (the scheduler's jobs, tenants,
//! circuits and prices; FinOps' reports; the budget, policy and audit modules to come) keeps
//! its own queries next to its own code, in its own crate, and takes a [`Db`] (or, inside the
//! worker's one-transaction-per-batch commit, a transaction of one of its connections). A module
//! that needs a new table or column adds the next migration file here.
//!
//! Shared row facts — values the schema's constraints fix and several modules must agree on —
//! live here too ([`rows`]). polars never comes near this crate: the worker links it.
//!
//! ## Module map
//! - [`migrations`] — the embedded `store/migrations/NNNN_name.sql` files and their runner
//!   (one transaction, an advisory lock; applied by [`Db::connect`]).
//! - [`db`] — [`Db`], the pool (deadpool-postgres) with wait timeouts; [`StoreConfig`].
//! - [`error`] — [`StoreError`], with the SQLSTATE of a server error and
//!   [`StoreError::is_transient`].
//! - [`rows`] — constants the schema's constraints fix (pricing categories) and the names
//!   several modules check (tenant names, job ids).
//!
//! Without the default `pool` feature only [`migrations::MIGRATIONS`] and [`rows`] are built
//! (FinOps uses its own synchronous client).

#[cfg(feature = "pool")]
pub mod db;
pub mod error;
pub mod migrations;
pub mod rows;

#[cfg(feature = "pool")]
pub use db::{Db, StoreConfig};
pub use error::StoreError;
pub use migrations::{Migration, MIGRATIONS};
