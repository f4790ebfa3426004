//! Tenant identity on the broker (issue 17): each tenant has a RabbitMQ user of its own, and
//! broker permissions decide what that user can reach, so the tenant on a job is a fact the
//! broker vouches for, not a header.
//!
//! ## Layout (`docs/job-protocol.md`, "Tenant identity")
//!
//! A tenant `T` (name suffix `s`, as in its queue names) gets:
//! - a broker user [`tenant_user`] = `<prefix>.t.<s>`, with a generated password;
//! - its own **inbound exchange** [`AmqpConfig::tenant_exchange`] = `<prefix>.in.<s>` (direct),
//!   bound to its ten priority queues with the same routing keys as the shared job exchange;
//! - permissions ([`tenant_permissions`]): **write** only on its inbound exchange (not on the
//!   job exchange, not on `amq.default`, so it cannot route into any other queue), **read** and
//!   **configure** only on server-named queues `amq.gen-*` (its exclusive reply queues, which
//!   no other connection can consume).
//!
//! So a message in `T`'s queues was published by `T` (through `<prefix>.in.<s>`) or by the
//! operator (through `<prefix>.jobs`, with `ZKQ_AMQP_URL`'s identity); the worker then checks
//! the `zkq-tenant` header against the queue (`crate::protocol::check_routing`) and a
//! `user_id`, when set (RabbitMQ has checked it equals the publishing connection's user),
//! against `T`'s user and the operator's ([`user_may_publish_for`]). Topic permissions would
//! restrict routing keys, but only on topic exchanges; an exchange per tenant needs none.
//!
//! Passwords are generated here ([`generate_password`]), printed once by `zkq tenant add`, and
//! never stored by zkq: the broker receives only a salted hash ([`rabbit_password_hash`], the
//! `rabbit_password_hashing_sha256` scheme), computed here, so the password does not even
//! cross the wire to the management API.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | names, permissions, passwords, tenant URLs (pure) |
//! | `management.rs` | a small client of RabbitMQ's management HTTP API (users, permissions) |

mod management;

pub use management::{ManagementApi, ManagementError};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::config::AmqpConfig;

/// The broker user of `tenant` under `cfg`'s prefix: `<prefix>.t.<suffix>` (the suffix of its
/// queue names: the name itself when plain, else `h-` and 32 hex digits of its sha256).
pub fn tenant_user(cfg: &AmqpConfig, tenant: &str) -> String {
    format!("{}.t.{}", cfg.prefix, AmqpConfig::tenant_suffix(tenant))
}

/// A broker permission triple: regular expressions over resource names (RabbitMQ's
/// `configure`, `write`, `read`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Permissions {
    /// Declare and delete.
    pub configure: String,
    /// Publish (exchanges) and bind to.
    pub write: String,
    /// Consume (queues) and bind from.
    pub read: String,
}

/// Server-named queues (exclusive reply queues): `amq.gen-…`.
const SERVER_NAMED_QUEUES: &str = "^amq\\.gen-.*$";

/// `T`'s permissions: write only its inbound exchange; read and configure only server-named
/// queues (its exclusive reply queues).
pub fn tenant_permissions(cfg: &AmqpConfig, tenant: &str) -> Permissions {
    Permissions {
        configure: SERVER_NAMED_QUEUES.into(),
        write: format!("^{}$", regex_escape(&cfg.tenant_exchange(tenant))),
        read: SERVER_NAMED_QUEUES.into(),
    }
}

/// Escapes every character a regular expression could read as syntax (RabbitMQ uses PCRE-like
/// Erlang `re`: a backslash before a non-alphanumeric character is always that character).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a job carrying `user_id` (checked by the broker against the publishing connection)
/// may be `tenant`'s: its own broker user, or the operator (`operator_user`, the user of
/// `ZKQ_AMQP_URL`). A job without `user_id` is attributed by its queue alone.
pub fn user_may_publish_for(user_id: &str, tenant_user: Option<&str>, operator_user: &str) -> bool {
    user_id == operator_user || tenant_user == Some(user_id)
}

