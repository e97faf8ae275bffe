//! The kernel-family registry: one file per family, each a `Family` that says its
//! name, dtypes, default shape, operation count, how to build its workload, what it is
//! to the analysis (`Role`, `Figure`s) and how the synthetic fleet models it.
//!
//! Everything that needs to know the families reads `REGISTRY`: the suite parser,
//! `bench`, the suite runner, the synthetic fleet, the statistics and the charts.
//! Adding a family is one new file here and one line in `REGISTRY`.

mod conv3x3;
mod dwconv3x3;
mod gemm;
mod gemv;
mod membw;
mod mobilenet_v2;
mod peak_dot;
mod peak_fma;

use super::workload::{Options, Skip, Workload};
use crate::probe::kernels::Isa;
use crate::schema::Dtype;
use crate::util::Rng;
use std::collections::BTreeMap;

/// A kernel shape: named dimensions (`m`, `n`, `k`, `h`, `w`, `cin`, `stride`, ...).
pub type Shape = BTreeMap<String, u64>;

/// Every family this build can run, in the order reports and charts list them.
pub static REGISTRY: &[&dyn Family] = &[
    &gemm::Gemm,
    &conv3x3::Conv3x3,
    &dwconv3x3::DwConv3x3,
    &gemv::Gemv,
    &peak_fma::PeakFma,
    &peak_dot::PeakDot,
    &membw::Membw,
    &mobilenet_v2::MobileNetV2,
];

/// What a family is to the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// One layer of an inference model (GEMM, convolutions, fully connected): the
    /// work the optimisation priorities rank.
    Layer,
    /// A whole model end to end, built from the layers.
    Model,
    /// A register-bound peak loop: what the hardware can do, not work an app does.
    Peak,
    /// A memory-bandwidth probe.
    Bandwidth,
}

impl Role {
    /// Work an app does when it runs a model (layers and whole models).
    pub fn is_inference(self) -> bool {
        matches!(self, Role::Layer | Role::Model)
    }
}

/// A figure or headline number of the report that a family feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// The int8-over-f32 speedup chart by core type.
    SpeedupChart,
    /// The headline int8 speedup with and without dot-product instructions
    /// (`int8.speedup_median.dotprod`): compute-bound layers only.
    DotprodSpeedup,
    /// The latency-by-device-tier chart.
    LatencyChart,
    /// Fig. 1's measured peak GFLOPS per SoC.
    MeasuredPeak,
}

/// How the synthetic fleet models a family on a simulated core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// Share of a core's f32 peak the kernel reaches (ours; in-order cores get 80 % of
    /// it, except for peak loops).
    pub efficiency: f64,
    /// int8 over f32 throughput, from the core's base gain (3.2 with dot product,
    /// 1.7 on 64-bit NEON without, ...).
    pub int8_gain: Int8Gain,
    /// Speedup of each extra thread on the big cluster; `None`: measured on one
    /// thread only.
    pub thread_scaling: Option<f64>,
}

/// int8 over f32 throughput as a function of the core's base gain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Int8Gain {
    /// `1 + (base - 1) * f`: the share `f` of the core's gain this family sees.
    OfBase(f64),
    /// Independent of the core (memory-bound kernels: 4x fewer weight bytes).
    Fixed(f64),
}

impl Int8Gain {
    pub fn apply(self, base: f64) -> f64 {
        match self {
            Int8Gain::OfBase(1.0) => base,
            Int8Gain::OfBase(f) => 1.0 + (base - 1.0) * f,
            Int8Gain::Fixed(g) => g,
        }
    }
}

/// One kernel family. Each implementation is one file of this folder.
pub trait Family: Sync {
    /// The name in suite files, reports and tables (`gemm`, `dwconv3x3`, ...).
    fn name(&self) -> &'static str;
    /// The data types it has variants for.
    fn dtypes(&self) -> &'static [Dtype];
    /// What it is to the analysis.
    fn role(&self) -> Role;
    /// The figures and headline numbers it feeds.
    fn figures(&self) -> &'static [Figure] {
        &[]
    }
    /// The shape `bench` uses when none is given on the command line.
    fn default_shape(&self) -> &'static [(&'static str, u64)];
    /// Operations of one run at `shape`, independent of the ISA (a missing
    /// dimension counts as 1): what the synthetic fleet times.
    fn ops(&self, shape: &Shape) -> u64;
    /// How the synthetic fleet models it at `shape`.
    fn model(&self, shape: &Shape) -> Model;
    /// Can it keep int8 accumulators as i32 output (`--i32-out`)?
    fn has_i32_out(&self) -> bool {
        false
    }
    /// The workload at one dtype (one of `dtypes`) and shape, or why it cannot run here.
    fn build(
        &self,
        dtype: Dtype,
        shape: &Shape,
        isa: &Isa,
        opt: Options,
        rng: &mut Rng,
    ) -> Result<Box<dyn Workload>, Skip>;
}

