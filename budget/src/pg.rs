//! The ledger in PostgreSQL: the budget module's own queries (tables created by zkq-store's
//! migration 0006, `store/migrations/0006_budgets.sql`).
//!
//! Every operation that changes a ledger runs inside a transaction the caller owns — the
//! worker's admission, the worker's **batch commit** (so a charge commits with the job's
//! result or not at all), or an administrative command — and starts by locking the ledger's
//! row (`select … for update`). Under READ COMMITTED each later statement takes a fresh
//! snapshot, so once the lock is held every earlier change to that ledger is visible and no
//! other transaction can change it until this one ends: the check "spent + reserved + ε ≤ cap"
//! and the update that follows cannot interleave with another worker's (PostgreSQL manual,
//! "Transaction Isolation", Read Committed). The update is conditional as well, as a second
//! guard. Ledgers are locked in (tenant, purpose) order, job rows before ledgers, so
//! transactions touching several ledgers cannot deadlock one another.
//!
//! Times come from the database's `clock_timestamp()`, not the workers' clocks; a ledger's own
//! clock never goes back ([`Ledger::observe`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::Transaction;

use crate::epsilon::Epsilon;
use crate::error::BudgetError;
use crate::ledger::{sliding_frees_at, Aging, Ledger, Refusal, Shortfall};
use crate::names::{check_purpose, check_reason};
use crate::receipt::{issue, Event, Issued, Receipt, ReceiptKind};
use crate::report::{eps, Block, JobBudget};
use crate::window::Window;

type Result<T> = std::result::Result<T, BudgetError>;

/// A ledger as `zkq budget show` and the admin page show it (micro-ε).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerView {
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// Window spec.
    pub window: String,
    /// Cap.
    pub cap_micro: u64,
    /// Per-job maximum.
    pub per_job_max_micro: Option<u64>,
    /// Spent in the window.
    pub spent_micro: u64,
    /// Held by jobs in progress.
    pub reserved_micro: u64,
    /// cap − spent − reserved (0 when the cap is below).
    pub remaining_micro: u64,
    /// Charges at or after this instant count.
    pub counted_since: DateTime<Utc>,
    /// When some spend next leaves the window: the oldest counted charge's aging time
    /// (sliding) or the next boundary (calendar); `None` for total windows or nothing spent.
    pub next_release: Option<DateTime<Utc>>,
    /// Receipts so far.
    pub seq: u64,
    /// Last receipt id.
    pub head: String,
    /// The ledger's clock (the time this view was taken).
    pub as_of: DateTime<Utc>,
}

/// A ledger locked in the current transaction, brought to now.
struct Locked {
    tenant: String,
    purpose: String,
    ledger: Ledger,
    origin: DateTime<Utc>,
    reset_since: Option<DateTime<Utc>>,
    /// Receipts issued in this transaction, to insert.
    issued: Vec<Issued>,
}

