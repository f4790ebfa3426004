//! PostgreSQL access (the sync `postgres` client; finops never depends on the scheduler or the
//! engine). Reads the tables zkq-store's migrations create (`store/migrations`),
//! writes only `prices` and `shared_costs`.
//!
//! A job's cost is recomputed at the price valid when its batch started: the batch records
//! the price row it was charged at (`batches.price_id`); the report takes the latest version
//! of that same price (provider, region, instance type, pricing category) whose `valid_from`
//! is not after the batch's start — so a price added later with an earlier `valid_from`
//! (a correction) re-prices the jobs it covers. A batch without a price row is priced by
//! device type (and region) with the worker's rule. The list cost uses the on-demand version
//! of the same instance and region.

use std::time::Duration;

use postgres::{Client, NoTls, Row};

use crate::error::{FinopsError, Result};
use crate::model::{Dataset, JobRow, PriceRow, SharedCostRow, UptimeRow};
use crate::period::Period;
use crate::prices::{NewPrice, NewSharedCost};

/// The default connection string (as `zkq`'s `--pg`).
pub const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq";

/// Connects (5 s connect timeout unless the string sets one).
pub fn connect(url: &str) -> Result<Client> {
    let mut config: postgres::Config = url.parse().map_err(|e| FinopsError::BadInput(format!("invalid PostgreSQL connection string: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.connect(NoTls).map_err(|e| FinopsError::db("cannot connect to PostgreSQL", e))
}

/// Maps "table missing" to a hint about migrations.
fn query_error(what: &str, e: postgres::Error) -> FinopsError {
    if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) || e.code() == Some(&postgres::error::SqlState::UNDEFINED_COLUMN) {
        return FinopsError::db(format!("{what}: the database lacks zkq's schema (start a `zkq worker` once to apply the migrations)"), e);
    }
    FinopsError::db(what, e)
}

const JOBS_SQL: &str = "
select r.job_id, j.tenant,
       coalesce(c.name || '@' || c.version::text, b.circuit_id) as circuit,
       b.device_type, coalesce(b.region, p.region, 'unknown') as region,
       coalesce(p.pricing_category, 'unpriced') as pricing_category,
       coalesce(p.provider, '') as provider, coalesce(p.instance_type, '') as instance_type,
       b.worker_id, b.device, r.completed_at, r.status = 'proved' as proved,
       jc.device_seconds,
       jc.device_seconds * coalesce(p.usd_per_hour::float8 / p.devices_per_instance / 3600.0, 0) as usd,
       jc.device_seconds * coalesce(l.usd_per_hour::float8 / l.devices_per_instance / 3600.0,
                                    p.usd_per_hour::float8 / p.devices_per_instance / 3600.0, 0) as list_usd,
       (r.compute_h_ms + r.compute_a_ms + r.compute_b_g1_ms + r.compute_b_g2_ms + r.compute_c_ms) as prove_ms,
       b.key_cache_hit
from job_results r
join jobs j on j.job_id = r.job_id
join job_costs jc on jc.job_id = r.job_id
join batches b on b.id = jc.batch_id
left join circuits c on c.id = b.circuit_id
left join prices rec on rec.id = b.price_id
left join lateral (
    select q.* from prices q
    where q.valid_from <= b.started_at
      and ((rec.id is not null and q.provider = rec.provider and q.region = rec.region
            and q.instance_type = rec.instance_type and q.pricing_category = rec.pricing_category)
        or (rec.id is null and q.device_type = b.device_type and (b.region is null or q.region = b.region)))
    order by q.valid_from desc, (q.pricing_category = 'on-demand') desc, q.id desc
    limit 1) p on true
left join lateral (
    select q.* from prices q
    where p.id is not null and q.provider = p.provider and q.region = p.region and q.instance_type = p.instance_type
      and q.pricing_category = 'on-demand' and q.valid_from <= b.started_at
    order by q.valid_from desc, q.id desc
    limit 1) l on true
where r.completed_at >= $1 and r.completed_at < $2
order by r.completed_at, r.job_id";

fn job_row(r: &Row) -> JobRow {
    JobRow {
        job_id: r.get("job_id"),
        tenant: r.get("tenant"),
        circuit: r.get("circuit"),
        device_type: r.get("device_type"),
        region: r.get("region"),
        pricing_category: r.get("pricing_category"),
        provider: r.get("provider"),
        instance_type: r.get("instance_type"),
        worker_id: r.get("worker_id"),
        device: r.get("device"),
        completed_at: r.get("completed_at"),
        proved: r.get("proved"),
        device_seconds: r.get("device_seconds"),
        usd: r.get("usd"),
        list_usd: r.get("list_usd"),
        prove_ms: r.get("prove_ms"),
        cache_hit: r.get("key_cache_hit"),
    }
}

/// Loads every row a report of `window` needs (jobs completed in it, uptime overlapping it,
/// the price and shared-cost tables).
pub fn load(client: &mut Client, window: &Period) -> Result<Dataset> {
    let jobs = client.query(JOBS_SQL, &[&window.start, &window.end]).map_err(|e| query_error("reading jobs and costs", e))?;
    let uptime = client
        .query(
            "select worker_id, device, device_type, region, devices, started_at, last_seen_at from worker_uptime
             where started_at < $2 and last_seen_at > $1 order by worker_id, started_at",
            &[&window.start, &window.end],
        )
        .map_err(|e| query_error("reading worker uptime", e))?;
    Ok(Dataset {
        jobs: jobs.iter().map(job_row).collect(),
        uptime: uptime
            .iter()
            .map(|r| UptimeRow {
                worker_id: r.get("worker_id"),
                device: r.get("device"),
                device_type: r.get("device_type"),
                region: r.get("region"),
                devices: r.get("devices"),
                started_at: r.get("started_at"),
                last_seen_at: r.get("last_seen_at"),
            })
            .collect(),
        prices: list_prices(client)?,
        shared: list_shared(client)?,
    })
}

/// The whole price table, by device type, then oldest first.
pub fn list_prices(client: &mut Client) -> Result<Vec<PriceRow>> {
    let rows = client
        .query(
            "select id, provider, region, instance_type, device_type, devices_per_instance, pricing_category,
                    usd_per_hour::float8 as usd_per_hour, valid_from, source
             from prices order by device_type, valid_from, id",
            &[],
        )
        .map_err(|e| query_error("reading prices", e))?;
    Ok(rows
        .iter()
        .map(|r| PriceRow {
            id: r.get("id"),
            provider: r.get("provider"),
            region: r.get("region"),
            instance_type: r.get("instance_type"),
            device_type: r.get("device_type"),
            devices_per_instance: r.get("devices_per_instance"),
            pricing_category: r.get("pricing_category"),
            usd_per_hour: r.get("usd_per_hour"),
            valid_from: r.get("valid_from"),
            source: r.get("source"),
        })
        .collect())
}

/// The whole shared-cost table.
pub fn list_shared(client: &mut Client) -> Result<Vec<SharedCostRow>> {
    let rows = client
        .query("select id, component, region, usd_per_hour::float8 as usd_per_hour, valid_from, source from shared_costs order by component, valid_from, id", &[])
        .map_err(|e| query_error("reading shared costs", e))?;
    Ok(rows
        .iter()
        .map(|r| SharedCostRow {
            id: r.get("id"),
            component: r.get("component"),
            region: r.get("region"),
            usd_per_hour: r.get("usd_per_hour"),
            valid_from: r.get("valid_from"),
            source: r.get("source"),
        })
        .collect())
}

fn unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// Adds prices in one transaction: all or none. A row repeating (provider, region, instance
/// type, category, valid_from) is refused (prices are never edited). Returns the new ids.
pub fn add_prices(client: &mut Client, prices: &[NewPrice]) -> Result<Vec<i64>> {
    for p in prices {
        p.validate().map_err(FinopsError::BadInput)?;
    }
    let mut tx = client.transaction().map_err(|e| FinopsError::db("starting a transaction", e))?;
    let mut ids = Vec::new();
    for (i, p) in prices.iter().enumerate() {
        let row = tx
            .query_one(
                "insert into prices (provider, region, instance_type, device_type, devices_per_instance, pricing_category,
                                     usd_per_hour, valid_from, source)
                 values ($1, $2, $3, $4, $5, $6, $7::float8::numeric, $8, $9) returning id",
                &[&p.provider, &p.region, &p.instance_type, &p.device_type, &p.devices_per_instance, &p.pricing_category, &p.usd_per_hour, &p.valid_from, &p.source],
            )
            .map_err(|e| {
                if unique_violation(&e) {
                    FinopsError::BadInput(format!(
                        "price {} ({} {} {} {} from {}) already exists: prices are never edited; add one with a later valid_from",
                        i + 1,
                        p.provider,
                        p.region,
                        p.instance_type,
                        p.pricing_category,
                        p.valid_from.to_rfc3339()
                    ))
                } else {
                    query_error("adding a price", e)
                }
            })?;
        ids.push(row.get::<_, i64>(0));
    }
    tx.commit().map_err(|e| FinopsError::db("committing prices", e))?;
    Ok(ids)
}

/// Adds one shared cost (versioned like prices). Returns its id.
pub fn add_shared(client: &mut Client, s: &NewSharedCost) -> Result<i64> {
    s.validate().map_err(FinopsError::BadInput)?;
    let row = client
        .query_one(
            "insert into shared_costs (component, region, usd_per_hour, valid_from, source) values ($1, $2, $3::float8::numeric, $4, $5) returning id",
            &[&s.component, &s.region, &s.usd_per_hour, &s.valid_from, &s.source],
        )
        .map_err(|e| {
            if unique_violation(&e) {
                FinopsError::BadInput(format!("a {} cost valid from {} already exists: add one with a later valid_from", s.component, s.valid_from.to_rfc3339()))
            } else {
                query_error("adding a shared cost", e)
            }
        })?;
    Ok(row.get(0))
}
