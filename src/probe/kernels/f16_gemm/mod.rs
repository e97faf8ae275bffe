//! f16 GEMM: half-precision activations, weights, outputs and arithmetic (FP16 FMLA
//! into f16 accumulators, as XNNPACK's f16-gemm does). It only exists where the CPU
//! has half-precision arithmetic (aarch64 FEAT_FP16, `asimdhp`); elsewhere the suite
//! records it as skipped, since f16 storage with f32 arithmetic would measure f32.
//! Packing and the tile driver are the f32 GEMM's, over [`f16`] elements.

mod config;
#[cfg(target_arch = "aarch64")]
#[path = "8x16_neonfp16.rs"]
mod neonfp16_8x16;
pub mod reference;

use super::f32_gemm;
pub use config::{best, variants};

use super::isa::Isa;
pub use half::f16;

pub type Variant = f32_gemm::Variant<f16>;
pub type PackedB = f32_gemm::PackedB<f16>;
pub use f32_gemm::{gemm, gemm_rows};

/// Why a CPU has no f16 GEMM: the skip reason the suite records.
pub const UNSUPPORTED: &str = "no half-precision arithmetic on this CPU (needs the aarch64 FP16 extension, asimdhp); f16 storage with f32 arithmetic would measure f32";
