//! The ledger's rules, pure: one tenant × purpose, its cap, window, spend and reservations.
//!
//! **Admission is a filter, the ledger an odometer** (Rogers, Roth, Ullman, Vadhan, "Privacy
//! Odometers and Filters: Pay-as-you-Go Composition", NeurIPS 2016): a job is refused *before*
//! anything is spent when its ε would take `spent + reserved` past the cap, and the ledger's
//! `spent` is a running upper bound of the loss in the window (basic sequential composition:
//! ε adds up). Charges follow the charge-then-run-with-refund pattern of BigQuery's
//! differential-privacy policies: reserve at admission, charge with the result, release
//! (refund) on failure.
//!
//! Invariants kept by every operation here (and property-tested against a model):
//! - after [`Ledger::reserve`] or [`Ledger::charge_direct`]: `spent + reserved ≤ cap`;
//! - after any charge: `spent ≤ cap` — a charge that would break it (the cap was lowered while
//!   the job was proved) is refused and its reservation must be released;
//! - `spent` is exactly the sum of the charges made after the counting start
//!   ([`Ledger::counted_since`]) — the window's start, or the last reset if later;
//! - time never runs backwards: every operation takes `now`, and a `now` earlier than the
//!   latest instant seen (another worker's clock behind, a clock stepped back) is read as
//!   that instant ([`Ledger::observe`]). Charges are stamped with that clamped time, so
//!   aging is monotone and a charge can never count twice or "un-age".
//!
//! Amounts are micro-ε ([`crate::epsilon`]); arithmetic is checked, never wrapping.

use chrono::{DateTime, Utc};

use crate::window::Window;

/// The hash that precedes a ledger's first receipt: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One ledger's state (a `budgets` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    /// How charges age.
    pub window: Window,
    /// Cap, micro-ε.
    pub cap: u64,
    /// Most one job may charge, micro-ε.
    pub per_job_max: Option<u64>,
    /// Charges counted now, micro-ε.
    pub spent: u64,
    /// Reserved by admitted jobs not yet settled, micro-ε.
    pub reserved: u64,
    /// Counting start: charges made at or after it count. The calendar period's start, the
    /// sliding window's `now − length`, the ledger's creation for total windows — or just after
    /// the last reset, if that is later.
    pub counted_since: DateTime<Utc>,
    /// The latest instant this ledger has seen.
    pub clock: DateTime<Utc>,
    /// Sequence number of its last receipt (0: none yet).
    pub seq: u64,
    /// Id (= sha256) of its last receipt, hex; [`GENESIS`] before the first.
    pub head: String,
}

/// Why a charge or reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The job asks more than the ledger's per-job maximum.
    PerJobMax {
        /// The maximum, micro-ε.
        max: u64,
        /// Asked, micro-ε.
        requested: u64,
    },
    /// Not enough budget left in the window.
    Exhausted(Shortfall),
}

/// The figures of a refusal for lack of budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    /// Cap, micro-ε.
    pub cap: u64,
    /// Spent in the window, micro-ε.
    pub spent: u64,
    /// Held by other admitted jobs, micro-ε.
    pub reserved: u64,
    /// Asked, micro-ε.
    pub requested: u64,
}

impl Shortfall {
    /// What is left: `cap − spent − reserved`, 0 if the cap was lowered below that.
    pub fn remaining(&self) -> u64 {
        self.cap.saturating_sub(self.spent).saturating_sub(self.reserved)
    }

    /// How much must free up before the request fits (`requested − remaining`).
    pub fn missing(&self) -> u64 {
        self.requested.saturating_sub(self.remaining())
    }
}

/// What must be looked up before a ledger can be brought to `now` ([`Ledger::advance`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aging {
    /// Nothing ages.
    None,
    /// A calendar boundary passed: the new period starts here and nothing counts yet.
    Rollover(DateTime<Utc>),
    /// Sliding: the charges made in `[from, to)` leave the window; pass their sum.
    Sliding {
        /// Inclusive.
        from: DateTime<Utc>,
        /// Exclusive.
        to: DateTime<Utc>,
    },
}

