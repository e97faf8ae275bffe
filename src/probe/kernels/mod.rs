//! Inference kernels, laid out as XNNPACK lays them out: a folder per operation and
//! data type (`f32_gemm`, `qs8_gemm`, `f16_gemm`, `f32_conv3x3`, `qs8_conv3x3`,
//! `f32_dwconv`, `qs8_dwconv`), a file per variant named by tile and ISA where the
//! variants are hand-written, a scalar `reference.rs` beside them; what several
//! operations share (`window`: 3x3 windows and im2col; `dwconv_variant`) beside the
//! folders. Variants are chosen at run time from the detected [`isa::Isa`].
// BLAS-style kernel signatures (m, n, k, pointers, leading dimensions) are long by nature.
#![allow(clippy::too_many_arguments)]

pub mod dwconv_variant;
pub mod f16_gemm;
pub mod f32_conv3x3;
pub mod f32_dwconv;
pub mod f32_gemm;
pub mod isa;
pub mod mobilenet_v2;
pub mod parallel;
pub mod qs8_conv3x3;
pub mod qs8_dwconv;
pub mod qs8_gemm;
pub mod roofline;
pub mod selftest;
pub mod window;

pub use isa::Isa;
