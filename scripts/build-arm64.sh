#!/usr/bin/env bash
# Build the static aarch64 on-device probe (a thin wrapper: scripts/build-probes.sh
# builds every ABI). Writes target/probes/arm64-v8a/fleetscope-probe and leaves
# target/aarch64-unknown-linux-musl/probe/fleetscope-probe where it always was.
# (For a bionic build that can also dlopen the GPU libraries, see README: cargo-ndk.)
set -euo pipefail
exec bash "$(dirname "$0")/build-probes.sh" arm64-v8a
