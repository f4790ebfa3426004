//! What a worker records when it starts, for drift prediction (zkq-drift's `predict`): its
//! fleet's configuration and its prover version with the libraries it was built with. A fleet
//! is the workers of one device type in one region (`cpu-2core@eu-west-1`, `cpu-2core@-`); a
//! state is recorded as a change only when it differs from the fleet's last one, so restarts and
//! scale-outs record nothing, and the first worker of a new version or setting records it once
//! (`zkq_drift::pg::changes::record_if_changed` holds a lock per fleet).

use serde_json::{json, Value};
use zkq_drift::lockfile;
use zkq_drift::pg::changes::record_if_changed;
use zkq_drift::predict::ChangeKind;

use crate::config::WorkerConfig;
use crate::store::Store;

/// The `Cargo.lock` this worker was built with.
const CARGO_LOCK: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"));

/// The fleet a worker belongs to: `<device type>@<region or ->`.
pub fn fleet(config: &WorkerConfig) -> String {
    format!("{}@{}", config.device_type, config.region.as_deref().unwrap_or("-"))
}

/// The settings of a worker that move cost and latency (not those read from the machine, such
/// as the default device memory, which would record a change at every start).
pub fn config_state(config: &WorkerConfig) -> Value {
    json!({
        "max_batch": config.max_batch,
        "max_wait_ms": u64::try_from(config.max_wait.as_millis()).unwrap_or(u64::MAX),
        "device_type": config.device_type,
        "backend": config.backend.kind.as_str(),
        "key_cache": config.key_cache,
        "null_prover": config.null_prover,
    })
}

/// The prover version: zkq's version and its libraries (from `lock`, a `Cargo.lock`).
pub fn version_state(version: &str, lock: &str) -> Value {
    use sha2::{Digest, Sha256};
    let libraries = lockfile::parse(lock);
    json!({
        "version": version,
        "lock_sha256": hex::encode(Sha256::digest(lock.as_bytes())),
        "libraries": libraries,
    })
}

/// The features of a prover-version change: the versions, and the libraries that moved.
pub fn version_features(before: Option<&Value>, after: &Value) -> Value {
    let libraries = |v: Option<&Value>| -> lockfile::Libraries {
        v.and_then(|v| v.get("libraries")).and_then(|l| serde_json::from_value(l.clone()).ok()).unwrap_or_default()
    };
    let changed = lockfile::diff(&libraries(before), &libraries(Some(after)));
    json!({
        "version_from": before.and_then(|b| b.get("version")).cloned(),
        "version_to": after.get("version").cloned(),
        "libraries_changed": changed.len(),
        "libraries": changed,
    })
}

/// The features of a configuration change: each setting that moved, from and to.
pub fn config_features(before: Option<&Value>, after: &Value) -> Value {
    let mut moved = serde_json::Map::new();
    if let Some(after) = after.as_object() {
        for (k, v) in after {
            let old = before.and_then(|b| b.get(k));
            if old != Some(v) {
                moved.insert(k.clone(), json!({ "from": old, "to": v }));
            }
        }
    }
    Value::Object(moved)
}

/// Records this worker's configuration and prover version where they changed (one
/// transaction). Returns the ids of the changes recorded.
pub async fn record(store: &Store, config: &WorkerConfig) -> Result<Vec<i64>, crate::error::SchedulerError> {
    let mut client = store.db().client().await?;
    let tx = tokio_postgres::Client::transaction(&mut client).await?;
    let subject = fleet(config);
    let mut ids = Vec::new();
    let changed = record_if_changed(&tx, ChangeKind::WorkerConfig, &subject, &config_state(config), config_features)
        .await
        .map_err(|e| crate::error::SchedulerError::Invalid(e.to_string()))?;
    ids.extend(changed);
    let version = version_state(env!("CARGO_PKG_VERSION"), CARGO_LOCK);
    let changed = record_if_changed(&tx, ChangeKind::ProverVersion, &subject, &version, version_features)
        .await
        .map_err(|e| crate::error::SchedulerError::Invalid(e.to_string()))?;
    ids.extend(changed);
    tx.commit().await?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK_A: &str = "[[package]]\nname = \"ark-ff\"\nversion = \"0.5.0\"\n\n[[package]]\nname = \"zkq-engine\"\nversion = \"0.1.0\"\n";

    #[test]
    fn a_version_change_names_the_libraries_that_moved() {
        let a = version_state("0.1.0", LOCK_A);
        let b = version_state("0.2.0", &LOCK_A.replace("0.5.0", "0.5.2"));
        let f = version_features(Some(&a), &b);
        assert_eq!(f["version_from"], "0.1.0");
        assert_eq!(f["version_to"], "0.2.0");
        assert_eq!(f["libraries_changed"], 1);
        assert_eq!(f["libraries"][0]["name"], "ark-ff");
        assert_eq!(f["libraries"][0]["to"][0], "0.5.2");
        assert_ne!(a["lock_sha256"], b["lock_sha256"]);
        // The first version of a fleet: every library is new.
        assert_eq!(version_features(None, &a)["libraries_changed"], 2);
    }

    #[test]
    fn a_config_change_names_the_settings_that_moved() {
        let before = json!({ "max_batch": 16, "max_wait_ms": 50, "device_type": "cpu-2core" });
        let after = json!({ "max_batch": 32, "max_wait_ms": 50, "device_type": "cpu-2core" });
        assert_eq!(config_features(Some(&before), &after), json!({ "max_batch": { "from": 16, "to": 32 } }));
    }
}
