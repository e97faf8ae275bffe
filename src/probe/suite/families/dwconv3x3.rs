//! Depthwise 3x3 convolution (pad 1, stride 1 or 2), a direct kernel with output rows
//! split across threads, f32 and int8. Little reuse per weight: int8 gains a third
//! of what a GEMM gains.

use super::super::workload::{chunks_at, dim, par_chunks, split, Options, Skip, Workload};
use super::{dim_or_1, Family, Int8Gain, Model, Role, Shape};
use crate::probe::bench::Pool;
use crate::probe::kernels::dwconv_variant::DwVariant;
use crate::probe::kernels::qs8_gemm::Requant;
use crate::probe::kernels::window::out_size;
use crate::probe::kernels::Isa;
use crate::probe::kernels::{f32_dwconv, qs8_dwconv};
use crate::schema::Dtype;
use crate::util::Rng;

pub struct DwConv3x3;

impl Family for DwConv3x3 {
    fn name(&self) -> &'static str {
        "dwconv3x3"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32, Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Layer
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[("h", 56), ("w", 56), ("c", 144), ("stride", 1)]
    }
    fn ops(&self, s: &Shape) -> u64 {
        let out = |d: &str| dim_or_1(s, d).div_ceil(dim_or_1(s, "stride"));
        2 * out("h") * out("w") * dim_or_1(s, "c") * 9
    }
    fn model(&self, _: &Shape) -> Model {
        Model {
            efficiency: 0.2,
            int8_gain: Int8Gain::OfBase(1.0 / 3.0),
            thread_scaling: None,
        }
    }
    fn build(
        &self,
        dtype: Dtype,
        shape: &Shape,
        isa: &Isa,
        _opt: Options,
        r: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip> {
        let family = "dwconv3x3";
        let (h, w, c, stride) = (
            dim(shape, "h", family)?,
            dim(shape, "w", family)?,
            dim(shape, "c", family)?,
            dim(shape, "stride", family)?,
        );
        if stride > 2 {
            return Err("dwconv3x3 supports stride 1 and 2".into());
        }
        Ok(Box::new(DwConv::new(isa, dtype, h, w, c, stride, r)))
    }
}

/// Depthwise 3x3, output rows split across threads.
struct DwConv {
    v: DwVariant,
    dtype: Dtype,
    h: usize,
    w: usize,
    c: usize,
    stride: usize,
    xf: Vec<f32>,
    wf: Vec<f32>,
    bf: Vec<f32>,
    of: Vec<f32>,
    xq: Vec<u8>,
    wq: Vec<i16>,
    bq: Vec<i32>,
    oq: Vec<u8>,
}

impl DwConv {
    fn new(
        isa: &Isa,
        dtype: Dtype,
        h: usize,
        w: usize,
        c: usize,
        stride: usize,
        r: &mut Rng,
    ) -> Self {
        let out = out_size(h, stride) * out_size(w, stride) * c;
        let f = dtype == Dtype::F32;
        DwConv {
            v: DwVariant::best(isa),
            dtype,
            h,
            w,
            c,
            stride,
            xf: if f {
                (0..h * w * c).map(|_| r.f32()).collect()
            } else {
                Vec::new()
            },
            wf: if f {
                (0..9 * c).map(|_| r.f32()).collect()
            } else {
                Vec::new()
            },
            bf: vec![0.0; c],
            of: if f { vec![0.0; out] } else { Vec::new() },
            xq: if f {
                Vec::new()
            } else {
                (0..h * w * c).map(|_| r.below(256) as u8).collect()
            },
            wq: if f {
                Vec::new()
            } else {
                (0..9 * c).map(|_| i16::from(r.i8_in(-128, 127))).collect()
            },
            bq: vec![0; c],
            oq: if f { Vec::new() } else { vec![0; out] },
        }
    }
}

impl Workload for DwConv {
    fn ops(&self) -> u64 {
        2 * (out_size(self.h, self.stride) * out_size(self.w, self.stride) * self.c * 9) as u64
    }
    fn path(&self) -> String {
        self.v.name(if self.dtype == Dtype::F32 {
            "f32"
        } else {
            "qs8"
        })
    }
    fn run(&mut self, pool: &Pool) {
        let (h, w, c, s, v) = (self.h, self.w, self.c, self.stride, self.v);
        let rows = split(out_size(h, s), pool.threads(), 1);
        let row_len = out_size(w, s) * c;
        if self.dtype == Dtype::F32 {
            let (x, wt, b) = (&self.xf, &self.wf, &self.bf);
            par_chunks(pool, chunks_at(&mut self.of, &rows, row_len), |t, o| {
                f32_dwconv::dwconv3x3_f32_rows(
                    v,
                    h,
                    w,
                    c,
                    s,
                    x,
                    wt,
                    b,
                    o,
                    rows[t].start,
                    rows[t].end,
                )
            });
        } else {
            let rq = Requant::from_scale(1.0 / 3000.0, 128);
            let (x, wt, b) = (&self.xq, &self.wq, &self.bq);
            par_chunks(pool, chunks_at(&mut self.oq, &rows, row_len), |t, o| {
                qs8_dwconv::dwconv3x3_q8_rows(
                    v,
                    h,
                    w,
                    c,
                    s,
                    x,
                    128,
                    wt,
                    b,
                    &rq,
                    o,
                    rows[t].start,
                    rows[t].end,
                )
            });
        }
    }
}
