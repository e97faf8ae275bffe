//! The naive quantized depthwise 3x3 convolution, written for obviousness, that the fast path is tested against.

use crate::probe::kernels::qs8_gemm::Requant;
use crate::probe::kernels::window::{out_size, taps};

/// Quantized depthwise 3x3.
pub fn dwconv3x3_q8(
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[u8],
    a_zp: u8,
    weights: &[i8],
    bias: &[i32],
    rq: &Requant,
    out: &mut [u8],
) {
    let (ho, wo) = (out_size(h, stride), out_size(w, stride));
    for oy in 0..ho {
        for ox in 0..wo {
            for ch in 0..c {
                let mut acc = bias.get(ch).copied().unwrap_or(0);
                for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                    if let Some(px) = px {
                        let x = i32::from(input[px * c + ch]) - i32::from(a_zp);
                        acc += x * i32::from(weights[t * c + ch]);
                    }
                }
                out[(oy * wo + ox) * c + ch] = rq.apply(acc);
            }
        }
    }
}
