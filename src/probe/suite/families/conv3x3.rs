//! Dense 3x3 convolution (pad 1, stride 1 or 2): im2col on the calling thread, then
//! the GEMM split by output rows, f32 and int8.

use super::super::workload::{dim, Options, Skip, Workload};
use super::gemm::{GemmFloat, GemmQ8};
use super::{dim_or_1, Family, Figure, Int8Gain, Model, Role, Shape};
use crate::probe::bench::Pool;
use crate::probe::kernels::window::{im2col, out_size};
use crate::probe::kernels::{f32_gemm, Isa};
use crate::schema::Dtype;
use crate::util::Rng;

pub struct Conv3x3;

impl Family for Conv3x3 {
    fn name(&self) -> &'static str {
        "conv3x3"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32, Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Layer
    }
    fn figures(&self) -> &'static [Figure] {
        &[
            Figure::SpeedupChart,
            Figure::DotprodSpeedup,
            Figure::LatencyChart,
        ]
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[
            ("h", 56),
            ("w", 56),
            ("cin", 64),
            ("cout", 64),
            ("stride", 1),
        ]
    }
    fn ops(&self, s: &Shape) -> u64 {
        let out = |d: &str| dim_or_1(s, d).div_ceil(dim_or_1(s, "stride"));
        2 * out("h") * out("w") * dim_or_1(s, "cin") * dim_or_1(s, "cout") * 9
    }
    fn model(&self, _: &Shape) -> Model {
        Model {
            efficiency: 0.55,
            int8_gain: Int8Gain::OfBase(1.0),
            thread_scaling: Some(0.88),
        }
    }
    fn build(
        &self,
        dtype: Dtype,
        shape: &Shape,
        isa: &Isa,
        opt: Options,
        r: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip> {
        let family = "conv3x3";
        let (h, w, cin, cout) = (
            dim(shape, "h", family)?,
            dim(shape, "w", family)?,
            dim(shape, "cin", family)?,
            dim(shape, "cout", family)?,
        );
        let stride = dim(shape, "stride", family)?;
        if stride > 2 {
            return Err("conv3x3 supports stride 1 and 2".into());
        }
        Ok(Box::new(Conv3x3Work::new(
            isa, dtype, h, w, cin, cout, stride, opt, r,
        )))
    }
}

/// 3x3 convolution: im2col on the calling thread, then the GEMM split by output rows.
struct Conv3x3Work {
    inner: ConvKind,
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
    stride: usize,
}

enum ConvKind {
    F32 {
        gemm: GemmFloat<f32>,
        input: Vec<f32>,
    },
    Q8 {
        gemm: GemmQ8,
        input: Vec<u8>,
    },
}

impl Conv3x3Work {
    #[allow(clippy::too_many_arguments)]
    fn new(
        isa: &Isa,
        dtype: Dtype,
        h: usize,
        w: usize,
        cin: usize,
        cout: usize,
        stride: usize,
        opt: Options,
        r: &mut Rng,
    ) -> Self {
        let rows = out_size(h, stride) * out_size(w, stride);
        let inner = match dtype {
            Dtype::F32 => ConvKind::F32 {
                gemm: {
                    let (m, n, k) = (rows, cout, 9 * cin);
                    let (a, b) = (r.f32s(m * k), r.f32s(k * n));
                    GemmFloat::new(f32_gemm::best(isa), m, n, k, opt, a, &b)
                },
                input: (0..h * w * cin).map(|_| r.f32()).collect(),
            },
            _ => ConvKind::Q8 {
                gemm: GemmQ8::new(isa, rows, cout, 9 * cin, opt, r),
                input: (0..h * w * cin).map(|_| r.below(256) as u8).collect(),
            },
        };
        Conv3x3Work {
            inner,
            h,
            w,
            cin,
            cout,
            stride,
        }
    }
}

impl Workload for Conv3x3Work {
    fn ops(&self) -> u64 {
        2 * (out_size(self.h, self.stride)
            * out_size(self.w, self.stride)
            * self.cout
            * 9
            * self.cin) as u64
    }
    fn path(&self) -> String {
        match &self.inner {
            ConvKind::F32 { gemm, .. } => format!("im2col + {}", gemm.path()),
            ConvKind::Q8 { gemm, .. } => format!("im2col + {}", gemm.path()),
        }
    }
    fn run(&mut self, pool: &Pool) {
        let (h, w, cin, s) = (self.h, self.w, self.cin, self.stride);
        // Padding is zero: 0.0, or the activations' zero point.
        match &mut self.inner {
            ConvKind::F32 { gemm, input } => {
                im2col(h, w, cin, s, input, 0.0, &mut gemm.a);
                gemm.run(pool);
            }
            ConvKind::Q8 { gemm, input } => {
                im2col(h, w, cin, s, input, 128, &mut gemm.a);
                gemm.run(pool);
            }
        }
    }
}
