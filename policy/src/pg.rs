//! Policies in PostgreSQL (feature `pg`): versioned, per tenant or shared (zkq-store migration
//! 0009, table `policies`). Every change is a new version; the policy in force is the latest
//! version of each (tenant, id) unless it is revoked.
//!
//! [`put`] validates before it stores: the new version replaces its predecessor in the set it
//! belongs to (the tenant's own policies plus the shared ones — for a shared policy, every
//! tenant's set), the result must validate against the schema in strict mode, and nothing is
//! written otherwise. Changes take turns on a transaction-scoped advisory lock, so two changes
//! never validate against the same old state. [`load`] builds the [`PolicyEngine`] that decides
//! from what is in force.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Transaction};

use crate::{PolicyEngine, PolicyError};

/// The advisory lock policy changes hold (the bytes of `"zkq-plcy"`).
pub const LOCK_KEY: i64 = 0x7a6b_712d_706c_6379;

/// Why a stored-policy operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyStoreError {
    /// PostgreSQL refused or failed.
    #[error("policies: database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The policy (or the set it would make) is not valid.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// The tenant does not exist.
    #[error("there is no tenant {0:?}")]
    UnknownTenant(String),
    /// No such policy in force.
    #[error("there is no policy {id:?} in force for {scope}")]
    NotFound {
        /// `tenant <name>` or `every tenant (shared)`.
        scope: String,
        /// The policy id.
        id: String,
    },
}

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// Its tenant; `None` for a shared policy.
    pub tenant: Option<String>,
    /// Its id.
    pub policy_id: String,
    /// Its version (1, 2, …).
    pub version: i32,
    /// The Cedar source.
    pub source: String,
    /// When this version was stored, and by whom.
    pub created_at: DateTime<Utc>,
    /// Who stored it.
    pub created_by: String,
    /// When it was revoked (the latest version only).
    pub revoked_at: Option<DateTime<Utc>>,
}

fn scope(tenant: Option<&str>) -> String {
    tenant.map_or_else(|| "every tenant (shared)".to_owned(), |t| format!("tenant {t}"))
}

const COLUMNS: &str = "tenant, policy_id, version, source, created_at, created_by, revoked_at";

fn row(r: &tokio_postgres::Row) -> StoredPolicy {
    StoredPolicy {
        tenant: r.get(0),
        policy_id: r.get(1),
        version: r.get(2),
        source: r.get(3),
        created_at: r.get(4),
        created_by: r.get(5),
        revoked_at: r.get(6),
    }
}

/// The policies in force (latest versions not revoked), shared first, then by tenant and id.
pub async fn in_force(client: &impl GenericClient) -> Result<Vec<StoredPolicy>, PolicyStoreError> {
    let rows = client
        .query(
            &format!(
                "select {COLUMNS} from (
                     select distinct on (coalesce(tenant, ''), policy_id) {COLUMNS} from policies
                     order by coalesce(tenant, ''), policy_id, version desc
                 ) latest
                 where revoked_at is null
                 order by tenant nulls first, policy_id"
            ),
            &[],
        )
        .await?;
    Ok(rows.iter().map(row).collect())
}

/// Every version of one policy, oldest first.
pub async fn history(client: &impl GenericClient, tenant: Option<&str>, policy_id: &str) -> Result<Vec<StoredPolicy>, PolicyStoreError> {
    let rows = client
        .query(
            &format!(
                "select {COLUMNS} from policies
                 where coalesce(tenant, '') = coalesce($1::text, '') and policy_id = $2 order by version"
            ),
            &[&tenant, &policy_id],
        )
        .await?;
    Ok(rows.iter().map(row).collect())
}

/// The engine that decides with `policies` (shared ones in every tenant's set). A stored policy
/// that no longer parses or validates is an error naming it: the caller must not decide with a
/// partial set.
pub fn engine_of(policies: &[StoredPolicy]) -> Result<PolicyEngine, PolicyError> {
    let mut engine = PolicyEngine::new()?;
    let mut by_tenant: BTreeMap<&str, Vec<cedar_policy::Policy>> = BTreeMap::new();
    for p in policies {
        let id = match &p.tenant {
            None => format!("shared.{}", p.policy_id),
            Some(t) => format!("{t}.{}", p.policy_id),
        };
        let parsed = PolicyEngine::parse(&id, &p.source)?;
        match &p.tenant {
            None => engine.add_shared(parsed)?,
            Some(t) => by_tenant.entry(t.as_str()).or_default().push(parsed),
        }
    }
    for (tenant, own) in by_tenant {
        engine.set_tenant(tenant, own)?;
    }
    Ok(engine)
}

/// Loads the policies in force into an engine.
pub async fn load(client: &impl GenericClient) -> Result<PolicyEngine, PolicyStoreError> {
    Ok(engine_of(&in_force(client).await?)?)
}

/// Stores a new version of `policy_id` for `tenant` (`None`: shared), after checking that the
/// policy parses and that every set it joins still validates. Returns the new version.
pub async fn put(
    tx: &Transaction<'_>,
    tenant: Option<&str>,
    policy_id: &str,
    source: &str,
    actor: &str,
) -> Result<i32, PolicyStoreError> {
    tx.execute("select pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await?;
    if let Some(t) = tenant {
        if tx.query_opt("select 1 from tenants where name = $1", &[&t]).await?.is_none() {
            return Err(PolicyStoreError::UnknownTenant(t.to_owned()));
        }
    }
    // Parses (and checks its annotations) under its own id first, for a precise message.
    PolicyEngine::parse(policy_id, source)?;
    let mut next: Vec<StoredPolicy> = in_force(tx)
        .await?
        .into_iter()
        .filter(|p| !(p.tenant.as_deref() == tenant && p.policy_id == policy_id))
        .collect();
    next.push(StoredPolicy {
        tenant: tenant.map(str::to_owned),
        policy_id: policy_id.to_owned(),
        version: 0,
        source: source.to_owned(),
        created_at: Utc::now(),
        created_by: actor.to_owned(),
        revoked_at: None,
    });
    engine_of(&next)?;
    let version: i32 = tx
        .query_one(
            "insert into policies (tenant, policy_id, version, source, created_by)
             select $1, $2, coalesce(max(version), 0) + 1, $3, $4 from policies
             where coalesce(tenant, '') = coalesce($1::text, '') and policy_id = $2
             returning version",
            &[&tenant, &policy_id, &source, &actor],
        )
        .await?
        .get(0);
    Ok(version)
}

/// Revokes the policy in force under `policy_id` for `tenant` (`None`: shared).
pub async fn revoke(tx: &Transaction<'_>, tenant: Option<&str>, policy_id: &str, actor: &str) -> Result<i32, PolicyStoreError> {
    tx.execute("select pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await?;
    let row = tx
        .query_opt(
            "update policies p set revoked_at = now(), revoked_by = $3
             where coalesce(p.tenant, '') = coalesce($1::text, '') and p.policy_id = $2 and p.revoked_at is null
               and p.version = (select max(version) from policies q
                                where coalesce(q.tenant, '') = coalesce($1::text, '') and q.policy_id = $2)
             returning p.version",
            &[&tenant, &policy_id, &actor],
        )
        .await?;
    row.map(|r| r.get(0)).ok_or_else(|| PolicyStoreError::NotFound { scope: scope(tenant), id: policy_id.to_owned() })
}
