//! `zkq tenant add|list|rotate-credentials|remove`: tenants, and their broker identities
//! (`zkq_scheduler::identity`). The operator's identity (`--amqp`, `ZKQ_AMQP_URL`) creates each
//! tenant's broker user through RabbitMQ's management API, declares its queues and inbound
//! exchange, and records the tenant in PostgreSQL. A password is printed once and stored
//! nowhere by zkq.

use serde_json::json;
use zkq_scheduler::identity::{self, ManagementApi};
use zkq_scheduler::model::TenantRecord;
use zkq_scheduler::protocol::valid_tenant_name;
use zkq_scheduler::{topology, AmqpConfig, SchedulerError};

use super::services::runtime;
use crate::cli::{Format, ServiceArgs};
use crate::exit::ExitCode;

/// A tenant's new broker credentials.
struct Credentials {
    user: String,
    password: String,
    url: String,
}

/// The management API, as the operator (the credentials of the AMQP URI).
fn management(amqp: &AmqpConfig) -> anyhow::Result<ManagementApi> {
    let (user, password, _) = identity::uri_credentials(&amqp.uri)?;
    Ok(ManagementApi::new(&amqp.management_url, &user, &password)?)
}

/// (Re)creates `tenant`'s broker user with a new password and its permissions. The user is
/// deleted first, so connections made with an old password close.
async fn provision(amqp: &AmqpConfig, tenant: &str) -> anyhow::Result<Credentials> {
    let api = management(amqp)?;
    let user = identity::tenant_user(amqp, tenant);
    let password = identity::generate_password()?;
    api.delete_user(&user).await?;
    api.put_user(&user, &password).await?;
    api.put_permissions(&identity::uri_credentials(&amqp.uri)?.2, &user, &identity::tenant_permissions(amqp, tenant)).await?;
    let url = identity::uri_with_credentials(&amqp.uri, &user, &password);
    Ok(Credentials { user, password, url })
}

fn print_tenant(t: &TenantRecord, amqp: &AmqpConfig, creds: Option<&Credentials>, format: Format, note: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => println!(
            "{}",
            json!({
                "tenant": t.name,
                "weight": t.weight,
                "amqp_user": creds.map(|c| c.user.clone()).or_else(|| t.amqp_user.clone()),
                "amqp_password": creds.map(|c| c.password.clone()),
                "amqp_url": creds.map(|c| c.url.clone()),
                "exchange": amqp.tenant_exchange(&t.name),
                "removed_at": t.removed_at,
            })
        ),
        Format::Text => {
            println!("tenant {} (weight {})", t.name, t.weight);
            match creds {
                Some(c) => {
                    println!("broker user {}, password {} — shown once: store it now", c.user, c.password);
                    println!("connect with {} and publish jobs to exchange {}", c.url, amqp.tenant_exchange(&t.name));
                }
                None => println!("{note}"),
            }
        }
    }
    Ok(())
}

pub(super) fn add(name: &str, weight: i32, tier: Option<&str>, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    if !valid_tenant_name(name) {
        anyhow::bail!(SchedulerError::Invalid(format!("invalid tenant name {name:?}: use 1-128 characters without spaces or control characters")));
    }
    if weight < 1 {
        anyhow::bail!(SchedulerError::Invalid(format!("tenant weight must be at least 1, got {weight}")));
    }
    if let Some(tier) = tier.filter(|t| t.len() > 32 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))) {
        anyhow::bail!(SchedulerError::Invalid(format!("--tier {tier:?}: use up to 32 letters, digits, '.', '_' or '-'")));
    }
    let amqp = services.amqp()?;
    runtime()?.block_on(async {
        let store = services.store().await?;
        let existing = store.tenant(name).await?;
        let has_identity = existing.as_ref().is_some_and(|t| t.amqp_user.is_some() && t.removed_at.is_none());
        // Broker side first: a failure there leaves nothing recorded.
        let creds = if has_identity { None } else { Some(provision(&amqp, name).await?) };
        for conflict in topology::declare_tenant_queues(&amqp, name).await? {
            eprintln!("zkq tenant add: warning: {conflict}; workers skip it until an operator deletes it (docs/job-protocol.md)");
        }
        let mut t = store.add_tenant(name, weight).await?;
        if let Some(tier) = tier {
            store.set_tenant_tier(name, tier).await?;
            t.tier = tier.to_owned();
        }
        if let Some(c) = &creds {
            store.set_tenant_user(name, &c.user).await?;
            t.amqp_user = Some(c.user.clone());
        }
        print_tenant(&t, &amqp, creds.as_ref(), format, "credentials unchanged (zkq tenant rotate-credentials replaces them)")?;
        Ok(ExitCode::Ok)
    })
}

pub(super) fn list(services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let ts = runtime()?.block_on(async { services.store().await?.list_tenants().await.map_err(anyhow::Error::from) })?;
    match format {
        Format::Json => println!("{}", serde_json::to_string(&ts)?),
        Format::Text => {
            println!("{:<24} {:>6}  {:<12} {:<32} REMOVED", "TENANT", "WEIGHT", "TIER", "BROKER USER");
            for t in ts {
                let removed = t.removed_at.map(|at| at.to_rfc3339()).unwrap_or_default();
                let tier = if t.tier.is_empty() { "-" } else { t.tier.as_str() };
                println!("{:<24} {:>6}  {:<12} {:<32} {removed}", t.name, t.weight, tier, t.amqp_user.as_deref().unwrap_or("-"));
            }
        }
    }
    Ok(ExitCode::Ok)
}

pub(super) fn rotate_credentials(name: &str, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let amqp = services.amqp()?;
    runtime()?.block_on(async {
        let store = services.store().await?;
        let Some(mut t) = store.tenant(name).await? else {
            anyhow::bail!(SchedulerError::Invalid(format!("tenant {name:?} is not registered")));
        };
        if t.removed_at.is_some() {
            anyhow::bail!(SchedulerError::Invalid(format!("tenant {name:?} was removed: zkq tenant add registers it again")));
        }
        let creds = provision(&amqp, name).await?;
        for conflict in topology::declare_tenant_queues(&amqp, name).await? {
            eprintln!("zkq tenant rotate-credentials: warning: {conflict}; workers skip it until an operator deletes it");
        }
        store.set_tenant_user(name, &creds.user).await?;
        t.amqp_user = Some(creds.user.clone());
        print_tenant(&t, &amqp, Some(&creds), format, "")?;
        Ok(ExitCode::Ok)
    })
}

pub(super) fn remove(name: &str, services: &ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let amqp = services.amqp()?;
    runtime()?.block_on(async {
        let store = services.store().await?;
        let Some(t) = store.tenant(name).await? else {
            anyhow::bail!(SchedulerError::Invalid(format!("tenant {name:?} is not registered")));
        };
        // Revoke first: once the user is gone, nothing new arrives from it.
        management(&amqp)?.delete_user(&identity::tenant_user(&amqp, &t.name)).await?;
        let t = store.remove_tenant(name).await?.unwrap_or(t);
        print_tenant(&t, &amqp, None, format, "removed: its broker user is deleted; workers fail the jobs left in its queues (unknown_tenant)")?;
        Ok(ExitCode::Ok)
    })
}
