//! Prices and shared costs as versioned data: validation and CSV import.
//!
//! Price CSV: a header naming the columns (any order) `provider, region, instance_type,
//! device_type, devices_per_instance, pricing_category, usd_per_hour, valid_from` and optionally
//! `source`; `valid_from` is a date (midnight UTC) or an RFC 3339 instant. Fields may be quoted
//! (`"…"`, `""` for a quote). Every row is checked before anything is written; the first bad
//! row is reported as `<file>:<line>: <column>: <what is wrong>`.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::error::{FinopsError, Result};

/// Pricing categories the table accepts (its check constraint; `zkq-store` owns the list).
pub use zkq_store::rows::PRICING_CATEGORIES;

/// A price to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPrice {
    /// Provider.
    pub provider: String,
    /// Region.
    pub region: String,
    /// Instance type.
    pub instance_type: String,
    /// Device type workers report.
    pub device_type: String,
    /// Devices per instance (≥ 1).
    pub devices_per_instance: i32,
    /// One of [`PRICING_CATEGORIES`].
    pub pricing_category: String,
    /// USD per instance-hour (≥ 0).
    pub usd_per_hour: f64,
    /// First instant it applies.
    pub valid_from: DateTime<Utc>,
    /// Where the figure comes from.
    pub source: Option<String>,
}

impl NewPrice {
    /// Checks every field; the error names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (what, v) in [("provider", &self.provider), ("region", &self.region), ("instance_type", &self.instance_type), ("device_type", &self.device_type)] {
            if v.trim().is_empty() {
                return Err(format!("{what}: empty"));
            }
        }
        if !PRICING_CATEGORIES.contains(&self.pricing_category.as_str()) {
            return Err(format!("pricing_category: {:?} is not one of {}", self.pricing_category, PRICING_CATEGORIES.join(", ")));
        }
        if self.devices_per_instance < 1 {
            return Err(format!("devices_per_instance: must be at least 1, got {}", self.devices_per_instance));
        }
        if !self.usd_per_hour.is_finite() || self.usd_per_hour < 0.0 || self.usd_per_hour >= 1e8 {
            return Err(format!("usd_per_hour: must be a non-negative number below 100000000, got {}", self.usd_per_hour));
        }
        Ok(())
    }
}

/// A shared cost to add (`broker`, `database`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSharedCost {
    /// Component: lowercase letters, digits, `-`, `_`.
    pub component: String,
    /// Region, if regional.
    pub region: Option<String>,
    /// USD per hour (≥ 0).
    pub usd_per_hour: f64,
    /// First instant it applies.
    pub valid_from: DateTime<Utc>,
    /// Where the figure comes from.
    pub source: Option<String>,
}

impl NewSharedCost {
    /// Checks every field; the error names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let ok = self.component.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && self.component.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            return Err(format!("component: {:?} must be lowercase letters, digits, - or _ (starting with a letter)", self.component));
        }
        if !self.usd_per_hour.is_finite() || self.usd_per_hour < 0.0 || self.usd_per_hour >= 1e8 {
            return Err(format!("usd_per_hour: must be a non-negative number below 100000000, got {}", self.usd_per_hour));
        }
        Ok(())
    }
}

/// Parses an instant: a date (midnight UTC) or RFC 3339.
pub fn parse_valid_from(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)));
    }
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))
}

