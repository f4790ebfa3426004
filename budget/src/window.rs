//! Budget windows: over which stretch of time a ledger's charges count against its cap.
//!
//! | spec | charges that count at time `t` | budget frees up |
//! |---|---|---|
//! | `sliding:<n><s\|m\|h\|d>` | those made in `(t − n, t]` | as each charge ages out, `n` after it was made |
//! | `calendar:day` | those since 00:00 UTC today | at the next 00:00 UTC |
//! | `calendar:week` | those since Monday 00:00 UTC (ISO 8601 week) | next Monday 00:00 UTC |
//! | `calendar:month` | those since the 1st, 00:00 UTC | the 1st of next month, 00:00 UTC |
//! | `total` | every charge, ever | never (only a reset or a higher cap) |
//!
//! All boundaries are UTC, whatever the time zone of the operator or the tenant. A reset
//! (`zkq budget reset`) also ends the counting: charges before it never count again.
//!
//! A renewing window is only sound differential privacy when each window covers *new* data
//! (Sage's block composition, PrivateKube's privacy blocks); renewing a budget over the same
//! records lets repeated queries reveal arbitrarily much across renewals (the warning AWS
//! Clean Rooms attaches to `autoRefresh`). `docs/budgets.md` says so to operators.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// The shortest sliding window (1 minute) and the longest (366 days).
pub const SLIDING_BOUNDS_SECONDS: (u32, u32) = (60, 366 * 86_400);

/// How a ledger's charges age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last `seconds` seconds.
    Sliding {
        /// Window length.
        seconds: u32,
    },
    /// The UTC calendar day.
    CalendarDay,
    /// The ISO week (Monday to Sunday), UTC.
    CalendarWeek,
    /// The calendar month, UTC.
    CalendarMonth,
    /// Forever.
    Total,
}

/// Why a window spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window {spec:?} is not valid: {why} (use sliding:<n>s|m|h|d such as sliding:24h, calendar:day, calendar:week, calendar:month or total)")]
pub struct WindowError {
    spec: String,
    why: String,
}

