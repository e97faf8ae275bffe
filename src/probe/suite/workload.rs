//! One measurable instance of a kernel family at one shape, dtype and thread count:
//! inputs made, weights packed (and copied for cold-weight rotation) before timing.
//! `run` performs one call, split across the pool's threads.

use crate::probe::bench::Pool;
use crate::probe::kernels::conv::{self, DwVariant};
use crate::probe::kernels::f16_gemm::{self, f16};
use crate::probe::kernels::mobilenet_v2::{self, MobileNetV2F32, MobileNetV2Q8};
use crate::probe::kernels::qs8_gemm::{self, Requant};
use crate::probe::kernels::roofline;
use crate::probe::kernels::selftest::Rng;
use crate::probe::kernels::{f32_gemm, Isa};
use crate::schema::Dtype;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Something the harness can time.
pub trait Workload {
    /// Operations per run (2*M*N*K for a GEMM; bytes moved for `membw`).
    fn ops(&self) -> u64;
    /// The implementation that runs (variant and arithmetic path).
    fn path(&self) -> String;
    fn run(&mut self, pool: &Pool);
}

/// Why a workload cannot run here.
pub type Skip = String;

/// Options that change what a family builds.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub threads: usize,
    /// Bytes of weights to rotate through (0: no rotation).
    pub cold_bytes: usize,
    /// int8: weights over the full [-128, 127] range and an exact path.
    pub full_range: bool,
    /// int8 GEMM: keep the i32 accumulators instead of requantizing to u8 (the work
    /// of onnxruntime's `MatMulInteger`).
    pub i32_out: bool,
}

fn dim(shape: &BTreeMap<String, u64>, key: &str, family: &str) -> Result<usize, Skip> {
    shape
        .get(key)
        .map(|&v| v as usize)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{family} shape needs {key} > 0"))
}

/// Contiguous ranges of `total` items in `step`-sized blocks, one per thread.
fn split(total: usize, threads: usize, step: usize) -> Vec<std::ops::Range<usize>> {
    let blocks = total.div_ceil(step.max(1));
    (0..threads)
        .map(|t| {
            let (b0, b1) = (blocks * t / threads, blocks * (t + 1) / threads);
            (b0 * step).min(total)..(b1 * step).min(total)
        })
        .collect()
}

/// Hand each pool thread one of `chunks` (as many as threads) to work on.
fn par_chunks<T: Send>(pool: &Pool, chunks: Vec<&mut [T]>, f: impl Fn(usize, &mut [T]) + Sync) {
    let slots: Vec<Mutex<Option<&mut [T]>>> =
        chunks.into_iter().map(|c| Mutex::new(Some(c))).collect();
    pool.run(&|tid, _| {
        let chunk = slots
            .get(tid)
            .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(chunk) = chunk {
            f(tid, chunk);
        }
    });
}

/// The rows of `out` (`m` rows of `row_len`) split across the pool in whole `step`-row
/// tiles: `f(rows, out_rows)` on each thread that got any.
fn par_rows<T: Send>(
    pool: &Pool,
    out: &mut [T],
    m: usize,
    row_len: usize,
    step: usize,
    f: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync,
) {
    let rows = split(m, pool.threads(), step);
    let chunks = chunks_at(out, &rows, row_len);
    par_chunks(pool, chunks, |t, c| {
        let r = rows[t].clone();
        if !r.is_empty() {
            f(r, c);
        }
    });
}

/// Split `out` at the given row ranges (`row_len` elements per row).
fn chunks_at<'a, T>(
    mut out: &'a mut [T],
    ranges: &[std::ops::Range<usize>],
    row_len: usize,
) -> Vec<&'a mut [T]> {
    let mut v = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (head, tail) = std::mem::take(&mut out).split_at_mut((r.end - r.start) * row_len);
        v.push(head);
        out = tail;
    }
    v
}

