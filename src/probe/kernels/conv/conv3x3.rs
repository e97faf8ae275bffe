//! Dense 3x3 convolution as im2col + GEMM: each output pixel's 3x3xCin patch becomes
//! one GEMM row against the packed `[9*Cin][Cout]` weights. The im2col buffer is kept
//! between runs; its cost is part of what is measured, as it is in a real network.

use super::{out_size, taps};
use crate::probe::kernels::{f32_gemm, qs8_gemm, Isa};

/// Fill `cols` (`ho*wo` rows of `9*cin`) from NHWC `input`; out-of-image taps get `pad`.
pub fn im2col<T: Copy>(
    h: usize,
    w: usize,
    cin: usize,
    stride: usize,
    input: &[T],
    pad: T,
    cols: &mut [T],
) {
    let (ho, wo) = (out_size(h, stride), out_size(w, stride));
    let k = 9 * cin;
    for oy in 0..ho {
        for ox in 0..wo {
            let row = &mut cols[(oy * wo + ox) * k..(oy * wo + ox + 1) * k];
            for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                let dst = &mut row[t * cin..(t + 1) * cin];
                match px {
                    Some(px) => dst.copy_from_slice(&input[px * cin..px * cin + cin]),
                    None => dst.fill(pad),
                }
            }
        }
    }
}

/// An f32 3x3 convolution layer with packed weights.
pub struct Conv3x3F32 {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub stride: usize,
    pub variant: f32_gemm::Variant,
    weights: f32_gemm::PackedB,
    bias: Vec<f32>,
    cols: Vec<f32>,
}

impl Conv3x3F32 {
    /// `weights` is `[3][3][cin][cout]`.
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
        let rows = out_size(h, stride) * out_size(w, stride);
        Conv3x3F32 {
            h,
            w,
            cin,
            cout,
            stride,
            variant,
            weights: packed,
            bias: bias.to_vec(),
            cols: vec![0.0; rows * 9 * cin],
        }
    }

    pub fn out_len(&self) -> usize {
        out_size(self.h, self.stride) * out_size(self.w, self.stride) * self.cout
    }

    pub fn ops(&self) -> u64 {
        2 * (self.out_len() * 9 * self.cin) as u64
    }

    pub fn run(&mut self, input: &[f32], out: &mut [f32]) {
        im2col(
            self.h,
            self.w,
            self.cin,
            self.stride,
            input,
            0.0,
            &mut self.cols,
        );
        let rows = out_size(self.h, self.stride) * out_size(self.w, self.stride);
        f32_gemm::gemm(
            &self.variant,
            rows,
            &self.cols,
            9 * self.cin,
            &self.weights,
            out,
            self.cout,
        );
        if !self.bias.is_empty() {
            for px in out.chunks_mut(self.cout) {
                for (o, b) in px.iter_mut().zip(&self.bias) {
                    *o += b;
                }
            }
        }
    }
}

/// A quantized 3x3 convolution layer with packed weights.
pub struct Conv3x3Q8 {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub stride: usize,
    pub variant: qs8_gemm::Variant,
    weights: qs8_gemm::PackedQB,
    bias: Vec<i32>,
    pub a_zero_point: u8,
    pub requant: qs8_gemm::Requant,
    cols: Vec<u8>,
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
        let rows = out_size(h, stride) * out_size(w, stride);
        Conv3x3Q8 {
            h,
            w,
            cin,
            cout,
            stride,
            variant,
            weights: packed,
            bias: bias.to_vec(),
            a_zero_point,
            requant,
            cols: vec![0; rows * 9 * cin],
        }
    }

    pub fn out_len(&self) -> usize {
        out_size(self.h, self.stride) * out_size(self.w, self.stride) * self.cout
    }

    pub fn ops(&self) -> u64 {
        2 * (self.out_len() * 9 * self.cin) as u64
    }

    pub fn run(&mut self, input: &[u8], out: &mut [u8]) {
        im2col(
            self.h,
            self.w,
            self.cin,
            self.stride,
            input,
            self.a_zero_point,
            &mut self.cols,
        );
        let rows = out_size(self.h, self.stride) * out_size(self.w, self.stride);
        let q = qs8_gemm::QParams {
            a_zero_point: self.a_zero_point,
            bias: &self.bias,
            requant: self.requant,
        };
        qs8_gemm::gemm(
            &self.variant,
            rows,
            &self.cols,
            9 * self.cin,
            &self.weights,
            &q,
            out,
            self.cout,
        );
    }
}
