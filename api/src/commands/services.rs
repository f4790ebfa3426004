//! What the pipeline commands share: configuration from flags, the runtime, the store.

use std::path::PathBuf;

use zkq_scheduler::store::Store;
use zkq_scheduler::{AmqpConfig, StoreConfig};

use crate::cli::ServiceArgs;

impl ServiceArgs {
    /// The broker settings; `--dlq-max-bytes` must be a positive size.
    pub(crate) fn amqp(&self) -> Result<AmqpConfig, zkq_engine::EngineError> {
        let dead_letter_max_bytes = match zkq_scheduler::fair::cost::parse_bytes(&self.dlq_max_bytes) {
            Some(b) if b > 0 => b,
            _ => {
                return Err(zkq_engine::EngineError::format(
                    "--dlq-max-bytes",
                    format!("`{}` is not a positive size (use e.g. 256MiB, 1GiB or a byte count)", self.dlq_max_bytes),
                ))
            }
        };
        Ok(AmqpConfig {
            uri: self.amqp.clone(),
            management_url: self.amqp_admin_url.clone(),
            prefix: self.queue_prefix.clone(),
            dead_letter_max_length: self.dlq_max_length,
            dead_letter_max_bytes,
            dead_letter_ttl: std::time::Duration::from_secs(u64::from(self.dlq_ttl_hours) * 3600),
            ..Default::default()
        })
    }

    pub(crate) fn store_config(&self) -> StoreConfig {
        StoreConfig { url: self.pg.clone(), ..Default::default() }
    }

    /// `--key-dir`, else `$XDG_DATA_HOME/zkq/keys`, else `~/.local/share/zkq/keys`.
    pub(crate) fn key_dir(&self) -> PathBuf {
        default_key_dir(self.key_dir.as_deref())
    }

    /// The witness store beside the key store: `<key dir>/../witnesses`.
    pub(crate) fn witness_dir(&self) -> PathBuf {
        let keys = self.key_dir();
        keys.parent().map(|p| p.join("witnesses")).unwrap_or_else(|| PathBuf::from("witnesses"))
    }

    /// The receipt-signing key ([`signing_key`]).
    pub(crate) fn signing_key(&self) -> anyhow::Result<std::sync::Arc<zkq_audit::SigningKey>> {
        signing_key(self.signing_key.as_deref(), &self.key_dir())
    }

    pub(crate) async fn store(&self) -> anyhow::Result<Store> {
        Ok(Store::connect(&self.store_config()).await?)
    }
}

/// A multi-threaded runtime for the pipeline commands (the proving commands need none).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// `explicit`, else `$XDG_DATA_HOME/zkq/keys`, else `~/.local/share/zkq/keys`.
pub(crate) fn default_key_dir(explicit: Option<&std::path::Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("zkq/keys")
}

/// The receipt-signing key: `explicit` (the file must exist), else
/// `<key dir>/../signing/receipts.key`, created (mode 0600) when missing.
pub(crate) fn signing_key(explicit: Option<&std::path::Path>, key_dir: &std::path::Path) -> anyhow::Result<std::sync::Arc<zkq_audit::SigningKey>> {
    key_file(explicit, key_dir, "signing/receipts.key", "a receipt-signing key")
}

/// The access-token key of the auditor API: `explicit` (the file must exist), else
/// `<key dir>/../auth/tokens.key`, created (mode 0600) when missing.
pub(crate) fn token_key(explicit: Option<&std::path::Path>, key_dir: &std::path::Path) -> anyhow::Result<std::sync::Arc<zkq_audit::SigningKey>> {
    key_file(explicit, key_dir, "auth/tokens.key", "an access-token key")
}

/// An ed25519 key file: `explicit` (must exist), else `<key dir>/../<default>`, created when
/// missing (mode 0600; if another process creates it meanwhile, theirs is used).
fn key_file(explicit: Option<&std::path::Path>, key_dir: &std::path::Path, default: &str, what: &str) -> anyhow::Result<std::sync::Arc<zkq_audit::SigningKey>> {
    if let Some(path) = explicit {
        return Ok(std::sync::Arc::new(zkq_audit::SigningKey::read(path)?));
    }
    let path = key_dir.parent().map(|p| p.join(default)).unwrap_or_else(|| PathBuf::from(default));
    if !path.exists() {
        let key = zkq_audit::SigningKey::generate()?;
        match key.write_new(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), key_id = %key.key_id(), "created {what}");
                return Ok(std::sync::Arc::new(key));
            }
            // Another process created it meanwhile: use theirs.
            Err(_) if path.exists() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(std::sync::Arc::new(zkq_audit::SigningKey::read(&path)?))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}
