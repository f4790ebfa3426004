//! The job protocol, version 1 (documented for submitters in `docs/job-protocol.md`).
//!
//! A job is one AMQP message whose **body is the witness** (`.wtns` bytes, as circom writes
//! them) and whose metadata travels in properties and headers, so the witness is never
//! re-encoded (base64 in JSON would cost a third more bytes and a parse):
//!
//! | where | name | meaning |
//! |---|---|---|
//! | property | `message_id` | job id — the idempotency key (1–128 chars of `[A-Za-z0-9._:-]`) |
//! | property | `reply_to`, `correlation_id` | where the result goes; echoed back |
//! | header | `zkq-protocol` | `1` |
//! | header | `zkq-tenant` | tenant name (1–128 characters, no spaces or control characters) |
//! | header | `zkq-circuit` | `sha256:<hex>`, `<hex>`, `name@version` or `name` (latest); at most 256 bytes |
//! | header | `zkq-purpose` | optional free text (default empty); at most 1024 bytes, no control characters |
//! | header | `zkq-priority` | optional 0–9 (default 0) |
//! | header | `zkq-deadline-ms` | optional Unix ms after which the job must not be proved |
//! | header | `zkq-submitted-at-ms` | optional Unix ms of publishing (for queue-wait timing) |
//! | header | `zkq-epsilon` | optional ε to charge, decimal text (`"0.05"`): at most the circuit's cost per proof (default: that cost) |
//! | header | `zkq-witness-ref` | optional `sha256:<hex>` of a witness in the shared witness store; the body is then empty |
//!
//! The result is a JSON [`JobResult`] sent to `reply_to` with the job's `correlation_id`.
//!
//! Text headers are bounded and free of control characters ([`MAX_TENANT_CHARS`],
//! [`MAX_CIRCUIT_REF_BYTES`], [`MAX_PURPOSE_BYTES`]): they are stored in PostgreSQL, which
//! refuses a NUL byte and index entries over about 2.7 kB, and they appear in logs. A job that
//! breaks a bound fails alone with `malformed_message`, and the reason never echoes the value.

use std::fmt;

use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use serde::{Deserialize, Serialize};

use crate::model::{JobCost, JobMeta, JobTimings, Outcome};

/// This protocol's version.
pub const PROTOCOL_VERSION: i64 = 1;
/// Header: protocol version.
pub const H_PROTOCOL: &str = "zkq-protocol";
/// Header: tenant.
pub const H_TENANT: &str = "zkq-tenant";
/// Header: circuit reference.
pub const H_CIRCUIT: &str = "zkq-circuit";
/// Header: purpose.
pub const H_PURPOSE: &str = "zkq-purpose";
/// Header: priority.
pub const H_PRIORITY: &str = "zkq-priority";
/// Header: deadline.
pub const H_DEADLINE_MS: &str = "zkq-deadline-ms";
/// Header: publish time.
pub const H_SUBMITTED_AT_MS: &str = "zkq-submitted-at-ms";
/// Header: the ε a job asks to be charged (decimal text), at most its circuit's cost.
pub const H_EPSILON: &str = "zkq-epsilon";
/// Header: the witness is not in the body but in the witness store, as `sha256:<hex>`.
pub const H_WITNESS_REF: &str = "zkq-witness-ref";
/// Header on dead-lettered messages: why.
pub const H_FAILURE_CODE: &str = "zkq-failure-code";
/// Header on dead-lettered messages: why, for people.
pub const H_FAILURE_REASON: &str = "zkq-failure-reason";
/// Header of a dead letter: the sha256 (hex) of the failed job's witness (its body, or the
/// digest its `zkq-witness-ref` named). Dead letters never carry the witness itself.
pub const H_WITNESS_SHA256: &str = "zkq-witness-sha256";
/// Content type of job messages.
pub const JOB_CONTENT_TYPE: &str = "application/vnd.zkq.witness";
/// Content type of result messages.
pub const RESULT_CONTENT_TYPE: &str = "application/json";

