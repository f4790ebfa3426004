//! The admission policy at the worker (zkq-policy, `docs/policy.md`): decides each job that
//! passed identity, circuit and witness checks, before its privacy-budget hold, and keeps the
//! policies current.
//!
//! - **Fail closed.** A deny, an evaluation error or a policy set that cannot be loaded refuses
//!   the job `policy_denied` with its explanation (English and Spanish).
//! - **Caps.** An allow may lower the job's priority, bound the ε one proof charges (a job that
//!   would charge more is denied, naming the permit) and set the tenant's fair-share weight
//!   for the job.
//! - **Freshness.** Every [`PolicyConfig::reload_interval`] (default 2 s) the gate asks the
//!   store for the `policies` table's generation (one aggregate) and reloads on a change, so a
//!   put or a revoke applies to jobs admitted that long after its commit, without a restart.
//!   A reload that fails keeps the loaded policies (they were valid) and retries; a stored set
//!   that no longer validates denies everything until it is fixed.
//! - **Telemetry.** Decisions are counted per deciding policy version and added to
//!   `policy_decision_counts` at each check.
//! - **Rate.** `context.jobs_last_minute` is the tenant's jobs this worker admitted in the 60 s
//!   before the decision (a ring of one-second buckets per tenant).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use zkq_policy::explain::{explain, Explanation};
use zkq_policy::i18n::{Lang, Strings};
use zkq_policy::pg::telemetry::{self, CountKey, Counts};
use zkq_policy::pg::{self as policy_pg, Generation, Loaded};
use zkq_policy::{AdmissionRequest, Decision, Effect, Why};

use crate::config::PolicyConfig;
use crate::model::{LocalizedReason, PolicyVerdict, VerdictCaps};
use crate::store::Store;
use crate::SchedulerError;

/// What the gate says about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateDecision {
    /// Allow or deny, with what the result carries.
    pub verdict: PolicyVerdict,
    /// Allowed.
    pub allowed: bool,
}

/// Jobs per second over the last minute, per tenant.
#[derive(Debug)]
struct RateWindow {
    /// (second, jobs admitted in it), indexed by second % 60.
    buckets: [(u64, u32); 60],
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow { buckets: [(0, 0); 60] }
    }
}

impl RateWindow {
    /// Jobs in the 60 s before `second` (excluded).
    fn last_minute(&self, second: u64) -> u32 {
        self.buckets.iter().filter(|(s, _)| *s < second && second - *s <= 60).map(|(_, n)| *n).sum()
    }

    fn add(&mut self, second: u64) {
        let slot = &mut self.buckets[(second % 60) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 = slot.1.saturating_add(1);
    }
}

/// The worker's admission policies: loaded, checked for changes, deciding, counting.
pub struct PolicyGate {
    config: PolicyConfig,
    /// The policies in force (None while none could be loaded yet).
    loaded: Option<Loaded>,
    /// Why the stored set cannot be used (it does not validate): every job is denied.
    broken: Option<String>,
    checked_at: Option<Instant>,
    counts: HashMap<CountKey, Counts>,
    rates: HashMap<String, RateWindow>,
    strings: Strings,
}

impl std::fmt::Debug for PolicyGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyGate")
            .field("enabled", &self.config.enabled)
            .field("generation", &self.loaded.as_ref().map(|l| l.generation))
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

fn policy_error(e: policy_pg::PolicyStoreError) -> SchedulerError {
    match e {
        policy_pg::PolicyStoreError::Db(e) => SchedulerError::from(e),
        other => SchedulerError::Invalid(other.to_string()),
    }
}

impl PolicyGate {
    /// A gate with `config`, nothing loaded yet ([`PolicyGate::refresh`] loads).
    pub fn new(config: PolicyConfig) -> Result<PolicyGate, SchedulerError> {
        let strings = Strings::builtin().map_err(|e| SchedulerError::Invalid(format!("policy strings: {e}")))?;
        Ok(PolicyGate { config, loaded: None, broken: None, checked_at: None, counts: HashMap::new(), rates: HashMap::new(), strings })
    }

    /// Whether the worker asks policies at all.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// The generation of the policies deciding now.
    pub fn generation(&self) -> Option<Generation> {
        self.loaded.as_ref().map(|l| l.generation)
    }

    /// When due (or `force`): adds the decision counts to the telemetry, and reloads the
    /// policies if the table changed. A transient database error is returned (the caller
    /// retries; the loaded policies keep deciding); a stored set that does not validate makes
    /// the gate deny everything, naming the error, until it is fixed.
    pub async fn refresh(&mut self, store: &Store, force: bool) -> Result<(), SchedulerError> {
        if !self.config.enabled {
            return Ok(());
        }
        if !force && self.checked_at.is_some_and(|t| t.elapsed() < self.config.reload_interval) {
            return Ok(());
        }
        // Checked now, whatever the outcome: an unreachable database is asked again after the
        // interval, not by every job in between.
        self.checked_at = Some(Instant::now());
        let mut client = store.db().client().await?;
        if !self.counts.is_empty() {
            telemetry::add_counts(&**client, &self.counts).await.map_err(policy_error)?;
            self.counts.clear();
        }
        let now = policy_pg::generation(&**client).await.map_err(policy_error)?;
        if self.loaded.as_ref().is_some_and(|l| l.generation == now) && self.broken.is_none() {
            return Ok(());
        }
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(SchedulerError::from)?;
        match policy_pg::load_versions(&*tx).await {
            Ok(loaded) => {
                tracing::info!(policies = loaded.policies.len(), versions = loaded.generation.versions, "admission policies loaded");
                self.loaded = Some(loaded);
                self.broken = None;
            }
            Err(policy_pg::PolicyStoreError::Db(e)) => return Err(SchedulerError::from(e)),
            Err(e) => {
                tracing::error!(error = %e, "the stored policies do not validate: every job is denied until they are fixed");
                self.broken = Some(e.to_string());
                self.loaded = None;
            }
        }
        tx.commit().await.map_err(SchedulerError::from)?;
        Ok(())
    }

