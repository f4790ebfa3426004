//! Usage telemetry (migration 0010): how many decisions each stored policy version produced
//! (workers add their counts, per day, when they check for policy changes), and per template
//! version how many tenants link it and how many decisions its policies produced.

use std::collections::HashMap;

use chrono::NaiveDate;
use tokio_postgres::GenericClient;

use super::PolicyStoreError;

/// Decisions counted for one stored policy version on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Allows it decided (as a deciding permit).
    pub allows: i64,
    /// Denies it decided (as a matching forbid).
    pub denies: i64,
}

/// `(tenant or "" for shared, policy id, version, day)`.
pub type CountKey = (String, String, i32, NaiveDate);

/// Adds `counts` to the stored totals, in one statement.
pub async fn add_counts(client: &impl GenericClient, counts: &HashMap<CountKey, Counts>) -> Result<(), PolicyStoreError> {
    if counts.is_empty() {
        return Ok(());
    }
    let (mut tenants, mut ids, mut versions, mut days, mut allows, mut denies) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for ((tenant, id, version, day), c) in counts {
        tenants.push(tenant.as_str());
        ids.push(id.as_str());
        versions.push(*version);
        days.push(*day);
        allows.push(c.allows);
        denies.push(c.denies);
    }
    client
        .execute(
            "insert into policy_decision_counts (tenant, policy_id, policy_version, day, allows, denies)
             select * from unnest($1::text[], $2::text[], $3::int[], $4::date[], $5::bigint[], $6::bigint[])
             on conflict (tenant, policy_id, policy_version, day) do update
             set allows = policy_decision_counts.allows + excluded.allows, denies = policy_decision_counts.denies + excluded.denies",
            &[&tenants, &ids, &versions, &days, &allows, &denies],
        )
        .await?;
    Ok(())
}

/// One template version's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateUsage {
    /// Template id.
    pub template_id: String,
    /// Version.
    pub version: String,
    /// Tenants with a policy in force linked from it.
    pub tenants_linking: i64,
    /// Decisions its linked policies (every version, in force or not) produced.
    pub allows: i64,
    /// Denies.
    pub denies: i64,
}

/// Usage of every template version that was ever linked.
pub async fn template_usage(client: &impl GenericClient) -> Result<Vec<TemplateUsage>, PolicyStoreError> {
    let rows = client
        .query(
            "with latest as (
                 select distinct on (coalesce(tenant, ''), policy_id) tenant, policy_id, template_id, template_version, revoked_at
                 from policies order by coalesce(tenant, ''), policy_id, version desc
             ),
             linking as (
                 select template_id, template_version, count(distinct coalesce(tenant, '')) as tenants
                 from latest where template_id is not null and revoked_at is null group by 1, 2
             ),
             decided as (
                 select p.template_id, p.template_version, sum(c.allows)::bigint as allows, sum(c.denies)::bigint as denies
                 from policies p join policy_decision_counts c
                   on c.tenant = coalesce(p.tenant, '') and c.policy_id = p.policy_id and c.policy_version = p.version
                 where p.template_id is not null group by 1, 2
             )
             select coalesce(l.template_id, d.template_id), coalesce(l.template_version, d.template_version),
                    coalesce(l.tenants, 0), coalesce(d.allows, 0), coalesce(d.denies, 0)
             from linking l full join decided d on d.template_id = l.template_id and d.template_version = l.template_version
             order by 1, 2",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TemplateUsage { template_id: r.get(0), version: r.get(1), tenants_linking: r.get(2), allows: r.get(3), denies: r.get(4) })
        .collect())
}
