//! FOCUS-shaped export (FinOps Open Cost and Usage Specification, column names of FOCUS 1.2:
//! <https://focus.finops.org/>): one charge row per UTC day and
//! - **workload**: (tenant, circuit, device type, region, pricing category, worker/device);
//! - **idle**: per worker — device time paid for but not proving;
//! - **shared**: per component (broker, database, …).
//!
//! Costs are not re-allocated here: idle and shared are their own charges, as in a bill.
//! `BilledCost = EffectiveCost = ContractedCost` (prices in the table are what is paid);
//! `ListCost` is the on-demand price of the same instance and region. `ConsumedQuantity` is
//! device-hours. zkq's own columns carry the `x_` prefix: `x_TenantId`, `x_CircuitId`,
//! `x_ProofsCompleted`, `x_CostPer1kProofs`, `x_CacheHitRate`, `x_ChargeKind`,
//! `x_PricingCategory` (zkq's own category name).

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::allocate;
use crate::error::{FinopsError, Result};
use crate::model::Dataset;
use crate::period::{Bucket, Period};

/// The service name on every row.
pub const SERVICE_NAME: &str = "zkq Groth16 proving";

/// One FOCUS charge row.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusRow {
    /// ChargePeriodStart (inclusive).
    pub charge_period_start: String,
    /// ChargePeriodEnd (exclusive).
    pub charge_period_end: String,
    /// `workload`, `idle` or `shared`.
    pub kind: &'static str,
    /// ChargeDescription.
    pub description: String,
    /// BilledCost = EffectiveCost, USD.
    pub cost: f64,
    /// ListCost, USD.
    pub list_cost: f64,
    /// zkq pricing category (`on-demand`, …), when priced.
    pub pricing_category: Option<String>,
    /// RegionId.
    pub region: Option<String>,
    /// ResourceId.
    pub resource_id: Option<String>,
    /// ResourceType (device type, or the shared component).
    pub resource_type: Option<String>,
    /// ProviderName.
    pub provider: Option<String>,
    /// SkuId (instance type).
    pub sku: Option<String>,
    /// ConsumedQuantity, device-hours.
    pub device_hours: Option<f64>,
    /// x_TenantId.
    pub tenant: Option<String>,
    /// x_CircuitId.
    pub circuit: Option<String>,
    /// x_ProofsCompleted.
    pub proofs: Option<u64>,
    /// x_CacheHitRate.
    pub cache_hit_rate: Option<f64>,
}

/// FOCUS `PricingCategory` for a zkq category.
pub fn focus_pricing_category(category: &str) -> Option<&'static str> {
    match category {
        "on-demand" => Some("Standard"),
        "spot" => Some("Dynamic"),
        "reserved" | "savings-plan" => Some("Committed"),
        "unpriced" => None,
        _ => Some("Other"),
    }
}

#[derive(Default)]
struct Acc {
    cost: f64,
    list: f64,
    seconds: f64,
    proofs: u64,
    hits: f64,
    known: f64,
}

