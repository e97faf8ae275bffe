//! x86-64 AVX2 4x16c4 micro-kernels on `vpmaddubsw` (u8 x i8 -> i16 pairs) then
//! `vpmaddwd` with ones (-> i32). `ukernel_reduced` is exact only when every weight is
//! in [-64, 63] (the FBGEMM/MLAS "reduce range" convention: the i16 pair sum cannot
//! saturate); `ukernel_exact` takes weights split as `lo = b >> 1`, `hi = b - lo`, both
//! within [-64, 64], and is exact for the full int8 range at twice the cost.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub const MR: usize = 4;
pub const NR: usize = 16;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn step(
    acc: &mut [[__m256i; 2]; MR],
    rows: &[*const u8; MR],
    q: usize,
    b0: __m256i,
    b1: __m256i,
    ones: __m256i,
) {
    for i in 0..MR {
        let v = _mm256_broadcastd_epi32(_mm_loadu_si32(rows[i].add(q * 4)));
        acc[i][0] = _mm256_add_epi32(
            acc[i][0],
            _mm256_madd_epi16(_mm256_maddubs_epi16(v, b0), ones),
        );
        acc[i][1] = _mm256_add_epi32(
            acc[i][1],
            _mm256_madd_epi16(_mm256_maddubs_epi16(v, b1), ones),
        );
    }
}

/// # Safety
/// As for the scalar kernel; AVX2 required; weights within [-64, 63].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn ukernel_reduced(
    mr: usize,
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    acc: *mut i32,
) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let ones = _mm256_set1_epi16(1);
    let mut t = [[_mm256_setzero_si256(); 2]; MR];
    let mut w = w;
    for q in 0..kq {
        let b0 = _mm256_loadu_si256(w as *const __m256i);
        let b1 = _mm256_loadu_si256(w.add(32) as *const __m256i);
        w = w.add(NR * 4);
        step(&mut t, &rows, q, b0, b1, ones);
    }
    store(&t, acc);
}

/// # Safety
/// As above; `w` holds, per quad, the `lo` panel row then the `hi` panel row (2 x 64 bytes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn ukernel_exact(
    mr: usize,
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    acc: *mut i32,
) {
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    let ones = _mm256_set1_epi16(1);
    let mut t = [[_mm256_setzero_si256(); 2]; MR];
    let mut w = w;
    for q in 0..kq {
        let lo0 = _mm256_loadu_si256(w as *const __m256i);
        let lo1 = _mm256_loadu_si256(w.add(32) as *const __m256i);
        let hi0 = _mm256_loadu_si256(w.add(64) as *const __m256i);
        let hi1 = _mm256_loadu_si256(w.add(96) as *const __m256i);
        w = w.add(NR * 8);
        step(&mut t, &rows, q, lo0, lo1, ones);
        step(&mut t, &rows, q, hi0, hi1, ones);
    }
    store(&t, acc);
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store(t: &[[__m256i; 2]; MR], acc: *mut i32) {
    for (i, row) in t.iter().enumerate() {
        _mm256_storeu_si256(acc.add(i * NR) as *mut __m256i, row[0]);
        _mm256_storeu_si256(acc.add(i * NR + 8) as *mut __m256i, row[1]);
    }
}
