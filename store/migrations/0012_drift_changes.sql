-- zkq schema, version 12: changes, predictions and their outcomes (issue 21; queries in
-- drift/src/pg/changes.rs, docs/drift.md "Prediction").
--
-- * change_events: everything that can move cost, latency or failures, recorded when it happens.
--   Prices, shared costs, policy versions (and revocations) and circuit registrations are
--   recorded by the triggers below, whoever writes them; worker configuration and prover
--   versions (with the Cargo.lock's library versions) by each worker when it starts, once per
--   fleet (device type and region) and value; anything else by `zkq drift changes record`.
-- * drift_predictions: for each change and series, the shift the predictor expected before it
--   was observed (from the simulator's replay and from past changes of the same kind), whether
--   that raised a preemptive alert, and later what was observed and the outcome.
-- * drift_thresholds: the alerting threshold per change kind and series the feedback loop
--   adjusts (absent: the documented default).
create table change_events (
    id           bigserial primary key,
    kind         text not null check (kind in ('prover_version', 'worker_config', 'policy', 'price', 'shared_cost', 'circuit')),
    subject      text not null check (length(subject) between 1 and 512),
    before       jsonb null,
    after        jsonb not null,
    features     jsonb not null default '{}'::jsonb,
    source       text not null check (source in ('trigger', 'worker', 'cli')),
    actor        text null,
    occurred_at  timestamptz not null default now()
);
create index change_events_occurred_at on change_events (occurred_at);
create index change_events_kind_subject on change_events (kind, subject, id desc);

create table drift_predictions (
    id               bigserial primary key,
    change_id        bigint not null references change_events (id),
    series           text not null check (series ~ '^[a-z0-9_]{1,64}$'),
    method           text not null check (method in ('simulator', 'history', 'simulator+history', 'none')),
    predicted_shift  double precision null,
    simulator_shift  double precision null,
    history_shift    double precision null,
    history_n        int not null default 0 check (history_n >= 0),
    threshold        double precision not null check (threshold > 0),
    alerted          boolean not null,
    detail           jsonb not null default '{}'::jsonb,
    predicted_at     timestamptz not null default now(),
    observed_shift   double precision null,
    observed_before  int null,
    observed_after   int null,
    outcome          text null check (outcome in ('true_positive', 'false_positive', 'false_negative', 'true_negative', 'no_data')),
    evaluated_at     timestamptz null,
    unique (change_id, series)
);
create index drift_predictions_pending on drift_predictions (predicted_at) where outcome is null;

create table drift_thresholds (
    kind        text not null,
    series      text not null,
    threshold   double precision not null check (threshold > 0),
    reason      text not null,
    updated_at  timestamptz not null default now(),
    primary key (kind, series)
);

-- Predicted alerts share drift_alerts with observed ones: `kind` says which, `change_id` names
-- the change a predicted alert is about.
alter table drift_alerts add column kind text not null default 'observed' check (kind in ('observed', 'predicted'));
alter table drift_alerts add column change_id bigint null references change_events (id);

-- A price row: the per-device hourly price before and after, for that device type.
create function zkq_change_on_price() returns trigger language plpgsql as $$
declare
    prev record;
begin
    select usd_per_hour, devices_per_instance, id into prev from prices
     where device_type = new.device_type and id <> new.id and valid_from <= new.valid_from
     order by valid_from desc, id desc limit 1;
    insert into change_events (kind, subject, before, after, features, source, occurred_at)
    values ('price', new.device_type,
            case when prev is null then null
                 else jsonb_build_object('price_id', prev.id, 'usd_per_device_hour', prev.usd_per_hour / prev.devices_per_instance) end,
            jsonb_build_object('price_id', new.id, 'usd_per_device_hour', new.usd_per_hour / new.devices_per_instance,
                               'region', new.region, 'instance_type', new.instance_type, 'valid_from', new.valid_from),
            case when prev is null or prev.usd_per_hour = 0 then '{}'::jsonb
                 else jsonb_build_object('relative_change',
                      (new.usd_per_hour / new.devices_per_instance) / (prev.usd_per_hour / prev.devices_per_instance) - 1) end,
            'trigger', greatest(now(), new.valid_from));
    return null;
end $$;
create trigger prices_change_event after insert on prices for each row execute function zkq_change_on_price();

create function zkq_change_on_shared_cost() returns trigger language plpgsql as $$
declare
    prev numeric;
begin
    select usd_per_hour into prev from shared_costs
     where component = new.component and region is not distinct from new.region and id <> new.id and valid_from <= new.valid_from
     order by valid_from desc, id desc limit 1;
    insert into change_events (kind, subject, before, after, source, occurred_at)
    values ('shared_cost', new.component || coalesce('@' || new.region, ''),
            case when prev is null then null else jsonb_build_object('usd_per_hour', prev) end,
            jsonb_build_object('usd_per_hour', new.usd_per_hour), 'trigger', greatest(now(), new.valid_from));
    return null;
end $$;
create trigger shared_costs_change_event after insert on shared_costs for each row execute function zkq_change_on_shared_cost();

-- A policy version or a revocation: whose set it changes and the version.
create function zkq_change_on_policy() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' and (old.revoked_at is not distinct from new.revoked_at) then
        return null;
    end if;
    insert into change_events (kind, subject, before, after, features, source, actor)
    values ('policy', coalesce(new.tenant, '*') || '/' || new.policy_id,
            case when tg_op = 'INSERT' and new.version > 1 then jsonb_build_object('version', new.version - 1)
                 when tg_op = 'UPDATE' then jsonb_build_object('version', new.version) else null end,
            jsonb_build_object('version', new.version, 'revoked', new.revoked_at is not null),
            jsonb_build_object('tenant', new.tenant, 'shared', new.tenant is null,
                               'operation', case when tg_op = 'UPDATE' then 'revoke' when new.version = 1 then 'create' else 'update' end),
            'trigger', coalesce(new.revoked_by, new.created_by));
    return null;
end $$;
create trigger policies_change_event after insert or update on policies for each row execute function zkq_change_on_policy();

create function zkq_change_on_circuit() returns trigger language plpgsql as $$
begin
    insert into change_events (kind, subject, after, features, source)
    values ('circuit', new.name || '@v' || new.version,
            jsonb_build_object('circuit_id', new.id, 'n_constraints', new.n_constraints, 'domain_size', new.domain_size,
                               'zkey_bytes', new.zkey_bytes),
            jsonb_build_object('n_constraints', new.n_constraints), 'trigger');
    return null;
end $$;
create trigger circuits_change_event after insert on circuits for each row execute function zkq_change_on_circuit();
