-- zkq schema, version 1: tenants, circuits, prices, jobs, batches, results and costs.
--
-- Applied by zkq-scheduler's store (scheduler/src/store/migrations.rs) inside one transaction
-- under an advisory lock; tables are created unqualified, in the first schema of the
-- connection's search_path.
--
-- Witnesses are private inputs: no table holds one. A job keeps only its witness's sha256.
-- Money is `numeric`, never floating point in storage.

-- Who may submit jobs, with a fair-share weight.
create table tenants (
    name        text primary key,
    weight      int not null default 1 check (weight >= 1),
    created_at  timestamptz not null default now()
);

-- Registered circuits. The id is the sha256 of the zkey (lowercase hex); the zkey itself lives
-- in the content-addressed key store directory as <id>.zkey. Versions count up per name.
create table circuits (
    id             text primary key check (id ~ '^[0-9a-f]{64}$'),
    name           text not null,
    version        int not null check (version >= 1),
    n_vars         int not null,
    n_public       int not null,
    n_constraints  int not null,
    domain_size    int not null,
    zkey_bytes     bigint not null,
    created_at     timestamptz not null default now(),
    unique (name, version)
);

-- Versioned prices: a new price is a new row with a later valid_from; rows are never updated,
-- so every cost row can name the exact price it was computed from. The hourly price is for the
-- whole instance and is split evenly across its devices.
create table prices (
    id                    bigserial primary key,
    provider              text not null,
    region                text not null,
    instance_type         text not null,
    device_type           text not null,
    devices_per_instance  int not null check (devices_per_instance > 0),
    pricing_category      text not null check (pricing_category in ('on-demand', 'spot', 'reserved', 'savings-plan')),
    usd_per_hour          numeric(14, 6) not null check (usd_per_hour >= 0),
    valid_from            timestamptz not null,
    source                text,
    unique (provider, region, instance_type, pricing_category, valid_from)
);
create index prices_device_type_valid_from on prices (device_type, valid_from desc);

-- Public list prices (USD per instance-hour, Linux, on demand). Data, not code: later prices are
-- added as new rows (a later migration or `Store::add_price`).
insert into prices (provider, region, instance_type, device_type, devices_per_instance, pricing_category, usd_per_hour, valid_from, source) values
    ('aws', 'us-east-1', 'p5.48xlarge',  'nvidia-h100', 8, 'on-demand', 55.04,   '2026-01-01T00:00:00Z',
     'AWS EC2 on-demand list price, us-east-1, Linux: p5.48xlarge (8x NVIDIA H100 80GB) $55.04/h'),
    ('aws', 'us-east-1', 'p4d.24xlarge', 'nvidia-a100', 8, 'on-demand', 21.96,   '2026-01-01T00:00:00Z',
     'AWS EC2 on-demand list price, us-east-1, Linux: p4d.24xlarge (8x NVIDIA A100 40GB) $21.96/h'),
    ('aws', 'us-east-1', 'c7i.large',    'cpu-2core',   1, 'on-demand', 0.08925, '2026-01-01T00:00:00Z',
     'AWS EC2 on-demand list price, us-east-1, Linux: c7i.large (2 vCPU, 4 GiB) $0.08925/h');

-- One row per job id (the idempotency key). `zkq submit` inserts it as `queued` before
-- publishing; the worker's commit sets `proved` or `failed` in the same transaction that writes
-- the job's result (and inserts the row if the submitter did not).
create table jobs (
    job_id          text primary key,
    tenant          text not null,
    circuit_ref     text not null,
    circuit_id      text null references circuits (id),
    purpose         text not null default '',
    priority        smallint not null default 0,
    deadline_at     timestamptz null,
    witness_sha256  text null,
    submitted_at    timestamptz null,
    state           text not null check (state in ('queued', 'proved', 'failed')),
    updated_at      timestamptz not null default now()
);
create index jobs_tenant_submitted_at on jobs (tenant, submitted_at desc nulls last);

-- A batch as run on a device: its device-seconds are what the batch's jobs' costs share.
create table batches (
    id              uuid primary key,
    worker_id       text not null,
    backend         text not null,
    device          text not null,
    device_type     text not null,
    circuit_id      text not null references circuits (id),
    size            int not null,
    started_at      timestamptz not null,
    finished_at     timestamptz not null,
    device_seconds  double precision not null,
    price_id        bigint null references prices (id)
);

-- At most one result per job, ever: the worker inserts with ON CONFLICT (job_id) DO NOTHING, and
-- a redelivered job gets the stored `result` (the exact reply message) re-sent.
create table job_results (
    job_id           text primary key references jobs (job_id),
    status           text not null check (status in ('proved', 'failed')),
    reason_code      text null,
    reason           text null,
    batch_id         uuid null references batches (id),
    batch_size       int not null,
    device           text null,
    received_at      timestamptz not null,
    completed_at     timestamptz not null default now(),
    queue_wait_ms    double precision not null,
    witness_load_ms  double precision not null,
    compute_h_ms     double precision not null,
    compute_a_ms     double precision not null,
    compute_b_g1_ms  double precision not null,
    compute_b_g2_ms  double precision not null,
    compute_c_ms     double precision not null,
    verify_ms        double precision not null,
    result           jsonb not null
);
create index job_results_batch_id on job_results (batch_id);

-- Each job's share of its batch's device-seconds, priced at the price valid when it ran.
create table job_costs (
    job_id          text primary key references job_results (job_id),
    batch_id        uuid null references batches (id),
    device_type     text not null,
    price_id        bigint null references prices (id),
    device_seconds  double precision not null,
    usd             numeric(24, 12) not null
);