/// Tenant names and job ids are shared rules (zkq-store's `rows`: the auditor API checks them too).
pub use zkq_store::rows::{valid_job_id, valid_tenant_name, MAX_TENANT_CHARS};
/// The longest circuit reference, in bytes (`sha256:<64 hex>` is 71; names are shorter).
pub const MAX_CIRCUIT_REF_BYTES: usize = 256;
/// The longest purpose, in bytes.
pub const MAX_PURPOSE_BYTES: usize = 1024;

/// Why a job failed, machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Headers or properties missing or malformed.
    MalformedMessage,
    /// `zkq-protocol` is not a version this worker speaks.
    UnsupportedProtocol,
    /// The body exceeds the worker's maximum message size.
    Oversize,
    /// The tenant is not registered.
    UnknownTenant,
    /// The circuit reference matches no registered circuit.
    UnknownCircuit,
    /// The witness is not a valid `.wtns` for this circuit (corrupt, wrong prime, wrong size).
    BadWitness,
    /// The witness does not satisfy the circuit (its proof did not verify).
    Unsatisfied,
    /// The deadline passed before the job was proved.
    DeadlineExceeded,
    /// Proving failed for a reason not tied to the job's input.
    ProverError,
    /// The circuit needs more device memory than any of the worker's devices has, even for a
    /// batch of one: it can never be proved there.
    ExceedsDeviceMemory,
    /// PostgreSQL refused to record the job with an error that retrying cannot fix (its
    /// SQLSTATE and message are in the reason); the job has no result row.
    RejectedByDatabase,
    /// The job's `zkq-tenant` header names another tenant than the one the broker vouches
    /// for: the queue it was published to (its routing key).
    TenantMismatch,
    /// The job id is recorded for another job: another tenant's, or this tenant's with another
    /// circuit or witness. Nothing is recorded for this one and the earlier result is never
    /// sent to it.
    JobIdConflict,
    /// The job names a purpose the tenant has no privacy budget for, or none while its circuit
    /// costs ε (purpose binding).
    UnknownPurpose,
    /// The job asks more ε than its circuit costs per proof, or than its ledger's per-job
    /// maximum.
    EpsilonTooLarge,
    /// The purpose's privacy budget cannot cover the job: the result's `budget` object says
    /// what is left and when enough frees up.
    BudgetExhausted,
    /// The admission policy denied the job (a forbid matched, no permit did, a policy could not
    /// be evaluated, or the job asks more ε than a permit allows): the result's `policy` object
    /// explains why, in English and Spanish (`docs/policy.md`).
    PolicyDenied,
}

impl ReasonCode {
    /// Every code, in the order of the protocol document's failure table.
    pub const ALL: [ReasonCode; 17] = [
        ReasonCode::MalformedMessage,
        ReasonCode::UnsupportedProtocol,
        ReasonCode::Oversize,
        ReasonCode::UnknownTenant,
        ReasonCode::UnknownCircuit,
        ReasonCode::BadWitness,
        ReasonCode::Unsatisfied,
        ReasonCode::DeadlineExceeded,
        ReasonCode::ProverError,
        ReasonCode::ExceedsDeviceMemory,
        ReasonCode::RejectedByDatabase,
        ReasonCode::TenantMismatch,
        ReasonCode::JobIdConflict,
        ReasonCode::UnknownPurpose,
        ReasonCode::EpsilonTooLarge,
        ReasonCode::BudgetExhausted,
        ReasonCode::PolicyDenied,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::MalformedMessage => "malformed_message",
            ReasonCode::UnsupportedProtocol => "unsupported_protocol",
            ReasonCode::Oversize => "oversize",
            ReasonCode::UnknownTenant => "unknown_tenant",
            ReasonCode::UnknownCircuit => "unknown_circuit",
            ReasonCode::BadWitness => "bad_witness",
            ReasonCode::Unsatisfied => "unsatisfied",
            ReasonCode::DeadlineExceeded => "deadline_exceeded",
            ReasonCode::ProverError => "prover_error",
            ReasonCode::ExceedsDeviceMemory => "exceeds_device_memory",
            ReasonCode::RejectedByDatabase => "rejected_by_database",
            ReasonCode::TenantMismatch => "tenant_mismatch",
            ReasonCode::JobIdConflict => "job_id_conflict",
            ReasonCode::UnknownPurpose => "unknown_purpose",
            ReasonCode::EpsilonTooLarge => "epsilon_too_large",
            ReasonCode::BudgetExhausted => "budget_exhausted",
            ReasonCode::PolicyDenied => "policy_denied",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job message that could not be read: the code and a one-line reason, plus whatever of
/// the metadata could be read (to address the failure result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub code: ReasonCode,
    /// For people.
    pub reason: String,
}

fn header<'a>(headers: Option<&'a FieldTable>, name: &str) -> Option<&'a AMQPValue> {
    headers.and_then(|h| h.inner().get(name))
}

