//! MobileNetV2 (width 1.0, 224x224x3 input) composed from the suite's own kernels:
//! the 3x3 stride-2 stem, seventeen inverted-residual blocks (1x1 expand + ReLU6,
//! depthwise 3x3 + ReLU6, 1x1 project, residual add), the 1x1 head to 1280 channels,
//! global average pooling and the 1000-way classifier. Weights are drawn from a fixed
//! seed: the network measures speed, not accuracy. About 300 M multiply-adds.
//!
//! Each layer splits its output rows across a [`Team`] (the 1x1 layers in whole GEMM
//! tiles, the depthwise layers by output row, activations and the residual add fused
//! into each thread's rows); the stem (4 % of the work), the pooling and the
//! classifier run on the calling thread.

use super::dwconv_variant::DwVariant;
use super::parallel::Team;
use super::qs8_gemm::{self, Requant};
use super::window::out_size;
use super::{f32_conv3x3, f32_dwconv, qs8_conv3x3, qs8_dwconv};
use super::{f32_gemm, Isa};
use crate::util::Rng;

/// (expansion t, output channels c, repeats n, first stride s), from the paper.
const BLOCKS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];
const INPUT: usize = 224;
const CLASSES: usize = 1000;

/// One inverted-residual block's geometry.
#[derive(Debug, Clone, Copy)]
struct Block {
    h: usize,
    cin: usize,
    hidden: usize,
    cout: usize,
    stride: usize,
}

fn blocks() -> Vec<Block> {
    let (mut h, mut cin) = (INPUT / 2, 32);
    let mut out = Vec::new();
    for (t, c, n, s) in BLOCKS {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            out.push(Block {
                h,
                cin,
                hidden: cin * t,
                cout: c,
                stride,
            });
            h = out_size(h, stride);
            cin = c;
        }
    }
    out
}

/// Multiply-adds x 2 of one inference.
pub fn ops() -> u64 {
    let stem = 112 * 112 * 32 * 27;
    let mut macs = stem;
    for b in blocks() {
        let ho = out_size(b.h, b.stride);
        if b.hidden != b.cin {
            macs += b.h * b.h * b.cin * b.hidden;
        }
        macs += ho * ho * b.hidden * 9 + ho * ho * b.hidden * b.cout;
    }
    macs += 7 * 7 * 320 * 1280 + 1280 * CLASSES;
    2 * macs as u64
}

fn relu6(x: &mut [f32]) {
    for v in x {
        *v = v.clamp(0.0, 6.0);
    }
}

struct BlockF32 {
    b: Block,
    expand: Option<f32_gemm::PackedB>,
    dw: Vec<f32>,
    dw_bias: Vec<f32>,
    project: f32_gemm::PackedB,
}

/// The f32 network, weights packed.
pub struct MobileNetV2F32 {
    gemm: f32_gemm::Variant,
    dw: DwVariant,
    stem: f32_conv3x3::Conv3x3F32,
    blocks: Vec<BlockF32>,
    head: f32_gemm::PackedB,
    fc: f32_gemm::PackedB,
    bufs: [Vec<f32>; 3],
}

fn weights(r: &mut Rng, n: usize, fan_in: usize) -> Vec<f32> {
    let scale = (2.0 / fan_in as f32).sqrt();
    (0..n).map(|_| r.f32() * scale).collect()
}

impl MobileNetV2F32 {
    pub fn new(isa: &Isa) -> Self {
        let mut r = Rng::new(224);
        let gemm = f32_gemm::best(isa);
        let pack = |r: &mut Rng, k: usize, n: usize| {
            f32_gemm::PackedB::new(k, n, &weights(r, k * n, k), n, gemm.nr)
        };
        let stem_w = weights(&mut r, 27 * 32, 27);
        let stem = f32_conv3x3::Conv3x3F32::new(isa, INPUT, INPUT, 3, 32, 2, &stem_w, &[0.0; 32]);
        let blocks = blocks()
            .into_iter()
            .map(|b| BlockF32 {
                expand: (b.hidden != b.cin).then(|| pack(&mut r, b.cin, b.hidden)),
                dw: weights(&mut r, 9 * b.hidden, 9),
                dw_bias: vec![0.01; b.hidden],
                project: pack(&mut r, b.hidden, b.cout),
                b,
            })
            .collect();
        let head = pack(&mut r, 320, 1280);
        let fc = pack(&mut r, 1280, CLASSES);
        let big = 112 * 112 * 96;
        MobileNetV2F32 {
            gemm,
            dw: DwVariant::best(isa),
            stem,
            blocks,
            head,
            fc,
            bufs: [vec![0.0; big], vec![0.0; big], vec![0.0; big]],
        }
    }

