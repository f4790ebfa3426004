//! Workload figures per group, computed with polars: the jobs become a frame and one lazy
//! `group_by(group).agg(..)` yields, per group, jobs, proofs, proving device-seconds, cost, list
//! cost, p95 prove time (linear interpolation between order statistics, as numpy's default) and
//! the proving-key cache hit rate (the share of jobs whose batch found its key cached, over
//! the jobs whose batch recorded it).

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::{FinopsError, Result};
use crate::model::JobRow;

/// One group's workload figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// Jobs with a cost row.
    pub jobs: u64,
    /// Jobs whose proof verified.
    pub proofs: u64,
    /// Device-seconds spent on the group's jobs.
    pub proving_seconds: f64,
    /// Their cost, USD.
    pub usd: f64,
    /// Their cost at on-demand list prices.
    pub list_usd: f64,
    /// 95th percentile of proving time over the proved jobs, ms.
    pub p95_prove_ms: Option<f64>,
    /// Share of jobs whose batch hit the proving-key cache.
    pub cache_hit_rate: Option<f64>,
}

/// The jobs as a polars frame, with `group` computed by `key`.
pub fn jobs_frame(jobs: &[&JobRow], key: impl Fn(&JobRow) -> String) -> Result<DataFrame> {
    let frame = df!(
        "group" => jobs.iter().map(|j| key(j)).collect::<Vec<String>>(),
        "proved" => jobs.iter().map(|j| j.proved).collect::<Vec<bool>>(),
        "device_seconds" => jobs.iter().map(|j| j.device_seconds).collect::<Vec<f64>>(),
        "usd" => jobs.iter().map(|j| j.usd).collect::<Vec<f64>>(),
        "list_usd" => jobs.iter().map(|j| j.list_usd).collect::<Vec<f64>>(),
        "prove_ms" => jobs.iter().map(|j| j.proved.then_some(j.prove_ms)).collect::<Vec<Option<f64>>>(),
        "cache_hit" => jobs.iter().map(|j| j.cache_hit.map(|h| if h { 1.0 } else { 0.0 })).collect::<Vec<Option<f64>>>(),
    )
    .map_err(|e| FinopsError::frame("building the jobs frame", e))?;
    Ok(frame)
}

/// Workload figures of `jobs` per `key(job)`.
pub fn workload_by(jobs: &[&JobRow], key: impl Fn(&JobRow) -> String) -> Result<BTreeMap<String, Workload>> {
    let mut out = BTreeMap::new();
    if jobs.is_empty() {
        return Ok(out);
    }
    let frame = jobs_frame(jobs, key)?;
    let agg = frame
        .lazy()
        .group_by([col("group")])
        .agg([
            len().alias("jobs"),
            col("proved").cast(DataType::UInt32).sum().alias("proofs"),
            col("device_seconds").sum().alias("proving_seconds"),
            col("usd").sum().alias("usd"),
            col("list_usd").sum().alias("list_usd"),
            col("prove_ms").quantile(lit(0.95), QuantileMethod::Linear).alias("p95_prove_ms"),
            col("cache_hit").mean().alias("cache_hit_rate"),
        ])
        .collect()
        .map_err(|e| FinopsError::frame("aggregating jobs", e))?;
    let get = |name: &str| agg.column(name).map_err(|e| FinopsError::frame(format!("column {name}"), e)).cloned();
    let groups = get("group")?;
    let groups = groups.str().map_err(|e| FinopsError::frame("group column", e))?;
    let cast_f64 = |name: &str| -> Result<Vec<Option<f64>>> {
        let c = get(name)?.cast(&DataType::Float64).map_err(|e| FinopsError::frame(format!("column {name}"), e))?;
        let ca = c.f64().map_err(|e| FinopsError::frame(format!("column {name}"), e))?.clone();
        Ok((0..ca.len()).map(|i| ca.get(i)).collect())
    };
    let (jobs_n, proofs, secs, usd, list, p95, hit) =
        (cast_f64("jobs")?, cast_f64("proofs")?, cast_f64("proving_seconds")?, cast_f64("usd")?, cast_f64("list_usd")?, cast_f64("p95_prove_ms")?, cast_f64("cache_hit_rate")?);
    for i in 0..groups.len() {
        let g = groups.get(i);
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        out.insert(
            g.unwrap_or("").to_owned(),
            Workload {
                jobs: jobs_n[i].unwrap_or(0.0) as u64,
                proofs: proofs[i].unwrap_or(0.0) as u64,
                proving_seconds: secs[i].unwrap_or(0.0),
                usd: usd[i].unwrap_or(0.0),
                list_usd: list[i].unwrap_or(0.0),
                p95_prove_ms: finite(p95[i]),
                cache_hit_rate: finite(hit[i]),
            },
        );
    }
    Ok(out)
}
