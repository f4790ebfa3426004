-- Operators of the admin pages (`zkq serve`, crate zkq-server) and their login sessions.
--
-- operators: one row per operator account, created by `zkq operator add`. `password_hash` is an
-- argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`); the password itself is stored
-- nowhere. `zkq operator remove` sets `disabled_at` (and deletes the operator's sessions)
-- instead of deleting the row, so a name that appears as the actor of budget receipts keeps
-- meaning one person; `zkq operator add` of a removed name enables it again with a new password.
-- Names: 1-64 characters of letters, digits and `._@-` (they appear in receipts and logs).
create table operators (
    name           text primary key check (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    password_hash  text not null,
    created_at     timestamptz not null default now(),
    disabled_at    timestamptz
);

-- operator_sessions: one row per logged-in browser. The session cookie holds a random 256-bit
-- token; only its sha256 (lowercase hex) is stored, so a copy of this table logs nobody in.
-- `csrf_token` is the session's synchronizer token (random, 256 bits, hex): every form of the
-- admin pages carries it in a hidden field and every POST must present it. A session is valid
-- while `expires_at` is in the future and its operator is not disabled; logout deletes the row,
-- and expired rows are deleted at the next login.
create table operator_sessions (
    token_sha256  text primary key check (token_sha256 ~ '^[0-9a-f]{64}$'),
    operator      text not null references operators (name) on delete cascade,
    csrf_token    text not null check (length(csrf_token) >= 32),
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null
);
create index operator_sessions_operator on operator_sessions (operator);
create index operator_sessions_expires_at on operator_sessions (expires_at);
