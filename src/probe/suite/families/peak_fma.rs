//! Peak f32 multiply-add rate: a register-bound FMA loop per thread (the roofline's
//! compute roof for floats). Its `Peak` workload also serves `peak_dot`.

use super::super::workload::{dim, Options, Skip, Workload};
use super::{dim_or_1, Family, Figure, Int8Gain, Model, Role, Shape};
use crate::probe::bench::Pool;
use crate::probe::kernels::roofline;
use crate::probe::kernels::Isa;
use crate::schema::Dtype;
use crate::util::Rng;

pub struct PeakFma;

impl Family for PeakFma {
    fn name(&self) -> &'static str {
        "peak_fma"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32]
    }
    fn role(&self) -> Role {
        Role::Peak
    }
    fn figures(&self) -> &'static [Figure] {
        &[Figure::MeasuredPeak]
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[("iters", 50_000)]
    }
    fn ops(&self, s: &Shape) -> u64 {
        nominal_ops(s)
    }
    fn model(&self, _: &Shape) -> Model {
        PEAK_MODEL
    }
    fn build(
        &self,
        _dtype: Dtype,
        shape: &Shape,
        isa: &Isa,
        opt: Options,
        _r: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip> {
        let iters = dim(shape, "iters", self.name())?;
        Ok(Box::new(Peak::new(isa, false, iters, opt.threads)))
    }
}

/// A nominal 256 operations per loop iteration (the real count depends on the ISA).
pub(super) fn nominal_ops(s: &Shape) -> u64 {
    dim_or_1(s, "iters") * 256
}

/// Peak loops reach nearly all of the core's peak, on in-order cores too.
pub(super) const PEAK_MODEL: Model = Model {
    efficiency: 0.95,
    int8_gain: Int8Gain::OfBase(1.0),
    thread_scaling: Some(0.88),
};

/// Register-bound peak loops, one per thread.
pub(super) struct Peak {
    isa: Isa,
    pub(super) dot: bool,
    iters: usize,
    threads: usize,
    /// Operations of one loop iteration, and the instruction it uses.
    per_iter: u64,
    pub(super) variant: roofline::PeakVariant,
}

impl Peak {
    pub(super) fn new(isa: &Isa, dot: bool, iters: usize, threads: usize) -> Self {
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