    pub fn path(&self) -> String {
        format!("{} + {}", self.gemm.name, self.dw.name("f32"))
    }

    /// One inference of `input` (224x224x3 NHWC) on `team`; returns the 1000 logits.
    pub fn run(&mut self, input: &[f32], team: Team) -> Vec<f32> {
        let [x, y, z] = &mut self.bufs;
        let (gemm, dw) = (&self.gemm, self.dw);
        self.stem.run(input, &mut x[..112 * 112 * 32]);
        relu6(&mut x[..112 * 112 * 32]);
        for blk in &self.blocks {
            let b = blk.b;
            let (hw, ho) = (b.h * b.h, out_size(b.h, b.stride));
            // x holds the block input; expand into y (or use x), depthwise into z, project into y.
            let hidden: &[f32] = match &blk.expand {
                Some(w) => {
                    let src = &x[..hw * b.cin];
                    team.par_rows(&mut y[..hw * b.hidden], hw, b.hidden, gemm.mr, |r, out| {
                        f32_gemm::gemm(
                            gemm,
                            r.len(),
                            &src[r.start * b.cin..],
                            b.cin,
                            w,
                            out,
                            b.hidden,
                        );
                        relu6(out);
                    });
                    &y[..hw * b.hidden]
                }
                None => &x[..hw * b.cin],
            };
            team.par_rows(
                &mut z[..ho * ho * b.hidden],
                ho,
                ho * b.hidden,
                1,
                |r, out| {
                    f32_dwconv::dwconv3x3_f32_rows(
                        dw,
                        b.h,
                        b.h,
                        b.hidden,
                        b.stride,
                        hidden,
                        &blk.dw,
                        &blk.dw_bias,
                        out,
                        r.start,
                        r.end,
                    );
                    relu6(out);
                },
            );
            let (z, x_in) = (&z[..ho * ho * b.hidden], &x[..]);
            let residual = b.stride == 1 && b.cin == b.cout;
            team.par_rows(
                &mut y[..ho * ho * b.cout],
                ho * ho,
                b.cout,
                gemm.mr,
                |r, out| {
                    let a = &z[r.start * b.hidden..];
                    f32_gemm::gemm(gemm, r.len(), a, b.hidden, &blk.project, out, b.cout);
                    if residual {
                        for (o, i) in out.iter_mut().zip(&x_in[r.start * b.cout..]) {
                            *o += i;
                        }
                    }
                },
            );
            std::mem::swap(x, y);
        }
        let src = &x[..49 * 320];
        team.par_rows(&mut y[..49 * 1280], 49, 1280, gemm.mr, |r, out| {
            f32_gemm::gemm(
                gemm,
                r.len(),
                &src[r.start * 320..],
                320,
                &self.head,
                out,
                1280,
            );
            relu6(out);
        });
        let mut pooled = vec![0f32; 1280];
        for px in y[..49 * 1280].chunks(1280) {
            for (p, v) in pooled.iter_mut().zip(px) {
                *p += v / 49.0;
            }
        }
        let mut logits = vec![0f32; CLASSES];
        f32_gemm::gemm(gemm, 1, &pooled, 1280, &self.fc, &mut logits, CLASSES);
        logits
    }
}

struct BlockQ8 {
    b: Block,
    expand: Option<qs8_gemm::PackedQB>,
    dw: Vec<i16>,
    project: qs8_gemm::PackedQB,
}

/// The quantized network: u8 activations (post-ReLU6 tensors zero point 0, linear
/// projections zero point 128), i8 weights, i32 bias, gemmlowp requantization.
pub struct MobileNetV2Q8 {
    gemm: qs8_gemm::Variant,
    dw: DwVariant,
    stem: qs8_conv3x3::Conv3x3Q8,
    blocks: Vec<BlockQ8>,
    head: qs8_gemm::PackedQB,
    fc: qs8_gemm::PackedQB,
    bufs: [Vec<u8>; 3],
}

fn qweights(r: &mut Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| r.i8_in(-64, 63)).collect()
}

