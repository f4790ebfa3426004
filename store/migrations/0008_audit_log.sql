-- zkq schema, version 8: attestations, the transparency log, auditor API clients and access
-- events (issue 20; log queries in audit/src/pg.rs, client and access queries in server/src;
-- docs/auditor-api.md, docs/transparency-log.md).
--
-- Every proved job gets a DSSE-signed in-toto statement (its attestation), appended as one entry
-- to an append-only RFC 6962 Merkle log in the same transaction that commits its batch. Appends
-- are serialised by the single `log_head` row (`select … for update`), so log order is unique.

-- The log's head: its size and root after the last append. Exactly one row; locked by every
-- append, so appends happen one at a time and each starts from the committed head.
create table log_head (
    id          boolean primary key default true check (id),
    tree_size   bigint not null default 0 check (tree_size >= 0),
    root        bytea not null default sha256(''::bytea) check (length(root) = 32)
);
insert into log_head (id) values (true);

-- One row per log entry (leaf). entry: the exact bytes that were hashed (the DSSE envelope of
-- the job's statement, compact JSON); leaf hash = sha256(0x00 || entry) (RFC 6962 §2.1).
-- job_id is unique: a job is attested once.
create table log_entries (
    idx          bigint primary key check (idx >= 0),
    job_id       text not null unique,
    tenant       text not null,
    entry        bytea not null,
    key_id       text not null references signing_keys (key_id),
    created_at   timestamptz not null default now()
);
create index log_entries_tenant on log_entries (tenant, idx);

-- The complete (perfect, aligned) subtrees of the log: level 0 holds the leaf hashes; the node
-- at (level, idx) is the root of leaves [idx·2^level, (idx+1)·2^level). About 2 rows per
-- entry; any inclusion or consistency proof needs O(log n) of them (audit/src/merkle.rs).
create table log_nodes (
    level   smallint not null check (level between 0 and 62),
    idx     bigint not null check (idx >= 0),
    hash    bytea not null check (length(hash) = 32),
    primary key (level, idx)
);

-- Signed checkpoints (signed tree heads): one per append, in the text format of
-- docs/transparency-log.md; `note` is the whole signed note as served.
create table log_checkpoints (
    tree_size   bigint primary key check (tree_size > 0),
    root        bytea not null check (length(root) = 32),
    at          timestamptz not null,
    key_id      text not null references signing_keys (key_id),
    note        text not null
);

-- OAuth 2.0 clients of the auditor API (client-credentials grant). The secret is random
-- (256 bits) and shown once; only its sha256 (hex) is stored. scopes: what tokens may carry
-- (audit:read, budget:read, costs:read, admin). tenant: a tenant-bound client sees only that
-- tenant's records; NULL sees all. revoke sets revoked_at (names stay unique and meaningful in
-- the access log).
create table oauth_clients (
    client_id      text primary key check (client_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    secret_sha256  text not null check (secret_sha256 ~ '^[0-9a-f]{64}$'),
    scopes         text[] not null,
    tenant         text null references tenants (name),
    created_at     timestamptz not null default now(),
    created_by     text not null,
    revoked_at     timestamptz null
);

-- Every request to `zkq serve` (auditor API and admin pages): who (client or operator), with
-- which scopes, which route (the template, e.g. /v1/attestations/{job_id}), the outcome.
create table access_events (
    id           bigserial primary key,
    at           timestamptz not null default now(),
    client_id    text null,
    operator     text null,
    tenant       text null,
    scopes       text not null default '',
    method       text not null,
    route        text not null,
    path         text not null,
    status       int not null,
    outcome      text not null,
    duration_ms  double precision not null,
    remote       text null
);
create index access_events_at on access_events (at);
create index access_events_client on access_events (client_id, at);
