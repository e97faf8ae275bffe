//! The f16 GEMM's configuration, as XNNPACK's `src/configs/`: which variants this
//! target has (none off aarch64) and which one runs on a CPU.

use super::*;

/// Every variant built for this target, fastest first (none off aarch64).
pub fn variants() -> Vec<Variant> {
    Vec::from([
        #[cfg(target_arch = "aarch64")]
        Variant {
            name: "f16-gemm-8x16-neonfp16",
            mr: neonfp16_8x16::MR,
            nr: neonfp16_8x16::NR,
            ukernel: neonfp16_8x16::ukernel,
            supported: |i| i.neon && i.fp16,
            needs: "NEON FP16 arithmetic",
            in_order_only: false,
        },
    ])
}

/// The fastest variant this CPU supports, if it has half-precision arithmetic.
pub fn best(isa: &Isa) -> Option<Variant> {
    variants().into_iter().find(|v| v.supported(isa))
}
