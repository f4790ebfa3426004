//! Exchanges and queues, declared idempotently by every worker and submitter.
//!
//! - `<prefix>.jobs`: durable direct exchange submitters publish to (routing key `job`).
//! - `<prefix>.jobs`: durable **quorum** queue bound to it, with `x-delivery-limit` (a message
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
    let quorum = |extra: &[(&str, AMQPValue)]| {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
        for (k, v) in extra {
            args.insert((*k).into(), v.clone());
        }
        args
    };
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
    let args = quorum(&[
        ("x-delivery-limit", AMQPValue::LongLongInt(i64::from(cfg.delivery_limit))),
        ("x-dead-letter-exchange", AMQPValue::LongString(cfg.dead_letter_exchange().as_str().into())),
    ]);
    channel.queue_declare(cfg.jobs_queue().as_str().into(), durable_queue, args).await?;
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