    /// The tenant's jobs admitted in the last 60 s before `now`.
    pub fn jobs_last_minute(&self, tenant: &str, now: DateTime<Utc>) -> u32 {
        let second = u64::try_from(now.timestamp()).unwrap_or(0);
        self.rates.get(tenant).map_or(0, |w| w.last_minute(second))
    }

    /// Decides `request`; `charge_micro` is the ε one proof of the job charges. Counts the
    /// decision and, on an allow, the tenant's rate.
    pub fn decide(&mut self, request: &AdmissionRequest, charge_micro: Option<u64>) -> GateDecision {
        let (decision, explanation, names) = match (&self.loaded, &self.broken) {
            (Some(loaded), None) => {
                let decision = loaded.engine.decide(request);
                let explanation = explain(&decision, request, &loaded.engine);
                let names = self.versions(&decision);
                (decision, explanation, names)
            }
            (_, broken) => {
                let why = broken.clone().unwrap_or_else(|| "the policies have not been loaded".into());
                let decision = Decision { effect: Effect::Deny, why: Why::EvaluationError { errors: vec![why] }, caps: Default::default() };
                (decision, Explanation::policy_unavailable(), Vec::new())
            }
        };
        let caps = decision.caps;
        // An allow whose permits cap ε below what one proof charges is a deny (explain() says so:
        // `zkq.deny.epsilon_over_cap`, naming the permit).
        let over_cap = matches!((caps.epsilon_micro, charge_micro), (Some(cap), Some(charge)) if charge > cap);
        let allowed = decision.effect == Effect::Allow && !over_cap;
        self.count(&decision, allowed);
        if allowed {
            let second = u64::try_from(request.at.timestamp()).unwrap_or(0);
            self.rates.entry(request.tenant.clone()).or_default().add(second);
        }
        let verdict = PolicyVerdict {
            decision: if allowed { "allow" } else { "deny" }.into(),
            policies: names,
            caps: if allowed {
                VerdictCaps { priority: caps.priority, epsilon_micro: caps.epsilon_micro, weight: caps.weight }
            } else {
                VerdictCaps::default()
            },
            explanation: serde_json::to_value(&explanation).unwrap_or(serde_json::Value::Null),
            reason: self.reason(&explanation),
        };
        GateDecision { verdict, allowed }
    }

    /// The explanation in English and Spanish. A string that cannot be rendered (a bug: the
    /// i18n tests cover every key) falls back to naming the key, never to an empty reason.
    fn reason(&self, explanation: &Explanation) -> LocalizedReason {
        let text = |lang| explanation.render(&self.strings, lang).map(|r| r.text).unwrap_or_else(|e| format!("{} ({e})", explanation.key));
        LocalizedReason { en: text(Lang::En), es: text(Lang::Es) }
    }

    /// The deciding policies as `<cedar id>@v<version>`.
    fn versions(&self, decision: &Decision) -> Vec<String> {
        let by = match &decision.why {
            Why::Permitted { by } | Why::Forbidden { by } => by,
            _ => return Vec::new(),
        };
        let loaded = self.loaded.as_ref();
        by.iter()
            .map(|id| match loaded.and_then(|l| l.policies.get(id)) {
                Some(p) => format!("{id}@v{}", p.version),
                None => id.clone(),
            })
            .collect()
    }

    fn count(&mut self, decision: &Decision, allowed: bool) {
        let (Some(loaded), Why::Permitted { by } | Why::Forbidden { by }) = (&self.loaded, &decision.why) else { return };
        let day = Utc::now().date_naive();
        for id in by {
            let Some(p) = loaded.policies.get(id) else { continue };
            let key = (p.tenant.clone().unwrap_or_default(), p.policy_id.clone(), p.version, day);
            let c = self.counts.entry(key).or_default();
            if allowed {
                c.allows += 1;
            } else {
                c.denies += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateWindow;

    #[test]
    fn the_rate_window_counts_the_sixty_seconds_before_now() {
        let mut w = RateWindow::default();
        for s in [100, 100, 130, 159] {
            w.add(s);
        }
        assert_eq!(w.last_minute(100), 0, "the current second is not before now");
        assert_eq!(w.last_minute(160), 4);
        assert_eq!(w.last_minute(161), 2, "second 100 left the window");
        assert_eq!(w.last_minute(219), 1);
        w.add(160 + 60 * 3); // reuses slot 40 (second 100's) and 160's slot
        assert_eq!(w.last_minute(400), 1);
    }
}
