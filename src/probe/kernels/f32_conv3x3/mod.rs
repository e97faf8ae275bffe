//! Dense 3x3 convolution as im2col + GEMM: each output pixel's 3x3xCin patch becomes
//! one GEMM row against the packed `[9*Cin][Cout]` weights. The im2col buffer is kept
//! between runs; its cost is part of what is measured, as it is in a real network.
//! The GEMM variant is the best the CPU has; `reference.rs` is the naive convolution.

pub mod reference;

use super::window::Geometry;
use super::{f32_gemm, Isa};

/// An f32 3x3 convolution layer with packed weights.
pub struct Conv3x3F32 {
    pub variant: f32_gemm::Variant,
    geometry: Geometry<f32>,
    weights: f32_gemm::PackedB,
    bias: Vec<f32>,
}

impl Conv3x3F32 {
    /// `weights` is `[3][3][cin][cout]`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        isa: &Isa,
        h: usize,
        w: usize,
        cin: usize,
        cout: usize,
        stride: usize,
        weights: &[f32],
        bias: &[f32],
    ) -> Self {
        let variant = f32_gemm::best(isa);
        let packed = f32_gemm::PackedB::new(9 * cin, cout, weights, cout, variant.nr);
        Conv3x3F32 {
            variant,
            geometry: Geometry::new(h, w, cin, cout, stride),
            weights: packed,
            bias: bias.to_vec(),
        }
    }

    pub fn run(&mut self, input: &[f32], out: &mut [f32]) {
        let (rows, k, cout) = self.geometry.gemm_dims();
        let cols = self.geometry.im2col(input, 0.0);
        f32_gemm::gemm(&self.variant, rows, cols, k, &self.weights, out, cout);
        if !self.bias.is_empty() {
            for px in out.chunks_mut(cout) {
                for (o, b) in px.iter_mut().zip(&self.bias) {
                    *o += b;
                }
            }
        }
    }
}