/// The database's clock.
async fn db_now(tx: &Transaction<'_>) -> Result<DateTime<Utc>> {
    Ok(tx.query_one("select clock_timestamp()", &[]).await?.get(0))
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Locks a ledger and brings it to now (sliding charges aged out, calendar periods rolled).
async fn lock(tx: &Transaction<'_>, tenant: &str, purpose: &str) -> Result<Option<Locked>> {
    let Some(row) = tx
        .query_opt(
            "select window_spec, cap_micro, per_job_max_micro, spent_micro, reserved_micro, origin, counted_since, clock, seq, head,
                    reset_since
             from budgets where tenant = $1 and purpose = $2 for update",
            &[&tenant, &purpose],
        )
        .await?
    else {
        return Ok(None);
    };
    let spec: String = row.get(0);
    let window: Window = spec.parse().map_err(|e| inconsistent(tenant, purpose, format!("stored window: {e}")))?;
    let mut ledger = Ledger {
        window,
        cap: u(row.get(1)),
        per_job_max: row.get::<_, Option<i64>>(2).map(u),
        spent: u(row.get(3)),
        reserved: u(row.get(4)),
        counted_since: row.get(6),
        clock: row.get(7),
        seq: u(row.get(8)),
        head: row.get(9),
    };
    let now = ledger.observe(db_now(tx).await?);
    let aging = ledger.aging(now);
    let aged = match aging {
        Aging::Sliding { from, to } => u(tx
            .query_one(
                "select coalesce(sum(epsilon_micro), 0)::int8 from budget_receipts
                 where tenant = $1 and purpose = $2 and kind = 'charge' and at >= $3 and at < $4",
                &[&tenant, &purpose, &from, &to],
            )
            .await?
            .get(0)),
        _ => 0,
    };
    ledger.advance(aging, aged).map_err(|why| inconsistent(tenant, purpose, why))?;
    Ok(Some(Locked { tenant: tenant.into(), purpose: purpose.into(), ledger, origin: row.get(5), reset_since: row.get(10), issued: Vec::new() }))
}

fn inconsistent(tenant: &str, purpose: &str, why: String) -> BudgetError {
    BudgetError::Inconsistent { tenant: tenant.into(), purpose: purpose.into(), why }
}

impl Locked {
    fn receipt(&mut self, kind: ReceiptKind, event: Event, key: &zkq_audit::SigningKey) -> String {
        let r = Receipt::next(&self.tenant, &self.purpose, &self.ledger, kind, event);
        let issued = issue(r, &mut self.ledger, key);
        let id = issued.id.clone();
        self.issued.push(issued);
        id
    }

    /// Writes the ledger back (a second guard: spent + reserved may only exceed the cap when
    /// the cap was lowered below them, never because of a reservation) and inserts its receipts.
    async fn save(self, tx: &Transaction<'_>) -> Result<()> {
        let l = &self.ledger;
        let n = tx
            .execute(
                "update budgets set spent_micro = $3::int8, reserved_micro = $4::int8, counted_since = $5, clock = $6, seq = $7, head = $8,
                        cap_micro = $9::int8, per_job_max_micro = $10, window_spec = $11, reset_since = $12, updated_at = now()
                 where tenant = $1 and purpose = $2
                   and ($3::int8 + $4::int8 <= $9::int8 or $3::int8 + $4::int8 <= spent_micro + reserved_micro or $3::int8 <= spent_micro)",
                &[
                    &self.tenant,
                    &self.purpose,
                    &i(l.spent),
                    &i(l.reserved),
                    &l.counted_since,
                    &l.clock,
                    &i(l.seq),
                    &l.head,
                    &i(l.cap),
                    &l.per_job_max.map(i),
                    &l.window.to_string(),
                    &self.reset_since,
                ],
            )
            .await?;
        if n != 1 {
            return Err(inconsistent(&self.tenant, &self.purpose, "the guarded update of the ledger matched no row".into()));
        }
        if !self.issued.is_empty() {
            let stmt = tx
                .prepare(
                    "insert into budget_receipts (receipt_id, tenant, purpose, seq, kind, epsilon_micro, running_total_micro, cap_micro,
                                                  job_id, at, key_id, envelope)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .await?;
            for r in &self.issued {
                let at = DateTime::parse_from_rfc3339(&r.receipt.at).map(|t| t.with_timezone(&Utc)).unwrap_or(l.clock);
                let envelope = serde_json::to_value(&r.envelope).unwrap_or(serde_json::Value::Null);
                tx.execute(
                    &stmt,
                    &[
                        &r.id,
                        &self.tenant,
                        &self.purpose,
                        &i(r.receipt.seq),
                        &r.receipt.kind.as_str(),
                        &i(r.receipt.epsilon_micro),
                        &i(r.receipt.running_total_micro),
                        &i(r.receipt.cap_micro),
                        &r.receipt.job_id,
                        &at,
                        &r.key_id,
                        &envelope,
                    ],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// When enough frees up for `s` (sliding: as counted charges age; calendar: the boundary).
    async fn frees_at(&self, tx: &Transaction<'_>, s: &Shortfall) -> Result<Option<DateTime<Utc>>> {
        let l = &self.ledger;
        if s.requested > s.cap || s.missing() == 0 {
            return Ok(None);
        }
        if let Some(length) = l.window.sliding_length() {
            if s.missing() > s.spent {
                return Ok(None);
            }
            let rows = tx
                .query(
                    "select at, epsilon_micro from budget_receipts
                     where tenant = $1 and purpose = $2 and kind = 'charge' and at >= $3 order by at, seq limit 10000",
                    &[&self.tenant, &self.purpose, &l.counted_since],
                )
                .await?;
            let charges: Vec<(DateTime<Utc>, u64)> = rows.iter().map(|r| (r.get(0), u(r.get(1)))).collect();
            return Ok(sliding_frees_at(&charges, s.missing(), length));
        }
        Ok(l.window.next_boundary(l.clock))
    }

    fn block(&self, s: Shortfall, frees_at: Option<DateTime<Utc>>, cap_lowered: bool) -> Block {
        Block {
            tenant: self.tenant.clone(),
            purpose: self.purpose.clone(),
            window: self.ledger.window,
            shortfall: s,
            frees_at,
            next_reset: self.ledger.next_reset(self.ledger.clock),
            cap_lowered,
        }
    }

    fn view(&self, next_release: Option<DateTime<Utc>>) -> LedgerView {
        let l = &self.ledger;
        LedgerView {
            tenant: self.tenant.clone(),
            purpose: self.purpose.clone(),
            window: l.window.to_string(),
            cap_micro: l.cap,
            per_job_max_micro: l.per_job_max,
            spent_micro: l.spent,
            reserved_micro: l.reserved,
            remaining_micro: l.remaining(),
            counted_since: l.counted_since,
            next_release,
            seq: l.seq,
            head: l.head.clone(),
            as_of: l.clock,
        }
    }

    async fn next_release(&self, tx: &Transaction<'_>) -> Result<Option<DateTime<Utc>>> {
        let l = &self.ledger;
        if let Some(length) = l.window.sliding_length() {
            let oldest: Option<DateTime<Utc>> = tx
                .query_one(
                    "select min(at) from budget_receipts where tenant = $1 and purpose = $2 and kind = 'charge' and at >= $3",
                    &[&self.tenant, &self.purpose, &l.counted_since],
                )
                .await?
                .get(0);
            return Ok(oldest.map(|t| t + length));
        }
        Ok(l.window.next_boundary(l.clock))
    }

    /// The result's `budget` object after a charge.
    fn charged(&self, requested: u64, receipt_id: String) -> JobBudget {
        let l = &self.ledger;
        JobBudget {
            purpose: self.purpose.clone(),
            window: l.window.to_string(),
            requested: eps(requested),
            charged: Some(eps(requested)),
            receipt_id: Some(receipt_id),
            cap: eps(l.cap),
            spent: eps(l.spent),
            reserved: eps(l.reserved),
            remaining: eps(l.remaining()),
            frees_at: None,
            next_reset: l.next_reset(l.clock).map(crate::receipt::rfc3339),
            contact: None,
        }
    }
}

/// A job's ε to hold at admission or settle at commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCharge {
    /// Tenant (authenticated).
    pub tenant: String,
    /// Job id.
    pub job_id: String,
    /// Purpose.
    pub purpose: String,
    /// ε, micro.
    pub epsilon: Epsilon,
}

/// What admission found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The ε is held for the job until its result (or failure) commits, or the hold expires.
    Reserved(LedgerView),
    /// An earlier delivery of the same job holds it already (a redelivery): kept, its expiry
    /// renewed — never held twice.
    AlreadyHeld(LedgerView),
    /// The job was charged already (its result is committed).
    AlreadyCharged,
    /// The tenant has no budget for this purpose.
    UnknownPurpose,
    /// More than the ledger's per-job maximum.
    PerJobMax {
        /// The maximum, micro-ε.
        max: u64,
        /// Asked, micro-ε.
        requested: u64,
    },
    /// Not enough budget left: the refusal, with when it frees up.
    Blocked(Block),
    /// The job id holds a reservation for another purpose or amount.
    Conflict(String),
}

/// Reserves `job.epsilon` for the job in `tx` (admission): a conditional hold that can never
/// take spent + reserved past the cap. Reservations expire after `ttl` (then reclaimed by
/// [`reclaim_expired`]); a blocked job is recorded in `budget_blocks`.
pub async fn reserve(tx: &Transaction<'_>, job: &JobCharge, worker_id: &str, ttl: Duration) -> Result<Admission> {
    let Some(mut locked) = lock(tx, &job.tenant, &job.purpose).await? else {
        return Ok(Admission::UnknownPurpose);
    };
    let x = job.epsilon.micros();
    let now = locked.ledger.clock;
    let held = tx
        .query_opt(
            "select purpose, epsilon_micro from budget_reservations where tenant = $1 and job_id = $2 for update",
            &[&job.tenant, &job.job_id],
        )
        .await?;
    if let Some(row) = held {
        let (purpose, micro): (String, i64) = (row.get(0), row.get(1));
        if purpose != job.purpose || u(micro) != x {
            return Ok(Admission::Conflict(format!(
                "job id {} already holds {} ε of purpose {purpose:?}; a job id names one job (same purpose and ε)",
                job.job_id,
                eps(u(micro))
            )));
        }
        tx.execute(
            "update budget_reservations set expires_at = $3, worker_id = $4 where tenant = $1 and job_id = $2",
            &[&job.tenant, &job.job_id, &(now + ttl), &worker_id],
        )
        .await?;
        let view = locked.view(None);
        locked.save(tx).await?;
        return Ok(Admission::AlreadyHeld(view));
    }
    let charged = tx
        .query_opt("select 1 from budget_receipts where tenant = $1 and job_id = $2 and kind = 'charge'", &[&job.tenant, &job.job_id])
        .await?;
    if charged.is_some() {
        locked.save(tx).await?;
        return Ok(Admission::AlreadyCharged);
    }
    match locked.ledger.reserve(x) {
        Ok(()) => {
            tx.execute(
                "insert into budget_reservations (tenant, job_id, purpose, epsilon_micro, reserved_at, expires_at, worker_id)
                 values ($1, $2, $3, $4, $5, $6, $7)",
                &[&job.tenant, &job.job_id, &job.purpose, &i(x), &now, &(now + ttl), &worker_id],
            )
            .await?;
            let view = locked.view(None);
            locked.save(tx).await?;
            Ok(Admission::Reserved(view))
        }
        Err(Refusal::PerJobMax { max, requested }) => {
            locked.save(tx).await?;
            Ok(Admission::PerJobMax { max, requested })
        }
        Err(Refusal::Exhausted(s)) => {
            let frees_at = locked.frees_at(tx, &s).await?;
            let block = locked.block(s, frees_at, false);
            record_block(tx, job, &block).await?;
            locked.save(tx).await?;
            Ok(Admission::Blocked(block))
        }
    }
}

async fn record_block(tx: &Transaction<'_>, job: &JobCharge, block: &Block) -> Result<()> {
    let s = &block.shortfall;
    tx.execute(
        "insert into budget_blocks (tenant, purpose, job_id, requested_micro, spent_micro, reserved_micro, cap_micro, frees_at, message)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&job.tenant, &job.purpose, &job.job_id, &i(s.requested), &i(s.spent), &i(s.reserved), &i(s.cap), &block.frees_at, &block.message("an operator")],
    )
    .await?;
    Ok(())
}

/// How a job's hold is settled at commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The job and its ε.
    pub job: JobCharge,
    /// `Some(sha256 of the proof JSON)`: the job was proved and its result is being written
    /// now — charge it. `None`: it failed, or its result was written before — give its hold
    /// back.
    pub proof_sha256: Option<String>,
    /// Why a hold is given back (recorded in the refund receipt).
    pub reason: String,
}

/// What [`settle`] did for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Charged: the result's `budget` object (with the receipt id).
    Charged(JobBudget),
    /// Its hold was given back (refund receipt).
    Refunded,
    /// Nothing to do: no hold, or the job was charged before.
    Nothing,
    /// The charge was refused (the cap was lowered while the job was proved, or its hold
    /// expired and the budget is gone): the job must fail `budget_exhausted`, its proof
    /// withheld; its hold was given back.
    Refused(Block),
}

/// Settles holds inside the batch commit's transaction: proved jobs are charged (their hold
/// becomes spend, with a charge receipt), failed ones refunded. Exactly once per job: the hold
/// row is deleted by the transaction that settles it, and a charge receipt is unique per
/// tenant and job. Returns one [`Settled`] per settlement, in order.
pub async fn settle(tx: &Transaction<'_>, items: &[Settlement], key: &zkq_audit::SigningKey) -> Result<Vec<Settled>> {
    let mut out = vec![Settled::Nothing; items.len()];
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (n, s) in items.iter().enumerate() {
        groups.entry((s.job.tenant.as_str(), s.job.purpose.as_str())).or_default().push(n);
    }
    for ((tenant, purpose), members) in groups {
        // No ledger, no hold (holds reference their ledger): a job refused for its purpose.
        let Some(mut locked) = lock(tx, tenant, purpose).await? else { continue };
        for n in members {
            let s = &items[n];
            let held: Option<u64> = tx
                .query_opt(
                    "delete from budget_reservations where tenant = $1 and job_id = $2 returning epsilon_micro",
                    &[&s.job.tenant, &s.job.job_id],
                )
                .await?
                .map(|r| u(r.get(0)));
            let Some(proof) = &s.proof_sha256 else {
                if let Some(x) = held {
                    locked.ledger.release(x);
                    locked.receipt(ReceiptKind::Refund, Event { epsilon_micro: x, job_id: Some(s.job.job_id.clone()), reason: Some(s.reason.clone()), ..Event::default() }, key);
                    out[n] = Settled::Refunded;
                }
                continue;
            };
            let charged = tx
                .query_opt("select 1 from budget_receipts where tenant = $1 and job_id = $2 and kind = 'charge'", &[&s.job.tenant, &s.job.job_id])
                .await?
                .is_some()
                || locked.issued.iter().any(|r| r.receipt.kind == ReceiptKind::Charge && r.receipt.job_id.as_deref() == Some(&s.job.job_id));
            if charged {
                if let Some(x) = held {
                    locked.ledger.release(x);
                    locked.receipt(ReceiptKind::Refund, Event { epsilon_micro: x, job_id: Some(s.job.job_id.clone()), reason: Some("the job was charged before".into()), ..Event::default() }, key);
                }
                continue;
            }
            let x = held.unwrap_or(s.job.epsilon.micros());
            let result = match held {
                Some(x) => locked.ledger.charge_reserved(x),
                None => locked.ledger.charge_direct(x),
            };
            match result {
                Ok(()) => {
                    let event = Event { epsilon_micro: x, job_id: Some(s.job.job_id.clone()), proof_sha256: Some(proof.clone()), ..Event::default() };
                    let id = locked.receipt(ReceiptKind::Charge, event, key);
                    out[n] = Settled::Charged(locked.charged(x, id));
                }
                Err(refusal) => {
                    let short = match refusal {
                        Refusal::Exhausted(short) => short,
                        Refusal::PerJobMax { requested, .. } => Shortfall { cap: locked.ledger.cap, spent: locked.ledger.spent, reserved: locked.ledger.reserved, requested },
                    };
                    if let Some(x) = held {
                        locked.ledger.release(x);
                        locked.receipt(ReceiptKind::Refund, Event { epsilon_micro: x, job_id: Some(s.job.job_id.clone()), reason: Some("the charge no longer fits under the cap".into()), ..Event::default() }, key);
                    }
                    let frees_at = locked.frees_at(tx, &short).await?;
                    let block = locked.block(short, frees_at, held.is_some());
                    record_block(tx, &s.job, &block).await?;
                    out[n] = Settled::Refused(block);
                }
            }
        }
        locked.save(tx).await?;
    }
    Ok(out)
}

/// Gives back holds whose expiry passed (their worker died, or the job was lost), at most
/// `limit` per call, with refund receipts. The job, if it is still delivered somewhere, is
/// then charged directly when its result commits — if the budget still allows it.
pub async fn reclaim_expired(tx: &Transaction<'_>, key: &zkq_audit::SigningKey, limit: i64) -> Result<u64> {
    let rows = tx
        .query(
            "select tenant, purpose, job_id from budget_reservations where expires_at < clock_timestamp()
             order by tenant, purpose, job_id limit $1",
            &[&limit],
        )
        .await?;
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in &rows {
        groups.entry((r.get(0), r.get(1))).or_default().push(r.get(2));
    }
    let mut reclaimed = 0;
    for ((tenant, purpose), jobs) in groups {
        let Some(mut locked) = lock(tx, &tenant, &purpose).await? else { continue };
        for job in jobs {
            // Re-checked under the ledger's lock: a settle may have taken it meanwhile.
            let gone = tx
                .query_opt(
                    "delete from budget_reservations where tenant = $1 and job_id = $2 and expires_at < clock_timestamp()
                     returning epsilon_micro",
                    &[&tenant, &job],
                )
                .await?;
            if let Some(row) = gone {
                let x = u(row.get(0));
                locked.ledger.release(x);
                let event = Event { epsilon_micro: x, job_id: Some(job), reason: Some("the reservation expired".into()), ..Event::default() };
                locked.receipt(ReceiptKind::Refund, event, key);
                reclaimed += 1;
            }
        }
        locked.save(tx).await?;
    }
    Ok(reclaimed)
}

/// A ledger's definition, for [`set_budget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetSpec {
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// Cap.
    pub cap: Epsilon,
    /// Window (`None`: keep the existing one; required for a new ledger).
    pub window: Option<Window>,
    /// Per-job maximum (`None`: keep; `Some(None)`: remove).
    pub per_job_max: Option<Option<Epsilon>>,
}