/// A new password: 24 random bytes, as 48 hex digits (no character a URL must escape).
pub fn generate_password() -> Result<String, ManagementError> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).map_err(|e| ManagementError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// RabbitMQ's `rabbit_password_hashing_sha256` hash of `password` with a 4-byte `salt`:
/// base64(salt ‖ sha256(salt ‖ utf8(password))) (RabbitMQ documentation, "Credentials and
/// Passwords", "Computing Password Hash").
pub fn rabbit_password_hash(password: &str, salt: [u8; 4]) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(password.as_bytes());
    let mut out = salt.to_vec();
    out.extend_from_slice(&h.finalize());
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// The user, password and vhost of an AMQP URI (the operator's, `ZKQ_AMQP_URL`).
pub fn uri_credentials(uri: &str) -> Result<(String, String, String), crate::SchedulerError> {
    let u: lapin::uri::AMQPUri = uri.parse().map_err(|e| crate::SchedulerError::Invalid(format!("invalid AMQP URI: {e}")))?;
    Ok((u.authority.userinfo.username, u.authority.userinfo.password, u.vhost))
}

/// The operator's broker user: the user name in `uri` (`guest` when it names none).
pub fn operator_user(uri: &str) -> String {
    uri.parse::<lapin::uri::AMQPUri>().map(|u| u.authority.userinfo.username).unwrap_or_else(|_| "guest".into())
}

/// `uri` with `user` and `password` instead of its credentials (what a tenant connects with).
pub fn uri_with_credentials(uri: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("amqp", uri));
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{}:{}@{host_and_path}", percent_encode(user), percent_encode(password))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AmqpConfig {
        AmqpConfig { prefix: "zkq".into(), ..Default::default() }
    }

    #[test]
    fn names_follow_the_queue_suffix() {
        assert_eq!(tenant_user(&cfg(), "acme"), "zkq.t.acme");
        assert_eq!(cfg().tenant_exchange("acme"), "zkq.in.acme");
        let odd = tenant_user(&cfg(), "Ünïcode tenant");
        assert!(odd.starts_with("zkq.t.h-") && odd.len() == "zkq.t.h-".len() + 32, "{odd}");
    }

    #[test]
    fn permissions_reach_only_the_tenants_exchange_and_reply_queues() {
        let p = tenant_permissions(&cfg(), "acme");
        assert_eq!(p.write, "^zkq\\.in\\.acme$");
        assert_eq!(p.read, "^amq\\.gen-.*$");
        assert_eq!(p.configure, p.read);
        // An escaped dot is a dot: "zkqXinXacme" is not the exchange.
        assert!(!p.write.contains("zkq.in"));
    }

    #[test]
    fn only_the_tenant_or_the_operator_may_publish_for_it() {
        assert!(user_may_publish_for("zkq.t.acme", Some("zkq.t.acme"), "guest"));
        assert!(user_may_publish_for("guest", Some("zkq.t.acme"), "guest"));
        assert!(!user_may_publish_for("zkq.t.globex", Some("zkq.t.acme"), "guest"));
        assert!(!user_may_publish_for("zkq.t.acme", None, "guest"));
    }

    #[test]
    fn the_password_hash_is_rabbitmqs() {
        // RabbitMQ's documented example: salt 908D C60A, password "test12".
        let hash = rabbit_password_hash("test12", [0x90, 0x8d, 0xc6, 0x0a]);
        assert_eq!(hash, "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR");
        let p = generate_password().expect("random");
        assert_eq!(p.len(), 48);
        assert_ne!(p, generate_password().expect("random"));
    }

    #[test]
    fn tenant_urls_replace_the_credentials() {
        assert_eq!(operator_user("amqp://ops:secret@10.0.0.5:5672/%2f"), "ops");
        assert_eq!(
            uri_with_credentials("amqp://ops:secret@10.0.0.5:5672/%2f", "zkq.t.a:b", "p@ss"),
            "amqp://zkq.t.a%3Ab:p%40ss@10.0.0.5:5672/%2f"
        );
        assert_eq!(uri_with_credentials("amqp://127.0.0.1:5672", "u", "p"), "amqp://u:p@127.0.0.1:5672");
    }
}
