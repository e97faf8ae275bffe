#!/usr/bin/env bash
# Scale of the analysis: simulate a fleet and build its report from Parquet, at 100k
# and 1M devices (or the sizes given), timing each step with /usr/bin/time -v.
#   scripts/bench-analysis.sh [SIZES...]      e.g. scripts/bench-analysis.sh 100000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --locked --bin fleetscope
bin=target/release/fleetscope
work=${BENCH_DIR:-target/bench-analysis}
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" >"$work/out.txt" 2>"$work/time.txt"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')
  printf '%-9s %-9s wall %-9s peak RSS %6.0f MB\n' "$n" "$label" "$wall" "$((rss / 1024))"
}
mkdir -p "$work"
for n in "${sizes[@]}"; do
  rm -rf "$work/data-$n" "$work/report-$n"
  measure simulate "$bin" simulate --devices "$n" --seed 1 --out "$work/data-$n"
  rows=$(grep -o '[0-9]* kernel results' "$work/out.txt" | awk '{print $1}')
  measure report "$bin" report --data "$work/data-$n" --out "$work/report-$n"
  echo "          $rows result rows, $(du -sh "$work/data-$n" | cut -f1) of Parquet," \
       "$(find "$work/data-$n" -name '*.parquet' | wc -l) files in" \
       "$(find "$work/data-$n" -mindepth 2 -maxdepth 2 -type d -name 'date=*' | wc -l) partitions"
  # Row groups of the results table, uncompressed bytes as the Parquet footers state them.
  python3 - "$work/data-$n" <<'PY' || true
import sys, duckdb
n, lo, hi = duckdb.sql(f"""
    SELECT count(*), min(b) / 2^20, max(b) / 2^20 FROM (
      SELECT file_name, row_group_id, sum(total_uncompressed_size) AS b
      FROM parquet_metadata('{sys.argv[1]}/results/*/*.parquet') GROUP BY ALL)""").fetchall()[0]
print(f"          results: {n} row groups, {lo:.0f}-{hi:.0f} MiB uncompressed each")
PY
done