/// Creates a ledger or changes its cap, window or per-job maximum, with a signed `cap` receipt
/// naming `actor` and `reason`. A changed window recounts the charges that fall in it.
pub async fn set_budget(tx: &Transaction<'_>, spec: &BudgetSpec, actor: &str, reason: &str, key: &zkq_audit::SigningKey) -> Result<LedgerView> {
    check_purpose(&spec.purpose)?;
    check_reason(reason)?;
    if let Some(Some(max)) = spec.per_job_max {
        if max > spec.cap {
            return Err(BudgetError::Invalid(format!("the per-job maximum {max} ε is larger than the cap {} ε", spec.cap)));
        }
    }
    let locked = match lock(tx, &spec.tenant, &spec.purpose).await? {
        Some(l) => Some(l),
        None => {
            let Some(window) = spec.window else {
                return Err(BudgetError::Invalid(format!(
                    "tenant {:?} has no budget for purpose {:?} yet: give its --window",
                    spec.tenant, spec.purpose
                )));
            };
            let tenant = tx.query_opt("select 1 from tenants where name = $1 and removed_at is null", &[&spec.tenant]).await?;
            if tenant.is_none() {
                return Err(BudgetError::UnknownTenant(spec.tenant.clone()));
            }
            let now = db_now(tx).await?;
            let ledger = Ledger::new(window, spec.cap.micros(), spec.per_job_max.flatten().map(Epsilon::micros), now);
            let inserted = tx
                .execute(
                    "insert into budgets (tenant, purpose, window_spec, cap_micro, per_job_max_micro, origin, counted_since, clock, head)
                     values ($1, $2, $3, $4, $5, $6, $6, $7, $8) on conflict do nothing",
                    &[&spec.tenant, &spec.purpose, &window.to_string(), &spec.cap.db(), &ledger.per_job_max.map(i), &ledger.counted_since, &ledger.clock, &ledger.head],
                )
                .await?;
            if inserted == 0 {
                None // created concurrently: lock it below
            } else {
                lock(tx, &spec.tenant, &spec.purpose).await?
            }
        }
    };
    let mut locked = match locked {
        Some(l) => l,
        None => lock(tx, &spec.tenant, &spec.purpose).await?.ok_or_else(|| BudgetError::UnknownBudget { tenant: spec.tenant.clone(), purpose: spec.purpose.clone() })?,
    };
    if let Some(w) = spec.window.filter(|w| *w != locked.ledger.window) {
        // Recount under the new window: charges at or after max(its start, the last reset).
        let now = locked.ledger.clock;
        let start = w.start(now).unwrap_or(locked.origin);
        let since = locked.reset_since.map_or(start, |r| r.max(start));
        let spent: i64 = tx
            .query_one(
                "select coalesce(sum(epsilon_micro), 0)::int8 from budget_receipts
                 where tenant = $1 and purpose = $2 and kind = 'charge' and at >= $3",
                &[&spec.tenant, &spec.purpose, &since],
            )
            .await?
            .get(0);
        locked.ledger.window = w;
        locked.ledger.counted_since = since;
        locked.ledger.spent = u(spent);
    }
    locked.ledger.cap = spec.cap.micros();
    if let Some(max) = spec.per_job_max {
        locked.ledger.per_job_max = max.map(Epsilon::micros);
    }
    locked.receipt(ReceiptKind::Cap, Event { actor: Some(actor.into()), reason: Some(reason.into()), ..Event::default() }, key);
    let next = locked.next_release(tx).await?;
    let view = locked.view(next);
    locked.save(tx).await?;
    Ok(view)
}

