//! `zkq budget set|show|list|reset|receipts export|receipts verify`: privacy budgets
//! (`zkq_budget`, docs/budgets.md). Changes sign a receipt with the receipt-signing key
//! (`--signing-key`, else the default key beside the key store).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::json;
use zkq_budget::pg::{self, BudgetSpec, LedgerView};
use zkq_budget::report::eps;
use zkq_budget::{BudgetError, Epsilon, Window};

use super::services::runtime;
use super::{actor, invalid};
use crate::cli::{Format, ServiceArgs};
use crate::exit::ExitCode;

fn epsilon(flag: &str, text: &str) -> anyhow::Result<Epsilon> {
    text.parse().map_err(|e| invalid(format!("{flag}: {e}")))
}

fn time(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| invalid(format!("{flag} {text:?} is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)")))
}

/// Runs `f` in one transaction of the store's pool.
async fn in_tx<T, F>(services: &ServiceArgs, f: F) -> anyhow::Result<T>
where
    F: for<'t> FnOnce(&'t tokio_postgres::Transaction<'t>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, BudgetError>> + Send + 't>>,
{
    let store = services.store().await?;
    let mut client = store.db().client().await.map_err(zkq_scheduler::SchedulerError::from)?;
    let tx = client.transaction().await.map_err(zkq_scheduler::SchedulerError::from)?;
    let out = f(&tx).await.map_err(zkq_scheduler::SchedulerError::from)?;
    tx.commit().await.map_err(zkq_scheduler::SchedulerError::from)?;
    Ok(out)
}

fn view_json(v: &LedgerView) -> serde_json::Value {
    json!({
        "tenant": v.tenant, "purpose": v.purpose, "window": v.window,
        "cap": eps(v.cap_micro), "spent": eps(v.spent_micro), "reserved": eps(v.reserved_micro), "remaining": eps(v.remaining_micro),
        "per_job_max": v.per_job_max_micro.map(eps),
        "counted_since": v.counted_since, "next_release": v.next_release, "receipts": v.seq, "head": v.head, "as_of": v.as_of,
    })
}

