//! Harness for the job-pipeline tests (`pipeline.rs`): the REAL RabbitMQ and PostgreSQL that
//! `scripts/services.sh` starts, the real `zkq` binary as worker subprocess(es), no mocks.
//!
//! Isolation: every test gets its own queue prefix (`ZKQ_QUEUE_PREFIX`, unique per run: pid,
//! counter, random suffix), its own PostgreSQL schema in `zkq_test` (the worker's connection
//! string carries `options=-csearch_path=<schema>`, as in `scheduler/tests/store.rs`) and its
//! own key directory in a tempdir. [`run_pipeline_test`] drops the schema and deletes the
//! queues and exchanges afterwards, also when the test panics. Worker processes are killed by
//! [`Worker`]'s `Drop` on every exit path, and a stopped broker or database is started again by
//! [`ServiceOutage`]'s `Drop`.
//!
//! Broker and database restarts disturb every test that uses them, so [`run_pipeline_test`]
//! serialises the tests of the binary with one global mutex (poisoning tolerated).
//!
//! Overrides: `ZKQ_TEST_PG` (libpq key=value string of the test database), `ZKQ_TEST_AMQP`
//! (broker URI), `ZKQ_TEST_SEED` (the seed of the random kill points, printed by each test);
//! `ZKQ_TEST_KEEP=1` keeps each test's scratch directory (worker logs) and prints its path.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicGetOptions, ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties};
use tokio_postgres::NoTls;
use zkq_engine::fixtures::{Fixture, MULTI_PUBLIC};
use zkq_scheduler::client::{OutgoingJob, Submitter};
use zkq_scheduler::model::JobMeta;
use zkq_scheduler::store::Store;
use zkq_scheduler::{AmqpConfig, StoreConfig};

/// The `zkq` binary under test.
pub(crate) const ZKQ: &str = env!("CARGO_BIN_EXE_zkq");
const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";
const DEFAULT_AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The tenant every test registers.
pub(crate) const TENANT: &str = "acme";
/// The name the fixture circuit is registered under.
pub(crate) const CIRCUIT: &str = "multi_public";

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Holds the global lock of this test binary (a panicked holder does not block the rest).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pg_base() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

fn amqp_uri() -> String {
    std::env::var("ZKQ_TEST_AMQP").unwrap_or_else(|_| DEFAULT_AMQP.to_owned())
}

/// `url` with the connection option that puts `schema` first on the search path.
fn url_with_schema(url: &str, schema: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{url} options=-csearch_path={schema}")
    }
}

/// One test's private world.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// Test name (for logs).
    pub(crate) name: String,
    /// Broker names: `<prefix>.jobs`, `<prefix>.dlx`, `<prefix>.jobs.dead`.
    pub(crate) amqp: AmqpConfig,
    /// The PostgreSQL schema.
    pub(crate) schema: String,
    /// Connection string of the schema (what the worker gets).
    pub(crate) pg_url: String,
    /// Scratch directory: `keys/` and worker logs.
    pub(crate) dir: PathBuf,
    /// The registered fixture's circuit id (sha256 of its zkey).
    pub(crate) circuit_id: String,
}

impl Env {
    /// The key store directory.
    pub(crate) fn key_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    /// `zkq` with this test's services in its environment.
    pub(crate) fn zkq(&self) -> Command {
        let mut c = Command::new(ZKQ);
        c.env("ZKQ_AMQP_URL", &self.amqp.uri)
            .env("ZKQ_PG_URL", &self.pg_url)
            .env("ZKQ_QUEUE_PREFIX", &self.amqp.prefix)
            .env("ZKQ_KEY_DIR", self.key_dir())
            .stdin(Stdio::null());
        c
    }

    /// A store on this test's schema.
    pub(crate) async fn store(&self) -> Store {
        let config = StoreConfig { url: self.pg_url.clone(), pool_size: 2, wait_timeout: Duration::from_secs(10) };
        Store::connect(&config).await.unwrap_or_else(|e| panic!("cannot open the store on schema {}: {e}", self.schema))
    }