/// Resets a ledger: spent becomes 0, charges so far never count again; a signed `reset`
/// receipt names `actor` and `reason`. Holds of jobs in progress stay.
pub async fn reset(tx: &Transaction<'_>, tenant: &str, purpose: &str, actor: &str, reason: &str, key: &zkq_audit::SigningKey) -> Result<LedgerView> {
    check_reason(reason)?;
    let mut locked = lock(tx, tenant, purpose).await?.ok_or_else(|| BudgetError::UnknownBudget { tenant: tenant.into(), purpose: purpose.into() })?;
    let now = locked.ledger.clock;
    locked.ledger.reset(now);
    locked.reset_since = Some(locked.ledger.counted_since);
    locked.receipt(ReceiptKind::Reset, Event { actor: Some(actor.into()), reason: Some(reason.into()), ..Event::default() }, key);
    let view = locked.view(None);
    locked.save(tx).await?;
    Ok(view)
}

/// Every ledger (of one tenant, or all), brought to now, in (tenant, purpose) order.
pub async fn show(tx: &Transaction<'_>, tenant: Option<&str>) -> Result<Vec<LedgerView>> {
    let keys = tx
        .query("select tenant, purpose from budgets where $1::text is null or tenant = $1 order by tenant, purpose", &[&tenant])
        .await?;
    let mut out = Vec::with_capacity(keys.len());
    for k in &keys {
        let (t, p): (String, String) = (k.get(0), k.get(1));
        if let Some(locked) = lock(tx, &t, &p).await? {
            let next = locked.next_release(tx).await?;
            out.push(locked.view(next));
            locked.save(tx).await?;
        }
    }
    Ok(out)
}

