//! aarch64 8x8c4 micro-kernel on SDOT (ARMv8.2 dot product). SDOT is s8 x s8, so the
//! u8 activations are shifted to s8 (`a ^ 0x80` = `a - 128`); the caller folds
//! `128 * sum_k b` back into the bias. Exact for the full int8 range.
//!
//! The main loop takes four k-quads at once: one 16-byte load and one flip per row,
//! then SDOT by element (`sdot v.4s, b.16b, a.4b[lane]`), so the arithmetic pipes run
//! 64 SDOTs for 8 flips instead of 16 SDOTs for 8 flips and 8 broadcasts (llvm-mca:
//! 0.50 of the SDOT-stream bound on Neoverse N1 before, see scripts/mca-kernels.sh).

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

pub const MR: usize = 8;
pub const NR: usize = 8;

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn sdot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    std::arch::asm!("sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b", acc = inout(vreg) acc, a = in(vreg) a, b = in(vreg) b, options(pure, nomem, nostack));
    acc
}

/// `acc += b . a.quad[LANE]` (four s8 products per i32 lane, the quad broadcast).
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn sdot_lane<const LANE: i32>(acc: int32x4_t, b: int8x16_t, a: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    std::arch::asm!(
        "sdot {acc:v}.4s, {b:v}.16b, {a:v}.4b[{lane}]",
        acc = inout(vreg) acc,
        b = in(vreg) b,
        a = in(vreg) a,
        lane = const LANE,
        options(pure, nomem, nostack)
    );
    acc
}

/// One k-quad (`LANE` of the rows' flipped activations) for all rows.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn quad<const LANE: i32>(t: &mut [[int32x4_t; 2]; MR], a: &[int8x16_t; MR], w: *const i8) {
    let (b0, b1) = (vld1q_s8(w), vld1q_s8(w.add(16)));
    for i in 0..MR {
        t[i][0] = sdot_lane::<LANE>(t[i][0], b0, a[i]);
        t[i][1] = sdot_lane::<LANE>(t[i][1], b1, a[i]);
    }
}

/// # Safety
/// As for the scalar kernel; the CPU must support the dot-product extension.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let flip = vdupq_n_u8(0x80);
    let mut t = [[vdupq_n_s32(0); 2]; MR];
    let mut w = w;
    let mut q = 0;
    while q + 4 <= kq {
        let av: [int8x16_t; MR] = std::array::from_fn(|i| {
            vreinterpretq_s8_u8(veorq_u8(vld1q_u8(rows[i].add(q * 4)), flip))
        });
        quad::<0>(&mut t, &av, w);
        quad::<1>(&mut t, &av, w.add(NR * 4));
        quad::<2>(&mut t, &av, w.add(2 * NR * 4));
        quad::<3>(&mut t, &av, w.add(3 * NR * 4));
        w = w.add(4 * NR * 4);
        q += 4;
    }
    while q < kq {
        let b0 = vld1q_s8(w);
        let b1 = vld1q_s8(w.add(16));
        w = w.add(NR * 4);
        for i in 0..MR {
            let quad = vreinterpretq_u8_u32(vdupq_n_u32(std::ptr::read_unaligned(
                rows[i].add(q * 4) as *const u32,
            )));
            let v = vreinterpretq_s8_u8(veorq_u8(quad, flip));
            t[i][0] = sdot(t[i][0], v, b0);
            t[i][1] = sdot(t[i][1], v, b1);
        }
        q += 1;
    }
    for (i, row) in t.iter().enumerate() {
        vst1q_s32(acc.add(i * NR), row[0]);
        vst1q_s32(acc.add(i * NR + 4), row[1]);
    }
}
