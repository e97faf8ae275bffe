//! Quantized GEMM (and 1x1 convolution), QNNPACK/XNNPACK style: u8 activations with a
//! zero point, i8 weights packed once in k-quads, i32 accumulation, then one shared
//! requantization to u8 (Q31 multiplier, rounding shift, output zero point). Every
//! variant produces the exact i32 accumulator, so all are bit-exact with the reference.

#[cfg(target_arch = "arm")]
#[path = "2x8c4_aarch32_neon.rs"]
mod aarch32_neon_2x8c4;
#[cfg(target_arch = "x86_64")]
#[path = "4x16c4_avx2.rs"]
mod avx2_4x16c4;
#[cfg(target_arch = "x86_64")]
mod avx512vnni;
mod config;
#[cfg(target_arch = "aarch64")]
#[path = "8x8c4_neondot.rs"]
mod neondot_8x8c4;
#[cfg(target_arch = "aarch64")]
#[path = "8x8c4_neoni8mm.rs"]
mod neoni8mm_8x8c4;
#[cfg(target_arch = "aarch64")]
#[path = "4x8c4_neonmull.rs"]
mod neonmull_4x8c4;
pub mod reference;
mod requant;
#[path = "4x8_scalar.rs"]
mod scalar_4x8;
#[cfg(target_arch = "x86_64")]
#[path = "6x64c4_avx512vnni.rs"]
mod vnni_6x64c4;
#[cfg(target_arch = "x86_64")]
#[path = "8x32c4_avx512vnni.rs"]
mod vnni_8x32c4;

pub use requant::requantize_row;

pub use reference::Requant;

pub use config::{best, variants};

use super::isa::Isa;

type Ukernel = unsafe fn(usize, usize, *const u8, usize, *const i8, *mut i32);
/// A full-tile kernel with requantization fused: (kq, a, lda, w, bias, requant, c, ldc).
type FusedUkernel =
    unsafe fn(usize, *const u8, usize, *const i8, *const i32, &Requant, *mut u8, usize);
/// A full-tile kernel that stores i32 accumulators plus bias: (kq, a, lda, w, bias, c, ldc).
type FusedI32Ukernel = unsafe fn(usize, *const u8, usize, *const i8, *const i32, *mut i32, usize);

/// How a variant wants its weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Per quad: NR columns x 4 consecutive k.
    Plain,
    /// Per quad: the `b >> 1` panel row, then the `b - (b >> 1)` panel row.
    Split,
}

/// One micro-kernel, its tile and what its arithmetic requires.
#[derive(Clone, Copy)]
pub struct Variant {
    pub name: &'static str,
    pub mr: usize,
    pub nr: usize,
    ukernel: Ukernel,
    fused: Option<FusedUkernel>,
    fused_i32: Option<FusedI32Ukernel>,
    supported: fn(&Isa) -> bool,
    /// What the CPU must offer, in words (empty for the portable kernel).
    pub needs: &'static str,
    layout: Layout,
    /// Exact only when every weight is in [-64, 63].
    pub reduced_range_only: bool,
    /// Activations are fed as `a - 128` (signed dot products).
    shifted: bool,
}

impl std::fmt::Debug for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl Variant {
    pub fn supported(&self, isa: &Isa) -> bool {
        (self.supported)(isa)
    }
    /// `exact` or `reduced-range`: which arithmetic this variant performs.
    pub fn path(&self) -> &'static str {
        if self.reduced_range_only {
            "reduced-range"
        } else {
            "exact"
        }
    }
}

/// True when every weight is within [-64, 63], the range reduced-range kernels need.
pub fn weights_reduced(b: &[i8]) -> bool {
    b.iter().all(|&x| (-64..=63).contains(&x))
}

/// i8 weights (`k x n`) packed for one variant, with per-column sums for the
/// activation zero-point correction.
#[derive(Debug, Clone)]
pub struct PackedQB {
    pub k: usize,
    pub n: usize,
    pub nr: usize,
    kq: usize,
    layout: Layout,
    data: Vec<i8>,
    colsum: Vec<i32>,
    /// Every weight lies in [-64, 63].
    pub reduced: bool,
}

