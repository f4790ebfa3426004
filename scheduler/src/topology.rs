//! Exchanges and queues, declared idempotently by every worker and submitter.
//!
//! - `<prefix>.jobs`: durable direct exchange submitters publish to (routing key `job`).
//! - `<prefix>.jobs.tenant.<tenant>` (priority 0) and `<prefix>.jobs.p<k>.tenant.<tenant>`
//!   (priority k = 1–9): one durable quorum queue per tenant and priority class, bound with
//!   routing key `tenant.<tenant>` / `p<k>.tenant.<tenant>`, with the same arguments as the
//!   shared queue ([`declare_tenant`]).
//!   Submitters publish there, so a tenant's flood fills only its own queue (`crate::fair`).
//!   Declared by the submitter before publishing and by every worker for every registered
//!   tenant.
//! - `<prefix>.in.<tenant>`: each tenant's own durable direct exchange, bound to its ten queues
//!   with the same routing keys: the only exchange its broker user may publish to
//!   (`crate::identity`).
//! - `<prefix>.jobs`: durable **quorum** queue bound to it (routing key `job`: older submitters), with `x-delivery-limit` (a message
//!   redelivered more often is dead-lettered: poison messages stop) and dead-lettering to
//!   `<prefix>.dlx`.
//! - `<prefix>.dlx` → `<prefix>.jobs.dead`: where failed jobs end, with `zkq-failure-code`,
//!   `zkq-failure-reason` and `zkq-witness-sha256` headers and a small JSON body (never the
//!   witness) when the worker dead-letters them itself, or the broker's `x-death` when the
//!   delivery limit did. Bounded ([`dead_letter_queue_args`]): `x-max-length`,
//!   `x-max-length-bytes`, `x-message-ttl` from [`AmqpConfig`]; on overflow the oldest dead
//!   letters are dropped (`drop-head`).
//!
//! A queue that already exists with other arguments cannot be declared again (the broker
//! answers 406 PRECONDITION_FAILED and closes the channel). [`declare_checked`] and
//! [`declare_queue_checked`] declare on a throwaway channel and report such a queue as a
//! [`QueueConflict`] instead of failing: the dead-letter queue of an older zkq (declared without
//! bounds) keeps working, unbounded, until an operator deletes it or bounds it with a policy;
//! a tenant queue a submitter pre-declared with other arguments is skipped by the worker.
//!
//! Quorum queues are replicated and always durable; they do not support global QoS, so
//! prefetch is set per consumer.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::{Channel, Connection, ExchangeKind};

use crate::config::AmqpConfig;
use crate::SchedulerError;

/// A queue that exists with other arguments than zkq declares it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConflict {
    /// The queue.
    pub queue: String,
    /// The broker's words (which argument differs).
    pub detail: String,
}

impl std::fmt::Display for QueueConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "queue {} exists with other arguments than zkq declares ({})", self.queue, self.detail)
    }
}

/// Declares the exchanges and queues and binds them; a queue that exists with other arguments
/// is an error (the broker closes `channel`). Workers and submitters use [`declare_checked`].
pub async fn declare(channel: &Channel, cfg: &AmqpConfig) -> Result<(), SchedulerError> {
    declare_exchanges(channel, cfg).await?;
    let durable_queue = QueueDeclareOptions { durable: true, ..Default::default() };
    channel.queue_declare(cfg.dead_letter_queue().as_str().into(), durable_queue, dead_letter_queue_args(cfg)).await?;
    channel.queue_declare(cfg.jobs_queue().as_str().into(), durable_queue, job_queue_args(cfg)).await?;
    bind(channel, cfg).await
}

