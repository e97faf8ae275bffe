//! One simulated device and its reports: identity from its SoC, kernel results from a
//! per-core-type performance model (peak per clock x clock x cores x kernel
//! efficiency), with run-to-run noise, throttling and field failures.

use super::landscape::{core_speed, flops_per_cycle, SimSoc};
use crate::catalog::{self, Calibration};
use crate::probe::suite::families::{self, Model, Role};
use crate::schema::{
    ApiSupport, Cluster, Dtype, EnergyInfo, EnergyReading, Issue, KernelResult, LatencyStats,
    Report, SuiteRef, TempReading, Throttling,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};
use std::collections::BTreeMap;

/// One kernel case of the simulated suite.
#[derive(Debug, Clone)]
pub struct Case {
    pub family: String,
    pub dtype: Dtype,
    pub shape: BTreeMap<String, u64>,
    pub ops: u64,
    pub role: Role,
    pub model: Model,
}

/// The cases of a suite that the fleet model times (bandwidth probes are not), with
/// their operation counts and models from the family registry.
pub fn cases(suite: &crate::probe::suite::Suite) -> Vec<Case> {
    let mut out = Vec::new();
    for k in &suite.kernels {
        let Some(family) = families::get(&k.family) else {
            continue;
        };
        if family.role() == Role::Bandwidth {
            continue;
        }
        for d in &k.dtypes {
            let dtype = Dtype::parse(d).unwrap_or(Dtype::F32);
            for shape in &k.shapes {
                out.push(Case {
                    family: k.family.clone(),
                    dtype,
                    shape: shape.clone(),
                    ops: family.ops(shape),
                    role: family.role(),
                    model: family.model(shape),
                });
            }
        }
    }
    out
}

/// The core's int8 over f32 throughput gain (ours): dot-product cores, 64-bit NEON
/// without it, 32-bit NEON and x86. Each family sees its share of it (`Int8Gain`).
fn int8_base_gain(dotprod: bool, arch: &str) -> f64 {
    match (dotprod, arch) {
        // The ARMv7 probe has no dot-product kernel, whatever the core.
        (_, "armeabi-v7a") => 1.35,
        (true, _) => 3.2,
        (false, "arm64-v8a") => 1.7,
        (false, "x86_64") => 1.25,
        _ => 1.35,
    }
}

fn abi(soc: &SimSoc) -> &'static str {
    let v7 = [
        "cortex-a5",
        "cortex-a7",
        "cortex-a9",
        "cortex-a12",
        "cortex-a15",
        "cortex-a17",
        "krait",
        "scorpion",
    ];
    match soc.primary_uarch.as_str() {
        "silvermont" | "airmont" => "x86_64",
        u if v7.contains(&u) => "armeabi-v7a",
        _ => "arm64-v8a",
    }
}

