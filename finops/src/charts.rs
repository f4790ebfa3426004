//! Charts, drawn with plotters and a bundled font (DejaVu Sans, `finops/assets/fonts`, Bitstream
//! Vera licence), so neither PNG nor SVG needs system fonts or fontconfig:
//! - **trend**: cost per 1k proofs per day (or week) with a target line;
//! - **split**: cost by tenant, stacked workload / idle / shared.
//!
//! Each chart is drawn by one function generic over the backend, once to SVG (a string) and
//! once to PNG (a file, written to a temporary name and renamed).

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{FinopsError, Result};
use crate::files::produce_atomic;
use crate::output::num;
use crate::report::{LineKind, Report};

/// DejaVu Sans, the bundled font.
pub const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// The family name charts use (registered with the bundled font; SVG viewers fall back to
/// their own sans-serif).
const FAMILY: &str = "sans-serif";

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREY: RGBColor = RGBColor(150, 150, 150);
const RED: RGBColor = RGBColor(214, 39, 40);

fn ensure_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(FinopsError::Chart { what: "the bundled font".into(), reason: "DejaVuSans.ttf could not be loaded".into() })
    }
}

/// Cost per 1k proofs over time.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendChart {
    /// Title.
    pub title: String,
    /// (bucket label, cost per 1k proofs — `None` when the bucket had no proofs).
    pub points: Vec<(String, Option<f64>)>,
    /// The target cost per 1k proofs, with its description.
    pub target: Option<(f64, String)>,
}

/// Cost by tenant, stacked.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitChart {
    /// Title.
    pub title: String,
    /// (tenant, [workload, idle, shared] USD).
    pub bars: Vec<(String, [f64; 3])>,
}

impl TrendChart {
    /// From a report by day or week.
    pub fn from_report(r: &Report, target: Option<(f64, String)>) -> Self {
        let points = r.rows.iter().filter(|c| c.current.kind == LineKind::Workload).map(|c| (c.current.group.clone(), c.current.usd_per_1k())).collect();
        TrendChart { title: format!("Cost per 1k proofs by {}, {}", r.by.as_str(), r.period.label()), points, target }
    }
}

