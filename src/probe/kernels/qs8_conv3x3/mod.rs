//! Quantized dense 3x3 convolution (u8 activations, i8 weights, gemmlowp requantization) as im2col + GEMM: each output pixel's 3x3xCin patch becomes
//! one GEMM row against the packed `[9*Cin][Cout]` weights. The im2col buffer is kept
//! between runs; its cost is part of what is measured, as it is in a real network.
//! The GEMM variant is the best the CPU has; `reference.rs` is the naive convolution.

pub mod reference;

use super::window::Geometry;
use super::{qs8_gemm, Isa};

/// A quantized 3x3 convolution layer with packed weights.
pub struct Conv3x3Q8 {
    pub variant: qs8_gemm::Variant,
    geometry: Geometry<u8>,
    weights: qs8_gemm::PackedQB,
    bias: Vec<i32>,
    pub a_zero_point: u8,
    pub requant: qs8_gemm::Requant,
}

impl Conv3x3Q8 {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        isa: &Isa,
        h: usize,
        w: usize,
        cin: usize,
        cout: usize,
        stride: usize,
        weights: &[i8],
        bias: &[i32],
        a_zero_point: u8,
        requant: qs8_gemm::Requant,
    ) -> Self {
        let variant = qs8_gemm::best(isa, qs8_gemm::weights_reduced(weights), false, cout);
        let packed = qs8_gemm::PackedQB::new(9 * cin, cout, weights, cout, &variant);
        Conv3x3Q8 {
            variant,
            geometry: Geometry::new(h, w, cin, cout, stride),
            weights: packed,
            bias: bias.to_vec(),
            a_zero_point,
            requant,
        }
    }

    pub fn run(&mut self, input: &[u8], out: &mut [u8]) {
        let (rows, k, cout) = self.geometry.gemm_dims();
        let q = qs8_gemm::QParams {
            a_zero_point: self.a_zero_point,
            bias: &self.bias,
            requant: self.requant,
        };
        // Padding is the activations' zero point: a real zero.
        let cols = self.geometry.im2col(input, self.a_zero_point);
        qs8_gemm::gemm(&self.variant, rows, cols, k, &self.weights, &q, out, cout);
    }
}
