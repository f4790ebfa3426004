//! The submitter's side of the protocol: publish jobs with publisher confirms (pipelined:
//! many publishes in flight, confirms awaited together) and receive results on a private
//! reply queue. Used by `zkq submit` and the load generator.
//!
//! Connected as the operator (`ZKQ_AMQP_URL`), a submitter declares the topology and publishes
//! through the job exchange for any tenant. Connected as a tenant's broker user
//! (`<prefix>.t.<s>`, `crate::identity`), it declares nothing but its reply queue and publishes
//! through that tenant's inbound exchange — the only place its user may publish — and only that
//! tenant's jobs. Either way every job carries `user_id` (the broker checks it).

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::{Confirmation, PublisherConfirm};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};

use crate::config::AmqpConfig;
use crate::protocol::{self, JobResult, JOB_CONTENT_TYPE};
use crate::{identity, topology, SchedulerError};

/// One job to publish.
#[derive(Debug, Clone)]
pub struct OutgoingJob {
    /// Job id (idempotency key).
    pub job_id: String,
    /// Tenant.
    pub tenant: String,
    /// Circuit reference.
    pub circuit: String,
    /// Purpose.
    pub purpose: String,
    /// Priority 0–9.
    pub priority: u8,
    /// Deadline, Unix ms.
    pub deadline_ms: Option<i64>,
    /// The `.wtns` bytes.
    pub witness: Vec<u8>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Whether the identity of `amqp.uri` may submit `tenant`'s jobs: the operator may submit any
/// tenant's; a tenant's broker user (`<prefix>.t.…`) only its own tenant's. Checked before
/// anything is recorded or published.
pub fn may_submit_for(amqp: &AmqpConfig, tenant: &str) -> Result<(), SchedulerError> {
    user_may_submit_for(amqp, &identity::operator_user(&amqp.uri), tenant)
}

/// [`may_submit_for`] for a connection's `user`, already known.
fn user_may_submit_for(amqp: &AmqpConfig, user: &str, tenant: &str) -> Result<(), SchedulerError> {
    if is_tenant_user(amqp, user) && identity::tenant_user(amqp, tenant) != user {
        return Err(SchedulerError::Invalid(format!("broker user {user} is not tenant {tenant:?}'s: it cannot submit that tenant's jobs")));
    }
    Ok(())
}

/// Whether `user` is a tenant's broker user under `amqp`'s prefix.
fn is_tenant_user(amqp: &AmqpConfig, user: &str) -> bool {
    user.starts_with(&format!("{}.t.", amqp.prefix))
}

/// A connection for submitting jobs and reading their results.
pub struct Submitter {
    _conn: Connection,
    channel: Channel,
    reply_queue: String,
    replies: Consumer,
    amqp: AmqpConfig,
    /// The broker user this submitter connects as.
    user: String,
    /// Whether that user is a tenant's (then it publishes through the tenant's inbound exchange).
    as_tenant: bool,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter").field("reply_queue", &self.reply_queue).finish()
    }
}

/// A publish whose broker confirm is still outstanding.
#[derive(Debug)]
pub struct Pending {
    /// The job.
    pub job_id: String,
    confirm: PublisherConfirm,
}

impl Pending {
    /// Waits for the broker's confirm: `Ok` once the job is safely queued. A job the broker
    /// returned (published `mandatory`, no queue bound for its routing key: the broker still
    /// acks it) or refused (nack) is [`SchedulerError::NotSubmitted`].
    pub async fn confirmed(self) -> Result<String, (String, SchedulerError)> {
        let not_submitted =
            |job_id: &str, why: String, returned: bool| SchedulerError::NotSubmitted { job_id: job_id.to_owned(), why, returned };
        match self.confirm.await {
            Ok(Confirmation::Ack(None)) => Ok(self.job_id),
            Ok(Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned))) => {
                let why = format!(
                    "the broker returned it as unroutable ({} {}: no queue is bound for routing key `{}` on exchange `{}`)",
                    returned.reply_code,
                    returned.reply_text,
                    returned.delivery.routing_key,
                    returned.delivery.exchange
                );
                Err((self.job_id.clone(), not_submitted(&self.job_id, why, true)))
            }
            Ok(Confirmation::Nack(None)) => {
                let why = "the broker refused it (nack: e.g. a queue it was routed to is full and rejects publishes); \
                           it may or may not be queued: publishing it again under the same job id is safe";
                Err((self.job_id.clone(), not_submitted(&self.job_id, why.into(), false)))
            }
            Ok(Confirmation::NotRequested) => {
                let why = "publisher confirms are off: the broker never said it took the job";
                Err((self.job_id.clone(), not_submitted(&self.job_id, why.into(), false)))
            }
            Err(e) => Err((self.job_id, e.into())),
        }
    }
}

