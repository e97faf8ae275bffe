#!/usr/bin/env bash
# Collector load figures on this machine, one run per line, back to back:
#   SQLite at the target rate for DURATION seconds, SQLite at twice the target
#   (load shedding: acknowledged must equal stored), and PostgreSQL at the target.
# Usage: scripts/bench-collector.sh [RATE=5000] [DURATION=60] [CONNECTIONS=256]
# (256 connections: each sends every 51 ms at 5000/s, well above the service time,
# so the generator stays open loop and latency counts from when each report was due.)
# Needs a release build (cargo build --release); starts PostgreSQL with
# scripts/start-postgres.sh unless FLEETSCOPE_BENCH_PG is set to a URL.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-5000}; duration=${2:-60}; conns=${3:-256}
bin=target/release/fleetscope
[ -x "$bin" ] || cargo build --release --locked --bin fleetscope
work=$(mktemp -d /tmp/fleetscope-bench-collector.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "ingest-token-for-bench" > "$work/i.tok"; echo "read-token-for-bench" > "$work/r.tok"
port=18787

hz=$(getconf CLK_TCK)
cpu_ms() { # PIDS... -> user+system CPU milliseconds they and their reaped children have used
  local t=0 p f x
  for p in "$@"; do
    f=$(cut -d' ' -f14-17 "/proc/$p/stat" 2>/dev/null) || continue
    for x in $f; do t=$((t + x)); done
  done
  echo $((t * 1000 / hz))
}
pg_pids() { pgrep -u postgres -x postgres || true; }

run() { # NAME DB RATE CONNECTIONS [serve args...]
  local name=$1 db=$2 r=$3 c=$4; shift 4
  "$bin" serve --listen 127.0.0.1:$port --db "$db" --ingest-token-file "$work/i.tok" \
    --read-token-file "$work/r.tok" "$@" 2> "$work/serve.log" &
  local pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  echo "== $name: $r/s for ${duration}s over $c connections"
  local serve0 pg0
  serve0=$(cpu_ms $pid); pg0=$(cpu_ms $(pg_pids))
  "$bin" loadgen --collector http://127.0.0.1:$port --token-file "$work/i.tok" \
    --rate "$r" --duration-s "$duration" --connections "$c" | tee "$work/load.txt"
  local serve_ms pg_ms
  serve_ms=$(($(cpu_ms $pid) - serve0)); pg_ms=$(($(cpu_ms $(pg_pids)) - pg0))
  local acked stored
  acked=$(sed -n 's/^acknowledged \([0-9]*\).*/\1/p' "$work/load.txt")
  stored=$(curl -sf -H "Authorization: Bearer read-token-for-bench" \
    "http://127.0.0.1:$port/v1/export?since=0" | wc -l)
  echo "acknowledged $acked, stored $stored, server alive: $(kill -0 $pid 2>/dev/null && echo yes || echo NO)"
  echo "CPU per acknowledged report: serve $((serve_ms * 1000 / (acked > 0 ? acked : 1))) us" \
       "$([[ $db == postgres* ]] && if [ -n "$(pg_pids)" ]; then
          echo "+ PostgreSQL $((pg_ms * 1000 / (acked > 0 ? acked : 1))) us"
        else echo "+ PostgreSQL n/a (not a local server)"; fi)"
  kill -TERM $pid; wait $pid || echo "server exit status $?"
}

run "SQLite" "sqlite://$work/a.db" "$rate" "$conns"
run "SQLite, twice the rate" "sqlite://$work/b.db" $((rate * 2)) $((conns * 2)) --max-in-flight 128
pg=${FLEETSCOPE_BENCH_PG:-$(scripts/start-postgres.sh)}
db=fleetscope_bench_$$
psql "$pg" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
run "PostgreSQL" "${pg%/*}/$db" "$rate" "$conns"
psql "$pg" -qc "DROP DATABASE $db" >/dev/null
