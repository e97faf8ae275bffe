//! 32-bit ARM (ARMv7-A NEON) 2x8c4 micro-kernel without dot product, the path every
//! 32-bit phone takes: activations fed as `a - 128` (s8), `vmull.s8` of a row's k-quad
//! (duplicated to eight bytes) by two columns' quads gives eight exact i16 products
//! (|a*b| <= 16384), `vpadal.s16` adds them pairwise into i32. Eight q accumulators
//! hold two rows of eight columns as (k0+k1, k2+k3) pairs; a final `vpadd` folds them.
//! XNNPACK's `qs8-gemm-2x8c8-neon-mull` has the same shape. Exact for the full int8
//! range. Inline assembly, as the f32 ARMv7 kernel, for the same reasons.

pub const MR: usize = 2;
pub const NR: usize = 8;

/// # Safety
/// As for the scalar kernel; the CPU must support NEON.
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let a0 = a;
    let a1 = a.add((mr.min(MR) - 1) * lda);
    // SAFETY: each row holds kq*4 bytes, the panel kq*NR*4, the tile MR*NR i32; kq >= 1.
    std::arch::asm!(
        ".fpu neon",
        "vmov.i32 q8, #0",
        "vmov.i32 q9, #0",
        "vmov.i32 q10, #0",
        "vmov.i32 q11, #0",
        "vmov.i32 q12, #0",
        "vmov.i32 q13, #0",
        "vmov.i32 q14, #0",
        "vmov.i32 q15, #0",
        "vmov.i8 d14, #0x80",
        "1:",
        "vld1.32 {{d0[]}}, [{a0}]!",
        "vld1.8 {{d2-d5}}, [{w}]!",
        "vld1.32 {{d1[]}}, [{a1}]!",
        "veor d0, d0, d14",
        "veor d1, d1, d14",
        "vmull.s8 q3, d2, d0",
        "vmull.s8 q4, d3, d0",
        "vmull.s8 q5, d4, d0",
        "vmull.s8 q6, d5, d0",
        "vpadal.s16 q8, q3",
        "vmull.s8 q3, d2, d1",
        "vpadal.s16 q9, q4",
        "vmull.s8 q4, d3, d1",
        "vpadal.s16 q10, q5",
        "vmull.s8 q5, d4, d1",
        "vpadal.s16 q11, q6",
        "vmull.s8 q6, d5, d1",
        "vpadal.s16 q12, q3",
        "vpadal.s16 q13, q4",
        "vpadal.s16 q14, q5",
        "vpadal.s16 q15, q6",
        "subs {kq}, {kq}, #1",
        "bne 1b",
        // [c0 k01, c0 k23, c1 k01, c1 k23] pairs -> [c0, c1], per row eight columns.
        "vpadd.i32 d0, d16, d17",
        "vpadd.i32 d1, d18, d19",
        "vpadd.i32 d2, d20, d21",
        "vpadd.i32 d3, d22, d23",
        "vst1.32 {{d0-d3}}, [{acc}]!",
        "vpadd.i32 d0, d24, d25",
        "vpadd.i32 d1, d26, d27",
        "vpadd.i32 d2, d28, d29",
        "vpadd.i32 d3, d30, d31",
        "vst1.32 {{d0-d3}}, [{acc}]",
        kq = inout(reg) kq => _,
        a0 = inout(reg) a0 => _,
        a1 = inout(reg) a1 => _,
        w = inout(reg) w => _,
        acc = inout(reg) acc => _,
        // As d registers, so the callee-saved d8-d15 are saved (see the f32 kernel).
        out("d0") _, out("d1") _, out("d2") _, out("d3") _,
        out("d4") _, out("d5") _, out("d6") _, out("d7") _,
        out("d8") _, out("d9") _, out("d10") _, out("d11") _,
        out("d12") _, out("d13") _, out("d14") _, out("d15") _,
        options(nostack),
    );
}
