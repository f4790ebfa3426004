//! Attestations: every proved job's signed in-toto statement, appended to the transparency log
//! in the batch commit's own transaction (zkq-audit's `pg::append`; `docs/transparency-log.md`).
//!
//! A statement names the job (id, tenant, purpose), the circuit (id = sha256 of its zkey, and
//! the verifying key's digest), the proof and public signals (as subjects: sha256 of their
//! canonical JSON, RFC 8785), the prover, backend and device, the batch, the cost, the budget receipt and
//! the admission policy's decision. The commit appends after every other write of the batch, so the
//! `log_head` lock that serialises appends is held only for the append and the commit.

use chrono::{DateTime, Utc};
use zkq_audit::statement::{BudgetCharge, CircuitRef, Cost, PolicyDecision, ProofResult, Prover, Statement, Subject};

use super::Result;
use crate::model::{BatchRecord, JobOutcome, Outcome};
use crate::SchedulerError;

/// What signs and where the log is: [`super::Store::with_attestation`].
#[derive(Debug, Clone)]
pub(crate) struct Attestor {
    /// The key (also the budget receipts' key: one key per worker signs what it commits).
    pub(crate) key: std::sync::Arc<zkq_audit::SigningKey>,
    /// The log's origin line in checkpoints.
    pub(crate) origin: std::sync::Arc<str>,
}

/// The prover named in statements.
pub(crate) const PROVER_NAME: &str = "zkq";
/// Its version (the workspace's).
pub(crate) const PROVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The admission decision a statement records: the policy's (the deciding policy versions and
/// the English explanation), or — for a worker running without policies (`--no-policy`) —
/// that identity and budget alone admitted the job.
fn admission_decision(meta: &crate::model::JobMeta) -> PolicyDecision {
    match &meta.policy {
        Some(v) => PolicyDecision {
            decision: v.decision.clone(),
            policy: if v.policies.is_empty() { "zkq:default".into() } else { v.policies.join(", ") },
            reason: v.reason.en.clone(),
        },
        None => PolicyDecision {
            decision: "allow".into(),
            policy: "builtin:identity+budget".into(),
            reason: "the tenant was authenticated by the broker and its privacy budget (if the circuit costs ε) admitted \
                     the job; the worker ran without admission policies"
                .into(),
        },
    }
}

/// The statement of one proved job.
pub(crate) fn statement(o: &JobOutcome, batch: Option<&BatchRecord>, committed_at: DateTime<Utc>) -> Option<Statement> {
    let Outcome::Proved { proof, public_signals } = &o.outcome else { return None };
    // Canonical (RFC 8785) bytes: the stored result goes through `jsonb`, which reorders keys.
    let proof_bytes = zkq_audit::statement::canonical_json(proof);
    let public_bytes = zkq_audit::statement::canonical_json(public_signals);
    let batch = batch.filter(|b| o.batch_id == Some(b.id));
    let circuit_id = o.meta.circuit_id.clone().or_else(|| batch.map(|b| b.circuit_id.clone())).unwrap_or_default();
    let predicate = ProofResult {
        job_id: o.meta.job_id.clone(),
        tenant: o.meta.tenant.clone(),
        purpose: (!o.meta.purpose.is_empty()).then(|| o.meta.purpose.clone()),
        circuit: CircuitRef {
            id: circuit_id,
            name: (!o.meta.circuit_ref.is_empty()).then(|| o.meta.circuit_ref.clone()),
            verifying_key_sha256: batch.and_then(|b| b.verifying_key_sha256.clone()).unwrap_or_default(),
        },
        prover: Prover { name: PROVER_NAME.into(), version: PROVER_VERSION.into() },
        backend: batch.map(|b| b.backend.clone()).unwrap_or_default(),
        device: batch.map(|b| b.device.clone()).unwrap_or_default(),
        batch_id: o.batch_id.map(|b| b.to_string()),
        cost: o.cost.map(|c| Cost { usd: c.usd, device_seconds: c.device_seconds, price_id: c.price_id }),
        budget: o.budget.as_ref().and_then(|b| {
            Some(BudgetCharge { receipt_id: b.receipt_id.clone()?, epsilon: b.charged.clone().unwrap_or_else(|| b.requested.clone()) })
        }),
        policy: admission_decision(&o.meta),
        proved_at: batch.map_or(committed_at, |b| b.finished_at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        committed_at: committed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    };
    let subjects = vec![Subject::sha256("proof.json", &proof_bytes), Subject::sha256("public.json", &public_bytes)];
    Some(Statement::proof_result(subjects, predicate))
}

impl Attestor {
    /// Signs the statements of `proved` (jobs written by this commit whose final outcome is a
    /// proof) and appends them to the log in `tx`, in job-id order.
    pub(crate) async fn append(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        proved: &[&JobOutcome],
        batch: Option<&BatchRecord>,
    ) -> Result<Option<zkq_audit::pg::Appended>> {
        let now = Utc::now();
        let started = std::time::Instant::now();
        let mut entries = Vec::with_capacity(proved.len());
        for o in proved {
            let Some(statement) = statement(o, batch, now) else { continue };
            let envelope = statement.sign(&self.key).map_err(|e| SchedulerError::Invalid(format!("cannot sign the attestation of {}: {e}", o.meta.job_id)))?;
            let entry = serde_json::to_vec(&envelope).map_err(|e| SchedulerError::Invalid(format!("attestation of {}: {e}", o.meta.job_id)))?;
            entries.push(zkq_audit::pg::NewEntry { job_id: o.meta.job_id.clone(), tenant: o.meta.tenant.clone(), entry });
        }
        let signed = started.elapsed();
        let appended = zkq_audit::pg::append(tx, &entries, &self.key, &self.origin, now).await?;
        tracing::debug!(
            entries = entries.len(),
            sign_ms = signed.as_secs_f64() * 1e3,
            append_ms = (started.elapsed() - signed).as_secs_f64() * 1e3,
            "attested and logged"
        );
        Ok(appended)
    }
}
