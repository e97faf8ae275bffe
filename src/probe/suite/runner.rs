//! Running a suite: per CPU cluster (pinned), per thread configuration, every kernel,
//! dtype and shape of the suite, with the clock and the hottest thermal zone read
//! before and after each measurement, a temperature-driven cooldown in between, and
//! an optional sustained-load run that yields the sustained/burst ratio.

use super::families;
use super::spec::Suite;
use super::workload::Options;
use crate::probe::bench::{self, Plan, Pool};
use crate::probe::identify::{self, Sysroot};
use crate::probe::kernels::{roofline, Isa};
use crate::schema::{Dtype, Identity, Issue, KernelResult, Report, SuiteRef, Throttling};
use std::time::{Duration, Instant};

/// Where progress goes: a bar on a terminal, plain lines elsewhere.
pub trait Progress {
    fn begin(&mut self, total: usize);
    fn step(&mut self, label: &str);
    fn finish(&mut self);
    /// A measurement finished (streamed to a host that may lose the device mid-run).
    fn result(&mut self, _result: &KernelResult) {}
}

/// One line per measurement on stderr.
pub struct PlainProgress {
    total: usize,
    done: usize,
}

impl PlainProgress {
    pub fn new() -> Self {
        PlainProgress { total: 0, done: 0 }
    }
}

/// Another progress, plus each finished result on stdout as a result line
/// (`schema::result_line`), for a host that may lose the device mid-run.
pub struct StreamResults<'a>(pub &'a mut dyn Progress);

impl Progress for StreamResults<'_> {
    fn begin(&mut self, total: usize) {
        self.0.begin(total);
    }
    fn step(&mut self, label: &str) {
        self.0.step(label);
    }
    fn finish(&mut self) {
        self.0.finish();
    }
    fn result(&mut self, result: &KernelResult) {
        println!("{}", crate::schema::result_line(result));
        self.0.result(result);
    }
}

impl Default for PlainProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for PlainProgress {
    fn begin(&mut self, total: usize) {
        self.total = total;
    }
    fn step(&mut self, label: &str) {
        self.done += 1;
        eprintln!("[{}/{}] {label}", self.done, self.total);
    }
    fn finish(&mut self) {}
}

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// int8 GEMMs with full-range weights on an exact path.
    pub full_range: bool,
    /// A slowdown injected on purpose (`FLEETSCOPE_PROBE_SLOWDOWN`), said in the report.
    pub slowdown: bench::Slowdown,
}

/// One CPU cluster to run on: its online CPUs this process may use.
#[derive(Debug, Clone)]
struct Target {
    cpus: Vec<u32>,
    uarch: String,
}

fn targets(id: &Identity, which: &str) -> Vec<Target> {
    let allowed = bench::allowed_cpus();
    let mut clusters: Vec<(Target, u64)> = id
        .cpu
        .clusters
        .iter()
        .map(|c| {
            let cpus: Vec<u32> = c
                .cpus
                .iter()
                .copied()
                .filter(|x| {
                    allowed.contains(x) && id.cpu.cpus.iter().any(|p| p.id == *x && p.online)
                })
                .collect();
            (
                Target {
                    cpus,
                    uarch: c.uarch.clone().unwrap_or_else(|| "unknown".into()),
                },
                c.max_khz.unwrap_or(0),
            )
        })
        .filter(|(t, _)| !t.cpus.is_empty())
        .collect();
    if clusters.is_empty() {
        clusters.push((
            Target {
                cpus: allowed,
                uarch: "unknown".into(),
            },
            0,
        ));
    }
    match which {
        "big" => clusters
            .iter()
            .max_by_key(|(_, khz)| *khz)
            .map(|(t, _)| vec![t.clone()])
            .unwrap_or_default(),
        "little" => clusters
            .iter()
            .min_by_key(|(_, khz)| *khz)
            .map(|(t, _)| vec![t.clone()])
            .unwrap_or_default(),
        _ => clusters.into_iter().map(|(t, _)| t).collect(),
    }
}