    /// A plain client on this test's schema.
    pub(crate) async fn pg(&self) -> tokio_postgres::Client {
        pg_connect(&self.pg_url).await.unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.pg_url))
    }

    /// A good job of the fixture circuit.
    pub(crate) fn good_job(&self, job_id: &str, witness: &[u8]) -> OutgoingJob {
        OutgoingJob {
            job_id: job_id.to_owned(),
            tenant: TENANT.into(),
            circuit: format!("sha256:{}", self.circuit_id),
            purpose: String::new(),
            priority: 0,
            deadline_ms: None,
            witness: witness.to_vec(),
        }
    }

    /// `zkq tenant add` and `zkq circuit add` (the CLI, as a user would).
    fn register(&mut self) {
        let o = self.zkq().args(["tenant", "add", TENANT]).output().expect("run zkq tenant add");
        assert!(o.status.success(), "zkq tenant add: {}", String::from_utf8_lossy(&o.stderr));
        let o = self
            .zkq()
            .args(["circuit", "add"])
            .arg(MULTI_PUBLIC.zkey())
            .args(["--name", CIRCUIT, "--format", "json"])
            .output()
            .expect("run zkq circuit add");
        assert!(o.status.success(), "zkq circuit add: {}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("zkq circuit add --format json prints JSON");
        self.circuit_id = v["circuit"]["id"].as_str().expect("circuit.id in zkq circuit add's JSON").to_owned();
    }
}