/// Packed weights, copied until together they span `cold_bytes` (at most 64 copies;
/// one when `cold_bytes` is 0) so that rotating through them defeats the caches.
fn cold_copies<T>(
    cold_bytes: usize,
    pack: impl Fn() -> Vec<T>,
    bytes: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let first = pack();
    let one: usize = first.iter().map(&bytes).sum();
    let copies = if cold_bytes == 0 {
        1
    } else {
        cold_bytes.div_ceil(one.max(1)).clamp(1, 64)
    };
    let mut all = vec![first];
    all.extend((1..copies).map(|_| pack()));
    all
}

/// Columns `cols` of the row-major `k x n` matrix `b`, as a row-major `k x cols.len()`.
fn column_block<T: Copy>(b: &[T], k: usize, n: usize, cols: &std::ops::Range<usize>) -> Vec<T> {
    (0..k)
        .flat_map(|p| b[p * n + cols.start..p * n + cols.end].iter().copied())
        .collect()
}

/// Build the workload for one family/dtype/shape.
pub fn build(
    family: &str,
    dtype: Dtype,
    shape: &BTreeMap<String, u64>,
    isa: &Isa,
    opt: Options,
) -> Result<Box<dyn Workload>, Skip> {
    let mut r = Rng::new(17);
    if opt.i32_out && (family, dtype) != ("gemm", Dtype::I8) {
        return Err("i32 output applies to gemm with --dtype i8 only".into());
    }
    if dtype == Dtype::F16 && !matches!(family, "gemm" | "gemv") {
        return Err(format!(
            "{family} has no f16 variant in this suite version (f16 covers gemm and gemv)"
        ));
    }
    match (family, dtype) {
        ("gemm", _) | ("gemv", _) => {
            let (m, n, k) = if family == "gemv" {
                (1, dim(shape, "n", family)?, dim(shape, "k", family)?)
            } else {
                (
                    dim(shape, "m", family)?,
                    dim(shape, "n", family)?,
                    dim(shape, "k", family)?,
                )
            };
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
                Dtype::I8 => Box::new(GemmQ8::new(isa, m, n, k, opt, &mut r)),
            })
        }
        ("conv3x3", _) => {
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
            Ok(Box::new(Conv3x3::new(
                isa, dtype, h, w, cin, cout, stride, opt, &mut r,
            )))
        }
        ("dwconv3x3", _) => {
            let (h, w, c, stride) = (
                dim(shape, "h", family)?,
                dim(shape, "w", family)?,
                dim(shape, "c", family)?,
                dim(shape, "stride", family)?,
            );
            if stride > 2 {
                return Err("dwconv3x3 supports stride 1 and 2".into());
            }
            Ok(Box::new(DwConv::new(isa, dtype, h, w, c, stride, &mut r)))
        }
        ("peak_fma", Dtype::F32) | ("peak_dot", Dtype::I8) => {
            let peak = Peak::new(
                isa,
                family == "peak_dot",
                dim(shape, "iters", family)?,
                opt.threads,
            );
            if peak.dot && peak.variant == roofline::PeakVariant::Scalar {
                return Err("no int8 dot-product instruction on this CPU (needs dotprod, AVX-512 VNNI or AVX2); a portable loop would measure the compiler, not the hardware".into());
            }
            Ok(Box::new(peak))
        }
        ("membw", _) => {
            let bytes = dim(shape, "mib", family)? << 20;
            let per = bytes / 4 / opt.threads.max(1);
            Ok(Box::new(Membw {
                src: vec![vec![1.0; per]; opt.threads.max(1)],
                dst: vec![vec![0.0; per]; opt.threads.max(1)],
            }))
        }
        ("mobilenet_v2", _) => {
            if opt.threads > 1 {
                return Err("mobilenet_v2 runs single-threaded in this suite version".into());
            }
            Ok(Box::new(match dtype {
                Dtype::F32 => {
                    let mut net = MobileNetV2F32::new(isa);
                    let input: Vec<f32> = (0..224 * 224 * 3)
                        .map(|i| ((i * 37 % 255) as f32) / 255.0)
                        .collect();
                    MobileNet {
                        path: net.path(),
                        infer: Box::new(move || drop(std::hint::black_box(net.run(&input)))),
                    }
                }
                _ => {
                    let mut net = MobileNetV2Q8::new(isa);
                    let input: Vec<u8> = (0..224 * 224 * 3).map(|i| (i * 37 % 255) as u8).collect();
                    MobileNet {
                        path: net.path(),
                        infer: Box::new(move || drop(std::hint::black_box(net.run(&input)))),
                    }
                }
            }))
        }
        (f, d) => Err(format!("{f} has no {d:?} variant")),
    }
}

