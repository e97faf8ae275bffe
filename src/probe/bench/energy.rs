//! Energy without root: the on-device power rails (ODPM) read through the power
//! stats service before and after a measurement window, else the battery fuel gauge
//! sampled during it. Never a figure that cannot be trusted: a charging battery, or
//! a window too short for the gauge, gives a reason instead.

use super::pin_current_thread;
use crate::probe::identify::{parse_cpu_list, run_service, Sysroot};
use crate::schema::{EnergyInfo, EnergyReading, Identity};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The power stats HAL's service, as `dumpsys` names it (Android 11 and later).
pub const POWER_STATS_SERVICE: &str = "android.hardware.power.stats.IPowerStats/default";
const POWER_SUPPLY: &str = "/sys/class/power_supply";
/// The fuel gauge is sampled this often during a window.
const GAUGE_PERIOD: Duration = Duration::from_millis(10);
/// Fewer changes of the gauge's reading than this in a window give no figure.
const GAUGE_MIN_UPDATES: usize = 3;
/// A fuel-gauge window is stretched to at least this long, and to five of the
/// gauge's update intervals up to the most (gauges update slowly).
const GAUGE_MIN_WINDOW: Duration = Duration::from_secs(1);
const GAUGE_MAX_WINDOW: Duration = Duration::from_secs(10);
/// A rails window is stretched until its energy (at this power or more) is 50 times
/// the error the printed rails' 32-bit floats allow, up to the most.
const RAILS_LOW_POWER_W: f64 = 0.5;
const RAILS_MAX_WINDOW: Duration = Duration::from_secs(5);
/// The idle baseline is sampled this long before the suite.
const IDLE_WINDOW: Duration = Duration::from_secs(1);

/// What this device can measure energy with, found once per run.
pub enum Meter {
    /// Power rails: their names, per rail the CPU ids of the cluster it feeds, and
    /// per rail the energy a window gains from reading the rails alone (the end of the
    /// first `dumpsys` after its reading and the start of the second before it).
    Rails {
        rails: Vec<String>,
        cluster_cpus: Vec<Option<Vec<u32>>>,
        overhead_j: Vec<f64>,
        /// The error of one window's total from the dump's float resolution, joules.
        resolution_j: f64,
    },
    Gauge(Gauge),
    /// Why not; `charging` tells a battery on the charger from no source at all.
    Unavailable {
        reason: String,
        charging: bool,
    },
}

/// A battery fuel gauge and how to read it.
#[derive(Clone)]
pub struct Gauge {
    sys: Sysroot,
    dir: String,
    /// Multiply `current_now` by this for amps drawn from the battery (sign included).
    amps_per_unit: f64,
    /// Multiply `voltage_now` by this for volts.
    volts_per_unit: f64,
    convention: String,
    idle_w: Option<f64>,
    /// Seconds between changes of the gauge's reading, seen at rest.
    update_s: f64,
}

/// A gauge's power readings, watts, and how many times the reading changed.
type Samples = (Vec<f64>, usize);

/// One measurement window in progress.
pub struct Window {
    start: Instant,
    rails: Option<Result<Vec<(String, f64)>, String>>,
    gauge: Option<(Arc<AtomicBool>, JoinHandle<Samples>)>,
}

impl Meter {
    /// Find the best source on the device behind `sys` (rails, else a discharging
    /// battery); for a gauge, measure the idle baseline.
    pub fn detect(sys: &Sysroot, id: &Identity) -> Meter {
        let android = sys.live && sys.has_props();
        let dump = android
            .then(|| run_service("dumpsys", &[POWER_STATS_SERVICE], Duration::from_secs(10)));
        let mut meter = Meter::choose(sys, Some(id), dump);
        match &mut meter {
            Meter::Gauge(g) => {
                let (watts, updates) = g.sample(IDLE_WINDOW, &AtomicBool::new(false));
                g.idle_w = mean(&watts);
                g.update_s = IDLE_WINDOW.as_secs_f64() / updates.max(1) as f64;
            }
            Meter::Rails {
                rails,
                overhead_j,
                resolution_j,
                ..
            } => (*overhead_j, *resolution_j) = reading_overhead(rails),
            Meter::Unavailable { .. } => {}
        }
        meter
    }

