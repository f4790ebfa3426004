//! The device thread: the only place proofs are made. One OS thread per device, fed batches
//! over a channel; the async runtime never runs a kernel.
//!
//! For each batch it: finds the proving key (a small cache in front of the key store), parses
//! each job's witness (a bad witness fails that job alone), drops jobs whose deadline passed
//! (and fails, rather than delivers late, a job whose deadline passed while proving),
//! proves the rest in one `prove_batch`, verifies every proof (an unsatisfying witness fails
//! that job alone), and returns one [`JobOutcome`] per job with its share of the batch's
//! phase times and device-seconds. If the batch as a whole fails, its jobs are retried one by
//! one so that a poison job fails alone.
//!
//! Only a failure caused by the job's own input is final ([`DeviceOutcome::Final`]: bad
//! witness, unsatisfied constraints, deadline). A failure of the infrastructure — the key
//! store (unreadable, or a key file whose sha256 is not the registered circuit id), the
//! backend, a panic on the device thread — is [`DeviceOutcome::Retry`]: the worker commits
//! nothing for that job and returns its delivery to the queue, whose delivery limit bounds the
//! tries. A panic is contained to its batch; after [`MAX_CONSECUTIVE_PANICS`] panics in a row
//! the thread stops, and the worker exits non-zero so that a supervisor restarts it.
//!
//! Keys are read into memory (never memory-mapped) and checked against the circuit id: a key
//! file replaced, corrupted or truncated on disk is refused, and cannot fault the process.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;
use zkq_engine::{json as sjson, zkey, PreparedVerifyingKey, Prover, ProvingKey, Witness};
use zkq_kernels::BackendConfig;

use crate::metrics::WorkerMetrics;
use crate::model::{BatchRecord, CircuitRecord, JobCost, JobMeta, JobOutcome, JobTimings, Outcome, Price};
use crate::protocol::ReasonCode;
use crate::SchedulerError;

/// One job handed to the device.
#[derive(Debug, Clone)]
pub struct DeviceJob {
    /// Its metadata.
    pub meta: JobMeta,
    /// The witness bytes (never logged); empty when the job references the witness store.
    pub witness: Vec<u8>,
    /// When the worker received it.
    pub received_at: DateTime<Utc>,
    /// Queue wait measured at receipt.
    pub queue_wait_ms: f64,
}

/// A batch of one circuit.
#[derive(Debug)]
pub struct DeviceBatch {
    /// The circuit.
    pub circuit: CircuitRecord,
    /// Its jobs.
    pub jobs: Vec<DeviceJob>,
    /// The price valid now for this device type.
    pub price: Option<Price>,
}

/// Panics in a row after which the device thread stops (the worker then exits non-zero). One
/// poison job panics at most twice in a row (its batch, then itself alone), so it never stops
/// the thread; a device that panics on everything does.
pub const MAX_CONSECUTIVE_PANICS: u32 = 5;

/// What became of one job of a batch.
#[derive(Debug)]
pub enum DeviceOutcome {
    /// Proved, or failed because of the job's own input: committed, replied and acked.
    Final(Box<JobOutcome>),
    /// Not the job's fault (key store, backend, a device panic): nothing is committed and the
    /// delivery goes back to its queue. The reason is for logs and metrics.
    Retry {
        /// What failed.
        reason: String,
        /// The job panicked the device even when proved alone: the worker fails it
        /// `prover_error` once it has done so [`PANIC_TRIES`] times, rather than requeue it until
        /// the queue's delivery limit.
        panicked: bool,
    },
}

/// Times a job may panic the device (proved alone) before it fails `prover_error`.
pub const PANIC_TRIES: u32 = 2;

/// What the device made of a batch.
#[derive(Debug)]
pub struct DeviceResult {
    /// The batch record (absent when nothing reached proving).
    pub batch: Option<BatchRecord>,
    /// One outcome per job, in the batch's order.
    pub outcomes: Vec<DeviceOutcome>,
    /// The jobs' witness bytes handed back, in the batch's order (moved, never copied: the
    /// worker returns them to their deliveries, whose dead letters name their digest and size).
    pub witnesses: Vec<Vec<u8>>,
}

