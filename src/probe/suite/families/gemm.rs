//! GEMM and 1x1 convolution (`m x k` activations times `k x n` weights): f32, f16 on
//! CPUs with half-precision arithmetic, and int8 (requantized to u8, or i32 out).
//! Its workloads also serve `gemv` (m = 1) and `conv3x3` (after im2col).

use super::super::workload::{
    chunks_at, cold_copies, column_block, dim, par_chunks, par_rows, split, Options, Skip, Workload,
};
use super::{dim_or_1, Family, Figure, Int8Gain, Model, Role, Shape};
use crate::probe::bench::Pool;
use crate::probe::kernels::f16_gemm::{self, f16};
use crate::probe::kernels::qs8_gemm::{self, Requant};
use crate::probe::kernels::{f32_gemm, Isa};
use crate::schema::Dtype;
use crate::util::Rng;

pub struct Gemm;

impl Family for Gemm {
    fn name(&self) -> &'static str {
        "gemm"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32, Dtype::F16, Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Layer
    }
    fn figures(&self) -> &'static [Figure] {
        &[Figure::SpeedupChart, Figure::DotprodSpeedup]
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[("m", 512), ("n", 512), ("k", 512)]
    }
    fn ops(&self, s: &Shape) -> u64 {
        2 * dim_or_1(s, "m") * dim_or_1(s, "n") * dim_or_1(s, "k")
    }
    fn model(&self, s: &Shape) -> Model {
        Model {
            efficiency: if s.get("m").is_some_and(|&m| m >= 512) {
                0.78
            } else {
                0.6
            },
            int8_gain: Int8Gain::OfBase(1.0),
            thread_scaling: Some(0.88),
        }
    }
    fn has_i32_out(&self) -> bool {
        true
    }
    fn build(
        &self,
        dtype: Dtype,
        shape: &Shape,
        isa: &Isa,
        opt: Options,
        r: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip> {
        let (m, n, k) = (
            dim(shape, "m", "gemm")?,
            dim(shape, "n", "gemm")?,
            dim(shape, "k", "gemm")?,
        );
        matmul(dtype, m, n, k, isa, opt, r)
    }
}

/// An `m x n x k` matrix multiplication in `dtype`, with random inputs from `r`.
pub(super) fn matmul(
    dtype: Dtype,
    m: usize,
    n: usize,
    k: usize,
    isa: &Isa,
    opt: Options,
    r: &mut Rng,
) -> Result<Box<dyn Workload>, Skip> {
    Ok(match dtype {
        Dtype::F32 => {
            let (a, b) = (r.f32s(m * k), r.f32s(k * n));
            Box::new(GemmFloat::new(f32_gemm::best(isa), m, n, k, opt, a, &b))
        }
        Dtype::F16 => {
            let variant = f16_gemm::best(isa).ok_or(f16_gemm::UNSUPPORTED)?;
            let mut half = |len| r.f32s(len).into_iter().map(f16::from_f32).collect();
            let (a, b): (Vec<f16>, Vec<f16>) = (half(m * k), half(k * n));
            Box::new(GemmFloat::new(variant, m, n, k, opt, a, &b))
        }
        Dtype::I8 => Box::new(GemmQ8::new(isa, m, n, k, opt, r)),
    })
}

/// Column ranges, and per cold copy the packed weights of each range.
type Packed<P> = (Vec<std::ops::Range<usize>>, Vec<Vec<P>>);

/// The `k x n` weights `b` packed by `pack(columns, count)`: one block per thread's
/// columns when a row of activations is split by columns (m = 1, a fully connected
/// layer, unless the i32 accumulators are kept, which split by rows), else whole; and
/// copied for cold-weight rotation. Returns the column ranges and the copies.
fn pack_weights<T: Copy, P>(
    b: &[T],
    (m, n, k): (usize, usize, usize),
    nr: usize,
    opt: Options,
    pack: impl Fn(&[T], usize) -> P,
    bytes: impl Fn(&P) -> usize,
) -> Packed<P> {
    let cols = if m == 1 && !opt.i32_out {
        split(n, opt.threads, nr)
    } else {
        std::iter::once(0..n).collect()
    };
    let copy = || {
        cols.iter()
            .map(|cr| pack(&column_block(b, k, n, cr), cr.len()))
            .collect()
    };
    let packed = cold_copies(opt.cold_bytes, copy, bytes);
    (cols, packed)
}

/// A floating-point GEMM (f32, or f16 on CPUs with half-precision arithmetic).
pub(super) struct GemmFloat<T> {
    m: usize,
    n: usize,
    k: usize,
    variant: f32_gemm::Variant<T>,
    pub(super) a: Vec<T>,
    /// Per copy, per thread: the packed weights (per-thread column slices for m = 1).
    packed: Vec<Vec<f32_gemm::PackedB<T>>>,
    cols: Vec<std::ops::Range<usize>>,
    c: Vec<T>,
    turn: usize,
}

