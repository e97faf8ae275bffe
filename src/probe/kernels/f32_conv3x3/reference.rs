//! The naive dense 3x3 convolution, written for obviousness, that the fast path is tested against.

use crate::probe::kernels::window::{out_size, taps};

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
