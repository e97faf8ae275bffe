//! 3x3 windows over NHWC tensors (batch 1, padding 1, stride 1 or 2), shared by the
//! convolution kernels: output sizes, the input pixel under each tap, im2col, and the
//! geometry of a dense 3x3 layer whose GEMM runs over im2col rows.

/// Output size of a 3x3, pad-1 convolution.
pub fn out_size(input: usize, stride: usize) -> usize {
    (input + 2 - 3) / stride + 1
}

/// The input pixel (`iy * w + ix`) under each tap `ky * 3 + kx` of output pixel
/// `(oy, ox)`, or `None` where the tap falls in the padding.
#[inline(always)]
pub(crate) fn taps(h: usize, w: usize, stride: usize, oy: usize, ox: usize) -> [Option<usize>; 9] {
    std::array::from_fn(|t| {
        let iy = (oy * stride + t / 3).checked_sub(1)?;
        let ix = (ox * stride + t % 3).checked_sub(1)?;
        (iy < h && ix < w).then_some(iy * w + ix)
    })
}

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
pub(crate) struct Geometry<T> {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub stride: usize,
    /// The im2col rows, kept between runs.
    cols: Vec<T>,
}

impl<T: Copy + Default> Geometry<T> {
    pub fn new(h: usize, w: usize, cin: usize, cout: usize, stride: usize) -> Self {
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
    pub fn rows(&self) -> usize {
        out_size(self.h, self.stride) * out_size(self.w, self.stride)
    }
    /// The GEMM over the im2col rows: (rows, depth, columns).
    pub fn gemm_dims(&self) -> (usize, usize, usize) {
        (self.rows(), 9 * self.cin, self.cout)
    }
    /// im2col of `input` (out-of-image taps get `pad`): the GEMM's left-hand side.
    pub fn im2col(&mut self, input: &[T], pad: T) -> &[T] {
        let (h, w, cin, stride) = (self.h, self.w, self.cin, self.stride);
        im2col(h, w, cin, stride, input, pad, &mut self.cols);
        &self.cols
    }
}
