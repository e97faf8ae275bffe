//! Quantized GEMM (and 1x1 convolution), QNNPACK/XNNPACK style: u8 activations with a
//! zero point, i8 weights packed once in k-quads, i32 accumulation, then one shared
//! requantization to u8 (Q31 multiplier, rounding shift, output zero point). Every
//! variant produces the exact i32 accumulator, so all are bit-exact with the reference.

#[cfg(target_arch = "x86_64")]
#[path = "4x16c4_avx2.rs"]
mod avx2_4x16c4;
#[cfg(target_arch = "x86_64")]
mod avx512vnni;
#[cfg(target_arch = "aarch64")]
#[path = "4x8c4_neon.rs"]
mod neon_4x8c4;
#[cfg(target_arch = "aarch64")]
#[path = "8x8c4_neondot.rs"]
mod neondot_8x8c4;
#[cfg(target_arch = "aarch64")]
#[path = "8x8c4_neoni8mm.rs"]
mod neoni8mm_8x8c4;
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

use super::isa::Isa;

type Ukernel = unsafe fn(usize, usize, *const u8, usize, *const i8, *mut i32);
/// A full-tile kernel with requantization fused: (kq, a, lda, w, bias, requant, c, ldc).
type FusedUkernel =
    unsafe fn(usize, *const u8, usize, *const i8, *const i32, &Requant, *mut u8, usize);

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
    supported: fn(&Isa) -> bool,
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

/// Every variant built for this target, fastest first.
pub fn variants() -> Vec<Variant> {
    #[allow(unused_mut)]
    let mut v: Vec<Variant> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        v.push(Variant {
            name: "qs8-gemm-6x64c4-avx512vnni",
            mr: vnni_6x64c4::MR,
            nr: vnni_6x64c4::NR,
            ukernel: vnni_6x64c4::ukernel,
            fused: Some(vnni_6x64c4::ukernel_fused),
            supported: |i| i.avx512vnni,
            layout: Layout::Plain,
            reduced_range_only: false,
            shifted: false,
        });
        v.push(Variant {
            name: "qs8-gemm-8x32c4-avx512vnni",
            mr: vnni_8x32c4::MR,
            nr: vnni_8x32c4::NR,
            ukernel: vnni_8x32c4::ukernel,
            fused: Some(vnni_8x32c4::ukernel_fused),
            supported: |i| i.avx512vnni,
            layout: Layout::Plain,
            reduced_range_only: false,
            shifted: false,
        });
        v.push(Variant {
            name: "qs8-gemm-4x16c4-avx2-reduced",
            mr: avx2_4x16c4::MR,
            nr: avx2_4x16c4::NR,
            ukernel: avx2_4x16c4::ukernel_reduced,
            fused: None,
            supported: |i| i.avx2_fma,
            layout: Layout::Plain,
            reduced_range_only: true,
            shifted: false,
        });
        v.push(Variant {
            name: "qs8-gemm-4x16c4-avx2-exact",
            mr: avx2_4x16c4::MR,
            nr: avx2_4x16c4::NR,
            ukernel: avx2_4x16c4::ukernel_exact,
            fused: None,
            supported: |i| i.avx2_fma,
            layout: Layout::Split,
            reduced_range_only: false,
            shifted: false,
        });
    }
    #[cfg(target_arch = "aarch64")]
    v.push(Variant {
        name: "qs8-gemm-8x8c4-neoni8mm",
        mr: neoni8mm_8x8c4::MR,
        nr: neoni8mm_8x8c4::NR,
        ukernel: neoni8mm_8x8c4::ukernel,
        fused: None,
        supported: |i| i.i8mm,
        layout: Layout::Plain,
        reduced_range_only: false,
        shifted: false,
    });
    #[cfg(target_arch = "aarch64")]
    {
        v.push(Variant {
            name: "qs8-gemm-8x8c4-neondot",
            mr: neondot_8x8c4::MR,
            nr: neondot_8x8c4::NR,
            ukernel: neondot_8x8c4::ukernel,
            fused: None,
            supported: |i| i.dotprod,
            layout: Layout::Plain,
            reduced_range_only: false,
            shifted: true,
        });
        v.push(Variant {
            name: "qs8-gemm-4x8c4-neon",
            mr: neon_4x8c4::MR,
            nr: neon_4x8c4::NR,
            ukernel: neon_4x8c4::ukernel,
            fused: None,
            supported: |i| i.neon,
            layout: Layout::Plain,
            reduced_range_only: false,
            shifted: false,
        });
    }
    v.push(Variant {
        name: "qs8-gemm-4x8c4-scalar",
        mr: scalar_4x8::MR,
        nr: scalar_4x8::NR,
        ukernel: scalar_4x8::ukernel,
        fused: None,
        supported: |_| true,
        layout: Layout::Plain,
        reduced_range_only: false,
        shifted: false,
    });
    v
}

