//! # zkq-drift — has this series changed?
//!
//! Online change detectors over the series zkq records (cost per proof, prove time, queue wait,
//! failure rate, fairness, key-cache hits), and a reproducible evaluation of them on synthetic
//! streams with known change points. Pure: no I/O but the CSV text in [`csv`]; no randomness but
//! the seeded generator in [`synth`].
//!
//! ## Module map
//! - [`detector`] — the [`Detector`] trait, [`Alarm`] and its [`Direction`], the [`Reference`]
//!   (μ0, σ) of the parametric detectors, [`DetectorConfig`] (any detector, serialisable).
//! - [`cusum`] — [`Cusum`]: two-sided tabular CUSUM (Page 1954; Montgomery).
//! - [`page_hinkley`] — [`PageHinkley`] (Page 1954; Hinkley 1971; river's parameters).
//! - [`ewma`] — [`Ewma`]: the EWMA chart (Roberts 1959; Lucas & Saccucci 1990).
//! - [`adwin`] — [`Adwin`]: adaptive windowing (Bifet & Gavaldà, SDM 2007).
//! - [`series`] — [`Series`], the per-series defaults [`SeriesConfig`] and a [`Monitor`].
//! - [`csv`] — `time,value` files: [`csv::parse`], [`csv::write`].
//! - [`synth`] — seeded streams with known change points ([`Scenario`]).
//! - [`evaluate`] — precision, recall, delay and false alarms within a margin; [`evaluate()`].
//! - [`error`] — [`DriftError`].
//! - [`predict`] — prediction of a change's shift before it is observed (simulator replay and
//!   past effects), outcomes, precision per change kind and the threshold feedback loop.
//! - [`lockfile`] — a build's library versions from its `Cargo.lock` and the diff of two.
//! - `pg` (feature `pg`) — the recorded series read from PostgreSQL per scope, and `watch`: the
//!   default detectors over them (`zkq drift watch`); `pg::changes`, the change events,
//!   predictions and thresholds. The only module that does I/O.
//!
//! `docs/drift.md` holds the defaults, the method and the measured table.

pub mod adwin;
pub mod csv;
pub mod cusum;
pub mod detector;
pub mod error;
pub mod evaluate;
pub mod ewma;
pub mod lockfile;
pub mod page_hinkley;
#[cfg(feature = "pg")]
pub mod pg;
pub mod predict;
pub mod series;
pub mod synth;

pub use adwin::{Adwin, AdwinConfig};
pub use cusum::{Cusum, CusumConfig};
pub use detector::{Alarm, Detector, DetectorConfig, Direction, Reference};
pub use error::DriftError;
pub use evaluate::{evaluate, Report};
pub use ewma::{Ewma, EwmaConfig};
pub use page_hinkley::{PageHinkley, PageHinkleyConfig};
pub use series::{Monitor, Series, SeriesConfig};
pub use synth::Scenario;
