//! The f32 GEMM's configuration, as XNNPACK's `src/configs/`: which variants this
//! target has, fastest first, and which one runs on a CPU.

use super::*;

/// Every variant built for this target, fastest first.
pub fn variants() -> Vec<Variant> {
    Vec::from([
        #[cfg(target_arch = "x86_64")]
        Variant {
            name: "f32-gemm-8x32-avx512",
            mr: avx512_8x32::MR,
            nr: avx512_8x32::NR,
            ukernel: avx512_8x32::ukernel,
            supported: |i| i.avx512f,
            needs: "AVX-512F",
            in_order_only: false,
        },
        #[cfg(target_arch = "x86_64")]
        Variant {
            name: "f32-gemm-6x16-avx2",
            mr: avx2_6x16::MR,
            nr: avx2_6x16::NR,
            ukernel: avx2_6x16::ukernel,
            supported: |i| i.avx2_fma,
            needs: "AVX2 and FMA",
            in_order_only: false,
        },
        #[cfg(target_arch = "aarch64")]
        Variant {
            name: "f32-gemm-4x8-neon-a53",
            mr: neon_a53_4x8::MR,
            nr: neon_a53_4x8::NR,
            ukernel: neon_a53_4x8::ukernel,
            supported: |i| i.neon,
            needs: "NEON",
            in_order_only: true,
        },
        #[cfg(target_arch = "aarch64")]
        Variant {
            name: "f32-gemm-8x8-neon",
            mr: neon_8x8::MR,
            nr: neon_8x8::NR,
            ukernel: neon_8x8::ukernel,
            supported: |i| i.neon,
            needs: "NEON",
            in_order_only: false,
        },
        #[cfg(target_arch = "arm")]
        Variant {
            name: "f32-gemm-4x8-aarch32-neon",
            mr: aarch32_neon_4x8::MR,
            nr: aarch32_neon_4x8::NR,
            ukernel: aarch32_neon_4x8::ukernel,
            supported: |i| i.neon,
            needs: "NEON",
            in_order_only: false,
        },
        Variant {
            name: "f32-gemm-4x8-scalar",
            mr: scalar_4x8::MR,
            nr: scalar_4x8::NR,
            ukernel: scalar_4x8::ukernel,
            supported: |_| true,
            needs: "",
            in_order_only: false,
        },
    ])
}

/// The fastest variant this CPU supports on this kind of core.
pub fn best(isa: &Isa) -> Variant {
    let all = variants();
    all.iter()
        .copied()
        .find(|v| v.supported(isa) && (isa.in_order || !v.in_order_only))
        .unwrap_or(all[all.len() - 1])
}