impl Submitter {
    /// Connects, declares the topology, enables confirms and opens a private reply queue.
    pub async fn connect(amqp: &AmqpConfig) -> Result<Self, SchedulerError> {
        let conn = Connection::connect(&amqp.uri, ConnectionProperties::default()).await?;
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        let user = identity::operator_user(&amqp.uri);
        let as_tenant = is_tenant_user(amqp, &user);
        if !as_tenant {
            for conflict in topology::declare_checked(&conn, &channel, amqp).await? {
                tracing::warn!(%conflict, "publishing anyway: the workers report it too");
            }
        }
        let q = channel
            .queue_declare("".into(), QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() }, FieldTable::default())
            .await?;
        let reply_queue = q.name().as_str().to_owned();
        let replies = channel
            .basic_consume(reply_queue.as_str().into(), "".into(), BasicConsumeOptions { no_ack: true, ..Default::default() }, FieldTable::default())
            .await?;
        Ok(Self { _conn: conn, channel, reply_queue, replies, amqp: amqp.clone(), user, as_tenant })
    }

    /// The private queue results arrive on.
    pub fn reply_queue(&self) -> &str {
        &self.reply_queue
    }

    /// Publishes one job (persistent, mandatory) into its tenant's queue and returns its
    /// outstanding confirm.
    pub async fn publish(&self, job: &OutgoingJob) -> Result<Pending, SchedulerError> {
        self.publish_inner(job, None).await
    }

    /// Publishes a job whose witness is already in the shared witness store as
    /// `<witness_dir>/<sha256>.wtns`: the body is empty and `zkq-witness-ref` names it.
    /// `job.witness` is not sent.
    pub async fn publish_with_witness_ref(&self, job: &OutgoingJob, sha256_hex: &str) -> Result<Pending, SchedulerError> {
        self.publish_inner(job, Some(sha256_hex)).await
    }

    async fn publish_inner(&self, job: &OutgoingJob, witness_ref: Option<&str>) -> Result<Pending, SchedulerError> {
        // Into the tenant's own queue. Never declared here: a tenant's queues exist once it is
        // registered (`zkq tenant add`, and every worker declares them), so a job for a tenant
        // that is not is returned as unroutable (`mandatory`) — reported as not submitted —
        // instead of parked in a queue no worker consumes.
        let priority = job.priority.min(9);
        let exchange = if self.as_tenant {
            user_may_submit_for(&self.amqp, &self.user, &job.tenant)?;
            self.amqp.tenant_exchange(&job.tenant)
        } else {
            self.amqp.jobs_exchange()
        };
        let mut headers = protocol::job_headers(&job.tenant, &job.circuit, &job.purpose, job.priority, job.deadline_ms, now_ms());
        if let Some(digest) = witness_ref {
            headers.insert(protocol::H_WITNESS_REF.into(), lapin::types::AMQPValue::LongString(format!("sha256:{digest}").into()));
        }
        let body: &[u8] = if witness_ref.is_some() { &[] } else { &job.witness };
        let props = BasicProperties::default()
            .with_message_id(job.job_id.as_str().into())
            .with_correlation_id(job.job_id.as_str().into())
            .with_reply_to(self.reply_queue.as_str().into())
            .with_content_type(JOB_CONTENT_TYPE.into())
            .with_delivery_mode(2)
            .with_user_id(self.user.as_str().into())
            .with_headers(headers);
        let confirm = self
            .channel
            .basic_publish(
                exchange.as_str().into(),
                AmqpConfig::tenant_routing_key(&job.tenant, priority).as_str().into(),
                BasicPublishOptions { mandatory: true, ..Default::default() },
                body,
                props,
            )
            .await?;
        Ok(Pending { job_id: job.job_id.clone(), confirm })
    }

    /// The next result, or `None` if the connection closed.
    pub async fn next_result(&mut self) -> Option<Result<JobResult, SchedulerError>> {
        loop {
            let d = match self.replies.next().await? {
                Ok(d) => d,
                Err(e) => return Some(Err(e.into())),
            };
            match serde_json::from_slice::<JobResult>(&d.data) {
                Ok(r) => return Some(Ok(r)),
                Err(e) => tracing::warn!(error = %e, "ignoring an unreadable reply"),
            }
        }
    }
}
