#!/usr/bin/env bash
# Scale of `fleetscope compare`: two simulated fleets of N devices from one population
# (seeds 1 and 2, the second with +8 % on gemm f32 for Cortex-A53 cores), compared
# with /usr/bin/time -v (wall time and peak RSS), and the cells it reported.
#   scripts/bench-compare.sh [N]      default 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --locked --bin fleetscope
bin=target/release/fleetscope
n=${1:-1000000}
work=${BENCH_DIR:-target/bench-compare}
mkdir -p "$work"
for side in base new; do
  if [ ! -d "$work/$side-$n/devices" ]; then
    extra=(); seed=1
    [ "$side" = new ] && { extra=(--change gemm/f32/cortex-a53=+8); seed=2; }
    "$bin" simulate --devices "$n" --population-seed 1 --seed "$seed" "${extra[@]}" --out "$work/$side-$n"
  fi
done
/usr/bin/time -v "$bin" compare --base "$work/base-$n" --new "$work/new-$n" --out "$work/compare-$n" \
  > "$work/compare.txt" 2> "$work/time.txt"
head -n 12 "$work/compare.txt"
printf 'compare of two %s-device fleets: wall %s, peak RSS %s MB\n' "$n" \
  "$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')" \
  "$(( $(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}') / 1024 ))"