/// The fastest variant that is exact for these weights on this CPU. With
/// `full_range_exact`, variants whose speed depends on reduced-range weights are skipped
/// even when the weights happen to fit.
///
/// `n` is the GEMM's column count: a tile wider than `n` would spend most of its work
/// on padding, so the first usable variant whose tile fits is preferred, else the
/// narrowest usable one.
pub fn best(isa: &Isa, weights_reduced: bool, full_range_exact: bool, n: usize) -> Variant {
    let all = variants();
    let usable: Vec<Variant> = all
        .iter()
        .copied()
        .filter(|v| {
            v.supported(isa) && (!v.reduced_range_only || (weights_reduced && !full_range_exact))
        })
        .collect();
    usable
        .iter()
        .copied()
        .find(|v| v.nr <= n.max(1))
        .or_else(|| usable.iter().copied().min_by_key(|v| v.nr))
        .unwrap_or(all[all.len() - 1])
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
    assert_eq!(
        (b.nr, b.layout),
        (v.nr, v.layout),
        "weights were packed for another variant"
    );
    let (k, n, nr, mr, kq) = (b.k, b.n, v.nr, v.mr, b.kq);
    if m1 <= m0 {
        return;
    }
    if kq == 0 {
        for i in m0..m1 {
            for j in 0..n {
                c[i * ldc + j] = q.requant.apply(q.bias.get(j).copied().unwrap_or(0));
            }
        }
        return;
    }
    assert!(
        a.len() >= (m1 - 1) * lda + k && c.len() >= (m1 - 1) * ldc + n,
        "A or C too small"
    );
    let zp = i32::from(q.a_zero_point);
    let bias: Vec<i32> = (0..n)
        .map(|j| {
            let base = q.bias.get(j).copied().unwrap_or(0);
            if v.shifted {
                base + (128 - zp) * b.colsum[j]
            } else {
                base - zp * b.colsum[j]
            }
        })
        .collect();
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
            // SAFETY: `rows` rows of kq*4 readable bytes start at this A row (padded
            // above when needed); the panel holds kq quads; the tile holds MR*NR i32;
            // a fused full tile writes exactly MR rows of NR bytes inside C.
            unsafe {
                let ap = rows_src.as_ptr().add((i - m0 + row_base) * row_stride);
                if let (Some(fused), true) = (v.fused, rows == mr && cols == nr) {
                    fused(
                        kq,
                        ap,
                        row_stride,
                        panel.as_ptr(),
                        bias[j..].as_ptr(),
                        &q.requant,
                        c.as_mut_ptr().add(i * ldc + j),
                        ldc,
                    );
                    continue;
                }
                (v.ukernel)(rows, kq, ap, row_stride, panel.as_ptr(), tile.as_mut_ptr());
            }
            for r in 0..rows {
                let out = &mut c[(i + r) * ldc + j..(i + r) * ldc + j + cols];
                requantize_row(
                    &tile[r * nr..r * nr + cols],
                    &bias[j..j + cols],
                    &q.requant,
                    out,
                );
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
