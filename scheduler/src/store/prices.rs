//! The versioned price table.
//!
//! A price never changes: a new price is a new row with a later `valid_from`, so a cost row can
//! always name the exact price it was computed from. The seed rows (public AWS list prices) are
//! data in `migrations/0001_init.sql`; no price appears in code.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{Result, Store};
use crate::model::Price;
use crate::SchedulerError;

/// Pricing categories the table accepts (its check constraint; `zkq-store` owns the list).
pub use zkq_store::rows::PRICING_CATEGORIES;

/// A price to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPrice {
    /// Cloud provider (`aws`, …).
    pub provider: String,
    /// Region (`us-east-1`, …).
    pub region: String,
    /// Instance type (`p5.48xlarge`, …).
    pub instance_type: String,
    /// The device type workers report (`nvidia-h100`, `cpu-2core`, …).
    pub device_type: String,
    /// Devices per instance (> 0): the hourly price is split evenly across them.
    pub devices_per_instance: i32,
    /// One of [`PRICING_CATEGORIES`].
    pub pricing_category: String,
    /// Price of the whole instance per hour, USD (≥ 0; stored as `numeric(14,6)`).
    pub usd_per_hour: f64,
    /// First instant the price applies.
    pub valid_from: DateTime<Utc>,
    /// Where the figure comes from.
    pub source: Option<String>,
}

const PRICE_COLUMNS: &str = "id, provider, region, instance_type, device_type, devices_per_instance, pricing_category, \
                             usd_per_hour::float8 as usd_per_hour, valid_from";

fn price_row(row: &Row) -> Price {
    Price {
        id: row.get("id"),
        provider: row.get("provider"),
        region: row.get("region"),
        instance_type: row.get("instance_type"),
        device_type: row.get("device_type"),
        devices_per_instance: row.get("devices_per_instance"),
        pricing_category: row.get("pricing_category"),
        usd_per_hour: row.get("usd_per_hour"),
        valid_from: row.get("valid_from"),
    }
}

impl Store {
    /// The price of `device_type` at instant `at`: the row with the greatest `valid_from` not
    /// after `at`. When several rows share that `valid_from` (other categories, providers or
    /// regions), an `on-demand` row is preferred, then the most recently added row. `None` when
    /// no price for the device type had started by `at` (the worker then records cost 0 with
    /// no price id).
    pub async fn price_at(&self, device_type: &str, at: DateTime<Utc>) -> Result<Option<Price>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "select {PRICE_COLUMNS} from prices
                 where device_type = $1 and valid_from <= $2
                 order by valid_from desc, (pricing_category = 'on-demand') desc, id desc
                 limit 1"
            ))
            .await?;
        Ok(client.query_opt(&stmt, &[&device_type, &at]).await?.as_ref().map(price_row))
    }

    /// Every price, by device type, then oldest first.
    pub async fn list_prices(&self) -> Result<Vec<Price>> {
        let client = self.client().await?;
        let rows = client.query(&format!("select {PRICE_COLUMNS} from prices order by device_type, valid_from, id"), &[]).await?;
        Ok(rows.iter().map(price_row).collect())
    }

    /// Adds a price row. A row with the same provider, region, instance type, category and
    /// `valid_from` already existing is an error (prices are never edited: add one with a
    /// later `valid_from`).
    pub async fn add_price(&self, price: &NewPrice) -> Result<Price> {
        if !PRICING_CATEGORIES.contains(&price.pricing_category.as_str()) {
            return Err(SchedulerError::Invalid(format!(
                "pricing category {:?} is not one of {}",
                price.pricing_category,
                PRICING_CATEGORIES.join(", ")
            )));
        }
        if price.devices_per_instance < 1 {
            return Err(SchedulerError::Invalid(format!("devices per instance must be at least 1, got {}", price.devices_per_instance)));
        }
        if !price.usd_per_hour.is_finite() || price.usd_per_hour < 0.0 {
            return Err(SchedulerError::Invalid(format!("the hourly price must be a non-negative number, got {}", price.usd_per_hour)));
        }
        for (what, v) in [("provider", &price.provider), ("region", &price.region), ("instance type", &price.instance_type), ("device type", &price.device_type)] {
            if v.trim().is_empty() {
                return Err(SchedulerError::Invalid(format!("the price's {what} is empty")));
            }
        }
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "insert into prices (provider, region, instance_type, device_type, devices_per_instance, pricing_category,
                                         usd_per_hour, valid_from, source)
                     values ($1, $2, $3, $4, $5, $6, $7::float8::numeric, $8, $9)
                     returning {PRICE_COLUMNS}"
                ),
                &[
                    &price.provider,
                    &price.region,
                    &price.instance_type,
                    &price.device_type,
                    &price.devices_per_instance,
                    &price.pricing_category,
                    &price.usd_per_hour,
                    &price.valid_from,
                    &price.source,
                ],
            )
            .await
            .map_err(|e| {
                if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    SchedulerError::Invalid(format!(
                        "a {} price for {} {} {} starting {} already exists",
                        price.pricing_category, price.provider, price.region, price.instance_type, price.valid_from
                    ))
                } else {
                    e.into()
                }
            })?;
        Ok(price_row(&row))
    }
}
