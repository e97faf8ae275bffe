#!/usr/bin/env bash
# The README's test command: install what the tests need on a fresh machine, start
# the services they use, and run the whole test suite (debug build; benchmarks are
# not part of it).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# Real GPU API libraries for the identification tests: Mesa's CPU Vulkan driver and PoCL.
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ "$(uname -m)" != x86_64 ] || need_apt+=(libvulkan1 mesa-vulkan-drivers)
[ -e /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 ] || [ "$(uname -m)" != x86_64 ] || need_apt+=(ocl-icd-libopencl1 pocl-opencl-icd)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (install them, or run as root)" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

if [ ! -d ../shared/datasets ] && [ -z "${FLEETSCOPE_SHARED:-}" ]; then
  echo "note: ../shared/datasets is absent; tests that need the device snapshots will say SKIPPED" >&2
fi

cargo test --locked --all-targets
