#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 60), installing a nightly
# toolchain and cargo-fuzz when they are missing. Corpora live under
# target/fuzz-corpus/TARGET, seeded from real inputs: the shared device snapshots,
# the built-in suites, and a report and its result lines from this machine's probe
# when a debug build exists. A crash stops the script with libFuzzer's reproducer
# path (fuzz/artifacts/TARGET/crash-*): turn it into a regression test.
#   scripts/fuzz.sh 600          ten minutes per target
#   scripts/fuzz.sh 60 suite_toml   one target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

rustup run nightly rustc --version >/dev/null 2>&1 ||
  rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)

corpus=target/fuzz-corpus
mkdir -p "$corpus"
seed() { mkdir -p "$corpus/$1"; cp "${@:2}" "$corpus/$1/" 2>/dev/null || true; }
shared=${FLEETSCOPE_SHARED:-../shared}
if [ -d "$shared/datasets/devices" ]; then
  seed identify_fixture "$shared"/datasets/devices/*.json
fi
seed suite_toml probes/*.toml
seed sysfs_text tests/fixtures/android/*.txt tests/fixtures/android/power_supply/*/battery/*
if [ -x target/debug/fleetscope-probe ]; then
  tiny=$(mktemp -d)
  cat > "$tiny/s.toml" <<'TOML'
id = "fuzz-seed"
version = "1"
[measure]
warmup = 1
min_samples = 3
min_time_ms = 10
max_time_ms = 50
[[kernels]]
family = "gemm"
dtypes = ["f32", "i8"]
shapes = [{ m = 8, n = 8, k = 8 }]
TOML
  if target/debug/fleetscope-probe probe --suite "$tiny/s.toml" --out "$tiny/report.json" \
      --stream-results > "$tiny/stream.txt" 2>/dev/null; then
    seed parse_report "$tiny/report.json"
    { tr -d '\n' < "$tiny/report.json"; echo; echo; tr -d '\n' < "$tiny/report.json"; } > "$tiny/batch.ndjson"
    seed ndjson_batch "$tiny/batch.ndjson"
    grep '^result ' "$tiny/stream.txt" | head -n 1 > "$tiny/line.txt" && seed result_line "$tiny/line.txt"
  fi
  rm -rf "$tiny"
fi

mkdir -p target/fuzz-logs
for t in "${targets[@]}"; do
  echo "fuzz $t for ${seconds}s"
  mkdir -p "$corpus/$t"
  log=target/fuzz-logs/$t.log
  status=0
  cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 \
    > "$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE' "$log" | sed 's/^/  /' || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t failed (exit $status): the reproducer is in fuzz/artifacts/$t/; make it a regression test" >&2
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
