//! Offline verification of receipts (`zkq budget receipts verify`), pure: no database.
//!
//! For each ledger (tenant × purpose) the receipts are replayed in chain order and every one
//! must pass, else verification stops at the **first bad receipt** and names it:
//! 1. its DSSE envelope verifies ([`zkq_audit::dsse`]) with a key of the key ring, with payload
//!    type [`RECEIPT_PAYLOAD_TYPE`], and its id is the sha256 of the payload;
//! 2. chain: `seq` follows the previous receipt's (the first is 1 and names 64 zeros as
//!    `prev`), `prev` is the previous receipt's id, `at` never goes back;
//! 3. window: `counted_since` is exactly where counting must start at `at` — the window's
//!    start, or just after the last reset if later (a ledger cannot age charges early);
//! 4. totals: `running_total_micro` equals the sum of the chain's charges made at or after
//!    `counted_since`; a reset's is 0; a charge's never exceeds its `cap_micro`;
//! 5. fields: a charge names its job and proof digest and charges more than 0, a refund its
//!    job; a reset or cap change names its actor and reason; a job is charged at most once.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ledger::GENESIS;
use crate::receipt::{receipt_id, Receipt, ReceiptKind, RECEIPT_PAYLOAD_TYPE, RECEIPT_TYPE_V1};
use crate::window::Window;

/// One line of `receipts.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptLine {
    /// sha256 of the payload, hex.
    pub receipt_id: String,
    /// The signed receipt.
    pub envelope: zkq_audit::dsse::Envelope,
}

/// The first receipt that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("receipt on line {line}{at}: {why}")]
pub struct BadReceipt {
    /// 1-based line in `receipts.jsonl`.
    pub line: usize,
    /// ` (tenant …, purpose …, seq …)` when the payload could be read.
    pub at: String,
    /// What is wrong.
    pub why: String,
}

/// What a verified set of receipts holds, per ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerSummary {
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// Receipts.
    pub receipts: u64,
    /// Charges.
    pub charges: u64,
    /// Refunds.
    pub refunds: u64,
    /// Resets.
    pub resets: u64,
    /// Cap changes.
    pub cap_changes: u64,
    /// Sum of all charges, micro-ε.
    pub charged_micro: u64,
    /// The last receipt's running total, micro-ε.
    pub running_total_micro: u64,
    /// The last receipt's cap, micro-ε.
    pub cap_micro: u64,
    /// The last receipt's seq.
    pub last_seq: u64,
    /// The last receipt's id.
    pub head: String,
}

/// Replay state of one ledger.
struct Replay {
    summary: LedgerSummary,
    prev_at: Option<DateTime<Utc>>,
    /// Charges so far: times (non-decreasing) and prefix sums of amounts.
    charge_at: Vec<DateTime<Utc>>,
    prefix: Vec<u64>,
    /// Counting start set by the last reset.
    reset_since: Option<DateTime<Utc>>,
    /// The first receipt's counting start (a total window's origin).
    origin: Option<DateTime<Utc>>,
    charged_jobs: HashSet<String>,
}

fn parse_time(s: &str, what: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| format!("{what} {s:?} is not an RFC 3339 time"))
}

