-- zkq schema, version 3: what FinOps reports need beyond the job pipeline's own rows.
--
-- * worker uptime (the idle row): each worker process writes one row when it starts and moves
--   its `last_seen_at` forward on every heartbeat; device time paid for is
--   (last_seen_at - started_at) x devices, and idle time is that minus the batches' device-seconds.
--   A restart is a new row (new started_at), so the record survives restarts and crashes: a
--   crashed worker's paid time ends at its last heartbeat.
-- * region and proving-key cache hit on each batch;
-- * shared costs (broker, database, ...) as versioned data, like prices.

create table worker_uptime (
    worker_id     text not null,
    started_at    timestamptz not null,
    last_seen_at  timestamptz not null,
    device        text not null,
    device_type   text not null,
    devices       int not null default 1 check (devices >= 1),
    region        text null,
    primary key (worker_id, started_at),
    check (last_seen_at >= started_at)
);
create index worker_uptime_last_seen_at on worker_uptime (last_seen_at);

alter table batches add column region text null;
alter table batches add column key_cache_hit boolean null;
create index batches_started_at on batches (started_at);
create index job_results_completed_at on job_results (completed_at);

-- Costs shared by all tenants (the broker, the database, monitoring): a fixed amount per hour,
-- versioned like prices (a change is a new row with a later valid_from; rows are never edited).
create table shared_costs (
    id            bigserial primary key,
    component     text not null check (component ~ '^[a-z][a-z0-9_-]*$'),
    region        text null,
    usd_per_hour  numeric(14, 6) not null check (usd_per_hour >= 0),
    valid_from    timestamptz not null,
    source        text,
    unique (component, region, valid_from)
);