    /// Whether energy will be measurable on the device behind `sys`, whose power stats
    /// dump is `rails_dump` (None: not Android), and from which source, without
    /// measuring anything: for `fleetscope devices`.
    pub fn availability(sys: &Sysroot, rails_dump: Option<Result<String, String>>) -> EnergyInfo {
        Meter::choose(sys, None, rails_dump).info()
    }

    fn choose(
        sys: &Sysroot,
        id: Option<&Identity>,
        rails_dump: Option<Result<String, String>>,
    ) -> Meter {
        let why_not_rails = match rails_dump.map(|d| d.map(|t| parse_rails(&t))) {
            None => "no power rails (not Android: no power stats service)".to_string(),
            Some(Ok(rails)) if !rails.is_empty() => {
                let names: Vec<String> = rails.into_iter().map(|(n, _)| n).collect();
                let cluster_cpus = names
                    .iter()
                    .map(|n| id.and_then(|id| rail_cluster(n, id)))
                    .collect();
                return Meter::Rails {
                    overhead_j: vec![0.0; names.len()],
                    resolution_j: 0.0,
                    rails: names,
                    cluster_cpus,
                };
            }
            Some(Ok(_)) => {
                "no power rails (the power stats service is missing or prints no energy meter)"
                    .into()
            }
            Some(Err(e)) => format!("no power rails ({e})"),
        };
        match Gauge::find(sys) {
            Ok(g) => Meter::Gauge(g),
            Err((why, charging)) => Meter::Unavailable {
                reason: format!("{why_not_rails}; {why}"),
                charging,
            },
        }
    }

    /// The run's summary for the report.
    pub fn info(&self) -> EnergyInfo {
        match self {
            Meter::Rails {
                rails, overhead_j, ..
            } => EnergyInfo {
                source: Some("odpm".into()),
                rails: rails.clone(),
                read_overhead_j: Some(overhead_j.iter().sum()),
                ..Default::default()
            },
            Meter::Gauge(g) => EnergyInfo {
                source: Some("fuel_gauge".into()),
                convention: Some(g.convention.clone()),
                idle_w: g.idle_w,
                ..Default::default()
            },
            Meter::Unavailable { reason, charging } => EnergyInfo {
                reason: Some(reason.clone()),
                status: Some(if *charging { "charging" } else { "unavailable" }.into()),
                ..Default::default()
            },
        }
    }

    /// The shortest window this source gives a trustworthy figure for.
    pub fn min_window(&self) -> Duration {
        match self {
            Meter::Gauge(g) => {
                Duration::from_secs_f64(5.0 * g.update_s).clamp(GAUGE_MIN_WINDOW, GAUGE_MAX_WINDOW)
            }
            Meter::Rails { resolution_j, .. } => {
                Duration::from_secs_f64(50.0 * resolution_j / RAILS_LOW_POWER_W)
                    .min(RAILS_MAX_WINDOW)
            }
            Meter::Unavailable { .. } => Duration::ZERO,
        }
    }

    /// Open a window for a measurement on `busy` (the meter's own reading runs off
    /// those CPUs).
    pub fn start(&self, busy: &[u32]) -> Window {
        let mut w = Window {
            start: Instant::now(),
            rails: None,
            gauge: None,
        };
        match self {
            Meter::Rails { .. } => w.rails = Some(read_rails(busy)),
            Meter::Gauge(g) => {
                let stop = Arc::new(AtomicBool::new(false));
                let (g, flag, busy) = (g.clone(), stop.clone(), busy.to_vec());
                let sampler = std::thread::spawn(move || {
                    off(&busy);
                    g.sample(Duration::from_secs(3600), &flag)
                });
                w.gauge = Some((stop, sampler));
            }
            Meter::Unavailable { .. } => {}
        }
        w.start = Instant::now();
        w
    }

