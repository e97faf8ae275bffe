//! Command bodies shared by `fleetscope` and the lean `fleetscope-probe`, so both
//! binaries behave the same whatever parses their arguments.

use super::bench::{self, Plan, Pool};
use super::identify::{identify, load_fixture, summary, Sysroot};
use super::kernels::{selftest, Isa};
use super::suite::{self, Progress, RunOptions, WorkloadOptions};
use super::ProbeError;
use crate::schema::{Dtype, KernelResult};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where to identify from.
#[derive(Debug, Clone)]
pub enum Target {
    Live,
    Fixture(PathBuf),
    Sysroot(PathBuf),
}

/// `identify`: the text to print.
pub fn identify_command(target: &Target, json: bool) -> Result<String, ProbeError> {
    let sys = match target {
        Target::Live => Sysroot::live(),
        Target::Fixture(path) => load_fixture(path)?,
        Target::Sysroot(dir) => {
            if !dir.is_dir() {
                return Err(ProbeError::Usage(format!("--sysroot {}: not a directory; pass a folder holding proc/ and sys/ as captured from a device", dir.display())));
            }
            Sysroot::dir(dir)
        }
    };
    let id = identify(&sys);
    if json {
        serde_json::to_string_pretty(&id)
            .map(|s| s + "\n")
            .map_err(|e| ProbeError::Internal(format!("cannot encode the result as JSON: {e}")))
    } else {
        Ok(summary(&id))
    }
}

/// `probe`: identify this device, run a suite, write one validated report to `out`
/// (a path, or `-` for stdout). Returns what to print on stdout.
pub fn probe_command(
    suite_spec: &str,
    out: &str,
    opt: RunOptions,
    progress: &mut dyn Progress,
) -> Result<String, ProbeError> {
    let (suite, suite_ref) = suite::load(suite_spec)?;
    let report = suite::run_suite(&suite, suite_ref, &Sysroot::live(), opt, progress)?;
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| ProbeError::Internal(format!("cannot encode the report: {e}")))?;
    // Never hand out a report the collector would refuse.
    crate::schema::check_written(json.as_bytes(), &report)
        .map_err(|e| ProbeError::Internal(format!("the report fails its own schema ({e})")))?;
    if out == "-" {
        return Ok(json + "\n");
    }
    let tmp = format!("{out}.tmp");
    std::fs::write(&tmp, format!("{json}\n"))
        .and_then(|_| std::fs::rename(&tmp, out))
        .map_err(|source| ProbeError::Write {
            path: out.to_string(),
            source,
        })?;
    let measured = report
        .results
        .iter()
        .filter(|r| r.skipped.is_none())
        .count();
    Ok(format!(
        "wrote {out}: {} results ({measured} measured, {} skipped), suite {} v{}\n",
        report.results.len(),
        report.results.len() - measured,
        report.suite.id,
        report.suite.version
    ))
}

/// What `bench` runs.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    pub kernel: String,
    pub dtype: Dtype,
    pub shape: BTreeMap<String, u64>,
    pub threads: usize,
    pub full_range: bool,
    /// int8 GEMM: i32 accumulators out, no requantization.
    pub i32_out: bool,
    pub cold: bool,
    pub min_time_ms: u64,
}