fn thread_counts(spec: &[String], cluster: usize) -> Vec<usize> {
    let mut out: Vec<usize> = spec
        .iter()
        .map(|t| {
            if t == "cluster" {
                cluster
            } else {
                t.parse::<usize>().unwrap_or(1).min(cluster)
            }
        })
        .collect();
    out.dedup();
    out.sort_unstable();
    out.dedup();
    out
}

/// The size of the largest cache any cluster reports, else 8 MiB.
fn llc_bytes(id: &Identity) -> usize {
    id.cpu
        .clusters
        .iter()
        .flat_map(|c| c.caches.iter())
        .map(|c| c.size_bytes as usize)
        .max()
        .unwrap_or(8 << 20)
}

fn wait_for_cooldown(sys: &Sysroot, baseline: Option<f64>, margin: f64, max: Duration) {
    let Some(base) = baseline else { return };
    let start = Instant::now();
    while start.elapsed() < max {
        match identify::hottest_c(sys) {
            Some(t) if t > base + margin => std::thread::sleep(Duration::from_millis(500)),
            _ => return,
        }
    }
}

/// Run `suite` on this device and return the complete report (an error only when
/// no report id can be drawn from the OS entropy source).
pub fn run_suite(
    suite: &Suite,
    suite_ref: SuiteRef,
    sys: &Sysroot,
    opt: RunOptions,
    progress: &mut dyn Progress,
) -> Result<Report, crate::util::EntropyError> {
    let started_at = crate::util::now_rfc3339();
    let report_id = crate::util::uuid_v4()?;
    let id = identify::identify(sys);
    let isa = Isa::detect();
    let mut report = Report::new(id.clone(), report_id, suite_ref);
    report.started_at = started_at;
    report.device.probe_abi = Some(identify::this_abi().to_string());
    if !opt.slowdown.is_empty() {
        report.errors.push(Issue {
            stage: "bench".into(),
            message: opt.slowdown.describe(),
        });
    }
    let plan = Plan {
        warmup: suite.measure.warmup,
        min_samples: suite.measure.min_samples.max(1),
        min_time: Duration::from_millis(suite.measure.min_time_ms),
        max_time: Duration::from_millis(suite.measure.max_time_ms.max(suite.measure.min_time_ms)),
    };
    let cold_bytes = if suite.measure.cold_weights {
        2 * llc_bytes(&id)
    } else {
        0
    };
    // Before any load, so a fuel gauge's idle baseline is the device at rest.
    let meter = bench::Meter::detect(sys, &id);
    report.energy = Some(meter.info());
    let baseline = identify::hottest_c(sys);
    let (margin, max_wait) = (
        suite.run.cooldown_margin_c,
        Duration::from_secs(suite.run.cooldown_max_s),
    );
    let targets = targets(&id, &suite.run.clusters);

    let mut jobs = Vec::new();
    for t in &targets {
        for threads in thread_counts(&suite.run.threads, t.cpus.len()) {
            for k in &suite.kernels {
                for d in &k.dtypes {
                    // Checked when the suite was loaded.
                    let dtype = Dtype::parse(d).unwrap_or(Dtype::F32);
                    for shape in &k.shapes {
                        jobs.push((t.clone(), threads, k.family.clone(), dtype, shape.clone()));
                    }
                }
            }
        }
    }
    progress.begin(jobs.len() + usize::from(suite.run.sustained_s > 0));
    let mut pool: Option<(Vec<u32>, Pool)> = None;
    for (target, threads, family, dtype, shape) in jobs {
        let cpus: Vec<u32> = target.cpus[..threads].to_vec();
        if pool.as_ref().is_none_or(|(c, _)| *c != cpus) {
            drop(pool.take()); // join the old workers before pinning new ones
            let p = Pool::new(&cpus);
            for e in &p.pin_errors {
                report.errors.push(Issue {
                    stage: "bench".into(),
                    message: e.clone(),
                });
            }
            pool = Some((cpus.clone(), p));
        }
        let Some((_, pool)) = pool.as_ref() else {
            continue;
        };
        let label = format!(
            "{family} {dtype:?} {:?} x{threads} on {} cpus {:?}",
            shape, target.uarch, cpus
        )
        .to_lowercase();
        progress.step(&label);
        let mut result = KernelResult {
            kernel: family.clone(),
            dtype: Some(dtype),
            shape: shape.clone(),
            threads: threads as u32,
            cpus: cpus.clone(),
            ..Default::default()
        };
        match families::build(
            &family,
            dtype,
            &shape,
            // Per cluster: an in-order core gets the variants scheduled for it.
            &isa.on_core(&target.uarch),
            Options {
                threads,
                cold_bytes,
                full_range: opt.full_range,
                i32_out: false,
            },
        ) {
            Err(reason) => result.skipped = Some(reason),
            Ok(mut w) => {
                wait_for_cooldown(sys, baseline, margin, max_wait);
                result.path = Some(w.path());
                let ops = w.ops();
                let extra = opt.slowdown.extra(&family, dtype);
                let run = || bench::stretched(extra, || w.run(pool));
                bench::measure_case(&plan, &cpus, sys, &meter, ops, run, &mut result);
                families::note_inference_energy(&mut result);
            }
        }
        progress.result(&result);
        report.results.push(result);
    }
    drop(pool);
    if suite.run.sustained_s > 0 {
        progress.step("sustained load (throttling)");
        if let Some(big) = targets
            .iter()
            .max_by_key(|t| t.cpus.len())
            .or(targets.first())
        {
            report.thermal.throttling = sustained(
                &isa,
                &big.cpus[..1],
                Duration::from_secs(suite.run.sustained_s),
                &mut report.errors,
            );
        }
    }
    let _ = bench::pin_current_thread(&bench::allowed_cpus());
    report.thermal.zones = identify::read_zones(sys).zones;
    report.finished_at = crate::util::now_rfc3339();
    progress.finish();
    Ok(report)
}

