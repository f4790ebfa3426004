//! Jobs, batches, results and costs: the worker's one-transaction commit, the redelivery
//! look-ups, and the views `zkq job` / `zkq jobs` print.
//!
//! Exactly-once effects rest on two facts: `job_results.job_id` is a primary key written with
//! `ON CONFLICT (job_id) DO NOTHING`, and a job's `jobs.state` leaves `queued` only in the
//! transaction that writes its result. A redelivered job therefore finds its result committed
//! ([`CommitReport::already_done`]) and the worker re-sends the stored reply
//! ([`Store::stored_results`]) instead of the new one.
//!
//! **A job id belongs to its tenant and its content.** Job ids are chosen by submitters, so a
//! commit first reads (and locks, in job-id order) the `jobs` rows already there: an outcome
//! whose id is recorded for another tenant, or for the same tenant with another circuit or
//! witness (sha256), is a **conflict** ([`CommitReport::conflicts`]): nothing is written for
//! it — not its result, not its job row — and the worker fails it `job_id_conflict` without
//! ever sending it the stored result. The upsert of job rows repeats the check in its `WHERE`
//! clause, and the outcomes not written are classified again against the rows as they are
//! after the inserts, so two tenants racing with one new id cannot see each other's result.
//!
//! Rows are written in bulk (`unnest` of arrays, one statement per table per batch) in job-id
//! order, so two transactions touching overlapping jobs lock them in the same order and cannot
//! deadlock each other; a deadlock or serialization failure the server reports anyway is
//! retried with the whole transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{retryable, Result, Store, TRANSACTION_ATTEMPTS};
use crate::model::{BatchRecord, JobMeta, JobOutcome, JobTimings, JobView, Outcome};
use crate::protocol::ReasonCode;
use crate::SchedulerError;

/// What [`Store::commit_batch`] did, job by job (each list in the order of the outcomes given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitReport {
    /// Jobs whose result this commit wrote.
    pub inserted: Vec<String>,
    /// Jobs that already had a result (an earlier delivery committed it, or the job id appeared
    /// earlier in the same call): nothing was written for them; re-send their stored result.
    pub already_done: Vec<String>,
    /// Outcomes (by their index in the call) whose job id is recorded for another tenant or
    /// another content, with the reason: nothing was written for them.
    pub conflicts: Vec<(usize, String)>,
    /// Outcomes (by index) whose stored result differs from the one given — the privacy budget
    /// settled in the commit: a charged job's result carries its `budget` object (with the
    /// receipt id), a proved job whose charge was refused became failed `budget_exhausted`.
    /// Reply with these, not the given ones.
    pub rewritten: Vec<(usize, JobOutcome, serde_json::Value)>,
}

/// What [`Store::stored_result_for`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredResult {
    /// No result under this id (no row, or the job is still queued).
    Nothing,
    /// This job's stored result.
    Same(serde_json::Value),
    /// The id is recorded for another job: why (never naming another tenant).
    Conflict(String),
}

/// A `jobs` row's identity: who owns the job id and what the job was.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    tenant: String,
    circuit_id: Option<String>,
    witness_sha256: Option<String>,
}

/// Why `meta` may not use its job id, recorded as `owner`; `None` when it is the same job
/// (same tenant; circuit and witness equal wherever both are known). The reason never names
/// the other tenant.
fn conflict(meta: &JobMeta, owner: &Owner) -> Option<String> {
    let id = &meta.job_id;
    if meta.tenant != owner.tenant {
        return Some(format!("job id {id} is already used by another tenant's job; choose another id"));
    }
    if let (Some(was), Some(now)) = (owner.circuit_id.as_deref(), meta.circuit_id.as_deref()) {
        if was != now {
            return Some(format!("job id {id} was used before for circuit {was}, not {now}"));
        }
    }
    if let (Some(was), Some(now)) = (owner.witness_sha256.as_deref(), meta.witness_sha256.as_deref()) {
        if was != now {
            return Some(format!("job id {id} was used before for a witness with sha256 {was}, not {now}"));
        }
    }
    None
}

