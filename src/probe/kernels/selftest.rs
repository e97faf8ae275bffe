//! Every kernel variant this CPU supports, run against its scalar reference on many
//! shapes, odd sizes and edge tiles included. `cargo test` runs it, and so does
//! `fleetscope-probe selftest` on a device or under qemu for each emulated CPU.

use super::dwconv_variant::DwVariant;
use super::f16_gemm::{self, f16};
use super::window::out_size;
use super::{f32_conv3x3, f32_dwconv, qs8_conv3x3, qs8_dwconv};
use super::{f32_gemm, qs8_gemm, Isa};
use crate::util::Rng;

/// The result of one variant on one shape.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub variant: String,
    pub shape: String,
    pub ok: bool,
    pub detail: String,
}

/// Variants built for this target that this CPU cannot run, each with what it needs:
/// the self-test reports them as skipped, never runs them.
pub fn skipped(isa: &Isa) -> Vec<(String, &'static str)> {
    let gemms = f32_gemm::variants()
        .into_iter()
        .filter(|v| !v.supported(isa))
        .map(|v| (v.name.to_string(), v.needs));
    let f16s = f16_gemm::variants()
        .into_iter()
        .filter(|v| !v.supported(isa))
        .map(|v| (v.name.to_string(), v.needs));
    let qs8s = qs8_gemm::variants()
        .into_iter()
        .filter(|v| !v.supported(isa))
        .map(|v| (v.name.to_string(), v.needs));
    let best = DwVariant::best(isa);
    let dws = DwVariant::built()
        .into_iter()
        .take_while(|v| *v != best)
        .flat_map(|v| [(v.name("f32"), v.needs()), (v.name("qs8"), v.needs())]);
    gemms.chain(f16s).chain(qs8s).chain(dws).collect()
}

/// Shapes covering full tiles, edge tiles in M and N, K not a multiple of 4, tiny and odd sizes.
pub fn shapes(cases: usize, seed: u64) -> Vec<(usize, usize, usize)> {
    let mut r = Rng::new(seed);
    let mut s = vec![
        (1, 1, 1),
        (8, 32, 4),
        (6, 16, 8),
        (7, 33, 5),
        (13, 17, 27),
        (1, 100, 64),
        (64, 1, 3),
        (16, 64, 0),
        (12, 128, 36),
    ];
    while s.len() < cases {
        s.push((
            1 + r.below(40) as usize,
            1 + r.below(70) as usize,
            1 + r.below(90) as usize,
        ));
    }
    s
}

