//! Renderings of a [`Report`]: an aligned text table, JSON, and — through a polars frame with one
//! flat row per report row — CSV and Parquet.
//!
//! Flat columns: `period_start, period_end, previous_start, previous_end, group, kind, jobs,
//! idle_device_seconds, workload_usd, idle_usd, shared_usd, list_usd, spread`, then for each
//! figure F of [`FIGURES`] (`proofs, device_seconds, total_usd, usd_per_proof,
//! usd_per_1k_proofs, p95_prove_ms, cache_hit_rate`): `F, F_prev, F_change, F_change_pct`, then
//! the attribution of the change in cost per 1k proofs: `driver_price_mix,
//! driver_device_seconds_per_proof, driver_utilisation`. Missing values are empty (CSV) or null
//! (Parquet, JSON) — never NaN.

use std::io::Cursor;

use polars::prelude::*;
use serde_json::{json, Value};

use crate::error::{FinopsError, Result};
use crate::report::{Compared, LineKind, Report, FIGURES};

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text (default).
    Table,
    /// CSV.
    Csv,
    /// Parquet (needs `--out`).
    Parquet,
    /// JSON.
    Json,
}

impl std::str::FromStr for Format {
    type Err = FinopsError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            "json" => Ok(Self::Json),
            other => Err(FinopsError::BadInput(format!("--format {other:?} is not one of table, csv, parquet, json"))),
        }
    }
}

/// A number with about four significant digits (money on CPU devices is tiny).
pub fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        let digits = (-a.log10().floor()) as usize + 3;
        format!("{v:.digits$}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), num)
}

fn pct(v: Option<f64>) -> String {
    // Round first so that −0.04 % prints as +0.0 %, not −0.0 %.
    v.map_or_else(|| "n/a".into(), |p| format!("{:+.1}%", (p * 10.0).round() / 10.0 + 0.0))
}

fn all_rows(r: &Report) -> impl Iterator<Item = &Compared> {
    r.rows.iter().chain(std::iter::once(&r.total))
}