/// Who owns each of these job ids (locking the rows when `lock`).
async fn owners(tx: &deadpool_postgres::Transaction<'_>, ids: &[&str], lock: bool) -> Result<HashMap<String, Owner>> {
    let sql = if lock {
        "select job_id, tenant, circuit_id, witness_sha256 from jobs where job_id = any($1) order by job_id for update"
    } else {
        "select job_id, tenant, circuit_id, witness_sha256 from jobs where job_id = any($1)"
    };
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx
        .query(&stmt, &[&ids])
        .await?
        .iter()
        .map(|r| (r.get(0), Owner { tenant: r.get(1), circuit_id: r.get(2), witness_sha256: r.get(3) }))
        .collect())
}

/// Totals over a set of jobs' results (for `zkq submit`'s summary and the demo).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ResultSummary {
    /// Jobs with a result.
    pub results: i64,
    /// Of which proved.
    pub proved: i64,
    /// Of which failed.
    pub failed: i64,
    /// Device-seconds charged to them.
    pub device_seconds: f64,
    /// Cost charged to them, USD.
    pub usd: f64,
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
}

/// The jobs-table columns of a set of jobs, as arrays for `unnest`.
#[derive(Default)]
struct JobColumns {
    job_id: Vec<String>,
    tenant: Vec<String>,
    circuit_ref: Vec<String>,
    circuit_id: Vec<Option<String>>,
    purpose: Vec<String>,
    priority: Vec<i16>,
    deadline_at: Vec<Option<DateTime<Utc>>>,
    witness_sha256: Vec<Option<String>>,
    submitted_at: Vec<Option<DateTime<Utc>>>,
    state: Vec<&'static str>,
}

impl JobColumns {
    fn push(&mut self, m: &JobMeta, state: &'static str) {
        self.job_id.push(m.job_id.clone());
        self.tenant.push(m.tenant.clone());
        self.circuit_ref.push(m.circuit_ref.clone());
        self.circuit_id.push(m.circuit_id.clone());
        self.purpose.push(m.purpose.clone());
        self.priority.push(i16::from(m.priority));
        self.deadline_at.push(millis(m.deadline_ms));
        self.witness_sha256.push(m.witness_sha256.clone());
        self.submitted_at.push(millis(m.submitted_at_ms));
        self.state.push(state);
    }

    /// The columns as the ten parameters of [`UNNEST_JOBS`], in order.
    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 10] {
        [
            &self.job_id,
            &self.tenant,
            &self.circuit_ref,
            &self.circuit_id,
            &self.purpose,
            &self.priority,
            &self.deadline_at,
            &self.witness_sha256,
            &self.submitted_at,
            &self.state,
        ]
    }
}

const UNNEST_JOBS: &str = "select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int2[],
                                                 $7::timestamptz[], $8::text[], $9::timestamptz[], $10::text[])";

const JOB_VIEW_SELECT: &str = "select j.job_id, j.tenant, j.state, j.circuit_id, j.purpose, j.priority, j.submitted_at,
            r.job_id as result_job_id, r.completed_at, r.reason_code, r.reason, r.batch_size, r.device,
            r.queue_wait_ms, r.witness_load_ms, r.compute_h_ms, r.compute_a_ms, r.compute_b_g1_ms, r.compute_b_g2_ms,
            r.compute_c_ms, r.verify_ms, r.held_ms, r.batch_ms, c.usd::float8 as cost_usd
     from jobs j
     left join job_results r on r.job_id = j.job_id
     left join job_costs c on c.job_id = j.job_id";

fn job_view(row: &Row) -> JobView {
    let has_result = row.get::<_, Option<String>>("result_job_id").is_some();
    let f = |name: &str| row.get::<_, Option<f64>>(name).unwrap_or(0.0);
    JobView {
        job_id: row.get("job_id"),
        tenant: row.get("tenant"),
        state: row.get("state"),
        circuit_id: row.get("circuit_id"),
        purpose: row.get("purpose"),
        priority: row.get("priority"),
        submitted_at: row.get("submitted_at"),
        completed_at: row.get("completed_at"),
        reason_code: row.get("reason_code"),
        reason: row.get("reason"),
        timings: has_result.then(|| JobTimings {
            queue_wait_ms: f("queue_wait_ms"),
            witness_load_ms: f("witness_load_ms"),
            compute_h_ms: f("compute_h_ms"),
            compute_a_ms: f("compute_a_ms"),
            compute_b_g1_ms: f("compute_b_g1_ms"),
            compute_b_g2_ms: f("compute_b_g2_ms"),
            compute_c_ms: f("compute_c_ms"),
            verify_ms: f("verify_ms"),
            held_ms: f("held_ms"),
            batch_ms: f("batch_ms"),
        }),
        batch_size: row.get("batch_size"),
        device: row.get("device"),
        cost_usd: row.get("cost_usd"),
    }
}

