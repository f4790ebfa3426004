//! Tenants: who may submit jobs, with a fair-share weight.

use tokio_postgres::Row;

use super::{Result, Store};
use crate::model::TenantRecord;
use crate::protocol::valid_tenant_name;
use crate::SchedulerError;

fn tenant_row(row: &Row) -> TenantRecord {
    TenantRecord { name: row.get("name"), weight: row.get("weight") }
}

impl Store {
    /// Registers a tenant, or sets the weight of an existing one. Weights are ≥ 1.
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
                "insert into tenants (name, weight) values ($1, $2)
                 on conflict (name) do update set weight = excluded.weight
                 returning name, weight",
                &[&name, &weight],
            )
            .await?;
        Ok(tenant_row(&row))
    }

    /// The tenant called `name`, if registered.
    pub async fn tenant(&self, name: &str) -> Result<Option<TenantRecord>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached("select name, weight from tenants where name = $1").await?;
        Ok(client.query_opt(&stmt, &[&name]).await?.as_ref().map(tenant_row))
    }

    /// Every tenant, by name.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        let client = self.client().await?;
        Ok(client.query("select name, weight from tenants order by name", &[]).await?.iter().map(tenant_row).collect())
    }
}
