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

/// The geometry of one 3x3 convolution layer (NHWC, pad 1) and its im2col buffer.
struct Geometry<T> {
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
    stride: usize,
    /// The im2col rows, kept between runs.
    cols: Vec<T>,
}

impl<T: Copy + Default> Geometry<T> {
    fn new(h: usize, w: usize, cin: usize, cout: usize, stride: usize) -> Self {
        let rows = out_size(h, stride) * out_size(w, stride);
        Geometry {
            h,
            w,
            cin,
            cout,
            stride,
            cols: vec![T::default(); rows * 9 * cin],
        }
    }
    /// Output pixels: the GEMM's rows.
    fn rows(&self) -> usize {
        out_size(self.h, self.stride) * out_size(self.w, self.stride)
    }
    fn out_len(&self) -> usize {
        self.rows() * self.cout
    }
    fn ops(&self) -> u64 {
        2 * (self.out_len() * 9 * self.cin) as u64
    }
    /// im2col of `input` (out-of-image taps get `pad`): the GEMM's left-hand side.
    fn im2col(&mut self, input: &[T], pad: T) -> &[T] {
        let (h, w, cin, stride) = (self.h, self.w, self.cin, self.stride);
        im2col(h, w, cin, stride, input, pad, &mut self.cols);
        &self.cols
    }
}

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

    pub fn out_len(&self) -> usize {
        self.geometry.out_len()
    }

    pub fn ops(&self) -> u64 {
        self.geometry.ops()
    }

    pub fn run(&mut self, input: &[f32], out: &mut [f32]) {
        let (rows, k, cout) = (
            self.geometry.rows(),
            9 * self.geometry.cin,
            self.geometry.cout,
        );
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

    pub fn out_len(&self) -> usize {
        self.geometry.out_len()
    }

    pub fn ops(&self) -> u64 {
        self.geometry.ops()
    }

    pub fn run(&mut self, input: &[u8], out: &mut [u8]) {
        let (rows, k, cout) = (
            self.geometry.rows(),
            9 * self.geometry.cin,
            self.geometry.cout,
        );
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