/// A requantization that keeps a K-term sum of random-sign products in range: such a
/// sum grows like sqrt(K), so scale by 1 / sqrt(K); the gain 1/12 was chosen so the
/// activation spread neither collapses nor saturates across the 17 blocks (the test
/// below checks the logits stay varied).
fn rq_for(k: usize, zero_point: u8) -> Requant {
    Requant::from_scale(1.0 / ((k as f64).sqrt() * 12.0), zero_point)
}

impl MobileNetV2Q8 {
    pub fn new(isa: &Isa) -> Self {
        let mut r = Rng::new(224);
        let gemm = qs8_gemm::best(isa, true, false, 32);
        let pack = |r: &mut Rng, k: usize, n: usize| {
            qs8_gemm::PackedQB::new(k, n, &qweights(r, k * n), n, &gemm)
        };
        let stem_w = qweights(&mut r, 27 * 32);
        let stem = qs8_conv3x3::Conv3x3Q8::new(
            isa,
            INPUT,
            INPUT,
            3,
            32,
            2,
            &stem_w,
            &[0; 32],
            128,
            rq_for(27, 0),
        );
        let blocks = blocks()
            .into_iter()
            .map(|b| BlockQ8 {
                expand: (b.hidden != b.cin).then(|| pack(&mut r, b.cin, b.hidden)),
                dw: qweights(&mut r, 9 * b.hidden)
                    .into_iter()
                    .map(i16::from)
                    .collect(),
                project: pack(&mut r, b.hidden, b.cout),
                b,
            })
            .collect();
        let head = pack(&mut r, 320, 1280);
        let fc = pack(&mut r, 1280, CLASSES);
        let big = 112 * 112 * 96;
        MobileNetV2Q8 {
            gemm,
            dw: DwVariant::best(isa),
            stem,
            blocks,
            head,
            fc,
            bufs: [vec![0; big], vec![0; big], vec![0; big]],
        }
    }

    pub fn path(&self) -> String {
        format!(
            "{} ({}) + {}",
            self.gemm.name,
            self.gemm.path(),
            self.dw.name("qs8")
        )
    }