/// The charge rows of `period`, day by day.
pub fn rows(ds: &Dataset, period: &Period) -> Vec<FocusRow> {
    let mut out = Vec::new();
    for (_, day) in period.buckets(Bucket::Day) {
        let (start, end) = (day.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), day.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        type Key = (String, String, String, String, String, String, String, String, String);
        let mut groups: BTreeMap<Key, Acc> = BTreeMap::new();
        for j in ds.jobs.iter().filter(|j| day.contains(j.completed_at)) {
            let key = (
                j.tenant.clone(),
                j.circuit.clone(),
                j.device_type.clone(),
                j.region.clone(),
                j.pricing_category.clone(),
                j.provider.clone(),
                j.instance_type.clone(),
                j.worker_id.clone(),
                j.device.clone(),
            );
            let a = groups.entry(key).or_default();
            a.cost += j.usd;
            a.list += j.list_usd;
            a.seconds += j.device_seconds;
            a.proofs += u64::from(j.proved);
            if let Some(h) = j.cache_hit {
                a.known += 1.0;
                a.hits += if h { 1.0 } else { 0.0 };
            }
        }
        for ((tenant, circuit, device_type, region, category, provider, sku, worker, device), a) in groups {
            out.push(FocusRow {
                charge_period_start: start.clone(),
                charge_period_end: end.clone(),
                kind: "workload",
                description: format!("Groth16 proving for {tenant} ({circuit}) on {device_type}"),
                cost: a.cost,
                list_cost: a.list,
                pricing_category: (category != "unpriced").then_some(category),
                region: Some(region),
                resource_id: Some(format!("{worker}/{device}")),
                resource_type: Some(device_type),
                provider: (!provider.is_empty()).then_some(provider),
                sku: (!sku.is_empty()).then_some(sku),
                device_hours: Some(a.seconds / 3600.0),
                tenant: Some(tenant),
                circuit: Some(circuit),
                proofs: Some(a.proofs),
                cache_hit_rate: (a.known > 0.0).then(|| a.hits / a.known),
            });
        }
        for w in allocate::idle(ds, &day).into_iter().filter(|w| w.idle_seconds > 0.0) {
            out.push(FocusRow {
                charge_period_start: start.clone(),
                charge_period_end: end.clone(),
                kind: "idle",
                description: format!("idle device time of worker {}", w.worker_id),
                cost: w.idle_usd,
                list_cost: w.idle_usd,
                pricing_category: None,
                region: Some(w.region.clone()),
                resource_id: Some(format!("{}/{}", w.worker_id, w.device)),
                resource_type: Some(w.device_type.clone()),
                provider: None,
                sku: None,
                device_hours: Some(w.idle_seconds / 3600.0),
                tenant: None,
                circuit: None,
                proofs: None,
                cache_hit_rate: None,
            });
        }
        for (component, usd) in allocate::shared(&ds.shared, &day).into_iter().filter(|(_, usd)| *usd > 0.0) {
            out.push(FocusRow {
                charge_period_start: start.clone(),
                charge_period_end: end.clone(),
                kind: "shared",
                description: format!("shared {component} cost"),
                cost: usd,
                list_cost: usd,
                pricing_category: None,
                region: None,
                resource_id: Some(component.clone()),
                resource_type: Some(component),
                provider: None,
                sku: None,
                device_hours: None,
                tenant: None,
                circuit: None,
                proofs: None,
                cache_hit_rate: None,
            });
        }
    }
    out
}

