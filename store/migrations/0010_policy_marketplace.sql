-- zkq schema, version 10: the policy marketplace, policy telemetry and admission decisions
-- (issue 19; queries in policy/src/pg/, docs/policy.md and docs/policy-catalog.md).

-- A tenant's tier: a free label the operator sets (`zkq tenant add --tier`); policies read it
-- as `principal.tier`.
alter table tenants add column tier text not null default '' check (tier ~ '^[A-Za-z0-9._-]{0,32}$');

-- Templates of the marketplace, one row per (id, version). The curated catalog ships in the zkq
-- binary; a template enters this table when someone submits it for review. `spec` is the
-- template as submitted (Cedar text, typed parameters); `spec_sha256` its digest, so a changed
-- template can never pass as the reviewed one. Review states: draft → in_review → published →
-- deprecated (in_review → draft when a reviewer rejects it).
create table policy_templates (
    template_id   text not null check (template_id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    version       text not null check (version ~ '^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$'),
    author        text not null check (length(author) between 1 and 64),
    spec          jsonb not null,
    spec_sha256   text not null check (spec_sha256 ~ '^[0-9a-f]{64}$'),
    state         text not null default 'draft' check (state in ('draft', 'in_review', 'published', 'deprecated')),
    created_at    timestamptz not null default now(),
    state_at      timestamptz not null default now(),
    state_by      text not null,
    primary key (template_id, version)
);

-- Reviews: who, what verdict, notes, when. Never updated or deleted.
create table policy_template_reviews (
    id            bigserial primary key,
    template_id   text not null,
    version       text not null,
    reviewer      text not null check (length(reviewer) between 1 and 64),
    verdict       text not null check (verdict in ('approve', 'reject')),
    notes         text not null default '' check (length(notes) <= 4000),
    spec_sha256   text not null,
    reviewed_at   timestamptz not null default now(),
    foreign key (template_id, version) references policy_templates (template_id, version)
);
create index policy_template_reviews_template on policy_template_reviews (template_id, version, id);

-- The review gate, in the database so that no client (the CLI included) can go around it:
-- a review is only of a template in review, never by its author, and of the spec under review;
-- a template is published only when its latest review is an approval by someone other than
-- its author, of the spec as it is now.
create function policy_review_gate() returns trigger language plpgsql as $$
declare t policy_templates;
begin
    select * into t from policy_templates where template_id = new.template_id and version = new.version for update;
    if t.state <> 'in_review' then
        raise exception 'template %@% is %, not in_review: only a template in review can be reviewed', new.template_id, new.version, t.state
            using errcode = 'ZQ001';
    end if;
    if new.reviewer = t.author then
        raise exception 'template %@% was written by %: its author cannot review it', new.template_id, new.version, t.author
            using errcode = 'ZQ002';
    end if;
    if new.spec_sha256 <> t.spec_sha256 then
        raise exception 'template %@% changed since it was submitted: review the current spec', new.template_id, new.version
            using errcode = 'ZQ003';
    end if;
    return new;
end $$;
create trigger policy_review_gate before insert on policy_template_reviews
    for each row execute function policy_review_gate();

create function policy_template_transition() returns trigger language plpgsql as $$
declare last policy_template_reviews;
begin
    if new.spec_sha256 <> old.spec_sha256 and old.state <> 'draft' then
        raise exception 'template %@% is %: its spec can change only as a draft', old.template_id, old.version, old.state
            using errcode = 'ZQ004';
    end if;
    if new.state = old.state then
        return new;
    end if;
    if not ((old.state = 'draft' and new.state = 'in_review')
         or (old.state = 'in_review' and new.state in ('draft', 'published'))
         or (old.state = 'published' and new.state = 'deprecated')) then
        raise exception 'template %@% cannot go from % to %', old.template_id, old.version, old.state, new.state
            using errcode = 'ZQ005';
    end if;
    if new.state = 'published' then
        select * into last from policy_template_reviews
            where template_id = old.template_id and version = old.version order by id desc limit 1;
        if last.id is null or last.verdict <> 'approve' or last.reviewer = old.author or last.spec_sha256 <> new.spec_sha256 then
            raise exception 'template %@% has no approving review by someone other than its author (%): it cannot be published',
                old.template_id, old.version, old.author
                using errcode = 'ZQ006';
        end if;
    end if;
    new.state_at := now();
    return new;
end $$;
create trigger policy_template_transition before update on policy_templates
    for each row execute function policy_template_transition();

create function policy_template_insert() returns trigger language plpgsql as $$
begin
    if new.state <> 'draft' then
        raise exception 'template %@% must enter the marketplace as a draft', new.template_id, new.version
            using errcode = 'ZQ005';
    end if;
    return new;
end $$;
create trigger policy_template_insert before insert on policy_templates
    for each row execute function policy_template_insert();

-- A policy linked from a template names it; only a published template can be linked.
alter table policies add column template_id text null;
alter table policies add column template_version text null;
alter table policies add column params jsonb null;
alter table policies add constraint policies_template
    foreign key (template_id, template_version) references policy_templates (template_id, version);
alter table policies add constraint policies_template_both
    check ((template_id is null) = (template_version is null) and (template_id is null) = (params is null));

create function policy_link_gate() returns trigger language plpgsql as $$
declare s text;
begin
    if new.template_id is null then
        return new;
    end if;
    select state into s from policy_templates where template_id = new.template_id and version = new.template_version;
    if s is distinct from 'published' then
        raise exception 'template %@% is %: only a published template can be linked', new.template_id, new.template_version, coalesce(s, 'unknown')
            using errcode = 'ZQ007';
    end if;
    return new;
end $$;
create trigger policy_link_gate before insert on policies
    for each row execute function policy_link_gate();

-- Telemetry: decisions each policy version produced, per day, flushed by workers. `tenant` ''
-- for a shared policy. A decision counts for every policy that decided it (Cedar's reasons).
create table policy_decision_counts (
    tenant          text not null,
    policy_id       text not null,
    policy_version  int not null,
    day             date not null,
    allows          bigint not null default 0 check (allows >= 0),
    denies          bigint not null default 0 check (denies >= 0),
    primary key (tenant, policy_id, policy_version, day)
);

-- Every admission decision a job got is part of its stored result message
-- (`job_results.result -> 'policy'`: effect, deciding policies, caps, and the explanation as a
-- string key with arguments, rendered in English or Spanish when read: `zkq policy explain`).

-- Out of the box every tenant may prove (as before policies existed): one shared permit, which
-- an operator revokes (`zkq policy revoke --shared default-allow`) for deny-by-default.
insert into policies (tenant, policy_id, version, source, created_by)
values (null, 'default-allow', 1,
        '@reason_en("zkq''s default policy lets every registered tenant prove; an operator can revoke it")
@reason_es("la política por defecto de zkq permite probar a todo inquilino registrado; un operador puede revocarla")
permit(principal, action == Action::"Prove", resource);',
        'zkq migration 0010');