    /// One inference of a 224x224x3 u8 image on `team`; returns the 1000 quantized
    /// logits.
    pub fn run(&mut self, input: &[u8], team: Team) -> Vec<u8> {
        let [x, y, z] = &mut self.bufs;
        let (gemm, dw) = (&self.gemm, self.dw);
        let zero = [0i32; 1280];
        self.stem.run(input, &mut x[..112 * 112 * 32]);
        // x: post-ReLU6 (zp 0) for the first block, projection output (zp 128) after.
        let mut x_zp = 0u8;
        for blk in &self.blocks {
            let b = blk.b;
            let (hw, ho) = (b.h * b.h, out_size(b.h, b.stride));
            let (hidden, hidden_zp): (&[u8], u8) = match &blk.expand {
                Some(w) => {
                    let q = qs8_gemm::QParams {
                        a_zero_point: x_zp,
                        bias: &zero[..0],
                        requant: rq_for(b.cin, 0),
                    };
                    let src = &x[..hw * b.cin];
                    team.par_rows(&mut y[..hw * b.hidden], hw, b.hidden, gemm.mr, |r, out| {
                        let a = &src[r.start * b.cin..];
                        qs8_gemm::gemm(gemm, r.len(), a, b.cin, w, &q, out, b.hidden);
                    });
                    (&y[..hw * b.hidden], 0)
                }
                None => (&x[..hw * b.cin], x_zp),
            };
            let dw_bias = vec![0i32; b.hidden];
            let rq = rq_for(9, 0);
            team.par_rows(
                &mut z[..ho * ho * b.hidden],
                ho,
                ho * b.hidden,
                1,
                |r, out| {
                    qs8_dwconv::dwconv3x3_q8_rows(
                        dw, b.h, b.h, b.hidden, b.stride, hidden, hidden_zp, &blk.dw, &dw_bias,
                        &rq, out, r.start, r.end,
                    );
                },
            );
            let q = qs8_gemm::QParams {
                a_zero_point: 0,
                bias: &zero[..0],
                requant: rq_for(b.hidden, 128),
            };
            let (z, x_in) = (&z[..ho * ho * b.hidden], &x[..]);
            let residual = b.stride == 1 && b.cin == b.cout;
            team.par_rows(
                &mut y[..ho * ho * b.cout],
                ho * ho,
                b.cout,
                gemm.mr,
                |r, out| {
                    let a = &z[r.start * b.hidden..];
                    qs8_gemm::gemm(gemm, r.len(), a, b.hidden, &blk.project, &q, out, b.cout);
                    if residual {
                        // Residual add of two zero-point-128 tensors at equal scale, halved to
                        // stay in range.
                        for (o, i) in out.iter_mut().zip(&x_in[r.start * b.cout..]) {
                            let s = (i32::from(*o) - 128) + (i32::from(*i) - i32::from(x_zp));
                            *o = (128 + (s + s.signum()) / 2).clamp(0, 255) as u8;
                        }
                    }
                },
            );
            x_zp = 128;
            std::mem::swap(x, y);
        }
        let q = qs8_gemm::QParams {
            a_zero_point: x_zp,
            bias: &zero[..0],
            requant: rq_for(320, 0),
        };
        let src = &x[..49 * 320];
        team.par_rows(&mut y[..49 * 1280], 49, 1280, gemm.mr, |r, out| {
            let a = &src[r.start * 320..];
            qs8_gemm::gemm(gemm, r.len(), a, 320, &self.head, &q, out, 1280);
        });
        let mut pooled = vec![0u8; 1280];
        for (c, p) in pooled.iter_mut().enumerate() {
            let sum: u32 = (0..49).map(|px| u32::from(y[px * 1280 + c])).sum();
            *p = ((sum + 24) / 49) as u8;
        }
        let mut logits = vec![0u8; CLASSES];
        let q = qs8_gemm::QParams {
            a_zero_point: 0,
            bias: &zero[..0],
            requant: rq_for(1280, 128),
        };
        qs8_gemm::gemm(gemm, 1, &pooled, 1280, &self.fc, &q, &mut logits, CLASSES);
        logits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_op_count_match_the_paper() {
        let bl = blocks();
        assert_eq!(bl.len(), 17);
        assert_eq!(bl.last().map(|b| (b.h, b.cout)), Some((7, 320)));
        // MobileNetV2 1.0/224: about 300 M multiply-adds.
        let macs = ops() / 2;
        assert!((290_000_000..=320_000_000).contains(&macs), "{macs}");
    }

    /// Three scoped threads, the caller one of them.
    fn three(f: &(dyn Fn(usize, usize) + Sync)) {
        std::thread::scope(|s| {
            s.spawn(|| f(1, 3));
            s.spawn(|| f(2, 3));
            f(0, 3);
        });
    }

    #[test]
    fn splitting_layers_across_threads_changes_no_output() {
        let isa = Isa::detect();
        let team = Team {
            threads: 3,
            run: &three,
        };
        let img: Vec<f32> = (0..224 * 224 * 3)
            .map(|i| ((i * 53 % 255) as f32) / 255.0)
            .collect();
        let mut f = MobileNetV2F32::new(&isa);
        let alone = f.run(&img, crate::probe::kernels::parallel::ALONE);
        let together = f.run(&img, team);
        assert!(alone
            .iter()
            .zip(&together)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let img: Vec<u8> = (0..224 * 224 * 3).map(|i| (i * 53 % 255) as u8).collect();
        let mut q = MobileNetV2Q8::new(&isa);
        assert_eq!(
            q.run(&img, crate::probe::kernels::parallel::ALONE),
            q.run(&img, team)
        );
    }

    #[test]
    fn both_networks_run_and_produce_varied_logits() {
        let isa = Isa::detect();
        let mut f = MobileNetV2F32::new(&isa);
        let img: Vec<f32> = (0..224 * 224 * 3)
            .map(|i| ((i * 37 % 255) as f32) / 255.0)
            .collect();
        let logits = f.run(&img, crate::probe::kernels::parallel::ALONE);
        assert_eq!(logits.len(), 1000);
        assert!(logits.iter().all(|v| v.is_finite()));
        assert!(
            logits.iter().any(|&v| v != logits[0]),
            "logits all equal: the network is degenerate"
        );
        let mut q = MobileNetV2Q8::new(&isa);
        let img: Vec<u8> = (0..224 * 224 * 3).map(|i| (i * 37 % 255) as u8).collect();
        let out = q.run(&img, crate::probe::kernels::parallel::ALONE);
        assert_eq!(out.len(), 1000);
        let distinct: std::collections::BTreeSet<u8> = out.iter().copied().collect();
        assert!(
            distinct.len() > 3,
            "quantized logits collapsed to {distinct:?}"
        );
    }
}