/// The aligned text table with the period comparison and the drivers.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "zkq cost report by {} · {} (previous: {}) · shared cost spread {}\n",
        r.by.as_str(),
        r.period.label(),
        r.previous_period.label(),
        r.share
    ));
    if r.empty {
        out.push_str(&r.empty_message());
        out.push('\n');
        let t = &r.total.current;
        if t.total_usd > 0.0 {
            out.push_str(&format!("paid without proofs: ${} (idle ${}, shared ${})\n", num(t.total_usd), num(t.idle_usd), num(t.shared_usd)));
        }
        return out;
    }
    let header = ["group", "proofs", "Δ%", "device-s", "cost $", "Δ%", "$/proof", "$/1k proofs", "prev $/1k", "Δ%", "p95 ms", "cache hit", "idle $", "shared $"];
    let f = |name: &str| FIGURES.iter().find(|f| f.0 == name).copied();
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for c in all_rows(r) {
        let l = &c.current;
        let prev_1k = c.previous.as_ref().and_then(|p| p.usd_per_1k());
        let ch = |name: &str| f(name).map(|fig| c.change_of(&fig).pct);
        let pool = |v: f64| if l.spread { format!("({})", num(v)) } else { num(v) };
        let (idle, shared) = match l.kind {
            LineKind::Idle => (pool(l.idle_usd), String::new()),
            LineKind::Shared => (String::new(), pool(l.shared_usd)),
            _ => (num(l.idle_usd), num(l.shared_usd)),
        };
        cells.push(vec![
            l.group.clone(),
            if l.kind == LineKind::Workload || l.kind == LineKind::Total { l.proofs.to_string() } else { "".into() },
            if l.kind == LineKind::Workload || l.kind == LineKind::Total { pct(ch("proofs").flatten()) } else { "".into() },
            num(if l.kind == LineKind::Idle { l.idle_seconds } else { l.proving_seconds }),
            num(l.cost_usd()),
            pct(ch("total_usd").flatten()),
            opt(l.usd_per_proof()),
            opt(l.usd_per_1k()),
            opt(prev_1k),
            pct(ch("usd_per_1k_proofs").flatten()),
            opt(l.p95_prove_ms),
            l.cache_hit_rate.map_or_else(|| "–".into(), |h| format!("{:.1}%", 100.0 * h)),
            idle,
            shared,
        ]);
    }
    let widths: Vec<usize> = (0..header.len()).map(|i| cells.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    for (n, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pad = widths[i] - s.chars().count();
                if i == 0 { format!("{s}{}", " ".repeat(pad)) } else { format!("{}{s}", " ".repeat(pad)) }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    if r.rows.iter().any(|c| c.current.spread) {
        out.push_str(&format!("(idle) and (shared) pools are spread into the rows above ({}).\n", r.share));
    }
    let t = &r.total;
    match (&t.drivers, t.previous.as_ref().and_then(|p| p.usd_per_1k()), t.current.usd_per_1k()) {
        (Some(d), _, _) => out.push_str(&format!(
            "cost per 1k proofs ${} → ${} ({:+.1}%): price mix {:+}, device-seconds per proof {:+}, utilisation {:+} (USD per 1k proofs)\n",
            num(d.previous_usd_per_1k),
            num(d.current_usd_per_1k),
            100.0 * d.change / d.previous_usd_per_1k,
            num(d.price_mix),
            num(d.device_seconds_per_proof),
            num(d.utilisation)
        )),
        (None, None, _) => out.push_str(&format!("no proofs in the previous period ({}): no comparison\n", r.previous_period.label())),
        (None, _, _) => out.push_str("the change in cost per 1k proofs cannot be attributed (a factor is zero)\n"),
    }
    out
}

/// Report as JSON: every row with its previous figures, changes and drivers.
pub fn json(r: &Report) -> Value {
    let row = |c: &Compared| {
        let changes: serde_json::Map<String, Value> = FIGURES
            .iter()
            .map(|f| {
                let ch = c.change_of(f);
                (f.0.to_owned(), json!({ "current": (f.1)(&c.current), "previous": c.previous.as_ref().and_then(|p| (f.1)(p)), "abs": ch.abs, "pct": ch.pct }))
            })
            .collect();
        json!({ "group": c.current.group, "kind": c.current.kind, "current": c.current, "previous": c.previous, "figures": changes, "drivers": c.drivers })
    };
    json!({
        "by": r.by,
        "share": r.share,
        "period": r.period,
        "previous_period": r.previous_period,
        "empty": r.empty,
        "message": r.empty.then(|| r.empty_message()),
        "rows": r.rows.iter().map(row).collect::<Vec<_>>(),
        "total": row(&r.total),
    })
}

/// The report as a flat polars frame (one row per report row, the total last).
pub fn frame(r: &Report) -> Result<DataFrame> {
    let rows: Vec<&Compared> = all_rows(r).collect();
    let n = rows.len();
    let text = |name: &str, v: Vec<String>| Column::new(name.into(), v);
    let mut columns = vec![
        text("period_start", vec![r.period.start.to_rfc3339(); n]),
        text("period_end", vec![r.period.end.to_rfc3339(); n]),
        text("previous_start", vec![r.previous_period.start.to_rfc3339(); n]),
        text("previous_end", vec![r.previous_period.end.to_rfc3339(); n]),
        text("group", rows.iter().map(|c| c.current.group.clone()).collect()),
        text("kind", rows.iter().map(|c| serde_json::to_value(c.current.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()).collect()),
        Column::new("jobs".into(), rows.iter().map(|c| c.current.jobs).collect::<Vec<u64>>()),
        Column::new("idle_device_seconds".into(), rows.iter().map(|c| c.current.idle_seconds).collect::<Vec<f64>>()),
        Column::new("workload_usd".into(), rows.iter().map(|c| c.current.workload_usd).collect::<Vec<f64>>()),
        Column::new("idle_usd".into(), rows.iter().map(|c| c.current.idle_usd).collect::<Vec<f64>>()),
        Column::new("shared_usd".into(), rows.iter().map(|c| c.current.shared_usd).collect::<Vec<f64>>()),
        Column::new("list_usd".into(), rows.iter().map(|c| c.current.list_usd).collect::<Vec<f64>>()),
        Column::new("spread".into(), rows.iter().map(|c| c.current.spread).collect::<Vec<bool>>()),
    ];
    for f in FIGURES {
        let cur: Vec<Option<f64>> = rows.iter().map(|c| (f.1)(&c.current)).collect();
        let prev: Vec<Option<f64>> = rows.iter().map(|c| c.previous.as_ref().and_then(|p| (f.1)(p))).collect();
        let abs: Vec<Option<f64>> = rows.iter().map(|c| c.change_of(f).abs).collect();
        let pct: Vec<Option<f64>> = rows.iter().map(|c| c.change_of(f).pct).collect();
        columns.push(Column::new(f.0.into(), cur));
        columns.push(Column::new(format!("{}_prev", f.0).into(), prev));
        columns.push(Column::new(format!("{}_change", f.0).into(), abs));
        columns.push(Column::new(format!("{}_change_pct", f.0).into(), pct));
    }
    columns.push(Column::new("driver_price_mix".into(), rows.iter().map(|c| c.drivers.map(|d| d.price_mix)).collect::<Vec<Option<f64>>>()));
    columns.push(Column::new("driver_device_seconds_per_proof".into(), rows.iter().map(|c| c.drivers.map(|d| d.device_seconds_per_proof)).collect::<Vec<Option<f64>>>()));
    columns.push(Column::new("driver_utilisation".into(), rows.iter().map(|c| c.drivers.map(|d| d.utilisation)).collect::<Vec<Option<f64>>>()));
    DataFrame::new_infer_height(columns).map_err(|e| FinopsError::frame("building the report frame", e))
}

/// A frame as CSV bytes.
pub fn csv_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).include_header(true).finish(df).map_err(|e| FinopsError::frame("writing CSV", e))?;
    Ok(buf)
}

