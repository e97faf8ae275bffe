//! x86-64 AVX-512 VNNI 8x32c4 micro-kernel: 16 zmm accumulators, two weight vectors
//! and one activation broadcast per two `vpdpbusd`; the narrow tile for N <= 32.

pub const MR: usize = 8;
pub const NR: usize = 32;

/// # Safety
/// As for the scalar kernel; the CPU must support AVX-512 VNNI and BW.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn ukernel(mr: usize, kq: usize, a: *const u8, lda: usize, w: *const i8, acc: *mut i32) {
    super::avx512vnni::ukernel::<MR, 2>(mr, kq, a, lda, w, acc)
}

/// # Safety
/// As [`ukernel`], for a full `MR x NR` tile; `bias` holds NR values; `c` is writable.
#[allow(clippy::too_many_arguments)]
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
    super::avx512vnni::ukernel_fused::<MR, 2>(kq, a, lda, w, bias, rq, c, ldc)
}

/// # Safety
/// As [`ukernel`], for a full `MR x NR` tile; `bias` holds NR values; `c` holds MR rows
/// of NR writable i32 at stride `ldc`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn ukernel_i32(
    kq: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    bias: *const i32,
    c: *mut i32,
    ldc: usize,
) {
    super::avx512vnni::ukernel_i32::<MR, 2>(kq, a, lda, w, bias, c, ldc)
}