async fn pg_connect(url: &str) -> Result<tokio_postgres::Client, String> {
    match tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(url, NoTls)).await {
        Ok(Ok((client, conn))) => {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(client)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

/// Runs one pipeline test: takes the global lock, makes a fresh prefix, schema and key dir,
/// registers the tenant and the fixture circuit, runs `body`, then removes what it made
/// (also when `body` panics; the panic is then resumed).
pub(crate) fn run_pipeline_test<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _serial = serial();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let scratch = tempfile::tempdir().expect("tempdir");
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let salt = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let schema = format!("zkqt_{}_{n}_{salt}", std::process::id());
    let mut env = Env {
        name: name.to_owned(),
        amqp: AmqpConfig { uri: amqp_uri(), prefix: format!("zkqt.{name}.{}.{n}.{salt}", std::process::id()), ..Default::default() },
        pg_url: url_with_schema(&pg_base(), &schema),
        schema,
        dir: scratch.path().to_owned(),
        circuit_id: String::new(),
    };
    let admin = rt.block_on(async {
        let admin = pg_connect(&pg_base()).await.unwrap_or_else(|e| {
            panic!(
                "cannot connect to the test database ({}): {e}\nPostgreSQL must be running with role zkq and database \
                 zkq_test: run scripts/services.sh (or set ZKQ_TEST_PG)",
                pg_base()
            )
        });
        admin.batch_execute(&format!("create schema {}", env.schema)).await.expect("create the test schema");
        admin
    });
    drop(admin);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.register();
        let env = env.clone();
        rt.block_on(async move { tokio::spawn(body(env)).await })
    }));
    rt.block_on(cleanup(&env));
    rt.shutdown_timeout(Duration::from_secs(5));
    if std::env::var_os("ZKQ_TEST_KEEP").is_some() {
        eprintln!("{name}: worker logs kept in {}", scratch.keep().display());
    }
    eprintln!("{name}: {:.1} s", started.elapsed().as_secs_f64());
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(e)) => panic!("test task failed: {e}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Drops the schema, deletes the queues and exchanges. Never panics (it runs after failures).
async fn cleanup(env: &Env) {
    // The tenants' own queues, named from the tenants table before the schema goes.
    let tenants: Vec<String> = match tokio::time::timeout(Duration::from_secs(10), pg_connect(&env.pg_url)).await {
        Ok(Ok(pg)) => pg.query("select name from tenants", &[]).await.map(|rows| rows.iter().map(|r| r.get(0)).collect()).unwrap_or_default(),
        _ => Vec::new(),
    };
    let drop_schema = async {
        let admin = pg_connect(&pg_base()).await?;
        admin.batch_execute(&format!("drop schema if exists {} cascade", env.schema)).await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(30), drop_schema).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: cannot drop schema {}: {e}", env.schema),
        Err(_) => eprintln!("warning: dropping schema {} timed out", env.schema),
    }
    let delete = async {
        let conn = Connection::connect(&env.amqp.uri, ConnectionProperties::default()).await.map_err(|e| e.to_string())?;
        let tenant_queues = tenants
            .iter()
            .chain(std::iter::once(&TENANT.to_owned()))
            .flat_map(|t| (0..=9).map(move |p| env.amqp.tenant_queue(t, p)))
            .collect::<HashSet<_>>();
        for q in [env.amqp.jobs_queue(), env.amqp.dead_letter_queue()].into_iter().chain(tenant_queues) {
            let ch = conn.create_channel().await.map_err(|e| e.to_string())?;
            if let Err(e) = ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default()).await {
                eprintln!("warning: cannot delete queue {q}: {e}");
            }
        }
        let inbound = tenants.iter().chain(std::iter::once(&TENANT.to_owned())).map(|t| env.amqp.tenant_exchange(t)).collect::<HashSet<_>>();
        for x in [env.amqp.jobs_exchange(), env.amqp.dead_letter_exchange()].into_iter().chain(inbound) {
            let ch = conn.create_channel().await.map_err(|e| e.to_string())?;
            if let Err(e) = ch.exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default()).await {
                eprintln!("warning: cannot delete exchange {x}: {e}");
            }
        }
        let _ = conn.close(200, "bye".into()).await;
        Ok::<_, String>(())
    };
    match tokio::time::timeout(Duration::from_secs(30), delete).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: cannot delete the queues of {}: {e}", env.amqp.prefix),
        Err(_) => eprintln!("warning: deleting the queues of {} timed out", env.amqp.prefix),
    }
    // The tenants' broker users (`zkq tenant add` made them).
    if let Ok((user, password, _)) = zkq_scheduler::identity::uri_credentials(&env.amqp.uri) {
        if let Ok(api) = zkq_scheduler::identity::ManagementApi::new(&env.amqp.management_url, &user, &password) {
            for t in tenants.iter().chain(std::iter::once(&TENANT.to_owned())) {
                let name = zkq_scheduler::identity::tenant_user(&env.amqp, t);
                if let Err(e) = api.delete_user(&name).await {
                    eprintln!("warning: cannot delete broker user {name}: {e}");
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------- workers

/// The counts a worker prints when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StoppedLine {
    /// Proved and committed.
    pub(crate) proved: u64,
    /// Committed as failed.
    pub(crate) failed: u64,
    /// Redelivered jobs answered from the store.
    pub(crate) resent: u64,
    /// Broker sessions (1 + reconnects).
    pub(crate) sessions: u64,
}

/// A `zkq worker` subprocess; killed (SIGKILL) on drop if still running.
#[derive(Debug)]
pub(crate) struct Worker {
    child: Child,
    /// Its stderr.
    pub(crate) log: PathBuf,
    /// Label (worker id).
    pub(crate) label: String,
}

impl Worker {
    /// Starts `zkq worker --worker-id <label> <args…>` with the test's services; stderr to
    /// `<dir>/<label>.log` at log level info.
    pub(crate) fn start(env: &Env, label: &str, args: &[&str]) -> Worker {
        Worker::start_with_env(env, label, args, &[])
    }

    /// [`Worker::start`] with extra environment variables (test hooks such as
    /// `ZKQ_TEST_DEVICE_PANIC`).
    pub(crate) fn start_with_env(env: &Env, label: &str, args: &[&str], vars: &[(&str, &str)]) -> Worker {
        let log = env.dir.join(format!("{label}.log"));
        let file = std::fs::File::create(&log).expect("create the worker log");
        let child = env
            .zkq()
            .arg("worker")
            .args(["--worker-id", label])
            .args(args)
            .envs(vars.iter().copied())
            .env("ZKQ_LOG", "info,lapin=warn,amq_protocol=warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn zkq worker");
        Worker { child, log, label: label.to_owned() }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its exit status, once it has exited on its own (`worker_faults.rs`).
    #[allow(dead_code)]
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `kill -9`, and reaps it.
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `within` for the exit; panics (the drop then kills it)
    /// if it does not exit in time. Returns the status and how long the exit took.
    pub(crate) async fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid of a child we spawned and have not reaped.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill -TERM {pid}: {}", std::io::Error::last_os_error());
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the worker") {
                return (status, t.elapsed());
            }
            if t.elapsed() > within {
                panic!("worker {} did not exit within {within:?} of SIGTERM\n{}", self.label, self.log_tail(30));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last `n` lines of its log.
    pub(crate) fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log, n)
    }

    /// The counts of its `zkq worker: stopped (…)` line, if it printed one.
    pub(crate) fn stopped_line(&self) -> Option<StoppedLine> {
        let text = std::fs::read_to_string(&self.log).ok()?;
        let line = text.lines().rev().find(|l| l.starts_with("zkq worker: stopped ("))?;
        let inner = line.strip_prefix("zkq worker: stopped (")?.strip_suffix(')')?;
        let nums: Vec<u64> = inner.split(", ").filter_map(|part| part.split(' ').next()?.parse().ok()).collect();
        match nums[..] {
            [proved, failed, resent, sessions] => Some(StoppedLine { proved, failed, resent, sessions }),
            _ => None,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last `n` lines of a file, framed for a panic message.
pub(crate) fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    format!("--- last {} lines of {} ---\n{}", lines.len() - from, path.display(), lines[from..].join("\n"))
}

// ------------------------------------------------------------------------------ database

/// Polls the test schema; reconnects after a database restart.
pub(crate) struct Db {
    url: String,
    client: Option<tokio_postgres::Client>,
}

impl Db {
    /// A poller on `env`'s schema (connects lazily).
    pub(crate) fn new(env: &Env) -> Db {
        Db { url: env.pg_url.clone(), client: None }
    }

    /// `select count(*) …`, or `None` while the database is unreachable.
    pub(crate) async fn try_count(&mut self, sql: &str) -> Option<i64> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = pg_connect(&self.url).await.ok();
        }
        let client = self.client.as_ref()?;
        match tokio::time::timeout(Duration::from_secs(10), client.query_one(sql, &[])).await {
            Ok(Ok(row)) => Some(row.get(0)),
            _ => {
                self.client = None;
                None
            }
        }
    }

    /// Rows in `job_results`, or `None` while the database is unreachable.
    pub(crate) async fn results(&mut self) -> Option<i64> {
        self.try_count("select count(*) from job_results").await
    }
}

// -------------------------------------------------------------------------------- broker

/// A connection and channel to the broker, retried for up to 60 s (it may be starting).
pub(crate) async fn amqp_channel(env: &Env) -> (Connection, Channel) {
    let t = Instant::now();
    loop {
        let attempt = async {
            let conn = Connection::connect(&env.amqp.uri, ConnectionProperties::default()).await?;
            let ch = conn.create_channel().await?;
            Ok::<_, lapin::Error>((conn, ch))
        };
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Ok(c)) => return c,
            Ok(Err(e)) if t.elapsed() > Duration::from_secs(60) => panic!("cannot reach the broker at {}: {e}", env.amqp.uri),
            Err(_) if t.elapsed() > Duration::from_secs(60) => panic!("connecting to the broker at {} timed out", env.amqp.uri),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Messages ready in `queue` and its consumers, or `None` if the broker does not answer within
/// 5 s (for diagnostics; never panics).
pub(crate) async fn try_queue_counts(env: &Env, queue: &str) -> Option<(u32, u32)> {
    let probe = async {
        let conn = Connection::connect(&env.amqp.uri, ConnectionProperties::default()).await.ok()?;
        let ch = conn.create_channel().await.ok()?;
        let q = ch.queue_declare(queue.into(), QueueDeclareOptions { passive: true, ..Default::default() }, FieldTable::default()).await.ok();
        let _ = conn.close(200, "bye".into()).await;
        q.map(|q| (q.message_count(), q.consumer_count()))
    };
    tokio::time::timeout(Duration::from_secs(5), probe).await.ok().flatten()
}

/// Jobs ready in the broker for the test tenant: its own queue (where `Submitter` publishes)
/// plus the shared queue (raw publishes). A tenant queue not declared yet holds nothing.
pub(crate) async fn ready_jobs(env: &Env) -> u32 {
    let mut tenant = 0;
    for p in 0..=9 {
        tenant += try_queue_counts(env, &env.amqp.tenant_queue(TENANT, p)).await.map_or(0, |c| c.0);
    }
    ready_messages(env, &env.amqp.jobs_queue()).await + tenant
}

/// Messages ready (not delivered to a consumer) in `queue`.
pub(crate) async fn ready_messages(env: &Env, queue: &str) -> u32 {
    queue_counts(env, queue).await.0
}

/// Messages ready in `queue`, and its consumers.
pub(crate) async fn queue_counts(env: &Env, queue: &str) -> (u32, u32) {
    let (conn, ch) = amqp_channel(env).await;
    let q = ch
        .queue_declare(queue.into(), QueueDeclareOptions { passive: true, ..Default::default() }, FieldTable::default())
        .await
        .unwrap_or_else(|e| panic!("passive declare of {queue}: {e}"));
    let _ = conn.close(200, "bye".into()).await;
    (q.message_count(), q.consumer_count())
}

/// Takes every message out of `queue` (basic.get, auto-ack).
pub(crate) async fn drain_queue(env: &Env, queue: &str) -> Vec<Delivery> {
    let (conn, ch) = amqp_channel(env).await;
    let mut out = Vec::new();
    while let Some(m) = ch.basic_get(queue.into(), BasicGetOptions { no_ack: true }).await.unwrap_or_else(|e| panic!("basic.get {queue}: {e}")) {
        out.push(m.delivery);
    }
    let _ = conn.close(200, "bye".into()).await;
    out
}

/// A string header of a message.
pub(crate) fn header_string(d: &Delivery, name: &str) -> Option<String> {
    match d.properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Publishes `jobs` with the submitter (confirms pipelined, 512 outstanding at most) and
/// returns the ids the broker confirmed.
pub(crate) async fn publish_confirmed(submitter: &Submitter, jobs: &[OutgoingJob]) -> HashSet<String> {
    let mut confirmed = HashSet::with_capacity(jobs.len());
    let mut pending = FuturesUnordered::new();
    let mut refused = Vec::new();
    for job in jobs {
        if pending.len() >= 512 {
            match pending.next().await {
                Some(Ok(id)) => {
                    confirmed.insert(id);
                }
                Some(Err((id, e))) => refused.push(format!("{id}: {e}")),
                None => {}
            }
        }
        let p = submitter.publish(job).await.unwrap_or_else(|e| panic!("publish {}: {e}", job.job_id));
        pending.push(p.confirmed());
    }
    while let Some(r) = pending.next().await {
        match r {
            Ok(id) => {
                confirmed.insert(id);
            }
            Err((id, e)) => refused.push(format!("{id}: {e}")),
        }
    }
    assert!(refused.is_empty(), "the broker refused {} of {} jobs, e.g. {:?}", refused.len(), jobs.len(), &refused[..refused.len().min(3)]);
    confirmed
}

/// Records jobs as `queued` before publishing, as `zkq submit` does.
pub(crate) async fn record_queued(env: &Env, jobs: &[OutgoingJob]) {
    let now = zkq_scheduler::client::now_ms();
    let metas: Vec<JobMeta> = jobs
        .iter()
        .map(|j| JobMeta {
            job_id: j.job_id.clone(),
            tenant: j.tenant.clone(),
            circuit_ref: j.circuit.clone(),
            circuit_id: Some(env.circuit_id.clone()),
            purpose: j.purpose.clone(),
            priority: j.priority,
            deadline_ms: j.deadline_ms,
            submitted_at_ms: Some(now),
            reply_to: None,
            witness_sha256: None,
            epsilon_micro: None,
            policy: None,
        })
        .collect();
    let inserted = env.store().await.insert_queued_jobs(&metas).await.expect("record queued jobs");
    assert_eq!(inserted, jobs.len() as u64, "every job recorded as queued");
}

/// Reads results off a submitter in the background: job id → replies received.
pub(crate) fn collect_replies(mut submitter: Submitter) -> (tokio::task::JoinHandle<()>, Arc<Mutex<HashMap<String, u32>>>) {
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let out = seen.clone();
    let task = tokio::spawn(async move {
        while let Some(Ok(r)) = submitter.next_result().await {
            *seen.lock().unwrap_or_else(|p| p.into_inner()).entry(r.job_id).or_default() += 1;
        }
    });
    (task, out)
}

/// A free local address for `zkq worker --metrics-addr` (fairness, worker_faults, hostile_messaging).
#[allow(dead_code)]
pub(crate) fn free_local_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    format!("127.0.0.1:{port}")
}

/// Every sample of a worker's `/metrics` at `addr` (series text, labels included → value);
/// `None` when the endpoint cannot be read (fairness, worker_faults).
#[allow(dead_code)]
pub(crate) async fn metrics_samples(addr: &str) -> Option<HashMap<String, f64>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: zkq\r\n\r\n").await.ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).await.ok()?;
    if !text.starts_with("HTTP/1.1 200 OK") {
        return None;
    }
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| v.trim().parse().ok().map(|v| (k.to_owned(), v))))
            .collect(),
    )
}