/// A uniform draw in [0, 1) from a device hash (FNV-1a of `salt` then the hash).
fn uniform_of(hash: &str, salt: &[u8]) -> f64 {
    let draw = salt
        .iter()
        .chain(hash.as_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
    (draw >> 11) as f64 / (1u64 << 53) as f64
}

/// The ABIs a userland with primary ABI `abi` lists, best first.
fn abilist(abi: &str) -> Vec<String> {
    let list: &[&str] = match abi {
        "arm64-v8a" => &["arm64-v8a", "armeabi-v7a", "armeabi"],
        "armeabi-v7a" => &["armeabi-v7a", "armeabi"],
        "x86_64" => &["x86_64", "x86"],
        other => return vec![other.to_string()],
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// Generates the reports of device `i` of a fleet.
pub struct Generator<'a> {
    pub socs: &'a [SimSoc],
    pub cal: &'a Calibration,
    pub cases: Vec<Case>,
    pub suite: SuiteRef,
    pub seed: u64,
    /// Known changes injected into the results (`simulate --change`).
    pub changes: Vec<super::Change>,
    pick: rand::distr::weighted::WeightedIndex<f64>,
    /// Unix seconds of the first collection day.
    pub start: i64,
}

impl<'a> Generator<'a> {
    pub fn new(
        socs: &'a [SimSoc],
        cal: &'a Calibration,
        opts: &super::Options,
    ) -> Result<Self, super::FleetError> {
        let (seed, start) = (opts.seed, opts.start);
        let (suite, suite_ref) = crate::probe::suite::load(&opts.suite)?;
        let pick = rand::distr::weighted::WeightedIndex::new(socs.iter().map(|s| s.weight))
            .map_err(|e| super::FleetError::Model(format!("SoC weights: {e}")))?;
        Ok(Generator {
            socs,
            cal,
            cases: cases(&suite),
            suite: suite_ref,
            seed,
            changes: opts.changes.clone(),
            pick,
            start,
        })
    }

    /// The reports of device `i` (one, sometimes a re-run or a lab run of the 32-bit
    /// probe), with their ingest sequence numbers `2i+1`, `2i+2`.
    pub fn device(&self, i: u64) -> Vec<(i64, Report)> {
        let mut rng = SmallRng::seed_from_u64(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
        let soc = &self.socs[self.pick.sample(&mut rng)];
        let hash = format!("sim{:016x}", rng.random::<u64>());
        let runs = if rng.random::<f64>() < self.cal.field.reports_per_device - 1.0 {
            2
        } else {
            1
        };
        // Drawn from the hash, so no other draw of the fleet moves.
        let v7_lab_run = self.userland_abi(soc, abi(soc), &hash) == "arm64-v8a"
            && uniform_of(&hash, b"v7-lab-run") < self.cal.field.abi_pair_runs;
        let runs = if v7_lab_run { 2 } else { runs };
        let day: i64 = rng.random_range(0..i64::from(self.cal.field.days.max(1)));
        // One speed factor per device (silicon, firmware, background load).
        let device_speed = LogNormal::new(0.0, 0.08).map_or(1.0, |d| d.sample(&mut rng));
        let model = format!("{} phone {}", soc.vendor, rng.random_range(1..6u32));
        (0..runs)
            .map(|r| {
                let t = self.start + (day + r as i64) * 86_400 + rng.random_range(0..86_400);
                let seq = 2 * i as i64 + 1 + r as i64;
                let probe = (v7_lab_run && r == 1).then_some("armeabi-v7a");
                (
                    seq,
                    self.report(&mut rng, soc, &hash, &model, t, device_speed, probe),
                )
            })
            .collect()
    }

    /// One report; `probe` names the ABI of a probe forced to another than the
    /// userland's own (its identification and kernels are that build's).
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        rng: &mut SmallRng,
        soc: &SimSoc,
        hash: &str,
        model: &str,
        t: i64,
        speed: f64,
        probe: Option<&'static str>,
    ) -> Report {
        let cat = catalog::catalog();
        let f = &self.cal.field;
        let core_abi = abi(soc);
        let userland = self.userland_abi(soc, core_abi, hash);
        let abi = probe.unwrap_or(userland);
        let mut r = Report {
            schema: crate::schema::SCHEMA_ID.into(),
            report_id: crate::util::uuid_from(rng.random()),
            probe_version: env!("CARGO_PKG_VERSION").into(),
            suite: self.suite.clone(),
            started_at: crate::util::rfc3339(t, 0),
            finished_at: crate::util::rfc3339(t + 4, 0),
            ..Default::default()
        };
        r.device.model = Some(model.to_string());
        r.device.manufacturer = Some(soc.vendor.clone());
        r.device.os = "android".into();
        r.device.sdk = Some((soc.year.saturating_sub(2009)).clamp(16, 34) as u32 + 8);
        r.device.abi = Some(userland.into());
        r.device.abilist = abilist(userland);
        r.device.probe_abi = Some(abi.into());
        r.device.device_hash = Some(hash.to_string());
        r.device.memory_bytes = Some(((soc.year.saturating_sub(2010)) as u64).clamp(1, 12) << 29);
        r.soc.vendor = Some(soc.vendor.clone());
        r.soc.name = soc.name.clone();
        r.soc.chipset = Some(soc.chipset.clone());
        r.soc.year = Some(soc.year);
        r.soc.source = Some("simulated".into());
        r.cpu.arch = Some(
            if abi == "armeabi-v7a" && core_abi == "arm64-v8a" {
                // What uname says to a 32-bit process on a 64-bit kernel.
                "armv8l"
            } else if abi == "armeabi-v7a" {
                "armv7l"
            } else if abi == "x86_64" {
                "x86_64"
            } else {
                "aarch64"
            }
            .into(),
        );
        let features: Vec<String> = match (abi, soc.dotprod) {
            ("arm64-v8a", true) => vec!["neon".into(), "asimddp".into(), "fphp".into()],
            ("arm64-v8a", false) => vec!["neon".into()],
            ("armeabi-v7a", _) => vec!["neon".into(), "vfpv4".into()],
            _ => vec!["sse4_2".into()],
        };
        let mut next = 0u32;
        for (ci, c) in soc.clusters.iter().enumerate() {
            let cpus: Vec<u32> = (next..next + c.count).collect();
            next += c.count;
            let khz = u64::from(c.max_mhz) * 1000;
            r.cpu.clusters.push(Cluster {
                id: ci as u32,
                cpus,
                uarch: Some(c.uarch.clone()),
                max_khz: Some(khz),
                min_khz: Some(300_000),
                design_year: cat.uarch(&c.uarch).and_then(|u| u.design_year),
                peak_gflops: Some((super::landscape::cluster_peak(c) * 10.0).round() / 10.0),
                features: features.clone(),
                ..Default::default()
            });
        }
        r.cpu.features = features;
        if rng.random::<f64>() < f.missing_gpu {
            let why =
                || ApiSupport::missing("no GPU identity: the EGL query failed on this device");
            r.gpu.gles = why();
            r.gpu.vulkan = why();
            r.gpu.opencl = why();
        } else {
            r.gpu.vendor = Some(soc.gpu_vendor.clone());
            r.gpu.model = Some(soc.gpu_model.clone());
            r.gpu.peak_gflops = Some(soc.gpu_peak_gflops);
            r.gpu.gles = ApiSupport::found(soc.gles.clone());
            r.gpu.vulkan = match &soc.vulkan {
                Some(v) => ApiSupport::found(v.clone()),
                None => ApiSupport::missing("no android.hardware.vulkan.version feature"),
            };
            let u: f64 = rng.random();
            r.gpu.opencl = if u < self.cal.opencl.broken {
                ApiSupport::missing(
                    "loading the opencl library crashed the check process (SIGSEGV)",
                )
            } else if u < self.cal.opencl.broken + self.cal.opencl.loadable {
                ApiSupport::found("1.2")
            } else {
                ApiSupport::missing("no libOpenCL.so in the vendor library paths")
            };
        }
        let throttle =
            (soc.throttle * Normal::new(1.0, 0.03).map_or(1.0, |d| d.sample(rng))).clamp(0.3, 1.0);
        r.thermal.throttling = Some(Throttling {
            sustained_burst_ratio: (throttle * 1000.0).round() / 1000.0,
            burst_gops: 0.0,
            sustained_gops: 0.0,
            duration_s: 4.0,
            kernel: Some("gemm f32".into()),
        });
        self.results(rng, soc, abi, speed, &mut r);
        self.energy(soc, hash, &mut r);
        if rng.random::<f64>() < f.partial_report && !r.results.is_empty() {
            let keep = rng.random_range(0..r.results.len());
            r.results.truncate(keep);
            r.partial = true;
            r.errors.push(Issue {
                stage: "suite".into(),
                message: "device lost during the run (simulated)".into(),
            });
        }
        r
    }

    /// The userland's primary ABI: the core's own, except for the calibrated share of
    /// a 64-bit core's devices that ship a 32-bit userland. Drawn from the device hash,
    /// so the fleet's other draws stay as they were.
    fn userland_abi(&self, soc: &SimSoc, core: &'static str, hash: &str) -> &'static str {
        let share = self
            .cal
            .uarch
            .iter()
            .find(|u| u.uarch == soc.primary_uarch)
            .map_or(0.0, |u| u.userland32);
        if core == "arm64-v8a" && uniform_of(hash, b"") < share {
            "armeabi-v7a"
        } else {
            core
        }
    }

    /// A report for a real device identity (a fixture) with modelled results: the
    /// identity is kept as identified; the kernel results follow the same model.
    pub fn for_identity(&self, identity: crate::schema::Identity, key: &str, t: i64) -> Report {
        let mut rng = SmallRng::seed_from_u64(
            self.seed
                ^ key
                    .bytes()
                    .fold(7u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)),
        );
        let soc = SimSoc::from_identity(&identity);
        // The fixture's own userland ABI where it names one.
        let abi = match identity.device.abi.as_deref() {
            Some("armeabi-v7a" | "armeabi") => "armeabi-v7a",
            Some("x86") | Some("x86_64") => "x86_64",
            Some("arm64-v8a") => "arm64-v8a",
            _ => abi(&soc),
        };
        let mut r = Report::new(
            identity,
            crate::util::uuid_from(rng.random()),
            self.suite.clone(),
        );
        r.started_at = crate::util::rfc3339(t, 0);
        r.finished_at = crate::util::rfc3339(t + 4, 0);
        r.device.device_hash = Some(format!("fixture-{key}"));
        r.soc.source.get_or_insert_with(|| "fixture".into());
        r.thermal.throttling = Some(Throttling {
            sustained_burst_ratio: soc.throttle,
            burst_gops: 0.0,
            sustained_gops: 0.0,
            duration_s: 4.0,
            kernel: Some("gemm f32".into()),
        });
        self.results(&mut rng, &soc, abi, 1.0, &mut r);
        self.energy(&soc, key, &mut r);
        r
    }

    /// The run's energy: its source (rails on the calibrated SoC vendors; else the fuel
    /// gauge, unless the battery has none or the phone is on the charger) and, per
    /// measured result, the device power (the platform's plus each busy core's,
    /// `datasets/core_power.csv`) times its time, with the source's scatter. Its own
    /// draws come from the device hash and the report id, so no other draw moves.
    fn energy(&self, soc: &SimSoc, hash: &str, r: &mut Report) {
        let e = &self.cal.energy;
        let source = if e.odpm_soc_vendors.contains(&soc.vendor) {
            Ok("odpm")
        } else if uniform_of(hash, b"gauge-missing") < e.gauge_missing {
            Err(("unavailable", "no power rails; /sys/class/power_supply/battery has no readable current_now and voltage_now: no usable fuel gauge (simulated)"))
        } else if uniform_of(&r.report_id, b"charging") < e.charging {
            Err(("charging", "no power rails; the battery is charging: it is on the charger, so its current does not show the workload's energy (simulated)"))
        } else {
            Ok("fuel_gauge")
        };
        r.energy = Some(match &source {
            Ok(s) => EnergyInfo {
                source: Some(s.to_string()),
                ..Default::default()
            },
            Err((status, why)) => EnergyInfo {
                reason: Some(why.to_string()),
                status: Some(status.to_string()),
                ..Default::default()
            },
        });
        let noise = match source {
            Ok("odpm") => e.odpm_noise,
            Ok(_) => e.gauge_noise,
            Err((_, why)) => {
                for k in r.results.iter_mut().filter(|k| k.latency_us.is_some()) {
                    k.energy = Some(EnergyReading::absent(why));
                }
                return;
            }
        };
        let mut rng =
            SmallRng::seed_from_u64((uniform_of(&r.report_id, b"energy") * 2f64.powi(53)) as u64);
        let spread = Normal::new(1.0, noise).ok();
        let source = source.unwrap_or_default();
        // One core's power per cluster, looked up once per report.
        let core_w: Vec<f64> = r
            .cpu
            .clusters
            .iter()
            .map(|c| {
                let uarch = c.uarch.as_deref().unwrap_or("");
                let in_order = catalog::catalog()
                    .uarch(uarch)
                    .is_some_and(|u| u.pipeline == "in-order");
                self.cal.core_watts(uarch, in_order)
            })
            .collect();
        for k in r.results.iter_mut() {
            let Some(lat) = k.latency_us else { continue };
            let core = k
                .cpus
                .first()
                .and_then(|c| r.cpu.clusters.iter().position(|cl| cl.cpus.contains(c)))
                .map_or(self.cal.energy.fallback_out_of_order_w, |i| core_w[i]);
            // To the precision a meter gives (mW; four significant digits of joules).
            let watts = ((e.platform_w + f64::from(k.threads) * core)
                * spread.as_ref().map_or(1.0, |d| d.sample(&mut rng)).max(0.5)
                * 1e3)
                .round()
                / 1e3;
            let per_run = watts * lat.p50 / 1e6;
            let scale = 10f64.powi(3 - per_run.log10().floor() as i32);
            let per_run = (per_run * scale).round() / scale;
            let runs = k.samples.unwrap_or(1) as f64;
            k.energy = Some(EnergyReading {
                source: Some(source.into()),
                window_s: Some(lat.p50 * runs / 1e6),
                avg_w: Some(watts),
                joules: Some(per_run * runs),
                joules_per_iteration: Some(per_run),
                ..Default::default()
            });
            families::note_inference_energy(k);
        }
    }

    fn results(&self, rng: &mut SmallRng, soc: &SimSoc, abi: &str, speed: f64, r: &mut Report) {
        let f = &self.cal.field;
        let cv_dist = LogNormal::new(f.noise_cv_median.ln(), f.noise_cv_sigma).ok();
        let big = (0..soc.clusters.len())
            .max_by(|&a, &b| core_speed(&soc.clusters[a]).total_cmp(&core_speed(&soc.clusters[b])))
            .unwrap_or(0);
        for (ci, cluster) in r.cpu.clusters.iter().enumerate() {
            let spec = &soc.clusters[ci];
            let in_order = catalog::catalog()
                .uarch(&spec.uarch)
                .is_some_and(|u| u.pipeline == "in-order");
            let core_gflops = flops_per_cycle(&spec.uarch) * spec.max_mhz as f64 / 1e3;
            let path = format!("{}-model", spec.uarch);
            let thread_counts: &[u32] = if ci == big && spec.count > 1 {
                &[1, spec.count]
            } else {
                &[1]
            };
            for &threads in thread_counts {
                for case in &self.cases {
                    let scaling = case.model.thread_scaling;
                    if threads > 1 && scaling.is_none() {
                        continue;
                    }
                    let cpus: Vec<u32> = cluster
                        .cpus
                        .iter()
                        .take(threads as usize)
                        .copied()
                        .collect();
                    let mut k = KernelResult {
                        kernel: case.family.clone(),
                        dtype: Some(case.dtype),
                        shape: case.shape.clone(),
                        threads,
                        cpus,
                        ..Default::default()
                    };
                    if rng.random::<f64>() < f.skipped_kernel {
                        k.skipped = Some("timed out after 10 s (simulated field failure)".into());
                        r.results.push(k);
                        continue;
                    }
                    let mut gflops = core_gflops
                        * case.model.efficiency
                        * if in_order && case.role != Role::Peak {
                            0.8
                        } else {
                            1.0
                        }
                        * speed;
                    if case.dtype == Dtype::I8 {
                        gflops *= case.model.int8_gain.apply(int8_base_gain(soc.dotprod, abi));
                    }
                    if let (true, Some(scaling)) = (threads > 1, scaling) {
                        gflops *= 1.0 + (threads - 1) as f64 * scaling;
                        gflops *= r
                            .thermal
                            .throttling
                            .as_ref()
                            .map_or(1.0, |t| 0.5 + 0.5 * t.sustained_burst_ratio);
                    }
                    let cv = cv_dist.as_ref().map_or(0.03, |d| d.sample(rng)).min(0.8);
                    // The median of a run itself scatters around the model by about its CV.
                    let jitter = Normal::new(1.0, cv / 2.0)
                        .map_or(1.0, |d| d.sample(rng))
                        .clamp(0.7, 1.4);
                    let changed: f64 = self
                        .changes
                        .iter()
                        .filter(|c| c.applies(&case.family, case.dtype, &spec.uarch))
                        .map(|c| 1.0 + c.pct / 100.0)
                        .product();
                    let p50 = case.ops as f64 / (gflops * 1e3) * jitter * changed;
                    let tail = 1.0 + cv * rng.random_range(1.8..3.5);
                    let lat = LatencyStats {
                        min: p50 * (1.0 - cv).max(0.5),
                        p10: p50 * (1.0 - 0.8 * cv).max(0.5),
                        p50,
                        p90: p50 * (1.0 + 1.3 * cv),
                        p99: p50 * tail,
                        max: p50 * tail * 1.1,
                        mean: p50 * (1.0 + 0.3 * cv),
                        stddev: p50 * (1.0 + 0.3 * cv) * cv,
                        mad: p50 * cv * 0.67,
                        cv,
                    };
                    k.ops = Some(case.ops);
                    k.path = Some(path.clone());
                    k.samples = Some(10);
                    k.gops = Some((case.ops as f64 / (p50 * 1e3) * 100.0).round() / 100.0);
                    k.latency_us = Some(lat);
                    k.freq_khz =
                        Some((spec.max_mhz as f64 * 1000.0 * rng.random_range(0.9..1.0)) as u64);
                    let before = rng.random_range(32.0..42.0f64);
                    k.temp_c = Some(TempReading {
                        before: Some((before * 10.0).round() / 10.0),
                        after: Some(((before + rng.random_range(0.5..4.0)) * 10.0).round() / 10.0),
                    });
                    r.results.push(k);
                }
            }
        }
    }
}
