//! The AVX-512 VNNI c4 tile body shared by the 8x32 and 6x64 variants: `MR` rows of
//! `NV` zmm accumulators (`NR = 16 * NV` columns). Each k-quad loads `NV` weight
//! vectors and broadcasts four activation bytes per row (a memory-operand
//! `vpbroadcastd`, no trip through a GPR); `vpdpbusd` multiplies u8 by i8 four at a
//! time into i32 with no intermediate saturation, so every tile is exact.
//!
//! Everything here is `inline(always)` and takes its CPU features from the variant's
//! `#[target_feature]` entry points.

use std::arch::x86_64::*;

#[inline(always)]
unsafe fn accumulate<const MR: usize, const NV: usize>(
    rows: &[*const u8; MR],
    kq: usize,
    w: *const i8,
) -> [[__m512i; NV]; MR] {
    let mut t = [[_mm512_setzero_si512(); NV]; MR];
    let mut w = w;
    for q in 0..kq {
        let b: [__m512i; NV] =
            std::array::from_fn(|j| _mm512_loadu_si512(w.add(j * 64) as *const _));
        w = w.add(NV * 64);
        for i in 0..MR {
            let v = _mm512_broadcastd_epi32(_mm_loadu_si32(rows[i].add(q * 4)));
            for (acc, bj) in t[i].iter_mut().zip(b) {
                *acc = _mm512_dpbusd_epi32(*acc, v, bj);
            }
        }
    }
    t
}

/// A full `MR`-row tile's accumulators plus `bias` (`16 * NV` values), in registers:
/// what both fused epilogues start from.
#[inline(always)]
unsafe fn full_tile_plus_bias<const MR: usize, const NV: usize>(
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    bias: *const i32,
) -> [[__m512i; NV]; MR] {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i * lda));
    let mut t = accumulate::<MR, NV>(&rows, kq, w);
    let b: [__m512i; NV] =
        std::array::from_fn(|j| _mm512_loadu_si512(bias.add(j * 16) as *const _));
    for row in t.iter_mut() {
        for (v, bj) in row.iter_mut().zip(b) {
            *v = _mm512_add_epi32(*v, bj);
        }
    }
    t
}

/// The i32 tile to `acc` (row stride `16 * NV`); rows past `mr` repeat the last one.
#[inline(always)]
pub unsafe fn ukernel<const MR: usize, const NV: usize>(
    mr: usize,
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    acc: *mut i32,
) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let t = accumulate::<MR, NV>(&rows, kq, w);
    for (i, row) in t.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            _mm512_storeu_si512(acc.add((i * NV + j) * 16) as *mut _, *v);
        }
    }
}

/// A full tile with the requantization fused into the epilogue: accumulators go from
/// registers through the shared gemmlowp arithmetic straight to `c` (u8, row stride `ldc`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn ukernel_fused<const MR: usize, const NV: usize>(
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    bias: *const i32,
    rq: &super::Requant,
    c: *mut u8,
    ldc: usize,
) {
    let t = full_tile_plus_bias::<MR, NV>(kq, a, lda, w, bias);
    for (i, row) in t.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let q = super::requant::avx512::requant16_reg(*v, rq);
            _mm_storeu_si128(c.add(i * ldc + j * 16) as *mut __m128i, q);
        }
    }
}

/// A full tile of accumulators plus `bias`, stored as i32 straight to `c` (row stride
/// `ldc`): no requantization, as onnxruntime's `MatMulInteger` returns them.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn ukernel_i32<const MR: usize, const NV: usize>(
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    bias: *const i32,
    c: *mut i32,
    ldc: usize,
) {
    let t = full_tile_plus_bias::<MR, NV>(kq, a, lda, w, bias);
    for (i, row) in t.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            _mm512_storeu_si512(c.add(i * ldc + j * 16) as *mut _, *v);
        }
    }
}
