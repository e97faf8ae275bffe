//! Convolutions over NHWC tensors (batch 1), 3x3 kernels, padding 1, stride 1 or 2:
//! the dense 3x3 convolution through im2col and the GEMMs, and the depthwise 3x3
//! convolution as a direct kernel. f32 and int8, each with a naive reference.

mod conv3x3;
mod dwconv3x3;
pub mod reference;

pub use conv3x3::im2col;
pub use conv3x3::{Conv3x3F32, Conv3x3Q8};
pub use dwconv3x3::{
    dwconv3x3_f32, dwconv3x3_f32_rows, dwconv3x3_q8, dwconv3x3_q8_rows, DwVariant,
};

/// Output size of a 3x3, pad-1 convolution.
pub fn out_size(input: usize, stride: usize) -> usize {
    (input + 2 - 3) / stride + 1
}

/// The input pixel (`iy * w + ix`) under each tap `ky * 3 + kx` of output pixel
/// `(oy, ox)`, or `None` where the tap falls in the padding.
#[inline(always)]
fn taps(h: usize, w: usize, stride: usize, oy: usize, ox: usize) -> [Option<usize>; 9] {
    std::array::from_fn(|t| {
        let iy = (oy * stride + t / 3).checked_sub(1)?;
        let ix = (ox * stride + t % 3).checked_sub(1)?;
        (iy < h && ix < w).then_some(iy * w + ix)
    })
}
