//! The synthetic fleet (`fleetscope simulate`): a long-tailed SoC landscape calibrated
//! to the paper (`datasets/fleet_calibration.toml`) and per-device reports from a
//! performance model, written as the Parquet dataset `export` writes, or posted to a
//! collector through its real HTTP API.

mod device;
mod error;
mod landscape;

pub use device::{cases, Case, Generator};
pub use error::FleetError;
pub use landscape::{build as landscape, SimSoc};

use crate::analysis::DatasetWriter;
use crate::client::{client, deliver_batch, UploadConfig};
use crate::schema::Report;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where simulated reports go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// The Parquet dataset layout, under this directory.
    Parquet(PathBuf),
    /// A collector (`http://HOST:PORT`) with an ingest token.
    Collector { url: String, token: String },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub devices: u64,
    pub seed: u64,
    /// Unix seconds of the first collection day.
    pub start: i64,
    pub threads: usize,
    /// Also add one report per device snapshot in this directory (the fixture format
    /// of `../shared/datasets/devices`): real identities, modelled results.
    pub fixtures: Option<PathBuf>,
    /// The suite the simulated probes ran (`quick`, `standard` or a file).
    pub suite: String,
    /// Seeds the SoC landscape (the population); `seed` then draws its devices. Two
    /// fleets of one population with different `seed`s differ only by sampling.
    pub population_seed: u64,
    /// Known changes injected into the results.
    pub changes: Vec<Change>,
}

/// A known change injected into a simulated fleet (`KERNEL/DTYPE/UARCH=+PCT`, `*` for
/// any dtype or core): matching results take `1 + PCT/100` times as long.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kernel: String,
    pub dtype: Option<crate::schema::Dtype>,
    pub uarch: Option<String>,
    pub pct: f64,
}

impl Change {
    fn applies(&self, kernel: &str, dtype: crate::schema::Dtype, uarch: &str) -> bool {
        self.kernel == kernel
            && self.dtype.is_none_or(|d| d == dtype)
            && self.uarch.as_deref().is_none_or(|u| u == uarch)
    }
}

impl std::str::FromStr for Change {
    type Err = String;
    fn from_str(s: &str) -> Result<Change, String> {
        let bad = || {
            format!("--change {s:?}: write KERNEL/DTYPE/UARCH=+PCT, e.g. gemm/f32/cortex-a53=+8 (* for any dtype or core)")
        };
        let (cell, pct) = s.split_once('=').ok_or_else(bad)?;
        let pct: f64 = pct
            .trim()
            .trim_end_matches('%')
            .parse()
            .map_err(|_| bad())?;
        let parts: Vec<&str> = cell.split('/').collect();
        let [kernel, dtype, uarch] = parts[..] else {
            return Err(bad());
        };
        let any = |v: &str| (v != "*").then(|| v.to_string());
        let dtype = match any(dtype) {
            Some(d) => Some(crate::schema::Dtype::parse(&d).ok_or_else(bad)?),
            None => None,
        };
        if !pct.is_finite() || pct <= -100.0 || kernel.is_empty() {
            return Err(bad());
        }
        Ok(Change {
            kernel: kernel.to_string(),
            dtype,
            uarch: any(uarch),
            pct,
        })
    }
}

/// What a simulation produced.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub devices: u64,
    pub reports: u64,
    pub results: u64,
    pub files: u64,
}

/// Devices per worker batch (and per NDJSON POST when posting).
const BATCH: u64 = 200;

