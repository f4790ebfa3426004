//! Reading and writing `time,value` series.
//!
//! One point per line, two comma-separated fields: `time` (opaque text: an RFC 3339 timestamp,
//! seconds, a sequence number — kept as written, not interpreted) and `value` (a finite decimal
//! number). An optional first line `time,value` (any case) is a header. Blank lines are skipped;
//! surrounding spaces are trimmed; quoting is not supported. Errors are one line naming the line
//! and column; nothing here panics.

use serde::{Deserialize, Serialize};

use crate::DriftError;

/// One observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// When, as written in the file.
    pub time: String,
    /// The value (finite).
    pub value: f64,
}

/// Parses a `time,value` CSV (see the module docs).
pub fn parse(text: &str) -> Result<Vec<Point>, DriftError> {
    let mut points = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |column: Option<usize>, why: String| DriftError::Csv { line, column, why };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        if fields.len() != 2 {
            return Err(err(
                None,
                format!("expected 2 columns (time,value), found {}", fields.len()),
            ));
        }
        if points.is_empty() && fields[0].eq_ignore_ascii_case("time") && fields[1].eq_ignore_ascii_case("value") {
            continue;
        }
        if fields[0].is_empty() {
            return Err(err(Some(1), "time is empty".into()));
        }
        let value: f64 = fields[1]
            .parse()
            .map_err(|_| err(Some(2), format!("value `{}` is not a number", fields[1])))?;
        if !value.is_finite() {
            return Err(err(Some(2), format!("value `{}` is not finite", fields[1])));
        }
        points.push(Point {
            time: fields[0].to_string(),
            value,
        });
    }
    Ok(points)
}

/// Writes points as a `time,value` CSV with a header; [`parse`] reads it back exactly (Rust
/// prints the shortest decimal that round-trips an `f64`).
pub fn write(points: &[Point]) -> String {
    let mut out = String::from("time,value\n");
    for p in points {
        out += &format!("{},{}\n", p.time, p.value);
    }
    out
}