/// Splits one CSV line into fields (quotes with `""` escapes).
fn split_csv(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// Parses a price CSV (see the module docs). `name` is used in error messages.
pub fn parse_price_csv(name: &str, text: &str) -> Result<Vec<NewPrice>> {
    const REQUIRED: [&str; 8] = ["provider", "region", "instance_type", "device_type", "devices_per_instance", "pricing_category", "usd_per_hour", "valid_from"];
    let bad = |line: usize, what: String| FinopsError::BadInput(format!("{name}:{line}: {what}"));
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((hl, header)) = lines.next() else { return Err(FinopsError::BadInput(format!("{name}: empty file (expected a header: {})", REQUIRED.join(",")))) };
    let header: Vec<String> = split_csv(header.trim_start_matches('\u{feff}')).map_err(|e| bad(hl + 1, e))?.into_iter().map(|h| h.trim().to_owned()).collect();
    let index = |col: &str| header.iter().position(|h| h == col);
    let mut at = Vec::new();
    for col in REQUIRED {
        at.push(index(col).ok_or_else(|| bad(hl + 1, format!("missing column {col} (header needs {})", REQUIRED.join(","))))?);
    }
    if let Some(unknown) = header.iter().find(|h| !REQUIRED.contains(&h.as_str()) && h.as_str() != "source") {
        return Err(bad(hl + 1, format!("unknown column {unknown:?}")));
    }
    let source_at = index("source");
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let fields = split_csv(line).map_err(|e| bad(n, e))?;
        if fields.len() != header.len() {
            return Err(bad(n, format!("{} fields, the header has {}", fields.len(), header.len())));
        }
        let f = |k: usize| fields[at[k]].trim().to_owned();
        let devices = f(4).parse::<i32>().map_err(|_| bad(n, format!("devices_per_instance: {:?} is not a whole number", f(4))))?;
        let usd = f(6).parse::<f64>().map_err(|_| bad(n, format!("usd_per_hour: {:?} is not a number", f(6))))?;
        let valid_from = parse_valid_from(&f(7)).map_err(|e| bad(n, format!("valid_from: {e}")))?;
        let price = NewPrice {
            provider: f(0),
            region: f(1),
            instance_type: f(2),
            device_type: f(3),
            devices_per_instance: devices,
            pricing_category: f(5),
            usd_per_hour: usd,
            valid_from,
            source: source_at.map(|k| fields[k].trim().to_owned()).filter(|s| !s.is_empty()),
        };
        price.validate().map_err(|e| bad(n, e))?;
        out.push(price);
    }
    if out.is_empty() {
        return Err(FinopsError::BadInput(format!("{name}: no price rows after the header")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "provider,region,instance_type,device_type,devices_per_instance,pricing_category,usd_per_hour,valid_from,source";

    #[test]
    fn a_good_file_parses_with_quotes_and_any_column_order() {
        let text = format!("{HEADER}\naws,us-east-1,p5.48xlarge,nvidia-h100,8,spot,26.57,2026-08-01,\"dstack offer, Aug 2026\"\n\n");
        let rows = parse_price_csv("p.csv", &text).expect("parse");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].source.as_deref(), Some("dstack offer, Aug 2026"));
        assert_eq!(rows[0].valid_from, "2026-08-01T00:00:00Z".parse::<DateTime<Utc>>().expect("t"));
        let swapped = "usd_per_hour,provider,region,instance_type,device_type,devices_per_instance,pricing_category,valid_from\n1.5,aws,eu,x,gpu,1,on-demand,2026-01-01T00:00:00Z\n";
        assert_eq!(parse_price_csv("s.csv", swapped).expect("parse")[0].usd_per_hour, 1.5);
    }

    #[test]
    fn bad_rows_name_the_line_and_column() {
        let e = parse_price_csv("p.csv", &format!("{HEADER}\naws,us-east-1,x,gpu,8,spot,1,2026-01-01,\naws,us-east-1,x,gpu,8,preemptible,1,2026-01-01,\n")).expect_err("category");
        assert!(e.to_string().starts_with("p.csv:3: pricing_category:"), "{e}");
        let e = parse_price_csv("p.csv", &format!("{HEADER}\naws,us-east-1,x,gpu,8,spot,-1,2026-01-01,\n")).expect_err("negative");
        assert!(e.to_string().starts_with("p.csv:2: usd_per_hour:"), "{e}");
        let e = parse_price_csv("p.csv", &format!("{HEADER}\naws,us-east-1,x,gpu,8,spot,1,last tuesday,\n")).expect_err("date");
        assert!(e.to_string().starts_with("p.csv:2: valid_from:"), "{e}");
        let e = parse_price_csv("p.csv", "provider,region\naws,x\n").expect_err("header");
        assert!(e.to_string().contains("missing column instance_type"), "{e}");
        assert!(parse_price_csv("p.csv", "").is_err());
        assert!(parse_price_csv("p.csv", HEADER).is_err(), "no rows");
    }

    #[test]
    fn shared_costs_are_checked() {
        let ok = NewSharedCost { component: "broker".into(), region: None, usd_per_hour: 0.5, valid_from: Utc::now(), source: None };
        assert!(ok.validate().is_ok());
        assert!(NewSharedCost { component: "Broker X".into(), ..ok.clone() }.validate().is_err());
        assert!(NewSharedCost { usd_per_hour: f64::NAN, ..ok }.validate().is_err());
    }
}
