//! aarch64 8x8c4 micro-kernel on USDOT (ARMv8.6 int8 matrix-multiply extension):
//! u8 activations times s8 weights, four at a time, straight into i32. Unlike SDOT it
//! needs no shift of the activations and no bias correction. Exact for the full range.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

pub const MR: usize = 8;
pub const NR: usize = 8;

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn usdot(acc: int32x4_t, a: uint8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    std::arch::asm!("usdot {acc:v}.4s, {a:v}.16b, {b:v}.16b", acc = inout(vreg) acc, a = in(vreg) a, b = in(vreg) b, options(pure, nomem, nostack));
    acc
}

/// # Safety
/// As for the scalar kernel; the CPU must support the i8mm extension.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let mut t = [[vdupq_n_s32(0); 2]; MR];
    let mut w = w;
    for q in 0..kq {
        let b0 = vld1q_s8(w);
        let b1 = vld1q_s8(w.add(16));
        w = w.add(NR * 4);
        for i in 0..MR {
            let v = vreinterpretq_u8_u32(vld1q_dup_u32(rows[i].add(q * 4) as *const u32));
            t[i][0] = usdot(t[i][0], v, b0);
            t[i][1] = usdot(t[i][1], v, b1);
        }
    }
    for (i, row) in t.iter().enumerate() {
        vst1q_s32(acc.add(i * NR), row[0]);
        vst1q_s32(acc.add(i * NR + 4), row[1]);
    }
}