impl DeviceResult {
    /// Every job of a batch of `n` to be retried for `reason`.
    fn retry_all(n: usize, reason: &str, panicked: bool) -> Self {
        Self { batch: None, outcomes: (0..n).map(|_| DeviceOutcome::Retry { reason: reason.to_owned(), panicked }).collect(), witnesses: Vec::new() }
    }
}

/// Testing only: a fault the device thread injects, so that containment can be shown against
/// the real broker and database. Never set in production (`zkq worker` sets it only from the
/// `ZKQ_TEST_DEVICE_PANIC` environment variable, documented as a test hook).
#[derive(Debug, Clone, Default)]
pub struct FaultInjection {
    /// Panic while proving a batch that holds a job whose id starts with this prefix.
    pub panic_on_job_prefix: Option<String>,
}

/// Settings of a device thread.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Backend.
    pub backend: BackendConfig,
    /// Key store directory (`<id>.zkey`).
    pub key_dir: PathBuf,
    /// Keys kept in memory.
    pub key_cache: usize,
    /// Device type for records and pricing.
    pub device_type: String,
    /// Worker id for records.
    pub worker_id: String,
    /// Skip proving (pipeline capacity measurements).
    pub null_prover: bool,
    /// The witness store (`<sha256>.wtns`), for jobs that reference their witness.
    pub witness_dir: PathBuf,
    /// Null prover only: device time to pretend per batch, `(fixed, per proof)`.
    pub null_prover_delay: (Duration, Duration),
    /// Region recorded on batches.
    pub region: Option<String>,
    /// Where key-cache hits and misses, panics and retries are counted.
    pub metrics: Option<Arc<WorkerMetrics>>,
    /// Testing only (see [`FaultInjection`]). Default: none.
    pub fault: FaultInjection,
}

type Request = (DeviceBatch, oneshot::Sender<DeviceResult>);

/// Handle to a device thread. Dropping it stops the thread after its current batch.
#[derive(Debug, Clone)]
pub struct Device {
    tx: mpsc::Sender<Request>,
    name: String,
}

struct LoadedKey {
    id: String,
    pk: Arc<ProvingKey>,
    pvk: Arc<PreparedVerifyingKey>,
    /// [`crate::model::verifying_key_sha256`] of its verifying key.
    vk_sha256: String,
}

impl Device {
    /// Starts the device thread. `queue` batches may wait for it (1 = one proving, one next).
    pub fn spawn(mut config: DeviceConfig, queue: usize) -> Result<Self, SchedulerError> {
        let backend = zkq_kernels::open_backend(&config.backend).map_err(zkq_engine::EngineError::from)?;
        if backend.kind() != config.backend.kind {
            tracing::warn!(wanted = %config.backend.kind, using = %backend.kind(), "backend unavailable; using the configured fallback");
            // Batch records name the backend that really ran.
            config.backend.kind = backend.kind();
        }
        let name = backend.device_name();
        let (tx, mut rx) = mpsc::channel::<Request>(queue.max(1));
        let prover = Prover::new(backend);
        let thread_name = name.clone();
        std::thread::Builder::new()
            .name("zkq-device".into())
            .spawn(move || {
                let mut state = DeviceState { config, prover, keys: VecDeque::new(), device: thread_name, last_key_hit: None, last_vk_sha256: None };
                let mut panics = 0;
                while let Some((batch, reply)) = rx.blocking_recv() {
                    let mut result = state.run_contained(&batch, &mut panics);
                    result.witnesses = batch.jobs.into_iter().map(|j| j.witness).collect();
                    let _ = reply.send(result);
                    if panics >= MAX_CONSECUTIVE_PANICS {
                        tracing::error!(panics, "the device thread stops after {MAX_CONSECUTIVE_PANICS} panics in a row");
                        break;
                    }
                }
            })
            .map_err(|e| SchedulerError::Invalid(format!("cannot start the device thread: {e}")))?;
        Ok(Self { tx, name })
    }

    /// The device's description (`cpu (2 threads)`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues a batch; waits while the device's queue is full (backpressure). Fails with
    /// [`SchedulerError::DeviceGone`] when the device thread has stopped.
    pub async fn submit(&self, batch: DeviceBatch) -> Result<oneshot::Receiver<DeviceResult>, SchedulerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((batch, tx)).await.map_err(|_| SchedulerError::DeviceGone("the device thread has stopped".into()))?;
        Ok(rx)
    }
}

