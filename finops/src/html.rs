//! One self-contained HTML page: the summary, the drivers, the report table and both charts
//! (inline SVG) — no external file, script, stylesheet or font.

use crate::output::num;
use crate::report::{Compared, LineKind, Report, FIGURES};

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), num)
}

fn pct(v: Option<f64>) -> String {
    // Round first so that −0.04 % prints as +0.0 %, not −0.0 %.
    v.map_or_else(|| "n/a".into(), |p| format!("{:+.1}%", (p * 10.0).round() / 10.0 + 0.0))
}

fn row_html(c: &Compared) -> String {
    let l = &c.current;
    let ch = |name: &str| FIGURES.iter().find(|f| f.0 == name).map(|f| c.change_of(f)).and_then(|x| x.pct);
    let class = match l.kind {
        LineKind::Total => " class=\"total\"",
        LineKind::Idle | LineKind::Shared => " class=\"pool\"",
        LineKind::Workload => "",
    };
    let pool = |v: f64| if l.spread && l.kind != LineKind::Workload { format!("({})", num(v)) } else { num(v) };
    format!(
        "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(&l.group),
        l.proofs,
        pct(ch("proofs")),
        num(if l.kind == LineKind::Idle { l.idle_seconds } else { l.proving_seconds }),
        num(l.cost_usd()),
        pct(ch("total_usd")),
        opt(l.usd_per_proof()),
        opt(l.usd_per_1k()),
        opt(c.previous.as_ref().and_then(|p| p.usd_per_1k())),
        pct(ch("usd_per_1k_proofs")),
        opt(l.p95_prove_ms),
        l.cache_hit_rate.map_or_else(|| "–".into(), |h| format!("{:.1}%", 100.0 * h)),
        if l.kind == LineKind::Shared { String::new() } else { pool(l.idle_usd) },
        if l.kind == LineKind::Idle { String::new() } else { pool(l.shared_usd) },
    )
}

/// The page. `charts` are (caption, SVG markup) pairs.
pub fn page(report: &Report, charts: &[(String, String)]) -> String {
    let t = &report.total;
    let mut body = String::new();
    body.push_str(&format!(
        "<h1>zkq cost report</h1>\n<p class=\"meta\">By {} · {} compared with {} · shared cost spread {}</p>\n",
        report.by.as_str(),
        escape(&report.period.label()),
        escape(&report.previous_period.label()),
        report.share
    ));
    if report.empty {
        body.push_str(&format!("<p class=\"empty\">{}</p>\n", escape(&report.empty_message())));
    }
    body.push_str(&format!(
        "<div class=\"cards\"><div><b>${}</b><span>total cost</span></div><div><b>{}</b><span>proofs</span></div><div><b>{}</b><span>USD per 1k proofs ({})</span></div><div><b>${}</b><span>idle</span></div><div><b>${}</b><span>shared</span></div></div>\n",
        num(t.current.total_usd),
        t.current.proofs,
        opt(t.current.usd_per_1k()),
        pct(FIGURES.iter().find(|f| f.0 == "usd_per_1k_proofs").and_then(|f| t.change_of(f).pct)),
        num(t.current.idle_usd),
        num(t.current.shared_usd),
    ));
    if let Some(d) = &t.drivers {
        body.push_str(&format!(
            "<h2>Why cost per 1k proofs changed</h2>\n<table class=\"drivers\"><tr><th>previous</th><th>now</th><th>change</th><th>price mix</th><th>device-seconds per proof</th><th>utilisation</th></tr>\n<tr><td>${}</td><td>${}</td><td>{:+}</td><td>{:+}</td><td>{:+}</td><td>{:+}</td></tr></table>\n<p class=\"note\">USD per 1k proofs; the three parts sum to the change (LMDI decomposition of 1000 · price per paid device-second · device-seconds per proof ÷ utilisation).</p>\n",
            num(d.previous_usd_per_1k),
            num(d.current_usd_per_1k),
            num(d.change),
            num(d.price_mix),
            num(d.device_seconds_per_proof),
            num(d.utilisation)
        ));
    }
    body.push_str("<h2>Rows</h2>\n<table><tr><th>group</th><th>proofs</th><th>Δ%</th><th>device-s</th><th>cost $</th><th>Δ%</th><th>$/proof</th><th>$/1k proofs</th><th>prev $/1k</th><th>Δ%</th><th>p95 ms</th><th>cache hit</th><th>idle $</th><th>shared $</th></tr>\n");
    for c in report.rows.iter().chain(std::iter::once(&report.total)) {
        body.push_str(&row_html(c));
    }
    body.push_str("</table>\n<p class=\"note\">(idle) and (shared): pools already spread into the rows above.</p>\n");
    for (caption, svg) in charts {
        let svg = svg.trim_start_matches(|c| c != '<').trim();
        let svg = match svg.find("<svg") {
            Some(i) => &svg[i..],
            None => svg,
        };
        body.push_str(&format!("<figure>{svg}<figcaption>{}</figcaption></figure>\n", escape(caption)));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>zkq cost report {}</title>\n<style>\nbody{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}tr.total{{font-weight:bold}}tr.pool{{color:#777}}.cards{{display:flex;gap:1em}}.cards div{{border:1px solid #ccc;padding:0.8em 1.2em;border-radius:6px}}.cards b{{display:block;font-size:1.4em}}.cards span{{color:#666}}.note,.meta{{color:#666}}.empty{{font-weight:bold;color:#b00}}figure{{margin:1.5em 0}}svg{{max-width:100%;height:auto}}\n</style></head><body>\n{body}</body></html>\n",
        escape(&report.period.label())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::ShareMode;
    use crate::period::Period;
    use crate::report::{build, tests::dataset, By};

    #[test]
    fn the_page_holds_tables_and_charts_inline() {
        let hour = Period::new("2026-11-16T10:00:00Z".parse().expect("t"), "2026-11-16T11:00:00Z".parse().expect("t")).expect("p");
        let r = build(&dataset(), &hour, By::Tenant, ShareMode::Weighted).expect("report");
        let html = page(&r, &[("trend".into(), "<?xml version=\"1.0\"?>\n<svg width=\"10\"></svg>".into())]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<svg width=\"10\"></svg>") && !html.contains("<?xml"));
        assert!(html.contains("<td>a</td>") && html.contains("Why cost per 1k proofs changed"));
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("http://") && !html.contains("https://"), "self-contained");
    }
}
