//! ε as an exact fixed-point number: whole millionths ("micro-ε") in a `u64`, never a float.
//!
//! Floats cannot hold 0.1 exactly, and a ledger that adds them drifts: ten charges of 0.1 do
//! not make 1.0, and a concurrent `f64` tracker can end "slightly negative" (the pitfalls
//! recorded in `shared/research/ops-and-reliability.md` §5; Tumult Analytics keeps budgets as
//! exact numbers for the same reason). zkq parses decimal text straight into micro-ε and
//! refuses what it cannot hold exactly: more than six decimal places, zero, negatives, NaN,
//! infinities, exponents and values above [`Epsilon::MAX`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Micro-ε per ε.
pub const MICROS_PER_EPSILON: u64 = 1_000_000;

/// An amount of privacy loss ε > 0, exact to a millionth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epsilon(u64);

/// Why a text is not an ε zkq accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpsilonError {
    /// Empty text.
    #[error("ε is empty; write a decimal number such as 0.1")]
    Empty,
    /// Not a plain decimal number.
    #[error("ε {0:?} is not a decimal number (digits with at most one '.', such as 0.25; no sign, exponent, NaN or infinity)")]
    NotDecimal(String),
    /// Negative.
    #[error("ε {0:?} is negative; privacy loss is always positive")]
    Negative(String),
    /// Zero.
    #[error("ε {0:?} is zero; a budget or cost must be greater than 0")]
    Zero(String),
    /// More than six decimal places.
    #[error("ε {0:?} has more than 6 decimal places; zkq keeps ε exactly, in millionths")]
    TooPrecise(String),
    /// Above [`Epsilon::MAX`].
    #[error("ε {0:?} is larger than the largest ε zkq accepts ({max})", max = Epsilon::MAX)]
    TooLarge(String),
}

impl Epsilon {
    /// The largest ε zkq accepts: one million (10¹² micro-ε). Far beyond any meaningful privacy
    /// budget, and small enough that a running total plus reservations never nears `i64::MAX`
    /// (PostgreSQL `bigint`).
    pub const MAX: Epsilon = Epsilon(1_000_000 * MICROS_PER_EPSILON);

    /// From micro-ε; `None` for 0 or above [`Epsilon::MAX`].
    pub fn from_micros(micros: u64) -> Option<Epsilon> {
        (micros > 0 && micros <= Self::MAX.0).then_some(Epsilon(micros))
    }

    /// From micro-ε as stored (`bigint`); `None` outside 1..=MAX.
    pub fn from_db(micros: i64) -> Option<Epsilon> {
        u64::try_from(micros).ok().and_then(Epsilon::from_micros)
    }

    /// The amount in micro-ε.
    pub fn micros(self) -> u64 {
        self.0
    }

    /// The amount in micro-ε as PostgreSQL `bigint` (always fits: ≤ 10¹²).
    pub fn db(self) -> i64 {
        self.0 as i64
    }
}

/// Writes micro-ε as exact decimal ε: `2.0`, `0.125`, `0.000001`.
pub fn format_micros(micros: u64) -> String {
    let whole = micros / MICROS_PER_EPSILON;
    let frac = micros % MICROS_PER_EPSILON;
    if frac == 0 {
        return format!("{whole}.0");
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl fmt::Display for Epsilon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_micros(self.0))
    }
}

impl FromStr for Epsilon {
    type Err = EpsilonError;

    fn from_str(text: &str) -> Result<Epsilon, EpsilonError> {
        let s = text.trim();
        let shown = || s.chars().take(40).collect::<String>();
        if s.is_empty() {
            return Err(EpsilonError::Empty);
        }
        if let Some(rest) = s.strip_prefix('-') {
            // "-0.5" is negative; "-x" is not a number at all.
            return Err(if is_decimal(rest) { EpsilonError::Negative(shown()) } else { EpsilonError::NotDecimal(shown()) });
        }
        if !is_decimal(s) {
            return Err(EpsilonError::NotDecimal(shown()));
        }
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let frac = frac.trim_end_matches('0');
        if frac.len() > 6 {
            return Err(EpsilonError::TooPrecise(shown()));
        }
        let whole = whole.trim_start_matches('0');
        // More whole digits than MAX has cannot fit (and could overflow u64).
        if whole.len() > 7 {
            return Err(EpsilonError::TooLarge(shown()));
        }
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| EpsilonError::NotDecimal(shown()))? };
        let frac_micros: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().map_err(|_| EpsilonError::NotDecimal(shown()))? };
        let micros = whole * MICROS_PER_EPSILON + frac_micros;
        if micros == 0 {
            return Err(EpsilonError::Zero(shown()));
        }
        Epsilon::from_micros(micros).ok_or_else(|| EpsilonError::TooLarge(shown()))
    }
}

