//! Typed template parameters: their types, the text the CLI gives (`k=v`), and the Cedar literal
//! each value becomes.
//!
//! A value reaches a policy only as a Cedar literal built here — a `Long`, a string literal with
//! every quote, backslash and control character escaped, or a set of those — so no parameter
//! text can change a policy's structure. Escapes follow Cedar's string literal rules (Rust's:
//! `\"`, `\\`, `\n`, `\u{…}`; <https://docs.cedarpolicy.com/policies/syntax-datatypes.html#datatype-string>).
//! Sets must be non-empty: the strict validator refuses an empty set literal
//! (<https://docs.cedarpolicy.com/policies/validation.html>).

use std::fmt;

/// Most characters in a string parameter or in one element of a set.
pub const MAX_STRING_CHARS: usize = 200;
/// Most elements in a `string_set`.
pub const MAX_SET_ELEMENTS: usize = 64;
/// Largest ε a parameter may hold (in ε; the engine's `@epsilon_micro_cap` limit, 10¹² micro-ε).
pub const MAX_EPSILON: u64 = 1_000_000;
/// Micro-ε per ε.
pub const MICRO: u64 = 1_000_000;

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A whole number in `[min, max]`; a Cedar `Long`.
    Long {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// Text (at most [`MAX_STRING_CHARS`] characters); a Cedar string.
    String,
    /// Comma-separated texts, at least one, duplicates dropped; a Cedar set of strings.
    StringSet,
    /// An hour of the day, 0-23 (UTC); a Cedar `Long`.
    Hour,
    /// Comma-separated weekdays, 1 = Monday … 7 = Sunday, at least one; a Cedar set of `Long`s.
    WeekdaySet,
    /// ε as a decimal (`"0.25"`, at most 6 decimals, at most [`MAX_EPSILON`]); a Cedar `Long` in
    /// micro-ε (`250000`).
    Epsilon,
    /// A job priority, 0-9; a Cedar `Long`.
    Priority,
}

impl ParamType {
    /// The type from its catalog name (`long` takes `min` and `max`, the others neither).
    pub fn from_name(name: &str, min: Option<i64>, max: Option<i64>) -> Result<ParamType, String> {
        let kind = match name {
            "long" => {
                let (Some(min), Some(max)) = (min, max) else {
                    return Err("type long needs both min and max".into());
                };
                if min > max || min == i64::MIN {
                    return Err(format!(
                        "type long: min {min} must be above {} and at most max {max}",
                        i64::MIN
                    ));
                }
                return Ok(ParamType::Long { min, max });
            }
            "string" => ParamType::String,
            "string_set" => ParamType::StringSet,
            "hour" => ParamType::Hour,
            "weekday_set" => ParamType::WeekdaySet,
            "epsilon" => ParamType::Epsilon,
            "priority" => ParamType::Priority,
            other => {
                return Err(format!(
                    "unknown type {other:?} (known: long, string, string_set, hour, weekday_set, epsilon, priority)"
                ))
            }
        };
        if min.is_some() || max.is_some() {
            return Err(format!("type {name} takes no min or max (only long does)"));
        }
        Ok(kind)
    }

    /// The catalog name of the type.
    pub fn name(&self) -> &'static str {
        match self {
            ParamType::Long { .. } => "long",
            ParamType::String => "string",
            ParamType::StringSet => "string_set",
            ParamType::Hour => "hour",
            ParamType::WeekdaySet => "weekday_set",
            ParamType::Epsilon => "epsilon",
            ParamType::Priority => "priority",
        }
    }

    /// Whether values are whole numbers (so the parameter may feed a cap annotation).
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            ParamType::Long { .. } | ParamType::Hour | ParamType::Epsilon | ParamType::Priority
        )
    }

    /// Parses the CLI text of a value, or says (one line) why it is not one.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        match *self {
            ParamType::Long { min, max } => number(text, min, max).map(Value::Long),
            ParamType::Hour => number(text, 0, 23).map(Value::Long),
            ParamType::Priority => number(text, 0, 9).map(Value::Long),
            ParamType::Epsilon => epsilon(text).map(Value::Epsilon),
            ParamType::String => string(text).map(Value::String),
            ParamType::StringSet => {
                let mut set: Vec<String> = Vec::new();
                for part in text.split(',') {
                    let part = part.trim();
                    if part.is_empty() {
                        return Err(format!(
                            "{text:?} has an empty element (expected texts separated by commas)"
                        ));
                    }
                    let part = string(part)?;
                    if !set.contains(&part) {
                        set.push(part);
                    }
                }
                if set.len() > MAX_SET_ELEMENTS {
                    return Err(format!("{} elements, at most {MAX_SET_ELEMENTS}", set.len()));
                }
                Ok(Value::StringSet(set))
            }
            ParamType::WeekdaySet => {
                let mut days = Vec::new();
                for part in text.split(',') {
                    let day = number(part.trim(), 1, 7).map_err(|_| {
                        format!("{text:?} is not a list of weekdays (1 = Monday … 7 = Sunday, separated by commas)")
                    })?;
                    days.push(day);
                }
                days.sort_unstable();
                days.dedup();
                Ok(Value::WeekdaySet(days))
            }
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Long { min, max } => write!(f, "long {min}..={max}"),
            ParamType::Hour => f.write_str("hour 0..=23"),
            ParamType::Priority => f.write_str("priority 0..=9"),
            other => f.write_str(other.name()),
        }
    }
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A `long`, `hour` or `priority`.
    Long(i64),
    /// An `epsilon`, in micro-ε.
    Epsilon(u64),
    /// A `string`.
    String(String),
    /// A `string_set`, in the order given, without duplicates.
    StringSet(Vec<String>),
    /// A `weekday_set`, sorted, without duplicates.
    WeekdaySet(Vec<i64>),
}

