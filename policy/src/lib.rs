//! # zkq-policy — who may prove what, decided by Cedar policies
//!
//! Pure (no database, no network, no async) except the `pg` module behind the feature of that
//! name: zkq's Cedar schema, per-tenant policy sets plus
//! shared policies validated in strict mode, and admission decisions that **fail closed** — any
//! policy evaluation error denies (Cedar itself skips an erroring policy, which can turn a
//! forbid into an allow). An allow carries the caps its permits set (priority, ε per proof,
//! weight). Engine: `cedar-policy` 4 (<https://docs.cedarpolicy.com>); its traps are recorded in
//! `../shared/research/policy-cedar.md`.
//!
//! ## Module map
//! - [`catalog`] — [`catalog::Catalog`]: the curated templates (`policy/catalog/*.toml`), typed
//!   and escaped rendering into a tenant's policy, the catalog page.
//! - [`schema`] — [`schema::CEDAR_SCHEMA`]: `Tenant`, `Circuit`, `Purpose`, `Region`, the action
//!   `Prove` and its context.
//! - [`request`] — [`AdmissionRequest`]: a job at admission.
//! - [`engine`] — [`PolicyEngine`]: shared and per-tenant sets, validation, [`Decision`]s with
//!   [`Why`] and [`Caps`].
//! - `pg` (feature `pg`) — versioned policies in PostgreSQL: in force, history, validated
//!   `put`, `revoke`, `load` into an engine.
//! - [`error`] — [`PolicyError`].
//! - [`i18n`] — [`i18n::Lang`] (`Accept-Language` negotiation), [`i18n::Strings`] (the embedded
//!   `i18n/en.json`, `es.json`), single-pass placeholders, [`i18n::sanitize`] for user values.
//! - [`explain`] — [`Explanation`]: why a decision, storable, rendered in EN/ES as text,
//!   Markdown and HTML with glossary links.
//! - [`lint`] — every parse, strict-validation and cap error of a policy file, located; warnings.
//! - [`suggest`] — fixes for lint findings, kept only if they help, as a unified diff.
//! - [`risk`] — what a new version of a policy file newly allows ([`risk::broadening`]).

pub mod catalog;
pub mod engine;
pub mod error;
pub mod explain;
pub mod i18n;
pub mod lint;
#[cfg(feature = "pg")]
pub mod pg;
pub mod request;
pub mod risk;
pub mod schema;
pub mod suggest;

pub use engine::{Caps, Decision, Effect, PolicyEngine, Why};
pub use error::PolicyError;
pub use explain::{explain, Explanation, RenderedText};
pub use i18n::{Lang, Strings};
pub use request::AdmissionRequest;
