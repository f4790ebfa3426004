//! [`Db`]: the connection pool every module's queries run on, and its configuration.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::{migrations, StoreError};

/// PostgreSQL connection settings (read at the binary edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// libpq-style connection string. Default `host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq`.
    pub url: String,
    /// Pool size. Default 4: a worker commits one batch at a time; the rest serve lookups.
    pub pool_size: usize,
    /// How long to wait for a pooled connection before failing. Default 5 s (deadpool's own
    /// default waits forever, which turns a database stall into unbounded latency).
    pub wait_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq".into(),
            pool_size: 4,
            wait_timeout: Duration::from_secs(5),
        }
    }
}

/// A handle on the database: a connection pool. Clone it freely (clones share the pool).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.pool.status();
        f.debug_struct("Db").field("max_size", &s.max_size).field("size", &s.size).field("available", &s.available).finish()
    }
}

impl Db {
    /// Builds the pool from `config` and applies pending migrations (waiting, if another
    /// process is migrating the same database, until it has finished).
    ///
    /// The pool holds at most `config.pool_size` connections; getting one waits at most
    /// `config.wait_timeout`, and the same bound applies to opening a new connection
    /// (`connect_timeout`, unless the connection string sets one) and to recycling one.
    pub async fn connect(config: &StoreConfig) -> Result<Db, StoreError> {
        let db = Db::connect_without_migrating(config)?;
        db.migrate().await?;
        Ok(db)
    }

    /// Builds the pool without touching the database (connections are opened on first use).
    /// [`Db::connect`] is this plus [`Db::migrate`].
    pub fn connect_without_migrating(config: &StoreConfig) -> Result<Db, StoreError> {
        let mut pg: tokio_postgres::Config =
            config.url.parse().map_err(|e| StoreError::Invalid(format!("invalid PostgreSQL connection string: {e}")))?;
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
            .map_err(|e| StoreError::Pool(format!("cannot build the connection pool: {e}")))?;
        Ok(Db { pool })
    }

    /// Applies the embedded migrations that the database lacks, all in one transaction under
    /// an advisory lock (see [`migrations`]). Returns the versions applied now (empty when the
    /// schema was already current).
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let mut client = self.client().await?;
        migrations::apply(&mut client).await
    }

    /// Checks that a connection can be had and answers (`select 1`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.simple_query("select 1").await?;
        Ok(())
    }

    /// A pooled connection, waiting at most the configured wait timeout. Modules run their own
    /// queries on it (and open their transactions on it).
    pub async fn client(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}
