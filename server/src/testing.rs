//! [`MemoryBudgets`]: an in-memory [`BudgetAdmin`] for tests (feature `testing`).
//!
//! It validates like the PostgreSQL ledger will: a cap is a positive decimal with at most 6
//! decimals (`2`, `2.5`, `0.000001`), a reason is not blank, the ledger must exist. Amounts are
//! kept as integer millionths of ε and shown with at least one decimal (`2.0`, `0.125`).

use std::sync::Mutex;

use chrono::Utc;

use crate::budget::{AdminError, BlockRow, BudgetAdmin, LedgerRow, ReceiptRow};

/// Millionths of ε per ε.
const MICROS: i64 = 1_000_000;

/// Parses a decimal ε amount (digits, optionally `.` and 1-6 digits) into millionths. `None`
/// for anything else (signs, exponents, spaces, more than 6 decimals, overflow).
pub fn parse_epsilon(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || int.len() > 12 {
        return None;
    }
    if s.contains('.') && (frac.is_empty() || frac.len() > 6) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac_micros: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    int.checked_mul(MICROS)?.checked_add(frac_micros)
}

/// Millionths of ε as a decimal string with at least one decimal: `2.0`, `0.125`.
pub fn format_epsilon(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let int = m / MICROS as u64;
    let frac = format!("{:06}", m % MICROS as u64);
    let frac = frac.trim_end_matches('0');
    format!("{sign}{int}.{}", if frac.is_empty() { "0" } else { frac })
}

#[derive(Debug, Clone)]
struct Ledger {
    row: LedgerRow,
    cap: i64,
    spent: i64,
    reserved: i64,
    seq: i64,
}

impl Ledger {
    fn refresh(&mut self) {
        self.row.cap = format_epsilon(self.cap);
        self.row.spent = format_epsilon(self.spent);
        self.row.reserved = format_epsilon(self.reserved);
        self.row.remaining = format_epsilon((self.cap - self.spent - self.reserved).max(0));
    }
}

#[derive(Debug, Default)]
struct State {
    ledgers: Vec<Ledger>,
    blocks: Vec<BlockRow>,
    receipts: Vec<ReceiptRow>,
    next_receipt: u64,
    fail: Option<String>,
}

/// An in-memory budget backend. Methods that add data return `AdminError::Invalid` for bad
/// amounts, like the trait's methods.
#[derive(Debug, Default)]
pub struct MemoryBudgets {
    state: Mutex<State>,
}

fn invalid_amount(what: &str, s: &str) -> AdminError {
    AdminError::Invalid(format!(
        "{what} must be a positive decimal number with at most 6 decimals, got {s:?}"
    ))
}

impl MemoryBudgets {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a ledger with `cap` and `spent` (decimal strings), nothing reserved; its window
    /// started now.
    pub fn add_ledger(
        &self,
        tenant: &str,
        purpose: &str,
        window: &str,
        cap: &str,
        spent: &str,
    ) -> Result<(), AdminError> {
        let cap_m = parse_epsilon(cap).ok_or_else(|| invalid_amount("the cap", cap))?;
        let spent_m = parse_epsilon(spent).ok_or_else(|| invalid_amount("spent", spent))?;
        let mut ledger = Ledger {
            row: LedgerRow {
                tenant: tenant.into(),
                purpose: purpose.into(),
                window: window.into(),
                cap: String::new(),
                spent: String::new(),
                reserved: String::new(),
                remaining: String::new(),
                per_job_max: None,
                window_start: (window != "total").then(Utc::now),
                next_release: None,
            },
            cap: cap_m,
            spent: spent_m,
            reserved: 0,
            seq: 0,
        };
        ledger.refresh();
        let mut st = self.state();
        st.ledgers
            .retain(|l| !(l.row.tenant == tenant && l.row.purpose == purpose));
        st.ledgers.push(ledger);
        st.ledgers
            .sort_by(|a, b| (&a.row.tenant, &a.row.purpose).cmp(&(&b.row.tenant, &b.row.purpose)));
        Ok(())
    }

    /// Records an admission block.
    pub fn add_block(&self, tenant: &str, purpose: &str, job_id: &str, requested: &str, message: &str) {
        self.state().blocks.push(BlockRow {
            at: Utc::now(),
            tenant: tenant.into(),
            purpose: purpose.into(),
            job_id: job_id.into(),
            requested: requested.into(),
            message: message.into(),
        });
    }

    /// The ledger of `tenant` × `purpose`, as the page would show it.
    pub fn ledger(&self, tenant: &str, purpose: &str) -> Option<LedgerRow> {
        self.state()
            .ledgers
            .iter()
            .find(|l| l.row.tenant == tenant && l.row.purpose == purpose)
            .map(|l| l.row.clone())
    }

    /// Every receipt written so far, oldest first.
    pub fn receipts(&self) -> Vec<ReceiptRow> {
        self.state().receipts.clone()
    }

    /// Makes every later call fail with `AdminError::Backend(message)` (`None` heals it).
    pub fn fail_with(&self, message: Option<&str>) {
        self.state().fail = message.map(str::to_owned);
    }

    fn check(&self) -> Result<(), AdminError> {
        match &self.state().fail {
            Some(m) => Err(AdminError::Backend(m.clone())),
            None => Ok(()),
        }
    }