impl PackedQB {
    pub fn new(k: usize, n: usize, b: &[i8], ldb: usize, v: &Variant) -> Self {
        let nr = v.nr;
        let kq = k.div_ceil(4);
        let panels = n.div_ceil(nr);
        let copies = if v.layout == Layout::Split { 2 } else { 1 };
        let quad_bytes = nr * 4 * copies;
        let mut data = vec![0i8; panels * kq * quad_bytes];
        let mut colsum = vec![0i32; panels * nr];
        let mut reduced = true;
        for j in 0..n {
            let (panel, col) = (j / nr, j % nr);
            for p in 0..k {
                let x = b[p * ldb + j];
                reduced &= (-64..=63).contains(&x);
                colsum[j] += i32::from(x);
                let base = panel * kq * quad_bytes + (p / 4) * quad_bytes + col * 4 + p % 4;
                match v.layout {
                    Layout::Plain => data[base] = x,
                    Layout::Split => {
                        let lo = x >> 1;
                        data[base] = lo;
                        data[base + nr * 4] = x - lo;
                    }
                }
            }
        }
        PackedQB {
            k,
            n,
            nr,
            kq,
            layout: v.layout,
            data,
            colsum,
            reduced,
        }
    }

    pub fn bytes(&self) -> usize {
        self.data.len() + self.colsum.len() * 4
    }
}

/// Quantization parameters of one GEMM.
#[derive(Debug, Clone, Copy)]
pub struct QParams<'a> {
    pub a_zero_point: u8,
    /// Per output column, `n` entries (or empty for none).
    pub bias: &'a [i32],
    pub requant: Requant,
}

/// Where a GEMM's results go.
enum Out<'a> {
    /// Requantized to u8.
    U8 {
        c: &'a mut [u8],
        ldc: usize,
        requant: &'a Requant,
    },
    /// The i32 accumulators (plus bias), as onnxruntime's `MatMulInteger` returns them.
    I32 { c: &'a mut [i32], ldc: usize },
}

impl Out<'_> {
    fn ldc(&self) -> usize {
        match self {
            Out::U8 { ldc, .. } | Out::I32 { ldc, .. } => *ldc,
        }
    }
    fn len(&self) -> usize {
        match self {
            Out::U8 { c, .. } => c.len(),
            Out::I32 { c, .. } => c.len(),
        }
    }
}

/// `c[rows] = requant((a[rows] - a_zp) * B + bias)` for rows `m0..m1`. `a` holds rows of
/// `lda >= k` bytes; when `k` is not a multiple of 4 the rows are copied to a padded
/// scratch buffer first.
#[allow(clippy::too_many_arguments)]
pub fn gemm_rows(
    v: &Variant,
    m0: usize,
    m1: usize,
    a: &[u8],
    lda: usize,
    b: &PackedQB,
    q: &QParams,
    c: &mut [u8],
    ldc: usize,
) {
    let out = Out::U8 {
        c,
        ldc,
        requant: &q.requant,
    };
    drive(v, m0, m1, a, lda, b, q.a_zero_point, q.bias, out);
}

/// `c[rows] = (a[rows] - a_zero_point) * B + bias` as i32 for rows `m0..m1`: the same
/// work as onnxruntime's `MatMulInteger` (plus a bias), without requantization.
#[allow(clippy::too_many_arguments)]
pub fn gemm_rows_i32(
    v: &Variant,
    m0: usize,
    m1: usize,
    a: &[u8],
    lda: usize,
    b: &PackedQB,
    a_zero_point: u8,
    bias: &[i32],
    c: &mut [i32],
    ldc: usize,
) {
    drive(
        v,
        m0,
        m1,
        a,
        lda,
        b,
        a_zero_point,
        bias,
        Out::I32 { c, ldc },
    );
}