impl Ledger {
    /// A new ledger observed first at `now`.
    pub fn new(window: Window, cap: u64, per_job_max: Option<u64>, now: DateTime<Utc>) -> Ledger {
        let now = micros(now);
        Ledger {
            window,
            cap,
            per_job_max,
            spent: 0,
            reserved: 0,
            counted_since: window.start(now).unwrap_or(now),
            clock: now,
            seq: 0,
            head: GENESIS.to_owned(),
        }
    }

    /// Moves the ledger's clock to `now` unless it is earlier, and returns the time this
    /// ledger's operations use: never before any instant it has seen.
    /// Times are kept to the microsecond, as PostgreSQL stores them.
    pub fn observe(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let now = micros(now);
        if now > self.clock {
            self.clock = now;
        }
        self.clock
    }

    /// What ages between the counting start and `now` (after [`Ledger::observe`]).
    pub fn aging(&self, now: DateTime<Utc>) -> Aging {
        match self.window {
            Window::Total => Aging::None,
            Window::Sliding { .. } => match self.window.start(now) {
                Some(to) if to > self.counted_since => Aging::Sliding { from: self.counted_since, to },
                _ => Aging::None,
            },
            _ => match self.window.start(now) {
                Some(start) if start > self.counted_since => Aging::Rollover(start),
                _ => Aging::None,
            },
        }
    }

    /// Applies [`Ledger::aging`]: `aged` is the sum of the charges in the sliding interval (0
    /// otherwise). Returns `Err` with the figures when `aged` exceeds what is counted — the
    /// stored charges disagree with `spent`; the ledger is then left unchanged.
    pub fn advance(&mut self, aging: Aging, aged: u64) -> Result<(), String> {
        match aging {
            Aging::None => Ok(()),
            Aging::Rollover(start) => {
                self.spent = 0;
                self.counted_since = start;
                Ok(())
            }
            Aging::Sliding { to, .. } => {
                let Some(spent) = self.spent.checked_sub(aged) else {
                    return Err(format!("{aged} micro-ε of charges aged out but only {} were counted", self.spent));
                };
                self.spent = spent;
                self.counted_since = to;
                Ok(())
            }
        }
    }

    /// What is left to reserve: `cap − spent − reserved`, 0 when the cap is below that.
    pub fn remaining(&self) -> u64 {
        self.cap.saturating_sub(self.spent).saturating_sub(self.reserved)
    }

    fn shortfall(&self, requested: u64) -> Shortfall {
        Shortfall { cap: self.cap, spent: self.spent, reserved: self.reserved, requested }
    }

    /// Checks the per-job maximum and that `requested` fits beside what is spent and reserved.
    pub fn admit(&self, requested: u64) -> Result<(), Refusal> {
        if let Some(max) = self.per_job_max.filter(|max| requested > *max) {
            return Err(Refusal::PerJobMax { max, requested });
        }
        match self.spent.checked_add(self.reserved).and_then(|s| s.checked_add(requested)) {
            Some(total) if total <= self.cap => Ok(()),
            _ => Err(Refusal::Exhausted(self.shortfall(requested))),
        }
    }

    /// Holds `requested` for an admitted job ([`Ledger::admit`] first).
    pub fn reserve(&mut self, requested: u64) -> Result<(), Refusal> {
        self.admit(requested)?;
        self.reserved += requested;
        Ok(())
    }

    /// Turns a reservation of `amount` into a charge. Refused — the caller then releases the
    /// reservation — when `spent + amount` would pass the cap (it was lowered meanwhile).
    pub fn charge_reserved(&mut self, amount: u64) -> Result<(), Refusal> {
        match self.spent.checked_add(amount) {
            Some(spent) if spent <= self.cap => {
                self.spent = spent;
                self.reserved = self.reserved.saturating_sub(amount);
                Ok(())
            }
            _ => Err(Refusal::Exhausted(Shortfall { reserved: self.reserved.saturating_sub(amount), ..self.shortfall(amount) })),
        }
    }

    /// Charges a job that holds no reservation (its reservation expired and was reclaimed):
    /// like a reservation and a charge at once, so it must fit beside the others' reservations.
    pub fn charge_direct(&mut self, amount: u64) -> Result<(), Refusal> {
        match self.spent.checked_add(self.reserved).and_then(|s| s.checked_add(amount)) {
            Some(total) if total <= self.cap => {
                self.spent += amount;
                Ok(())
            }
            _ => Err(Refusal::Exhausted(self.shortfall(amount))),
        }
    }

