#!/usr/bin/env bash
# Run-to-run variability of a GEMM measurement: RUNS separate `fleetscope bench`
# processes, pinned to one core, and the coefficient of variation of their p50s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin fleetscope >/dev/null 2>&1
core=${CORE:-$(( $(nproc) - 1 ))}
runs=${RUNS:-10}
for dtype in f32 i8; do
  for i in $(seq "$runs"); do
    taskset -c "$core" target/release/fleetscope bench gemm --dtype "$dtype" --json --min-time-ms 1000
  done | python3 -c "
import json, statistics, sys
p = [json.loads(l)['latency_us']['p50'] for l in sys.stdin]
g = [2 * 512**3 / x / 1e3 for x in p]
print(f'gemm 512^3 $dtype, {len(p)} runs: p50 mean {statistics.mean(p):.1f} us, run-to-run CV {statistics.stdev(p) / statistics.mean(p) * 100:.2f} %, GOPS {min(g):.1f}-{max(g):.1f}')
"
done
