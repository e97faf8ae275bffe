//! aarch64 NEON 4x8c4 micro-kernel without dot product: widen u8 and i8 to i16,
//! multiply (|a*b| <= 32640 fits i16), and pairwise-accumulate into i32 with
//! `vpadalq_s16`. Exact for the full int8 range.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

pub const MR: usize = 4;
pub const NR: usize = 8;

/// # Safety
/// As for the scalar kernel; NEON required.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    // Per row, 4 vectors of [c_a, c_b, c'_a, c'_b] partial sums for columns (0,1),(2,3),(4,5),(6,7).
    let mut t = [[vdupq_n_s32(0); 4]; MR];
    let mut w = w;
    for q in 0..kq {
        let b0 = vld1q_s8(w);
        let b1 = vld1q_s8(w.add(16));
        w = w.add(NR * 4);
        let bw = [
            vmovl_s8(vget_low_s8(b0)),
            vmovl_s8(vget_high_s8(b0)),
            vmovl_s8(vget_low_s8(b1)),
            vmovl_s8(vget_high_s8(b1)),
        ];
        for i in 0..MR {
            let quad = vreinterpret_u8_u32(vdup_n_u32(std::ptr::read_unaligned(
                rows[i].add(q * 4) as *const u32,
            )));
            let av = vreinterpretq_s16_u16(vmovl_u8(quad));
            for (g, b) in bw.iter().enumerate() {
                t[i][g] = vpadalq_s16(t[i][g], vmulq_s16(av, *b));
            }
        }
    }
    for (i, row) in t.iter().enumerate() {
        // [c0a,c0b,c1a,c1b] + [c2a,c2b,c3a,c3b] -> pairwise -> [c0,c1,c2,c3]
        vst1q_s32(acc.add(i * NR), vpaddq_s32(row[0], row[1]));
        vst1q_s32(acc.add(i * NR + 4), vpaddq_s32(row[2], row[3]));
    }
}