/// The tile loop both outputs share: full tiles go through the variant's fused kernel
/// for that output when it has one, every other tile through the i32 tile buffer.
#[allow(clippy::too_many_arguments)]
fn drive(
    v: &Variant,
    m0: usize,
    m1: usize,
    a: &[u8],
    lda: usize,
    b: &PackedQB,
    a_zero_point: u8,
    bias: &[i32],
    mut out: Out,
) {
    assert_eq!(
        (b.nr, b.layout),
        (v.nr, v.layout),
        "weights were packed for another variant"
    );
    let (k, n, nr, mr, kq) = (b.k, b.n, v.nr, v.mr, b.kq);
    if m1 <= m0 {
        return;
    }
    let ldc = out.ldc();
    assert!(
        (kq == 0 || a.len() >= (m1 - 1) * lda + k) && out.len() >= (m1 - 1) * ldc + n,
        "A or C too small"
    );
    let zp = i32::from(a_zero_point);
    let bias: Vec<i32> = (0..n)
        .map(|j| {
            let base = bias.get(j).copied().unwrap_or(0);
            if v.shifted {
                base + (128 - zp) * b.colsum[j]
            } else {
                base - zp * b.colsum[j]
            }
        })
        .collect();
    if kq == 0 {
        for i in m0..m1 {
            match &mut out {
                Out::U8 { c, requant, .. } => {
                    for j in 0..n {
                        c[i * ldc + j] = requant.apply(bias[j]);
                    }
                }
                Out::I32 { c, .. } => c[i * ldc..i * ldc + n].copy_from_slice(&bias),
            }
        }
        return;
    }
    // Rows are read in whole quads: pad them when k is not a multiple of 4.
    let padded: Vec<u8>;
    let (rows_src, row_stride, row_base) = if k % 4 == 0 {
        (a, lda, m0)
    } else {
        let mut buf = vec![0u8; (m1 - m0) * kq * 4];
        for (r, i) in (m0..m1).enumerate() {
            buf[r * kq * 4..r * kq * 4 + k].copy_from_slice(&a[i * lda..i * lda + k]);
        }
        padded = buf;
        (&padded[..], kq * 4, 0)
    };
    let quad_bytes = b.data.len() / (n.div_ceil(nr) * kq).max(1);
    let mut tile = [0i32; 8 * 64];
    let mut i = m0;
    while i < m1 {
        let rows = mr.min(m1 - i);
        for (pi, panel) in b.data.chunks(kq * quad_bytes).enumerate() {
            let j = pi * nr;
            let cols = nr.min(n - j);
            let full = rows == mr && cols == nr;
            // SAFETY: `rows` rows of kq*4 readable bytes start at this A row (padded
            // above when needed); the panel holds kq quads; the tile holds MR*NR i32;
            // a fused full tile writes exactly MR rows of NR values inside C.
            unsafe {
                let ap = rows_src.as_ptr().add((i - m0 + row_base) * row_stride);
                let fused_u8 = v.fused.filter(|_| full);
                let fused_i32 = v.fused_i32.filter(|_| full);
                match (&mut out, fused_u8, fused_i32) {
                    (Out::U8 { c, requant, .. }, Some(f), _) => {
                        let c = c.as_mut_ptr().add(i * ldc + j);
                        f(
                            kq,
                            ap,
                            row_stride,
                            panel.as_ptr(),
                            bias[j..].as_ptr(),
                            requant,
                            c,
                            ldc,
                        );
                        continue;
                    }
                    (Out::I32 { c, .. }, _, Some(f)) => {
                        let c = c.as_mut_ptr().add(i * ldc + j);
                        f(
                            kq,
                            ap,
                            row_stride,
                            panel.as_ptr(),
                            bias[j..].as_ptr(),
                            c,
                            ldc,
                        );
                        continue;
                    }
                    _ => {}
                }
                (v.ukernel)(rows, kq, ap, row_stride, panel.as_ptr(), tile.as_mut_ptr());
            }
            for r in 0..rows {
                let acc = &tile[r * nr..r * nr + cols];
                let at = (i + r) * ldc + j;
                match &mut out {
                    Out::U8 { c, requant, .. } => {
                        requantize_row(acc, &bias[j..j + cols], requant, &mut c[at..at + cols])
                    }
                    Out::I32 { c, .. } => {
                        for ((o, x), bj) in c[at..at + cols].iter_mut().zip(acc).zip(&bias[j..]) {
                            *o = x.wrapping_add(*bj);
                        }
                    }
                }
            }
        }
        i += mr;
    }
}

/// Over all `m` rows.
pub fn gemm(
    v: &Variant,
    m: usize,
    a: &[u8],
    lda: usize,
    b: &PackedQB,
    q: &QParams,
    c: &mut [u8],
    ldc: usize,
) {
    gemm_rows(v, 0, m, a, lda, b, q, c, ldc);
}

/// [`gemm_rows_i32`] over all `m` rows.
#[allow(clippy::too_many_arguments)]
pub fn gemm_i32(
    v: &Variant,
    m: usize,
    a: &[u8],
    lda: usize,
    b: &PackedQB,
    a_zero_point: u8,
    bias: &[i32],
    c: &mut [i32],
    ldc: usize,
) {
    gemm_rows_i32(v, 0, m, a, lda, b, a_zero_point, bias, c, ldc);
}
