//! Portable 4x8 micro-kernel: plain Rust the compiler may auto-vectorise.

pub const MR: usize = 4;
pub const NR: usize = 8;

/// # Safety
/// `a` points at `mr` rows of `k` floats `lda` apart, `w` at a packed `k x NR` panel,
/// `c` at an `MR x NR` writable tile with row stride `ldc`.
pub unsafe fn ukernel(
    mr: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const f32,
    c: *mut f32,
    ldc: usize,
) {
    let mut acc = [[0f32; NR]; MR];
    let rows: [*const f32; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    for p in 0..k {
        let b = std::slice::from_raw_parts(w.add(p * NR), NR);
        for i in 0..MR {
            let av = *rows[i].add(p);
            for j in 0..NR {
                acc[i][j] += av * b[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        std::ptr::copy_nonoverlapping(row.as_ptr(), c.add(i * ldc), NR);
    }
}