/// Digits with at most one '.', at least one digit, nothing else.
fn is_decimal(s: &str) -> bool {
    let mut dots = 0;
    let mut digits = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

impl Serialize for Epsilon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Epsilon {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Epsilon, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eps(s: &str) -> Result<u64, EpsilonError> {
        s.parse::<Epsilon>().map(Epsilon::micros)
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(eps("2"), Ok(2_000_000));
        assert_eq!(eps("2.0"), Ok(2_000_000));
        assert_eq!(eps("0.1"), Ok(100_000));
        assert_eq!(eps(".5"), Ok(500_000));
        assert_eq!(eps("0.000001"), Ok(1));
        assert_eq!(eps("0.1000000000"), Ok(100_000), "trailing zeros lose nothing");
        assert_eq!(eps("000123.25"), Ok(123_250_000));
        assert_eq!(eps("1000000"), Ok(Epsilon::MAX.micros()));
        // Ten charges of 0.1 are exactly 1.0, as they are not in f64.
        assert_eq!((0..10).map(|_| eps("0.1").unwrap_or(0)).sum::<u64>(), eps("1").unwrap_or(0));
    }

    #[test]
    fn bad_epsilons_are_refused_with_the_reason() {
        let cases: &[(&str, fn(&EpsilonError) -> bool)] = &[
            ("", |e| matches!(e, EpsilonError::Empty)),
            ("   ", |e| matches!(e, EpsilonError::Empty)),
            ("-0.5", |e| matches!(e, EpsilonError::Negative(_))),
            ("-1", |e| matches!(e, EpsilonError::Negative(_))),
            ("0", |e| matches!(e, EpsilonError::Zero(_))),
            ("0.000", |e| matches!(e, EpsilonError::Zero(_))),
            ("-0", |e| matches!(e, EpsilonError::Negative(_))),
            ("NaN", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("nan", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("inf", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("-inf", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("1e-3", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("+1", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("1.2.3", |e| matches!(e, EpsilonError::NotDecimal(_))),
            (".", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("0x10", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("1,5", |e| matches!(e, EpsilonError::NotDecimal(_))),
            ("0.0000001", |e| matches!(e, EpsilonError::TooPrecise(_))),
            ("0.1000001", |e| matches!(e, EpsilonError::TooPrecise(_))),
            ("1000000.000001", |e| matches!(e, EpsilonError::TooLarge(_))),
            ("99999999999999999999999999", |e| matches!(e, EpsilonError::TooLarge(_))),
            ("18446744073709551616", |e| matches!(e, EpsilonError::TooLarge(_))),
        ];
        for (text, ok) in cases {
            match eps(text) {
                Err(e) => assert!(ok(&e), "{text:?}: unexpected error {e}"),
                Ok(v) => panic!("{text:?} was accepted as {v} micro-ε"),
            }
        }
        // The message names the value and stays one line, even for 10 kB of input.
        let long = "9".repeat(10_000);
        let e = eps(&long).expect_err("too large");
        assert!(!e.to_string().contains('\n') && e.to_string().len() < 200, "{e}");
    }

    #[test]
    fn display_is_exact_and_canonical() {
        for (micros, text) in [(2_000_000, "2.0"), (125_000, "0.125"), (1, "0.000001"), (1_500_001, "1.500001")] {
            assert_eq!(format_micros(micros), text);
        }
    }

    proptest! {
        #[test]
        fn display_parses_back(micros in 1..=Epsilon::MAX.micros()) {
            let e = Epsilon::from_micros(micros).expect("in range");
            prop_assert_eq!(e.to_string().parse::<Epsilon>(), Ok(e));
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,64}") {
            let _ = s.parse::<Epsilon>();
        }

        #[test]
        fn any_f64_is_exact_or_refused(x in proptest::num::f64::ANY) {
            // Whatever a client's float prints as, zkq either holds it exactly or refuses it.
            if let Ok(e) = format!("{x}").parse::<Epsilon>() {
                prop_assert!(x.is_finite() && x > 0.0);
                prop_assert!((e.micros() as f64 / 1e6 - x).abs() <= x * 1e-12 + 1e-12);
            }
        }
    }
}