/// The family called `name`.
pub fn get(name: &str) -> Option<&'static dyn Family> {
    REGISTRY.iter().copied().find(|f| f.name() == name)
}

/// A whole network's run is one inference: give its energy per inference too.
pub fn note_inference_energy(result: &mut crate::schema::KernelResult) {
    if get(&result.kernel).is_some_and(|f| f.role() == Role::Model) {
        if let Some(e) = result.energy.as_mut() {
            e.joules_per_inference = e.joules_per_iteration;
        }
    }
}

/// The names of every family, in registry order.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|f| f.name()).collect()
}

/// The names of the families that satisfy `keep`, in registry order.
pub fn names_where(keep: impl Fn(&dyn Family) -> bool) -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|f| keep(**f))
        .map(|f| f.name())
        .collect()
}

/// The names of the families that feed `figure`, in registry order.
pub fn feeding(figure: Figure) -> Vec<&'static str> {
    names_where(|f| f.figures().contains(&figure))
}

/// The shape `bench` uses for `family` when none is given (empty if unknown).
pub fn default_shape(family: &str) -> Shape {
    get(family)
        .map(|f| f.default_shape())
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect()
}

/// `family`'s default shape made small enough for a smoke test in a debug build:
/// dimensions at most 16, 100 loop iterations, 1 MiB copied.
pub fn smoke_shape(family: &str) -> Shape {
    let small = |key: &str, v: u64| match key {
        "stride" => v,
        "iters" => 100,
        "mib" => 1,
        _ => v.min(16),
    };
    default_shape(family)
        .into_iter()
        .map(|(k, v)| {
            let v = small(&k, v);
            (k, v)
        })
        .collect()
}

/// A dimension of `shape`, or 1 when absent: for nominal operation counts.
fn dim_or_1(shape: &Shape, key: &str) -> u64 {
    shape.get(key).copied().unwrap_or(1)
}

/// Build the workload for one family/dtype/shape.
pub fn build(
    family: &str,
    dtype: Dtype,
    shape: &Shape,
    isa: &Isa,
    opt: Options,
) -> Result<Box<dyn Workload>, Skip> {
    let f = get(family).ok_or_else(|| {
        format!(
            "unknown kernel family {family:?}; use one of {}",
            names().join(", ")
        )
    })?;
    if opt.i32_out && !(f.has_i32_out() && dtype == Dtype::I8) {
        let with: Vec<_> = names_where(|f| f.has_i32_out());
        return Err(format!(
            "i32 output applies to {} with --dtype i8 only",
            with.join(", ")
        ));
    }
    if !f.dtypes().contains(&dtype) {
        if dtype == Dtype::F16 {
            let covered = names_where(|f| f.dtypes().contains(&Dtype::F16));
            return Err(format!(
                "{family} has no f16 variant in this suite version (f16 covers {})",
                covered.join(" and ")
            ));
        }
        return Err(format!("{family} has no {dtype:?} variant"));
    }
    f.build(dtype, shape, isa, opt, &mut Rng::new(17))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry is the one list of families: every entry is complete and
    /// consistent, and everything that reads it (the suite parser, `bench` defaults,
    /// the workload builder) knows each family through it alone.
    #[test]
    fn every_registered_family_is_complete() {
        let isa = Isa::detect();
        let opt = Options {
            threads: 1,
            cold_bytes: 0,
            full_range: false,
            i32_out: false,
        };
        let mut seen = std::collections::BTreeSet::new();
        for f in REGISTRY {
            let name = f.name();
            assert!(seen.insert(name), "{name} is registered twice");
            assert!(std::ptr::eq(get(name).unwrap(), *f));
            assert!(!f.dtypes().is_empty(), "{name} has no dtype");
            let shape = default_shape(name);
            assert!(
                f.ops(&shape) > 0,
                "{name}: no operations at its default shape"
            );
            let m = f.model(&shape);
            assert!(m.efficiency > 0.0 && m.efficiency <= 1.0, "{name}: {m:?}");
            // A suite that names only this family parses.
            let toml = format!(
                "id='t'\nversion='1'\n[[kernels]]\nfamily='{name}'\ndtypes=[{}]\nshapes=[{{}}]\n",
                f.dtypes()
                    .iter()
                    .map(|d| format!("'{}'", d.as_str()))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            super::super::Suite::parse(&toml, "t").unwrap();
            // Every dtype builds at a small shape (or says why not on this CPU), and
            // every dtype it does not list is refused with a reason.
            let small = smoke_shape(name);
            for d in [Dtype::F32, Dtype::F16, Dtype::I8] {
                match build(name, d, &small, &isa, opt) {
                    Ok(w) => {
                        assert!(f.dtypes().contains(&d), "{name} built {d:?}");
                        assert!(w.ops() > 0 && !w.path().is_empty());
                    }
                    Err(why) => assert!(!why.is_empty()),
                }
            }
        }
        let unknown = build("fft", Dtype::F32, &Shape::new(), &isa, opt);
        assert!(unknown.is_err_and(|why| why.contains("gemm")));
    }
}
