#!/usr/bin/env bash
# Inclusion proofs served from a transparency log of N entries (default 10,000,000), end to end:
# `zkq serve` (release) over HTTP, PostgreSQL holding the log's perfect subtrees (log_nodes).
#
#   bash bench/log-at-scale.sh [N] [REQUESTS]
#
# Builds the log in its own schema (`bench_log`, dropped first) of the `zkq` database, entirely
# in SQL: leaf i is sha256(0x00 || int8send(i)) and each level is hashed from the one below as
# RFC 6962 §2.1 says (node = sha256(0x01 || left || right)), so the tables hold exactly what
# appends would have stored. Then it starts `zkq serve` on that schema, gets a token and asks
# REQUESTS inclusion proofs of random entries in the full tree, timing each request (one
# connection per request, as a simple client does), and checks every answered proof against the
# root the database computed. Prints median, p90, p99 and max in ms, the CPU and the load.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
N="${1:-10000000}"
REQUESTS="${2:-1000}"
ZKQ_BIN="${ZKQ_BIN:-$CARGO_TARGET_DIR/release/zkq}"
[ -x "$ZKQ_BIN" ] || { echo "build it first: cargo build --release -p zkq-cli --no-default-features" >&2; exit 2; }
PG_BASE="host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq"
export ZKQ_PG_URL="$PG_BASE options=-csearch_path=bench_log"
PY="${ZKQ_PYTHON:-python3}"
scratch="$(mktemp -d)"
trap 'kill "${serve_pid:-}" 2>/dev/null || true; rm -rf "$scratch"' EXIT

psql "$PG_BASE" -qc "set client_min_messages = warning; drop schema if exists bench_log cascade; create schema bench_log"
secret="$("$ZKQ_BIN" auth client add bench --scope audit:read --format json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"
log "building a log of $N entries in SQL (schema bench_log)"
start=$(date +%s)
psql "$ZKQ_PG_URL" -v ON_ERROR_STOP=1 -q <<SQL
set search_path = bench_log;
set maintenance_work_mem = '1GB';
set work_mem = '512MB';
alter table log_nodes set unlogged;
insert into log_nodes (level, idx, hash)
  select 0, i, sha256('\x00'::bytea || int8send(i)) from generate_series(0, $N - 1) i;
do \$\$
declare l int := 0; n bigint := $N;
begin
  while n > 1 loop
    insert into log_nodes (level, idx, hash)
      select l + 1, a.idx / 2, sha256('\x01'::bytea || a.hash || b.hash)
      from log_nodes a join log_nodes b on b.level = l and b.idx = a.idx + 1
      where a.level = l and a.idx % 2 = 0;
    n := n / 2; l := l + 1;
  end loop;
end \$\$;
update log_head set tree_size = $N;
analyze log_nodes;
SQL
log "built in $(( $(date +%s) - start )) s: $(psql "$ZKQ_PG_URL" -tAc "select count(*) from log_nodes") nodes, $(psql "$ZKQ_PG_URL" -tAc "select pg_size_pretty(pg_total_relation_size('bench_log.log_nodes'))")"

"$ZKQ_BIN" serve --listen 127.0.0.1:0 --key-dir "$scratch/keys" 2>"$scratch/serve.log" &
serve_pid=$!
for _ in $(seq 100); do grep -q "http://" "$scratch/serve.log" 2>/dev/null && break; sleep 0.1; done
addr="$(grep -o 'http://[0-9.:]*' "$scratch/serve.log" | head -1)"
log "zkq serve at $addr; $REQUESTS inclusion proofs of random entries in the tree of size $N"
"$PY" - "$addr" "$secret" "$N" "$REQUESTS" <<'PY'
import base64, hashlib, json, random, statistics, sys, time, urllib.parse, urllib.request
addr, secret, n, requests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "bench", "client_secret": secret}).encode()
tok = json.load(urllib.request.urlopen(urllib.request.Request(addr + "/oauth/token", data=body)))["access_token"]
H = lambda b: hashlib.sha256(b).digest()
def verify(leaf, index, size, proof):  # RFC 9162 §2.1.3.2, returns the root
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if fn & 1 or fn == sn:
            r = H(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = H(b"\x01" + r + p)
        fn >>= 1; sn >>= 1
    assert sn == 0
    return r
rng = random.Random(20261203)
times, roots = [], set()
for _ in range(requests):
    i = rng.randrange(n)
    req = urllib.request.Request(f"{addr}/v1/log/proof/inclusion?index={i}&tree_size={n}", headers={"Authorization": "Bearer " + tok})
    t = time.perf_counter()
    answer = json.load(urllib.request.urlopen(req))
    times.append((time.perf_counter() - t) * 1e3)
    proof = [base64.b64decode(h) for h in answer["hashes"]]
    roots.add(verify(H(b"\x00" + i.to_bytes(8, "big", signed=True)), i, n, proof))
assert len(roots) == 1, "proofs of different entries lead to different roots"
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
print(f"inclusion proofs, log of {n:,} entries, {requests} requests over HTTP: median {statistics.median(times):.2f} ms, "
      f"p90 {q(0.90):.2f} ms, p99 {q(0.99):.2f} ms, max {times[-1]:.2f} ms; every proof verified to one root {roots.pop().hex()[:16]}…")
PY
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) vCPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
psql "$PG_BASE" -qc "set client_min_messages = warning; drop schema bench_log cascade"
