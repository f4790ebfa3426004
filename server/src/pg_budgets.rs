//! The admin pages' budget backend on PostgreSQL: [`BudgetAdmin`] over zkq-budget's
//! operations ([`zkq_budget::pg`]), each change in one transaction with a signed receipt that
//! names the logged-in operator and the reason they gave.

use std::sync::Arc;

use zkq_budget::pg::{self, BudgetSpec};
use zkq_budget::report::eps;
use zkq_budget::{BudgetError, Epsilon};
use zkq_store::Db;

use crate::budget::{AdminError, BlockRow, BudgetAdmin, LedgerRow, ReceiptRow};

/// The ledger in PostgreSQL, signing receipts with `key`.
pub struct PgBudgets {
    db: Db,
    key: Arc<zkq_audit::SigningKey>,
}

impl PgBudgets {
    /// A backend on `db`; registers `key`'s public half (so that exports carry it).
    pub async fn new(db: Db, key: Arc<zkq_audit::SigningKey>) -> Result<PgBudgets, AdminError> {
        let client = db.client().await.map_err(backend)?;
        pg::register_key(&**client, &key.public()).await.map_err(admin)?;
        Ok(PgBudgets { db, key })
    }
}

fn backend(e: impl std::fmt::Display) -> AdminError {
    AdminError::Backend(e.to_string())
}

/// Refusals of the operator's input are shown to them; database failures are not theirs.
fn admin(e: BudgetError) -> AdminError {
    match e {
        BudgetError::Store(e) => backend(e),
        other => AdminError::Invalid(other.to_string()),
    }
}

fn cap(text: &str) -> Result<Epsilon, AdminError> {
    text.trim().parse::<Epsilon>().map_err(|e| AdminError::Invalid(format!("the cap must be a positive decimal number with at most 6 decimals: {e}")))
}

impl BudgetAdmin for PgBudgets {
    async fn ledgers(&self) -> Result<Vec<LedgerRow>, AdminError> {
        let mut client = self.db.client().await.map_err(backend)?;
        let tx = client.transaction().await.map_err(backend)?;
        let views = pg::show(&tx, None).await.map_err(admin)?;
        tx.commit().await.map_err(backend)?;
        Ok(views
            .into_iter()
            .map(|v| LedgerRow {
                window_start: (v.window != "total").then_some(v.counted_since),
                tenant: v.tenant,
                purpose: v.purpose,
                window: v.window,
                cap: eps(v.cap_micro),
                spent: eps(v.spent_micro),
                reserved: eps(v.reserved_micro),
                remaining: eps(v.remaining_micro),
                per_job_max: v.per_job_max_micro.map(eps),
                next_release: v.next_release,
            })
            .collect())
    }

    async fn recent_blocks(&self, limit: usize) -> Result<Vec<BlockRow>, AdminError> {
        let client = self.db.client().await.map_err(backend)?;
        let blocks = pg::recent_blocks(&**client, None, i64::try_from(limit).unwrap_or(i64::MAX)).await.map_err(admin)?;
        Ok(blocks
            .into_iter()
            .map(|b| BlockRow { at: b.at, tenant: b.tenant, purpose: b.purpose, job_id: b.job_id, requested: eps(b.requested_micro), message: b.message })
            .collect())
    }

    async fn recent_receipts(&self, limit: usize) -> Result<Vec<ReceiptRow>, AdminError> {
        let client = self.db.client().await.map_err(backend)?;
        let receipts = pg::recent_receipts(&**client, i64::try_from(limit).unwrap_or(i64::MAX)).await.map_err(admin)?;
        Ok(receipts
            .into_iter()
            .map(|r| {
                // The actor and reason are in the signed payload.
                let payload = receipt_payload(&r.envelope);
                ReceiptRow {
                    at: r.at,
                    receipt_id: r.receipt_id,
                    tenant: r.tenant,
                    purpose: r.purpose,
                    kind: r.kind,
                    epsilon: eps(r.epsilon_micro),
                    running_total: eps(r.running_total_micro),
                    seq: i64::try_from(r.seq).unwrap_or(i64::MAX),
                    job_id: r.job_id,
                    actor: payload.as_ref().and_then(|p| p.actor.clone()),
                    reason: payload.and_then(|p| p.reason),
                }
            })
            .collect())
    }

    async fn set_cap(&self, actor: &str, tenant: &str, purpose: &str, cap_text: &str, reason: &str) -> Result<(), AdminError> {
        let spec = BudgetSpec { tenant: tenant.into(), purpose: purpose.into(), cap: cap(cap_text)?, window: None, per_job_max: None };
        let mut client = self.db.client().await.map_err(backend)?;
        let tx = client.transaction().await.map_err(backend)?;
        pg::set_budget(&tx, &spec, actor, reason, &self.key).await.map_err(admin)?;
        tx.commit().await.map_err(backend)
    }

    async fn reset(&self, actor: &str, tenant: &str, purpose: &str, reason: &str) -> Result<(), AdminError> {
        let mut client = self.db.client().await.map_err(backend)?;
        let tx = client.transaction().await.map_err(backend)?;
        pg::reset(&tx, tenant, purpose, actor, reason, &self.key).await.map_err(admin)?;
        tx.commit().await.map_err(backend)
    }
}

/// The receipt inside a stored DSSE envelope (read for display; verification is offline).
fn receipt_payload(envelope: &serde_json::Value) -> Option<zkq_budget::Receipt> {
    use base64::Engine;
    let payload = envelope.get("payload")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}