/// A frame as Parquet bytes.
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut cursor = Cursor::new(Vec::new());
    ParquetWriter::new(&mut cursor).finish(df).map_err(|e| FinopsError::frame("writing Parquet", e))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::ShareMode;
    use crate::period::Period;
    use crate::report::{build, tests::dataset, By};

    fn report() -> Report {
        let hour = Period::new("2026-11-16T10:00:00Z".parse().expect("t"), "2026-11-16T11:00:00Z".parse().expect("t")).expect("period");
        build(&dataset(), &hour, By::Tenant, ShareMode::Weighted).expect("report")
    }

    #[test]
    fn the_table_shows_rows_changes_and_drivers() {
        let text = table(&report());
        assert!(text.contains("zkq cost report by tenant"), "{text}");
        let a = text.lines().find(|l| l.starts_with("a ")).expect("row a");
        assert!(a.contains("11000") && a.contains("+50.0%"), "{a}");
        assert!(text.contains("__idle__") && text.contains("(32.00)"));
        assert!(text.contains("cost per 1k proofs $22000 → $11000 (-50.0%)"), "{text}");
        assert!(!text.contains("NaN"));
    }

    #[test]
    fn csv_and_parquet_carry_every_figure_with_its_previous_value() {
        let mut df = frame(&report()).expect("frame");
        assert_eq!(df.height(), 5, "a, b, __idle__, __shared__, TOTAL");
        let csv = String::from_utf8(csv_bytes(&mut df).expect("csv")).expect("utf8");
        let header = csv.lines().next().expect("header");
        for col in ["usd_per_1k_proofs", "usd_per_1k_proofs_prev", "usd_per_1k_proofs_change_pct", "driver_utilisation", "cache_hit_rate"] {
            assert!(header.split(',').any(|h| h == col), "{col} missing: {header}");
        }
        let total = csv.lines().last().expect("total");
        assert!(total.contains(",TOTAL,total,") && total.contains("11000"), "{total}");
        assert!(!csv.contains("NaN"));
        let pq = parquet_bytes(&mut df).expect("parquet");
        assert_eq!(&pq[..4], b"PAR1");
    }

    #[test]
    fn json_says_an_empty_period_is_empty() {
        let r = build(&dataset(), &Period::parse("2026-12-01", "2026-12-07").expect("p"), By::Tenant, ShareMode::Weighted).expect("report");
        let v = json(&r);
        assert_eq!(v["message"], "no proofs in 2026-12-01 – 2026-12-07");
        assert!(table(&r).starts_with("zkq cost report") && table(&r).contains("no proofs in 2026-12-01 – 2026-12-07"));
    }
}