/// Verifies `receipts.jsonl` text against `ring`. Receipts of one ledger must appear in chain
/// order and start at seq 1 (an export always includes a ledger's chain from its start);
/// ledgers may interleave.
pub fn verify_receipts(text: &str, ring: &zkq_audit::KeyRing) -> Result<Vec<LedgerSummary>, BadReceipt> {
    let mut ledgers: BTreeMap<(String, String), Replay> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let bad = |at: String, why: String| BadReceipt { line, at, why };
        if raw.trim().is_empty() {
            return Err(bad(String::new(), "empty line".into()));
        }
        let parsed: ReceiptLine = serde_json::from_str(raw).map_err(|e| bad(String::new(), format!("not a receipt line: {e}")))?;
        let verified = parsed.envelope.verify(ring).map_err(|e| bad(String::new(), format!("signature: {e}")))?;
        if verified.payload_type != RECEIPT_PAYLOAD_TYPE {
            return Err(bad(String::new(), format!("payload type {:?} is not {RECEIPT_PAYLOAD_TYPE}", verified.payload_type)));
        }
        let id = receipt_id(&verified.payload);
        let r: Receipt = serde_json::from_slice(&verified.payload).map_err(|e| bad(String::new(), format!("payload is not a receipt: {e}")))?;
        let at_text = format!(" (tenant {:?}, purpose {:?}, seq {})", r.tenant, r.purpose, r.seq);
        let fail = |why: String| Err(bad(at_text.clone(), why));
        if id != parsed.receipt_id {
            return fail(format!("receipt_id {} is not the sha256 of its payload ({id})", parsed.receipt_id));
        }
        if r.receipt_type != RECEIPT_TYPE_V1 {
            return fail(format!("type {:?} is not {RECEIPT_TYPE_V1}", r.receipt_type));
        }
        let key = (r.tenant.clone(), r.purpose.clone());
        let replay = ledgers.entry(key).or_insert_with(|| Replay {
            summary: LedgerSummary { tenant: r.tenant.clone(), purpose: r.purpose.clone(), head: GENESIS.into(), ..Default::default() },
            prev_at: None,
            charge_at: Vec::new(),
            prefix: vec![0],
            reset_since: None,
            origin: None,
            charged_jobs: HashSet::new(),
        });
        if let Err(why) = replay.step(&r, &id) {
            return fail(why);
        }
    }
    Ok(ledgers.into_values().map(|r| r.summary).collect())
}

