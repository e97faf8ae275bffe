//! The naive quantized dense 3x3 convolution, written for obviousness, that the fast path is tested against.

use crate::probe::kernels::qs8_gemm::Requant;
use crate::probe::kernels::window::{out_size, taps};

/// Quantized dense 3x3; padding is the activation zero point (contributes zero).
pub fn conv3x3_q8(
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
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
            for co in 0..cout {
                let mut acc = bias.get(co).copied().unwrap_or(0);
                for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                    let Some(px) = px else { continue };
                    for ci in 0..cin {
                        let x = i32::from(input[px * cin + ci]) - i32::from(a_zp);
                        acc += x * i32::from(weights[(t * cin + ci) * cout + co]);
                    }
                }
                out[(oy * wo + ox) * cout + co] = rq.apply(acc);
            }
        }
    }
}
