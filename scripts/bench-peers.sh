#!/usr/bin/env bash
# Our GEMMs against OpenBLAS (numpy) and onnxruntime (MLAS) on the same shapes, one
# thread, in one interleaved run, pinned to one core. Prints a table of ratios.
# A benchmark, not a test: the machine is shared and noisy, so compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import numpy, onnxruntime, onnx, threadpoolctl" 2>/dev/null || pip install -q numpy onnxruntime onnx threadpoolctl
cargo build --release --locked --bin fleetscope
core=${CORE:-$(( $(nproc) - 1 ))}
# A current numpy picks its best kernels only without these (set here for old OpenBLAS bugs).
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  FLEETSCOPE=target/release/fleetscope nice -n -5 taskset -c "$core" python3 scripts/bench_peers.py "$@"
