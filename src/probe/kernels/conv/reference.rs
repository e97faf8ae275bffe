//! Naive convolutions, written for obviousness, that the fast paths are tested against.

use super::{out_size, taps};
use crate::probe::kernels::qs8_gemm::Requant;

/// Dense 3x3: `w` is `[3][3][cin][cout]`, input `[h][w][cin]`, output `[ho][wo][cout]`.
pub fn conv3x3_f32(
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
    stride: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    let (ho, wo) = (out_size(h, stride), out_size(w, stride));
    for oy in 0..ho {
        for ox in 0..wo {
            for co in 0..cout {
                let mut acc = f64::from(bias.get(co).copied().unwrap_or(0.0));
                for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                    let Some(px) = px else { continue };
                    for ci in 0..cin {
                        acc += f64::from(input[px * cin + ci])
                            * f64::from(weights[(t * cin + ci) * cout + co]);
                    }
                }
                out[(oy * wo + ox) * cout + co] = acc as f32;
            }
        }
    }
}

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