pub fn run(isa: &Isa, cases: usize, seed: u64) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut r = Rng::new(seed);
    for (m, n, k) in shapes(cases, seed) {
        let shape = format!("m={m} n={n} k={k}");
        // f32: against an f64-accumulated reference, within a stated tolerance.
        let a: Vec<f32> = (0..m * k).map(|_| r.f32()).collect();
        let b: Vec<f32> = (0..k * n).map(|_| r.f32()).collect();
        let mut want = vec![0f32; m * n];
        f32_gemm::reference::gemm(m, n, k, &a, k, &b, n, &mut want, n);
        for v in f32_gemm::variants()
            .into_iter()
            .filter(|v| v.supported(isa))
        {
            let packed = f32_gemm::PackedB::new(k, n, &b, n, v.nr);
            let mut got = vec![f32::NAN; m * n];
            f32_gemm::gemm(&v, m, &a, k, &packed, &mut got, n);
            // |a|,|b| <= 1: the f32 sum of k products is within k * 2^-22 of the exact value.
            let tol = 1e-6 + k as f32 * 2.5e-7;
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0f32, f32::max);
            let finite = got.iter().all(|g| g.is_finite());
            out.push(Outcome {
                variant: v.name.into(),
                shape: shape.clone(),
                ok: finite && worst <= tol,
                detail: format!("max abs error {worst:.3e} (tolerance {tol:.1e})"),
            });
        }
        // f16: bit-exact with one fused f16 multiply-add per k step, in k order. Values
        // in [-1, 1] keep every step exact in the f64 reference (see its doc).
        let a16: Vec<f16> = a.iter().map(|&x| f16::from_f32(x)).collect();
        let b16: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
        let mut want16 = vec![f16::ZERO; m * n];
        f16_gemm::reference::gemm(m, n, k, &a16, k, &b16, n, &mut want16, n);
        for v in f16_gemm::variants()
            .into_iter()
            .filter(|v| v.supported(isa))
        {
            let packed = f16_gemm::PackedB::new(k, n, &b16, n, v.nr);
            let mut got = vec![f16::NAN; m * n];
            f16_gemm::gemm(&v, m, &a16, k, &packed, &mut got, n);
            let bad = got
                .iter()
                .zip(&want16)
                .filter(|(g, w)| g.to_bits() != w.to_bits())
                .count();
            out.push(Outcome {
                variant: v.name.into(),
                shape: shape.clone(),
                ok: bad == 0,
                detail: format!("{bad} of {} outputs differ", m * n),
            });
        }
        // int8: bit-exact, full-range and reduced-range weights.
        for reduced in [false, true] {
            let (lo, hi) = if reduced { (-64, 63) } else { (-128, 127) };
            let a: Vec<u8> = (0..m * k).map(|_| r.below(256) as u8).collect();
            let b: Vec<i8> = (0..k * n).map(|_| r.i8_in(lo, hi)).collect();
            let bias: Vec<i32> = (0..n).map(|_| r.below(20001) as i32 - 10000).collect();
            let a_zp = r.below(256) as u8;
            let rq = qs8_gemm::Requant::from_scale(
                1.0 / (64.0 + r.below(4000) as f64),
                r.below(256) as u8,
            );
            let mut want = vec![0u8; m * n];
            qs8_gemm::reference::gemm(m, n, k, &a, k, a_zp, &b, n, &bias, &rq, &mut want, n);
            let mut want_i32 = vec![0i32; m * n];
            qs8_gemm::reference::gemm_i32(m, n, k, &a, k, a_zp, &b, n, &bias, &mut want_i32, n);
            for v in qs8_gemm::variants()
                .into_iter()
                .filter(|v| v.supported(isa) && (reduced || !v.reduced_range_only))
            {
                let packed = qs8_gemm::PackedQB::new(k, n, &b, n, &v);
                let mut got = vec![0u8; m * n];
                let q = qs8_gemm::QParams {
                    a_zero_point: a_zp,
                    bias: &bias,
                    requant: rq,
                };
                qs8_gemm::gemm(&v, m, &a, k, &packed, &q, &mut got, n);
                let bad = got.iter().zip(&want).filter(|(g, w)| g != w).count();
                let mut got_i32 = vec![0i32; m * n];
                qs8_gemm::gemm_i32(&v, m, &a, k, &packed, a_zp, &bias, &mut got_i32, n);
                let bad_i32 = got_i32
                    .iter()
                    .zip(&want_i32)
                    .filter(|(g, w)| g != w)
                    .count();
                let range = if reduced {
                    "reduced-range weights"
                } else {
                    "full-range weights"
                };
                out.push(Outcome {
                    variant: v.name.into(),
                    shape: format!("{shape} {range}"),
                    ok: bad == 0,
                    detail: format!("{bad} of {} outputs differ", m * n),
                });
                out.push(Outcome {
                    variant: v.name.into(),
                    shape: format!("{shape} {range} i32 out"),
                    ok: bad_i32 == 0,
                    detail: format!("{bad_i32} of {} i32 accumulators differ", m * n),
                });
            }
        }
    }
    out.extend(convolutions(isa, cases / 4 + 4, seed ^ 0x5eed));
    out
}