impl<T: Copy + Default> GemmFloat<T> {
    pub(super) fn new(
        variant: f32_gemm::Variant<T>,
        m: usize,
        n: usize,
        k: usize,
        opt: Options,
        a: Vec<T>,
        b: &[T],
    ) -> Self {
        let (cols, packed) = pack_weights(
            b,
            (m, n, k),
            variant.nr,
            opt,
            |sub, cols| f32_gemm::PackedB::new(k, cols, sub, cols, variant.nr),
            |p| p.bytes(),
        );
        GemmFloat {
            m,
            n,
            k,
            variant,
            a,
            packed,
            cols,
            c: vec![T::default(); m * n],
            turn: 0,
        }
    }
}

impl<T: Copy + Default + Send + Sync> Workload for GemmFloat<T> {
    fn ops(&self) -> u64 {
        2 * (self.m * self.n * self.k) as u64
    }
    fn path(&self) -> String {
        self.variant.name.to_string()
    }
    fn run(&mut self, pool: &Pool) {
        self.turn = (self.turn + 1) % self.packed.len();
        let packed = &self.packed[self.turn];
        let (v, k, n, a) = (&self.variant, self.k, self.n, &self.a);
        if self.m == 1 {
            let chunks = chunks_at(&mut self.c, &self.cols, 1);
            par_chunks(pool, chunks, |t, c| {
                if let Some(p) = packed.get(t) {
                    f32_gemm::gemm(v, 1, a, k, p, c, p.n);
                }
            });
        } else {
            par_rows(pool, &mut self.c, self.m, n, v.mr, |r, c| {
                f32_gemm::gemm(v, r.len(), &a[r.start * k..], k, &packed[0], c, n);
            });
        }
    }
}

pub(super) struct GemmQ8 {
    m: usize,
    n: usize,
    k: usize,
    variant: qs8_gemm::Variant,
    pub(super) a: Vec<u8>,
    packed: Vec<Vec<qs8_gemm::PackedQB>>,
    cols: Vec<std::ops::Range<usize>>,
    bias: Vec<i32>,
    requant: Requant,
    c: Vec<u8>,
    /// The i32 accumulators, when the workload keeps them instead of `c`.
    c_i32: Option<Vec<i32>>,
    turn: usize,
}

impl GemmQ8 {
    pub(super) fn new(isa: &Isa, m: usize, n: usize, k: usize, opt: Options, r: &mut Rng) -> Self {
        // Default weights use the reduced range FBGEMM and MLAS use without VNNI; the
        // full-range option draws from all of [-128, 127] and demands an exact path.
        let (lo, hi) = if opt.full_range {
            (-128, 127)
        } else {
            (-64, 63)
        };
        let b: Vec<i8> = (0..k * n).map(|_| r.i8_in(lo, hi)).collect();
        let variant = qs8_gemm::best(isa, qs8_gemm::weights_reduced(&b), opt.full_range, n);
        let a: Vec<u8> = (0..m * k).map(|_| r.below(256) as u8).collect();
        let (cols, packed) = pack_weights(
            &b,
            (m, n, k),
            variant.nr,
            opt,
            |sub, cols| qs8_gemm::PackedQB::new(k, cols, sub, cols, &variant),
            |p| p.bytes(),
        );
        let requant = Requant::from_scale(1.0 / ((k as f64).sqrt() * 64.0), 128);
        GemmQ8 {
            m,
            n,
            k,
            variant,
            a,
            packed,
            cols,
            bias: (0..n).map(|j| (j as i32 % 200) - 100).collect(),
            requant,
            c: if opt.i32_out {
                Vec::new()
            } else {
                vec![0; m * n]
            },
            c_i32: opt.i32_out.then(|| vec![0; m * n]),
            turn: 0,
        }
    }
}

impl Workload for GemmQ8 {
    fn ops(&self) -> u64 {
        2 * (self.m * self.n * self.k) as u64
    }
    fn path(&self) -> String {
        let out = if self.c_i32.is_some() {
            ", i32 out"
        } else {
            ""
        };
        format!("{} ({}{out})", self.variant.name, self.variant.path())
    }
    fn run(&mut self, pool: &Pool) {
        self.turn = (self.turn + 1) % self.packed.len();
        let packed = &self.packed[self.turn];
        let (v, k, n, a) = (&self.variant, self.k, self.n, &self.a);
        if let Some(c) = &mut self.c_i32 {
            let bias = &self.bias;
            par_rows(pool, c, self.m, n, v.mr, |r, c| {
                let a = &a[r.start * k..];
                qs8_gemm::gemm_i32(v, r.len(), a, k, &packed[0], 128, bias, c, n);
            });
        } else if self.m == 1 {
            let chunks = chunks_at(&mut self.c, &self.cols, 1);
            let (cols, bias, rq) = (&self.cols, &self.bias, self.requant);
            par_chunks(pool, chunks, |t, c| {
                if let (Some(p), Some(cr)) = (packed.get(t), cols.get(t)) {
                    let q = qs8_gemm::QParams {
                        a_zero_point: 128,
                        bias: &bias[cr.clone()],
                        requant: rq,
                    };
                    qs8_gemm::gemm(v, 1, a, k, p, &q, c, p.n);
                }
            });
        } else {
            let q = qs8_gemm::QParams {
                a_zero_point: 128,
                bias: &self.bias,
                requant: self.requant,
            };
            par_rows(pool, &mut self.c, self.m, n, v.mr, |r, c| {
                qs8_gemm::gemm(v, r.len(), &a[r.start * k..], k, &packed[0], &q, c, n);
            });
        }
    }
}
