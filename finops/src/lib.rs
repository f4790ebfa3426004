//! # zkq-finops — what a proof cost, and why it changed
//!
//! FinOps reports over the job pipeline's PostgreSQL rows: cost per proof and per 1k proofs by
//! tenant, circuit, device, region, day or week; idle and shared cost allocated in the
//! OpenCost manner; each figure beside the previous equal-length period with the change in cost
//! per 1k proofs attributed to price mix, device-seconds per proof and utilisation; FOCUS
//! exports; charts and a self-contained HTML page; the versioned price and shared-cost tables.
//!
//! polars (and plotters) live only here, a leaf crate with its own binary `zkq-finops`;
//! `zkq finops …` forwards to it, so the worker binary never links them.
//!
//! ## Modules
//! - [`model`] — the input rows (jobs with costs, worker uptime, prices, shared costs).
//! - [`period`] — `--from/--to` periods, the previous period, day and ISO-week buckets.
//! - [`figures`] — per-group workload figures with polars.
//! - [`allocate`] — idle cost, shared cost, and spreading them (`weighted`/`even`/`none`).
//! - [`drivers`] — the three-driver attribution of a change in cost per 1k proofs (LMDI).
//! - [`report`] — the report: rows, totals, period over period.
//! - [`output`] — table, CSV, JSON and Parquet renderings (CSV/Parquet via polars).
//! - [`focus`] — FOCUS-shaped export rows (CSV and Parquet).
//! - [`charts`] — cost per 1k proofs over time with a target line; cost by tenant (SVG, PNG).
//! - [`html`] — one self-contained HTML page with the tables and charts.
//! - [`prices`] — price and shared-cost CSV import and validation.
//! - [`db`] — PostgreSQL: loading a dataset, reading and writing prices and shared costs.
//! - [`files`] — atomic file writes (nothing half-written).
//! - [`error`] — typed errors.

pub mod allocate;
pub mod charts;
pub mod db;
pub mod drivers;
pub mod error;
pub mod figures;
pub mod files;
pub mod focus;
pub mod html;
pub mod model;
pub mod output;
pub mod period;
pub mod prices;
pub mod report;

pub use error::{FinopsError, Result};
