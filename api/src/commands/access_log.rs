//! `zkq audit access-log`: the newest requests `zkq serve` answered (table `access_events`):
//! who (client or operator), which route, the outcome (docs/auditor-api.md, "Access log").

use clap::Args;
use zkq_server::auth::access_log;
use zkq_server::auth::routes::access_query;
use zkq_server::{ApiError, ServerError};

use super::operators::DbArgs;
use super::services::runtime;
use crate::cli::{Format, FormatArgs};
use crate::exit::ExitCode;

/// `zkq audit access-log`.
#[derive(Debug, Args)]
pub(crate) struct AccessLogArgs {
    /// Most events, newest first (1-1000).
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: i64,
    /// Only this client's requests.
    #[arg(long)]
    pub(crate) client: Option<String>,
    /// Only requests at or after this instant (RFC 3339, e.g. 2026-01-31T12:00:00Z).
    #[arg(long)]
    pub(crate) since: Option<String>,
    #[command(flatten)]
    pub(crate) db: DbArgs,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

pub(crate) fn run(args: AccessLogArgs) -> anyhow::Result<ExitCode> {
    let query = access_query(Some(&args.limit.to_string()), args.client.as_deref(), args.since.as_deref()).map_err(|e| match e {
        ApiError::BadRequest(why) => ServerError::Invalid(why),
        other => ServerError::Invalid(other.to_string()),
    })?;
    let events = runtime()?.block_on(async { access_log::list_events(&args.db.connect().await?, &query).await.map_err(anyhow::Error::from) })?;
    match args.format.format {
        Format::Json => println!("{}", serde_json::to_string(&events)?),
        Format::Text => {
            println!("{:<32} {:<20} {:<6} {:<32} {:>6} {:<15} {:>9}", "AT", "WHO", "METHOD", "ROUTE", "STATUS", "OUTCOME", "MS");
            for e in events {
                let who = e.client_id.clone().or_else(|| e.operator.as_ref().map(|o| format!("operator:{o}"))).unwrap_or_else(|| "-".into());
                println!(
                    "{:<32} {:<20} {:<6} {:<32} {:>6} {:<15} {:>9.1}",
                    e.at.to_rfc3339(),
                    who,
                    e.method,
                    e.route,
                    e.status,
                    e.outcome,
                    e.duration_ms
                );
            }
        }
    }
    Ok(ExitCode::Ok)
}
