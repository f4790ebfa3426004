//! Server-rendered HTML: the escaper and the pages. No JavaScript.
//!
//! Every value that comes from the database, the budget backend or the request goes through
//! [`escape`] (text and double-quoted attribute values alike); the only unescaped text is this
//! module's own markup.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::budget::{BlockRow, LedgerRow, ReceiptRow};

/// `s` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe as element text
/// and as a quoted attribute value.
pub fn escape(s: &str) -> String {
    zkq_policy::i18n::html_escape(s)
}

/// A one-shot message shown at the top of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    /// Something worked.
    Ok(String),
    /// Something was refused or failed.
    Error(String),
}

const STYLE: &str = "
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
header { background: #1d2330; color: #fff; padding: .7rem 1.5rem; display: flex; align-items: center; gap: 1rem; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
header form { margin: 0; }
main { padding: 1rem 1.5rem 3rem; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
table { border-collapse: collapse; background: #fff; width: 100%; box-shadow: 0 1px 2px #0002; }
th, td { padding: .35rem .55rem; border-bottom: 1px solid #e3e6eb; text-align: left; vertical-align: top; }
th { background: #eef0f4; font-weight: 600; font-size: .85rem; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.time { white-space: nowrap; font-size: .85rem; color: #4a5263; }
tr.exhausted td.remaining { color: #b3261e; font-weight: 600; }
.flash { padding: .6rem .9rem; border-radius: 4px; margin-bottom: 1rem; }
.flash.ok { background: #e6f4ea; border: 1px solid #8cc79b; }
.flash.error { background: #fce8e6; border: 1px solid #e49a93; }
form.inline { display: flex; gap: .3rem; margin: .15rem 0; flex-wrap: wrap; }
input[type=text], input[type=password] { padding: .25rem .4rem; border: 1px solid #b8bfcc; border-radius: 3px; font: inherit; }
input.cap { width: 6rem; }
input.reason { width: 12rem; }
button { padding: .25rem .7rem; border: 1px solid #1d2330; border-radius: 3px; background: #fff; font: inherit; cursor: pointer; }
button.danger { border-color: #b3261e; color: #b3261e; }
header button { background: transparent; color: #fff; border-color: #fff8; }
.login { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 1.5rem; box-shadow: 0 1px 3px #0003; border-radius: 6px; }
.login label { display: block; margin: .8rem 0 .2rem; }
.login input { width: 100%; box-sizing: border-box; }
.login button { margin-top: 1rem; width: 100%; }
.empty { color: #4a5263; font-style: italic; }
";

/// The page frame: head, style, header (with the operator and a logout form when logged in),
/// the flash message, then `body`.
fn page(title: &str, operator: Option<(&str, &str)>, flash: Option<&Flash>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · zkq admin</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>zkq · privacy budgets</h1>",
        escape(title)
    );
    if let Some((name, csrf)) = operator {
        let _ = write!(
            out,
            "<span id=\"operator\">{}</span><form method=\"post\" action=\"/admin/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" id=\"logout\">Log out</button></form>",
            escape(name),
            escape(csrf)
        );
    }
    out.push_str("</header>\n<main>\n");
    match flash {
        Some(Flash::Ok(m)) => {
            let _ = writeln!(
                out,
                "<div class=\"flash ok\" id=\"flash\" role=\"status\">{}</div>",
                escape(m)
            );
        }
        Some(Flash::Error(m)) => {
            let _ = writeln!(
                out,
                "<div class=\"flash error\" id=\"flash\" role=\"alert\">{}</div>",
                escape(m)
            );
        }
        None => {}
    }
    out.push_str(body);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The login page; `login_token` goes in the form's hidden `csrf` field.
pub fn login_page(login_token: &str, flash: Option<&Flash>, name: &str) -> String {
    let body = format!(
        "<form class=\"login\" method=\"post\" action=\"/admin/login\">\n<h2>Operator login</h2>\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <label for=\"name\">Name</label><input type=\"text\" id=\"name\" name=\"name\" value=\"{}\" autocomplete=\"username\" required autofocus>\n\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\" id=\"login\">Log in</button>\n</form>\n",
        escape(login_token),
        escape(name)
    );
    page("Log in", None, flash, &body)
}

/// A time for a table cell: `2025-01-31 12:00:00 UTC`, or `–`.
fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "–".into())
}

fn opt(s: Option<&str>) -> String {
    s.map(escape).unwrap_or_else(|| "–".into())
}

/// What the budgets page shows: the backend's rows, or why it could not give them.
#[derive(Debug, Clone)]
pub struct BudgetsView<'a> {
    /// Logged-in operator.
    pub operator: &'a str,
    /// The session's CSRF token, for every form.
    pub csrf: &'a str,
    /// Every ledger.
    pub ledgers: &'a [LedgerRow],
    /// Recent admission blocks.
    pub blocks: &'a [BlockRow],
    /// Recent receipts.
    pub receipts: &'a [ReceiptRow],
    /// Why the rows are missing, when the backend failed.
    pub backend_error: Option<&'a str>,
}

fn hidden_fields(out: &mut String, csrf: &str, tenant: &str, purpose: &str) {
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"tenant\" value=\"{}\">\
         <input type=\"hidden\" name=\"purpose\" value=\"{}\">",
        escape(csrf),
        escape(tenant),
        escape(purpose)
    );
}

/// The budgets page: every ledger with its forms, recent blocks, recent receipts.
pub fn budgets_page(view: &BudgetsView<'_>, flash: Option<&Flash>) -> String {
    let mut b = String::new();
    if let Some(e) = view.backend_error {
        let _ = writeln!(
            b,
            "<div class=\"flash error\" id=\"backend-error\" role=\"alert\">{}</div>",
            escape(e)
        );
    }
    b.push_str("<h2>Ledgers</h2>\n");
    if view.ledgers.is_empty() {
        b.push_str("<p class=\"empty\" id=\"no-ledgers\">No ledgers.</p>\n");
    } else {
        b.push_str(
            "<table id=\"ledgers\">\n<thead><tr><th>Tenant</th><th>Purpose</th><th>Window</th><th>Cap ε</th><th>Spent ε</th>\
             <th>Reserved ε</th><th>Remaining ε</th><th>Per-job max ε</th><th>Window start</th><th>Next release</th>\
             <th>Set cap</th><th>Reset spent</th></tr></thead>\n<tbody>\n",
        );
        for l in view.ledgers {
            let exhausted = l.remaining.trim_start_matches(['0', '.']).is_empty();
            let _ = write!(
                b,
                "<tr class=\"ledger{}\" data-tenant=\"{}\" data-purpose=\"{}\"><td class=\"tenant\">{}</td><td class=\"purpose\">{}</td>\
                 <td class=\"window\">{}</td><td class=\"num cap\">{}</td><td class=\"num spent\">{}</td>\
                 <td class=\"num reserved\">{}</td><td class=\"num remaining\">{}</td><td class=\"num per-job-max\">{}</td>\
                 <td class=\"time window-start\">{}</td><td class=\"time next-release\">{}</td>",
                if exhausted { " exhausted" } else { "" },
                escape(&l.tenant),
                escape(&l.purpose),
                escape(&l.tenant),
                escape(&l.purpose),
                escape(&l.window),
                escape(&l.cap),
                escape(&l.spent),
                escape(&l.reserved),
                escape(&l.remaining),
                opt(l.per_job_max.as_deref()),
                time(l.window_start),
                time(l.next_release),
            );
            b.push_str("<td><form class=\"inline set-cap\" method=\"post\" action=\"/admin/budgets/cap\">");
            hidden_fields(&mut b, view.csrf, &l.tenant, &l.purpose);
            let _ = write!(
                b,
                "<input type=\"text\" class=\"cap\" name=\"cap\" value=\"{}\" inputmode=\"decimal\" required aria-label=\"new cap\">\
                 <input type=\"text\" class=\"reason\" name=\"reason\" placeholder=\"reason\" required aria-label=\"reason\">\
                 <button type=\"submit\">Set cap</button></form></td>",
                escape(&l.cap)
            );
            b.push_str("<td><form class=\"inline reset\" method=\"post\" action=\"/admin/budgets/reset\">");
            hidden_fields(&mut b, view.csrf, &l.tenant, &l.purpose);
            b.push_str(
                "<input type=\"text\" class=\"reason\" name=\"reason\" placeholder=\"reason\" required aria-label=\"reason\">\
                 <button type=\"submit\" class=\"danger\">Reset</button></form></td></tr>\n",
            );
        }
        b.push_str("</tbody>\n</table>\n");
    }

    b.push_str("<h2>Recent blocks</h2>\n");
    if view.blocks.is_empty() {
        b.push_str("<p class=\"empty\">No blocked jobs.</p>\n");
    } else {
        b.push_str(
            "<table id=\"blocks\">\n<thead><tr><th>At</th><th>Tenant</th><th>Purpose</th><th>Job</th><th>Requested ε</th>\
             <th>Message</th></tr></thead>\n<tbody>\n",
        );
        for r in view.blocks {
            let _ = writeln!(
                b,
                "<tr><td class=\"time\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                time(Some(r.at)),
                escape(&r.tenant),
                escape(&r.purpose),
                escape(&r.job_id),
                escape(&r.requested),
                escape(&r.message)
            );
        }
        b.push_str("</tbody>\n</table>\n");
    }

    b.push_str("<h2>Recent receipts</h2>\n");
    if view.receipts.is_empty() {
        b.push_str("<p class=\"empty\">No receipts.</p>\n");
    } else {
        b.push_str(
            "<table id=\"receipts\">\n<thead><tr><th>At</th><th>Tenant</th><th>Purpose</th><th>Seq</th><th>Kind</th><th>ε</th>\
             <th>Running total ε</th><th>Job</th><th>Operator</th><th>Reason</th><th>Receipt</th></tr></thead>\n<tbody>\n",
        );
        for r in view.receipts {
            let _ = writeln!(
                b,
                "<tr class=\"receipt\"><td class=\"time\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"kind\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"actor\">{}</td><td class=\"reason\">{}</td>\
                 <td>{}</td></tr>",
                time(Some(r.at)),
                escape(&r.tenant),
                escape(&r.purpose),
                r.seq,
                escape(&r.kind),
                escape(&r.epsilon),
                escape(&r.running_total),
                opt(r.job_id.as_deref()),
                opt(r.actor.as_deref()),
                opt(r.reason.as_deref()),
                escape(&r.receipt_id)
            );
        }
        b.push_str("</tbody>\n</table>\n");
    }
    page("Budgets", Some((view.operator, view.csrf)), flash, &b)
}

/// A short page for a refusal or a failure (403, 404, 500, …): `message` in plain words and a
/// link back.
pub fn message_page(title: &str, message: &str) -> String {
    let body = format!(
        "<div class=\"flash error\" id=\"flash\" role=\"alert\">{}</div>\n<p><a href=\"/admin/budgets\">Back to the budgets</a></p>\n",
        escape(message)
    );
    page(title, None, None, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_special_characters() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain ε 2.0"), "plain ε 2.0");
    }

    fn ledger(tenant: &str) -> LedgerRow {
        LedgerRow {
            tenant: tenant.into(),
            purpose: "ads\"'".into(),
            window: "calendar:day".into(),
            cap: "2.0".into(),
            spent: "0.5".into(),
            reserved: "0.0".into(),
            remaining: "1.5".into(),
            per_job_max: None,
            window_start: None,
            next_release: None,
        }
    }

    #[test]
    fn no_value_reaches_the_page_unescaped() {
        let evil = "<script>alert(1)</script>";
        let ledgers = [ledger(evil)];
        let receipts = [ReceiptRow {
            at: Utc::now(),
            receipt_id: "r<1>".into(),
            tenant: evil.into(),
            purpose: "p".into(),
            kind: "cap".into(),
            epsilon: "1".into(),
            running_total: "0".into(),
            seq: 1,
            job_id: None,
            actor: Some("op\"".into()),
            reason: Some("because \"quotes\" & 'apostrophes' <b>".into()),
        }];
        let view = BudgetsView {
            operator: "<op>",
            csrf: "\"><x",
            ledgers: &ledgers,
            blocks: &[],
            receipts: &receipts,
            backend_error: Some("<err>"),
        };
        let html = budgets_page(&view, Some(&Flash::Error("<flash>".into())));
        for raw in [
            evil, "<op>", "\"><x", "<err>", "<flash>", "r<1>", "<b>", "ads\"'", "op\"",
        ] {
            assert!(!html.contains(raw), "{raw} appears unescaped");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("because &quot;quotes&quot; &amp; &#39;apostrophes&#39; &lt;b&gt;"));
        assert!(!html.contains("<script"), "no script element at all");
    }
}