    /// Close `w` after `runs` runs on `cpus`.
    pub fn finish(&self, w: Window, runs: u64, cpus: &[u32]) -> EnergyReading {
        let window_s = w.start.elapsed().as_secs_f64();
        let (source, joules, rail) = match (self, w.rails, w.gauge) {
            (Meter::Unavailable { reason, .. }, ..) => {
                return EnergyReading::absent(reason.clone())
            }
            (
                Meter::Rails {
                    rails,
                    cluster_cpus,
                    overhead_j,
                    ..
                },
                Some(before),
                _,
            ) => {
                let (before, after) = match (before, read_rails(cpus)) {
                    (Ok(b), Ok(a)) => (b, a),
                    (Err(e), _) | (_, Err(e)) => return EnergyReading::absent(e),
                };
                let raw = rail_deltas(&before, &after);
                if raw.iter().any(|(_, j)| *j < 0.0) {
                    return EnergyReading::absent(
                        "a power rail's cumulative energy went down during the window (the meter was reset)",
                    );
                }
                // Less what reading the rails adds to any window.
                let delta: Vec<(String, f64)> = raw
                    .into_iter()
                    .map(|(n, j)| {
                        let i = rails.iter().position(|r| *r == n);
                        let extra = i.and_then(|i| overhead_j.get(i)).copied().unwrap_or(0.0);
                        (n, j - extra)
                    })
                    .collect();
                let total: f64 = delta.iter().map(|(_, j)| j).sum();
                if total <= 0.0 {
                    return EnergyReading::absent(
                        "the rails' energy over the window is no more than reading them costs: the window is too short for this meter",
                    );
                }
                let rail = cpus.first().and_then(|c| {
                    let i = cluster_cpus
                        .iter()
                        .position(|cc| cc.as_ref().is_some_and(|v| v.contains(c)))?;
                    delta.iter().find(|(n, _)| *n == rails[i]).cloned()
                });
                ("odpm", total, rail)
            }
            (Meter::Gauge(_), _, Some((stop, sampler))) => {
                stop.store(true, Ordering::Relaxed);
                let (watts, updates) = sampler.join().unwrap_or_default();
                if updates < GAUGE_MIN_UPDATES {
                    return EnergyReading::absent(format!(
                        "the fuel gauge's reading changed {updates} times in the {window_s:.2} s window; a figure needs at least {GAUGE_MIN_UPDATES}"
                    ));
                }
                ("fuel_gauge", mean(&watts).unwrap_or(0.0) * window_s, None)
            }
            _ => return EnergyReading::absent("the energy window was not opened"),
        };
        let per_run = joules / runs.max(1) as f64;
        EnergyReading {
            source: Some(source.into()),
            window_s: Some(window_s),
            avg_w: Some(joules / window_s.max(1e-9)),
            joules: Some(joules),
            joules_per_iteration: Some(per_run),
            rail_joules: rail.as_ref().map(|(_, j)| *j),
            rail: rail.map(|(n, _)| n),
            ..Default::default()
        }
    }
}

impl Gauge {
    /// The battery under `/sys/class/power_supply`, unless some supply is charging it.
    fn find(sys: &Sysroot) -> Result<Gauge, (String, bool)> {
        let supplies = sys.list(POWER_SUPPLY);
        let mut battery = None;
        for name in &supplies {
            let dir = format!("{POWER_SUPPLY}/{name}");
            let kind = sys.read_line(&format!("{dir}/type")).unwrap_or_default();
            // 1 online, 2 a programmable (PPS) charger; vendors also write cable types.
            let online = sys
                .read_line(&format!("{dir}/online"))
                .is_some_and(|v| v != "0");
            if kind != "Battery" && online {
                return Err((format!(
                    "the device is charging ({name} power is online), so the battery current does not show the workload's energy: use a phone with power rails, or run over adb over Wi-Fi with the cable out"
                ), true));
            }
            if kind == "Battery" && battery.is_none() {
                battery = Some(dir);
            }
        }
        let Some(dir) = battery else {
            return Err((
                format!("no battery under {POWER_SUPPLY}: this machine cannot report its energy"),
                false,
            ));
        };
        let status = sys.read_line(&format!("{dir}/status")).unwrap_or_default();
        // `Not charging`: on the charger, held back by a charge limit.
        if matches!(status.as_str(), "Charging" | "Full" | "Not charging") {
            return Err((format!(
                "the battery is {} ({dir}/status): it is on the charger, so its current does not show the workload's energy: unplug the charger (adb over Wi-Fi) or use a phone with power rails",
                status.to_ascii_lowercase()
            ), true));
        }
        let current = sys.read_i64(&format!("{dir}/current_now"));
        let voltage = sys.read_i64(&format!("{dir}/voltage_now"));
        let unusable = |why: String| Err((format!("{why}: no usable fuel gauge"), false));
        let (Some(current), Some(voltage)) = (current, voltage) else {
            return unusable(format!("{dir} has no readable current_now and voltage_now"));
        };
        if current == 0 || voltage <= 0 {
            return unusable(format!(
                "{dir} reads current_now {current} and voltage_now {voltage}"
            ));
        }
        // The ABI says microamps, negative while discharging; some vendors report
        // milliamps, or discharge as positive. An awake phone draws 20 mA to 10 A, so
        // the magnitude tells the unit; a discharging battery tells the sign.
        let (unit, scale) = if current.unsigned_abs() < 20_000 {
            ("mA", 1e-3)
        } else {
            ("uA", 1e-6)
        };
        let (vunit, vscale) = if voltage < 100_000 {
            ("mV", 1e-3)
        } else {
            ("uV", 1e-6)
        };
        // A phone battery sits between 2.5 and 5 V.
        if !(2.5..=5.0).contains(&(voltage as f64 * vscale)) {
            return unusable(format!(
                "{dir}/voltage_now reads {voltage}, neither millivolts nor microvolts of a phone battery"
            ));
        }
        let sign = if current < 0 { -1.0 } else { 1.0 };
        let convention = format!(
            "{dir}: current_now in {unit}, {} while discharging; voltage_now in {vunit}",
            if sign < 0.0 {
                "negative (the kernel ABI)"
            } else {
                "positive (vendor convention)"
            }
        );
        Ok(Gauge {
            sys: sys.clone(),
            dir,
            amps_per_unit: sign * scale,
            volts_per_unit: vscale,
            convention,
            idle_w: None,
            update_s: 1.0,
        })
    }

