//! x86-64 AVX2 + FMA 6x16 micro-kernel: 12 accumulators, two B vectors, one A broadcast.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub const MR: usize = 6;
pub const NR: usize = 16;

/// # Safety
/// As for the scalar kernel; the CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn ukernel(
    mr: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const f32,
    c: *mut f32,
    ldc: usize,
) {
    // Rows past `mr` re-read the last valid row; their results are discarded by the caller.
    let a0 = a;
    let a1 = a.add(1.min(mr - 1) * lda);
    let a2 = a.add(2.min(mr - 1) * lda);
    let a3 = a.add(3.min(mr - 1) * lda);
    let a4 = a.add(4.min(mr - 1) * lda);
    let a5 = a.add(5.min(mr - 1) * lda);
    let (mut c00, mut c01, mut c10, mut c11) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let (mut c20, mut c21, mut c30, mut c31) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let (mut c40, mut c41, mut c50, mut c51) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let mut w = w;
    for p in 0..k {
        let b0 = _mm256_loadu_ps(w);
        let b1 = _mm256_loadu_ps(w.add(8));
        w = w.add(NR);
        let v = _mm256_broadcast_ss(&*a0.add(p));
        c00 = _mm256_fmadd_ps(v, b0, c00);
        c01 = _mm256_fmadd_ps(v, b1, c01);
        let v = _mm256_broadcast_ss(&*a1.add(p));
        c10 = _mm256_fmadd_ps(v, b0, c10);
        c11 = _mm256_fmadd_ps(v, b1, c11);
        let v = _mm256_broadcast_ss(&*a2.add(p));
        c20 = _mm256_fmadd_ps(v, b0, c20);
        c21 = _mm256_fmadd_ps(v, b1, c21);
        let v = _mm256_broadcast_ss(&*a3.add(p));
        c30 = _mm256_fmadd_ps(v, b0, c30);
        c31 = _mm256_fmadd_ps(v, b1, c31);
        let v = _mm256_broadcast_ss(&*a4.add(p));
        c40 = _mm256_fmadd_ps(v, b0, c40);
        c41 = _mm256_fmadd_ps(v, b1, c41);
        let v = _mm256_broadcast_ss(&*a5.add(p));
        c50 = _mm256_fmadd_ps(v, b0, c50);
        c51 = _mm256_fmadd_ps(v, b1, c51);
    }
    for (i, (lo, hi)) in [
        (c00, c01),
        (c10, c11),
        (c20, c21),
        (c30, c31),
        (c40, c41),
        (c50, c51),
    ]
    .into_iter()
    .enumerate()
    {
        _mm256_storeu_ps(c.add(i * ldc), lo);
        _mm256_storeu_ps(c.add(i * ldc + 8), hi);
    }
}