/// The text of a panic payload (`&str` or `String`; otherwise a placeholder).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

struct DeviceState {
    config: DeviceConfig,
    prover: Prover,
    keys: VecDeque<LoadedKey>,
    device: String,
    /// Whether the last key look-up was a cache hit (recorded on the batch).
    last_key_hit: Option<bool>,
    /// The verifying-key digest of the key the last lookup returned.
    last_vk_sha256: Option<String>,
}

/// Why a job of a proving batch has no proof.
enum Failure {
    /// The null prover made none (answered as a placeholder result).
    NullProver,
    /// The job's own input: final.
    Job(ReasonCode, String),
    /// Not the job's fault: retried.
    Infrastructure(String),
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Milliseconds from `from` to `to` (0 if `to` is earlier: clocks step).
fn span_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_microseconds().unwrap_or(0) as f64 / 1e3).max(0.0)
}

fn failed(job: &DeviceJob, circuit_id: &str, code: ReasonCode, reason: String, witness_load_ms: f64) -> JobOutcome {
    let mut meta = job.meta.clone();
    meta.circuit_id = Some(circuit_id.to_owned());
    JobOutcome {
        meta,
        outcome: Outcome::Failed { code, reason },
        timings: JobTimings { queue_wait_ms: job.queue_wait_ms, witness_load_ms, ..Default::default() },
        received_at: job.received_at,
        cost: None,
        batch_id: None,
        batch_size: 0,
        budget: None,
    }
}

impl DeviceState {
    fn note_key_lookup(&mut self, hit: bool) {
        self.last_key_hit = Some(hit);
        if let Some(m) = &self.config.metrics {
            m.key_cache(hit);
        }
    }

    fn key(&mut self, circuit: &CircuitRecord) -> Result<(Arc<ProvingKey>, Arc<PreparedVerifyingKey>), String> {
        if let Some(pos) = self.keys.iter().position(|k| k.id == circuit.id) {
            let k = self.keys.remove(pos).ok_or("key cache")?;
            let out = (k.pk.clone(), k.pvk.clone());
            self.last_vk_sha256 = Some(k.vk_sha256.clone());
            self.keys.push_front(k);
            self.note_key_lookup(true);
            tracing::debug!(circuit = %circuit.id, "proving key cache hit");
            return Ok(out);
        }
        self.note_key_lookup(false);
        let path = self.config.key_dir.join(format!("{}.zkey", circuit.id));
        // Read, not mapped: a file truncated or replaced while in use cannot fault the process.
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read the proving key of {} ({}): {e}", circuit.label(), path.display()))?;
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if digest != circuit.id {
            return Err(format!(
                "the key file {} is not circuit {}'s registered key: its sha256 is {digest}, the registered id is {}",
                path.display(),
                circuit.label(),
                circuit.id
            ));
        }
        let pk = zkey::parse_proving_key(&path.display().to_string(), &bytes).map_err(|e| format!("cannot load the proving key of {}: {e}", circuit.label()))?;
        drop(bytes);
        let pvk = Arc::new(PreparedVerifyingKey::new(&pk.vk));
        let vk_sha256 = crate::model::verifying_key_sha256(&pk.vk);
        self.last_vk_sha256 = Some(vk_sha256.clone());
        let pk = Arc::new(pk);
        self.keys.push_front(LoadedKey { id: circuit.id.clone(), pk: pk.clone(), pvk: pvk.clone(), vk_sha256 });
        self.keys.truncate(self.config.key_cache.max(1));
        tracing::info!(circuit = %circuit.label(), "proving key loaded");
        Ok((pk, pvk))
    }

    /// Reads a referenced witness from the store and checks its digest.
    fn stored_witness(&self, job: &DeviceJob) -> Result<Vec<u8>, String> {
        let Some(digest) = job.meta.witness_sha256.as_deref() else {
            return Err("the job has neither a witness nor a witness reference".into());
        };
        let path = self.config.witness_dir.join(format!("{digest}.wtns"));
        let bytes = std::fs::read(&path).map_err(|e| format!("stored witness sha256:{digest} cannot be read: {e}"))?;
        let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if actual != digest {
            return Err(format!("stored witness sha256:{digest} is corrupt (its sha256 is {actual})"));
        }
        Ok(bytes)
    }

