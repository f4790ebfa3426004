//! # zkq-scheduler — the job pipeline
//!
//! Submitters publish proof jobs to RabbitMQ; [`worker::run`] consumes them, groups jobs of one
//! circuit into fairness-weighted batches ([`fair`]), proves each batch on a device thread (never on the async runtime),
//! verifies every proof, writes results, timings and costs to PostgreSQL in one transaction per
//! batch, publishes each result to the job's `reply_to`, and only then acks. A crash anywhere
//! leads to redelivery; every effect is keyed by the job id, so a redelivered job is recognised
//! and nothing is done twice (exactly-once *effects* over at-least-once delivery).
//!
//! ## Layout
//! - [`protocol`] — the versioned job and result messages (`docs/job-protocol.md`).
//! - [`model`] — records shared by the worker and the store.
//! - [`policy_gate`] — the admission policy at the worker: decides each job (zkq-policy), applies
//!   an allow's caps, reloads changed policies, counts decisions for the telemetry.
//! - [`config`] — configuration structs with documented defaults.
//! - [`topology`] — exchanges and quorum queues, with the dead-letter exchange.
//! - [`client`] — the submitter side: publish with confirms, receive results.
//! - [`batcher`] — pure batch forming (max size, max wait) with an injected clock (the worker
//!   now forms batches with [`fair`], which adds fairness, priorities, deadlines and memory).
//! - [`fair`] — fairness-weighted batching: the pure fair-queuing core, cost and memory
//!   models, fairness figures, the simulator and the fairness metrics.
//! - [`device`] — the blocking device thread: key cache (keys checked against the circuit id),
//!   prove, verify, per-job outcomes (final, or retried when the infrastructure failed), panics
//!   contained.
//! - [`store`] — the scheduler's PostgreSQL queries (circuits, tenants, prices, jobs, results,
//!   costs) on `zkq-store`'s pool; `zkq-store` owns the schema and its migrations.
//! - [`keystore`] — the content-addressed zkey directory.
//! - [`cache`] — a bounded cache with a TTL for admission look-ups keyed by message strings.
//! - [`identity`] — tenants' broker users and permissions (RabbitMQ management API).
//! - [`held_bytes`] — the byte budget for held deliveries (consumption pauses above it).
//! - [`worker`] — `run(config, shutdown)`: the consume → batch → prove → commit → reply → ack loop.
//! - [`metrics`] — the worker's Prometheus `/metrics` endpoint and [`metrics::MetricsSource`].
//! - [`fleet_changes`] — at start, the fleet's configuration and prover version (with its
//!   `Cargo.lock` libraries) recorded as change events where they changed (drift prediction).
//! - [`uptime`] — the worker's heartbeat (uptime rows for the FinOps idle row).
//! - [`error`] — typed errors.
//! - [`redact`] — passwords out of log and error lines.

pub mod batcher;
pub mod cache;
pub mod client;
pub mod config;
pub mod device;
pub mod error;
pub mod fair;
pub mod fleet_changes;
pub mod held_bytes;
pub mod identity;
pub mod keystore;
pub mod metrics;
pub mod model;
pub mod policy_gate;
pub mod protocol;
pub mod redact;
pub mod store;
pub mod topology;
pub mod uptime;
pub mod worker;

pub use config::{AmqpConfig, AttestConfig, BudgetConfig, StoreConfig, WorkerConfig};
pub use error::SchedulerError;
