#!/usr/bin/env bash
# Each aarch64 NEON micro-kernel's inner loop, from the built probe, through llvm-mca's
# models of Cortex-A53, Cortex-A55, Cortex-A72 and Neoverse N1: one JSON list on
# stdout (DESIGN.md's contract; scripts/mca_kernels.py says how the loop is found and
# what the bound is).
#   scripts/mca-kernels.sh [--check]
# --check: exit 1 when a variant the probe dispatches on cortex-a72 or neoverse-n1
# keeps less of the multiply-accumulate stream bound than datasets/mca_floors.toml.
# Installs llvm-19 and qemu-user-static on Debian when run as root; builds the arm64
# probe (with its symbols) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v llvm-mca-19 >/dev/null || need+=(llvm-19)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: apt-get install ${need[*]}" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
probe=target/aarch64-unknown-linux-musl/probe/fleetscope-probe
[ -x "$probe" ] || bash scripts/build-probes.sh arm64-v8a >&2
exec python3 scripts/mca_kernels.py "$probe" "$@"