    /// Runs a batch with panics contained: a batch of several jobs that panics is run again
    /// job by job, so that only a job that panics alone is retried (and the others are proved,
    /// under one batch record). `panics` counts panics in a row.
    fn run_contained(&mut self, batch: &DeviceBatch, panics: &mut u32) -> DeviceResult {
        let what = match self.run_catching(batch, panics) {
            Ok(result) => return result,
            Err(what) => what,
        };
        if batch.jobs.len() == 1 {
            return DeviceResult::retry_all(1, &format!("the device panicked: {what}"), true);
        }
        tracing::warn!(size = batch.jobs.len(), "running the panicked batch's jobs one by one");
        let mut record: Option<BatchRecord> = None;
        let mut outcomes = Vec::with_capacity(batch.jobs.len());
        for job in &batch.jobs {
            let single = DeviceBatch { circuit: batch.circuit.clone(), jobs: vec![job.clone()], price: batch.price.clone() };
            match self.run_catching(&single, panics) {
                Ok(mut r) => {
                    if let Some(b) = r.batch.take() {
                        match &mut record {
                            Some(into) => {
                                into.size += b.size;
                                into.device_seconds += b.device_seconds;
                                into.finished_at = b.finished_at;
                            }
                            None => record = Some(b),
                        }
                    }
                    outcomes.extend(r.outcomes);
                }
                Err(what) => outcomes.push(DeviceOutcome::Retry { reason: format!("the device panicked: {what}"), panicked: true }),
            }
        }
        // The singletons' results belong to the one batch record committed for them.
        if let Some(b) = &record {
            for o in &mut outcomes {
                if let DeviceOutcome::Final(o) = o {
                    if o.batch_id.is_some() {
                        o.batch_id = Some(b.id);
                        o.batch_size = b.size;
                    }
                }
            }
        }
        DeviceResult { batch: record, outcomes, witnesses: Vec::new() }
    }