/// The fixture's witness bytes.
pub(crate) fn witness_bytes(f: Fixture) -> Vec<u8> {
    std::fs::read(f.wtns()).unwrap_or_else(|e| panic!("read {}: {e}", f.wtns().display()))
}

// ------------------------------------------------------------------------- service outages

/// A stopped service; its `Drop` starts it again if the test did not (e.g. it panicked).
pub(crate) struct ServiceOutage {
    start: Option<(String, Vec<String>)>,
    what: &'static str,
}

fn run_cmd(program: &str, args: &[String]) -> Result<(), String> {
    let o = Command::new(program).args(args).stdin(Stdio::null()).output().map_err(|e| {
        format!("cannot run {program}: {e} (these tests need root and the services of scripts/services.sh)")
    })?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{program} {}: {}{}", args.join(" "), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    }
}

impl ServiceOutage {
    /// `rabbitmqctl stop_app` (restarted by `rabbitmqctl start_app`).
    pub(crate) fn stop_broker() -> ServiceOutage {
        run_cmd("rabbitmqctl", &["-q".into(), "stop_app".into()]).unwrap_or_else(|e| panic!("{e}"));
        ServiceOutage { start: Some(("rabbitmqctl".into(), vec!["-q".into(), "start_app".into()])), what: "RabbitMQ" }
    }