impl Replay {
    fn step(&mut self, r: &Receipt, id: &str) -> Result<(), String> {
        let s = &mut self.summary;
        // 2. Chain.
        if r.seq != s.last_seq + 1 {
            return Err(format!("seq {} does not follow seq {} (a receipt is missing, repeated or out of order)", r.seq, s.last_seq));
        }
        if r.prev != s.head {
            return Err(format!("prev {} is not the previous receipt's id {}", r.prev, s.head));
        }
        let at = parse_time(&r.at, "at")?;
        if self.prev_at.is_some_and(|p| at < p) {
            return Err(format!("at {} is earlier than the previous receipt's", r.at));
        }
        let since = parse_time(&r.counted_since, "counted_since")?;
        let window: Window = r.window.parse().map_err(|e| format!("{e}"))?;
        // 3. Window.
        if r.kind == ReceiptKind::Reset {
            if since <= at && self.prev_at.is_some_and(|p| since <= p) {
                return Err("a reset must start counting after every earlier receipt".into());
            }
            self.reset_since = Some(since);
        } else {
            let origin = *self.origin.get_or_insert(since);
            let start = window.start(at).unwrap_or(origin);
            let expected = self.reset_since.map_or(start, |r| r.max(start));
            if since != expected {
                return Err(format!(
                    "counted_since {} is not where window {} counts from at {} ({})",
                    r.counted_since,
                    r.window,
                    r.at,
                    crate::receipt::rfc3339(expected)
                ));
            }
        }
        // 5. Fields; charges join the chain's charges.
        let named = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        match r.kind {
            ReceiptKind::Charge => {
                if r.epsilon_micro == 0 || !named(&r.job_id) || !named(&r.proof_sha256) {
                    return Err("a charge must charge more than 0 and name its job and proof digest".into());
                }
                let job = r.job_id.clone().unwrap_or_default();
                if !self.charged_jobs.insert(job.clone()) {
                    return Err(format!("job {job:?} is charged a second time"));
                }
                if self.charge_at.last().is_some_and(|l| at < *l) {
                    return Err("charge earlier than the previous charge".into());
                }
                self.charge_at.push(at);
                let last = *self.prefix.last().unwrap_or(&0);
                self.prefix.push(last.checked_add(r.epsilon_micro).ok_or("charges overflow")?);
                s.charges += 1;
                s.charged_micro += r.epsilon_micro;
            }
            ReceiptKind::Refund => {
                if r.epsilon_micro == 0 || !named(&r.job_id) {
                    return Err("a refund must refund more than 0 and name its job".into());
                }
                s.refunds += 1;
            }
            ReceiptKind::Reset | ReceiptKind::Cap => {
                if !named(&r.actor) || !named(&r.reason) {
                    return Err(format!("a {} must name who made it and why", r.kind.as_str()));
                }
                if r.kind == ReceiptKind::Reset {
                    s.resets += 1;
                } else {
                    s.cap_changes += 1;
                }
            }
        }
        // 4. Totals: the charges at or after `since`.
        let first = self.charge_at.partition_point(|c| *c < since);
        let counted = self.prefix[self.charge_at.len()] - self.prefix[first];
        if r.running_total_micro != counted {
            return Err(format!(
                "running total {} micro-ε, but the charges counted since {} sum to {counted}",
                r.running_total_micro, r.counted_since
            ));
        }
        if r.kind == ReceiptKind::Charge && r.running_total_micro > r.cap_micro {
            return Err(format!("running total {} micro-ε exceeds the cap {} micro-ε", r.running_total_micro, r.cap_micro));
        }
        s.receipts += 1;
        s.last_seq = r.seq;
        s.head = id.to_owned();
        s.running_total_micro = r.running_total_micro;
        s.cap_micro = r.cap_micro;
        self.prev_at = Some(at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use crate::receipt::{issue, Event, Receipt};
    use chrono::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    /// A sliding-window ledger's chain: creation, charges over two days (some age out), a
    /// refund, a reset; as receipts.jsonl text, with the key ring.
    fn chain(key: &zkq_audit::SigningKey) -> (Vec<Receipt>, String, zkq_audit::KeyRing) {
        let mut l = Ledger::new(Window::Sliding { seconds: 86_400 }, 1_000_000, None, t("2026-12-01T00:00:00Z"));
        let mut receipts = Vec::new();
        let mut lines = String::new();
        let mut push = |l: &mut Ledger, kind: ReceiptKind, event: Event, receipts: &mut Vec<Receipt>| {
            let issued = issue(Receipt::next("acme", "kyc", l, kind, event), l, key);
            lines.push_str(&serde_json::to_string(&ReceiptLine { receipt_id: issued.id.clone(), envelope: issued.envelope }).unwrap_or_default());
            lines.push('\n');
            receipts.push(issued.receipt);
        };
        let admin = || Event { actor: Some("ops".into()), reason: Some("contract".into()), ..Event::default() };
        push(&mut l, ReceiptKind::Cap, admin(), &mut receipts);
        for (i, at) in ["2026-12-01T01:00:00Z", "2026-12-01T12:00:00Z", "2026-12-02T02:00:00Z", "2026-12-02T13:00:00Z"].iter().enumerate() {
            let now = l.observe(t(at));
            let aging = l.aging(now);
            let aged = match aging {
                crate::ledger::Aging::Sliding { from, to } => receipts
                    .iter()
                    .filter(|r| r.kind == ReceiptKind::Charge)
                    .filter(|r| parse_time(&r.at, "at").is_ok_and(|a| a >= from && a < to))
                    .map(|r| r.epsilon_micro)
                    .sum(),
                _ => 0,
            };
            assert_eq!(l.advance(aging, aged), Ok(()));
            assert_eq!(l.reserve(200_000), Ok(()));
            assert_eq!(l.charge_reserved(200_000), Ok(()));
            let event = Event { epsilon_micro: 200_000, job_id: Some(format!("j{i}")), proof_sha256: Some("ab".repeat(32)), ..Event::default() };
            push(&mut l, ReceiptKind::Charge, event, &mut receipts);
        }
        assert_eq!(l.reserve(100_000), Ok(()));
        l.release(100_000);
        push(&mut l, ReceiptKind::Refund, Event { epsilon_micro: 100_000, job_id: Some("j9".into()), reason: Some("unsatisfied".into()), ..Event::default() }, &mut receipts);
        l.reset(l.clock + Duration::minutes(1));
        push(&mut l, ReceiptKind::Reset, admin(), &mut receipts);
        let mut ring = zkq_audit::KeyRing::default();
        ring.insert(key.public(), None, None);
        (receipts, lines, ring)
    }

    /// Re-signs a (changed) receipt in place of line `n`, keeping the chain's links as given.
    fn resign(lines: &str, n: usize, r: &Receipt, key: &zkq_audit::SigningKey) -> String {
        let payload = r.payload();
        let env = zkq_audit::dsse::Envelope::sign(RECEIPT_PAYLOAD_TYPE, &payload, key);
        let line = serde_json::to_string(&ReceiptLine { receipt_id: receipt_id(&payload), envelope: env }).unwrap_or_default();
        lines.lines().enumerate().map(|(i, l)| if i == n { line.clone() } else { l.to_owned() }).collect::<Vec<_>>().join("\n") + "\n"
    }

    #[test]
    fn a_true_chain_verifies_with_its_totals() {
        let key = zkq_audit::SigningKey::generate().expect("key");
        let (receipts, lines, ring) = chain(&key);
        let summary = verify_receipts(&lines, &ring).expect("a true chain verifies");
        assert_eq!(summary.len(), 1);
        let s = &summary[0];
        assert_eq!((s.receipts, s.charges, s.refunds, s.resets, s.cap_changes), (7, 4, 1, 1, 1));
        assert_eq!((s.charged_micro, s.running_total_micro), (800_000, 0));
        // The fourth charge's running total counts only the charges of the last 24 h: 0.4.
        assert_eq!(receipts[4].running_total_micro, 400_000);
    }

    #[test]
    fn every_kind_of_forgery_is_named() {
        // Forgeries re-signed with the real key (an insider): only the ledger's own rules catch them.
        let key = zkq_audit::SigningKey::generate().expect("key");
        let (receipts, lines, ring) = chain(&key);
        let bad = |text: &str| verify_receipts(text, &ring).expect_err("must fail");
        // A running total under-reported.
        let mut r = receipts[3].clone();
        r.running_total_micro -= 1;
        let e = bad(&resign(&lines, 3, &r, &key));
        assert!(e.line == 4 && e.why.contains("running total"), "{e}");
        // Aging charges early: counting from later than the window allows.
        let mut r = receipts[4].clone();
        r.counted_since = crate::receipt::rfc3339(parse_time(&r.counted_since, "c").expect("time") + Duration::hours(1));
        let e = bad(&resign(&lines, 4, &r, &key));
        assert!(e.line == 5 && e.why.contains("counted_since"), "{e}");
        // A charge above its cap.
        let mut r = receipts[2].clone();
        r.cap_micro = 300_000;
        let e = bad(&resign(&lines, 2, &r, &key));
        assert!(e.line == 3 && e.why.contains("exceeds the cap"), "{e}");
        // A reset without its reason; a broken link; a removed receipt; a replayed one.
        let mut r = receipts[6].clone();
        r.reason = None;
        assert!(bad(&resign(&lines, 6, &r, &key)).why.contains("who made it and why"));
        let mut r = receipts[1].clone();
        r.prev = GENESIS.into();
        assert!(bad(&resign(&lines, 1, &r, &key)).why.contains("prev"));
        let without: String = lines.lines().enumerate().filter(|(i, _)| *i != 2).map(|(_, l)| format!("{l}\n")).collect();
        assert!(bad(&without).why.contains("does not follow"));
        let replayed = format!("{lines}{}\n", lines.lines().nth(1).unwrap_or_default());
        assert_eq!(bad(&replayed).line, 8);
        // A signature by another key.
        let other = zkq_audit::SigningKey::generate().expect("key");
        assert!(bad(&resign(&lines, 0, &receipts[0], &other)).why.contains("signature"));
    }
}
