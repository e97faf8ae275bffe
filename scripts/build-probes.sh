#!/usr/bin/env bash
# Build the static, stripped on-device probe for every ABI Android has shipped:
#   target/probes/<abi>/fleetscope-probe     abi: arm64-v8a armeabi-v7a x86_64 x86
#   scripts/build-probes.sh [ABI...]         default: all four
# Installs what it needs on a Debian machine (rustup targets, cross linkers).
# `fleetscope run` finds them there (or pass --probe-dir target/probes).
#
# armeabi-v7a is built against static glibc, not musl: Rust 1.95 ships no standard
# library for armv7-unknown-linux-musleabihf (its channel manifest says
# `available = false`). A static binary needs no loader, so it runs on Android alike.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A triple=(
  [arm64-v8a]=aarch64-unknown-linux-musl
  [armeabi-v7a]=armv7-unknown-linux-gnueabihf
  [x86_64]=x86_64-unknown-linux-musl
  [x86]=i686-unknown-linux-musl
)
declare -A linker=(
  [arm64-v8a]="aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  [armeabi-v7a]="arm-linux-gnueabihf-gcc gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
  [x86_64]="cc gcc"
  [x86]="i686-linux-gnu-gcc gcc-i686-linux-gnu libc6-dev-i386-cross"
)
abis=("$@")
[ ${#abis[@]} -gt 0 ] || abis=(arm64-v8a armeabi-v7a x86_64 x86)

for abi in "${abis[@]}"; do
  t=${triple[$abi]:-}
  [ -n "$t" ] || { echo "unknown ABI $abi: use arm64-v8a, armeabi-v7a, x86_64 or x86" >&2; exit 2; }
  read -r cc pkgs <<<"${linker[$abi]}"
  if ! command -v "$cc" >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs
    else
      echo "$cc not found: apt-get install $pkgs" >&2
      exit 1
    fi
  fi
  rustup target add "$t" >/dev/null
  # .cargo/config.toml sets each target's linker and +crt-static.
  cargo build --profile probe --locked --target "$t" --no-default-features --bin fleetscope-probe
  mkdir -p "target/probes/$abi"
  bin="target/probes/$abi/fleetscope-probe"
  # The build keeps its symbols (scripts/mca-kernels.sh reads them); the shipped copy
  # has none. The cross toolchain's strip, from the same binutils as its linker.
  strip_tool=strip
  [ "$cc" = cc ] || strip_tool=${cc%-gcc}-strip
  "$strip_tool" --strip-all -o "$bin" "target/$t/probe/fleetscope-probe"
  echo "built $bin ($(stat -c %s "$bin") bytes, $(file -b "$bin" | cut -d, -f1-2,5))"
done