fn header_str(headers: Option<&FieldTable>, name: &str) -> Result<Option<String>, Rejection> {
    match header(headers, name) {
        None => Ok(None),
        Some(AMQPValue::LongString(s)) => Ok(Some(String::from_utf8_lossy(s.as_bytes()).into_owned())),
        Some(AMQPValue::ShortString(s)) => Ok(Some(s.as_str().to_owned())),
        Some(other) => Err(Rejection { code: ReasonCode::MalformedMessage, reason: format!("header {name} must be a string, got {other:?}") }),
    }
}

/// The largest magnitude up to which every integer is exactly a double (2^53).
const MAX_EXACT_DOUBLE: f64 = 9_007_199_254_740_992.0;

/// An integer header: every AMQP 0-9-1 integer encoding (signed and unsigned, 8–64 bits, as
/// RabbitMQ's field tables carry them) and an integral float or double of magnitude ≤ 2^53
/// (what JavaScript clients send for numbers). Anything else — strings, numeric ones included,
/// booleans, decimals, fractions — is `malformed_message`, and the reason names the header and
/// the type received, never the value.
fn header_int(headers: Option<&FieldTable>, name: &str) -> Result<Option<i64>, Rejection> {
    let v = match header(headers, name) {
        None => return Ok(None),
        Some(v) => v,
    };
    let not_integral = |what: &str| Rejection {
        code: ReasonCode::MalformedMessage,
        reason: format!("header {name} must be an integer (an AMQP integer of 8–64 bits, or an integral double), got {what}"),
    };
    let from_float = |x: f64, what: &str| -> Result<i64, Rejection> {
        if x.is_finite() && x.fract() == 0.0 && x.abs() <= MAX_EXACT_DOUBLE {
            Ok(x as i64)
        } else {
            Err(not_integral(what))
        }
    };
    let n = match v {
        AMQPValue::ShortShortInt(x) => i64::from(*x),
        AMQPValue::ShortShortUInt(x) => i64::from(*x),
        AMQPValue::ShortInt(x) => i64::from(*x),
        AMQPValue::ShortUInt(x) => i64::from(*x),
        AMQPValue::LongInt(x) => i64::from(*x),
        AMQPValue::LongUInt(x) => i64::from(*x),
        AMQPValue::LongLongInt(x) => *x,
        AMQPValue::Timestamp(x) => i64::try_from(*x).map_err(|_| not_integral("a timestamp beyond 2^63"))?,
        AMQPValue::Double(x) => from_float(*x, "a double that is not an integer of magnitude ≤ 2^53")?,
        AMQPValue::Float(x) => from_float(f64::from(*x), "a float that is not an integer of magnitude ≤ 2^53")?,
        AMQPValue::LongString(_) | AMQPValue::ShortString(_) => return Err(not_integral("a string (numbers in strings are not accepted)")),
        AMQPValue::Boolean(_) => return Err(not_integral("a boolean")),
        AMQPValue::DecimalValue(_) => return Err(not_integral("a decimal")),
        _ => return Err(not_integral("a value of another type")),
    };
    Ok(Some(n))
}

/// What is wrong with a text header's value, if anything: longer than `max_bytes`, or holding a
/// control character. The description names the header and the position, never the value.
fn text_problem(name: &str, value: &str, max_bytes: usize) -> Option<String> {
    if value.len() > max_bytes {
        return Some(format!("header {name} is {} bytes long; the limit is {max_bytes}", value.len()));
    }
    let (at, c) = value.chars().enumerate().find(|(_, c)| c.is_control())?;
    Some(format!("header {name} holds a control character (U+{:04X}) at character {}", u32::from(c), at + 1))
}

