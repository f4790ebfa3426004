//! zkq FinOps.
pub use polars;
