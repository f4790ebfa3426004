//! What a job's result says about its budget, and the message of a block.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::epsilon::format_micros;
use crate::ledger::Shortfall;
use crate::receipt::rfc3339;
use crate::window::Window;

/// The `budget` object of a job's result (`docs/schemas/job-result.schema.json`): for a proved
/// job what it was charged, with its receipt; for a job refused `budget_exhausted` the figures
/// a person needs to act. ε amounts are exact decimal strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobBudget {
    /// Purpose charged.
    pub purpose: String,
    /// Window of the purpose's ledger.
    pub window: String,
    /// ε the job asked for (its circuit's cost per proof, or less if the job asked less).
    pub requested: String,
    /// ε charged (proved jobs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub charged: Option<String>,
    /// The charge's receipt id (proved jobs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub receipt_id: Option<String>,
    /// The ledger's cap.
    pub cap: String,
    /// Spent in the window (after the charge, for proved jobs).
    pub spent: String,
    /// Held by other jobs in progress.
    pub reserved: String,
    /// Left: cap − spent − reserved.
    pub remaining: String,
    /// When enough budget for this job frees up, if it will (blocked jobs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub frees_at: Option<String>,
    /// When a calendar window renews next.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_reset: Option<String>,
    /// Who can raise the cap (blocked jobs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contact: Option<String>,
}

/// Exact ε text of micro-ε, `"0"` for none.
pub fn eps(micros: u64) -> String {
    if micros == 0 { "0".into() } else { format_micros(micros) }
}

/// A refusal for lack of budget, with everything the message and the result fields need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Tenant.
    pub tenant: String,
    /// Purpose.
    pub purpose: String,
    /// The ledger's window.
    pub window: Window,
    /// The figures.
    pub shortfall: Shortfall,
    /// When enough frees up (`None`: not by itself — the request exceeds the cap, the window
    /// is total, or what is missing is held by jobs in progress).
    pub frees_at: Option<DateTime<Utc>>,
    /// The next calendar reset.
    pub next_reset: Option<DateTime<Utc>>,
    /// The cap was lowered while the job was proved (a refused charge, not an admission).
    pub cap_lowered: bool,
}

impl Block {
    /// One paragraph a non-expert can act on: purpose, cap, spent, requested, when budget frees
    /// up, and who can raise the cap.
    pub fn message(&self, contact: &str) -> String {
        let s = &self.shortfall;
        let mut m = format!(
            "privacy budget exhausted for purpose {:?}: this job needs {} ε but only {} ε of the {} ε cap ({}) is left — {} ε spent",
            self.purpose,
            eps(s.requested),
            eps(s.remaining()),
            eps(s.cap),
            window_words(self.window),
            eps(s.spent)
        );
        if s.reserved > 0 {
            m.push_str(&format!(", {} ε held by jobs in progress", eps(s.reserved)));
        }
        m.push('.');
        if self.cap_lowered {
            m.push_str(" The cap was lowered while this job was being proved: its proof is withheld and nothing was charged.");
        }
        if s.requested > s.cap {
            m.push_str(" This job asks more than the whole cap, so it can only run after the cap is raised.");
        } else if let Some(at) = self.frees_at {
            m.push_str(&format!(" Enough budget frees up at {} (UTC); submit it again then.", rfc3339_secs(at)));
        } else if self.window == Window::Total {
            m.push_str(" This budget never renews: only a reset or a higher cap frees it.");
        } else if s.missing() <= s.reserved {
            m.push_str(" Budget may free up when jobs in progress finish or fail; try again shortly.");
        }
        m.push_str(&format!(
            " To raise the cap, ask {contact} (zkq budget set --tenant {:?} --purpose {:?} --cap <ε>).",
            self.tenant, self.purpose
        ));
        m
    }

    /// The result's `budget` object.
    pub fn job_budget(&self, contact: &str) -> JobBudget {
        let s = &self.shortfall;
        JobBudget {
            purpose: self.purpose.clone(),
            window: self.window.to_string(),
            requested: eps(s.requested),
            charged: None,
            receipt_id: None,
            cap: eps(s.cap),
            spent: eps(s.spent),
            reserved: eps(s.reserved),
            remaining: eps(s.remaining()),
            frees_at: self.frees_at.map(rfc3339),
            next_reset: self.next_reset.map(rfc3339),
            contact: Some(contact.to_owned()),
        }
    }
}

fn rfc3339_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// "per UTC day", "in the last 24h", …
pub fn window_words(w: Window) -> String {
    match w {
        Window::Sliding { .. } => format!("in any {}", w.to_string().trim_start_matches("sliding:")),
        Window::CalendarDay => "per UTC day".into(),
        Window::CalendarWeek => "per UTC week".into(),
        Window::CalendarMonth => "per UTC month".into(),
        Window::Total => "in total".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_messages_say_what_to_do() {
        let t = DateTime::parse_from_rfc3339("2026-12-04T00:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let mut b = Block {
            tenant: "acme".into(),
            purpose: "fraud-check".into(),
            window: Window::CalendarDay,
            shortfall: Shortfall { cap: 2_000_000, spent: 1_800_000, reserved: 100_000, requested: 500_000 },
            frees_at: Some(t),
            next_reset: Some(t),
            cap_lowered: false,
        };
        let m = b.message("privacy@acme.example");
        for part in ["\"fraud-check\"", "needs 0.5 ε", "only 0.1 ε of the 2.0 ε cap (per UTC day)", "1.8 ε spent", "0.1 ε held",
            "frees up at 2026-12-04T00:00:00Z", "ask privacy@acme.example", "--purpose \"fraud-check\""] {
            assert!(m.contains(part), "{part:?} missing from: {m}");
        }
        assert!(!m.contains('\n'));
        let j = b.job_budget("ops");
        assert_eq!((j.requested.as_str(), j.remaining.as_str(), j.frees_at.as_deref()), ("0.5", "0.1", Some("2026-12-04T00:00:00.000000Z")));
        b.shortfall.requested = 3_000_000;
        assert!(b.message("ops").contains("more than the whole cap"));
        b.window = Window::Total;
        b.frees_at = None;
        b.shortfall.requested = 500_000;
        assert!(b.message("ops").contains("never renews"));
    }
}
