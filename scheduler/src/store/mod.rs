//! PostgreSQL: the pipeline's durable state.
//!
//! [`Store`] is a cheaply cloned handle on a connection pool (deadpool-postgres) with a wait
//! timeout, so a stalled database turns into an error instead of unbounded latency. Connecting
//! applies the embedded migrations ([`migrations`]). Every query lives in this module, one file
//! per concern:
//!
//! | file | tables | what |
//! |---|---|---|
//! | `migrations.rs` | `zkq_schema_migrations` | the embedded `scheduler/migrations/*.sql` and their runner |
//! | `tenants.rs` | `tenants` | who may submit, with fair-share weights |
//! | `circuits.rs` | `circuits` | registered zkeys, versioned per name; circuit references |
//! | `prices.rs` | `prices` | the versioned price table, seeded with public list prices |
//! | `jobs.rs` | `jobs`, `batches`, `job_results`, `job_costs` | the worker's one-transaction commit, redelivery look-ups, `zkq job`/`jobs` views |
//! | `history.rs` | `jobs`, `tenants`, `circuits`, `batches` | job history as a simulator trace (`zkq sched trace`) |
//! | `uptime.rs` | `worker_uptime`, `jobs` | worker heartbeats (paid device time for FinOps idle cost), oldest queued job age |
//!
//! Conventions: money is SQL `numeric`, written as `$n::float8::numeric` and read as `::float8`
//! (so no decimal crate is needed; f64 carries every list price exactly enough for cost
//! reports). Witnesses are never stored: a job keeps only its witness's sha256.
//!
//! Tables are created unqualified, in the first schema of the connection's `search_path`; the
//! tests give each test its own schema with `options=-csearch_path=<schema>` in the
//! connection string.

mod circuits;
mod history;
mod jobs;
pub mod migrations;
mod prices;
mod tenants;
mod uptime;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::config::StoreConfig;
use crate::SchedulerError;

pub use circuits::{valid_circuit_name, CircuitRef, NewCircuit};
pub use history::fit_device_time;
pub use jobs::{CommitReport, ResultSummary, StoredResult};
pub use prices::{NewPrice, PRICING_CATEGORIES};
pub use uptime::UptimeRecord;

/// Shorthand for this module's results.
pub type Result<T> = std::result::Result<T, SchedulerError>;

/// A handle on the database: a connection pool. Clone it freely (clones share the pool).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.pool.status();
        f.debug_struct("Store").field("max_size", &s.max_size).field("size", &s.size).field("available", &s.available).finish()
    }
}

impl Store {
    /// Builds the pool from `config` and applies pending migrations (waiting, if another
    /// process is migrating the same database, until it has finished).
    ///
    /// The pool holds at most `config.pool_size` connections; getting one waits at most
    /// `config.wait_timeout`, and the same bound applies to opening a new connection
    /// (`connect_timeout`, unless the connection string sets one) and to recycling one.
    pub async fn connect(config: &StoreConfig) -> Result<Store> {
        let store = Store::connect_without_migrating(config)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Builds the pool without touching the database (connections are opened on first use).
    /// [`Store::connect`] is this plus [`Store::migrate`].
    pub fn connect_without_migrating(config: &StoreConfig) -> Result<Store> {
        let mut pg: tokio_postgres::Config = config
            .url
            .parse()
            .map_err(|e| SchedulerError::Invalid(format!("invalid PostgreSQL connection string: {e}")))?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(config.wait_timeout.max(Duration::from_secs(1)));
        }
        if pg.get_application_name().is_none() {
            pg.application_name("zkq");
        }
        // Fast recycling checks `Client::is_closed`: a connection the server dropped (restart)
        // is closed by then and gets replaced; a query on a half-dead one fails and the
        // caller's retry takes a fresh one.
        let manager = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let timeout = Some(config.wait_timeout);
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| SchedulerError::Pool(format!("cannot build the connection pool: {e}")))?;
        Ok(Store { pool })
    }

    /// Applies the embedded migrations that the database lacks, all in one transaction under
    /// an advisory lock (see [`migrations`]). Returns the versions applied now (empty when the
    /// schema was already current).
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        let mut client = self.client().await?;
        migrations::apply(&mut client).await
    }

    /// Checks that a connection can be had and answers (`select 1`).
    pub async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client.simple_query("select 1").await?;
        Ok(())
    }

    /// A pooled connection, waiting at most the configured wait timeout.
    async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
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
