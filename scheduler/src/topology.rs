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
//! - `<prefix>.jobs`: durable **quorum** queue bound to it (routing key `job`: older submitters), with `x-delivery-limit` (a message
//!   redelivered more often is dead-lettered: poison messages stop) and dead-lettering to
//!   `<prefix>.dlx`.
//! - `<prefix>.dlx` → `<prefix>.jobs.dead`: where failed jobs end, with `zkq-failure-code`
//!   and `zkq-failure-reason` headers when the worker dead-letters them itself, or the
//!   broker's `x-death` when the delivery limit did.
//!
//! Quorum queues are replicated and always durable; they do not support global QoS, so
//! prefetch is set per consumer.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

use crate::config::AmqpConfig;
use crate::SchedulerError;

/// Declares the exchanges and queues and binds them.
pub async fn declare(channel: &Channel, cfg: &AmqpConfig) -> Result<(), SchedulerError> {
    let durable_exchange = ExchangeDeclareOptions { durable: true, ..Default::default() };
    let durable_queue = QueueDeclareOptions { durable: true, ..Default::default() };
    channel
        .exchange_declare(cfg.dead_letter_exchange().as_str().into(), ExchangeKind::Fanout, durable_exchange, FieldTable::default())
        .await?;
    channel.queue_declare(cfg.dead_letter_queue().as_str().into(), durable_queue, quorum(&[])).await?;
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
        .exchange_declare(cfg.jobs_exchange().as_str().into(), ExchangeKind::Direct, durable_exchange, FieldTable::default())
        .await?;
    channel.queue_declare(cfg.jobs_queue().as_str().into(), durable_queue, job_queue_args(cfg)).await?;
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

/// Arguments of every job queue: quorum, delivery limit, dead-lettering.
fn job_queue_args(cfg: &AmqpConfig) -> FieldTable {
    quorum(&[
        ("x-delivery-limit", AMQPValue::LongLongInt(i64::from(cfg.delivery_limit))),
        ("x-dead-letter-exchange", AMQPValue::LongString(cfg.dead_letter_exchange().as_str().into())),
    ])
}

/// Declares `tenant`'s job queue of one priority class and binds it (after [`declare`], which makes the exchanges).
pub async fn declare_tenant(channel: &Channel, cfg: &AmqpConfig, tenant: &str, priority: u8) -> Result<(), SchedulerError> {
    let queue = cfg.tenant_queue(tenant, priority);
    channel.queue_declare(queue.as_str().into(), QueueDeclareOptions { durable: true, ..Default::default() }, job_queue_args(cfg)).await?;
    channel
        .queue_bind(
            queue.as_str().into(),
            cfg.jobs_exchange().as_str().into(),
            AmqpConfig::tenant_routing_key(tenant, priority).as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}
