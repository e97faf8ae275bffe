//! f32 GEMM (and 1x1 convolution): `C = A * B` with B packed once, as inference
//! weights are. Micro-kernels per ISA read A rows directly (XNNPACK style); edge
//! tiles go through a local buffer. Variants are chosen at run time. The packing and
//! tile driver are generic over the element type: the f16 GEMM reuses them.

#[cfg(target_arch = "arm")]
#[path = "4x8_aarch32_neon.rs"]
mod aarch32_neon_4x8;
#[cfg(target_arch = "x86_64")]
#[path = "6x16_avx2.rs"]
mod avx2_6x16;
#[cfg(target_arch = "x86_64")]
#[path = "8x32_avx512.rs"]
mod avx512_8x32;
mod config;
#[cfg(target_arch = "aarch64")]
#[path = "8x8_neon.rs"]
mod neon_8x8;
#[cfg(target_arch = "aarch64")]
#[path = "4x8_neon_a53.rs"]
mod neon_a53_4x8;
pub mod reference;
#[path = "4x8_scalar.rs"]
mod scalar_4x8;

pub use config::{best, variants};

use super::isa::Isa;

/// `ukernel(rows, k, a, lda, packed_panel, c, ldc)`: a full `mr x nr` tile of C from
/// `rows <= mr` rows of A (the rest read row `rows - 1` again and are discarded).
pub type Ukernel<T> = unsafe fn(usize, usize, *const T, usize, *const T, *mut T, usize);

/// One micro-kernel and its tile.
#[derive(Clone, Copy)]
pub struct Variant<T = f32> {
    pub name: &'static str,
    pub mr: usize,
    pub nr: usize,
    pub(crate) ukernel: Ukernel<T>,
    pub(crate) supported: fn(&Isa) -> bool,
    /// What the CPU must offer, in words (empty for the portable kernel).
    pub needs: &'static str,
    /// Scheduled for in-order cores: dispatched only there (the self-test runs it on
    /// any CPU that supports it).
    pub in_order_only: bool,
}

impl<T> std::fmt::Debug for Variant<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl<T> Variant<T> {
    pub fn supported(&self, isa: &Isa) -> bool {
        (self.supported)(isa)
    }
}

/// B (`k x n`) repacked into `nr`-wide column panels, zero-padded: one panel is
/// `k * nr` contiguous floats, row `p` of the panel being `b[p][j0..j0+nr]`.
#[derive(Debug, Clone)]
pub struct PackedB<T = f32> {
    pub k: usize,
    pub n: usize,
    pub nr: usize,
    data: Vec<T>,
}

impl<T: Copy + Default> PackedB<T> {
    pub fn new(k: usize, n: usize, b: &[T], ldb: usize, nr: usize) -> Self {
        let panels = n.div_ceil(nr);
        let mut data = vec![T::default(); panels * k * nr];
        for (pi, panel) in data
            .chunks_mut((k * nr).max(1))
            .enumerate()
            .take(if k == 0 { 0 } else { panels })
        {
            let j0 = pi * nr;
            let width = nr.min(n - j0);
            for p in 0..k {
                panel[p * nr..p * nr + width]
                    .copy_from_slice(&b[p * ldb + j0..p * ldb + j0 + width]);
            }
        }
        PackedB { k, n, nr, data }
    }

    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(self.data.as_slice())
    }
}

/// `c[rows] = a[rows] * B` for rows `m0..m1` of A and C. `a` holds `m` rows of
/// `lda >= k` elements; `c` holds rows of `ldc >= n`.
pub fn gemm_rows<T: Copy + Default>(
    v: &Variant<T>,
    m0: usize,
    m1: usize,
    a: &[T],
    lda: usize,
    b: &PackedB<T>,
    c: &mut [T],
    ldc: usize,
) {
    assert_eq!(b.nr, v.nr, "B was packed for another variant");
    let (k, n, nr, mr) = (b.k, b.n, v.nr, v.mr);
    assert!(
        k == 0 || a.len() >= (m1.max(1) - 1) * lda + k,
        "A too small"
    );
    assert!(m1 == 0 || c.len() >= (m1 - 1) * ldc + n, "C too small");
    if k == 0 {
        for i in m0..m1 {
            c[i * ldc..i * ldc + n].fill(T::default());
        }
        return;
    }
    let mut tile = [T::default(); 8 * 32];
    debug_assert!(mr * nr <= tile.len());
    let mut i = m0;
    while i < m1 {
        let rows = mr.min(m1 - i);
        for (pi, panel) in b.data.chunks(k * nr).enumerate() {
            let j = pi * nr;
            let cols = nr.min(n - j);
            // SAFETY: `rows` rows of A from `i` exist (checked above); the panel holds
            // k*nr elements; full tiles write inside C, partial tiles into `tile`.
            unsafe {
                let ap = a.as_ptr().add(i * lda);
                if rows == mr && cols == nr {
                    (v.ukernel)(
                        rows,
                        k,
                        ap,
                        lda,
                        panel.as_ptr(),
                        c.as_mut_ptr().add(i * ldc + j),
                        ldc,
                    );
                } else {
                    (v.ukernel)(rows, k, ap, lda, panel.as_ptr(), tile.as_mut_ptr(), nr);
                    for r in 0..rows {
                        c[(i + r) * ldc + j..(i + r) * ldc + j + cols]
                            .copy_from_slice(&tile[r * nr..r * nr + cols]);
                    }
                }
            }
        }
        i += mr;
    }
}

/// `C = A * B` over all `m` rows.
pub fn gemm<T: Copy + Default>(
    v: &Variant<T>,
    m: usize,
    a: &[T],
    lda: usize,
    b: &PackedB<T>,
    c: &mut [T],
    ldc: usize,
) {
    gemm_rows(v, 0, m, a, lda, b, c, ldc);
}
