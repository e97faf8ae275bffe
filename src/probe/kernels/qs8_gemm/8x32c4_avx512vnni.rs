//! x86-64 AVX-512 VNNI 8x32c4 micro-kernel: `vpdpbusd` multiplies u8 activations by i8
//! weights four at a time into i32 with no intermediate saturation (exact).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub const MR: usize = 8;
pub const NR: usize = 32;

/// # Safety
/// As for the scalar kernel; the CPU must support AVX-512 VNNI and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let mut t = [[_mm512_setzero_si512(); 2]; MR];
    let mut w = w;
    for q in 0..kq {
        let b0 = _mm512_loadu_si512(w as *const _);
        let b1 = _mm512_loadu_si512(w.add(64) as *const _);
        w = w.add(NR * 4);
        for i in 0..MR {
            // A memory-operand broadcast (vpbroadcastd zmm, m32): no trip through a GPR.
            let v = _mm512_broadcastd_epi32(_mm_loadu_si32(rows[i].add(q * 4)));
            t[i][0] = _mm512_dpbusd_epi32(t[i][0], v, b0);
            t[i][1] = _mm512_dpbusd_epi32(t[i][1], v, b1);
        }
    }
    for (i, row) in t.iter().enumerate() {
        _mm512_storeu_si512(acc.add(i * NR) as *mut _, row[0]);
        _mm512_storeu_si512(acc.add(i * NR + 16) as *mut _, row[1]);
    }
}

/// The same tile with the requantization fused into the epilogue: accumulators go from
/// registers through the shared gemmlowp arithmetic straight to `c` (u8, row stride `ldc`).
///
/// # Safety
/// As [`ukernel`], for a full `MR x NR` tile; `bias` holds NR values; `c` is writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn ukernel_fused(
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    bias: *const i32,
    rq: &super::Requant,
    c: *mut u8,
    ldc: usize,
) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i * lda));
    let mut t = [[_mm512_setzero_si512(); 2]; MR];
    let mut w = w;
    for q in 0..kq {
        let b0 = _mm512_loadu_si512(w as *const _);
        let b1 = _mm512_loadu_si512(w.add(64) as *const _);
        w = w.add(NR * 4);
        for i in 0..MR {
            let v = _mm512_broadcastd_epi32(_mm_loadu_si32(rows[i].add(q * 4)));
            t[i][0] = _mm512_dpbusd_epi32(t[i][0], v, b0);
            t[i][1] = _mm512_dpbusd_epi32(t[i][1], v, b1);
        }
    }
    let (bias0, bias1) = (
        _mm512_loadu_si512(bias as *const _),
        _mm512_loadu_si512(bias.add(16) as *const _),
    );
    for (i, row) in t.iter().enumerate() {
        let lo = super::requant::avx512::requant16_reg(_mm512_add_epi32(row[0], bias0), rq);
        let hi = super::requant::avx512::requant16_reg(_mm512_add_epi32(row[1], bias1), rq);
        _mm_storeu_si128(c.add(i * ldc) as *mut __m128i, lo);
        _mm_storeu_si128(c.add(i * ldc + 16) as *mut __m128i, hi);
    }
}