/// What is wrong with a `zkq-tenant` value, if anything (see [`valid_tenant_name`]).
fn tenant_problem(tenant: &str) -> Option<String> {
    if valid_tenant_name(tenant) {
        return None;
    }
    let chars = tenant.chars().count();
    if chars > MAX_TENANT_CHARS {
        return Some(format!("header {H_TENANT} is {chars} characters long; the limit is {MAX_TENANT_CHARS}"));
    }
    if let Some(problem) = text_problem(H_TENANT, tenant, usize::MAX) {
        return Some(problem);
    }
    Some(format!("header {H_TENANT} must not contain spaces"))
}

/// Reads a job's metadata from its properties. The body (witness) is checked later, on the
/// device thread. Never looks at the witness bytes except to hash them.
pub fn parse_job(props: &BasicProperties, body: &[u8], max_body_bytes: usize) -> Result<JobMeta, (Option<JobMeta>, Rejection)> {
    let headers = props.headers().as_ref();
    let job_id = props.message_id().as_ref().map(|s| s.as_str().to_owned());
    let reply_to = props.reply_to().as_ref().map(|s| s.as_str().to_owned());
    let partial = |tenant: Option<String>| {
        job_id.clone().filter(|id| valid_job_id(id)).map(|id| JobMeta {
            job_id: id,
            tenant: tenant.unwrap_or_default(),
            circuit_ref: String::new(),
            circuit_id: None,
            purpose: String::new(),
            priority: 0,
            deadline_ms: None,
            submitted_at_ms: None,
            reply_to: reply_to.clone(),
            witness_sha256: None,
            epsilon_micro: None,
            policy: None,
        })
    };
    let fail = |tenant: Option<String>, code, reason: String| Err((partial(tenant), Rejection { code, reason }));
    let Some(id) = job_id.clone() else {
        return fail(None, ReasonCode::MalformedMessage, "message_id (the job id) is missing".into());
    };
    if !valid_job_id(&id) {
        return fail(None, ReasonCode::MalformedMessage, "message_id must be 1–128 characters of [A-Za-z0-9._:-]".into());
    }
    let tenant = header_str(headers, H_TENANT).map_err(|r| (partial(None), r))?.filter(|t| !t.is_empty());
    // A tenant that breaks the bounds is never carried on, not even into a failure's result row.
    let tenant_problem = tenant.as_deref().and_then(tenant_problem);
    let tenant = tenant.filter(|_| tenant_problem.is_none());
    match header_int(headers, H_PROTOCOL).map_err(|r| (partial(tenant.clone()), r))? {
        Some(PROTOCOL_VERSION) => {}
        Some(v) => return fail(tenant, ReasonCode::UnsupportedProtocol, format!("protocol version {v} is not supported (this worker speaks {PROTOCOL_VERSION})")),
        None => return fail(tenant, ReasonCode::MalformedMessage, format!("header {H_PROTOCOL} is missing")),
    }
    if let Some(problem) = tenant_problem {
        return fail(None, ReasonCode::MalformedMessage, problem);
    }
    let Some(tenant_name) = tenant.clone() else {
        return fail(None, ReasonCode::MalformedMessage, format!("header {H_TENANT} is missing"));
    };
    let malformed = |reason| Rejection { code: ReasonCode::MalformedMessage, reason };
    let read = || -> Result<JobMeta, Rejection> {
        let circuit_ref = header_str(headers, H_CIRCUIT)?
            .filter(|c| !c.is_empty())
            .ok_or_else(|| malformed(format!("header {H_CIRCUIT} is missing")))?;
        if let Some(problem) = text_problem(H_CIRCUIT, &circuit_ref, MAX_CIRCUIT_REF_BYTES) {
            return Err(malformed(problem));
        }
        let purpose = header_str(headers, H_PURPOSE)?.unwrap_or_default();
        if let Some(problem) = text_problem(H_PURPOSE, &purpose, MAX_PURPOSE_BYTES) {
            return Err(malformed(problem));
        }
        let epsilon_micro = match header_str(headers, H_EPSILON)? {
            None => None,
            Some(text) => Some(
                text.parse::<zkq_budget::Epsilon>()
                    .map_err(|e| malformed(format!("header {H_EPSILON}: {e}")))?
                    .micros(),
            ),
        };
        let priority = header_int(headers, H_PRIORITY)?.unwrap_or(0);
        if !(0..=9).contains(&priority) {
            return Err(Rejection { code: ReasonCode::MalformedMessage, reason: format!("{H_PRIORITY} {priority} is outside 0–9") });
        }
        if body.len() > max_body_bytes {
            return Err(Rejection {
                code: ReasonCode::Oversize,
                reason: format!("witness of {} bytes exceeds the {max_body_bytes}-byte limit", body.len()),
            });
        }
        let witness_ref = header_str(headers, H_WITNESS_REF)?;
        let witness_sha256 = match (&witness_ref, body.is_empty()) {
            (Some(r), true) => Some(parse_witness_ref(r).ok_or_else(|| Rejection {
                code: ReasonCode::MalformedMessage,
                reason: format!("{H_WITNESS_REF} must be sha256:<64 lowercase hex>"),
            })?),
            (Some(_), false) => {
                return Err(Rejection { code: ReasonCode::MalformedMessage, reason: format!("a job carries either a body or {H_WITNESS_REF}, not both") })
            }
            (None, true) => return Err(Rejection { code: ReasonCode::BadWitness, reason: "the message body (the witness) is empty".into() }),
            (None, false) => Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body))),
        };
        Ok(JobMeta {
            job_id: id.clone(),
            tenant: tenant_name.clone(),
            circuit_ref,
            circuit_id: None,
            purpose,
            priority: priority as u8,
            deadline_ms: header_int(headers, H_DEADLINE_MS)?,
            submitted_at_ms: header_int(headers, H_SUBMITTED_AT_MS)?,
            reply_to: reply_to.clone(),
            witness_sha256,
            epsilon_micro,
            policy: None,
        })
    };
    read().map_err(|r| (partial(Some(tenant_name.clone())), r))
}