/// Dense and depthwise 3x3 convolutions, stride 1 and 2, odd sizes, against the naive loops.
fn convolutions(isa: &Isa, cases: usize, seed: u64) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut r = Rng::new(seed);
    let dw_variants: Vec<DwVariant> = [DwVariant::best(isa), DwVariant::Portable]
        .into_iter()
        .collect();
    for case in 0..cases {
        let (h, w) = (1 + r.below(13) as usize, 1 + r.below(13) as usize);
        let (cin, cout, stride) = (
            1 + r.below(20) as usize,
            1 + r.below(40) as usize,
            1 + case % 2,
        );
        let (ho, wo) = (out_size(h, stride), out_size(w, stride));
        let shape = format!("h={h} w={w} cin={cin} cout={cout} stride={stride}");
        let tol = 1e-6 + (9 * cin) as f32 * 2.5e-7;
        // f32 dense and depthwise.
        let x: Vec<f32> = (0..h * w * cin).map(|_| r.f32()).collect();
        let wt: Vec<f32> = (0..9 * cin * cout).map(|_| r.f32()).collect();
        let bias: Vec<f32> = (0..cout.max(cin)).map(|_| r.f32()).collect();
        let mut want = vec![0f32; ho * wo * cout];
        f32_conv3x3::reference::conv3x3_f32(h, w, cin, cout, stride, &x, &wt, &bias, &mut want);
        let mut layer =
            f32_conv3x3::Conv3x3F32::new(isa, h, w, cin, cout, stride, &wt, &bias[..cout]);
        let mut got = vec![f32::NAN; ho * wo * cout];
        layer.run(&x, &mut got);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0f32, f32::max);
        out.push(Outcome {
            variant: format!("f32-conv3x3 via {}", layer.variant.name),
            shape: shape.clone(),
            ok: worst <= tol * 2.0,
            detail: format!("max abs error {worst:.3e}"),
        });
        let dwt: Vec<f32> = (0..9 * cin).map(|_| r.f32()).collect();
        let mut want = vec![0f32; ho * wo * cin];
        f32_dwconv::reference::dwconv3x3_f32(h, w, cin, stride, &x, &dwt, &bias, &mut want);
        for &v in &dw_variants {
            let mut got = vec![f32::NAN; ho * wo * cin];
            f32_dwconv::dwconv3x3_f32(v, h, w, cin, stride, &x, &dwt, &bias, &mut got);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0f32, f32::max);
            out.push(Outcome {
                variant: v.name("f32"),
                shape: shape.clone(),
                ok: worst <= 1e-5,
                detail: format!("max abs error {worst:.3e}"),
            });
        }
        // int8 dense and depthwise, bit-exact.
        let xq: Vec<u8> = (0..h * w * cin).map(|_| r.below(256) as u8).collect();
        let wq: Vec<i8> = (0..9 * cin * cout).map(|_| r.i8_in(-128, 127)).collect();
        let bq: Vec<i32> = (0..cout.max(cin))
            .map(|_| r.below(4001) as i32 - 2000)
            .collect();
        let zp = r.below(256) as u8;
        let rq =
            qs8_gemm::Requant::from_scale(1.0 / (256.0 + r.below(2000) as f64), r.below(256) as u8);
        let mut want = vec![0u8; ho * wo * cout];
        qs8_conv3x3::reference::conv3x3_q8(
            h, w, cin, cout, stride, &xq, zp, &wq, &bq, &rq, &mut want,
        );
        let mut layer =
            qs8_conv3x3::Conv3x3Q8::new(isa, h, w, cin, cout, stride, &wq, &bq[..cout], zp, rq);
        let mut got = vec![0u8; ho * wo * cout];
        layer.run(&xq, &mut got);
        let bad = got.iter().zip(&want).filter(|(g, w)| g != w).count();
        out.push(Outcome {
            variant: format!("qs8-conv3x3 via {}", layer.variant.name),
            shape: shape.clone(),
            ok: bad == 0,
            detail: format!("{bad} outputs differ"),
        });
        let dq: Vec<i8> = (0..9 * cin).map(|_| r.i8_in(-128, 127)).collect();
        let dq16: Vec<i16> = dq.iter().map(|&v| i16::from(v)).collect();
        let mut want = vec![0u8; ho * wo * cin];
        qs8_dwconv::reference::dwconv3x3_q8(h, w, cin, stride, &xq, zp, &dq, &bq, &rq, &mut want);
        for &v in &dw_variants {
            let mut got = vec![0u8; ho * wo * cin];
            qs8_dwconv::dwconv3x3_q8(
                v,
                h,
                w,
                cin,
                stride,
                &xq,
                zp,
                &dq16,
                &bq[..cin],
                &rq,
                &mut got,
            );
            let bad = got.iter().zip(&want).filter(|(g, w)| g != w).count();
            out.push(Outcome {
                variant: v.name("qs8"),
                shape: shape.clone(),
                ok: bad == 0,
                detail: format!("{bad} outputs differ"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_supported_variant_matches_its_reference() {
        let isa = super::Isa::detect();
        let outcomes = super::run(&isa, 60, 7);
        let failed: Vec<_> = outcomes.iter().filter(|o| !o.ok).collect();
        assert!(outcomes.len() > 100, "{} outcomes", outcomes.len());
        assert!(failed.is_empty(), "{failed:#?}");
        let scalar = super::run(&super::Isa::default(), 20, 11);
        assert!(
            scalar.iter().all(|o| o.ok),
            "scalar fallback: {:#?}",
            scalar.iter().filter(|o| !o.ok).collect::<Vec<_>>()
        );
    }
}
