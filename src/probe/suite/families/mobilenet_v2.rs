//! MobileNetV2 1.0/224 end to end, built from the suite's own kernels: one inference
//! per run, f32 and int8, each layer split across the pool's threads.

use super::super::workload::{team, Options, Skip, Workload};
use super::{Family, Figure, Int8Gain, Model, Role, Shape};
use crate::probe::bench::Pool;
use crate::probe::kernels::mobilenet_v2::{self, MobileNetV2F32, MobileNetV2Q8};
use crate::probe::kernels::parallel::Team;
use crate::probe::kernels::Isa;
use crate::schema::Dtype;
use crate::util::Rng;

pub struct MobileNetV2;

impl Family for MobileNetV2 {
    fn name(&self) -> &'static str {
        "mobilenet_v2"
    }
    fn dtypes(&self) -> &'static [Dtype] {
        &[Dtype::F32, Dtype::I8]
    }
    fn role(&self) -> Role {
        Role::Model
    }
    fn figures(&self) -> &'static [Figure] {
        &[Figure::SpeedupChart, Figure::LatencyChart]
    }
    fn default_shape(&self) -> &'static [(&'static str, u64)] {
        &[]
    }
    fn ops(&self, _: &Shape) -> u64 {
        mobilenet_v2::ops()
    }
    fn model(&self, _: &Shape) -> Model {
        Model {
            efficiency: 0.35,
            int8_gain: Int8Gain::OfBase(0.6),
            thread_scaling: Some(0.7),
        }
    }
    fn build(
        &self,
        dtype: Dtype,
        _shape: &Shape,
        isa: &Isa,
        _opt: Options,
        _r: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip> {
        Ok(Box::new(match dtype {
            Dtype::F32 => {
                let mut net = MobileNetV2F32::new(isa);
                let input: Vec<f32> = (0..224 * 224 * 3)
                    .map(|i| ((i * 37 % 255) as f32) / 255.0)
                    .collect();
                MobileNet {
                    path: net.path(),
                    infer: Box::new(move |t| drop(std::hint::black_box(net.run(&input, t)))),
                }
            }
            _ => {
                let mut net = MobileNetV2Q8::new(isa);
                let input: Vec<u8> = (0..224 * 224 * 3).map(|i| (i * 37 % 255) as u8).collect();
                MobileNet {
                    path: net.path(),
                    infer: Box::new(move |t| drop(std::hint::black_box(net.run(&input, t)))),
                }
            }
        }))
    }
}

/// MobileNetV2 end to end (either dtype): one inference per run.
struct MobileNet {
    infer: Box<dyn FnMut(Team)>,
    path: String,
}

impl Workload for MobileNet {
    fn ops(&self) -> u64 {
        mobilenet_v2::ops()
    }
    fn path(&self) -> String {
        self.path.clone()
    }
    fn run(&mut self, pool: &Pool) {
        let run = |f: &(dyn Fn(usize, usize) + Sync)| pool.run(f);
        (self.infer)(team(pool, &run));
    }
}
