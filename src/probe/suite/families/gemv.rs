//! Fully connected layers (GEMV: one row of activations times a `k x n` weight
//! matrix), columns split across threads. Memory bound: int8 gains from moving a
//! quarter of the weight bytes, not from the arithmetic.

use super::super::workload::{dim, Options, Skip, Workload};
use super::{dim_or_1, gemm, Family, Int8Gain, Model, Role, Shape};
use crate::probe::kernels::Isa;
use crate::schema::Dtype;
use crate::util::Rng;

pub struct Gemv;

impl Family for Gemv {
    fn name(&self) -> &'static str {
        "gemv"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32, Dtype::F16, Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Layer
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[("n", 1000), ("k", 1280)]
    }
    fn ops(&self, s: &Shape) -> u64 {
        2 * dim_or_1(s, "n") * dim_or_1(s, "k")
    }
    fn model(&self, _: &Shape) -> Model {
        Model {
            efficiency: 0.07,
            int8_gain: Int8Gain::Fixed(2.2),
            thread_scaling: None,
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
        let (n, k) = (dim(shape, "n", "gemv")?, dim(shape, "k", "gemv")?);
        gemm::matmul(dtype, 1, n, k, isa, opt, r)
    }
}