/// Like [`declare`], but the dead-letter queue and the shared job queue are declared on
/// throwaway channels of `conn`: one that exists with other arguments is returned as a
/// [`QueueConflict`] (and still bound and used) instead of closing `channel`.
pub async fn declare_checked(
    conn: &Connection,
    channel: &Channel,
    cfg: &AmqpConfig,
) -> Result<Vec<QueueConflict>, SchedulerError> {
    declare_exchanges(channel, cfg).await?;
    let (dead, jobs) = futures_util::future::try_join(
        declare_queue_checked(conn, &cfg.dead_letter_queue(), dead_letter_queue_args(cfg)),
        declare_queue_checked(conn, &cfg.jobs_queue(), job_queue_args(cfg)),
    )
    .await?;
    bind(channel, cfg).await?;
    Ok(dead.into_iter().chain(jobs).collect())
}

/// Declares one durable queue on a throwaway channel of `conn`: `Ok(Some(conflict))` when it
/// exists with other arguments (406 PRECONDITION_FAILED, which closes only that channel).
pub async fn declare_queue_checked(
    conn: &Connection,
    queue: &str,
    args: FieldTable,
) -> Result<Option<QueueConflict>, SchedulerError> {
    let ch = conn.create_channel().await?;
    match ch.queue_declare(queue.into(), QueueDeclareOptions { durable: true, ..Default::default() }, args).await {
        Ok(_) => {
            let _ = ch.close(200, "declared".into()).await;
            Ok(None)
        }
        Err(e) if is_precondition_failed(&e) => Ok(Some(QueueConflict { queue: queue.to_owned(), detail: e.to_string() })),
        Err(e) => {
            let _ = ch.close(200, "failed".into()).await;
            Err(e.into())
        }
    }
}

/// Whether the broker refused an operation with 406 PRECONDITION_FAILED.
pub fn is_precondition_failed(e: &lapin::Error) -> bool {
    matches!(
        e.kind(),
        lapin::ErrorKind::ProtocolError(amqp) if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED))
    )
}

async fn declare_exchanges(channel: &Channel, cfg: &AmqpConfig) -> Result<(), SchedulerError> {
    let durable_exchange = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel
        .exchange_declare(cfg.dead_letter_exchange().as_str().into(), ExchangeKind::Fanout, durable_exchange, FieldTable::default())
        .await?;
    channel
        .exchange_declare(cfg.jobs_exchange().as_str().into(), ExchangeKind::Direct, durable_exchange, FieldTable::default())
        .await?;
    Ok(())
}