    /// Gives a reservation of `amount` back (the job failed, or its reservation expired).
    pub fn release(&mut self, amount: u64) {
        self.reserved = self.reserved.saturating_sub(amount);
    }

    /// Forgets every charge made so far (`zkq budget reset`): spent becomes 0 and charges up
    /// to `now` never count again. Reservations stay. The ledger's clock moves one
    /// microsecond past `now`, so that every later charge is stamped after the reset and every
    /// earlier one before it.
    pub fn reset(&mut self, now: DateTime<Utc>) {
        let after = self.observe(now) + chrono::Duration::microseconds(1);
        self.clock = after;
        self.spent = 0;
        self.counted_since = after;
    }

    /// Records the receipt just issued.
    pub fn record_receipt(&mut self, seq: u64, id: &str) {
        self.seq = seq;
        id.clone_into(&mut self.head);
    }

    /// When a calendar window renews (its next boundary after `now`).
    pub fn next_reset(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.window.next_boundary(now)
    }
}

/// `t` truncated to whole microseconds.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// When enough of a sliding window's spend will have aged out to free `missing` micro-ε:
/// `charges` are the counted charges `(at, amount)`, oldest first; a charge leaves the window
/// `length` after it was made. `None` when the counted charges cannot free that much (the
/// shortfall is held by reservations, or the request is larger than the cap).
pub fn sliding_frees_at(charges: &[(DateTime<Utc>, u64)], missing: u64, length: chrono::Duration) -> Option<DateTime<Utc>> {
    if missing == 0 {
        return None;
    }
    let mut freed = 0u64;
    for (at, amount) in charges {
        freed = freed.saturating_add(*amount);
        if freed >= missing {
            return Some(*at + length);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2028-02-28T23:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn reserve_charge_release_and_refusals() {
        let mut l = Ledger::new(Window::CalendarDay, 2_000_000, Some(500_000), t0());
        assert_eq!(l.reserve(600_000), Err(Refusal::PerJobMax { max: 500_000, requested: 600_000 }));
        for _ in 0..4 {
            assert_eq!(l.reserve(500_000), Ok(()));
        }
        assert_eq!(l.remaining(), 0);
        let Err(Refusal::Exhausted(s)) = l.reserve(1) else { panic!("must refuse") };
        assert_eq!((s.cap, s.spent, s.reserved, s.requested, s.missing()), (2_000_000, 0, 2_000_000, 1, 1));
        assert_eq!(l.charge_reserved(500_000), Ok(()));
        l.release(500_000);
        assert_eq!((l.spent, l.reserved, l.remaining()), (500_000, 1_000_000, 500_000));
        // The cap is lowered below what is spent and held: the held jobs cannot all be charged.
        l.cap = 1_000_000;
        assert_eq!(l.charge_reserved(500_000), Ok(()));
        assert!(matches!(l.charge_reserved(500_000), Err(Refusal::Exhausted(_))));
        l.release(500_000);
        assert_eq!((l.spent, l.reserved, l.remaining()), (1_000_000, 0, 0));
        // Midnight UTC: a new day, nothing counted.
        let next = l.observe(t0() + Duration::hours(1));
        let aging = l.aging(next);
        assert!(matches!(aging, Aging::Rollover(_)));
        assert_eq!(l.advance(aging, 0), Ok(()));
        assert_eq!((l.spent, l.remaining()), (0, 1_000_000));
    }

    #[test]
    fn frees_at_follows_the_oldest_charges() {
        let h = Duration::hours(1);
        let charges = [(t0(), 300), (t0() + h, 300), (t0() + h * 2, 300)];
        assert_eq!(sliding_frees_at(&charges, 1, Duration::hours(24)), Some(t0() + Duration::hours(24)));
        assert_eq!(sliding_frees_at(&charges, 301, Duration::hours(24)), Some(t0() + Duration::hours(25)));
        assert_eq!(sliding_frees_at(&charges, 901, Duration::hours(24)), None);
        assert_eq!(sliding_frees_at(&charges, 0, Duration::hours(24)), None);
    }

    /// An operation on a ledger, for the model-based property test.
    #[derive(Debug, Clone)]
    enum Op {
        /// Move time by this many seconds (negative: a worker whose clock is behind).
        Tick(i64),
        Reserve(u64),
        /// Settle the i-th outstanding reservation (mod their count): charge or release.
        Settle(usize, bool),
        /// A reservation expired and was reclaimed; its job then commits and is charged directly.
        Reclaim(usize),
        Cap(u64),
        Reset,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (-7_200i64..200_000).prop_map(Op::Tick),
            (1u64..400).prop_map(Op::Reserve),
            (any::<usize>(), any::<bool>()).prop_map(|(i, ok)| Op::Settle(i, ok)),
            any::<usize>().prop_map(Op::Reclaim),
            (1u64..2_000).prop_map(Op::Cap),
            Just(Op::Reset),
        ]
    }

    fn window() -> impl Strategy<Value = Window> {
        prop_oneof![
            (60u32..300_000).prop_map(|seconds| Window::Sliding { seconds }),
            Just(Window::CalendarDay),
            Just(Window::CalendarWeek),
            Just(Window::CalendarMonth),
            Just(Window::Total),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// Against a model that keeps every charge with its time: spent is always the sum of
        /// the charges in the window since the last reset, spent never passes the cap after a
        /// charge, spent + reserved never passes it after an admission, reserved is the sum of
        /// outstanding reservations, and clocks that run backwards change nothing.
        #[test]
        fn ledger_matches_the_model(w in window(), cap in 1u64..2_000, ops in proptest::collection::vec(op(), 1..120), start in 0i64..4_000_000_000) {
            let t = DateTime::from_timestamp(start, 0).unwrap_or_default();
            let mut l = Ledger::new(w, cap, None, t);
            let mut now = t;
            let mut charges: Vec<(DateTime<Utc>, u64)> = Vec::new();
            let mut held: Vec<u64> = Vec::new();
            let mut reset_at: Option<DateTime<Utc>> = None;
            for op in ops {
                if let Op::Tick(s) = op {
                    now += Duration::seconds(s);
                }
                let at = l.observe(now);
                prop_assert!(at >= now || at == l.clock);
                let aging = l.aging(at);
                let aged = match aging {
                    Aging::Sliding { from, to } => charges.iter().filter(|(c, _)| *c >= from && *c < to).map(|(_, a)| a).sum(),
                    _ => 0,
                };
                prop_assert_eq!(l.advance(aging, aged), Ok(()));
                match op {
                    Op::Tick(_) => {}
                    Op::Reserve(x) => {
                        if l.reserve(x).is_ok() {
                            held.push(x);
                            prop_assert!(l.spent + l.reserved <= l.cap);
                        }
                    }
                    Op::Settle(i, proved) if !held.is_empty() => {
                        let x = held.remove(i % held.len());
                        if proved && l.charge_reserved(x).is_ok() {
                            charges.push((at, x));
                            prop_assert!(l.spent <= l.cap);
                        } else {
                            l.release(x);
                        }
                    }
                    Op::Reclaim(i) if !held.is_empty() => {
                        let x = held.remove(i % held.len());
                        l.release(x);
                        if l.charge_direct(x).is_ok() {
                            charges.push((at, x));
                            prop_assert!(l.spent + l.reserved <= l.cap);
                        }
                    }
                    Op::Settle(..) | Op::Reclaim(_) => {}
                    Op::Cap(c) => l.cap = c,
                    Op::Reset => {
                        l.reset(at);
                        reset_at = Some(l.clock);
                    }
                }
                let at = l.clock;
                let since = match (w.start(at), reset_at) {
                    (Some(s), Some(r)) => s.max(r),
                    (Some(s), None) => s,
                    (None, Some(r)) => r,
                    (None, None) => t,
                };
                let expected: u64 = charges.iter().filter(|(c, _)| *c >= since).map(|(_, a)| a).sum();
                prop_assert_eq!(l.spent, expected, "window {} at {} since {}", w, at, since);
                prop_assert_eq!(l.reserved, held.iter().sum::<u64>());
            }
        }
    }
}
