//! Budget receipts: one signed, hash-chained record per ledger event.
//!
//! Every charge, refund, reset and cap change of a ledger produces a [`Receipt`]. Its JSON
//! serialisation (fields in the order below, as `serde_json` writes them, UTF-8, no
//! whitespace) is the **payload**; the receipt id is the lowercase hex sha256 of exactly those
//! bytes, and the next receipt of the same ledger names it in `prev` — a hash chain (the first
//! receipt's `prev` is 64 zeros, [`crate::ledger::GENESIS`]). The payload is signed as a DSSE
//! envelope (payload type [`RECEIPT_PAYLOAD_TYPE`]; ed25519; `zkq_audit::dsse`), so an auditor
//! checks a receipt with any ed25519 library: rebuild the DSSE pre-authentication encoding of
//! the decoded payload and verify the signature with the public key named by `keyid`
//! (`docs/budgets.md`, "Receipts"). Verifiers hash the payload bytes as received; they never
//! re-serialise.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::epsilon::format_micros;
use crate::ledger::Ledger;

/// DSSE payload type of a budget receipt.
pub const RECEIPT_PAYLOAD_TYPE: &str = "application/vnd.zkq.budget-receipt+json";
/// The `type` field of a version-1 receipt.
pub const RECEIPT_TYPE_V1: &str = "zkq.budget-receipt/v1";

/// What a receipt records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// A proved job's ε, added to the running total.
    Charge,
    /// A reservation given back (the job failed or its reservation expired): the running total
    /// is unchanged.
    Refund,
    /// An operator reset the ledger: the running total becomes 0.
    Reset,
    /// An operator created the ledger or changed its cap, per-job maximum or window.
    Cap,
}

impl ReceiptKind {
    /// The snake-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Charge => "charge",
            ReceiptKind::Refund => "refund",
            ReceiptKind::Reset => "reset",
            ReceiptKind::Cap => "cap",
        }
    }
}

/// One ledger event (the signed payload). Amounts are micro-ε, with the exact decimal ε beside
/// the charged amount for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`RECEIPT_TYPE_V1`].
    #[serde(rename = "type")]
    pub receipt_type: String,
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// The ledger's window in force (`sliding:24h`, `calendar:day`, …, `total`).
    pub window: String,
    /// Position in the ledger's chain, from 1, without gaps.
    pub seq: u64,
    /// What happened.
    pub kind: ReceiptKind,
    /// The amount charged or refunded, micro-ε (0 for resets and cap changes).
    pub epsilon_micro: u64,
    /// The same amount as exact decimal ε (`"0.1"`), or `"0"`.
    pub epsilon: String,
    /// Spent in the window after this event, micro-ε.
    pub running_total_micro: u64,
    /// The cap in force after this event, micro-ε.
    pub cap_micro: u64,
    /// The per-job maximum in force, micro-ε.
    pub per_job_max_micro: Option<u64>,
    /// Reserved by admitted jobs after this event, micro-ε.
    pub reserved_micro: u64,
    /// Charges made at or after this instant count in the running total (RFC 3339, UTC,
    /// microseconds).
    pub counted_since: String,
    /// When (RFC 3339, UTC, microseconds; never earlier than the previous receipt's).
    pub at: String,
    /// The job charged or refunded.
    pub job_id: Option<String>,
    /// sha256 (hex) of the proved job's proof JSON, for charges.
    pub proof_sha256: Option<String>,
    /// Who made an administrative change (resets and cap changes).
    pub actor: Option<String>,
    /// Why (resets, cap changes, refunds).
    pub reason: Option<String>,
    /// The previous receipt's id (sha256 of its payload), or 64 zeros.
    pub prev: String,
}

/// RFC 3339 with microseconds and `Z`, as receipts write times.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An event for [`Receipt::next`]: what happened beyond the ledger's own state.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// Amount, micro-ε (charges, refunds).
    pub epsilon_micro: u64,
    /// Job.
    pub job_id: Option<String>,
    /// Proof digest (charges).
    pub proof_sha256: Option<String>,
    /// Operator.
    pub actor: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

impl Receipt {
    /// The receipt that follows `ledger`'s last one, recording `kind` and `event` against the
    /// ledger as it is *after* the event (running total, cap, reservations), at its clock.
    pub fn next(tenant: &str, purpose: &str, ledger: &Ledger, kind: ReceiptKind, event: Event) -> Receipt {
        Receipt {
            receipt_type: RECEIPT_TYPE_V1.to_owned(),
            tenant: tenant.to_owned(),
            purpose: purpose.to_owned(),
            window: ledger.window.to_string(),
            seq: ledger.seq + 1,
            kind,
            epsilon_micro: event.epsilon_micro,
            epsilon: if event.epsilon_micro == 0 { "0".into() } else { format_micros(event.epsilon_micro) },
            running_total_micro: ledger.spent,
            cap_micro: ledger.cap,
            per_job_max_micro: ledger.per_job_max,
            reserved_micro: ledger.reserved,
            counted_since: rfc3339(ledger.counted_since),
            at: rfc3339(ledger.clock),
            job_id: event.job_id,
            proof_sha256: event.proof_sha256,
            actor: event.actor,
            reason: event.reason,
            prev: ledger.head.clone(),
        }
    }

    /// The payload bytes (what is signed and hashed).
    pub fn payload(&self) -> Vec<u8> {
        // Serialising a struct of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The receipt id of a payload: lowercase hex sha256.
pub fn receipt_id(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// A receipt as issued: payload, id and DSSE envelope.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The receipt.
    pub receipt: Receipt,
    /// sha256 of its payload, hex.
    pub id: String,
    /// The signed envelope.
    pub envelope: zkq_audit::dsse::Envelope,
    /// The signing key's id.
    pub key_id: String,
}

/// Signs `receipt` with `key` and records it as the ledger's head.
pub fn issue(receipt: Receipt, ledger: &mut Ledger, key: &zkq_audit::SigningKey) -> Issued {
    let payload = receipt.payload();
    let id = receipt_id(&payload);
    let envelope = zkq_audit::dsse::Envelope::sign(RECEIPT_PAYLOAD_TYPE, &payload, key);
    ledger.record_receipt(receipt.seq, &id);
    Issued { receipt, id, envelope, key_id: key.key_id().to_string() }
}
