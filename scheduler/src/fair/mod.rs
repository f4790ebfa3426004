//! Fairness-weighted batching: which jobs a device proves next.
//!
//! ## Design
//! - **Broker: one queue per tenant (and priority class).** Submitters publish to
//!   `<prefix>.jobs` with routing key `tenant.<name>` into the tenant's own quorum queue
//!   (`<prefix>.jobs.tenant.<name>`; `<prefix>.jobs.p<k>.tenant.<name>` for priority k ≥ 1, so an
//!   urgent job never waits behind its own tenant's routine backlog — RabbitMQ 3.10's quorum
//!   queues have no message priorities); the worker consumes every one with a per-consumer
//!   prefetch. A tenant that floods
//!   fills only its own queue: every other tenant's next jobs are always among the worker's
//!   deliveries, never behind the flood. We chose per-tenant queues over shuffle sharding
//!   (Kubernetes APF) because the tenant set is small and registered (the `tenants` table),
//!   so isolation can be exact rather than probabilistic, and a queue per tenant makes the
//!   backlog of each visible to operators (`rabbitmqctl list_queues`). The legacy shared
//!   queue `<prefix>.jobs` (routing key `job`) is still consumed, as one more source, for
//!   older submitters. Holding memory is bounded by tenants × classes in use × prefetch
//!   deliveries (send large witnesses by reference, `zkq-witness-ref`).
//! - **Core: weighted fair queuing by per-tenant virtual pass** (stride scheduling, the
//!   per-tenant form of start-time fair queuing; [`queue`]) over the held jobs, with strict priority
//!   classes, cost charged at service (a job's cost is its estimated device time, [`cost`]), deadlines,
//!   and batches of one circuit cut by size, wait and device memory, formed when a device asks
//!   (late binding). Pure and property-tested (`queue` tests and `tests/fair_props.rs`).
//! - **Admission** ([`cost::MemoryModel`]): a job whose circuit cannot fit any device, even
//!   alone, is rejected (`exceeds_device_memory`); batch caps keep the device within memory.
//! - **Figures** ([`figures`]): Gini and Jain of weight-normalised service, floor (service /
//!   weighted share) per window over backlogged tenants, wait percentiles.
//! - **Simulator** ([`sim`]): the same core over a trace with a device-time model
//!   (`zkq sched simulate`).
//! - **Metrics** ([`metrics`]): the figures as Prometheus text, updated by the worker.
//!
//! ## Module map
//! - [`intake`] — `Intake`: the weighted order in which received deliveries are taken up.
//! - [`queue`] — `FairQueue`: tags, priorities, deadlines, batch forming.
//! - [`cost`] — circuit shape, device-time cost model, memory model, device specs.
//! - [`figures`] — fairness indices and windows.
//! - [`sim`] — trace format, simulator, the flood scenario.
//! - [`metrics`] — `FairnessMetrics` and its Prometheus rendering.

pub mod cost;
pub mod figures;
pub mod intake;
pub mod metrics;
pub mod queue;
pub mod sim;

pub use cost::{CircuitShape, CostModel, DeviceSpec, MemoryModel};
pub use figures::{FairnessLog, FairnessSummary, WindowFigures};
pub use intake::{Intake, IntakeOrder, PrefetchRule};
pub use metrics::{FairnessMetrics, HeldJobs, FAIRNESS_METRIC_NAMES};
pub use queue::{Cut, Dispatch, FairConfig, FairQueue, JobSpec, Queued, Time};
