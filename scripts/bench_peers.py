#!/usr/bin/env python3
"""Side-by-side GEMM benchmark: fleetscope's kernels against numpy/OpenBLAS and
onnxruntime (MLAS), one thread, same shapes, interleaved rounds, one run.

Prints a Markdown table of GOPS at the median latency and the ratios ours/theirs.
Called by scripts/bench-peers.sh, which pins the process and sets the environment.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from threadpoolctl import threadpool_info

FLEETSCOPE = os.environ.get("FLEETSCOPE", "target/release/fleetscope")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
MIN_TIME = float(os.environ.get("MIN_TIME_S", "1.0"))

F32_SHAPES = [(512, 512, 512), (12544, 32, 16), (3136, 64, 32), (784, 128, 128), (196, 256, 256), (49, 1024, 1024)]
I8_SHAPES = [(512, 512, 512), (784, 128, 128)]


def timed(fn):
    """Median per-call latency in seconds over at least MIN_TIME and 20 calls, after warmup."""
    for _ in range(5):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < 20 or time.perf_counter() - start < MIN_TIME:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
        if time.perf_counter() - start > 5 * MIN_TIME:
            break
    return statistics.median(samples)


def ours(dtype, m, n, k, full_range=False, i32_out=False):
    args = [FLEETSCOPE, "bench", "gemm", "--dtype", dtype, "--m", str(m), "--n", str(n), "--k", str(k),
            "--threads", "1", "--json", "--min-time-ms", str(int(MIN_TIME * 1000))]
    if full_range:
        args.append("--full-range")
    if i32_out:
        args.append("--i32-out")
    out = json.loads(subprocess.check_output(args))
    return out["latency_us"]["p50"] / 1e6, out["path"]


def ort_session(model):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def ort_f32(m, n, k, rng):
    b = rng.standard_normal((k, n)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["Y"])], "mm",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(b, "B")])
    sess = ort_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    a = rng.standard_normal((m, k)).astype(np.float32)
    return timed(lambda: sess.run(None, {"A": a}))


def ort_i8(m, n, k, rng, lo=-64, hi=63):
    b = rng.integers(lo, hi + 1, size=(k, n), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "a_zp", "b_zp"], ["Y"])], "mmi",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])],
        [numpy_helper.from_array(b, "B"), numpy_helper.from_array(np.array(128, dtype=np.uint8), "a_zp"),
         numpy_helper.from_array(np.array(0, dtype=np.int8), "b_zp")])
    sess = ort_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    return timed(lambda: sess.run(None, {"A": a}))


def ort_qlinear(m, n, k, rng, lo=-64, hi=63):
    """QLinearMatMul: u8 x i8 -> requantized u8, the same work our int8 GEMM does."""
    b = rng.integers(lo, hi + 1, size=(k, n), dtype=np.int8)
    f = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    graph = helper.make_graph(
        [helper.make_node("QLinearMatMul", ["A", "a_s", "a_zp", "B", "b_s", "b_zp", "y_s", "y_zp"], ["Y"])], "qlmm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.UINT8, [m, n])],
        [numpy_helper.from_array(b, "B"), f("a_s", 0.02), numpy_helper.from_array(np.array(128, dtype=np.uint8), "a_zp"),
         f("b_s", 0.01), numpy_helper.from_array(np.array(0, dtype=np.int8), "b_zp"), f("y_s", 0.5),
         numpy_helper.from_array(np.array(128, dtype=np.uint8), "y_zp")])
    sess = ort_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    return timed(lambda: sess.run(None, {"A": a}))


def numpy_f32(m, n, k, rng):
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    return timed(lambda: np.matmul(a, b, out=c))


def gops(m, n, k, seconds):
    return 2 * m * n * k / seconds / 1e9


def main():
    rng = np.random.default_rng(0)
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} thread)" for i in threadpool_info()]
    print(f"numpy {np.__version__}: {'; '.join(blas)}")
    print(f"onnxruntime {ort.__version__}; {ROUNDS} interleaved rounds, median latency per round, best round reported\n")

    rows = []
    for (m, n, k) in F32_SHAPES:
        best = {"ours": 0.0, "openblas": 0.0, "ort": 0.0}
        path = ""
        for _ in range(ROUNDS):
            t, path = ours("f32", m, n, k)
            best["ours"] = max(best["ours"], gops(m, n, k, t))
            best["openblas"] = max(best["openblas"], gops(m, n, k, numpy_f32(m, n, k, rng)))
            best["ort"] = max(best["ort"], gops(m, n, k, ort_f32(m, n, k, rng)))
        rows.append(((m, n, k), best, path))
    i8_rows = []
    for (m, n, k) in I8_SHAPES:
        best = {"ours": 0.0, "ours_i32": 0.0, "ort": 0.0, "ortq": 0.0}
        path = ""
        for _ in range(ROUNDS):
            t, path = ours("i8", m, n, k)
            best["ours"] = max(best["ours"], gops(m, n, k, t))
            t, _ = ours("i8", m, n, k, i32_out=True)
            best["ours_i32"] = max(best["ours_i32"], gops(m, n, k, t))
            best["ort"] = max(best["ort"], gops(m, n, k, ort_i8(m, n, k, rng)))
            best["ortq"] = max(best["ortq"], gops(m, n, k, ort_qlinear(m, n, k, rng)))
        i8_rows.append(((m, n, k), best, path))

    print("f32: onnxruntime MatMul; ours / best peer against the better of OpenBLAS and onnxruntime\n")
    print("| M x N x K | ours GOPS | OpenBLAS GOPS | onnxruntime GOPS | ours / best peer | our path |")
    print("|---|---|---|---|---|---|")
    for (m, n, k), best, path in rows:
        peer_best = max(best["openblas"], best["ort"])
        print(f"| {m}x{n}x{k} | {best['ours']:.1f} | {best['openblas']:.1f} | {best['ort']:.1f} | {best['ours'] / peer_best:.2f}x | {path} |")
    print("\nint8, weights in [-64, 63], like for like: u8 output (requantized) against QLinearMatMul,"
          " i32 accumulators against MatMulInteger\n")
    print("| M x N x K | ours u8 out | ort QLinearMatMul | ours / QLinearMatMul | ours i32 out | ort MatMulInteger | ours / MatMulInteger | our path |")
    print("|---|---|---|---|---|---|---|---|")
    for (m, n, k), best, path in i8_rows:
        print(f"| {m}x{n}x{k} | {best['ours']:.1f} | {best['ortq']:.1f} | {best['ours'] / best['ortq']:.2f}x"
              f" | {best['ours_i32']:.1f} | {best['ort']:.1f} | {best['ours_i32'] / best['ort']:.2f}x | {path} |")

    f32_512 = rows[0][1]["ours"]
    i8_512 = next(b for shape, b, _ in i8_rows if shape == (512, 512, 512))["ours"]
    peak = json.loads(subprocess.check_output([FLEETSCOPE, "bench", "peak_fma", "--json", "--min-time-ms", str(int(MIN_TIME * 1000))]))
    print(f"\nmeasured peak f32 FMA (one core, {peak['path']}): {peak['gops']:.1f} GFLOPS")
    print(f"f32 GEMM 512^3 / measured peak FMA: {f32_512 / peak['gops']:.2f}")
    print(f"int8 GEMM 512^3 (u8 out) / our f32 GEMM 512^3: {i8_512 / f32_512:.2f}x")
    ident = json.loads(subprocess.check_output([FLEETSCOPE, "identify", "--json"]))
    uarch = ident["cpu"]["clusters"][0].get("uarch")
    mhz = None
    for line in open("/proc/cpuinfo"):
        if line.startswith("cpu MHz"):
            mhz = float(line.split(":")[1])
            break
    flops = None
    for line in open(os.path.join(os.path.dirname(__file__), "..", "datasets", "uarchs.csv")):
        f = line.strip().split(",")
        if f[0] == uarch and f[4]:
            flops = float(f[4])
    if flops and mhz:
        theo = flops * mhz / 1000
        print(f"theoretical peak ({uarch}, {flops:.0f} f32 FLOP/cycle at the {mhz:.0f} MHz /proc/cpuinfo reports): {theo:.1f} GFLOPS;"
              f" measured / theoretical = {peak['gops'] / theo:.2f} (above 1 means the core boosts past that clock)")


if __name__ == "__main__":
    sys.exit(main())
