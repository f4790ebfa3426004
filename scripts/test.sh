#!/usr/bin/env bash
# The test command (README's second set-up command; .ci/run calls it). Installs what is
# missing (Rust, a C compiler, Node.js with the pinned snarkjs, Python with pika and jsonschema
# for the example client, NVRTC 13.0 for the CUDA kernel
# compile checks, Mesa's lavapipe Vulkan driver for the wgpu backend, Chromium and chromedriver
# for the admin pages' browser test), then runs every test.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ZKQ_ROOT"
ensure_toolchain
ensure_node_tools
ensure_python_tools
ensure_nvrtc
ensure_vulkan
ensure_chromium
bash "$ZKQ_ROOT/scripts/services.sh"
log "cargo $(cargo --version | cut -d' ' -f2), node $(node --version), target dir $CARGO_TARGET_DIR"
# Every target (libraries, binaries, tests, benches) is compiled ONCE, in the test profile, and
# the test run reuses it: a separate `cargo check` would compile polars (zkq-finops) a second
# time, in metadata mode, for nothing (polars alone is ~10 min of a cold 2-core build).
log "building every target once (benches and binaries included)"
cargo test --workspace --all-targets --locked --no-run --quiet
log "running the tests (every suite, even after one fails)"
# --no-fail-fast: one failing suite never hides the others. The closing line counts every
# suite's `test result:` line, so a failure anywhere shows in the one summary at the end.
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
set -e
echo "total: $(awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1); if ($(i) ~ /^ignored;?$/) s += $(i-1) } }
  END { printf "%d passed, %d failed, %d skipped", p, f, s }' "$results")"
exit "$status"
