#!/usr/bin/env bash
# The main job (README's first set-up command): installs what is missing (Rust, Node.js with
# snarkjs, RabbitMQ, PostgreSQL) and starts the services, builds zkq, proves and verifies a
# circom fixture (checked by zkq and by snarkjs), then runs the job pipeline end to end: a
# circuit registered, a worker started, a few hundred jobs submitted over AMQP, results and
# cost per proof printed. FIXTURE=poseidon_merkle (or multi_public, mul_chain_4k) picks the
# circuit; JOBS=N the number of pipeline jobs (default 300).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ZKQ_ROOT"
ensure_toolchain
ensure_node_tools
bash "$ZKQ_ROOT/scripts/services.sh"
fixture="${FIXTURE:-mul_chain_4k}"
dir="fixtures/circuits/$fixture"
[ -d "$dir" ] || { log "no fixture $fixture under fixtures/circuits"; exit 2; }
log "building zkq (release)"
cargo build --release --locked --quiet -p zkq-cli
zkq="$CARGO_TARGET_DIR/release/zkq"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT

log "zkq zkey info $dir/circuit.zkey"
"$zkq" zkey info "$dir/circuit.zkey"
log "zkq prove (cold: one process, key loaded from disk), per-phase timings:"
"$zkq" prove "$dir/circuit.zkey" "$dir/witness.wtns" "$out/proof.json" "$out/public.json" --timings text
log "zkq verify"
"$zkq" verify "$dir/verification_key.json" "$out/public.json" "$out/proof.json"
log "snarkjs groth16 verify (independent check)"
tools/node/node_modules/.bin/snarkjs groth16 verify "$dir/verification_key.json" "$out/public.json" "$out/proof.json"
log "zkq prove-batch: 32 proofs with the key loaded once (warm)"
for i in $(seq 1 32); do cp "$dir/witness.wtns" "$out/w$i.wtns"; done
"$zkq" prove-batch "$dir/circuit.zkey" --out-dir "$out/batch" --batch-size 8 "$out"/w*.wtns

log "job pipeline: register tenant and circuit, start a worker, submit ${JOBS:-300} jobs over AMQP"
export ZKQ_KEY_DIR="${ZKQ_KEY_DIR:-$HOME/.local/share/zkq/keys}"
# The tenant gets its own broker user; the password is printed once, so the demo takes a fresh
# one (rotate-credentials) and submits as the tenant, through its own inbound exchange.
"$zkq" tenant add demo --weight 1 >/dev/null
tenant_url="$("$zkq" tenant rotate-credentials demo --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).amqp_url))')"
log "tenant demo: its own broker user (zkq tenant list), submitting with its credentials"
# Each proof of the circuit costs 0.001 ε of the tenant's "demo" privacy budget (docs/budgets.md).
"$zkq" circuit add "$dir/circuit.zkey" --name "$fixture" --epsilon 0.001
"$zkq" budget set --tenant demo --purpose demo --cap 100 --window calendar:day --reason "the demo's daily budget" >/dev/null
"$zkq" worker --max-batch 16 --max-wait-ms 20 2>"$out/worker.log" &
worker=$!
trap 'kill -TERM $worker 2>/dev/null || true; wait $worker 2>/dev/null || true; rm -rf "$out"' EXIT
ZKQ_AMQP_URL="$tenant_url" "$zkq" submit --tenant demo --circuit "$fixture" --purpose demo --repeat "${JOBS:-300}" "$dir/witness.wtns"
log "the last jobs, as stored in PostgreSQL (zkq jobs --tenant demo)"
"$zkq" jobs --tenant demo --limit 5
log "the tenant's privacy budget after the run: every proof charged, with a signed receipt (zkq budget show)"
"$zkq" budget show --tenant demo
log "stopping the worker (SIGTERM drains in-flight batches)"
kill -TERM $worker; wait $worker || true
tail -n 1 "$out/worker.log"
