#!/usr/bin/env python3
"""Each aarch64 NEON micro-kernel's inner loop, taken from the built probe and run
through LLVM's pipeline models (llvm-mca) for the cores the fleet has.

    python3 scripts/mca_kernels.py PROBE [--check]

PROBE is the aarch64 probe with its symbols (target/aarch64-unknown-linux-musl/probe/
fleetscope-probe; scripts/build-probes.sh strips only the copy it ships). Prints one
JSON list, one entry per (variant, cpu), as DESIGN.md's contract says: `variant`,
`cpu`, `triple`, `asm`, `cycles_per_iter`, `macs_per_iter`, `efficiency`,
`dispatched`, plus `model` ("out-of-order" or "in-order: information only") and
`floor` where one applies.

How the loop is found: the variant's `ukernel` symbol (the registry's name maps to
its module below) spans up to the next symbol; every backward branch inside it closes
a loop; the loop with the most multiply-accumulate instructions wins, the shortest of
equals (so an outer loop that only wraps the inner one loses). Its instructions go to
llvm-mca as printed by llvm-objdump, the closing branch pointed at a local label.

The bound: the same multiply-accumulate instructions (and their widening partners,
`sadalp`) with every destination a different register and no loads: what the core's
arithmetic pipes alone could do. efficiency = bound cycles / predicted cycles.

`dispatched`: the probe itself says which variant it picks for that core
(`fleetscope-probe dispatch --midr M`: the instruction sets of the CPU it runs on, the
core's pipeline from its MIDR), run under `qemu-aarch64 -cpu X` so the instruction sets
are that core's. qemu has no Cortex-A55: `cortex-a76` stands in for its instruction
sets (ARMv8.2 with dot product and FP16), with the A55's MIDR.

--check exits 1 when a variant dispatched on cortex-a72 or neoverse-n1 falls below
its floor in datasets/mca_floors.toml.
"""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

TRIPLE = "aarch64-linux-gnu"
# llvm-mca -mcpu -> (qemu -cpu with that core's instruction sets, the core's MIDR,
# model kind)
CPUS = {
    "cortex-a53": ("cortex-a53", "0x410fd034", "in-order: information only"),
    "cortex-a55": ("cortex-a76", "0x410fd050", "in-order: information only"),
    "cortex-a72": ("cortex-a72", "0x410fd083", "out-of-order"),
    "neoverse-n1": ("neoverse-n1", "0x413fd0c1", "out-of-order"),
}
# The registry's variant name -> its module in src/probe/kernels (the symbol path).
VARIANTS = {
    "f32-gemm-4x8-neon-a53": ("f32", "f32_gemm::neon_a53_4x8"),
    "f32-gemm-8x8-neon": ("f32", "f32_gemm::neon_8x8"),
    "qs8-gemm-4x8c4-neonmull": ("i8", "qs8_gemm::neonmull_4x8c4"),
    "qs8-gemm-8x8c4-neondot": ("i8", "qs8_gemm::neondot_8x8c4"),
    "qs8-gemm-8x8c4-neoni8mm": ("i8", "qs8_gemm::neoni8mm_8x8c4"),
    "f16-gemm-8x16-neonfp16": ("f16", "f16_gemm::neonfp16_8x16"),
}
ITERATIONS = 300


def macs(mnemonic: str, operands: str) -> int | None:
    """Multiply-accumulates one instruction performs, None if it is not arithmetic of
    the MAC stream (sadalp counts 0: it is the widening path's accumulate)."""
    lanes = re.search(r"\.(\d+)([bhsd])", operands)
    n = int(lanes.group(1)) if lanes else 0
    if mnemonic in ("fmla", "fmul") and lanes:
        return n
    if mnemonic in ("sdot", "udot", "usdot", "sudot"):
        return 16 if n == 4 else 8
    if mnemonic in ("smmla", "ummla", "usmmla"):
        return 32
    if mnemonic in ("mul", "mla", "smull", "smull2", "umull", "umull2", "smlal",
                    "smlal2", "umlal", "umlal2"):
        return 8 if ".8h" in operands else n
    if mnemonic in ("sadalp", "uadalp"):
        return 0
    return None