/// Checks a job read from a tenant's queue against that queue (what its routing key said):
/// the `zkq-tenant` header must name the queue's tenant (`tenant_mismatch`) and `zkq-priority`
/// its priority class (`malformed_message`); each reason names both values. A job from the
/// shared queue (`queue_tenant` empty) has nothing to agree with.
pub fn check_routing(meta: &JobMeta, queue_tenant: &str, queue_priority: u8) -> Result<(), Rejection> {
    if queue_tenant.is_empty() {
        return Ok(());
    }
    if meta.tenant != queue_tenant {
        return Err(Rejection {
            code: ReasonCode::TenantMismatch,
            reason: format!("header {H_TENANT} is {:?} but the job was routed to tenant {queue_tenant:?}'s queue", meta.tenant),
        });
    }
    if meta.priority.min(9) != queue_priority {
        return Err(Rejection {
            code: ReasonCode::MalformedMessage,
            reason: format!("header {H_PRIORITY} is {} but the job was routed to the priority {queue_priority} queue", meta.priority),
        });
    }
    Ok(())
}

/// The hex digest of a `sha256:<64 lowercase hex>` witness reference.
pub fn parse_witness_ref(r: &str) -> Option<String> {
    let hex = r.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then(|| hex.to_owned())
}

/// The result message sent to `reply_to` (and stored, without change, for re-sending when a
/// job is redelivered after its result was committed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// Protocol version.
    pub protocol: i64,
    /// Job id.
    pub job_id: String,
    /// Tenant.
    pub tenant: String,
    /// Circuit id, when resolved.
    pub circuit_id: Option<String>,
    /// `proved` with proof and public signals, or `failed` with code and reason.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Timings, ms.
    pub timings_ms: JobTimings,
    /// Batch size (0 for jobs rejected before batching).
    pub batch_size: i32,
    /// Backend and device.
    pub device: Option<String>,
    /// Cost.
    pub cost: Option<JobCost>,
    /// Privacy budget: what the job was charged (with its receipt id), or, for
    /// `budget_exhausted`, what is left and when enough frees up. Absent when the job charges
    /// no ε.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub budget: Option<zkq_budget::JobBudget>,
    /// The admission policy's decision with its explanation (English and Spanish). Absent when
    /// the job was refused before the policy was asked, or the worker runs without policies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<crate::model::PolicyVerdict>,
}

