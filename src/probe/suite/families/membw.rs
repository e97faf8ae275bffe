//! Memory bandwidth: a STREAM-style copy per thread (the roofline's memory roof).
//! Its operations are bytes read plus bytes written.

use super::super::workload::{dim, par_chunks, Options, Skip, Workload};
use super::{dim_or_1, Family, Int8Gain, Model, Role, Shape};
use crate::probe::bench::Pool;
use crate::probe::kernels::roofline;
use crate::probe::kernels::Isa;
use crate::schema::Dtype;
use crate::util::Rng;

pub struct Membw;

impl Family for Membw {
    fn name(&self) -> &'static str {
        "membw"
    }
    /// The copy moves bytes; the dtype only labels the result.
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32, Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Bandwidth
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[("mib", 128)]
    }
    fn ops(&self, s: &Shape) -> u64 {
        2 * (dim_or_1(s, "mib") << 20)
    }
    fn model(&self, _: &Shape) -> Model {
        Model {
            efficiency: 0.3,
            int8_gain: Int8Gain::Fixed(1.0),
            thread_scaling: None,
        }
    }
    fn build(
        &self,
        _dtype: Dtype,
        shape: &Shape,
        _isa: &Isa,
        opt: Options,
        _r: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip> {
        let bytes = dim(shape, "mib", self.name())? << 20;
        let per = bytes / 4 / opt.threads.max(1);
        Ok(Box::new(Copy {
            src: vec![vec![1.0; per]; opt.threads.max(1)],
            dst: vec![vec![0.0; per]; opt.threads.max(1)],
        }))
    }
}

/// STREAM-style copy, one buffer pair per thread.
struct Copy {
    src: Vec<Vec<f32>>,
    dst: Vec<Vec<f32>>,
}

impl Workload for Copy {
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
