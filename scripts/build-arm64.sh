#!/usr/bin/env bash
# Build the static aarch64 on-device probe:
#   target/aarch64-unknown-linux-musl/probe/fleetscope-probe
# It runs on aarch64 Linux and, being static, under `adb shell` on Android too.
# musl keeps the static binary small (glibc static is ~0.6 MB larger).
# (For a bionic build that can also dlopen the GPU libraries, see README: cargo-ndk.)
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add aarch64-unknown-linux-musl >/dev/null
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  else
    echo "aarch64-linux-gnu-gcc not found: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
    exit 1
  fi
fi

# .cargo/config.toml sets the linker and +crt-static for this target.
cargo build --profile probe --locked --target aarch64-unknown-linux-musl --no-default-features --bin fleetscope-probe
bin=target/aarch64-unknown-linux-musl/probe/fleetscope-probe
echo "built $bin ($(stat -c %s "$bin") bytes, $(file -b "$bin" | cut -d, -f1-2))"
