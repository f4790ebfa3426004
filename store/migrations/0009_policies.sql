-- zkq schema, version 9: admission policies (issue 19; queries in policy/src/pg.rs,
-- docs/policy.md).
--
-- One row per version of a policy. tenant: whose set it belongs to; NULL for a shared policy
-- (in every tenant's set: emergency forbids, global rules). A change is a new version (the old
-- ones stay, for history and for explaining past decisions); a revocation marks the latest
-- version revoked. The policy in force is the latest version when it is not revoked.
create table policies (
    tenant       text null references tenants (name),
    policy_id    text not null check (policy_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    version      int not null check (version >= 1),
    source       text not null check (length(source) between 1 and 65536),
    created_at   timestamptz not null default now(),
    created_by   text not null,
    revoked_at   timestamptz null,
    revoked_by   text null
);
create unique index policies_versions on policies (coalesce(tenant, ''), policy_id, version);