    /// `pg_ctlcluster <version> <cluster> stop -m fast` for the cluster on port 5432
    /// (restarted with `pg_ctlcluster … start`).
    pub(crate) fn stop_postgres() -> ServiceOutage {
        let o = Command::new("pg_lsclusters").arg("-h").output().expect("run pg_lsclusters (postgresql-common)");
        let listing = String::from_utf8_lossy(&o.stdout).into_owned();
        let (version, cluster) = listing
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.get(2) == Some(&"5432"))
            .map(|f| (f[0].to_owned(), f[1].to_owned()))
            .unwrap_or_else(|| panic!("no PostgreSQL cluster on port 5432 in pg_lsclusters:\n{listing}"));
        run_cmd("pg_ctlcluster", &[version.clone(), cluster.clone(), "stop".into(), "-m".into(), "fast".into()]).unwrap_or_else(|e| panic!("{e}"));
        ServiceOutage { start: Some(("pg_ctlcluster".into(), vec![version, cluster, "start".into()])), what: "PostgreSQL" }
    }

    /// Starts the service again (blocking until its start command returns).
    pub(crate) fn restore(mut self) {
        if let Some((program, args)) = self.start.take() {
            run_cmd(&program, &args).unwrap_or_else(|e| panic!("restarting {}: {e}", self.what));
        }
    }
}

