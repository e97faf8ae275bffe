//! x86-64 AVX-512 VNNI 6x64c4 micro-kernel: 24 zmm accumulators, four B vectors per
//! quad and one A broadcast per four `vpdpbusd` (half the broadcasts of 8x32c4), with
//! the requantization fused for full tiles.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub const MR: usize = 6;
pub const NR: usize = 64;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn accumulate(rows: &[*const u8; MR], kq: usize, w: *const i8) -> [[__m512i; 4]; MR] {
    let mut t = [[_mm512_setzero_si512(); 4]; MR];
    let mut w = w;
    for q in 0..kq {
        let b = [
            _mm512_loadu_si512(w as *const _),
            _mm512_loadu_si512(w.add(64) as *const _),
            _mm512_loadu_si512(w.add(128) as *const _),
            _mm512_loadu_si512(w.add(192) as *const _),
        ];
        w = w.add(NR * 4);
        for i in 0..MR {
            let v = _mm512_broadcastd_epi32(_mm_loadu_si32(rows[i].add(q * 4)));
            for (acc, bj) in t[i].iter_mut().zip(b) {
                *acc = _mm512_dpbusd_epi32(*acc, v, bj);
            }
        }
    }
    t
}

/// # Safety
/// As for the scalar kernel; the CPU must support AVX-512 VNNI and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let t = accumulate(&rows, kq, w);
    for (i, row) in t.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            _mm512_storeu_si512(acc.add(i * NR + j * 16) as *mut _, *v);
        }
    }
}

/// # Safety
/// As [`ukernel`] for a full tile; `bias` holds NR values; `c` is writable.
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
    let t = accumulate(&rows, kq, w);
    let b: [__m512i; 4] = std::array::from_fn(|j| _mm512_loadu_si512(bias.add(j * 16) as *const _));
    for (i, row) in t.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let q = super::requant::avx512::requant16_reg(_mm512_add_epi32(*v, b[j]), rq);
            _mm_storeu_si128(c.add(i * ldc + j * 16) as *mut __m128i, q);
        }
    }
}
