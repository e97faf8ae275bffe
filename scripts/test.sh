#!/usr/bin/env bash
# The README's test command: install what the tests need on a fresh machine, start
# the services they use, and run the whole test suite (debug build; benchmarks are
# not part of it).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# Real GPU API libraries for the identification tests: Mesa's CPU Vulkan driver and PoCL.
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ "$(uname -m)" != x86_64 ] || need_apt+=(libvulkan1 mesa-vulkan-drivers)
[ -e /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 ] || [ "$(uname -m)" != x86_64 ] || need_apt+=(ocl-icd-libopencl1 pocl-opencl-icd)
# The real adb client (fleetscope devices is tested against it with no phone attached).
command -v adb >/dev/null || need_apt+=(adb)
# Headless Chromium and Node.js for the report's browser test.
command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (install them, or run as root)" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

if [ ! -d ../shared/datasets ] && [ -z "${FLEETSCOPE_SHARED:-}" ]; then
  echo "note: ../shared/datasets is absent; tests that need the device snapshots will say SKIPPED (under CI they fail)" >&2
fi

# Every ABI for real: the static probes (arm64-v8a, armeabi-v7a, x86_64, x86), built
# before the tests so the device-lab tests run those binaries on their fake phones
# (the ARM ones under qemu-user). Each must be static, of its own ELF machine, and
# within the 2 MB budget.
command -v qemu-aarch64-static >/dev/null || {
  [ "$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static
}
bash scripts/build-probes.sh
declare -A machine=([arm64-v8a]="64-bit.*ARM aarch64" [armeabi-v7a]="32-bit.*ARM, EABI5" [x86_64]="64-bit.*x86-64" [x86]="32-bit.*Intel 80386")
for abi in arm64-v8a armeabi-v7a x86_64 x86; do
  bin=target/probes/$abi/fleetscope-probe
  size=$(stat -c %s "$bin"); kind=$(file -b "$bin")
  echo "$abi probe: $size bytes (budget 2000000): $kind" | cut -c1-160
  [ "$size" -le 2000000 ] || { echo "the $abi probe is over its 2 MB budget" >&2; exit 1; }
  echo "$kind" | grep -Eq "${machine[$abi]}" || { echo "the $abi probe is not ${machine[$abi]}" >&2; exit 1; }
  echo "$kind" | grep -q "statically linked" || { echo "the $abi probe is not static" >&2; exit 1; }
done
probe=target/aarch64-unknown-linux-musl/probe/fleetscope-probe

# A real PostgreSQL server for the collector's PostgreSQL tests.
FLEETSCOPE_TEST_PG=$(bash scripts/start-postgres.sh)
export FLEETSCOPE_TEST_PG
# The CA that signed its TLS certificate, for the sslmode=verify-full test.
export FLEETSCOPE_TEST_PG_CA=${PG_TLS_DIR:-/tmp/fleetscope-pg-tls}/ca.pem
echo "PostgreSQL for the tests: $FLEETSCOPE_TEST_PG (TLS CA $FLEETSCOPE_TEST_PG_CA)"

cargo test --locked --all-targets

# The analyst's report end to end, checked by two independent engines: a simulated
# fleet plus the real fixture identities, its report, DuckDB recomputing the headline
# numbers from the Parquet data, and the page opened in headless Chromium (the
# screenshot stays in target/ci-artifacts/).
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check duckdb==2.0.1
art=target/ci-artifacts
rm -rf "$art/data" "$art/report"; mkdir -p "$art"
fixtures=()
[ -d ../shared/datasets/devices ] && fixtures=(--fixtures ../shared/datasets/devices)
target/debug/fleetscope simulate --devices 20000 --seed 5 "${fixtures[@]}" --out "$art/data"
target/debug/fleetscope report --data "$art/data" --out "$art/report"
python3 scripts/crosscheck_duckdb.py "$art/data" "$art/report"
# The same statistics on Apache Spark (local mode, Debian's Java 17), and the
# README's Spark example run as written, on this dataset as `fleet-data`.
if ! command -v java >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "missing: Java 17 for Spark (openjdk-17-jre-headless)" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless
fi
python3 -c "import pyspark" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check pyspark==4.3.0
python3 scripts/crosscheck_spark.py "$art/data" "$art/report" > "$art/spark.txt" 2> "$art/spark.log" ||
  { grep -v "^ok" "$art/spark.txt" || true; tail -n 20 "$art/spark.log"; exit 1; } >&2
tail -n 1 "$art/spark.txt"
rm -rf "$art/readme-spark" && mkdir -p "$art/readme-spark" && ln -s ../data "$art/readme-spark/fleet-data"
awk '/^  ```python spark/{on=1; next} on && /^  ```/{exit} on{sub(/^  /, ""); print}' README.md > "$art/readme-spark/example.py"
(cd "$art/readme-spark" && python3 example.py 2> ../readme-spark.log) > "$art/readme-spark.txt" ||
  { tail -n 20 "$art/readme-spark.log"; exit 1; } >&2
grep -q "cortex-a53" "$art/readme-spark.txt" ||
  { echo "the README's Spark example printed no Cortex-A53 row:"; cat "$art/readme-spark.txt"; exit 1; } >&2
echo "the README's Spark example ran: $(wc -l < "$art/readme-spark.txt") lines of output"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
node tests/browser/check_report.mjs "$art/report" "$art/report.png"

# The kernel self-test of the ARM probe on a core without dot product (Cortex-A53)
# and on one with dotprod, i8mm and fp16 (max).
for cpu in cortex-a53 max; do
  echo "kernel self-test under qemu -cpu $cpu:"
  QEMU_CPU=$cpu qemu-aarch64-static "$probe" selftest > "$art/selftest-$cpu.txt" ||
    { cat "$art/selftest-$cpu.txt"; exit 1; }
  tail -n 1 "$art/selftest-$cpu.txt"
done
# -cpu max has every extension, so every NEON variant must have run there, and an
# f16 GEMM measures on it; the A53 has no FP16 and must say so instead of measuring.
for v in f32-gemm-8x8-neon qs8-gemm-4x8c4-neonmull qs8-gemm-8x8c4-neondot qs8-gemm-8x8c4-neoni8mm f16-gemm-8x16-neonfp16; do
  grep -Eq "^  $v +[0-9]+/[0-9]+ ok$" "$art/selftest-max.txt" ||
    { echo "the self-test under -cpu max did not run $v" >&2; exit 1; }
done
QEMU_CPU=max qemu-aarch64-static "$probe" bench gemm --dtype f16 --m 40 --n 48 --k 36 --min-time-ms 1 --json |
  grep -q '"path":"f16-gemm-8x16-neonfp16"' || { echo "no f16 GEMM under -cpu max" >&2; exit 1; }
if QEMU_CPU=cortex-a53 qemu-aarch64-static "$probe" bench gemm --dtype f16 --m 8 --n 8 --k 8 2> "$art/a53-f16.txt" ||
  ! grep -q "half-precision" "$art/a53-f16.txt"; then
  echo "the A53 measured or mis-refused an f16 GEMM: $(cat "$art/a53-f16.txt")" >&2; exit 1
fi
echo "f16 GEMM: measured under -cpu max, refused with its reason on the Cortex-A53"

# The dispatcher fed the MIDRs of the fleet's cores, each under qemu with that core's
# instruction sets (qemu has no Cortex-A55: the Cortex-A76 has its ARMv8.2 set): the
# in-order cores get the in-order f32 GEMM, the others the out-of-order one; int8
# takes SDOT where the core has it, the widening smull path where it has not.
for case in "cortex-a53 0x410fd034 f32-gemm-4x8-neon-a53 qs8-gemm-4x8c4-neonmull" \
            "cortex-a76 0x410fd050 f32-gemm-4x8-neon-a53 qs8-gemm-8x8c4-neondot" \
            "cortex-a72 0x410fd083 f32-gemm-8x8-neon qs8-gemm-4x8c4-neonmull" \
            "neoverse-n1 0x413fd0c1 f32-gemm-8x8-neon qs8-gemm-8x8c4-neondot"; do
  read -r cpu midr f32 i8 <<<"$case"
  got=$(QEMU_CPU=$cpu qemu-aarch64-static "$probe" dispatch --midr "$midr")
  echo "$got" | grep -q "\"f32\":\"$f32\"" && echo "$got" | grep -q "\"i8\":\"$i8\"" ||
    { echo "dispatch for MIDR $midr on -cpu $cpu: want $f32 and $i8, got $got" >&2; exit 1; }
done
echo "dispatch by MIDR: Cortex-A53/A55 in-order f32 GEMM, Cortex-A72/Neoverse N1 out-of-order"

# Each NEON micro-kernel's inner loop through llvm-mca's pipeline models: the variants
# the probe dispatches on the out-of-order cores (Cortex-A72, Neoverse N1) must keep
# their floor of the multiply-accumulate stream bound (datasets/mca_floors.toml).
bash scripts/mca-kernels.sh --check > "$art/mca-kernels.json"
python3 - "$art/mca-kernels.json" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1])):
    if e["dispatched"]:
        print(f"  llvm-mca {e['cpu']:12} {e['variant']:28} {e['efficiency']:.2f} of the MAC-stream bound ({e['model']})")