impl Drop for ServiceOutage {
    fn drop(&mut self) {
        if let Some((program, args)) = self.start.take() {
            if let Err(e) = run_cmd(&program, &args) {
                eprintln!("warning: could not restart {}: {e}", self.what);
            }
        }
    }
}

// ------------------------------------------------------------------------------ randomness

/// A small seeded generator (splitmix64) for kill points; the seed is printed so a failing
/// run can be replayed with `ZKQ_TEST_SEED`.
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from `ZKQ_TEST_SEED`, else from the clock.
    pub(crate) fn from_env(test: &str) -> Rng {
        let seed = std::env::var("ZKQ_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        });
        eprintln!("{test}: ZKQ_TEST_SEED={seed}");
        Rng(seed)
    }

    /// Uniform in `lo..hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        lo + z % (hi - lo).max(1)
    }
}

// ------------------------------------------------------------------------------ bystanders

/// Bystander jobs of the test tenant, recorded as queued and published with confirms; their
/// replies are collected in the background.
#[allow(dead_code)]
pub(crate) struct Bystanders {
    pub(crate) ids: Vec<String>,
    replies: Arc<Mutex<HashMap<String, u32>>>,
}

#[allow(dead_code)]
impl Bystanders {
    pub(crate) async fn submit(env: &Env, n: usize) -> Bystanders {
        Bystanders::submit_as(env, "bystander", n).await
    }