/// The rows as a polars frame with FOCUS column names.
pub fn frame(rows: &[FocusRow], period: &Period) -> Result<DataFrame> {
    let n = rows.len();
    let s = |name: &str, v: Vec<Option<String>>| Column::new(name.into(), v);
    let fixed = |name: &str, v: &str| Column::new(name.into(), vec![v.to_owned(); n]);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let columns = vec![
        fixed("BillingAccountId", "zkq"),
        fixed("BillingCurrency", "USD"),
        fixed("BillingPeriodStart", &fmt(period.start)),
        fixed("BillingPeriodEnd", &fmt(period.end)),
        Column::new("ChargePeriodStart".into(), rows.iter().map(|r| r.charge_period_start.clone()).collect::<Vec<_>>()),
        Column::new("ChargePeriodEnd".into(), rows.iter().map(|r| r.charge_period_end.clone()).collect::<Vec<_>>()),
        fixed("ChargeCategory", "Usage"),
        fixed("ChargeFrequency", "Usage-Based"),
        Column::new("ChargeDescription".into(), rows.iter().map(|r| r.description.clone()).collect::<Vec<_>>()),
        Column::new("BilledCost".into(), rows.iter().map(|r| r.cost).collect::<Vec<f64>>()),
        Column::new("EffectiveCost".into(), rows.iter().map(|r| r.cost).collect::<Vec<f64>>()),
        Column::new("ContractedCost".into(), rows.iter().map(|r| r.cost).collect::<Vec<f64>>()),
        Column::new("ListCost".into(), rows.iter().map(|r| r.list_cost).collect::<Vec<f64>>()),
        s("PricingCategory", rows.iter().map(|r| r.pricing_category.as_deref().and_then(focus_pricing_category).map(str::to_owned)).collect()),
        Column::new("ConsumedQuantity".into(), rows.iter().map(|r| r.device_hours).collect::<Vec<Option<f64>>>()),
        s("ConsumedUnit", rows.iter().map(|r| r.device_hours.map(|_| "Device-Hours".to_owned())).collect()),
        Column::new("PricingQuantity".into(), rows.iter().map(|r| r.device_hours).collect::<Vec<Option<f64>>>()),
        s("PricingUnit", rows.iter().map(|r| r.device_hours.map(|_| "Hours".to_owned())).collect()),
        s("RegionId", rows.iter().map(|r| r.region.clone()).collect()),
        s("ResourceId", rows.iter().map(|r| r.resource_id.clone()).collect()),
        s("ResourceType", rows.iter().map(|r| r.resource_type.clone()).collect()),
        fixed("ServiceCategory", "Compute"),
        fixed("ServiceName", SERVICE_NAME),
        s("ProviderName", rows.iter().map(|r| r.provider.clone()).collect()),
        s("SkuId", rows.iter().map(|r| r.sku.clone()).collect()),
        s("x_TenantId", rows.iter().map(|r| r.tenant.clone()).collect()),
        s("x_CircuitId", rows.iter().map(|r| r.circuit.clone()).collect()),
        Column::new("x_ProofsCompleted".into(), rows.iter().map(|r| r.proofs).collect::<Vec<Option<u64>>>()),
        Column::new(
            "x_CostPer1kProofs".into(),
            rows.iter().map(|r| r.proofs.filter(|p| *p > 0).map(|p| 1000.0 * r.cost / p as f64)).collect::<Vec<Option<f64>>>(),
        ),
        Column::new("x_CacheHitRate".into(), rows.iter().map(|r| r.cache_hit_rate).collect::<Vec<Option<f64>>>()),
        s("x_ChargeKind", rows.iter().map(|r| Some(r.kind.to_owned())).collect()),
        s("x_PricingCategory", rows.iter().map(|r| r.pricing_category.clone()).collect()),
    ];
    DataFrame::new_infer_height(columns).map_err(|e| FinopsError::frame("building the FOCUS frame", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::csv_bytes;
    use crate::report::tests::dataset;

    #[test]
    fn workload_idle_and_shared_charges_with_focus_and_x_columns() {
        let period = Period::parse("2026-11-16", "2026-11-16").expect("day");
        let rows = rows(&dataset(), &period);
        // Tenant a and b workload rows, one idle row (worker w1), broker and database.
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["workload", "workload", "idle", "shared", "shared"]);
        let a = &rows[0];
        assert_eq!((a.tenant.as_deref(), a.proofs), (Some("a"), Some(5)));
        assert!((a.cost - 6.0).abs() < 1e-9, "a: 2 × $1.50 + 3 × $1");
        assert!((a.device_hours.expect("hours") - 600.0 / 3600.0).abs() < 1e-12);
        assert!((rows[2].cost - 65.0).abs() < 1e-9, "idle: 7200 − 700 s at $0.01");
        assert!((rows[3].cost - 48.0).abs() < 1e-9, "broker: 24 h × $2");
        let total: f64 = rows.iter().map(|r| r.cost).sum();
        assert!((total - (7.0 + 65.0 + 48.0 + 144.0)).abs() < 1e-9);

        let mut df = frame(&rows, &period).expect("frame");
        let csv = String::from_utf8(csv_bytes(&mut df).expect("csv")).expect("utf8");
        let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
        for col in [
            "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "PricingCategory", "RegionId",
            "ResourceId", "ResourceType", "ServiceName", "ConsumedQuantity", "ConsumedUnit", "x_TenantId", "x_CircuitId", "x_ProofsCompleted",
            "x_CostPer1kProofs", "x_CacheHitRate",
        ] {
            assert!(header.contains(&col), "{col} missing");
        }
        let first = csv.lines().nth(1).expect("row");
        assert!(first.contains("2026-11-16T00:00:00Z,2026-11-17T00:00:00Z") && first.contains(",Standard,"), "{first}");
        // x_CostPer1kProofs for a: $6 / 5 proofs × 1000.
        assert!(first.contains(",1200.0,") || first.contains(",1200,"), "{first}");
    }
}