/// Does the tenant have a budget for this purpose? (purpose binding, for jobs that charge
/// nothing).
pub async fn has_budget(client: &impl tokio_postgres::GenericClient, tenant: &str, purpose: &str) -> Result<bool> {
    Ok(client.query_opt("select 1 from budgets where tenant = $1 and purpose = $2", &[&tenant, &purpose]).await?.is_some())
}

/// A stored receipt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredReceipt {
    /// Id.
    pub receipt_id: String,
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// Chain position.
    pub seq: u64,
    /// Kind.
    pub kind: String,
    /// Amount, micro-ε.
    pub epsilon_micro: u64,
    /// Running total after it, micro-ε.
    pub running_total_micro: u64,
    /// Cap in force, micro-ε.
    pub cap_micro: u64,
    /// Job.
    pub job_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// Signing key.
    pub key_id: String,
    /// DSSE envelope.
    pub envelope: serde_json::Value,
}

fn stored(r: &tokio_postgres::Row) -> StoredReceipt {
    StoredReceipt {
        receipt_id: r.get(0),
        tenant: r.get(1),
        purpose: r.get(2),
        seq: u(r.get(3)),
        kind: r.get(4),
        epsilon_micro: u(r.get(5)),
        running_total_micro: u(r.get(6)),
        cap_micro: u(r.get(7)),
        job_id: r.get(8),
        at: r.get(9),
        key_id: r.get(10),
        envelope: r.get(11),
    }
}

