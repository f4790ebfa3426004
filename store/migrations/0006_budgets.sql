-- zkq schema, version 6: privacy budgets (issue 18; queries in budget/src/pg.rs, docs/budgets.md).
--
-- ε is stored in exact integer micro-ε (bigint), never floating point. A ledger is one row of
-- `budgets` per tenant × purpose; its window says which charges count. Every change to a ledger
-- is a signed, hash-chained receipt in `budget_receipts` (charges, refunds, resets, cap
-- changes): the receipts are the ledger's history and the evidence an auditor verifies offline.

-- A circuit's ε cost per proof (NULL: proofs of it charge nothing). A job may ask for less.
alter table circuits add column epsilon_micro bigint null check (epsilon_micro between 1 and 1000000000000);

-- Public halves of the ed25519 keys that sign receipts (the secret halves never leave their
-- key files). key_id: the first 8 bytes of sha256(public key), hex (docs/signing.md).
create table signing_keys (
    key_id          text primary key check (key_id ~ '^[0-9a-f]{16}$'),
    algorithm       text not null default 'ed25519' check (algorithm = 'ed25519'),
    public_key_hex  text not null unique check (public_key_hex ~ '^[0-9a-f]{64}$'),
    created_at      timestamptz not null default now(),
    retired_at      timestamptz null
);

-- One ledger per tenant × purpose. spent_micro: charges counted in the window now;
-- reserved_micro: held by admitted jobs not yet settled. counted_since: charges at or after it
-- count (window start, or just after the last reset). origin: where a total window counts from.
-- clock: the latest instant the ledger has seen (never goes back). seq/head: the last
-- receipt's position and id. The worker's admission and commit lock the row (`for update`).
create table budgets (
    tenant             text not null references tenants (name),
    purpose            text not null check (purpose ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    window_spec        text not null,
    cap_micro          bigint not null check (cap_micro between 1 and 1000000000000),
    per_job_max_micro  bigint null check (per_job_max_micro between 1 and 1000000000000),
    spent_micro        bigint not null default 0 check (spent_micro >= 0),
    reserved_micro     bigint not null default 0 check (reserved_micro >= 0),
    origin             timestamptz not null,
    counted_since      timestamptz not null,
    reset_since        timestamptz null,
    clock              timestamptz not null,
    seq                bigint not null default 0 check (seq >= 0),
    head               text not null check (head ~ '^[0-9a-f]{64}$'),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    primary key (tenant, purpose)
);

-- Holds taken at admission, one per tenant and job id: deleted by the transaction that
-- charges (the job's result commit) or refunds it, or reclaimed after expires_at.
create table budget_reservations (
    tenant         text not null,
    job_id         text not null,
    purpose        text not null,
    epsilon_micro  bigint not null check (epsilon_micro > 0),
    reserved_at    timestamptz not null,
    expires_at     timestamptz not null,
    worker_id      text not null,
    primary key (tenant, job_id),
    foreign key (tenant, purpose) references budgets (tenant, purpose)
);
create index budget_reservations_expires_at on budget_reservations (expires_at);

-- Signed receipts: the DSSE envelope is the evidence; the columns repeat its payload's facts
-- for queries. A job is charged at most once (the partial unique index).
create table budget_receipts (
    receipt_id           text primary key check (receipt_id ~ '^[0-9a-f]{64}$'),
    tenant               text not null,
    purpose              text not null,
    seq                  bigint not null check (seq >= 1),
    kind                 text not null check (kind in ('charge', 'refund', 'reset', 'cap')),
    epsilon_micro        bigint not null check (epsilon_micro >= 0),
    running_total_micro  bigint not null check (running_total_micro >= 0),
    cap_micro            bigint not null,
    job_id               text null,
    at                   timestamptz not null,
    key_id               text not null references signing_keys (key_id),
    envelope             jsonb not null,
    unique (tenant, purpose, seq),
    foreign key (tenant, purpose) references budgets (tenant, purpose)
);
create unique index budget_receipts_one_charge_per_job on budget_receipts (tenant, job_id) where kind = 'charge';
create index budget_receipts_charges_at on budget_receipts (tenant, purpose, at) where kind = 'charge';
create index budget_receipts_at on budget_receipts (at);

-- Jobs refused for lack of budget (the admin page's "recent blocks"; metrics count them too).
create table budget_blocks (
    id               bigserial primary key,
    at               timestamptz not null default now(),
    tenant           text not null,
    purpose          text not null,
    job_id           text not null,
    requested_micro  bigint not null,
    spent_micro      bigint not null,
    reserved_micro   bigint not null,
    cap_micro        bigint not null,
    frees_at         timestamptz null,
    message          text not null
);
create index budget_blocks_at on budget_blocks (at desc);