fn print_views(views: &[LedgerView], format: Format) {
    match format {
        Format::Json => println!("{}", serde_json::Value::Array(views.iter().map(view_json).collect())),
        Format::Text => {
            println!("{:<20} {:<20} {:<16} {:>12} {:>12} {:>12} {:>12}  NEXT RELEASE (UTC)", "TENANT", "PURPOSE", "WINDOW", "CAP ε", "SPENT ε", "HELD ε", "LEFT ε");
            for v in views {
                println!(
                    "{:<20} {:<20} {:<16} {:>12} {:>12} {:>12} {:>12}  {}",
                    v.tenant,
                    v.purpose,
                    v.window,
                    eps(v.cap_micro),
                    eps(v.spent_micro),
                    eps(v.reserved_micro),
                    eps(v.remaining_micro),
                    v.next_release.map_or("-".into(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn set(
    tenant: &str,
    purpose: &str,
    cap: &str,
    window: Option<&str>,
    per_job_max: Option<&str>,
    reason: &str,
    services: &ServiceArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let cap = epsilon("--cap", cap)?;
    let window = window.map(|w| w.parse::<Window>().map_err(|e| invalid(format!("--window: {e}")))).transpose()?;
    let per_job_max = match per_job_max {
        None => None,
        Some("none") => Some(None),
        Some(text) => Some(Some(epsilon("--per-job-max", text)?)),
    };
    let key = services.signing_key()?;
    let spec = BudgetSpec { tenant: tenant.into(), purpose: purpose.into(), cap, window, per_job_max };
    let actor = actor();
    let reason = reason.to_owned();
    let view = runtime()?.block_on(in_tx(services, |tx| {
        Box::pin(async move {
            pg::register_key(tx, &key.public()).await?;
            pg::set_budget(tx, &spec, &actor, &reason, &key).await
        })
    }))?;
    print_views(std::slice::from_ref(&view), format);
    Ok(ExitCode::Ok)
}

pub(super) fn show(tenant: Option<&str>, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let tenant = tenant.map(str::to_owned);
    let views = runtime()?.block_on(in_tx(services, move |tx| Box::pin(async move { pg::show(tx, tenant.as_deref()).await })))?;
    print_views(&views, format);
    Ok(ExitCode::Ok)
}

pub(super) fn list(services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    show(None, services, format)
}

pub(super) fn reset(tenant: &str, purpose: &str, reason: &str, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let key = services.signing_key()?;
    let (tenant, purpose, reason, actor) = (tenant.to_owned(), purpose.to_owned(), reason.to_owned(), actor());
    let view = runtime()?.block_on(in_tx(services, |tx| {
        Box::pin(async move {
            pg::register_key(tx, &key.public()).await?;
            pg::reset(tx, &tenant, &purpose, &actor, &reason, &key).await
        })
    }))?;
    print_views(std::slice::from_ref(&view), format);
    Ok(ExitCode::Ok)
}

pub(super) fn export(tenant: &str, from: Option<&str>, to: Option<&str>, out: &Path, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let from_t = from.map(|f| time("--from", f)).transpose()?;
    let to_t = to.map(|t| time("--to", t)).transpose()?;
    if let (Some(f), Some(t)) = (from_t, to_t) {
        if f > t {
            return Err(invalid("--from is after --to"));
        }
    }
    let tenant_owned = tenant.to_owned();
    let (receipts, keys) = runtime()?.block_on(async {
        let store = services.store().await?;
        let client = store.db().client().await.map_err(zkq_scheduler::SchedulerError::from)?;
        let receipts = pg::receipts(&**client, &tenant_owned, to_t).await.map_err(zkq_scheduler::SchedulerError::from)?;
        let keys = pg::keys(&**client).await.map_err(zkq_scheduler::SchedulerError::from)?;
        Ok::<_, anyhow::Error>((receipts, keys))
    })?;
    let mut ring = zkq_audit::KeyRing::default();
    for (_, hex, created, retired) in &keys {
        ring.insert(zkq_audit::PublicKey::from_hex(hex)?, Some(created.timestamp()), retired.map(|r| r.timestamp()));
    }
    let mut lines = String::new();
    for r in &receipts {
        let envelope: zkq_audit::dsse::Envelope = serde_json::from_value(r.envelope.clone())?;
        lines.push_str(&serde_json::to_string(&zkq_budget::verify::ReceiptLine { receipt_id: r.receipt_id.clone(), envelope })?);
        lines.push('\n');
    }
    let manifest = zkq_budget::bundle::Manifest {
        format: zkq_budget::bundle::MANIFEST_FORMAT.into(),
        tenant: tenant.into(),
        from: from_t.map(zkq_budget::receipt::rfc3339),
        to: Some(zkq_budget::receipt::rfc3339(to_t.unwrap_or_else(Utc::now))),
        created_at: zkq_budget::receipt::rfc3339(Utc::now()),
        receipts: receipts.len() as u64,
        files: Vec::new(),
    };
    let manifest = zkq_budget::bundle::write_dir(out, manifest, &lines, &ring.to_json()).map_err(|e| anyhow::Error::new(std::io::Error::other(e.to_string())))?;
    match format {
        Format::Json => println!("{}", json!({"dir": out, "receipts": manifest.receipts, "files": manifest.files})),
        Format::Text => println!("wrote {} receipts of tenant {tenant:?} to {} (verify with: zkq budget receipts verify {})", manifest.receipts, out.display(), out.display()),
    }
    Ok(ExitCode::Ok)
}

pub(super) fn verify(dir: &Path, keys: Option<&Path>, format: Format) -> anyhow::Result<ExitCode> {
    let trusted = match keys {
        None => None,
        Some(p) => Some(zkq_audit::KeyRing::from_json(&std::fs::read_to_string(p)?).map_err(|e| invalid(format!("{}: {e}", p.display())))?),
    };
    match zkq_budget::bundle::verify_dir(dir, trusted.as_ref()) {
        Ok(report) => {
            match format {
                Format::Json => println!("{}", json!({"valid": true, "trusted_keys": report.trusted_keys, "ledgers": report.ledgers})),
                Format::Text => {
                    println!("valid: {} receipts of tenant {:?}, signatures, hash chains, windows and totals check", report.manifest.receipts, report.manifest.tenant);
                    for l in &report.ledgers {
                        println!(
                            "  {:<20} {} receipts: {} charges ({} ε), {} refunds, {} resets, {} cap changes; running total {} ε of {} ε",
                            l.purpose, l.receipts, l.charges, eps(l.charged_micro), l.refunds, l.resets, l.cap_changes, eps(l.running_total_micro), eps(l.cap_micro)
                        );
                    }
                    if !report.trusted_keys {
                        println!("  (signatures checked against the bundle's own keys.json; pass --keys with keys you trust for a stronger check)");
                    }
                }
            }
            Ok(ExitCode::Ok)
        }
        Err(e) => {
            match format {
                Format::Json => println!("{}", json!({"valid": false, "error": e.to_string()})),
                Format::Text => eprintln!("zkq: invalid bundle: {e}"),
            }
            Ok(ExitCode::Invalid)
        }
    }
}
