//! The scalar reference every f32 GEMM variant is tested against (f64 accumulation).

/// `c[m x n] = a[m x k] * b[k x n]`, all row-major with the given leading dimensions.
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f64;
            for p in 0..k {
                acc += f64::from(a[i * lda + p]) * f64::from(b[p * ldb + j]);
            }
            c[i * ldc + j] = acc as f32;
        }
    }
}
