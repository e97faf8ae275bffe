//! x86-64 AVX-512F 8x32 micro-kernel: 16 zmm accumulators, two B vectors, one broadcast.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub const MR: usize = 8;
pub const NR: usize = 32;

/// # Safety
/// As for the scalar kernel; the CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
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
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let mut w = w;
    for p in 0..k {
        let b0 = _mm512_loadu_ps(w);
        let b1 = _mm512_loadu_ps(w.add(16));
        w = w.add(NR);
        for i in 0..MR {
            let v = _mm512_set1_ps(*rows[i].add(p));
            acc[i][0] = _mm512_fmadd_ps(v, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(v, b1, acc[i][1]);
        }
    }
    for (i, row) in acc.iter().enumerate() {
        _mm512_storeu_ps(c.add(i * ldc), row[0]);
        _mm512_storeu_ps(c.add(i * ldc + 16), row[1]);
    }
}
