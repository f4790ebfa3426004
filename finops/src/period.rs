//! Report periods: parsing `--from`/`--to`, the previous equal-length period, day and ISO-week
//! buckets.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;

use crate::error::{FinopsError, Result};

/// A half-open interval `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
}

/// Parses a date (`2026-11-16`, midnight UTC) or an RFC 3339 instant. `to_inclusive_day`:
/// a bare date means the END of that day (so `--to 2026-11-22` includes the 22nd).
fn parse_instant(flag: &str, text: &str, to_inclusive_day: bool) -> Result<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(if to_inclusive_day { midnight(d) + Duration::days(1) } else { midnight(d) });
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        FinopsError::BadInput(format!("{flag} {text:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant (2026-11-16T00:00:00Z)"))
    })
}

impl Period {
    /// A period; `end` must be after `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self> {
        if end <= start {
            return Err(FinopsError::BadInput(format!("the period must end after it starts ({} is not after {})", end.to_rfc3339(), start.to_rfc3339())));
        }
        Ok(Self { start, end })
    }

    /// `--from` / `--to`: dates are whole UTC days, both inclusive (`--from 2026-11-16 --to
    /// 2026-11-22` is that week); RFC 3339 instants are used as given (`--to` exclusive).
    pub fn parse(from: &str, to: &str) -> Result<Self> {
        Self::new(parse_instant("--from", from, false)?, parse_instant("--to", to, true)?)
    }

    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        (self.end - self.start).num_milliseconds() as f64 / 1e3
    }

    /// The equal-length period just before this one.
    pub fn previous(&self) -> Period {
        Period { start: self.start - (self.end - self.start), end: self.start }
    }

    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// Seconds of `[a, b)` inside this period.
    pub fn overlap_seconds(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
        let (s, e) = (a.max(self.start), b.min(self.end));
        if e > s {
            (e - s).num_milliseconds() as f64 / 1e3
        } else {
            0.0
        }
    }

    /// Human label: `2026-11-16 – 2026-11-22` for whole days, else the instants.
    pub fn label(&self) -> String {
        let whole = |t: DateTime<Utc>| t.time() == NaiveTime::MIN;
        if whole(self.start) && whole(self.end) {
            let last = (self.end - Duration::days(1)).date_naive();
            if last == self.start.date_naive() {
                return self.start.date_naive().to_string();
            }
            return format!("{} – {}", self.start.date_naive(), last);
        }
        format!("{} – {}", self.start.to_rfc3339(), self.end.to_rfc3339())
    }

    /// The period cut into UTC days or ISO weeks (Monday-based), clipped to the period.
    pub fn buckets(&self, unit: Bucket) -> Vec<(String, Period)> {
        let mut out = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let day = start.date_naive();
            let (label, next) = match unit {
                Bucket::Day => (day.to_string(), midnight(day) + Duration::days(1)),
                Bucket::Week => {
                    let w = day.iso_week();
                    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                    (format!("{}-W{:02}", w.year(), w.week()), midnight(monday) + Duration::days(7))
                }
            };
            let end = next.min(self.end);
            out.push((label, Period { start, end }));
            start = end;
        }
        out
    }
}

/// Time bucket units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// UTC days.
    Day,
    /// ISO weeks (Monday to Sunday, UTC).
    Week,
}

impl Bucket {
    /// The bucket's nominal length.
    pub fn length(self) -> Duration {
        match self {
            Bucket::Day => Duration::days(1),
            Bucket::Week => Duration::days(7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn dates_are_whole_inclusive_days_and_the_previous_period_has_equal_length() {
        let p = Period::parse("2026-11-16", "2026-11-22").expect("period");
        assert_eq!((p.start, p.end), (at("2026-11-16T00:00:00Z"), at("2026-11-23T00:00:00Z")));
        assert_eq!(p.previous(), Period { start: at("2026-11-09T00:00:00Z"), end: at("2026-11-16T00:00:00Z") });
        assert_eq!(p.label(), "2026-11-16 – 2026-11-22");
        let q = Period::parse("2026-11-16T06:00:00Z", "2026-11-16T18:00:00Z").expect("instants");
        assert_eq!(q.seconds(), 43_200.0);
    }

    #[test]
    fn bad_dates_and_empty_periods_are_refused() {
        let e = Period::parse("2026-13-01", "2026-11-22").expect_err("bad month");
        assert!(e.to_string().contains("--from \"2026-13-01\""), "{e}");
        assert!(Period::parse("2026-11-16", "yesterday").is_err());
        let e = Period::parse("2026-11-22", "2026-11-16").expect_err("reversed");
        assert!(e.to_string().contains("must end after"), "{e}");
    }

    #[test]
    fn buckets_follow_days_and_iso_weeks() {
        let p = Period::parse("2026-11-20", "2026-11-24").expect("period");
        let days: Vec<String> = p.buckets(Bucket::Day).into_iter().map(|(l, _)| l).collect();
        assert_eq!(days, ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]);
        // 2026-11-20 is a Friday: ISO week 47 ends on Sunday the 22nd.
        let weeks = p.buckets(Bucket::Week);
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].0, "2026-W47");
        assert_eq!(weeks[0].1.end, at("2026-11-23T00:00:00Z"));
        assert_eq!(weeks[1].0, "2026-W48");
        assert_eq!(weeks[1].1.end, at("2026-11-25T00:00:00Z"));
    }
}
