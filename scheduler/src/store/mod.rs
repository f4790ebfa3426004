//! PostgreSQL: the pipeline's durable state.
//!
//! [`Store`] is a cheaply cloned handle on the connection pool of `zkq-store` (deadpool-postgres
//! with a wait timeout, so a stalled database turns into an error instead of unbounded latency).
//! Connecting applies the migrations, which `zkq-store` owns with the whole schema
//! (`store/migrations/*.sql`). Every query of the scheduler lives in this module, one file per
//! concern:
//!
//! | file | tables | what |
//! |---|---|---|
//! | `tenants.rs` | `tenants` | who may submit, with fair-share weights |
//! | `circuits.rs` | `circuits` | registered zkeys, versioned per name; circuit references |
//! | `prices.rs` | `prices` | the versioned price table, seeded with public list prices |
//! | `jobs.rs` | `jobs`, `batches`, `job_results`, `job_costs` | the worker's one-transaction commit, redelivery look-ups, `zkq job`/`jobs` views |
//! | `history.rs` | `jobs`, `tenants`, `circuits`, `batches` | job history as a simulator trace (`zkq sched trace`) |
//! | `uptime.rs` | `worker_uptime`, `jobs` | worker heartbeats (paid device time for FinOps idle cost), oldest queued job age |
//! | `attest.rs` | (zkq-audit's log tables) | every proved job's signed statement, appended to the transparency log in the batch commit's transaction |
//! | `budgets.rs` | (zkq-budget's) | admission holds and reclaiming, in transactions of this pool; the batch commit settles holds through zkq-budget in its own transaction |
//!
//! Conventions: money is SQL `numeric`, written as `$n::float8::numeric` and read as `::float8`
//! (so no decimal crate is needed; f64 carries every list price exactly enough for cost
//! reports). Witnesses are never stored: a job keeps only its witness's sha256.
//!
//! Tables are created unqualified, in the first schema of the connection's `search_path`; the
//! tests give each test its own schema with `options=-csearch_path=<schema>` in the
//! connection string.

mod attest;
mod budgets;
mod circuits;
mod history;
mod jobs;
mod prices;
mod tenants;
mod uptime;

use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;
use zkq_store::Db;

use crate::config::StoreConfig;
use crate::SchedulerError;

pub use circuits::{valid_circuit_name, CircuitRef, NewCircuit};
pub use history::fit_device_time;
pub use jobs::{CommitReport, ResultSummary, StoredResult};
pub use prices::{NewPrice, PRICING_CATEGORIES};
pub use uptime::UptimeRecord;
/// The schema's migrations live in `zkq-store` (one home for the schema).
pub use zkq_store::migrations;

/// Shorthand for this module's results.
pub type Result<T> = std::result::Result<T, SchedulerError>;

/// The scheduler's handle on the database: the shared pool ([`zkq_store::Db`]) with the
/// scheduler's own queries. Clone it freely (clones share the pool).
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// Signs budget receipts written by this handle's transactions (admission refusals write
    /// none; charges, refunds and reclaims do). `None`: a job that charges ε cannot commit.
    signing_key: Option<std::sync::Arc<zkq_audit::SigningKey>>,
    /// Who can raise a privacy budget's cap, named in `budget_exhausted` messages.
    budget_contact: std::sync::Arc<str>,
    /// Signs and logs an attestation of every proved job the batch commit writes. `None`:
    /// proofs are committed unattested (the `zkq worker` binary always attests unless told
    /// `--no-attest`).
    attestor: Option<attest::Attestor>,
}

/// The default for [`Store::with_budget_contact`].
pub const DEFAULT_BUDGET_CONTACT: &str = "your zkq operator";

impl Store {
    /// Builds the pool from `config` and applies pending migrations ([`zkq_store::Db::connect`]:
    /// waiting, if another process is migrating the same database, until it has finished).
    pub async fn connect(config: &StoreConfig) -> Result<Store> {
        Ok(Store { db: Db::connect(config).await?, signing_key: None, budget_contact: DEFAULT_BUDGET_CONTACT.into(), attestor: None })
    }

    /// Builds the pool without touching the database (connections are opened on first use).
    pub fn connect_without_migrating(config: &StoreConfig) -> Result<Store> {
        Ok(Store { db: Db::connect_without_migrating(config)?, signing_key: None, budget_contact: DEFAULT_BUDGET_CONTACT.into(), attestor: None })
    }

    /// Attests every proved job this handle commits: a statement signed with `key`, appended to
    /// the transparency log whose checkpoints carry `origin` (the key must be registered in
    /// `signing_keys`, as [`zkq_budget::pg::register_key`] does).
    pub fn with_attestation(mut self, key: std::sync::Arc<zkq_audit::SigningKey>, origin: &str) -> Store {
        self.attestor = Some(attest::Attestor { key, origin: origin.into() });
        self
    }

    /// This handle signs budget receipts with `key`.
    pub fn with_signing_key(mut self, key: std::sync::Arc<zkq_audit::SigningKey>) -> Store {
        self.signing_key = Some(key);
        self
    }

    /// Who `budget_exhausted` messages say can raise a cap (default [`DEFAULT_BUDGET_CONTACT`]).
    pub fn with_budget_contact(mut self, contact: &str) -> Store {
        self.budget_contact = contact.into();
        self
    }

    /// The pool (for modules with their own queries: zkq-budget's administration).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies the embedded migrations that the database lacks ([`zkq_store::migrations`]).
    /// Returns the versions applied now (empty when the schema was already current).
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        Ok(self.db.migrate().await?)
    }

    /// Checks that a connection can be had and answers (`select 1`).
    pub async fn ping(&self) -> Result<()> {
        Ok(self.db.ping().await?)
    }

    /// A pooled connection, waiting at most the configured wait timeout.
    async fn client(&self) -> Result<Object> {
        Ok(self.db.client().await?)
    }
}

/// True for errors after which the same transaction may succeed if simply run again: a
/// deadlock or serialization failure chosen by the server.
fn retryable(e: &SchedulerError) -> bool {
    match e {
        SchedulerError::Postgres(e) => {
            matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE)
        }
        _ => false,
    }
}

/// How many times a transaction that lost a deadlock or serialization race is run in all.
const TRANSACTION_ATTEMPTS: u32 = 5;

/// Lowercase hex sha256 (64 characters)?
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
