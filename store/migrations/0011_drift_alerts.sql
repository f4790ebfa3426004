-- zkq schema, version 11: drift alerts (issue 21; queries in drift/src/pg.rs, docs/drift.md).
--
-- One row per change `zkq drift watch --record` found in a recorded series: which series and
-- scope (tenant, circuit, device), which way, the detectors that agreed, the observation that
-- raised it (its time and value), and the playbook to open. (series, scope, observed_at) is
-- unique: watching the same window again raises nothing twice.
create table drift_alerts (
    id           bigserial primary key,
    series       text not null check (series ~ '^[a-z0-9_]{1,64}$'),
    scope        text not null check (length(scope) between 0 and 512),
    direction    text not null check (direction in ('up', 'down')),
    detectors    text[] not null check (cardinality(detectors) >= 1),
    observed_at  timestamptz not null,
    value        double precision not null,
    statistic    double precision not null,
    playbook     text not null,
    raised_at    timestamptz not null default now(),
    unique (series, scope, observed_at)
);
create index drift_alerts_raised_at on drift_alerts (raised_at desc);
