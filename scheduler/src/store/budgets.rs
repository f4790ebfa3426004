//! Privacy-budget holds at admission, and reclaiming expired ones: zkq-budget's operations
//! ([`zkq_budget::pg`]) run in transactions of this pool. Settlement happens in the batch
//! commit (`jobs.rs`), in the commit's own transaction.

use chrono::Duration;
use zkq_budget::pg::{self, Admission, JobCharge};

use super::{retryable, Result, Store, TRANSACTION_ATTEMPTS};
use crate::SchedulerError;

impl Store {
    /// Holds `job.epsilon` of its purpose's budget for the job (admission), in one transaction
    /// (retried whole after a deadlock or serialization failure).
    pub async fn reserve_budget(&self, job: &JobCharge, worker_id: &str, ttl: Duration) -> Result<Admission> {
        let mut attempt = 1;
        loop {
            let run = async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let admission = pg::reserve(&tx, job, worker_id, ttl).await?;
                tx.commit().await?;
                Ok::<_, SchedulerError>(admission)
            };
            match run.await {
                Err(e) if attempt < TRANSACTION_ATTEMPTS && retryable(&e) => attempt += 1,
                other => return other,
            }
        }
    }

    /// Does the tenant have a budget for this purpose (purpose binding of jobs that charge
    /// nothing)?
    pub async fn has_budget(&self, tenant: &str, purpose: &str) -> Result<bool> {
        let client = self.client().await?;
        Ok(pg::has_budget(&**client, tenant, purpose).await?)
    }

    /// Gives back holds whose expiry passed (at most `limit`), with refund receipts.
    pub async fn reclaim_budget_holds(&self, limit: i64) -> Result<u64> {
        // Without a key no hold was ever charged by this handle; nothing to sign refunds with.
        let Some(key) = self.signing_key.clone() else { return Ok(0) };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = pg::reclaim_expired(&tx, &key, limit).await?;
        tx.commit().await?;
        Ok(n)
    }
}