impl Window {
    /// Where counting starts for a ledger observed at `now` (the period's first instant for
    /// calendar windows — charges at or after it count; `now − length` for sliding windows —
    /// charges strictly after it count). `None` for [`Window::Total`].
    pub fn start(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let date = now.date_naive();
        let midnight = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
        match self {
            Window::Sliding { seconds } => Some(now - Duration::seconds(i64::from(seconds))),
            Window::CalendarDay => Some(midnight(date)),
            Window::CalendarWeek => Some(midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))),
            Window::CalendarMonth => Some(midnight(date.with_day(1).unwrap_or(date))),
            Window::Total => None,
        }
    }

    /// The first instant of the calendar period after the one containing `now`; `None` for
    /// sliding and total windows (they have no boundary).
    pub fn next_boundary(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = self.start(now)?;
        match self {
            Window::CalendarDay => Some(start + Duration::days(1)),
            Window::CalendarWeek => Some(start + Duration::days(7)),
            Window::CalendarMonth => {
                let d = start.date_naive();
                let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
                NaiveDate::from_ymd_opt(y, m, 1).and_then(|n| n.and_hms_opt(0, 0, 0)).map(|n| Utc.from_utc_datetime(&n))
            }
            Window::Sliding { .. } | Window::Total => None,
        }
    }

    /// True for calendar windows.
    pub fn is_calendar(self) -> bool {
        matches!(self, Window::CalendarDay | Window::CalendarWeek | Window::CalendarMonth)
    }

    /// The sliding window's length.
    pub fn sliding_length(self) -> Option<Duration> {
        match self {
            Window::Sliding { seconds } => Some(Duration::seconds(i64::from(seconds))),
            _ => None,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Window::Sliding { seconds } => {
                // Canonical form: whole days from two days up, else hours, minutes, seconds
                // (`sliding:24h`, `sliding:7d`, `sliding:90m`).
                let (n, unit) = [(86_400, "d"), (3_600, "h"), (60, "m")]
                    .into_iter()
                    .find(|(u, _)| seconds % u == 0 && (*u != 86_400 || seconds >= 2 * 86_400))
                    .map_or((seconds, "s"), |(u, name)| (seconds / u, name));
                write!(f, "sliding:{n}{unit}")
            }
            Window::CalendarDay => f.write_str("calendar:day"),
            Window::CalendarWeek => f.write_str("calendar:week"),
            Window::CalendarMonth => f.write_str("calendar:month"),
            Window::Total => f.write_str("total"),
        }
    }
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(spec: &str) -> Result<Window, WindowError> {
        let err = |why: &str| WindowError { spec: spec.chars().take(40).collect(), why: why.into() };
        match spec {
            "calendar:day" => return Ok(Window::CalendarDay),
            "calendar:week" => return Ok(Window::CalendarWeek),
            "calendar:month" => return Ok(Window::CalendarMonth),
            "total" => return Ok(Window::Total),
            _ => {}
        }
        let Some(length) = spec.strip_prefix("sliding:") else {
            return Err(err("unknown kind"));
        };
        let unit_at = length.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| err("the length needs a unit"))?;
        let (n, unit) = length.split_at(unit_at);
        let n: u64 = n.parse().map_err(|_| err("the length must be a whole number"))?;
        let per = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return Err(err("the unit must be s, m, h or d")),
        };
        let seconds = n.checked_mul(per).and_then(|s| u32::try_from(s).ok()).ok_or_else(|| err("too long"))?;
        let (min, max) = SLIDING_BOUNDS_SECONDS;
        if !(min..=max).contains(&seconds) {
            return Err(err("a sliding window lasts from 1 minute to 366 days"));
        }
        Ok(Window::Sliding { seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn specs_round_trip_and_bad_ones_are_refused() {
        for spec in ["sliding:24h", "sliding:90m", "sliding:7d", "sliding:61s", "calendar:day", "calendar:week", "calendar:month", "total"] {
            assert_eq!(spec.parse::<Window>().map(|w| w.to_string()).as_deref(), Ok(spec));
        }
        assert_eq!("sliding:1440m".parse::<Window>().map(|w| w.to_string()).as_deref(), Ok("sliding:24h"));
        assert_eq!("sliding:1d".parse::<Window>().map(|w| w.to_string()).as_deref(), Ok("sliding:24h"));
        for bad in ["", "sliding", "sliding:", "sliding:24", "sliding:h", "sliding:-1h", "sliding:59s", "sliding:367d", "sliding:1y",
            "sliding:99999999999999999999d", "calendar:year", "Total", "calendar:day ", "sliding:1h\0"] {
            let e = bad.parse::<Window>().expect_err(bad);
            assert!(e.to_string().contains("is not valid"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn calendar_boundaries_are_utc() {
        let t = at("2028-02-29T23:59:59.999Z"); // a leap day, a Tuesday
        assert_eq!(Window::CalendarDay.start(t), Some(at("2028-02-29T00:00:00Z")));
        assert_eq!(Window::CalendarDay.next_boundary(t), Some(at("2028-03-01T00:00:00Z")));
        assert_eq!(Window::CalendarWeek.start(t), Some(at("2028-02-28T00:00:00Z")));
        assert_eq!(Window::CalendarWeek.next_boundary(t), Some(at("2028-03-06T00:00:00Z")));
        assert_eq!(Window::CalendarMonth.start(t), Some(at("2028-02-01T00:00:00Z")));
        assert_eq!(Window::CalendarMonth.next_boundary(t), Some(at("2028-03-01T00:00:00Z")));
        // December rolls into January of the next year; a Sunday belongs to the week before.
        assert_eq!(Window::CalendarMonth.next_boundary(at("2026-12-31T12:00:00Z")), Some(at("2027-01-01T00:00:00Z")));
        assert_eq!(Window::CalendarWeek.start(at("2026-12-06T23:00:00Z")), Some(at("2026-11-30T00:00:00Z")));
        // The boundary instant itself starts the new period.
        assert_eq!(Window::CalendarDay.start(at("2026-12-03T00:00:00Z")), Some(at("2026-12-03T00:00:00Z")));
        assert_eq!(Window::Total.start(t), None);
        assert_eq!(Window::Sliding { seconds: 86_400 }.start(t), Some(at("2028-02-28T23:59:59.999Z")));
    }

    fn any_window() -> impl Strategy<Value = Window> {
        prop_oneof![
            (60u32..=366 * 86_400).prop_map(|seconds| Window::Sliding { seconds }),
            Just(Window::CalendarDay),
            Just(Window::CalendarWeek),
            Just(Window::CalendarMonth),
        ]
    }

    proptest! {
        /// Between 1970 and 2400 (leap days and years included): the start is at or before
        /// `now`, the next boundary after it, the period contains `now`, and the period after
        /// the boundary starts exactly at it.
        #[test]
        fn periods_contain_now(w in any_window(), secs in 0i64..13_569_465_600, nanos in 0u32..1_000_000_000) {
            let now = DateTime::from_timestamp(secs, nanos).unwrap_or_default();
            let start = w.start(now).expect("not total");
            prop_assert!(start <= now);
            if let Some(next) = w.next_boundary(now) {
                prop_assert!(now < next);
                prop_assert_eq!(w.start(next), Some(next));
                prop_assert_eq!(w.start(next - Duration::nanoseconds(1)), Some(start));
                let days = (next - start).num_days();
                prop_assert!(matches!(days, 1 | 7 | 28..=31), "{} days", days);
            } else {
                prop_assert_eq!(now - start, w.sliding_length().expect("sliding"));
            }
        }
    }
}
