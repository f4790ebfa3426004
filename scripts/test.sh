#!/usr/bin/env bash
# The test command (README's second set-up command; .ci/run calls it). Installs what is
# missing (Rust, a C compiler, Node.js with the pinned snarkjs, Mesa's lavapipe Vulkan driver for
# the wgpu backend), then runs every test.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ZKQ_ROOT"
ensure_toolchain
ensure_node_tools
ensure_vulkan
bash "$ZKQ_ROOT/scripts/services.sh"
log "cargo $(cargo --version | cut -d' ' -f2), node $(node --version), target dir $CARGO_TARGET_DIR"
log "checking that benches and binaries compile"
cargo check --workspace --all-targets --locked --quiet
log "running the tests"
cargo test --workspace --locked