/// `bench`: one kernel, pinned to the fastest cluster's first `threads` CPUs.
pub fn bench_command(args: &BenchArgs, json: bool) -> Result<String, ProbeError> {
    let isa = Isa::detect();
    let sys = Sysroot::live();
    let id = identify(&sys);
    let allowed = bench::allowed_cpus();
    let mut clusters: Vec<&crate::schema::Cluster> = id.cpu.clusters.iter().collect();
    clusters.sort_by_key(|c| std::cmp::Reverse(c.max_khz.unwrap_or(0)));
    let mut cpus: Vec<u32> = clusters
        .iter()
        .flat_map(|c| c.cpus.iter().copied())
        .filter(|c| allowed.contains(c))
        .collect();
    if cpus.is_empty() {
        cpus = allowed.clone();
    }
    let threads = args.threads.max(1);
    if threads > cpus.len() {
        return Err(ProbeError::Usage(format!(
            "--threads {threads}: only {} CPUs are available here",
            cpus.len()
        )));
    }
    cpus.truncate(threads);
    // The variants for the kind of core the benchmark runs on.
    let core = id
        .cpu
        .clusters
        .iter()
        .find(|c| c.cpus.contains(&cpus[0]))
        .and_then(|c| c.uarch.as_deref())
        .unwrap_or("");
    let isa = isa.on_core(core);
    let llc = id
        .cpu
        .clusters
        .iter()
        .flat_map(|c| c.caches.iter())
        .map(|c| c.size_bytes as usize)
        .max()
        .unwrap_or(8 << 20);
    let opt = WorkloadOptions {
        threads,
        cold_bytes: if args.cold { 2 * llc } else { 0 },
        full_range: args.full_range,
        i32_out: args.i32_out,
    };
    let mut w = suite::build_workload(&args.kernel, args.dtype, &args.shape, &isa, opt)
        .map_err(ProbeError::CannotRun)?;
    let pool = Pool::new(&cpus);
    let plan = Plan {
        warmup: 5,
        min_samples: 20,
        min_time: Duration::from_millis(args.min_time_ms),
        max_time: Duration::from_millis(args.min_time_ms * 5),
    };
    let mut result = KernelResult {
        kernel: args.kernel.clone(),
        dtype: Some(args.dtype),
        shape: args.shape.clone(),
        threads: threads as u32,
        cpus: cpus.clone(),
        path: Some(w.path()),
        ..Default::default()
    };
    let ops = w.ops();
    let meter = bench::Meter::detect(&sys, &id);
    bench::measure_case(
        &plan,
        &cpus,
        &sys,
        &meter,
        ops,
        || w.run(&pool),
        &mut result,
    );
    suite::families::note_inference_energy(&mut result);
    let stats = result
        .latency_us
        .ok_or_else(|| ProbeError::CannotRun("no samples were taken".into()))?;
    let samples = result.samples.unwrap_or(0);
    if json {
        return serde_json::to_string(&result)
            .map(|s| s + "\n")
            .map_err(|e| ProbeError::Internal(format!("cannot encode the result: {e}")));
    }
    Ok(format!(
        "{} {:?} {:?} x{} on cpus {:?}\n  path   {}\n  {:.2} GOPS at p50   latency us: min {:.2}  p10 {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (cv {:.3}, {} samples)\n",
        result.kernel, args.dtype, args.shape, threads, cpus, w.path(), result.gops.unwrap_or(0.0),
        stats.min, stats.p10, stats.p50, stats.p90, stats.p99, stats.max, stats.cv, samples
    ))
}

/// `dispatch --midr M`: the variant each GEMM and the depthwise kernel pick on this
/// CPU's instruction sets for a core with that MIDR, as the runner picks per cluster
/// (the core's microarchitecture from `datasets/midr_parts.csv` says whether it
/// issues in order). One JSON object.
pub fn dispatch_command(midr: u32) -> Result<String, ProbeError> {
    use super::kernels::{dwconv_variant::DwVariant, f16_gemm, f32_gemm, qs8_gemm};
    let m = super::identify::Midr::from_value(midr);
    let part = crate::catalog::catalog()
        .midr_part(m.implementer, m.part, m.variant)
        .ok_or_else(|| {
            ProbeError::Usage(format!(
                "--midr {midr:#010x}: no core with implementer {:#x} and part {:#x} in datasets/midr_parts.csv",
                m.implementer, m.part
            ))
        })?;
    let isa = Isa::detect().on_core(&part.uarch);
    let dw = DwVariant::best(&isa);
    let doc = serde_json::json!({
        "midr": format!("{midr:#010x}"),
        "uarch": part.uarch,
        "in_order": isa.in_order,
        "gemm": {
            "f32": f32_gemm::best(&isa).name,
            "i8": qs8_gemm::best(&isa, false, true, 64).name,
            "f16": f16_gemm::best(&isa).map(|v| v.name),
        },
        "dwconv3x3": {
            "f32": dw.name("f32"),
            "i8": dw.name("qs8"),
        },
    });
    Ok(format!("{doc}\n"))
}

/// `selftest`: every kernel variant this CPU supports against its reference: the
/// report, and whether every case passed (a failure is a finding, not an error).
pub fn selftest_command() -> (String, bool) {
    let isa = Isa::detect();
    let outcomes = selftest::run(&isa, 80, 2026);
    let mut by_variant: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for o in &outcomes {
        let e = by_variant.entry(o.variant.clone()).or_default();
        e.1 += 1;
        e.0 += usize::from(o.ok);
    }
    let mut text = format!("kernel self-test on {isa:?}\n");
    for (v, (ok, n)) in &by_variant {
        text += &format!(
            "  {v:44} {ok}/{n} {}\n",
            if ok == n { "ok" } else { "FAILED" }
        );
    }
    for (v, needs) in selftest::skipped(&isa) {
        text += &format!("  {v:44} skipped: needs {needs}, which this CPU does not report\n");
    }
    let failed: Vec<&selftest::Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
    for f in failed.iter().take(20) {
        text += &format!("  FAIL {} {}: {}\n", f.variant, f.shape, f.detail);
    }
    text += &format!(
        "{} passed, {} failed\n",
        outcomes.len() - failed.len(),
        failed.len()
    );
    (text, failed.is_empty())
}