impl Value {
    /// The Cedar literal of the value: the only form in which it enters a policy.
    pub fn cedar(&self) -> String {
        match self {
            Value::Long(v) => v.to_string(),
            Value::Epsilon(micro) => micro.to_string(),
            Value::String(s) => cedar_string(s),
            Value::StringSet(set) => {
                format!(
                    "[{}]",
                    set.iter().map(|s| cedar_string(s)).collect::<Vec<_>>().join(", ")
                )
            }
            Value::WeekdaySet(days) => {
                format!(
                    "[{}]",
                    days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                )
            }
        }
    }

    /// The canonical CLI text of the value (what `@p_<param>` records): parsing it gives the
    /// same value.
    pub fn text(&self) -> String {
        match self {
            Value::Long(v) => v.to_string(),
            Value::Epsilon(micro) => epsilon_text(*micro),
            Value::String(s) => s.clone(),
            Value::StringSet(set) => set.join(","),
            Value::WeekdaySet(days) => days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","),
        }
    }

    /// The value as a whole number, for a cap annotation (`None` for texts and sets).
    pub fn number(&self) -> Option<i64> {
        match self {
            Value::Long(v) => Some(*v),
            Value::Epsilon(micro) => i64::try_from(*micro).ok(),
            _ => None,
        }
    }
}

/// A Cedar string literal (quotes included) holding exactly `s`.
pub fn cedar_string(s: &str) -> String {
    // `escape_default` writes `\"`, `\'`, `\\`, `\n`, `\r`, `\t` and `\u{…}` for every other
    // character outside printable ASCII: all escapes Cedar's string literals read back.
    format!("\"{}\"", s.escape_default())
}

fn number(text: &str, min: i64, max: i64) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is out of range {min}..={max}")),
        Err(_) => Err(format!("{text:?} is not a whole number (expected {min}..={max})")),
    }
}

fn string(text: &str) -> Result<String, String> {
    let chars = text.chars().count();
    if chars > MAX_STRING_CHARS {
        return Err(format!("{chars} characters, at most {MAX_STRING_CHARS}"));
    }
    Ok(text.to_owned())
}

/// `"0.25"` → 250000 micro-ε.
fn epsilon(text: &str) -> Result<u64, String> {
    let bad =
        || format!("{text:?} is not an ε (expected a decimal such as 0.25, at most 6 decimals, 0..={MAX_EPSILON})");
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 6 || (t.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    if whole > MAX_EPSILON {
        return Err(bad());
    }
    let frac_micro: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().map_err(|_| bad())?
    };
    let micro = whole * MICRO + frac_micro;
    if micro > MAX_EPSILON * MICRO {
        return Err(bad());
    }
    Ok(micro)
}

/// 250000 micro-ε → `"0.25"`.
pub fn epsilon_text(micro: u64) -> String {
    let (whole, frac) = (micro / MICRO, micro % MICRO);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_text_round_trips_and_refuses_junk() {
        let t = ParamType::Epsilon;
        assert_eq!(t.parse("0.25"), Ok(Value::Epsilon(250_000)));
        assert_eq!(t.parse("1"), Ok(Value::Epsilon(1_000_000)));
        assert_eq!(t.parse("0.000001"), Ok(Value::Epsilon(1)));
        for (micro, text) in [
            (250_000, "0.25"),
            (1_000_000, "1"),
            (1, "0.000001"),
            (0, "0"),
            (1_500_000, "1.5"),
        ] {
            assert_eq!(epsilon_text(micro), text);
            assert_eq!(t.parse(text), Ok(Value::Epsilon(micro)));
        }
        for junk in ["", ".5", "1.", "-1", "0.0000001", "1e3", "0,5", "abc", "1000001"] {
            assert!(t.parse(junk).is_err(), "{junk:?} parsed");
        }
    }

    #[test]
    fn numbers_keep_to_their_ranges() {
        assert_eq!(ParamType::Hour.parse("23"), Ok(Value::Long(23)));
        assert!(ParamType::Hour.parse("24").is_err());
        assert!(ParamType::Priority.parse("10").expect_err("error").contains("0..=9"));
        assert!(ParamType::Long { min: 1, max: 5 }
            .parse("x")
            .expect_err("error")
            .contains("not a whole number"));
        assert!(ParamType::from_name("long", Some(1), None).is_err());
        assert!(ParamType::from_name("hour", Some(1), Some(2)).is_err());
        assert!(ParamType::from_name("bool", None, None)
            .expect_err("error")
            .contains("unknown type"));
    }

    #[test]
    fn sets_are_non_empty_deduplicated_and_canonical() {
        let v = ParamType::StringSet.parse(" kyc, aml ,kyc").expect("set");
        assert_eq!(v, Value::StringSet(vec!["kyc".into(), "aml".into()]));
        assert_eq!(v.text(), "kyc,aml");
        assert_eq!(v.cedar(), r#"["kyc", "aml"]"#);
        assert!(ParamType::StringSet.parse("").is_err());
        assert!(ParamType::StringSet.parse("a,,b").is_err());
        let days = ParamType::WeekdaySet.parse("5,1,3,1").expect("days");
        assert_eq!(days.cedar(), "[1, 3, 5]");
        assert!(ParamType::WeekdaySet.parse("0").is_err());
        assert!(ParamType::WeekdaySet.parse("").is_err());
    }

    #[test]
    fn strings_become_escaped_literals() {
        assert_eq!(cedar_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(cedar_string("x\ny}"), r#""x\ny}""#);
        assert_eq!(cedar_string("é"), r#""\u{e9}""#);
        assert!(ParamType::String.parse(&"x".repeat(MAX_STRING_CHARS + 1)).is_err());
    }
}