    /// Battery power now, watts (None when a reading fails or shows charging).
    fn power_w(&self) -> Option<f64> {
        let i = self.sys.read_i64(&format!("{}/current_now", self.dir))? as f64;
        let v = self.sys.read_i64(&format!("{}/voltage_now", self.dir))? as f64;
        let w = i * self.amps_per_unit * v * self.volts_per_unit;
        (w.is_finite() && w >= 0.0).then_some(w)
    }

    /// Power readings every `GAUGE_PERIOD` for at most `over`, or until `stop`; and
    /// how many times the reading changed (the gauge's own updates).
    fn sample(&self, over: Duration, stop: &AtomicBool) -> Samples {
        let start = Instant::now();
        let (mut watts, mut updates) = (Vec::new(), 0);
        while start.elapsed() < over && !stop.load(Ordering::Relaxed) {
            if let Some(w) = self.power_w() {
                updates += usize::from(watts.last().is_some_and(|l| *l != w));
                watts.push(w);
            }
            std::thread::sleep(GAUGE_PERIOD);
        }
        (watts, updates)
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Keep this thread, and what it starts, off the CPUs being measured: a thread or
/// child process inherits its creator's CPU set, and the benchmark's thread is pinned.
fn off(busy: &[u32]) {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|t| parse_cpu_list(&t))
        .unwrap_or_default();
    let others: Vec<u32> = online
        .iter()
        .copied()
        .filter(|c| !busy.contains(c))
        .collect();
    let _ = pin_current_thread(if others.is_empty() { &online } else { &others });
}

/// Per rail, `after` less `before` (rails missing from either are left out).
fn rail_deltas(before: &[(String, f64)], after: &[(String, f64)]) -> Vec<(String, f64)> {
    after
        .iter()
        .filter_map(|(n, a)| {
            let b = before.iter().find(|(m, _)| m == n)?.1;
            Some((n.clone(), a - b))
        })
        .collect()
}

/// What an empty window costs per rail (the mean of two back-to-back readings'
/// differences, 0 where a reading fails), and the error of a window's total from the
/// dump's resolution: the values are printed from 32-bit floats of microwatt-seconds,
/// so each reading of a rail is off by up to half a float step.
fn reading_overhead(rails: &[String]) -> (Vec<f64>, f64) {
    let reads: Vec<Vec<(String, f64)>> = (0..3).filter_map(|_| read_rails(&[]).ok()).collect();
    let resolution_j = reads.last().map_or(0.0, |r| {
        let steps: f64 = r
            .iter()
            .map(|(_, j)| {
                let uws = (j * 1e6) as f32;
                let step_j = (f32::from_bits(uws.to_bits() + 1) - uws) as f64 / 1e6;
                step_j * step_j / 12.0 * 2.0 // two readings, uniform rounding error
            })
            .sum();
        steps.sqrt()
    });
    let overhead = rails
        .iter()
        .map(|name| {
            let per: Vec<f64> = reads
                .windows(2)
                .flat_map(|w| rail_deltas(&w[0], &w[1]))
                .filter(|(n, j)| n == name && *j >= 0.0)
                .map(|(_, j)| j)
                .collect();
            mean(&per).unwrap_or(0.0)
        })
        .collect();
    (overhead, resolution_j)
}

/// The rails now, read by `dumpsys` started from a thread off the `busy` CPUs.
fn read_rails(busy: &[u32]) -> Result<Vec<(String, f64)>, String> {
    let text = std::thread::scope(|s| {
        s.spawn(|| {
            off(busy);
            run_service("dumpsys", &[POWER_STATS_SERVICE], Duration::from_secs(10))
        })
        .join()
        .unwrap_or_else(|_| Err("reading the rails failed".into()))
    })?;
    let rails = parse_rails(&text);
    if rails.is_empty() {
        return Err("the power stats service stopped printing its energy meter".into());
    }
    Ok(rails)
}

/// The energy meter section of the power stats dump (the Pixel HAL's layout:
/// `[S4M_VDD_CPUCL0]:CPU(LITTLE)   1837443.71 mWs`, cumulative since boot), as
/// (rail, cumulative joules). Other sections, and a HAL that prints nothing, give none.
pub fn parse_rails(dump: &str) -> Vec<(String, f64)> {
    let mut rails = Vec::new();
    let mut inside = false;
    for line in dump.lines() {
        let l = line.trim();
        if l.starts_with("====") {
            inside = l.contains("energy meter") && !l.contains("End of");
            continue;
        }
        if !inside {
            continue;
        }
        let words: Vec<&str> = l.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| matches!(*w, "mWs" | "uWs")) else {
            continue;
        };
        let scale = if words[at] == "mWs" { 1e-3 } else { 1e-6 };
        let (Some(value), name) = (
            at.checked_sub(1).map(|i| words[i]),
            &words[..at.saturating_sub(1)],
        ) else {
            continue;
        };
        // `[RAIL]:Subsystem` names the rail in brackets; older HALs print it bare.
        let name = name.join(" ");
        let name = match name.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((rail, _)) => rail.to_string(),
            None => name,
        };
        if let Ok(v) = value.parse::<f64>() {
            if v.is_finite() && v >= 0.0 && !name.is_empty() {
                rails.push((name, v * scale));
            }
        }
    }
    rails
}

