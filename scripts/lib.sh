# Shared helpers for zkq's scripts: find or install what a fresh Debian 12 machine lacks.
# Sourced, not run. Every install step says what it does, and only runs when needed.

set -euo pipefail

ZKQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Build outputs live outside the clone so repeated (and CI) runs reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkq/target}"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing with apt: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_toolchain() {
  command -v cc >/dev/null && command -v curl >/dev/null || apt_install build-essential pkg-config curl ca-certificates
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] || {
      log "installing Rust (rustup, minimal profile)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
    }
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
}

# A Vulkan driver for the WebGPU backend's tests: Mesa's lavapipe runs Vulkan compute on the
# CPU, so the wgpu kernels are tested on every machine (their tests fail without an adapter
# unless ZKQ_WGPU_TESTS=skip). The Vulkan loader wants a runtime directory.
ensure_vulkan() {
  apt_install mesa-vulkan-drivers libvulkan1
  if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
    export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/zkq-runtime-$(id -u)"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  fi
}

# Chromium and its WebDriver server for the admin pages' browser test (server/tests/admin_browser.rs
# drives a real headless Chromium through chromedriver). Debian installs them as /usr/bin/chromium
# and /usr/bin/chromedriver, the paths the test uses (ZKQ_CHROMIUM, ZKQ_CHROMEDRIVER override).
ensure_chromium() {
  apt_install chromium chromium-driver
}

# snarkjs, circom2 and circomlib, pinned in tools/node/package-lock.json.
ensure_node_tools() {
  local stamp="$ZKQ_ROOT/tools/node/node_modules/.zkq-lock-sha"
  local want; want="$(sha256sum "$ZKQ_ROOT/tools/node/package-lock.json" | cut -d' ' -f1)"
  if [ ! -x "$ZKQ_ROOT/tools/node/node_modules/.bin/snarkjs" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing snarkjs and circom2 (npm ci in tools/node)"
    (cd "$ZKQ_ROOT/tools/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
  fi
}

# NVRTC (NVIDIA's run-time CUDA compiler) from PyPI's `nvidia-cuda-nvrtc` wheel, pinned to the
# 13.0 series: the GPU machines run driver 580 (CUDA 13.0), and a newer NVRTC may emit code their
# driver cannot load. CI needs no GPU and no CUDA toolkit: the tests compile every CUDA kernel with
# this library for sm_90 (which also runs ptxas). Downloaded with curl from PyPI (no pip needed),
# checked against the sha256 PyPI's simple index gives, unpacked under ~/.cache/zkq/nvrtc; its lib directory (which also
# holds libnvrtc-builtins) goes on LD_LIBRARY_PATH.
ZKQ_NVRTC_VERSION="13.0.88"
ensure_nvrtc() {
  local dir="${ZKQ_NVRTC_DIR:-$HOME/.cache/zkq/nvrtc/$ZKQ_NVRTC_VERSION}"
  if [ ! -f "$dir/nvidia/cu13/lib/libnvrtc.so.13" ]; then
    command -v python3 >/dev/null || apt_install python3
    log "downloading NVRTC $ZKQ_NVRTC_VERSION (PyPI nvidia-cuda-nvrtc, about 90 MB)"
    local meta url sha tmp
    meta="$(curl -fsSL -H 'Accept: application/vnd.pypi.simple.v1+json' https://pypi.org/simple/nvidia-cuda-nvrtc/)"
    read -r url sha < <(printf '%s' "$meta" | ZKQ_V="$ZKQ_NVRTC_VERSION" python3 -c '
import json, os, sys
files = json.load(sys.stdin)["files"]
name = "nvidia_cuda_nvrtc-" + os.environ["ZKQ_V"] + "-"
wheel = [f for f in files if f["filename"].startswith(name) and f["filename"].endswith("x86_64.whl")][0]
print(wheel["url"], wheel["hashes"]["sha256"])')
    tmp="$(mktemp -d)"
    curl -fsSL -o "$tmp/nvrtc.whl" "$url"
    echo "$sha  $tmp/nvrtc.whl" | sha256sum -c --quiet
    mkdir -p "$dir"
    python3 -m zipfile -e "$tmp/nvrtc.whl" "$dir"
    rm -rf "$tmp"
  fi
  export ZKQ_NVRTC_LIB="$dir/nvidia/cu13/lib"
  export LD_LIBRARY_PATH="$ZKQ_NVRTC_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# Python for the tests that run Python: pika and jsonschema for the example client
# (examples/python), cryptography for the sample auditor client (examples/auditor), schemathesis
# for the auditor API's conformance and fuzz test (server/tests). One virtual environment
# outside the clone (like the build outputs), re-made when any requirements file changes.
ensure_python_tools() {
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  local venv="${ZKQ_PYENV:-$HOME/.cache/zkq/pyenv}"
  local reqs=("$ZKQ_ROOT/examples/python/requirements.txt" "$ZKQ_ROOT/examples/auditor/requirements.txt" "$ZKQ_ROOT/server/tests/requirements.txt")
  local want; want="$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.zkq-req-sha" 2>/dev/null)" != "$want" ]; then
    log "installing the tests' Python packages (pika, jsonschema, cryptography, schemathesis; venv at $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv" || { apt_install python3-venv && rm -rf "$venv" && python3 -m venv "$venv"; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${reqs[@]/#/-r}"
    echo "$want" >"$venv/.zkq-req-sha"
  fi
  export ZKQ_PYTHON="$venv/bin/python"
}
