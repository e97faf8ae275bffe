//! aarch64 NEON 8x8 micro-kernel: 16 accumulators, lane-indexed FMA.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

pub const MR: usize = 8;
pub const NR: usize = 8;

/// # Safety
/// As for the scalar kernel; the CPU must support NEON (every aarch64 CPU does).
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
pub unsafe fn ukernel(
    mr: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const f32,
    c: *mut f32,
    ldc: usize,
) {
    let rows: [*const f32; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let mut acc = [[vdupq_n_f32(0.0); 2]; MR];
    let mut w = w;
    for p in 0..k {
        let b0 = vld1q_f32(w);
        let b1 = vld1q_f32(w.add(4));
        w = w.add(NR);
        for i in 0..MR {
            let v = vdupq_n_f32(*rows[i].add(p));
            acc[i][0] = vfmaq_f32(acc[i][0], b0, v);
            acc[i][1] = vfmaq_f32(acc[i][1], b1, v);
        }
    }
    for (i, row) in acc.iter().enumerate() {
        vst1q_f32(c.add(i * ldc), row[0]);
        vst1q_f32(c.add(i * ldc + 4), row[1]);
    }
}