impl Store {
    /// Records jobs as `queued` before they are published (`zkq submit`), so that `zkq job`
    /// knows them and a lost job is visible. Jobs already recorded are left as they are
    /// (`ON CONFLICT (job_id) DO NOTHING`). Returns how many rows were inserted.
    pub async fn insert_queued_jobs(&self, jobs: &[JobMeta]) -> Result<u64> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let mut sorted: Vec<&JobMeta> = jobs.iter().collect();
        sorted.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        let mut cols = JobColumns::default();
        for m in sorted {
            cols.push(m, "queued");
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "insert into jobs (job_id, tenant, circuit_ref, circuit_id, purpose, priority, deadline_at, witness_sha256,
                                   submitted_at, state)
                 {UNNEST_JOBS}
                 on conflict (job_id) do nothing"
            ))
            .await?;
        Ok(client
            .execute(
                &stmt,
                &cols.params(),
            )
            .await?)
    }

    /// Deletes the `queued` rows of jobs that never reached a queue (the broker returned them as
    /// unroutable), so that they do not age as queued forever; a job with a result is kept.
    /// Returns how many rows were deleted.
    pub async fn forget_unsubmitted(&self, job_ids: &[String]) -> Result<u64> {
        let client = self.client().await?;
        Ok(client
            .execute(
                "delete from jobs j where j.job_id = any($1) and j.state = 'queued'
                   and not exists (select 1 from job_results r where r.job_id = j.job_id)",
                &[&job_ids],
            )
            .await?)
    }

    /// The worker's commit of one batch, in ONE transaction:
    ///
    /// 1. the batch row, if any (`ON CONFLICT (id) DO NOTHING`: a retried commit is harmless);
    /// 2. each job's `jobs` row: inserted with the outcome's state if the submitter did not
    ///    record it, else given its state, circuit id and `updated_at` — only while it is still
    ///    `queued` (i.e. has no result);
    /// 3. each job's `job_results` row with `ON CONFLICT (job_id) DO NOTHING`; `result` is the
    ///    exact reply message (the paired JSON), never the witness;
    /// 4. a `job_costs` row for each newly inserted job that has a cost (device type from its
    ///    batch).
    ///
    /// The report says which jobs were written now and which already had a result: for those
    /// the worker must re-send [`Store::stored_results`], not its new result. A job id given
    /// twice counts once (the first occurrence), the repeat is reported as already done.
    /// Deadlocks and serialization failures are retried (the transaction is re-run whole).
    pub async fn commit_batch(&self, batch: Option<&BatchRecord>, outcomes: &[(JobOutcome, serde_json::Value)]) -> Result<CommitReport> {
        let mut attempt = 1;
        loop {
            match self.commit_batch_once(batch, outcomes).await {
                Err(e) if attempt < TRANSACTION_ATTEMPTS && retryable(&e) => {
                    tracing::debug!(attempt, error = %e, "batch commit lost a race; running it again");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn commit_batch_once(&self, batch: Option<&BatchRecord>, outcomes: &[(JobOutcome, serde_json::Value)]) -> Result<CommitReport> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;

        // 1. The job ids already recorded, locked in job-id order; outcomes that may not use
        // their id are left out. Then the first occurrence of each id, in job-id order.
        let all_ids: Vec<&str> = outcomes.iter().map(|(o, _)| o.meta.job_id.as_str()).collect();
        let before = owners(&tx, &all_ids, true).await?;
        let mut seen = HashSet::new();
        let unique_idx: HashSet<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, (o, _))| before.get(&o.meta.job_id).is_none_or(|owner| conflict(&o.meta, owner).is_none()))
            .filter(|(_, (o, _))| seen.insert(o.meta.job_id.as_str()))
            .map(|(i, _)| i)
            .collect();
        let mut unique: Vec<&(JobOutcome, serde_json::Value)> = unique_idx.iter().map(|i| &outcomes[*i]).collect();
        unique.sort_by(|a, b| a.0.meta.job_id.cmp(&b.0.meta.job_id));

        if let Some(b) = batch {
            let stmt = tx
                .prepare_cached(
                    "insert into batches (id, worker_id, backend, device, device_type, circuit_id, size, started_at, finished_at,
                                          device_seconds, price_id, region, key_cache_hit)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     on conflict (id) do nothing",
                )
                .await?;
            tx.execute(
                &stmt,
                &[
                    &b.id,
                    &b.worker_id,
                    &b.backend,
                    &b.device,
                    &b.device_type,
                    &b.circuit_id,
                    &b.size,
                    &b.started_at,
                    &b.finished_at,
                    &b.device_seconds,
                    &b.price_id,
                    &b.region,
                    &b.key_cache_hit,
                ],
            )
            .await?;
        }

        let mut inserted_now: HashSet<String> = HashSet::new();
        if !unique.is_empty() {
            // 2. jobs rows.
            let mut cols = JobColumns::default();
            for (o, _) in &unique {
                cols.push(&o.meta, status(&o.outcome));
            }
            let stmt = tx
                .prepare_cached(&format!(
                    "insert into jobs (job_id, tenant, circuit_ref, circuit_id, purpose, priority, deadline_at, witness_sha256,
                                       submitted_at, state)
                     {UNNEST_JOBS}
                     on conflict (job_id) do update set
                         state = excluded.state,
                         circuit_id = coalesce(excluded.circuit_id, jobs.circuit_id),
                         witness_sha256 = coalesce(jobs.witness_sha256, excluded.witness_sha256),
                         updated_at = now()
                     where jobs.state = 'queued' and jobs.tenant = excluded.tenant
                       and (jobs.circuit_id is null or excluded.circuit_id is null or jobs.circuit_id = excluded.circuit_id)
                       and (jobs.witness_sha256 is null or excluded.witness_sha256 is null
                            or jobs.witness_sha256 = excluded.witness_sha256)"
                ))
                .await?;
            tx.execute(
                &stmt,
                &cols.params(),
            )
            .await?;

            // 3. results.
            let n = unique.len();
            let mut job_id = Vec::with_capacity(n);
            let mut status_col = Vec::with_capacity(n);
            let mut reason_code: Vec<Option<&'static str>> = Vec::with_capacity(n);
            let mut reason: Vec<Option<&str>> = Vec::with_capacity(n);
            let mut batch_id: Vec<Option<Uuid>> = Vec::with_capacity(n);
            let mut batch_size = Vec::with_capacity(n);
            let mut device: Vec<Option<&str>> = Vec::with_capacity(n);
            let mut received_at = Vec::with_capacity(n);
            let mut t: [Vec<f64>; 10] = Default::default();
            let mut result = Vec::with_capacity(n);
            for (o, json) in &unique {
                job_id.push(o.meta.job_id.as_str());
                status_col.push(status(&o.outcome));
                match &o.outcome {
                    Outcome::Proved { .. } => {
                        reason_code.push(None);
                        reason.push(None);
                    }
                    Outcome::Failed { code, reason: why } => {
                        reason_code.push(Some(code.as_str()));
                        reason.push(Some(why.as_str()));
                    }
                }
                batch_id.push(o.batch_id);
                batch_size.push(o.batch_size);
                // The device the reply names; else the batch's, when the job ran in it.
                device.push(
                    json.get("device")
                        .and_then(serde_json::Value::as_str)
                        .or_else(|| batch.filter(|b| o.batch_id == Some(b.id)).map(|b| b.device.as_str())),
                );
                received_at.push(o.received_at);
                let tm = &o.timings;
                for (col, v) in t.iter_mut().zip([
                    tm.queue_wait_ms,
                    tm.witness_load_ms,
                    tm.compute_h_ms,
                    tm.compute_a_ms,
                    tm.compute_b_g1_ms,
                    tm.compute_b_g2_ms,
                    tm.compute_c_ms,
                    tm.verify_ms,
                    tm.held_ms,
                    tm.batch_ms,
                ]) {
                    col.push(v);
                }
                result.push(json);
            }
            let stmt = tx
                .prepare_cached(
                    "insert into job_results (job_id, status, reason_code, reason, batch_id, batch_size, device, received_at,
                                              queue_wait_ms, witness_load_ms, compute_h_ms, compute_a_ms, compute_b_g1_ms,
                                              compute_b_g2_ms, compute_c_ms, verify_ms, held_ms, batch_ms, result)
                     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::int4[], $7::text[],
                                          $8::timestamptz[], $9::float8[], $10::float8[], $11::float8[], $12::float8[],
                                          $13::float8[], $14::float8[], $15::float8[], $16::float8[], $17::float8[],
                                          $18::float8[], $19::jsonb[])
                     on conflict (job_id) do nothing
                     returning job_id",
                )
                .await?;
            let rows = tx
                .query(
                    &stmt,
                    &[
                        &job_id,
                        &status_col,
                        &reason_code,
                        &reason,
                        &batch_id,
                        &batch_size,
                        &device,
                        &received_at,
                        &t[0],
                        &t[1],
                        &t[2],
                        &t[3],
                        &t[4],
                        &t[5],
                        &t[6],
                        &t[7],
                        &t[8],
                        &t[9],
                        &result,
                    ],
                )
                .await?;
            inserted_now = rows.iter().map(|r| r.get::<_, String>(0)).collect();

            // 4. costs of the jobs written now.
            let costed: Vec<_> = unique.iter().filter(|(o, _)| inserted_now.contains(&o.meta.job_id)).filter_map(|(o, _)| o.cost.map(|c| (o, c))).collect();
            if !costed.is_empty() {
                let ids: Vec<&str> = costed.iter().map(|(o, _)| o.meta.job_id.as_str()).collect();
                let batch_ids: Vec<Option<Uuid>> = costed.iter().map(|(o, _)| o.batch_id).collect();
                let price_ids: Vec<Option<i64>> = costed.iter().map(|(_, c)| c.price_id).collect();
                let seconds: Vec<f64> = costed.iter().map(|(_, c)| c.device_seconds).collect();
                let usd: Vec<f64> = costed.iter().map(|(_, c)| c.usd).collect();
                // A cost without a batch row (not expected from the worker) is attributed to the
                // device type of the batch being committed.
                let fallback_device_type = batch.map(|b| b.device_type.as_str()).unwrap_or("unknown");
                let stmt = tx
                    .prepare_cached(
                        "insert into job_costs (job_id, batch_id, device_type, price_id, device_seconds, usd)
                         select u.job_id, u.batch_id, coalesce(b.device_type, $6::text), u.price_id, u.device_seconds,
                                u.usd::numeric(24, 12)
                         from unnest($1::text[], $2::uuid[], $3::int8[], $4::float8[], $5::float8[])
                              as u(job_id, batch_id, price_id, device_seconds, usd)
                         left join batches b on b.id = u.batch_id
                         order by u.job_id
                         on conflict (job_id) do nothing",
                    )
                    .await?;
                tx.execute(&stmt, &[&ids, &batch_ids, &price_ids, &seconds, &usd, &fallback_device_type]).await?;
            }
        }
        // 5. Privacy budgets: holds of the jobs written now are charged (proved) or refunded
        // (failed) in this transaction; holds of outcomes not written are given back.
        let rewritten = self.settle_budgets(&tx, outcomes, &unique_idx, &inserted_now).await?;

        // 6. Attestations: every job written now whose final outcome is a proof gets a signed
        // statement, appended to the transparency log last (the log's lock is held only for the
        // append and the commit). Job-id order, like every other write here.
        if let Some(attestor) = &self.attestor {
            // `unique` is in job-id order; the settlement may have turned a proof into a failure.
            let settled: HashMap<&str, &JobOutcome> = rewritten.iter().map(|(_, o, _)| (o.meta.job_id.as_str(), o)).collect();
            let proved: Vec<&JobOutcome> = unique
                .iter()
                .filter(|(o, _)| inserted_now.contains(&o.meta.job_id))
                .map(|(o, _)| settled.get(o.meta.job_id.as_str()).copied().unwrap_or(o))
                .filter(|o| matches!(o.outcome, Outcome::Proved { .. }))
                .collect();
            attestor.append(&tx, &proved, batch).await?;
        }

        // 7. Every outcome not written now — a repeat of an id in this call included — is checked
        // against the rows as they are now (a concurrent commit may have recorded its id
        // meanwhile, for another tenant). Nothing to check when every outcome was written.
        let after = if all_ids.len() == inserted_now.len() { HashMap::new() } else { owners(&tx, &all_ids, false).await? };
        tx.commit().await?;

        let mut report = CommitReport { rewritten, ..CommitReport::default() };
        let mut reported = HashSet::new();
        for (i, (o, _)) in outcomes.iter().enumerate() {
            let id = &o.meta.job_id;
            if reported.insert(id.as_str()) && inserted_now.contains(id) {
                report.inserted.push(id.clone());
            } else if let Some(why) = after.get(id).or_else(|| before.get(id)).and_then(|owner| conflict(&o.meta, owner)) {
                report.conflicts.push((i, why));
            } else {
                report.already_done.push(id.clone());
            }
        }
        Ok(report)
    }

    /// Settles the privacy-budget holds of a commit's outcomes (see [`zkq_budget::pg::settle`])
    /// and rewrites the stored results the settlement changed.
    async fn settle_budgets(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        outcomes: &[(JobOutcome, serde_json::Value)],
        written_first: &HashSet<usize>,
        inserted_now: &HashSet<String>,
    ) -> Result<Vec<(usize, JobOutcome, serde_json::Value)>> {
        use sha2::{Digest, Sha256};
        use zkq_budget::pg::{JobCharge, Settled, Settlement};
        let mut items: Vec<(usize, Settlement)> = Vec::new();
        for (i, (o, _)) in outcomes.iter().enumerate() {
            let (Some(micros), false) = (o.meta.epsilon_micro, o.meta.purpose.is_empty()) else { continue };
            let Some(epsilon) = zkq_budget::Epsilon::from_micros(micros) else { continue };
            let written = written_first.contains(&i) && inserted_now.contains(&o.meta.job_id);
            if !written && inserted_now.contains(&o.meta.job_id) {
                continue; // a repeat of a job written now: its hold is settled with it
            }
            let job = JobCharge { tenant: o.meta.tenant.clone(), job_id: o.meta.job_id.clone(), purpose: o.meta.purpose.clone(), epsilon };
            let (proof_sha256, reason) = match (&o.outcome, written) {
                (Outcome::Proved { proof, .. }, true) => (Some(hex::encode(Sha256::digest(zkq_audit::statement::canonical_json(proof)))), String::new()),
                (Outcome::Failed { code, .. }, true) => (None, format!("the job failed: {code}")),
                (_, false) => (None, "the job's result was not written by this delivery".into()),
            };
            items.push((i, Settlement { job, proof_sha256, reason }));
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.signing_key.clone().ok_or_else(|| SchedulerError::Invalid("no signing key for budget receipts: the worker must be given one".into()))?;
        let settlements: Vec<Settlement> = items.iter().map(|(_, s)| s.clone()).collect();
        let settled = zkq_budget::pg::settle(tx, &settlements, &key).await?;
        let mut rewritten = Vec::new();
        for ((i, _), s) in items.iter().zip(settled) {
            let (o, json) = &outcomes[*i];
            let (mut o, mut json) = (o.clone(), json.clone());
            match s {
                Settled::Charged(budget) => {
                    json["budget"] = serde_json::to_value(&budget).unwrap_or_default();
                    o.budget = Some(budget);
                }
                Settled::Refused(block) => {
                    let reason = block.message(&self.budget_contact);
                    let budget = block.job_budget(&self.budget_contact);
                    if let Some(map) = json.as_object_mut() {
                        map.remove("proof");
                        map.remove("public_signals");
                        map.insert("status".into(), "failed".into());
                        map.insert("code".into(), ReasonCode::BudgetExhausted.as_str().into());
                        map.insert("reason".into(), reason.clone().into());
                        map.insert("budget".into(), serde_json::to_value(&budget).unwrap_or_default());
                    }
                    o.outcome = Outcome::Failed { code: ReasonCode::BudgetExhausted, reason };
                    o.budget = Some(budget);
                }
                Settled::Refunded | Settled::Nothing => continue,
            }
            rewritten.push((*i, o, json));
        }
        if !rewritten.is_empty() {
            let ids: Vec<&str> = rewritten.iter().map(|(_, o, _)| o.meta.job_id.as_str()).collect();
            let results: Vec<&serde_json::Value> = rewritten.iter().map(|(_, _, j)| j).collect();
            let statuses: Vec<&str> = rewritten.iter().map(|(_, o, _)| status(&o.outcome)).collect();
            let codes: Vec<Option<&str>> = rewritten.iter().map(|(_, o, _)| failure(&o.outcome).map(|(c, _)| c.as_str())).collect();
            let reasons: Vec<Option<&str>> = rewritten.iter().map(|(_, o, _)| failure(&o.outcome).map(|(_, r)| r)).collect();
            tx.execute(
                "update job_results r set result = u.result, status = u.status, reason_code = u.code, reason = u.reason
                 from unnest($1::text[], $2::jsonb[], $3::text[], $4::text[], $5::text[]) as u(job_id, result, status, code, reason)
                 where r.job_id = u.job_id",
                &[&ids, &results, &statuses, &codes, &reasons],
            )
            .await?;
            tx.execute(
                "update jobs j set state = u.status from unnest($1::text[], $2::text[]) as u(job_id, status) where j.job_id = u.job_id",
                &[&ids, &statuses],
            )
            .await?;
        }
        Ok(rewritten)
    }

    /// What is stored under a redelivered job's id: its result when the id is this job's (same
    /// tenant, circuit and witness wherever known), a conflict when the id is recorded for
    /// another job (whose result must never be sent to this one), or nothing.
    pub async fn stored_result_for(&self, meta: &JobMeta) -> Result<StoredResult> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "select j.tenant, j.circuit_id, j.witness_sha256, r.result
                 from jobs j left join job_results r on r.job_id = j.job_id where j.job_id = $1",
            )
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&meta.job_id]).await? else {
            return Ok(StoredResult::Nothing);
        };
        let owner = Owner { tenant: row.get(0), circuit_id: row.get(1), witness_sha256: row.get(2) };
        if let Some(why) = conflict(meta, &owner) {
            return Ok(StoredResult::Conflict(why));
        }
        Ok(row.get::<_, Option<serde_json::Value>>(3).map_or(StoredResult::Nothing, StoredResult::Same))
    }

    /// The stored reply message (`job_results.result`) of each of these jobs that has one.
    pub async fn stored_results(&self, job_ids: &[String]) -> Result<HashMap<String, serde_json::Value>> {
        if job_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let client = self.client().await?;
        let stmt = client.prepare_cached("select job_id, result from job_results where job_id = any($1)").await?;
        Ok(client.query(&stmt, &[&job_ids]).await?.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// How many of these jobs have a result row.
    pub async fn count_results(&self, job_ids: &[String]) -> Result<i64> {
        let client = self.client().await?;
        Ok(client.query_one("select count(*) from job_results where job_id = any($1)", &[&job_ids]).await?.get(0))
    }

    /// Those of these jobs that have no result row, in the order given.
    pub async fn missing_results(&self, job_ids: &[String]) -> Result<Vec<String>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "select u.job_id from unnest($1::text[]) with ordinality as u(job_id, i)
                 where not exists (select 1 from job_results r where r.job_id = u.job_id)
                 order by u.i",
                &[&job_ids],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Result, cost and device-second totals over these jobs.
    pub async fn summarize_results(&self, job_ids: &[String]) -> Result<ResultSummary> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "select count(r.job_id),
                        count(r.job_id) filter (where r.status = 'proved'),
                        count(r.job_id) filter (where r.status = 'failed'),
                        coalesce(sum(c.device_seconds), 0)::float8,
                        coalesce(sum(c.usd), 0)::float8
                 from job_results r left join job_costs c on c.job_id = r.job_id
                 where r.job_id = any($1)",
                &[&job_ids],
            )
            .await?;
        Ok(ResultSummary { results: row.get(0), proved: row.get(1), failed: row.get(2), device_seconds: row.get(3), usd: row.get(4) })
    }

    /// One job as `zkq job` shows it: state, timings, batch, device and cost.
    pub async fn job(&self, job_id: &str) -> Result<Option<JobView>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(&format!("{JOB_VIEW_SELECT} where j.job_id = $1")).await?;
        Ok(client.query_opt(&stmt, &[&job_id]).await?.as_ref().map(job_view))
    }

    /// A tenant's jobs, newest submission first (jobs without a submission time last, most
    /// recently updated first), at most `limit`.
    pub async fn jobs(&self, tenant: &str, limit: i64) -> Result<Vec<JobView>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{JOB_VIEW_SELECT} where j.tenant = $1
                 order by j.submitted_at desc nulls last, j.updated_at desc, j.job_id
                 limit $2"
            ))
            .await?;
        Ok(client.query(&stmt, &[&tenant, &limit.max(0)]).await?.iter().map(job_view).collect())
    }
}

/// A failure's code and reason.
fn failure(outcome: &Outcome) -> Option<(ReasonCode, &str)> {
    match outcome {
        Outcome::Proved { .. } => None,
        Outcome::Failed { code, reason } => Some((*code, reason.as_str())),
    }
}

/// `proved` / `failed`: the job's final state and result status.
fn status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Proved { .. } => "proved",
        Outcome::Failed { .. } => "failed",
    }
}
