//! Depthwise 3x3 convolution, direct: for each output pixel, nine taps, channels
//! innermost so the loop vectorises. The same body is compiled per ISA through
//! `target_feature` (AVX2+FMA, AVX-512, NEON) and chosen at run time.

use super::{out_size, taps};
use crate::probe::kernels::qs8_gemm::{requantize_row, Requant};
use crate::probe::kernels::Isa;

/// Which compilation of the depthwise kernel ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DwVariant {
    Avx512,
    Avx2,
    Neon,
    Portable,
}

impl DwVariant {
    pub fn best(isa: &Isa) -> DwVariant {
        if isa.avx512f {
            DwVariant::Avx512
        } else if isa.avx2_fma {
            DwVariant::Avx2
        } else if isa.neon {
            DwVariant::Neon
        } else {
            DwVariant::Portable
        }
    }
    pub fn name(self, dtype: &str) -> String {
        let isa = match self {
            DwVariant::Avx512 => "avx512",
            DwVariant::Avx2 => "avx2",
            DwVariant::Neon => "neon",
            DwVariant::Portable => "portable",
        };
        format!("{dtype}-dwconv3x3-{isa}")
    }
}

#[inline(always)]
fn body_f32(
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
                    let k = &weights[t * c..t * c + c];
                    for ((o, x), k) in o.iter_mut().zip(x).zip(k) {
                        *o += x * k;
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn body_q8(
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
    let zp = i16::from(a_zp);
    for oy in oy0..oy1 {
        for ox in 0..wo {
            acc.fill(0);
            for (t, px) in taps(h, w, stride, oy, ox).into_iter().enumerate() {
                if let Some(px) = px {
                    let x = &input[px * c..px * c + c];
                    let k = &weights[t * c..t * c + c];
                    for ((a, x), k) in acc.iter_mut().zip(x).zip(k) {
                        *a += i32::from(i16::from(*x) - zp) * i32::from(*k);
                    }
                }
            }
            let at = ((oy - oy0) * wo + ox) * c;
            requantize_row(acc, bias, rq, &mut out[at..at + c]);
        }
    }
}

macro_rules! multiversion {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        fn $name(v: DwVariant, $($arg: $ty),*) {
            match v {
                #[cfg(target_arch = "x86_64")]
                DwVariant::Avx512 => {
                    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
                    unsafe fn f($($arg: $ty),*) { $body($($arg),*) }
                    // SAFETY: chosen only when the CPU reports AVX-512F/BW.
                    unsafe { f($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                DwVariant::Avx2 => {
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn f($($arg: $ty),*) { $body($($arg),*) }
                    // SAFETY: chosen only when the CPU reports AVX2 and FMA.
                    unsafe { f($($arg),*) }
                }
                _ => $body($($arg),*),
            }
        }
    };
}

multiversion!(dispatch_f32, body_f32, (h: usize, w: usize, c: usize, stride: usize, input: &[f32], weights: &[f32], bias: &[f32], out: &mut [f32], oy0: usize, oy1: usize));
multiversion!(dispatch_q8, body_q8, (h: usize, w: usize, c: usize, stride: usize, input: &[u8], a_zp: u8, weights: &[i16], bias: &[i32], rq: &Requant, acc: &mut [i32], out: &mut [u8], oy0: usize, oy1: usize));

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