PY

# 32-bit ARM on the fleet's old cores (Cortex-A7, Cortex-A15) and the x86 probes
# natively: every kernel variant each binary carries passes its self-test, every
# ARMv7 NEON variant runs on both cores, GEMM measures on the A7 through NEON, and on
# an ARMv7 core without NEON (armeabi) the NEON variants are skipped with the reason.
v7=target/probes/armeabi-v7a/fleetscope-probe
v7_neon="f32-gemm-4x8-aarch32-neon qs8-gemm-2x8c4-aarch32-neon f32-dwconv3x3-aarch32-neon qs8-dwconv3x3-aarch32-neon"
for cpu in cortex-a7 cortex-a15; do
  QEMU_CPU=$cpu qemu-arm-static $v7 selftest > "$art/selftest-v7-$cpu.txt" ||
    { cat "$art/selftest-v7-$cpu.txt"; exit 1; }
  for v in $v7_neon; do
    grep -Eq "^  $v +[0-9]+/[0-9]+ ok$" "$art/selftest-v7-$cpu.txt" ||
      { echo "the armeabi-v7a self-test under -cpu $cpu did not run $v" >&2; exit 1; }
  done
  echo "armeabi-v7a self-test under qemu-arm -cpu $cpu: $(tail -n 1 "$art/selftest-v7-$cpu.txt")"
