//! `zkq operator add|remove|list`: the operator accounts of the admin pages (`zkq serve`,
//! crate zkq-server). A password is read from stdin only (never from the command line, where
//! other users and shell history would see it) and stored as an argon2id hash.

use std::io::{BufRead, Read};

use clap::{Args, Subcommand};
use serde_json::json;
use zkq_server::operators;
use zkq_server::ServerError;
use zkq_store::{Db, StoreConfig};

use super::services::runtime;
use crate::cli::{Format, FormatArgs};
use crate::exit::ExitCode;

/// `zkq operator …`.
#[derive(Debug, Subcommand)]
pub(crate) enum OperatorCommand {
    /// Create an operator of the admin pages, with a password read from stdin (one line, at
    /// least 12 characters). A removed operator's name is enabled again with the new password.
    Add {
        /// Name: 1-64 letters, digits or `._@-`.
        name: String,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove an operator: they can no longer log in, and their sessions end at once. The name
    /// stays listed (receipts name it as the actor of cap changes and resets).
    Remove {
        /// Name.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List operators (removed ones too).
    List {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
}

/// Where the database is (the same flag and variable as the pipeline commands' `--pg`).
#[derive(Debug, Args)]
pub(crate) struct DbArgs {
    /// PostgreSQL connection string. (`--help` never shows the environment's value.)
    #[arg(long, env = "ZKQ_PG_URL", hide_env_values = true, default_value = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq")]
    pub(crate) pg: String,
}

impl DbArgs {
    /// The pool, with the migrations applied.
    pub(crate) async fn connect(&self) -> anyhow::Result<Db> {
        Ok(Db::connect(&StoreConfig { url: self.pg.clone(), ..Default::default() }).await?)
    }
}

pub(crate) fn run(command: OperatorCommand) -> anyhow::Result<ExitCode> {
    match command {
        OperatorCommand::Add { name, password_stdin: _, db } => add(&name, &db),
        OperatorCommand::Remove { name, db } => remove(&name, &db),
        OperatorCommand::List { db, format } => list(&db, format.format),
    }
}

/// One line of stdin without its line ending; refuses a short or empty one before any database
/// work.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().take(64 * 1024).read_line(&mut line)?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_owned();
    operators::check_new_password(&password).map_err(|e| match e {
        ServerError::Invalid(why) => ServerError::Invalid(format!("{why} (read from stdin: one line)")),
        other => other,
    })?;
    Ok(password)
}

fn add(name: &str, db: &DbArgs) -> anyhow::Result<ExitCode> {
    if !operators::valid_operator_name(name) {
        anyhow::bail!(ServerError::Invalid(format!("invalid operator name {name:?}: use 1-64 letters, digits or the characters . _ @ -")));
    }
    let password = read_password()?;
    let op = runtime()?.block_on(async { operators::add_operator(&db.connect().await?, name, &password).await.map_err(anyhow::Error::from) })?;
    eprintln!("zkq operator add: operator {} can log in to the admin pages (zkq serve)", op.name);
    Ok(ExitCode::Ok)
}

fn remove(name: &str, db: &DbArgs) -> anyhow::Result<ExitCode> {
    let removed = runtime()?.block_on(async { operators::remove_operator(&db.connect().await?, name).await.map_err(anyhow::Error::from) })?;
    if !removed {
        anyhow::bail!(ServerError::Invalid(format!("there is no operator {name:?} (or it was already removed)")));
    }
    eprintln!("zkq operator remove: operator {name} removed; their sessions have ended");
    Ok(ExitCode::Ok)
}

fn list(db: &DbArgs, format: Format) -> anyhow::Result<ExitCode> {
    let ops = runtime()?.block_on(async { operators::list_operators(&db.connect().await?).await.map_err(anyhow::Error::from) })?;
    match format {
        Format::Json => {
            let rows: Vec<_> = ops.iter().map(|o| json!({ "name": o.name, "created_at": o.created_at, "removed_at": o.disabled_at })).collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        Format::Text => {
            println!("{:<32} {:<26} REMOVED", "OPERATOR", "CREATED");
            for o in ops {
                let removed = o.disabled_at.map(|at| at.to_rfc3339()).unwrap_or_default();
                println!("{:<32} {:<26} {removed}", o.name, o.created_at.to_rfc3339());
            }
        }
    }
    Ok(ExitCode::Ok)
}
