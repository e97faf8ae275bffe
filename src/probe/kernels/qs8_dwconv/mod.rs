//! Depthwise 3x3 convolution, u8 activations, i16-widened weights, requantized to u8, direct: for each output pixel, nine taps,
//! channels innermost so the loop vectorises; one body compiled per ISA
//! (`dwconv_variant`). `reference.rs` is the naive convolution.

pub mod reference;

use super::dwconv_variant::{mac_q8, multiversion, DwVariant};
use super::window::{out_size, taps};
use crate::probe::kernels::qs8_gemm::{requantize_row, Requant};

#[inline(always)]
fn body_q8(
    neon32: bool,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[u8],
    a_zp: u8,
    weights: &[i16],
    bias: &[i32],
    rq: &Requant,
    acc: &mut [i32],
    out: &mut [u8],
    oy0: usize,
    oy1: usize,
) {
    let wo = out_size(w, stride);
    for oy in oy0..oy1 {
        for ox in 0..wo {
            acc.fill(0);
            for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                if let Some(px) = px {
                    let x = &input[px * c..px * c + c];
                    mac_q8(neon32, acc, x, a_zp, &weights[t * c..t * c + c]);
                }
            }
            let at = ((oy - oy0) * wo + ox) * c;
            requantize_row(acc, bias, rq, &mut out[at..at + c]);
        }
    }
}

multiversion!(dispatch_q8, body_q8, (h: usize, w: usize, c: usize, stride: usize, input: &[u8], a_zp: u8, weights: &[i16], bias: &[i32], rq: &Requant, acc: &mut [i32], out: &mut [u8], oy0: usize, oy1: usize));

/// Quantized depthwise 3x3; `weights` widened to i16 once by the caller (packing).
#[allow(clippy::too_many_arguments)]
pub fn dwconv3x3_q8(
    v: DwVariant,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[u8],
    a_zp: u8,
    weights: &[i16],
    bias: &[i32],
    rq: &Requant,
    out: &mut [u8],
) {
    assert!(input.len() >= h * w * c && weights.len() >= 9 * c && bias.len() >= c);
    let ho = out_size(h, stride);
    dwconv3x3_q8_rows(
        v, h, w, c, stride, input, a_zp, weights, bias, rq, out, 0, ho,
    );
}

/// Output rows `oy0..oy1` only, written to `out` from its start.
pub fn dwconv3x3_q8_rows(
    v: DwVariant,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[u8],
    a_zp: u8,
    weights: &[i16],
    bias: &[i32],
    rq: &Requant,
    out: &mut [u8],
    oy0: usize,
    oy1: usize,
) {
    assert!(input.len() >= h * w * c && weights.len() >= 9 * c && bias.len() >= c);
    let oy1 = oy1.min(out_size(h, stride));
    assert!(out.len() >= oy1.saturating_sub(oy0) * out_size(w, stride) * c);
    let mut acc = vec![0i32; c];
    dispatch_q8(
        v,
        h,
        w,
        c,
        stride,
        input,
        a_zp,
        weights,
        bias,
        rq,
        &mut acc,
        out,
        oy0,
        oy1.max(oy0),
    );
}
