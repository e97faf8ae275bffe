//! 32-bit ARM (ARMv7-A NEON) 4x8 micro-kernel, scheduled for Cortex-A7 the way
//! XNNPACK's `f32-gemm-4x8-aarch32-neon-cortex-a7` is: eight q accumulators, two k
//! steps per iteration, one 64-bit load of A per row feeding `vmla.f32` by lane. ARMv7
//! has no fused multiply-add by scalar, so each step rounds twice (within the
//! self-test's tolerance); NEON flushes denormals to zero. Rust's 32-bit NEON
//! intrinsics are unstable, so the loop is inline assembly; `.fpu neon` lets the
//! assembler accept it in a binary built for CPUs without NEON, and the dispatcher
//! runs it only when the kernel reports `HWCAP_NEON`.

pub const MR: usize = 4;
pub const NR: usize = 8;

/// # Safety
/// As for the scalar kernel; the CPU must support NEON.
pub unsafe fn ukernel(
    mr: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const f32,
    c: *mut f32,
    ldc: usize,
) {
    let row = |i: usize| a.add(i.min(mr - 1) * lda);
    let (a0, a1, a2, a3) = (row(0), row(1), row(2), row(3));
    let ldc_bytes = ldc * 4;
    // SAFETY: each row holds k floats, the panel k*NR, C four rows of ldc >= NR.
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
        "subs {k}, {k}, #2",
        "blo 2f",
        // Two k steps: A as one d register per row, B as two rows of eight.
        "1:",
        "vld1.32 {{d0}}, [{a0}]!",
        "vld1.32 {{d4-d7}}, [{w}]!",
        "vld1.32 {{d1}}, [{a1}]!",
        "vmla.f32 q8, q2, d0[0]",
        "vmla.f32 q9, q3, d0[0]",
        "vld1.32 {{d2}}, [{a2}]!",
        "vmla.f32 q10, q2, d1[0]",
        "vmla.f32 q11, q3, d1[0]",
        "vld1.32 {{d3}}, [{a3}]!",
        "vmla.f32 q12, q2, d2[0]",
        "vmla.f32 q13, q3, d2[0]",
        "vld1.32 {{d8-d11}}, [{w}]!",
        "vmla.f32 q14, q2, d3[0]",
        "vmla.f32 q15, q3, d3[0]",
        "vmla.f32 q8, q4, d0[1]",
        "vmla.f32 q9, q5, d0[1]",
        "vmla.f32 q10, q4, d1[1]",
        "vmla.f32 q11, q5, d1[1]",
        "vmla.f32 q12, q4, d2[1]",
        "vmla.f32 q13, q5, d2[1]",
        "vmla.f32 q14, q4, d3[1]",
        "vmla.f32 q15, q5, d3[1]",
        "subs {k}, {k}, #2",
        "bhs 1b",
        // An odd k leaves one step (k is now -1), an even one none (-2).
        "2:",
        "adds {k}, {k}, #1",
        "bne 3f",
        "vld1.32 {{d0[0]}}, [{a0}]",
        "vld1.32 {{d1[0]}}, [{a1}]",
        "vld1.32 {{d2[0]}}, [{a2}]",
        "vld1.32 {{d3[0]}}, [{a3}]",
        "vld1.32 {{d4-d7}}, [{w}]",
        "vmla.f32 q8, q2, d0[0]",
        "vmla.f32 q9, q3, d0[0]",
        "vmla.f32 q10, q2, d1[0]",
        "vmla.f32 q11, q3, d1[0]",
        "vmla.f32 q12, q2, d2[0]",
        "vmla.f32 q13, q3, d2[0]",
        "vmla.f32 q14, q2, d3[0]",
        "vmla.f32 q15, q3, d3[0]",
        "3:",
        "vst1.32 {{d16-d19}}, [{c}], {ldc}",
        "vst1.32 {{d20-d23}}, [{c}], {ldc}",
        "vst1.32 {{d24-d27}}, [{c}], {ldc}",
        "vst1.32 {{d28-d31}}, [{c}]",
        k = inout(reg) k => _,
        a0 = inout(reg) a0 => _,
        a1 = inout(reg) a1 => _,
        a2 = inout(reg) a2 => _,
        a3 = inout(reg) a3 => _,
        w = inout(reg) w => _,
        c = inout(reg) c => _,
        ldc = in(reg) ldc_bytes,
        // d8-d11 are callee-saved: named as d registers, since a clobbered q register
        // is not saved in a function built without NEON. d16-d31 (q8-q15) do not exist
        // for the rest of the program (VFPv3-D16), so nothing else lives there.
        out("d0") _, out("d1") _, out("d2") _, out("d3") _,
        out("d4") _, out("d5") _, out("d6") _, out("d7") _,
        out("d8") _, out("d9") _, out("d10") _, out("d11") _,
        options(nostack),
    );
}
