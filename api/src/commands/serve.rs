//! `zkq serve`: the HTTP server (crate zkq-server) — the admin pages for privacy budgets and the
//! auditor API (its token endpoint, its access log) — on the database of `--pg`, until SIGINT
//! (Ctrl-C) or SIGTERM. Every request is recorded in the access log. Settings come from flags
//! and environment variables here, and only here, into a [`ServerConfig`] and an [`ApiConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use zkq_server::{ApiConfig, ApiState, AppState, PgBudgets, ServerConfig};

use super::operators::DbArgs;
use super::services::runtime;
use crate::exit::ExitCode;

/// `zkq serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen (`host:port`) [default: 127.0.0.1:8480]. zkq speaks plain HTTP: keep it
    /// on loopback and put a TLS proxy in front (docs/admin.md).
    #[arg(long, env = "ZKQ_SERVE_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// How long a login lasts, minutes [default: 480 (8 h)].
    #[arg(long, env = "ZKQ_SERVE_SESSION_TTL_MINS", value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 60))]
    pub(crate) session_ttl_mins: Option<u64>,
    /// Mark cookies `Secure` (sent over HTTPS only) and expect `https://` origins: set it behind
    /// a TLS proxy.
    #[arg(long, env = "ZKQ_SERVE_SECURE_COOKIES")]
    pub(crate) secure_cookies: bool,
    /// The ed25519 key (PKCS#8 PEM, mode 0600) that signs the receipts of cap changes and
    /// resets [default: <key dir>/../signing/receipts.key, created on first use, shared with
    /// the workers].
    #[arg(long, env = "ZKQ_SIGNING_KEY")]
    pub(crate) signing_key: Option<std::path::PathBuf>,
    /// Key store directory, to find the default signing key [default: $XDG_DATA_HOME/zkq/keys
    /// or ~/.local/share/zkq/keys].
    #[arg(long, env = "ZKQ_KEY_DIR")]
    pub(crate) key_dir: Option<std::path::PathBuf>,
    /// The `iss` of the auditor API's access tokens, and the only one accepted [default: zkq].
    #[arg(long, env = "ZKQ_TOKEN_ISSUER")]
    pub(crate) token_issuer: Option<String>,
    /// The `aud` of access tokens, and the only one accepted [default: zkq-auditor-api].
    #[arg(long, env = "ZKQ_TOKEN_AUDIENCE")]
    pub(crate) token_audience: Option<String>,
    /// How long an access token lasts, seconds [default: 300].
    #[arg(long, env = "ZKQ_TOKEN_TTL_SECS", value_parser = clap::value_parser!(u64).range(1..=24 * 3600))]
    pub(crate) token_ttl_secs: Option<u64>,
    /// The ed25519 key (PKCS#8 PEM, mode 0600) that signs access tokens [default: <key
    /// dir>/../auth/tokens.key, created on first use]. Replacing it invalidates every token.
    #[arg(long, env = "ZKQ_TOKEN_KEY")]
    pub(crate) token_key: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) db: DbArgs,
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            listen: self.listen.unwrap_or(defaults.listen),
            session_ttl: self.session_ttl_mins.map(|m| Duration::from_secs(m * 60)).unwrap_or(defaults.session_ttl),
            secure_cookies: self.secure_cookies,
        }
    }

    fn api_config(&self) -> ApiConfig {
        let defaults = ApiConfig::default();
        ApiConfig {
            issuer: self.token_issuer.clone().unwrap_or(defaults.issuer),
            audience: self.token_audience.clone().unwrap_or(defaults.audience),
            token_ttl: self.token_ttl_secs.map(Duration::from_secs).unwrap_or(defaults.token_ttl),
            secure_cookies: self.secure_cookies,
        }
    }
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    let args = args;
    runtime()?.block_on(async move {
        let db = args.db.connect().await?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::Error::new(e).context(format!("cannot listen on {}", config.listen)))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && !config.secure_cookies {
            eprintln!("zkq serve: warning: listening on {addr} without --secure-cookies: zkq speaks plain HTTP; put a TLS proxy in front (docs/admin.md)");
        }
        eprintln!("zkq serve: admin pages at http://{addr}/admin/ (Ctrl-C stops)");
        let key_dir = super::services::default_key_dir(args.key_dir.as_deref());
        let key = super::services::signing_key(args.signing_key.as_deref(), &key_dir)?;
        let token_key = super::services::token_key(args.token_key.as_deref(), &key_dir)?;
        let budgets = PgBudgets::new(db.clone(), key).await?;
        let admin = zkq_server::router(std::sync::Arc::new(AppState::new(db.clone(), budgets, config)));
        let api = std::sync::Arc::new(ApiState::new(db.clone(), &token_key, args.api_config())?);
        eprintln!("zkq serve: auditor API at http://{addr}/v1/, token endpoint http://{addr}/oauth/token (tokens signed by key {})", api.tokens.key_id());
        let routes = zkq_server::auth_router(api.clone()).merge(zkq_server::auditor::router(api));
        let app = zkq_server::app(admin, routes, db.clone());
        zkq_server::serve(listener, app, super::services::shutdown_signal()).await?;
        eprintln!("zkq serve: stopped");
        Ok(ExitCode::Ok)
    })
}