/// Peak FMA throughput in 250 ms windows for `duration`: burst is the best of the
/// first two windows, sustained the median of the last quarter.
fn sustained(
    isa: &Isa,
    cpus: &[u32],
    duration: Duration,
    errors: &mut Vec<Issue>,
) -> Option<Throttling> {
    if let Err(e) = bench::pin_current_thread(cpus) {
        errors.push(Issue {
            stage: "bench".into(),
            message: e.to_string(),
        });
    }
    let window = Duration::from_millis(250);
    let start = Instant::now();
    let mut rates = Vec::new();
    while start.elapsed() < duration {
        let (w0, mut ops) = (Instant::now(), 0u64);
        while w0.elapsed() < window {
            ops += roofline::peak_fma_f32(isa, 20_000).0;
        }
        rates.push(ops as f64 / w0.elapsed().as_secs_f64() / 1e9);
    }
    if rates.len() < 4 {
        errors.push(Issue {
            stage: "bench".into(),
            message: "sustained run too short for a throttling estimate (needs >= 1 s)".into(),
        });
        return None;
    }
    let burst = rates[..2].iter().copied().fold(0.0, f64::max);
    let mut tail: Vec<f64> = rates[rates.len() * 3 / 4..].to_vec();
    tail.sort_by(f64::total_cmp);
    let sustained = bench::percentile(&tail, 50.0);
    Some(Throttling {
        sustained_burst_ratio: sustained / burst,
        burst_gops: burst,
        sustained_gops: sustained,
        duration_s: start.elapsed().as_secs_f64(),
        kernel: Some("peak_fma f32, one core".into()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_configs() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(super::thread_counts(&s(&["1", "cluster"]), 4), vec![1, 4]);
        assert_eq!(super::thread_counts(&s(&["1", "cluster"]), 1), vec![1]);
        assert_eq!(super::thread_counts(&s(&["8", "2"]), 4), vec![2, 4]);
    }
}
