//! Memory bandwidth: copy and triad over buffers far larger than the LLC (STREAM style).

/// `dst = src`; returns bytes moved (read + write).
pub fn copy(dst: &mut [f32], src: &[f32]) -> u64 {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    std::hint::black_box(&dst);
    (n * 8) as u64
}

/// `a = b + s * c`; returns bytes moved (two reads, one write).
pub fn triad(a: &mut [f32], b: &[f32], c: &[f32], s: f32) -> u64 {
    let n = a.len().min(b.len()).min(c.len());
    for ((x, y), z) in a[..n].iter_mut().zip(&b[..n]).zip(&c[..n]) {
        *x = s.mul_add(*z, *y);
    }
    std::hint::black_box(&a);
    (n * 12) as u64
}
