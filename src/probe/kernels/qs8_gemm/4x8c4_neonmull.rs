//! aarch64 4x8c4 micro-kernel without dot product, on the signed widening multiply:
//! activations fed as `a - 128` (s8, one `eor` per row and four k-quads), then `smull` /
//! `smull2` of the row's quad (broadcast) by two columns' quads gives eight exact i16
//! products (|a*b| <= 16384) and `sadalp` adds them pairwise into i32. No operand is
//! widened first, so the arithmetic pipes see 32 instructions per 128
//! multiply-accumulates where the `mul` path needs 40. Exact for the full int8 range.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

pub const MR: usize = 4;
pub const NR: usize = 8;

/// One k-quad for every row: `quads[i]` holds row i's flipped quad in every lane.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn quad(t: &mut [[int32x4_t; 4]; MR], quads: &[int8x16_t; MR], w: *const i8) {
    let b0 = vld1q_s8(w);
    let b1 = vld1q_s8(w.add(16));
    for i in 0..MR {
        let av = quads[i];
        t[i][0] = vpadalq_s16(t[i][0], vmull_s8(vget_low_s8(av), vget_low_s8(b0)));
        t[i][1] = vpadalq_s16(t[i][1], vmull_high_s8(av, b0));
        t[i][2] = vpadalq_s16(t[i][2], vmull_s8(vget_low_s8(av), vget_low_s8(b1)));
        t[i][3] = vpadalq_s16(t[i][3], vmull_high_s8(av, b1));
    }
}

/// Lane `L` (one k-quad) of each row's four flipped quads, broadcast.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn lane<const L: i32>(rows: &[int8x16_t; MR]) -> [int8x16_t; MR] {
    std::array::from_fn(|i| {
        vreinterpretq_s8_u32(vdupq_laneq_u32::<L>(vreinterpretq_u32_s8(rows[i])))
    })
}

/// # Safety
/// As for the scalar kernel; NEON required.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let flip = vdupq_n_u8(0x80);
    // Per row, per column pair (0,1),(2,3),(4,5),(6,7): [c k01, c k23, c' k01, c' k23].
    let mut t = [[vdupq_n_s32(0); 4]; MR];
    let mut w = w;
    let mut q = 0;
    // Four k-quads per step: one 16-byte load and one flip per row.
    while q + 4 <= kq {
        let four: [int8x16_t; MR] = std::array::from_fn(|i| {
            vreinterpretq_s8_u8(veorq_u8(vld1q_u8(rows[i].add(q * 4)), flip))
        });
        quad(&mut t, &lane::<0>(&four), w);
        quad(&mut t, &lane::<1>(&four), w.add(NR * 4));
        quad(&mut t, &lane::<2>(&four), w.add(2 * NR * 4));
        quad(&mut t, &lane::<3>(&four), w.add(3 * NR * 4));
        w = w.add(4 * NR * 4);
        q += 4;
    }
    while q < kq {
        let one: [int8x16_t; MR] = std::array::from_fn(|i| {
            let quad = vreinterpretq_u8_u32(vdupq_n_u32(std::ptr::read_unaligned(
                rows[i].add(q * 4) as *const u32,
            )));
            vreinterpretq_s8_u8(veorq_u8(quad, flip))
        });
        quad(&mut t, &one, w);
        w = w.add(NR * 4);
        q += 1;
    }
    for (i, row) in t.iter().enumerate() {
        vst1q_s32(acc.add(i * NR), vpaddq_s32(row[0], row[1]));
        vst1q_s32(acc.add(i * NR + 4), vpaddq_s32(row[2], row[3]));
    }
}
