#!/usr/bin/env bash
# The main job (README's first set-up command): installs what is missing, builds zkq, proves
# and verifies a circom fixture (checked by zkq and by snarkjs), proves a warm batch, and
# prints the timings. FIXTURE=poseidon_merkle (or multi_public, mul_chain_4k) picks another.
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
