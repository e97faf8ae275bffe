//! The naive depthwise 3x3 convolution, written for obviousness, that the fast path is tested against.

use crate::probe::kernels::window::{out_size, taps};

/// Depthwise 3x3: `w` is `[3][3][c]`.
pub fn dwconv3x3_f32(
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    let (ho, wo) = (out_size(h, stride), out_size(w, stride));
    for oy in 0..ho {
        for ox in 0..wo {
            for ch in 0..c {
                let mut acc = f64::from(bias.get(ch).copied().unwrap_or(0.0));
                for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                    if let Some(px) = px {
                        acc += f64::from(input[px * c + ch]) * f64::from(weights[t * c + ch]);
                    }
                }
                out[(oy * wo + ox) * c + ch] = acc as f32;
            }
        }
    }
}