/// The CPU ids of the cluster a rail feeds: `..CPUCL<n>..` is cluster n; `BIG`, `MID`
/// and `LITTLE` are the fastest, middle and slowest clusters.
fn rail_cluster(name: &str, id: &Identity) -> Option<Vec<u32>> {
    let upper = name.to_ascii_uppercase();
    let clusters = &id.cpu.clusters;
    let index = if let Some(rest) = upper.split("CPUCL").nth(1) {
        rest.chars().next()?.to_digit(10)? as usize
    } else {
        let mut by_speed: Vec<usize> = (0..clusters.len()).collect();
        by_speed.sort_by_key(|&i| clusters[i].max_khz.unwrap_or(0));
        if upper.contains("LITTLE") {
            *by_speed.first()?
        } else if upper.contains("BIG") {
            *by_speed.last()?
        } else if upper.contains("MID") && by_speed.len() == 3 {
            by_speed[1]
        } else {
            return None;
        }
    };
    clusters.get(index).map(|c| c.cpus.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_energy_meter_section_only() {
        let fixture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/tests/fixtures/android/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let rails = parse_rails(&fixture("power_stats_pixel.txt"));
        assert_eq!(rails.len(), 16, "{rails:?}");
        let cpu0 = rails.iter().find(|(n, _)| n == "S4M_VDD_CPUCL0").unwrap();
        assert!((cpu0.1 - 1837.44371).abs() < 1e-6, "{cpu0:?}");
        // The energy consumers section above it (`MODEM : ... mWs`) is not a rail.
        assert!(rails.iter().all(|(n, _)| n != "MODEM"));
        let delta = parse_rails(&fixture("power_stats_pixel_delta_first.txt"));
        assert_eq!(delta.len(), 16);
        assert!(parse_rails(&fixture("power_stats_missing.txt")).is_empty());
        assert!(parse_rails("").is_empty());
    }
}
