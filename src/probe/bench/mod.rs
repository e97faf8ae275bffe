//! Measurement: the timing loop, statistics, CPU pinning and a pinned thread pool.

mod affinity;
mod energy;
mod pool;
mod slowdown;
mod stats;
mod timing;

pub use affinity::{allowed_cpus, cur_freq_khz, pin_current_thread, PinError};
pub use energy::{parse_rails, Meter, POWER_STATS_SERVICE};
pub use pool::Pool;
pub use slowdown::{stretched, Slowdown, SLOWDOWN_ENV};
pub use stats::{percentile, summarise};
pub use timing::{measure, Plan};

use crate::probe::identify::{self, Sysroot};
use crate::schema::{KernelResult, TempReading};

/// The one measurement `bench` and the suite runner share: time `run` under `plan` on
/// `cpus` and fill `result` with the latency statistics, samples, operations (`ops`
/// per run) and GOPS at p50, the clock (the mean of before and after), the hottest
/// thermal zone before and after, and the energy `meter` saw over the window (a
/// fuel gauge stretches the window to the length it needs). `latency_us` stays
/// absent if no sample was taken.
pub fn measure_case(
    plan: &Plan,
    cpus: &[u32],
    sys: &Sysroot,
    meter: &Meter,
    ops: u64,
    run: impl FnMut(),
    result: &mut KernelResult,
) {
    let plan = Plan {
        min_time: plan.min_time.max(meter.min_window()),
        max_time: plan.max_time.max(meter.min_window()),
        ..*plan
    };
    let (t0, f0) = (identify::hottest_c(sys), cur_freq_khz(cpus));
    let window = meter.start(cpus);
    let samples = measure(&plan, run);
    let runs = (plan.warmup + samples.len()) as u64;
    result.energy = Some(meter.finish(window, runs, cpus));
    let (t1, f1) = (identify::hottest_c(sys), cur_freq_khz(cpus));
    if let Some(stats) = summarise(&samples) {
        result.ops = Some(ops);
        result.gops = Some(ops as f64 / stats.p50 / 1e3);
        result.latency_us = Some(stats);
        result.samples = Some(samples.len() as u64);
    }
    result.freq_khz = match (f0, f1) {
        (Some(a), Some(b)) => Some((a + b) / 2),
        (a, b) => a.or(b),
    };
    if t0.is_some() || t1.is_some() {
        result.temp_c = Some(TempReading {
            before: t0,
            after: t1,
        });
    }
}