async fn bind(channel: &Channel, cfg: &AmqpConfig) -> Result<(), SchedulerError> {
    channel
        .queue_bind(
            cfg.dead_letter_queue().as_str().into(),
            cfg.dead_letter_exchange().as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            cfg.jobs_queue().as_str().into(),
            cfg.jobs_exchange().as_str().into(),
            cfg.jobs_routing_key().as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

fn quorum(extra: &[(&str, AMQPValue)]) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    for (k, v) in extra {
        args.insert((*k).into(), v.clone());
    }
    args
}

/// Arguments of the dead-letter queue: quorum, bounded by length, bytes and age; overflow
/// drops the oldest (`drop-head`, what quorum queues do by default, stated for readers).
pub fn dead_letter_queue_args(cfg: &AmqpConfig) -> FieldTable {
    quorum(&[
        ("x-max-length", AMQPValue::LongLongInt(i64::from(cfg.dead_letter_max_length))),
        ("x-max-length-bytes", AMQPValue::LongLongInt(i64::try_from(cfg.dead_letter_max_bytes).unwrap_or(i64::MAX))),
        ("x-message-ttl", AMQPValue::LongLongInt(i64::try_from(cfg.dead_letter_ttl.as_millis()).unwrap_or(i64::MAX))),
        ("x-overflow", AMQPValue::LongString("drop-head".into())),
    ])
}

/// Arguments of every job queue: quorum, delivery limit, dead-lettering.
pub fn job_queue_args(cfg: &AmqpConfig) -> FieldTable {
    quorum(&[
        ("x-delivery-limit", AMQPValue::LongLongInt(i64::from(cfg.delivery_limit))),
        ("x-dead-letter-exchange", AMQPValue::LongString(cfg.dead_letter_exchange().as_str().into())),
    ])
}

/// Declares `tenant`'s job queue of one priority class on a throwaway channel of `conn` and,
/// unless it exists with other arguments (returned as a conflict, not bound), binds it on
/// `channel`.
pub async fn declare_tenant_checked(
    conn: &Connection,
    channel: &Channel,
    cfg: &AmqpConfig,
    tenant: &str,
    priority: u8,
) -> Result<Option<QueueConflict>, SchedulerError> {
    let queue = cfg.tenant_queue(tenant, priority);
    if let Some(conflict) = declare_queue_checked(conn, &queue, job_queue_args(cfg)).await? {
        return Ok(Some(conflict));
    }
    bind_tenant_queue(channel, cfg, tenant, priority).await?;
    Ok(None)
}

/// Binds `tenant`'s queue of one priority class, with its routing key, to the job exchange
/// (the operator's way in) and to the tenant's own inbound exchange (the tenant's broker user's
/// only way in, `crate::identity`), declaring that exchange (direct, durable).
async fn bind_tenant_queue(channel: &Channel, cfg: &AmqpConfig, tenant: &str, priority: u8) -> Result<(), SchedulerError> {
    let inbound = cfg.tenant_exchange(tenant);
    let durable_exchange = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare(inbound.as_str().into(), ExchangeKind::Direct, durable_exchange, FieldTable::default()).await?;
    for exchange in [cfg.jobs_exchange(), inbound] {
        channel
            .queue_bind(
                cfg.tenant_queue(tenant, priority).as_str().into(),
                exchange.as_str().into(),
                AmqpConfig::tenant_routing_key(tenant, priority).as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Connects to `cfg.uri` and declares the topology and `tenant`'s ten queues, bound to the job
/// exchange and to its inbound exchange (`zkq tenant add`). Queues that exist with other
/// arguments are returned (not bound, not consumed by workers) for the caller to report.
pub async fn declare_tenant_queues(cfg: &AmqpConfig, tenant: &str) -> Result<Vec<QueueConflict>, SchedulerError> {
    let conn = Connection::connect(&cfg.uri, lapin::ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    let declared = async {
        // The exchanges its queues are bound to and dead-letter to; the shared and dead-letter
        // queues are the workers' to declare (with their configured bounds).
        declare_exchanges(&channel, cfg).await?;
        let mut conflicts = Vec::new();
        for priority in 0..=9u8 {
            conflicts.extend(declare_tenant_checked(&conn, &channel, cfg, tenant, priority).await?);
        }
        Ok(conflicts)
    }
    .await;
    let _ = conn.close(200, "bye".into()).await;
    declared
}

/// Declares `tenant`'s job queue of one priority class and binds it (after [`declare`], which makes the exchanges).
pub async fn declare_tenant(channel: &Channel, cfg: &AmqpConfig, tenant: &str, priority: u8) -> Result<(), SchedulerError> {
    let queue = cfg.tenant_queue(tenant, priority);
    channel.queue_declare(queue.as_str().into(), QueueDeclareOptions { durable: true, ..Default::default() }, job_queue_args(cfg)).await?;
    bind_tenant_queue(channel, cfg, tenant, priority).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dead_letter_queue_is_bounded_by_the_config() {
        let cfg = AmqpConfig {
            dead_letter_max_length: 7,
            dead_letter_max_bytes: 1 << 20,
            dead_letter_ttl: std::time::Duration::from_secs(60),
            ..Default::default()
        };
        let args = dead_letter_queue_args(&cfg);
        let get = |k: &str| args.inner().get(k).cloned();
        assert_eq!(get("x-queue-type"), Some(AMQPValue::LongString("quorum".into())));
        assert_eq!(get("x-max-length"), Some(AMQPValue::LongLongInt(7)));
        assert_eq!(get("x-max-length-bytes"), Some(AMQPValue::LongLongInt(1 << 20)));
        assert_eq!(get("x-message-ttl"), Some(AMQPValue::LongLongInt(60_000)));
        assert_eq!(get("x-overflow"), Some(AMQPValue::LongString("drop-head".into())));
    }
}