impl SplitChart {
    /// From a report by tenant (any dimension works): the idle and shared rows appear as their
    /// own bars when they were not spread.
    pub fn from_report(r: &Report) -> Self {
        let bars = r
            .rows
            .iter()
            .filter(|c| c.current.total_usd > 0.0)
            .map(|c| {
                let l = &c.current;
                let parts = match l.kind {
                    LineKind::Idle => [0.0, l.idle_usd, 0.0],
                    LineKind::Shared => [0.0, 0.0, l.shared_usd],
                    _ => [l.workload_usd, l.idle_usd, l.shared_usd],
                };
                (l.group.clone(), parts)
            })
            .collect();
        SplitChart { title: format!("Cost by {}, {} (shared spread {})", r.by.as_str(), r.period.label(), r.share), bars }
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> FinopsError + '_ {
    move |e| FinopsError::Chart { what: what.to_owned(), reason: e.to_string() }
}

fn draw_trend<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &TrendChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = err("the cost trend chart");
    root.fill(&WHITE).map_err(&e)?;
    let n = c.points.len().max(1);
    let values: Vec<f64> = c.points.iter().filter_map(|p| p.1).chain(c.target.as_ref().map(|t| t.0)).collect();
    let top = values.iter().copied().fold(0.0_f64, f64::max);
    let top = if top > 0.0 { top * 1.2 } else { 1.0 };
    let labels: Vec<String> = c.points.iter().map(|p| p.0.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5_f64..(n as f64 - 0.5), 0.0_f64..top)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_labels(n.min(12))
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| axis_money(*v, top))
        .y_desc("USD per 1k proofs")
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(&e)?;
    // One line per run of buckets that had proofs.
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut runs = Vec::new();
    for (i, p) in c.points.iter().enumerate() {
        match p.1 {
            Some(v) => run.push((i as f64, v)),
            None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    for (k, r) in runs.iter().enumerate() {
        let series = chart.draw_series(LineSeries::new(r.iter().copied(), BLUE.stroke_width(2))).map_err(&e)?;
        if k == 0 {
            series.label("cost per 1k proofs").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
        }
        chart.draw_series(r.iter().map(|&(x, y)| Circle::new((x, y), 5, BLUE.filled()))).map_err(&e)?;
    }
    if let Some((target, what)) = &c.target {
        chart
            .draw_series(DashedLineSeries::new(vec![(-0.5, *target), (n as f64 - 0.5, *target)], 10, 6, RED.stroke_width(2)))
            .map_err(&e)?
            .label(format!("target ${} ({what})", num(*target)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FAMILY, 14))
        .draw()
        .map_err(&e)?;
    root.present().map_err(&e)?;
    Ok(())
}

/// Bar chart layout (pixels).
const SPLIT_W: u32 = 960;
const ROW_H: u32 = 38;

fn split_height(c: &SplitChart) -> u32 {
    130 + ROW_H * c.bars.len().max(1) as u32
}

fn draw_split<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &SplitChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = err("the cost split chart");
    root.fill(&WHITE).map_err(&e)?;
    let title = TextStyle::from((FAMILY, 22).into_font()).color(&BLACK);
    let text = TextStyle::from((FAMILY, 14).into_font()).color(&BLACK);
    root.draw(&Text::new(c.title.clone(), (16, 12), title)).map_err(&e)?;
    // Legend.
    let mut x = 16;
    for (name, color) in [("workload", BLUE), ("idle", ORANGE), ("shared", GREY)] {
        root.draw(&Rectangle::new([(x, 50), (x + 14, 64)], color.filled())).map_err(&e)?;
        root.draw(&Text::new(name, (x + 20, 50), text.clone())).map_err(&e)?;
        x += 110;
    }
    let (left, right, top) = (200_i32, SPLIT_W as i32 - 110, 84_i32);
    let max = c.bars.iter().map(|b| b.1.iter().sum::<f64>()).fold(0.0_f64, f64::max);
    let (step, ticks) = nice_ticks(max);
    let axis_max = step * ticks as f64;
    let scale = if axis_max > 0.0 { f64::from(right - left) / axis_max } else { 0.0 };
    if c.bars.is_empty() {
        root.draw(&Text::new("no cost in this period", (left, top + 8), text.clone())).map_err(&e)?;
    }
    for (i, (name, parts)) in c.bars.iter().enumerate() {
        let y = top + i as i32 * ROW_H as i32;
        let label: String = if name.chars().count() > 24 { name.chars().take(23).chain(std::iter::once('…')).collect() } else { name.clone() };
        root.draw(&Text::new(label, (16, y + 8), text.clone())).map_err(&e)?;
        let mut x0 = f64::from(left);
        for (v, color) in parts.iter().zip([BLUE, ORANGE, GREY]) {
            if *v <= 0.0 {
                continue;
            }
            let x1 = x0 + v * scale;
            root.draw(&Rectangle::new([(x0.round() as i32, y + 4), ((x1.round() as i32).max(x0.round() as i32 + 1), y + ROW_H as i32 - 6)], color.filled())).map_err(&e)?;
            x0 = x1;
        }
        let total: f64 = parts.iter().sum();
        root.draw(&Text::new(format!("${}", num(total)), (x0.round() as i32 + 6, y + 8), text.clone())).map_err(&e)?;
    }
    // Axis with five ticks.
    let axis_y = top + (c.bars.len().max(1) as i32) * ROW_H as i32 + 4;
    root.draw(&PathElement::new(vec![(left, axis_y), (right, axis_y)], BLACK.stroke_width(1))).map_err(&e)?;
    for k in 0..=ticks {
        let x = left + ((right - left) as f64 * k as f64 / ticks as f64).round() as i32;
        root.draw(&PathElement::new(vec![(x, axis_y), (x, axis_y + 5)], BLACK.stroke_width(1))).map_err(&e)?;
        root.draw(&Text::new(axis_money(step * k as f64, axis_max), (x - 14, axis_y + 9), text.clone())).map_err(&e)?;
    }
    root.present().map_err(&e)?;
    Ok(())
}

const TREND_SIZE: (u32, u32) = (960, 540);

/// A money axis label with as many decimals as the axis range needs (same for every tick).
fn axis_money(v: f64, range: f64) -> String {
    let decimals = if range >= 20.0 { 0 } else { ((2.0 - range.max(1e-12).log10()).floor() as usize).min(10) };
    format!("${v:.decimals$}")
}

/// A round tick step (1, 2 or 5 × 10ⁿ) and how many ticks reach at least `max` (at most 6).
fn nice_ticks(max: f64) -> (f64, u32) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 1);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| max / s <= 5.0).unwrap_or(10.0 * mag);
    (step, ((max / step).ceil() as u32).max(1))
}

