#!/usr/bin/env bash
# Regenerate the committed example report (reports/example/): a small simulated fleet
# plus the identities of the real device snapshots in ../shared/datasets/devices
# (identified by our code, results from the fleet model; the snapshots themselves are
# not copied).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d ../shared/datasets/devices ] || { echo "needs ../shared/datasets/devices beside the checkout" >&2; exit 1; }
bin=${FLEETSCOPE_BIN:-target/debug/fleetscope}
[ -x "$bin" ] || cargo build --locked --bin fleetscope
data=target/example-data
rm -rf "$data" reports/example
"$bin" simulate --devices 10000 --seed 1 --fixtures ../shared/datasets/devices --out "$data"
"$bin" report --data "$data" --out reports/example
