//! aarch64 8x16 micro-kernel on FP16 FMLA (ARMv8.2 half-precision arithmetic): 16
//! accumulators of eight f16 lanes, each A value broadcast by lane index, four k
//! steps per loaded A quad. Rust has no stable f16 vector intrinsics, so the FMLA
//! itself is one instruction of inline assembly on `uint16x8_t` registers.

use half::f16;
use std::arch::aarch64::*;

pub const MR: usize = 8;
pub const NR: usize = 16;

/// `acc += b * a[LANE]`, eight f16 lanes, one rounding (FMLA by element; the indexed
/// register must be one of v0-v15).
#[inline(always)]
unsafe fn fmla<const LANE: i32>(acc: uint16x8_t, b: uint16x8_t, a: uint16x4_t) -> uint16x8_t {
    let mut acc = acc;
    std::arch::asm!(
        "fmla {acc:v}.8h, {b:v}.8h, {a:v}.h[{lane}]",
        acc = inout(vreg) acc,
        b = in(vreg) b,
        a = in(vreg_low16) a,
        lane = const LANE,
        options(pure, nomem, nostack)
    );
    acc
}

/// One k step for all rows: A values at lane `LANE` of `quads`, B row `b`.
#[inline(always)]
unsafe fn step<const LANE: i32>(
    acc: &mut [[uint16x8_t; 2]; MR],
    quads: &[uint16x4_t; MR],
    b: [uint16x8_t; 2],
) {
    for i in 0..MR {
        acc[i][0] = fmla::<LANE>(acc[i][0], b[0], quads[i]);
        acc[i][1] = fmla::<LANE>(acc[i][1], b[1], quads[i]);
    }
}

#[inline(always)]
unsafe fn load_b(w: *const u16) -> [uint16x8_t; 2] {
    [vld1q_u16(w), vld1q_u16(w.add(8))]
}

/// # Safety
/// As for the f32 kernels; the CPU must support NEON and FP16 arithmetic.
#[target_feature(enable = "neon,fp16")]
pub unsafe fn ukernel(
    mr: usize,
    k: usize,
    a: *const f16,
    lda: usize,
    w: *const f16,
    c: *mut f16,
    ldc: usize,
) {
    let rows: [*const u16; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda).cast());
    let mut acc = [[vdupq_n_u16(0); 2]; MR];
    let mut w: *const u16 = w.cast();
    let mut p = 0;
    while p + 4 <= k {
        let quads: [uint16x4_t; MR] = std::array::from_fn(|i| vld1_u16(rows[i].add(p)));
        step::<0>(&mut acc, &quads, load_b(w));
        step::<1>(&mut acc, &quads, load_b(w.add(NR)));
        step::<2>(&mut acc, &quads, load_b(w.add(2 * NR)));
        step::<3>(&mut acc, &quads, load_b(w.add(3 * NR)));
        w = w.add(4 * NR);
        p += 4;
    }
    while p < k {
        let quads: [uint16x4_t; MR] = std::array::from_fn(|i| vld1_dup_u16(rows[i].add(p)));
        step::<0>(&mut acc, &quads, load_b(w));
        w = w.add(NR);
        p += 1;
    }
    let c: *mut u16 = c.cast();
    for (i, row) in acc.iter().enumerate() {
        vst1q_u16(c.add(i * ldc), row[0]);
        vst1q_u16(c.add(i * ldc + 8), row[1]);
    }
}
