//! Portable 4x8 micro-kernel over k-quads: exact i32 accumulation.

pub const MR: usize = 4;
pub const NR: usize = 8;

/// # Safety
/// `a` points at `mr` rows of `kq * 4` bytes `lda` apart, `w` at a packed panel of `kq`
/// quads of `NR * 4` bytes, `acc` at `MR * NR` i32.
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    let mut t = [[0i32; NR]; MR];
    let rows: [*const u8; MR] = std::array::from_fn(|i| a.add(i.min(mr - 1) * lda));
    for q in 0..kq {
        let b = std::slice::from_raw_parts(w.add(q * NR * 4), NR * 4);
        for i in 0..MR {
            let av = std::slice::from_raw_parts(rows[i].add(q * 4), 4);
            for j in 0..NR {
                let bj = &b[j * 4..j * 4 + 4];
                t[i][j] += i32::from(av[0]) * i32::from(bj[0])
                    + i32::from(av[1]) * i32::from(bj[1])
                    + i32::from(av[2]) * i32::from(bj[2])
                    + i32::from(av[3]) * i32::from(bj[3]);
            }
        }
    }
    for (i, row) in t.iter().enumerate() {
        std::ptr::copy_nonoverlapping(row.as_ptr(), acc.add(i * NR), NR);
    }
}
