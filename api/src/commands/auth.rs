//! `zkq auth client add|list|revoke`: the OAuth clients of the auditor API (`zkq serve`, crate
//! zkq-server; docs/auditor-api.md). `add` prints the client's secret once — only its sha256 is
//! stored — for the auditor's program to trade for access tokens at `POST /oauth/token`.

use std::collections::BTreeSet;

use clap::Subcommand;
use serde_json::json;
use zkq_server::auth::clients::{self, Client};
use zkq_server::auth::scopes::format_scopes;
use zkq_server::{Scope, ServerError};

use super::operators::DbArgs;
use super::services::runtime;
use crate::cli::{Format, FormatArgs};
use crate::exit::ExitCode;

/// `zkq auth …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// OAuth clients of the auditor API: add (prints the secret once), list, revoke.
    #[command(subcommand)]
    Client(ClientCommand),
}

/// `zkq auth client …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Create a client and print its secret (once: only its sha256 is stored).
    Add {
        /// Client id: 1-64 letters, digits or `._-`.
        client_id: String,
        /// A scope its tokens may carry: audit:read, budget:read, costs:read or admin (repeat
        /// the flag for more).
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Bind the client to this tenant: it sees only that tenant's records.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// List clients (revoked ones too), never their secrets.
    List {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Revoke a client: it gets no more tokens, and its tokens are refused at once.
    Revoke {
        /// Client id.
        client_id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    s.parse().map_err(|e: zkq_server::auth::scopes::ScopeError| e.to_string())
}

pub(crate) fn run(command: AuthCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuthCommand::Client(ClientCommand::Add { client_id, scopes, tenant, db, format }) => {
            add(&client_id, &scopes.into_iter().collect(), tenant.as_deref(), &db, format.format)
        }
        AuthCommand::Client(ClientCommand::List { db, format }) => list(&db, format.format),
        AuthCommand::Client(ClientCommand::Revoke { client_id, db }) => revoke(&client_id, &db),
    }
}

/// Who ran the command, for `created_by`.
fn created_by() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("zkq auth client add ({user})")
}

fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "scopes": c.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "tenant": c.tenant,
        "created_at": c.created_at,
        "created_by": c.created_by,
        "revoked_at": c.revoked_at,
    })
}

fn add(client_id: &str, scopes: &BTreeSet<Scope>, tenant: Option<&str>, db: &DbArgs, format: Format) -> anyhow::Result<ExitCode> {
    if !clients::valid_client_id(client_id) {
        anyhow::bail!(ServerError::Invalid(format!("invalid client id {client_id:?}: use 1-64 letters, digits or the characters . _ -")));
    }
    let new = runtime()?.block_on(async {
        clients::add_client(&db.connect().await?, client_id, scopes, tenant, &created_by()).await.map_err(anyhow::Error::from)
    })?;
    match format {
        Format::Json => {
            let mut v = client_json(&new.client);
            v["client_secret"] = json!(new.secret);
            println!("{v}");
        }
        Format::Text => {
            println!("client_id:     {}", new.client.client_id);
            println!("client_secret: {}", new.secret);
            println!("scopes:        {}", format_scopes(&new.client.scopes));
            if let Some(t) = &new.client.tenant {
                println!("tenant:        {t}");
            }
        }
    }
    eprintln!("zkq auth client add: the secret is shown once and not stored (only its sha256 is): give it to the client now");
    Ok(ExitCode::Ok)
}

fn list(db: &DbArgs, format: Format) -> anyhow::Result<ExitCode> {
    let all = runtime()?.block_on(async { clients::list_clients(&db.connect().await?).await.map_err(anyhow::Error::from) })?;
    match format {
        Format::Json => println!("{}", serde_json::Value::Array(all.iter().map(client_json).collect())),
        Format::Text => {
            println!("{:<24} {:<40} {:<16} {:<26} REVOKED", "CLIENT", "SCOPES", "TENANT", "CREATED");
            for c in all {
                let revoked = c.revoked_at.map(|at| at.to_rfc3339()).unwrap_or_default();
                let tenant = c.tenant.as_deref().unwrap_or("-");
                println!("{:<24} {:<40} {:<16} {:<26} {revoked}", c.client_id, format_scopes(&c.scopes), tenant, c.created_at.to_rfc3339());
            }
        }
    }
    Ok(ExitCode::Ok)
}

fn revoke(client_id: &str, db: &DbArgs) -> anyhow::Result<ExitCode> {
    let revoked = runtime()?.block_on(async { clients::revoke_client(&db.connect().await?, client_id).await.map_err(anyhow::Error::from) })?;
    if !revoked {
        anyhow::bail!(ServerError::NotFound(format!("there is no client {client_id:?} (or it was already revoked)")));
    }
    eprintln!("zkq auth client revoke: client {client_id} revoked; its tokens are refused from now on");
    Ok(ExitCode::Ok)
}