/// Run a simulation; `progress` is called with the number of devices done so far.
pub fn simulate(
    opts: &Options,
    sink: &Sink,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, FleetError> {
    let cal = crate::catalog::calibration()?;
    let socs = landscape(cal, opts.population_seed)?;
    let gen = Generator::new(&socs, cal, opts)?;
    if let Sink::Parquet(dir) = sink {
        // Its part files would mix with ours, and a merged file of its own would
        // supersede ours when compacting.
        if ["devices", "results"].iter().any(|t| dir.join(t).exists()) {
            return Err(FleetError::Occupied(dir.clone()));
        }
        std::fs::create_dir_all(dir).map_err(|source| FleetError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
    }
    let done = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    let threads = opts.threads.max(1);
    let results: Vec<Result<Summary, FleetError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| worker(&gen, opts, sink, &next, &done, progress)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(FleetError::Worker)))
            .collect()
    });
    let mut total = Summary::default();
    if let Some(dir) = &opts.fixtures {
        let reports = fixture_reports(&gen, dir, opts)?;
        let mut one = Summary {
            reports: reports.len() as u64,
            devices: reports.len() as u64,
            ..Default::default()
        };
        one.results = reports.iter().map(|(_, r)| r.results.len() as u64).sum();
        match sink {
            Sink::Parquet(out) => {
                let mut w = DatasetWriter::new(out);
                for (seq, r) in &reports {
                    w.push(r, *seq).map_err(FleetError::Write)?;
                }
                w.flush().map_err(FleetError::Write)?;
                one.files = w.files;
            }
            Sink::Collector { url, token } => {
                let mut body = Vec::new();
                for (_, r) in &reports {
                    serde_json::to_writer(&mut body, r).map_err(FleetError::Encode)?;
                    body.push(b'\n');
                }
                deliver_batch(&client()?, &upload_config(url, token), &body)?;
            }
        }
        total = one;
    }
    for r in results {
        let r = r?;
        total.devices += r.devices;
        total.reports += r.reports;
        total.results += r.results;
        total.files += r.files;
    }
    if let Sink::Parquet(dir) = sink {
        // The workers wrote a part per date at each flush: one file per partition
        // for the engines that read the dataset.
        total.files = crate::analysis::compact(dir)
            .map_err(FleetError::Compact)?
            .files;
    }
    Ok(total)
}

fn worker(
    gen: &Generator,
    opts: &Options,
    sink: &Sink,
    next: &AtomicU64,
    done: &AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, FleetError> {
    let mut sum = Summary::default();
    let mut writer = match sink {
        Sink::Parquet(dir) => Some(DatasetWriter::new(dir)),
        Sink::Collector { .. } => None,
    };
    let http = match sink {
        Sink::Collector { url, token } => Some((client()?, upload_config(url, token))),
        Sink::Parquet(_) => None,
    };
    let mut ndjson = Vec::new();
    loop {
        let first = next.fetch_add(BATCH, Ordering::Relaxed);
        if first >= opts.devices {
            break;
        }
        let last = (first + BATCH).min(opts.devices);
        ndjson.clear();
        for i in first..last {
            for (seq, report) in gen.device(i) {
                sum.reports += 1;
                sum.results += report.results.len() as u64;
                if let Some(w) = writer.as_mut() {
                    w.push(&report, seq).map_err(FleetError::Write)?;
                } else {
                    serde_json::to_writer(&mut ndjson, &report).map_err(FleetError::Encode)?;
                    ndjson.push(b'\n');
                }
            }
        }
        if let Some((client, cfg)) = &http {
            deliver_batch(client, cfg, &ndjson)?;
        }
        sum.devices += last - first;
        progress(done.fetch_add(last - first, Ordering::Relaxed) + (last - first));
    }
    if let Some(mut w) = writer {
        w.flush().map_err(FleetError::Write)?;
        sum.files = w.files;
    }
    Ok(sum)
}

fn upload_config(url: &str, token: &str) -> UploadConfig {
    UploadConfig {
        max_attempts: 8,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
        ..UploadConfig::new(url, token)
    }
}

/// One report per device snapshot (`*.json`) in `dir`, numbered after the fleet.
fn fixture_reports(
    gen: &Generator,
    dir: &Path,
    opts: &Options,
) -> Result<Vec<(i64, Report)>, FleetError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| FleetError::Io {
            action: "read the fixtures in",
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(FleetError::NoFixtures(dir.to_path_buf()));
    }
    let mut out = Vec::with_capacity(paths.len());
    for (k, path) in paths.iter().enumerate() {
        let sys = crate::probe::identify::load_fixture(path)?;
        let identity = crate::probe::identify::identify(&sys);
        let key = path
            .file_stem()
            .map_or_else(|| k.to_string(), |s| s.to_string_lossy().to_string());
        let t = opts.start + (k as i64 % 28) * 86_400 + 43_200;
        out.push((
            2 * opts.devices as i64 + 1 + k as i64,
            gen.for_identity(identity, &key, t),
        ));
    }
    Ok(out)
}