/// The trend chart as SVG.
pub fn trend_svg(c: &TrendChart) -> Result<String> {
    ensure_font()?;
    let mut s = String::new();
    draw_trend(&SVGBackend::with_string(&mut s, TREND_SIZE).into_drawing_area(), c)?;
    Ok(s)
}

/// The trend chart as a PNG file at `path` (written atomically).
pub fn trend_png(c: &TrendChart, path: &Path) -> Result<()> {
    ensure_font()?;
    produce_atomic(path, |tmp| draw_trend(&BitMapBackend::new(tmp, TREND_SIZE).into_drawing_area(), c))
}

/// The split chart as SVG.
pub fn split_svg(c: &SplitChart) -> Result<String> {
    ensure_font()?;
    let mut s = String::new();
    draw_split(&SVGBackend::with_string(&mut s, (SPLIT_W, split_height(c))).into_drawing_area(), c)?;
    Ok(s)
}

/// The split chart as a PNG file at `path` (written atomically).
pub fn split_png(c: &SplitChart, path: &Path) -> Result<()> {
    ensure_font()?;
    produce_atomic(path, |tmp| draw_split(&BitMapBackend::new(tmp, (SPLIT_W, split_height(c))).into_drawing_area(), c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trend() -> TrendChart {
        TrendChart {
            title: "Cost per 1k proofs by day".into(),
            points: vec![("2026-11-16".into(), Some(12.0)), ("2026-11-17".into(), None), ("2026-11-18".into(), Some(9.5)), ("2026-11-19".into(), Some(10.5))],
            target: Some((10.8, "previous period −10%".into())),
        }
    }

    #[test]
    fn charts_render_to_svg_and_png_with_the_bundled_font() {
        let svg = trend_svg(&trend()).expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("2026-11-18") && svg.contains("target $10.80"), "labels and target are drawn");
        let split = SplitChart { title: "Cost by tenant".into(), bars: vec![("acme".into(), [3.0, 24.0, 6.0]), ("beta".into(), [1.0, 8.0, 2.0])] };
        let svg = split_svg(&split).expect("svg");
        assert!(svg.contains("acme") && svg.contains("$33.00"));
        let dir = tempfile::tempdir().expect("tempdir");
        let png = dir.path().join("trend.png");
        trend_png(&trend(), &png).expect("png");
        let bytes = std::fs::read(&png).expect("read");
        assert_eq!(&bytes[1..4], b"PNG");
        split_png(&split, &dir.path().join("split.png")).expect("png");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 2, "no temporary files left");
    }

    #[test]
    fn axes_use_round_ticks_and_one_precision() {
        assert_eq!(nice_ticks(577.4), (200.0, 3));
        let (step, n) = nice_ticks(0.0042);
        assert!((step - 0.001).abs() < 1e-12 && n == 5);
        assert_eq!(axis_money(50.0, 300.0), "$50");
        assert_eq!(axis_money(0.002, 0.005), "$0.0020");
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let c = TrendChart { title: "t".into(), points: vec![], target: None };
        assert!(trend_svg(&c).is_ok());
        assert!(split_svg(&SplitChart { title: "s".into(), bars: vec![] }).expect("svg").contains("no cost in this period"));
    }
}