    /// [`DeviceState::run`] under `catch_unwind`: a panic becomes its message.
    fn run_catching(&mut self, batch: &DeviceBatch, panics: &mut u32) -> Result<DeviceResult, String> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(batch))) {
            Ok(result) => {
                *panics = 0;
                Ok(result)
            }
            Err(payload) => {
                *panics += 1;
                let what = panic_message(payload.as_ref());
                tracing::error!(panic = %what, size = batch.jobs.len(), in_a_row = *panics, "the device thread panicked");
                if let Some(m) = &self.config.metrics {
                    m.device_panicked();
                }
                Err(what)
            }
        }
    }

    fn run(&mut self, batch: &DeviceBatch) -> DeviceResult {
        let taken_at = Utc::now();
        let mut result = self.run_batch(batch);
        // Latency accounting (docs/job-protocol.md, "Timings"): held = from the worker receiving
        // the job to the device taking its batch; batch = the device's whole work on it.
        let done_at = Utc::now();
        let batch_ms = span_ms(taken_at, done_at);
        for o in result.outcomes.iter_mut() {
            if let DeviceOutcome::Final(o) = o {
                o.timings.held_ms = span_ms(o.received_at, taken_at);
                o.timings.batch_ms = batch_ms;
            }
        }
        result
    }

    fn run_batch(&mut self, batch: &DeviceBatch) -> DeviceResult {
        let circuit_id = batch.circuit.id.clone();
        let (pk, pvk) = match self.key(&batch.circuit) {
            Ok(k) => k,
            Err(reason) => {
                tracing::error!(circuit = %batch.circuit.label(), %reason, "proving key unavailable; the batch's jobs go back to their queues");
                return DeviceResult::retry_all(batch.jobs.len(), &reason, false);
            }
        };
        if let Some(prefix) = &self.config.fault.panic_on_job_prefix {
            if batch.jobs.iter().any(|j| j.meta.job_id.starts_with(prefix.as_str())) {
                panic!("injected fault: a job id starts with {prefix:?} (ZKQ_TEST_DEVICE_PANIC)");
            }
        }
        // Parse and check each witness; bad ones and expired deadlines fail alone.
        let now_ms = Utc::now().timestamp_millis();
        let mut outcomes: Vec<Option<DeviceOutcome>> = (0..batch.jobs.len()).map(|_| None).collect();
        let mut ready: Vec<(usize, Witness, f64)> = Vec::new();
        for (i, job) in batch.jobs.iter().enumerate() {
            let t = Instant::now();
            if job.meta.deadline_ms.is_some_and(|d| d <= now_ms) {
                outcomes[i] = Some(DeviceOutcome::Final(Box::new(failed(job, &circuit_id, ReasonCode::DeadlineExceeded, "the deadline passed before the job could be proved".into(), 0.0))));
                continue;
            }
            let stored;
            let bytes: &[u8] = if job.witness.is_empty() {
                match self.stored_witness(job) {
                    Ok(b) => {
                        stored = b;
                        &stored
                    }
                    Err(reason) => {
                        outcomes[i] = Some(DeviceOutcome::Final(Box::new(failed(job, &circuit_id, ReasonCode::BadWitness, reason, ms(t.elapsed())))));
                        continue;
                    }
                }
            } else {
                &job.witness
            };
            let parsed = Witness::parse(&format!("job {} witness", job.meta.job_id), bytes).and_then(|w| {
                w.check_shape(pk.n_vars)?;
                Ok(w)
            });
            let load = ms(t.elapsed());
            match parsed {
                Ok(w) => ready.push((i, w, load)),
                Err(e) => outcomes[i] = Some(DeviceOutcome::Final(Box::new(failed(job, &circuit_id, ReasonCode::BadWitness, e.to_string(), load)))),
            }
        }
        let record = if ready.is_empty() {
            None
        } else {
            Some(self.prove_ready(batch, &pk, &pvk, ready, &mut outcomes))
        };
        let outcomes = outcomes
            .into_iter()
            .zip(&batch.jobs)
            .map(|(o, _)| o.unwrap_or_else(|| DeviceOutcome::Retry { reason: "internal: the device gave the job no outcome".into(), panicked: false }))
            .collect();
        DeviceResult { batch: record, outcomes, witnesses: Vec::new() }
    }

    /// Proves the parsed jobs as one batch (falling back to singletons), verifies, and fills
    /// their outcomes with timings and cost shares.
    fn prove_ready(
        &mut self,
        batch: &DeviceBatch,
        pk: &ProvingKey,
        pvk: &PreparedVerifyingKey,
        ready: Vec<(usize, Witness, f64)>,
        outcomes: &mut [Option<DeviceOutcome>],
    ) -> BatchRecord {
        let started_at = Utc::now();
        let start = Instant::now();
        let batch_id = Uuid::new_v4();
        let n = ready.len();
        // (index, proof+public or failure, phase timings share, verify time)
        let mut proved: Vec<(usize, Result<(zkq_engine::Proof, Vec<zkq_kernels::Fr>), Failure>, zkq_engine::PhaseTimings, f64)> = Vec::with_capacity(n);
        if self.config.null_prover {
            let (fixed, per_proof) = self.config.null_prover_delay;
            let pretend = fixed + per_proof * n as u32;
            if !pretend.is_zero() {
                std::thread::sleep(pretend);
            }
            for (i, w, _) in &ready {
                proved.push((*i, Err(Failure::NullProver), Default::default(), 0.0));
                let _ = w;
            }
        } else {
            let witnesses: Vec<Witness> = ready.iter().map(|(_, w, _)| w.clone()).collect();
            match self.prover.prove_batch(pk, &witnesses) {
                Ok(out) => {
                    let share = out.timings.per_proof(n);
                    for (k, (i, _, _)) in ready.iter().enumerate() {
                        proved.push((*i, Ok((out.proofs[k], out.public_signals[k].clone())), share, 0.0));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, size = n, "batch failed; retrying its jobs one by one");
                    for (i, w, _) in &ready {
                        match self.prover.prove_batch(pk, std::slice::from_ref(w)) {
                            Ok(out) => proved.push((*i, Ok((out.proofs[0], out.public_signals[0].clone())), out.timings, 0.0)),
                            // The witness parsed and fits the circuit: a prover error is the
                            // backend's (randomness, memory, kernel), not the job's.
                            Err(e) => proved.push((*i, Err(Failure::Infrastructure(format!("the prover failed: {e}"))), Default::default(), 0.0)),
                        }
                    }
                }
            }
        }
        // Verify every proof: an unsatisfying witness fails alone.
        for entry in proved.iter_mut() {
            if let Ok((proof, public)) = &entry.1 {
                let t = Instant::now();
                let ok = pvk.verify(public, proof);
                entry.3 = ms(t.elapsed());
                match ok {
                    Ok(true) => {}
                    Ok(false) => entry.1 = Err(Failure::Job(ReasonCode::Unsatisfied, "the witness does not satisfy the circuit's constraints (its proof did not verify)".into())),
                    Err(e) => entry.1 = Err(Failure::Infrastructure(format!("verification failed: {e}"))),
                }
            }
        }
        let finished_at = Utc::now();
        let device_seconds = start.elapsed().as_secs_f64();
        // A proof finished after its job's deadline is not delivered late: the job fails.
        let finished_ms = finished_at.timestamp_millis();
        for entry in proved.iter_mut() {
            if batch.jobs[entry.0].meta.deadline_ms.is_some_and(|d| d < finished_ms) {
                entry.1 = Err(Failure::Job(ReasonCode::DeadlineExceeded, "the deadline passed while the job's batch was proving".into()));
            }
        }
        let price = batch.price.as_ref();
        let per_job_seconds = device_seconds / n as f64;
        let cost = JobCost {
            device_seconds: per_job_seconds,
            usd: price.map_or(0.0, |p| per_job_seconds * p.usd_per_device_second()),
            price_id: price.map(|p| p.id),
        };
        let load_ms: std::collections::HashMap<usize, f64> = ready.iter().map(|(i, _, l)| (*i, *l)).collect();
        for (i, result, t, verify_ms) in proved {
            let job = &batch.jobs[i];
            let mut meta = job.meta.clone();
            meta.circuit_id = Some(batch.circuit.id.clone());
            let outcome = match result {
                Ok((proof, public)) => Outcome::Proved { proof: sjson::proof_to_json(&proof), public_signals: sjson::public_to_json(&public) },
                Err(Failure::NullProver) => Outcome::Proved { proof: serde_json::Value::Null, public_signals: serde_json::Value::Null },
                Err(Failure::Job(code, reason)) => Outcome::Failed { code, reason },
                Err(Failure::Infrastructure(reason)) => {
                    outcomes[i] = Some(DeviceOutcome::Retry { reason, panicked: false });
                    continue;
                }
            };
            outcomes[i] = Some(DeviceOutcome::Final(Box::new(JobOutcome {
                meta,
                outcome,
                timings: JobTimings {
                    queue_wait_ms: job.queue_wait_ms,
                    witness_load_ms: load_ms.get(&i).copied().unwrap_or(0.0),
                    compute_h_ms: ms(t.compute_h),
                    compute_a_ms: ms(t.compute_a),
                    compute_b_g1_ms: ms(t.compute_b_g1),
                    compute_b_g2_ms: ms(t.compute_b_g2),
                    compute_c_ms: ms(t.compute_c),
                    verify_ms,
                    // Set for every outcome of the batch by `run`.
                    held_ms: 0.0,
                    batch_ms: 0.0,
                },
                received_at: job.received_at,
                cost: Some(cost),
                batch_id: Some(batch_id),
                batch_size: n as i32,
                budget: None,
            })));
        }
        BatchRecord {
            id: batch_id,
            worker_id: self.config.worker_id.clone(),
            backend: self.config.backend.kind.to_string(),
            device: if self.config.null_prover { format!("{} (null prover)", self.device) } else { self.device.clone() },
            device_type: self.config.device_type.clone(),
            circuit_id: batch.circuit.id.clone(),
            size: n as i32,
            started_at,
            finished_at,
            device_seconds,
            price_id: price.map(|p| p.id),
            region: self.config.region.clone(),
            key_cache_hit: self.last_key_hit,
            verifying_key_sha256: self.last_vk_sha256.clone(),
        }
    }
}
