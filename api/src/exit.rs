//! Exit codes, and the mapping from errors to them.

use zkq_engine::{EngineError, ErrorClass};
use zkq_kernels::KernelError;

/// Process exit codes. Documented in README.md and `zkq --help`'s crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitCode {
    /// Success; for `verify`, a valid proof.
    Ok = 0,
    /// `verify`: the proof does not verify.
    Invalid = 1,
    /// Malformed input, wrong curve, wrong sizes, bad usage.
    BadInput = 2,
    /// A file is missing, unreadable or unwritable.
    Io = 3,
    /// The witness does not satisfy the circuit.
    Unsatisfied = 4,
    /// The backend is unavailable or failed.
    Backend = 5,
    /// `submit`: some jobs finished as failures.
    JobsFailed = 6,
    /// `submit`: results did not all arrive before the timeout.
    Timeout = 7,
    /// RabbitMQ or PostgreSQL is unreachable or refused the operation.
    Service = 8,
    /// `finops`: the `zkq-finops` binary is not installed (next to `zkq` or on PATH).
    MissingTool = 9,
    /// `submit`: the broker returned (unroutable) or refused (nack) a job: it was not submitted.
    NotSubmitted = 10,
    /// A named record does not exist (`zkq auth client revoke` of an unknown client).
    NotFound = 11,
    /// The policy marketplace's review gate refused (an author reviewing their own template,
    /// publishing without an approval, linking an unpublished template, a wrong operator login).
    Refused = 12,
}

/// The exit code for an error, found by walking its chain for a typed cause.
pub(crate) fn code_for(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return match e.class() {
                ErrorClass::Io => ExitCode::Io,
                ErrorClass::BadInput => ExitCode::BadInput,
                ErrorClass::Unsatisfied => ExitCode::Unsatisfied,
                ErrorClass::Backend => ExitCode::Backend,
            };
        }
        if let Some(e) = cause.downcast_ref::<KernelError>() {
            return match e {
                KernelError::InvalidInput(_) => ExitCode::BadInput,
                _ => ExitCode::Backend,
            };
        }
        if let Some(e) = cause.downcast_ref::<zkq_scheduler::SchedulerError>() {
            use zkq_scheduler::SchedulerError as S;
            return match e {
                S::Engine(inner) => match inner.class() {
                    ErrorClass::Io => ExitCode::Io,
                    ErrorClass::BadInput => ExitCode::BadInput,
                    ErrorClass::Unsatisfied => ExitCode::Unsatisfied,
                    ErrorClass::Backend => ExitCode::Backend,
                },
                S::KeyStore { .. } => ExitCode::Io,
                S::DeviceGone(_) => ExitCode::Backend,
                S::Invalid(_) => ExitCode::BadInput,
                S::NotSubmitted { .. } => ExitCode::NotSubmitted,
                S::Amqp(_) | S::BrokerLost(_) | S::Postgres(_) | S::Pool(_) | S::Migration { .. } => ExitCode::Service,
            };
        }
        if let Some(e) = cause.downcast_ref::<zkq_scheduler::identity::ManagementError>() {
            use zkq_scheduler::identity::ManagementError as M;
            return match e {
                M::BadUrl(_) => ExitCode::BadInput,
                M::Unreachable { .. } | M::Refused { .. } | M::Random(_) => ExitCode::Service,
            };
        }
        if let Some(e) = cause.downcast_ref::<zkq_server::ServerError>() {
            use zkq_server::ServerError as S;
            return match e {
                S::Invalid(_) | S::Store(zkq_store::StoreError::Invalid(_)) => ExitCode::BadInput,
                S::NotFound(_) => ExitCode::NotFound,
                S::Store(_) => ExitCode::Service,
                S::Io(_) => ExitCode::Io,
                S::Hash(_) | S::Random(_) | S::Token(_) => ExitCode::Backend,
            };
        }
        if let Some(e) = cause.downcast_ref::<zkq_policy::pg::PolicyStoreError>() {
            use zkq_policy::pg::PolicyStoreError as P;
            return match e {
                P::Db(_) => ExitCode::Service,
                P::Policy(_) => ExitCode::BadInput,
                P::UnknownTenant(_) | P::UnknownTemplate(_) | P::NotFound { .. } => ExitCode::NotFound,
                P::Gate(_) => ExitCode::Refused,
            };
        }
        if cause.downcast_ref::<zkq_policy::PolicyError>().is_some() {
            return ExitCode::BadInput;
        }
        if let Some(e) = cause.downcast_ref::<zkq_store::StoreError>() {
            return match e {
                zkq_store::StoreError::Invalid(_) => ExitCode::BadInput,
                _ => ExitCode::Service,
            };
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return ExitCode::Io;
        }
    }
    ExitCode::Backend
}

/// The error and its causes on one line; a cause already quoted by its parent is not repeated.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        // Passwords out: a cause may be a broker or database error that echoes a URI.
        let part = zkq_scheduler::redact::redact(&cause.to_string());
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}