def functions(probe: str) -> list[tuple[int, str]]:
    out = subprocess.run(["llvm-nm-19", "-n", "-C", probe], check=True, capture_output=True,
                         text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    return syms


def disassemble(probe: str, start: int, stop: int) -> list[tuple[int, str, str]]:
    out = subprocess.run(
        ["llvm-objdump-19", "-d", "--no-show-raw-insn", f"--start-address={start:#x}",
         f"--stop-address={stop:#x}", probe],
        check=True, capture_output=True, text=True).stdout
    insns = []
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m:
            ops = m.group(3).split("//")[0].strip()
            insns.append((int(m.group(1), 16), m.group(2), ops))
    return insns


def inner_loop(insns):
    best = None
    for i, (addr, mn, ops) in enumerate(insns):
        if not is_branch(mn):
            continue
        target = re.search(r"0x([0-9a-f]+)", ops)
        if not target or int(target.group(1), 16) >= addr:
            continue
        t = int(target.group(1), 16)
        body = [x for x in insns if t <= x[0] <= addr]
        count = sum(macs(m, o) or 0 for _, m, o in body)
        key = (count, -len(body))
        if count and (best is None or key > best[0]):
            best = (key, body)
    return best[1] if best else None


def is_branch(mn: str) -> bool:
    """b, b.<cond>, cbz/cbnz, tbz/tbnz (not bl, bic, bfi, ...)."""
    return mn == "b" or mn.startswith("b.") or mn in ("cbz", "cbnz", "tbz", "tbnz")


def loop_asm(body) -> str:
    """The body as assembly llvm-mca accepts: every branch target (the closing branch,
    and any forward branch inside) points at the loop's label; llvm-mca does not follow
    branches, it repeats the block."""
    lines = [".Lloop:"]
    for _, mn, ops in body:
        if is_branch(mn):
            ops = re.sub(r"0x[0-9a-f]+(\s*<[^>]*>)?", ".Lloop", ops)
        lines.append(f"  {mn} {ops}")
    return "\n".join(lines) + "\n"


def stream_asm(body) -> str:
    """The loop's MAC instructions into independent accumulators, sources fixed."""
    dests = [f"v{i}" for i in list(range(16, 30)) + list(range(0, 14))]
    lines, k = [], 0
    for _, mn, ops in body:
        if macs(mn, ops) is None:
            continue
        arr = [m.group(0) for m in re.finditer(r"v\d+\.\d*[bhsd](\[\d+\])?", ops)]
        if len(arr) < 2:
            continue
        d = dests[k % len(dests)]
        k += 1
        out = [re.sub(r"^v\d+", d, arr[0])]
        srcs = ["v30", "v31"]
        for j, a in enumerate(arr[1:]):
            # By-element operands must be one of v0-v15 for .h lanes: use v15.
            src = "v15" if "[" in a else srcs[j % 2]
            out.append(re.sub(r"^v\d+", src, a))
        lines.append(f"  {mn} {', '.join(out)}")
    return "\n".join(lines) + "\n"


def mca_cycles(asm: str, cpu: str) -> float:
    # Every variant's instructions must parse for every cpu (a variant the core lacks
    # the extension for is never dispatched there, but is still listed).
    r = subprocess.run(
        ["llvm-mca-19", f"-mtriple={TRIPLE}", f"-mcpu={cpu}", "-mattr=+dotprod,+i8mm,+fullfp16",
         f"-iterations={ITERATIONS}"],
        input=asm, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"llvm-mca -mcpu={cpu} refused:\n{asm}\n{r.stderr}")
    out = r.stdout
    total = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    iters = int(re.search(r"Iterations:\s+(\d+)", out).group(1))
    return total / iters


def dispatched_paths(probe: str) -> dict[str, dict[str, str]]:
    """Per llvm-mca cpu, per dtype: the variant the probe's dispatcher picks for that
    core (`dispatch --midr`), with the core's instruction sets under qemu."""
    picked = {}
    for cpu, (qemu_cpu, midr, _) in CPUS.items():
        r = subprocess.run(["qemu-aarch64-static", "-cpu", qemu_cpu, probe, "dispatch",
                            "--midr", midr], check=True, capture_output=True, text=True)
        gemm = json.loads(r.stdout)["gemm"]
        picked[cpu] = {dtype: name for dtype, name in gemm.items() if name}
    return picked


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    check = "--check" in sys.argv[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    probe = args[0]
    floors = tomllib.loads(
        (Path(__file__).parent.parent / "datasets" / "mca_floors.toml").read_text())
    syms = functions(probe)
    if not syms:
        print(f"{probe} has no symbols: use the build's own copy, not target/probes/", file=sys.stderr)
        return 2
    picked = dispatched_paths(probe)
    entries, failures = [], []
    for variant, (dtype, module) in VARIANTS.items():
        # The function itself (`...::ukernel::h<hash>`), not a closure inside it.
        name = re.compile(rf"kernels::{re.escape(module)}::ukernel::h[0-9a-f]{{16}}$")
        idx = next((i for i, (_, s) in enumerate(syms) if name.search(s)), None)
        if idx is None:
            print(f"no ukernel symbol for {variant} ({module}) in {probe}", file=sys.stderr)
            return 1
        start = syms[idx][0]
        stop = next((a for a, _ in syms[idx + 1:] if a > start), start + 0x4000)
        body = inner_loop(disassemble(probe, start, stop))
        if body is None:
            print(f"no multiply-accumulate loop found in {variant}", file=sys.stderr)
            return 1
        asm, stream = loop_asm(body), stream_asm(body)
        per_iter = sum(macs(m, o) or 0 for _, m, o in body)
        for cpu, (_, _, kind) in CPUS.items():
            cycles = mca_cycles(asm, cpu)
            bound = mca_cycles(stream, cpu)
            entry = {
                "variant": variant,
                "cpu": cpu,
                "triple": TRIPLE,
                "asm": asm,
                "cycles_per_iter": round(cycles, 3),
                "macs_per_iter": per_iter,
                "efficiency": round(bound / cycles, 4),
                "dispatched": picked[cpu].get(dtype) == variant,
                "model": kind,
            }
            floor = floors.get(variant, {}).get(cpu)
            if floor is not None and kind == "out-of-order":
                entry["floor"] = floor
                if entry["dispatched"] and entry["efficiency"] < floor:
                    failures.append(f"{variant} on {cpu}: {entry['efficiency']:.3f} < floor {floor}")
            entries.append(entry)
    print(json.dumps(entries, indent=2))
    for f in failures:
        print(f"below its floor: {f}", file=sys.stderr)
    return 1 if check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
