#!/usr/bin/env bash
# Brings up the services zkq's job pipeline needs, on a fresh Debian 12 machine or an old one:
#
#   RabbitMQ   (Debian's rabbitmq-server, 3.10)  at 127.0.0.1:5672, user guest/guest
#   PostgreSQL (Debian's postgresql, 15)         at 127.0.0.1:5432, role zkq (password zkq),
#              databases zkq (the pipeline's) and zkq_test (the test suite's), owned by zkq
#
# Installs them with apt when missing, starts them when not running (with or without systemd),
# waits until both accept connections, enables the RabbitMQ feature flags quorum queues need,
# and creates the role and databases when missing. Re-runnable any number of times: it prints
# one line per action it takes, and a last line saying the services are ready.
#
# ZKQ_SERVICES_TIMEOUT (seconds, default 120) bounds each wait.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout_s="${ZKQ_SERVICES_TIMEOUT:-120}"
pg_port=5432
amqp_port=5672

die() { log "error: $*"; exit 1; }

have_systemd() { [ -d /run/systemd/system ]; }

# True when something accepts TCP connections on 127.0.0.1:$1.
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until <command…>: retries the command once a second until it succeeds or the
# timeout passes.
wait_until() {
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

# ---------------------------------------------------------------- PostgreSQL

apt_install postgresql

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$pg_port"; }

# The newest installed server version, and its clusters (`pg_lsclusters -h`: ver name port status …).
pg_version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
[ -n "$pg_version" ] || die "postgresql is installed but /usr/lib/postgresql has no server version"
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  log "creating PostgreSQL cluster $pg_version/main"
  as_root pg_createcluster "$pg_version" main --port "$pg_port" >/dev/null
fi
if ! pg_ready; then
  # Start every cluster that is down (normally just $pg_version/main).
  while read -r ver name _port status _rest; do
    case "$status" in online*) continue ;; esac
    log "starting PostgreSQL cluster $ver/$name"
    if have_systemd; then
      as_root systemctl start "postgresql@$ver-$name" || as_root pg_ctlcluster "$ver" "$name" start ||
        log "could not start PostgreSQL cluster $ver/$name (systemctl, pg_ctlcluster)"
    else
      as_root pg_ctlcluster "$ver" "$name" start || as_root service postgresql start ||
        log "could not start PostgreSQL cluster $ver/$name (pg_ctlcluster, service postgresql start)"
    fi
  done < <(pg_lsclusters -h)
fi
wait_until pg_ready ||
  die "PostgreSQL does not accept connections at 127.0.0.1:$pg_port after ${timeout_s}s (see /var/log/postgresql/)"

# Administrative SQL runs as the postgres superuser: over the Unix socket with peer
# authentication (Debian's default), or else over TCP where the local policy trusts it.
pg_admin_via_socket() { (cd / && as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"); }
pg_admin_via_tcp() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -w "$@"; }
if pg_admin_via_socket -Atc 'select 1' >/dev/null 2>&1; then
  psql_admin() { pg_admin_via_socket "$@"; }
elif pg_admin_via_tcp -Atc 'select 1' >/dev/null 2>&1; then
  psql_admin() { pg_admin_via_tcp "$@"; }
else
  die "cannot run SQL as the postgres superuser (tried runuser -u postgres -- psql, and psql -h 127.0.0.1 -U postgres)"
fi

role="$(psql_admin -Atc "select rolcanlogin::int::text || rolcreatedb::int::text from pg_roles where rolname = 'zkq'")"
if [ -z "$role" ]; then
  log "creating PostgreSQL role zkq (LOGIN CREATEDB, password zkq)"
  psql_admin -c "create role zkq login createdb password 'zkq'"
elif [ "$role" != 11 ]; then
  log "granting LOGIN CREATEDB to PostgreSQL role zkq"
  psql_admin -c "alter role zkq login createdb"
fi
for db in zkq zkq_test; do
  owner="$(psql_admin -Atc "select pg_get_userbyid(datdba) from pg_database where datname = '$db'")"
  if [ -z "$owner" ]; then
    log "creating PostgreSQL database $db owned by zkq"
    psql_admin -c "create database $db owner zkq"
  elif [ "$owner" != zkq ]; then
    log "making zkq the owner of PostgreSQL database $db (was $owner)"
    psql_admin -c "alter database $db owner to zkq"
  fi
done
PGPASSWORD=zkq PGCONNECT_TIMEOUT=10 psql -X -q -h 127.0.0.1 -p "$pg_port" -U zkq -d zkq -Atc 'select 1' >/dev/null ||
  die "role zkq cannot log in to database zkq at 127.0.0.1:$pg_port with password zkq (check pg_hba.conf)"

# ---------------------------------------------------------------- RabbitMQ

apt_install rabbitmq-server

# rabbitmqctl talks to the node with the rabbitmq user's Erlang cookie: run it as root (the
# Debian wrapper switches to the rabbitmq user).
rmqctl() { as_root timeout 60 rabbitmqctl "$@"; }
rmq_ready() { tcp_open "$amqp_port" && as_root timeout 30 rabbitmq-diagnostics -q check_port_connectivity; }

if ! tcp_open "$amqp_port"; then
  log "starting RabbitMQ"
  if have_systemd; then
    as_root systemctl start rabbitmq-server || log "could not start RabbitMQ (systemctl start rabbitmq-server)"
  elif ! as_root service rabbitmq-server start >/dev/null 2>&1; then
    log "service rabbitmq-server start failed; starting it with rabbitmq-server -detached"
    as_root rabbitmq-server -detached || log "could not start RabbitMQ (rabbitmq-server -detached)"
  fi
fi
# The node first answers rabbitmqctl, then boots the broker, then opens its listeners.
wait_until rmqctl -q await_startup ||
  die "RabbitMQ did not start within ${timeout_s}s (see /var/log/rabbitmq/)"
wait_until rmq_ready ||
  die "RabbitMQ does not accept AMQP connections at 127.0.0.1:$amqp_port after ${timeout_s}s (see /var/log/rabbitmq/)"

# Quorum queues (and their delivery limit) need the quorum_queue feature flag; a node upgraded
# from an older RabbitMQ may have it (and others) disabled.
if rmqctl -q list_feature_flags name state | awk '$2 == "disabled" { found = 1 } END { exit !found }'; then
  log "enabling RabbitMQ feature flags: $(rmqctl -q list_feature_flags name state | awk '$2 == "disabled" { printf "%s ", $1 }')"
  rmqctl -q enable_feature_flag all >/dev/null
fi
rmqctl -q list_feature_flags name state | grep -Eq '^quorum_queue[[:space:]]+enabled' ||
  die "RabbitMQ's quorum_queue feature flag is not enabled"

# Tenants' broker users are created through the management HTTP API (`zkq tenant add`); the
# plugin ships with Debian's rabbitmq-server and is enabled on the running node.
mgmt_port=15672
if ! tcp_open "$mgmt_port"; then
  log "enabling RabbitMQ's management plugin (tenants' broker users are made through it)"
  as_root timeout 120 rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null ||
    die "could not enable rabbitmq_management (rabbitmq-plugins enable rabbitmq_management)"
fi
wait_until tcp_open "$mgmt_port" ||
  die "RabbitMQ's management API does not listen on 127.0.0.1:$mgmt_port after ${timeout_s}s"

log "services ready: PostgreSQL 127.0.0.1:$pg_port (role zkq, databases zkq and zkq_test), RabbitMQ 127.0.0.1:$amqp_port (management API :$mgmt_port)"