/// A floating-point GEMM (f32, or f16 on CPUs with half-precision arithmetic).
struct GemmFloat<T> {
    m: usize,
    n: usize,
    k: usize,
    variant: f32_gemm::Variant<T>,
    a: Vec<T>,
    /// Per copy, per thread: the packed weights (per-thread column slices for m = 1).
    packed: Vec<Vec<f32_gemm::PackedB<T>>>,
    cols: Vec<std::ops::Range<usize>>,
    c: Vec<T>,
    turn: usize,
}

impl<T: Copy + Default> GemmFloat<T> {
    fn new(
        variant: f32_gemm::Variant<T>,
        m: usize,
        n: usize,
        k: usize,
        opt: Options,
        a: Vec<T>,
        b: &[T],
    ) -> Self {
        // m = 1 (a fully connected layer) splits columns across threads; otherwise rows.
        let cols = if m == 1 && !opt.i32_out {
            split(n, opt.threads, variant.nr)
        } else {
            std::iter::once(0..n).collect()
        };
        let pack = || {
            cols.iter()
                .map(|cr| {
                    let sub = column_block(b, k, n, cr);
                    f32_gemm::PackedB::new(k, cr.len(), &sub, cr.len(), variant.nr)
                })
                .collect()
        };
        let packed = cold_copies(opt.cold_bytes, pack, |p| p.bytes());
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

struct GemmQ8 {
    m: usize,
    n: usize,
    k: usize,
    variant: qs8_gemm::Variant,
    a: Vec<u8>,
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
    fn new(isa: &Isa, m: usize, n: usize, k: usize, opt: Options, r: &mut Rng) -> Self {
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
        let cols = if m == 1 {
            split(n, opt.threads, variant.nr)
        } else {
            std::iter::once(0..n).collect()
        };
        let pack = || {
            cols.iter()
                .map(|cr| {
                    let sub = column_block(&b, k, n, cr);
                    qs8_gemm::PackedQB::new(k, cr.len(), &sub, cr.len(), &variant)
                })
                .collect()
        };
        let packed = cold_copies(opt.cold_bytes, pack, |p| p.bytes());
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

/// 3x3 convolution: im2col on the calling thread, then the GEMM split by output rows.
struct Conv3x3 {
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

impl Conv3x3 {
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
        let rows = conv::out_size(h, stride) * conv::out_size(w, stride);
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
        Conv3x3 {
            inner,
            h,
            w,
            cin,
            cout,
            stride,
        }
    }
}

impl Workload for Conv3x3 {
    fn ops(&self) -> u64 {
        2 * (conv::out_size(self.h, self.stride)
            * conv::out_size(self.w, self.stride)
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
        match &mut self.inner {
            ConvKind::F32 { gemm, input } => {
                conv::im2col(
                    self.h,
                    self.w,
                    self.cin,
                    self.stride,
                    input,
                    0.0,
                    &mut gemm.a,
                );
                gemm.run(pool);
            }
            ConvKind::Q8 { gemm, input } => {
                conv::im2col(
                    self.h,
                    self.w,
                    self.cin,
                    self.stride,
                    input,
                    128,
                    &mut gemm.a,
                );
                gemm.run(pool);
            }
        }
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
        let out = conv::out_size(h, stride) * conv::out_size(w, stride) * c;
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
        2 * (conv::out_size(self.h, self.stride) * conv::out_size(self.w, self.stride) * self.c * 9)
            as u64
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
        let rows = split(conv::out_size(h, s), pool.threads(), 1);
        let row_len = conv::out_size(w, s) * c;
        if self.dtype == Dtype::F32 {
            let (x, wt, b) = (&self.xf, &self.wf, &self.bf);
            par_chunks(pool, chunks_at(&mut self.of, &rows, row_len), |t, o| {
                conv::dwconv3x3_f32_rows(v, h, w, c, s, x, wt, b, o, rows[t].start, rows[t].end)
            });
        } else {
            let rq = Requant::from_scale(1.0 / 3000.0, 128);
            let (x, wt, b) = (&self.xq, &self.wq, &self.bq);
            par_chunks(pool, chunks_at(&mut self.oq, &rows, row_len), |t, o| {
                conv::dwconv3x3_q8_rows(
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

/// Register-bound peak loops, one per thread.
struct Peak {
    isa: Isa,
    dot: bool,
    iters: usize,
    threads: usize,
    /// Operations of one loop iteration, and the instruction it uses.
    per_iter: u64,
    variant: roofline::PeakVariant,
}

impl Peak {
    fn new(isa: &Isa, dot: bool, iters: usize, threads: usize) -> Self {
        let (per_iter, variant) = if dot {
            roofline::peak_dot_i8(isa, 1)
        } else {
            roofline::peak_fma_f32(isa, 1)
        };
        Peak {
            isa: *isa,
            dot,
            iters,
            threads,
            per_iter,
            variant,
        }
    }
}

impl Workload for Peak {
    fn ops(&self) -> u64 {
        self.per_iter * self.iters as u64 * self.threads as u64
    }
    fn path(&self) -> String {
        self.variant.name().to_string()
    }
    fn run(&mut self, pool: &Pool) {
        let (isa, iters, dot) = (self.isa, self.iters, self.dot);
        pool.run(&|_, _| {
            if dot {
                roofline::peak_dot_i8(&isa, iters);
            } else {
                roofline::peak_fma_f32(&isa, iters);
            }
        });
    }
}

/// STREAM-style copy, one buffer pair per thread.
struct Membw {
    src: Vec<Vec<f32>>,
    dst: Vec<Vec<f32>>,
}

impl Workload for Membw {
    fn ops(&self) -> u64 {
        self.src.iter().map(|s| (s.len() * 8) as u64).sum()
    }
    fn path(&self) -> String {
        "copy (bytes read + written)".into()
    }
    fn run(&mut self, pool: &Pool) {
        let src = &self.src;
        let chunks: Vec<&mut [f32]> = self.dst.iter_mut().map(|d| d.as_mut_slice()).collect();
        par_chunks(pool, chunks, |t, d| {
            roofline::copy(d, &src[t]);
        });
    }
}

/// MobileNetV2 end to end (either dtype): one inference per run.
struct MobileNet {
    infer: Box<dyn FnMut()>,
    path: String,
}

impl Workload for MobileNet {
    fn ops(&self) -> u64 {
        mobilenet_v2::ops()
    }
    fn path(&self) -> String {
        self.path.clone()
    }
    fn run(&mut self, _pool: &Pool) {
        (self.infer)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_once() {
        for (total, threads, step) in [(100, 3, 8), (5, 4, 8), (0, 2, 4), (1000, 1, 6)] {
            let s = split(total, threads, step);
            assert_eq!(s.len(), threads);
            assert_eq!(s.iter().map(|r| r.len()).sum::<usize>(), total);
            assert!(s.windows(2).all(|w| w[0].end == w[1].start));
        }
    }
}