    fn write_receipt(
        &self,
        actor: &str,
        tenant: &str,
        purpose: &str,
        reason: &str,
        change: Change<'_>,
    ) -> Result<(), AdminError> {
        if reason.trim().is_empty() {
            return Err(AdminError::Invalid("a reason is required".into()));
        }
        let cap = match change {
            Change::Cap(cap) => Some(
                parse_epsilon(cap)
                    .filter(|c| *c > 0)
                    .ok_or_else(|| invalid_amount("the cap", cap))?,
            ),
            Change::Reset => None,
        };
        let mut st = self.state();
        st.next_receipt += 1;
        let receipt_id = format!("mem-{}", st.next_receipt);
        let Some(l) = st
            .ledgers
            .iter_mut()
            .find(|l| l.row.tenant == tenant && l.row.purpose == purpose)
        else {
            return Err(AdminError::Invalid(format!(
                "there is no budget for tenant {tenant:?} and purpose {purpose:?}"
            )));
        };
        let (kind, epsilon) = match cap {
            Some(c) => {
                l.cap = c;
                ("cap", c)
            }
            None => {
                let before = l.spent;
                l.spent = 0;
                ("reset", before)
            }
        };
        l.refresh();
        l.seq += 1;
        let receipt = ReceiptRow {
            at: Utc::now(),
            receipt_id,
            tenant: tenant.into(),
            purpose: purpose.into(),
            kind: kind.into(),
            epsilon: format_epsilon(epsilon),
            running_total: format_epsilon(l.spent),
            seq: l.seq,
            job_id: None,
            actor: Some(actor.into()),
            reason: Some(reason.into()),
        };
        st.receipts.push(receipt);
        Ok(())
    }
}

enum Change<'a> {
    Cap(&'a str),
    Reset,
}

impl BudgetAdmin for MemoryBudgets {
    async fn ledgers(&self) -> Result<Vec<LedgerRow>, AdminError> {
        self.check()?;
        Ok(self.state().ledgers.iter().map(|l| l.row.clone()).collect())
    }

    async fn recent_blocks(&self, limit: usize) -> Result<Vec<BlockRow>, AdminError> {
        self.check()?;
        Ok(self.state().blocks.iter().rev().take(limit).cloned().collect())
    }

    async fn recent_receipts(&self, limit: usize) -> Result<Vec<ReceiptRow>, AdminError> {
        self.check()?;
        Ok(self.state().receipts.iter().rev().take(limit).cloned().collect())
    }

    async fn set_cap(
        &self,
        actor: &str,
        tenant: &str,
        purpose: &str,
        cap: &str,
        reason: &str,
    ) -> Result<(), AdminError> {
        self.check()?;
        self.write_receipt(actor, tenant, purpose, reason, Change::Cap(cap))
    }

    async fn reset(&self, actor: &str, tenant: &str, purpose: &str, reason: &str) -> Result<(), AdminError> {
        self.check()?;
        self.write_receipt(actor, tenant, purpose, reason, Change::Reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_amounts_are_exact_decimals_with_at_most_six_places() {
        assert_eq!(parse_epsilon("2"), Some(2_000_000));
        assert_eq!(parse_epsilon("2.5"), Some(2_500_000));
        assert_eq!(parse_epsilon("0.000001"), Some(1));
        assert_eq!(parse_epsilon("0"), Some(0));
        for bad in [
            "",
            ".5",
            "5.",
            "-1",
            "+1",
            "1e3",
            "0.0000001",
            " 1",
            "1,5",
            "NaN",
            "1.2.3",
            "9999999999999",
        ] {
            assert_eq!(parse_epsilon(bad), None, "{bad}");
        }
        assert_eq!(format_epsilon(2_000_000), "2.0");
        assert_eq!(format_epsilon(125_000), "0.125");
        assert_eq!(format_epsilon(0), "0.0");
        assert_eq!(format_epsilon(1), "0.000001");
    }

    #[tokio::test]
    async fn set_cap_and_reset_change_the_ledger_and_write_receipts() {
        let b = MemoryBudgets::new();
        b.add_ledger("acme", "ads", "calendar:day", "2.0", "0.5")
            .expect("ledger");
        assert_eq!(b.ledger("acme", "ads").expect("row").remaining, "1.5");
        assert!(matches!(
            b.set_cap("op", "acme", "ads", "0", "r").await,
            Err(AdminError::Invalid(_))
        ));
        assert!(matches!(
            b.set_cap("op", "acme", "ads", "1.1234567", "r").await,
            Err(AdminError::Invalid(_))
        ));
        assert!(matches!(
            b.set_cap("op", "acme", "ads", "3", "  ").await,
            Err(AdminError::Invalid(_))
        ));
        assert!(matches!(
            b.set_cap("op", "acme", "other", "3", "r").await,
            Err(AdminError::Invalid(_))
        ));
        assert!(b.receipts().is_empty(), "refusals write nothing");
        b.set_cap("op", "acme", "ads", "3", "more").await.expect("cap");
        let row = b.ledger("acme", "ads").expect("row");
        assert_eq!((row.cap.as_str(), row.remaining.as_str()), ("3.0", "2.5"));
        b.reset("op", "acme", "ads", "new quarter").await.expect("reset");
        let row = b.ledger("acme", "ads").expect("row");
        assert_eq!((row.spent.as_str(), row.remaining.as_str()), ("0.0", "3.0"));
        let r = b.receipts();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[1].kind.as_str(), r[1].epsilon.as_str(), r[1].seq),
            ("reset", "0.5", 2)
        );
        b.fail_with(Some("down"));
        assert_eq!(b.ledgers().await, Err(AdminError::Backend("down".into())));
    }
}
