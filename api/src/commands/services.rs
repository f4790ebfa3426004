//! What the pipeline commands share: configuration from flags, the runtime, the store.

use std::path::PathBuf;

use zkq_scheduler::store::Store;
use zkq_scheduler::{AmqpConfig, StoreConfig};

use crate::cli::ServiceArgs;

impl ServiceArgs {
    pub(crate) fn amqp(&self) -> AmqpConfig {
        AmqpConfig { uri: self.amqp.clone(), prefix: self.queue_prefix.clone(), ..Default::default() }
    }

    pub(crate) fn store_config(&self) -> StoreConfig {
        StoreConfig { url: self.pg.clone(), ..Default::default() }
    }

    /// `--key-dir`, else `$XDG_DATA_HOME/zkq/keys`, else `~/.local/share/zkq/keys`.
    pub(crate) fn key_dir(&self) -> PathBuf {
        if let Some(d) = &self.key_dir {
            return d.clone();
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        data.join("zkq/keys")
    }

    /// The witness store beside the key store: `<key dir>/../witnesses`.
    pub(crate) fn witness_dir(&self) -> PathBuf {
        let keys = self.key_dir();
        keys.parent().map(|p| p.join("witnesses")).unwrap_or_else(|| PathBuf::from("witnesses"))
    }

    pub(crate) async fn store(&self) -> anyhow::Result<Store> {
        Ok(Store::connect(&self.store_config()).await?)
    }
}

/// A multi-threaded runtime for the pipeline commands (the proving commands need none).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
