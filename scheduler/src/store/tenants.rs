//! Tenants: who may submit jobs, with a fair-share weight, their broker user
//! (`crate::identity`), and whether they were removed.

use tokio_postgres::Row;

use super::{Result, Store};
use crate::model::TenantRecord;
use crate::protocol::valid_tenant_name;
use crate::SchedulerError;

const TENANT_COLUMNS: &str = "name, weight, amqp_user, removed_at, tier";

fn tenant_row(row: &Row) -> TenantRecord {
    TenantRecord {
        name: row.get("name"),
        weight: row.get("weight"),
        amqp_user: row.get("amqp_user"),
        removed_at: row.get("removed_at"),
        tier: row.get("tier"),
    }
}

impl Store {
    /// Registers a tenant, or sets the weight of an existing one (a removed tenant is
    /// registered again). Weights are ≥ 1.
    pub async fn add_tenant(&self, name: &str, weight: i32) -> Result<TenantRecord> {
        if !valid_tenant_name(name) {
            return Err(SchedulerError::Invalid(format!("invalid tenant name {name:?}: use 1-128 characters without spaces")));
        }
        if weight < 1 {
            return Err(SchedulerError::Invalid(format!("tenant weight must be at least 1, got {weight}")));
        }
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "insert into tenants (name, weight) values ($1, $2)
                     on conflict (name) do update set weight = excluded.weight, removed_at = null
                     returning {TENANT_COLUMNS}"
                ),
                &[&name, &weight],
            )
            .await?;
        Ok(tenant_row(&row))
    }

    /// Sets `name`'s tier (policies read it as `principal.tier`): up to 32 letters, digits and
    /// `._-`, or `""` for none. Returns false when no such tenant is registered.
    pub async fn set_tenant_tier(&self, name: &str, tier: &str) -> Result<bool> {
        if tier.len() > 32 || !tier.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err(SchedulerError::Invalid(format!("invalid tier {tier:?}: use up to 32 letters, digits, '.', '_' or '-'")));
        }
        let client = self.client().await?;
        Ok(client.execute("update tenants set tier = $2 where name = $1", &[&name, &tier]).await? == 1)
    }

    /// Records `name`'s broker user. Returns false when no such tenant is registered.
    pub async fn set_tenant_user(&self, name: &str, amqp_user: &str) -> Result<bool> {
        let client = self.client().await?;
        Ok(client.execute("update tenants set amqp_user = $2 where name = $1", &[&name, &amqp_user]).await? == 1)
    }

    /// Marks `name` removed (its broker user is deleted by the caller). Returns the record, or
    /// `None` when no such tenant is registered.
    pub async fn remove_tenant(&self, name: &str) -> Result<Option<TenantRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("update tenants set removed_at = coalesce(removed_at, now()) where name = $1 returning {TENANT_COLUMNS}"),
                &[&name],
            )
            .await?;
        Ok(row.as_ref().map(tenant_row))
    }

    /// The tenant called `name`, if registered (removed ones too: see `removed_at`).
    pub async fn tenant(&self, name: &str) -> Result<Option<TenantRecord>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(&format!("select {TENANT_COLUMNS} from tenants where name = $1")).await?;
        Ok(client.query_opt(&stmt, &[&name]).await?.as_ref().map(tenant_row))
    }

    /// Every tenant, by name (removed ones too: their queues are drained).
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        let client = self.client().await?;
        Ok(client.query(&format!("select {TENANT_COLUMNS} from tenants order by name"), &[]).await?.iter().map(tenant_row).collect())
    }
}