const RECEIPT_COLUMNS: &str = "receipt_id, tenant, purpose, seq, kind, epsilon_micro, running_total_micro, cap_micro, job_id, at, key_id, envelope";

/// A tenant's receipts up to `to` (every ledger's chain from its first receipt), in
/// (purpose, seq) order.
pub async fn receipts(client: &impl tokio_postgres::GenericClient, tenant: &str, to: Option<DateTime<Utc>>) -> Result<Vec<StoredReceipt>> {
    let rows = client
        .query(
            &format!("select {RECEIPT_COLUMNS} from budget_receipts where tenant = $1 and ($2::timestamptz is null or at <= $2) order by purpose, seq"),
            &[&tenant, &to],
        )
        .await?;
    Ok(rows.iter().map(stored).collect())
}

/// The receipt with this id (the auditor API), if any.
pub async fn receipt(client: &impl tokio_postgres::GenericClient, receipt_id: &str) -> Result<Option<StoredReceipt>> {
    let row = client.query_opt(&format!("select {RECEIPT_COLUMNS} from budget_receipts where receipt_id = $1"), &[&receipt_id]).await?;
    Ok(row.as_ref().map(stored))
}

/// The newest receipts of every ledger (the admin page).
pub async fn recent_receipts(client: &impl tokio_postgres::GenericClient, limit: i64) -> Result<Vec<StoredReceipt>> {
    let rows = client.query(&format!("select {RECEIPT_COLUMNS} from budget_receipts order by at desc, seq desc limit $1"), &[&limit]).await?;
    Ok(rows.iter().map(stored).collect())
}

