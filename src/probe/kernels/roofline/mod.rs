//! Roofline probes: register-bound peak f32 FMA and peak int8 dot-product throughput
//! per core, and memory bandwidth on buffers far larger than the last-level cache.
//! Each returns the operations it performed so the harness can turn time into GOPS.

mod fma;
mod membw;

pub use fma::{peak_dot_i8, peak_fma_f32, PeakVariant};
pub use membw::{copy, triad};
