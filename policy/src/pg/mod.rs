//! Policies in PostgreSQL (feature `pg`): versioned, per tenant or shared (zkq-store migrations
//! 0009 and 0010, table `policies`). Every change is a new version; the policy in force is the
//! latest version of each (tenant, id) unless it is revoked. A policy linked from a marketplace
//! template names the template version and its parameters (only a published template can be
//! linked: the database refuses the others).
//!
//! Submodules: [`market`] (templates, reviews and the review gate) and [`telemetry`] (decision
//! counts per policy version, template usage).
//!
//! [`put`] validates before it stores: the new version replaces its predecessor in the set it
//! belongs to (the tenant's own policies plus the shared ones — for a shared policy, every
//! tenant's set), the result must validate against the schema in strict mode, and nothing is
//! written otherwise. Changes take turns on a transaction-scoped advisory lock, so two changes
//! never validate against the same old state. [`load`] builds the [`PolicyEngine`] that decides
//! from what is in force.

pub mod market;
pub mod telemetry;

use std::collections::{BTreeMap, HashMap};

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
    /// The marketplace's review gate or state machine refused (a message from the database
    /// trigger that enforces it, e.g. an author reviewing their own template).
    #[error("{0}")]
    Gate(String),
    /// No such template in the marketplace.
    #[error("there is no template {0} in the marketplace (submit it first: zkq policy catalog submit)")]
    UnknownTemplate(String),
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
    /// The template it was linked from, when it was.
    pub template: Option<TemplateLink>,
}

/// A policy's marketplace template: which version, with which parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateLink {
    /// Template id.
    pub template_id: String,
    /// Template version (semver text).
    pub version: String,
    /// The parameters it was linked with (`name → value` as given, defaults filled in).
    pub params: BTreeMap<String, String>,
}

impl StoredPolicy {
    /// Its name inside the engine: `<tenant>.<id>`, or `shared.<id>`.
    pub fn cedar_id(&self) -> String {
        cedar_id(self.tenant.as_deref(), &self.policy_id)
    }
}

/// The engine's name of a stored policy: `<tenant>.<id>`, or `shared.<id>`.
pub fn cedar_id(tenant: Option<&str>, policy_id: &str) -> String {
    match tenant {
        None => format!("shared.{policy_id}"),
        Some(t) => format!("{t}.{policy_id}"),
    }
}

fn scope(tenant: Option<&str>) -> String {
    tenant.map_or_else(|| "every tenant (shared)".to_owned(), |t| format!("tenant {t}"))
}

const COLUMNS: &str = "tenant, policy_id, version, source, created_at, created_by, revoked_at, template_id, template_version, params";

fn row(r: &tokio_postgres::Row) -> StoredPolicy {
    let template_id: Option<String> = r.get(7);
    let template = template_id.map(|template_id| TemplateLink {
        template_id,
        version: r.get::<_, Option<String>>(8).unwrap_or_default(),
        params: r
            .get::<_, Option<serde_json::Value>>(9)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
    });
    StoredPolicy {
        tenant: r.get(0),
        policy_id: r.get(1),
        version: r.get(2),
        source: r.get(3),
        created_at: r.get(4),
        created_by: r.get(5),
        revoked_at: r.get(6),
        template,
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
        let parsed = PolicyEngine::parse(&p.cedar_id(), &p.source)?;
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

/// What a worker decides with: the engine, which stored version each of its policies is, and
/// the [`Generation`] it was loaded at.
#[derive(Debug)]
pub struct Loaded {
    /// The engine.
    pub engine: PolicyEngine,
    /// Engine policy id (`<tenant>.<id>`, `shared.<id>`) → the stored policy it is.
    pub policies: HashMap<String, StoredPolicy>,
    /// The state of the table it was loaded from.
    pub generation: Generation,
}

/// A cheap fingerprint of the `policies` table: any put or revoke changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    /// Rows (versions) stored.
    pub versions: i64,
    /// Revoked rows.
    pub revoked: i64,
    /// The latest change (a version stored or revoked).
    pub last_change: Option<DateTime<Utc>>,
}

/// The table's current [`Generation`] (one index-free aggregate over a small table).
pub async fn generation(client: &impl GenericClient) -> Result<Generation, PolicyStoreError> {
    let r = client
        .query_one(
            "select count(*), count(revoked_at), max(greatest(created_at, coalesce(revoked_at, created_at))) from policies",
            &[],
        )
        .await?;
    Ok(Generation { versions: r.get(0), revoked: r.get(1), last_change: r.get(2) })
}

/// Loads the policies in force with their versions, in one repeatable-read snapshot when
/// `client` is a transaction (the generation and the rows agree).
pub async fn load_versions(client: &impl GenericClient) -> Result<Loaded, PolicyStoreError> {
    let generation = generation(client).await?;
    let stored = in_force(client).await?;
    let engine = engine_of(&stored)?;
    let policies = stored.into_iter().map(|p| (p.cedar_id(), p)).collect();
    Ok(Loaded { engine, policies, generation })
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
    put_linked(tx, tenant, policy_id, source, None, actor).await
}

/// [`put`] for a policy rendered from a marketplace template: the row names the template
/// version and parameters (the database refuses a template that is not published).
pub async fn put_linked(
    tx: &Transaction<'_>,
    tenant: Option<&str>,
    policy_id: &str,
    source: &str,
    template: Option<&TemplateLink>,
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
    // The sets it joins: every tenant's for a shared policy; else its tenant's (with the shared
    // ones) — the other tenants' sets do not change.
    let mut next: Vec<StoredPolicy> = in_force(tx)
        .await?
        .into_iter()
        .filter(|p| tenant.is_none() || p.tenant.is_none() || p.tenant.as_deref() == tenant)
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
        template: template.cloned(),
    });
    engine_of(&next)?;
    let (template_id, template_version) = (template.map(|t| t.template_id.as_str()), template.map(|t| t.version.as_str()));
    let params = template.map(|t| serde_json::json!(t.params));
    let row = tx
        .query_one(
            "insert into policies (tenant, policy_id, version, source, created_by, template_id, template_version, params)
             select $1, $2, coalesce(max(version), 0) + 1, $3, $4, $5, $6, $7 from policies
             where coalesce(tenant, '') = coalesce($1::text, '') and policy_id = $2
             returning version",
            &[&tenant, &policy_id, &source, &actor, &template_id, &template_version, &params],
        )
        .await;
    match row {
        Ok(r) => Ok(r.get(0)),
        Err(e) => Err(market::gate_error(e)),
    }
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
