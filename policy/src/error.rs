//! [`PolicyError`]: one line each, naming what is wrong and where.

/// Why a policy could not be loaded or a request could not be put to Cedar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// zkq's own schema does not parse (a bug).
    #[error("policy schema: {0}")]
    Schema(String),
    /// A policy does not parse.
    #[error("policy {id}: {why}")]
    Parse {
        /// The policy's id.
        id: String,
        /// Cedar's message.
        why: String,
    },
    /// A policy does not validate against the schema (every error, one per line), or has a bad
    /// annotation.
    #[error("{0}")]
    Invalid(String),
    /// A request does not fit the schema.
    #[error("admission request: {0}")]
    Request(String),
    /// A string or language of the EN/ES explainers is missing or malformed, or a value could not
    /// fill it.
    #[error("i18n: {0}")]
    I18n(String),
    /// The template catalog does not load: a file that does not parse or break a catalog rule.
    #[error("policy catalog {file}: {why}")]
    Catalog {
        /// The catalog file (`policy/catalog/<id>.toml`).
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A template parameter is missing, unknown or ill-typed.
    #[error("template {template}: parameter {param}: {why}")]
    Parameter {
        /// The template (`id@version`).
        template: String,
        /// The parameter's name.
        param: String,
        /// What is wrong.
        why: String,
    },
    /// No template answers a lookup.
    #[error("template {0}")]
    Template(String),
}
