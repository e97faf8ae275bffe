//! Inference kernels, laid out as XNNPACK lays them out: a folder per operation and
//! data type, a file per variant named by tile and ISA, a scalar `reference.rs`
//! beside them. Variants are chosen at run time from the detected [`isa::Isa`].
// BLAS-style kernel signatures (m, n, k, pointers, leading dimensions) are long by nature.
#![allow(clippy::too_many_arguments)]

pub mod conv;
pub mod f16_gemm;
pub mod f32_gemm;
pub mod isa;
pub mod mobilenet_v2;
pub mod qs8_gemm;
pub mod roofline;
pub mod selftest;

pub use isa::Isa;
