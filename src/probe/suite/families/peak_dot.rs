//! Peak int8 dot-product rate: a register-bound loop of SDOT/UDOT, AVX-512 VNNI or
//! AVX2 multiply-adds per thread (the roofline's compute roof for int8).

use super::super::workload::{dim, Options, Skip, Workload};
use super::peak_fma::{nominal_ops, Peak, PEAK_MODEL};
use super::{Family, Model, Role, Shape};
use crate::probe::kernels::roofline;
use crate::probe::kernels::Isa;
use crate::schema::Dtype;
use crate::util::Rng;

pub struct PeakDot;

impl Family for PeakDot {
    fn name(&self) -> &'static str {
        "peak_dot"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Peak
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
        let peak = Peak::new(isa, true, dim(shape, "iters", self.name())?, opt.threads);
        if peak.variant == roofline::PeakVariant::Scalar {
            return Err("no int8 dot-product instruction on this CPU (needs dotprod, AVX-512 VNNI or AVX2); a portable loop would measure the compiler, not the hardware".into());
        }
        Ok(Box::new(peak))
    }
}