    /// [`Bystanders::submit`] with job ids `<test>-<label>-<i>` (several groups in one test).
    pub(crate) async fn submit_as(env: &Env, label: &str, n: usize) -> Bystanders {
        let witness = witness_bytes(MULTI_PUBLIC);
        let jobs: Vec<OutgoingJob> = (0..n)
            .map(|i| env.good_job(&format!("{}-{label}-{i:03}", env.name), &witness))
            .collect();
        record_queued(env, &jobs).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter connects");
        let confirmed = publish_confirmed(&submitter, &jobs).await;
        assert_eq!(confirmed.len(), n, "every bystander job is confirmed");
        let (_task, replies) = collect_replies(submitter);
        Bystanders {
            ids: jobs.into_iter().map(|j| j.job_id).collect(),
            replies,
        }
    }

    /// Waits until every bystander has a result row and a reply; then checks exactly one row
    /// each, all proved.
    pub(crate) async fn assert_all_complete_once(&self, env: &Env, worker: &Worker, within: Duration) {
        let pg = env.pg().await;
        let t = Instant::now();
        loop {
            let rows: i64 = pg
                .query_one("select count(*) from job_results where job_id = any($1)", &[&self.ids])
                .await
                .expect("count")
                .get(0);
            let replied = {
                let r = self.replies.lock().unwrap_or_else(|p| p.into_inner());
                self.ids.iter().filter(|id| r.contains_key(*id)).count()
            };
            if rows >= self.ids.len() as i64 && replied == self.ids.len() {
                break;
            }
            assert!(
                t.elapsed() < within,
                "{}: {rows} result rows and {replied} replies of {} bystander jobs after {within:?}\n{}",
                env.name,
                self.ids.len(),
                worker.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let row = pg
            .query_one("select count(*), count(distinct job_id), count(*) filter (where status = 'proved') from job_results where job_id = any($1)", &[&self.ids])
            .await
            .expect("results");
        let (rows, distinct, proved): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(
            (rows, distinct, proved),
            (self.ids.len() as i64, self.ids.len() as i64, self.ids.len() as i64),
            "exactly one proved row per bystander job"
        );
    }
}

/// Waits (at most 60 s) until a worker consumes all ten priority queues of `tenant`: RabbitMQ
/// 3.10 nacks publishes into a quorum queue another connection is still creating.
#[allow(dead_code)]
pub(crate) async fn wait_consuming_tenant(env: &Env, worker: &Worker, tenant: &str) {
    let t = Instant::now();
    for p in 0..=9u8 {
        let queue = env.amqp.tenant_queue(tenant, p);
        while try_queue_counts(env, &queue).await.is_none_or(|(_, consumers)| consumers == 0) {
            assert!(t.elapsed() < Duration::from_secs(60), "the worker does not consume {queue}\n{}", worker.log_tail(30));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Publishes `jobs` (all confirmed before any result is read) and collects one result per job
/// id, within 120 s.
#[allow(dead_code)] // not every suite that includes this module submits this way
pub(crate) async fn submit_and_collect(env: &Env, jobs: &[OutgoingJob]) -> HashMap<String, zkq_scheduler::protocol::JobResult> {
    let mut submitter = Submitter::connect(&env.amqp).await.expect("submitter");
    let mut pending = Vec::new();
    for j in jobs {
        pending.push(submitter.publish(j).await.expect("publish"));
    }
    for p in pending {
        p.confirmed().await.expect("confirmed");
    }
    let mut out = HashMap::new();
    let t = Instant::now();
    while out.len() < jobs.len() {
        match tokio::time::timeout(Duration::from_secs(5), submitter.next_result()).await {
            Ok(Some(Ok(r))) => {
                out.insert(r.job_id.clone(), r);
            }
            Ok(other) => panic!("reading results: {other:?}"),
            Err(_) => assert!(t.elapsed() < Duration::from_secs(120), "{} of {} results after 120 s", out.len(), jobs.len()),
        }
    }
    out
}