done
for dtype in f32 i8; do
  QEMU_CPU=cortex-a7 qemu-arm-static $v7 bench gemm --dtype $dtype --m 32 --n 32 --k 32 --min-time-ms 20 --json |
    grep -Eq '"path":"(f32-gemm-4x8|qs8-gemm-2x8c4)-aarch32-neon.*"gops":' ||
    { echo "no NEON $dtype GEMM on the armeabi-v7a probe under -cpu cortex-a7" >&2; exit 1; }
done
QEMU_CPU=cortex-a7,neon=off qemu-arm-static $v7 selftest > "$art/selftest-v7-noneon.txt" ||
  { cat "$art/selftest-v7-noneon.txt"; exit 1; }
for v in $v7_neon; do
  grep -Eq "^  $v +skipped: needs NEON" "$art/selftest-v7-noneon.txt" ||
    { echo "without NEON the armeabi-v7a self-test did not skip $v with its reason" >&2; exit 1; }
done
echo "armeabi-v7a without NEON (qemu-arm -cpu cortex-a7,neon=off): NEON variants skipped, $(tail -n 1 "$art/selftest-v7-noneon.txt")"
for abi in x86_64 x86; do
  target/probes/$abi/fleetscope-probe selftest > "$art/selftest-$abi.txt" || { cat "$art/selftest-$abi.txt"; exit 1; }
  echo "$abi self-test: $(tail -n 1 "$art/selftest-$abi.txt")"
done