/// A recorded block.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// Job.
    pub job_id: String,
    /// Asked, micro-ε.
    pub requested_micro: u64,
    /// The message.
    pub message: String,
}

/// The newest blocks (the admin page, `zkq budget show`).
pub async fn recent_blocks(client: &impl tokio_postgres::GenericClient, tenant: Option<&str>, limit: i64) -> Result<Vec<BlockRecord>> {
    let rows = client
        .query(
            "select at, tenant, purpose, job_id, requested_micro, message from budget_blocks
             where $1::text is null or tenant = $1 order by at desc, id desc limit $2",
            &[&tenant, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| BlockRecord { at: r.get(0), tenant: r.get(1), purpose: r.get(2), job_id: r.get(3), requested_micro: u(r.get(4)), message: r.get(5) })
        .collect())
}

/// Registers a signing key's public half (idempotent), so that exports carry it.
pub async fn register_key(client: &impl tokio_postgres::GenericClient, key: &zkq_audit::PublicKey) -> Result<()> {
    client
        .execute(
            "insert into signing_keys (key_id, public_key_hex) values ($1, $2) on conflict (key_id) do nothing",
            &[&key.key_id().to_string(), &key.to_hex()],
        )
        .await?;
    Ok(())
}

/// Marks a key retired now (it stays for verifying what it signed).
pub async fn retire_key(client: &impl tokio_postgres::GenericClient, key_id: &str) -> Result<u64> {
    Ok(client.execute("update signing_keys set retired_at = now() where key_id = $1 and retired_at is null", &[&key_id]).await?)
}

/// Every registered public key with its validity (`created_at`, `retired_at`).
pub async fn keys(client: &impl tokio_postgres::GenericClient) -> Result<Vec<(String, String, DateTime<Utc>, Option<DateTime<Utc>>)>> {
    let rows = client.query("select key_id, public_key_hex, created_at, retired_at from signing_keys order by created_at, key_id", &[]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}
