-- Tenant identity (issue 17): each tenant's broker user, and tenants removed.
--
-- amqp_user: the RabbitMQ user `zkq tenant add` created for the tenant (its password is never
-- stored by zkq; the broker keeps a salted hash). NULL for a tenant registered before identities:
-- `zkq tenant rotate-credentials NAME` gives it one (docs/job-protocol.md, "Tenant identity").
-- removed_at: set by `zkq tenant remove`; its broker user is deleted, and the jobs still in its
-- queues are failed `unknown_tenant` with the reason, not left waiting.
alter table tenants add column amqp_user text null unique;
alter table tenants add column removed_at timestamptz null;
