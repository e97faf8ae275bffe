//! Depthwise 3x3 convolution, f32, direct: for each output pixel, nine taps,
//! channels innermost so the loop vectorises; one body compiled per ISA
//! (`dwconv_variant`). `reference.rs` is the naive convolution.

pub mod reference;

use super::dwconv_variant::{mac_f32, multiversion, DwVariant};
use super::window::{out_size, taps};

#[inline(always)]
fn body_f32(
    neon32: bool,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
    oy0: usize,
    oy1: usize,
) {
    let wo = out_size(w, stride);
    for oy in oy0..oy1 {
        for ox in 0..wo {
            let at = ((oy - oy0) * wo + ox) * c;
            let o = &mut out[at..at + c];
            o.copy_from_slice(&bias[..c]);
            for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                if let Some(px) = px {
                    let x = &input[px * c..px * c + c];
                    mac_f32(neon32, o, x, &weights[t * c..t * c + c]);
                }
            }
        }
    }
}

multiversion!(dispatch_f32, body_f32, (h: usize, w: usize, c: usize, stride: usize, input: &[f32], weights: &[f32], bias: &[f32], out: &mut [f32], oy0: usize, oy1: usize));

/// f32 depthwise 3x3 (`weights` `[3][3][c]`, `bias` `c` values).
#[allow(clippy::too_many_arguments)]
pub fn dwconv3x3_f32(
    v: DwVariant,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    assert!(input.len() >= h * w * c && weights.len() >= 9 * c && bias.len() >= c);
    let ho = out_size(h, stride);
    dwconv3x3_f32_rows(v, h, w, c, stride, input, weights, bias, out, 0, ho);
}

/// Output rows `oy0..oy1` only, written to `out` from its start (for threads splitting rows).
pub fn dwconv3x3_f32_rows(
    v: DwVariant,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
    oy0: usize,
    oy1: usize,
) {
    assert!(input.len() >= h * w * c && weights.len() >= 9 * c && bias.len() >= c);
    let oy1 = oy1.min(out_size(h, stride));
    assert!(out.len() >= oy1.saturating_sub(oy0) * out_size(w, stride) * c);
    dispatch_f32(
        v,
        h,
        w,
        c,
        stride,
        input,
        weights,
        bias,
        out,
        oy0,
        oy1.max(oy0),
    );
}