/// Headers for a job message (used by `zkq submit` and the load generator).
pub fn job_headers(tenant: &str, circuit: &str, purpose: &str, priority: u8, deadline_ms: Option<i64>, submitted_at_ms: i64) -> FieldTable {
    let mut t = FieldTable::default();
    t.insert(H_PROTOCOL.into(), AMQPValue::LongLongInt(PROTOCOL_VERSION));
    t.insert(H_TENANT.into(), AMQPValue::LongString(tenant.into()));
    t.insert(H_CIRCUIT.into(), AMQPValue::LongString(circuit.into()));
    if !purpose.is_empty() {
        t.insert(H_PURPOSE.into(), AMQPValue::LongString(purpose.into()));
    }
    t.insert(H_PRIORITY.into(), AMQPValue::ShortShortUInt(priority));
    if let Some(d) = deadline_ms {
        t.insert(H_DEADLINE_MS.into(), AMQPValue::LongLongInt(d));
    }
    t.insert(H_SUBMITTED_AT_MS.into(), AMQPValue::LongLongInt(submitted_at_ms));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(headers: FieldTable) -> BasicProperties {
        BasicProperties::default().with_message_id("job-1".into()).with_reply_to("amq.rabbitmq.reply-to".into()).with_headers(headers)
    }

    #[test]
    fn reads_a_well_formed_job() {
        let p = props(job_headers("acme", "mul@1", "kyc", 3, Some(99), 42));
        let m = parse_job(&p, b"wtns....", 1 << 20).expect("parses");
        assert_eq!((m.job_id.as_str(), m.tenant.as_str(), m.circuit_ref.as_str(), m.priority), ("job-1", "acme", "mul@1", 3));
        assert_eq!((m.deadline_ms, m.submitted_at_ms, m.purpose.as_str()), (Some(99), Some(42), "kyc"));
        assert_eq!(m.witness_sha256.as_deref().map(str::len), Some(64));
    }

    #[test]
    fn rejections_name_the_problem_and_keep_what_addresses_the_reply() {
        let mut h = job_headers("acme", "mul@1", "", 0, None, 0);
        h.insert(H_PROTOCOL.into(), AMQPValue::LongLongInt(2));
        let (partial, r) = parse_job(&props(h), b"x", 10).expect_err("v2");
        assert_eq!(r.code, ReasonCode::UnsupportedProtocol);
        let partial = partial.expect("job id and reply_to survive");
        assert_eq!((partial.job_id.as_str(), partial.tenant.as_str()), ("job-1", "acme"));
        assert_eq!(partial.reply_to.as_deref(), Some("amq.rabbitmq.reply-to"));

        let (_, r) = parse_job(&props(job_headers("acme", "mul@1", "", 0, None, 0)), &[0u8; 11], 10).expect_err("big");
        assert_eq!(r.code, ReasonCode::Oversize);
        let (_, r) = parse_job(&props(job_headers("acme", "mul@1", "", 12, None, 0)), b"x", 10).expect_err("prio");
        assert_eq!(r.code, ReasonCode::MalformedMessage);
        let (partial, r) = parse_job(&BasicProperties::default(), b"x", 10).expect_err("no id");
        assert!(partial.is_none());
        assert!(r.reason.contains("message_id"));
        let mut no_circuit = job_headers("acme", "", "", 0, None, 0);
        no_circuit.insert(H_CIRCUIT.into(), AMQPValue::LongString("".into()));
        let (_, r) = parse_job(&props(no_circuit), b"x", 10).expect_err("no circuit");
        assert!(r.reason.contains(H_CIRCUIT));
    }

    #[test]
    fn witness_references_replace_the_body() {
        let digest = "ab".repeat(32);
        let mut h = job_headers("acme", "mul@1", "", 0, None, 0);
        h.insert(H_WITNESS_REF.into(), AMQPValue::LongString(format!("sha256:{digest}").into()));
        let m = parse_job(&props(h.clone()), b"", 10).expect("a reference with an empty body");
        assert_eq!(m.witness_sha256.as_deref(), Some(digest.as_str()));
        let (_, r) = parse_job(&props(h), b"wtns", 10).expect_err("both");
        assert_eq!(r.code, ReasonCode::MalformedMessage);
        let mut bad = job_headers("acme", "mul@1", "", 0, None, 0);
        bad.insert(H_WITNESS_REF.into(), AMQPValue::LongString("sha256:XYZ".into()));
        assert_eq!(parse_job(&props(bad), b"", 10).expect_err("bad ref").1.code, ReasonCode::MalformedMessage);
        assert_eq!(parse_witness_ref("sha256:../etc"), None);
    }

    #[test]
    fn hostile_text_headers_are_refused_without_echoing_them() {
        let long = "t".repeat(6000);
        let cases: Vec<(&str, FieldTable, &str)> = vec![
            ("nul tenant", job_headers("a\u{0}b", "mul@1", "", 0, None, 0), "U+0000"),
            ("long tenant", job_headers(&long, "mul@1", "", 0, None, 0), "6000 characters"),
            ("129-character tenant", job_headers(&"é".repeat(129), "mul@1", "", 0, None, 0), "129 characters"),
            ("spaced tenant", job_headers("a b", "mul@1", "", 0, None, 0), "spaces"),
            ("escape in tenant", job_headers("a\u{1b}[2J", "mul@1", "", 0, None, 0), "U+001B"),
            ("nul circuit", job_headers("acme", "mul\u{0}@1", "", 0, None, 0), "(U+0000) at character 4"),
            ("long circuit", job_headers("acme", &long, "", 0, None, 0), "6000 bytes"),
            ("nul purpose", job_headers("acme", "mul@1", "kyc\u{0}", 0, None, 0), "U+0000"),
            ("newline purpose", job_headers("acme", "mul@1", "a\nb", 0, None, 0), "U+000A"),
            ("long purpose", job_headers("acme", "mul@1", &"p".repeat(MAX_PURPOSE_BYTES + 1), 0, None, 0), "1025 bytes"),
        ];
        for (what, h, says) in cases {
            let (partial, r) = parse_job(&props(h), b"wtns", 1 << 20).expect_err(what);
            assert_eq!(r.code, ReasonCode::MalformedMessage, "{what}: {}", r.reason);
            assert!(r.reason.contains(says), "{what}: {:?} should say {says:?}", r.reason);
            assert!(r.reason.len() < 200 && !r.reason.chars().any(char::is_control), "{what}: {:?}", r.reason);
            let partial = partial.expect("the job id survives, to key the failure");
            assert!(partial.tenant.is_empty() || partial.tenant == "acme", "{what}: the bad tenant is carried on: {:?}", partial.tenant);
            assert!(partial.purpose.is_empty() && partial.circuit_ref.is_empty(), "{what}");
        }
        // At the bounds: accepted.
        let h = job_headers(&"é".repeat(MAX_TENANT_CHARS), &"c".repeat(MAX_CIRCUIT_REF_BYTES), &"p".repeat(MAX_PURPOSE_BYTES), 0, None, 0);
        let m = parse_job(&props(h), b"wtns", 1 << 20).expect("values at the limits parse");
        let lengths = (m.tenant.chars().count(), m.circuit_ref.len(), m.purpose.len());
        assert_eq!(lengths, (MAX_TENANT_CHARS, MAX_CIRCUIT_REF_BYTES, MAX_PURPOSE_BYTES));
        // A bad tenant with a bad protocol version: the version is reported, the tenant dropped.
        let mut h = job_headers("a\u{0}b", "mul@1", "", 0, None, 0);
        h.insert(H_PROTOCOL.into(), AMQPValue::LongLongInt(7));
        let (partial, r) = parse_job(&props(h), b"x", 10).expect_err("v7");
        assert_eq!((r.code, partial.map(|p| p.tenant)), (ReasonCode::UnsupportedProtocol, Some(String::new())));
    }

    #[test]
    fn tenant_names_match_registration() {
        assert!(valid_tenant_name("acme") && valid_tenant_name("ünïcödé:team-1") && valid_tenant_name(&"x".repeat(128)));
        for bad in ["", "a b", "a\u{0}b", "tab\t", &"x".repeat(129)] {
            assert!(!valid_tenant_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn integer_headers_take_every_integer_encoding_and_integral_doubles_only() {
        let with = |v: AMQPValue| {
            let mut h = job_headers("acme", "mul", "", 0, None, 1);
            h.insert(H_PRIORITY.into(), v);
            parse_job(&props(h), b"w", 10).map(|m| m.priority)
        };
        for v in [
            AMQPValue::ShortShortInt(3),
            AMQPValue::ShortShortUInt(3),
            AMQPValue::ShortInt(3),
            AMQPValue::ShortUInt(3),
            AMQPValue::LongInt(3),
            AMQPValue::LongUInt(3),
            AMQPValue::LongLongInt(3),
            AMQPValue::Timestamp(3),
            AMQPValue::Double(3.0),
            AMQPValue::Float(3.0),
        ] {
            assert_eq!(with(v.clone()), Ok(3), "{v:?}");
        }
        for (v, says) in [
            (AMQPValue::LongString("3".into()), "a string"),
            (AMQPValue::ShortString("3".into()), "a string"),
            (AMQPValue::Double(3.5), "a double"),
            (AMQPValue::Double(f64::NAN), "a double"),
            (AMQPValue::Double(1e300), "a double"),
            (AMQPValue::Float(0.25), "a float"),
            (AMQPValue::Boolean(true), "a boolean"),
        ] {
            let (_, r) = with(v.clone()).expect_err("refused");
            assert_eq!(r.code, ReasonCode::MalformedMessage, "{v:?}");
            assert!(r.reason.contains(H_PRIORITY) && r.reason.contains(says), "{v:?}: {}", r.reason);
        }
        // Large values keep every bit through the 64-bit encodings.
        let mut h = job_headers("acme", "mul", "", 0, None, 1);
        h.insert(H_DEADLINE_MS.into(), AMQPValue::Double(1_796_300_000_123.0));
        assert_eq!(parse_job(&props(h), b"w", 10).expect("ok").deadline_ms, Some(1_796_300_000_123));
    }

    #[test]
    fn routing_and_headers_must_agree() {
        let meta = parse_job(&props(job_headers("acme", "mul", "", 3, None, 1)), b"w", 10).expect("ok");
        assert_eq!(check_routing(&meta, "", 0), Ok(()), "the shared queue");
        assert_eq!(check_routing(&meta, "acme", 3), Ok(()));
        let r = check_routing(&meta, "globex", 3).expect_err("another tenant's queue");
        assert_eq!(r.code, ReasonCode::TenantMismatch);
        assert!(r.reason.contains("\"acme\"") && r.reason.contains("\"globex\""), "{}", r.reason);
        let r = check_routing(&meta, "acme", 0).expect_err("another class");
        assert_eq!(r.code, ReasonCode::MalformedMessage);
        assert!(r.reason.contains(" 3 ") && r.reason.contains("priority 0"), "{}", r.reason);
    }

    /// The result's JSON Schema and the protocol document list exactly the codes there are.
    #[test]
    fn the_schema_and_the_document_list_every_reason_code() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("docs/schemas/job-result.schema.json")).expect("the schema")).expect("JSON");
        let listed: Vec<&str> = schema["properties"]["code"]["enum"].as_array().expect("enum").iter().filter_map(|v| v.as_str()).collect();
        let codes: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, codes, "docs/schemas/job-result.schema.json lists the codes");
        let doc = std::fs::read_to_string(root.join("docs/job-protocol.md")).expect("the document");
        for code in codes {
            assert!(doc.contains(&format!("| `{code}` |")), "docs/job-protocol.md's failure table lacks {code}");
            let json = serde_json::to_value(ReasonCode::ALL.iter().find(|c| c.as_str() == code)).expect("serialises");
            assert_eq!(json, code, "serde names the code as the document does");
        }
    }

    #[test]
    fn job_ids_are_plain() {
        assert!(valid_job_id("a-b_c.d:e1"));
        assert!(!valid_job_id(""));
        assert!(!valid_job_id("a b"));
        assert!(!valid_job_id(&"x".repeat(129)));
    }
}
