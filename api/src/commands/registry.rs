//! `zkq circuit add|list` (tenants: `tenants.rs`).

use std::path::Path;

use serde_json::json;
use zkq_scheduler::keystore::KeyStore;
use zkq_scheduler::store::NewCircuit;

use super::services::runtime;
use crate::cli::{Format, ServiceArgs};
use crate::exit::ExitCode;

pub(super) fn circuit_add(zkey: &Path, name: &str, epsilon: Option<&str>, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    // Checked before anything is stored.
    let epsilon = match epsilon {
        None => None,
        Some(text) => Some(text.parse::<zkq_budget::Epsilon>().map_err(|e| zkq_scheduler::SchedulerError::Invalid(format!("--epsilon: {e}")))?),
    };
    let keys = KeyStore::open(&services.key_dir())?;
    let stored = keys.add(zkey)?;
    let mut new = NewCircuit::from_zkey_info(name, &stored.info)?;
    new.epsilon_micro = epsilon.map(zkq_budget::Epsilon::db);
    let c = runtime()?.block_on(async { services.store().await?.add_circuit(&new).await.map_err(anyhow::Error::from) })?;
    match format {
        Format::Json => println!("{}", json!({"circuit": c, "key_path": stored.path})),
        Format::Text => println!(
            "registered {} = sha256:{} ({} constraints, domain 2^{}, nPublic {}, {} per proof); key at {}",
            c.label(),
            c.id,
            c.n_constraints,
            (c.domain_size as u32).trailing_zeros(),
            c.n_public,
            c.epsilon_micro.map_or("no ε".to_string(), |m| format!("{} ε", zkq_budget::report::eps(m.max(0) as u64))),
            stored.path.display()
        ),
    }
    Ok(ExitCode::Ok)
}

pub(super) fn circuit_list(services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let cs = runtime()?.block_on(async { services.store().await?.list_circuits().await.map_err(anyhow::Error::from) })?;
    match format {
        Format::Json => println!("{}", serde_json::to_string(&cs)?),
        Format::Text => {
            println!("{:<28} {:>12} {:>8} {:>8}  SHA256", "CIRCUIT", "CONSTRAINTS", "DOMAIN", "PUBLIC");
            for c in cs {
                println!("{:<28} {:>12} {:>8} {:>8}  {}", c.label(), c.n_constraints, c.domain_size, c.n_public, c.id);
            }
        }
    }
    Ok(ExitCode::Ok)
}
