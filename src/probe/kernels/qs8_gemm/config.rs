//! The int8 GEMM's configuration, as XNNPACK's `src/configs/`: which variants this
//! target has, fastest first, and which one runs for a CPU, weight range and width.

use super::*;

/// Every variant built for this target, fastest first.
// Which pushes exist depends on the target; on some only one precedes the last.
#[allow(clippy::vec_init_then_push)]
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
            fused_i32: Some(vnni_6x64c4::ukernel_i32),
            supported: |i| i.avx512vnni,
            needs: "AVX-512 VNNI",
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
            fused_i32: Some(vnni_8x32c4::ukernel_i32),
            supported: |i| i.avx512vnni,
            needs: "AVX-512 VNNI",
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
            fused_i32: None,
            supported: |i| i.avx2_fma,
            needs: "AVX2 and FMA",
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
            fused_i32: None,
            supported: |i| i.avx2_fma,
            needs: "AVX2 and FMA",
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
        fused_i32: None,
        supported: |i| i.i8mm,
        needs: "the I8MM extension",
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
            fused_i32: None,
            supported: |i| i.dotprod,
            needs: "the dot-product extension",
            layout: Layout::Plain,
            reduced_range_only: false,
            shifted: true,
        });
        v.push(Variant {
            name: "qs8-gemm-4x8c4-neonmull",
            mr: neonmull_4x8c4::MR,
            nr: neonmull_4x8c4::NR,
            ukernel: neonmull_4x8c4::ukernel,
            fused: None,
            fused_i32: None,
            supported: |i| i.neon,
            needs: "NEON",
            layout: Layout::Plain,
            reduced_range_only: false,
            shifted: true,
        });
    }
    #[cfg(target_arch = "arm")]
    v.push(Variant {
        name: "qs8-gemm-2x8c4-aarch32-neon",
        mr: aarch32_neon_2x8c4::MR,
        nr: aarch32_neon_2x8c4::NR,
        ukernel: aarch32_neon_2x8c4::ukernel,
        fused: None,
        fused_i32: None,
        supported: |i| i.neon,
        needs: "NEON",
        layout: Layout::Plain,
        reduced_range_only: false,
        shifted: true,
    });
    v.push(Variant {
        name: "qs8-gemm-4x8c4-scalar",
        mr: scalar_4x8::MR,
        nr: scalar_4x8::NR,
        ukernel: scalar_4x8::ukernel,
        fused: None,
        fused_i32: None,
        supported: |_| true,
        needs: "",
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
