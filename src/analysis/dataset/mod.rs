//! The Parquet dataset layout that `export` and `simulate` write and the analysis
//! reads: a `devices` table (one row per report) and a `results` table (one row per
//! kernel measurement), each partitioned by collection date
//! (`devices/date=YYYY-MM-DD/part-FIRST-LAST.parquet`, hive style, so polars, DuckDB,
//! Spark and Trino all read it), each partition merged into one file of large row
//! groups once written (`compact`). Files are written to a temporary name and
//! renamed, so a reader never sees half a file.

mod compact;
mod read;

pub use compact::{compact, Compaction};
pub(crate) use compact::{live_files, PartName};
pub use read::{load, load_every_report, scan_parts, Dataset, SuiteUse, SUITE_COLUMNS};

use super::AnalysisError;
use crate::catalog;
use crate::schema::{ApiSupport, Dtype, EnergyInfo, Report};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Typed column buffers over polars' builders (no per-value allocation).
pub(crate) struct Str(StringChunkedBuilder);
pub(crate) struct I64(PrimitiveChunkedBuilder<Int64Type>);
pub(crate) struct F64(PrimitiveChunkedBuilder<Float64Type>);
pub(crate) struct Bool(BooleanChunkedBuilder);
/// A low-cardinality string (kernel, dtype, shape, core): stored as a Parquet
/// dictionary and read back by polars as a categorical, 4 bytes a row in memory.
pub(crate) struct Cat(Str);

impl Str {
    fn new(name: &str) -> Self {
        Str(StringChunkedBuilder::new(name.into(), 0))
    }
    fn push(&mut self, v: Option<&str>) {
        self.0.append_option(v)
    }
    fn finish(self) -> Column {
        self.0.finish().into_series().into_column()
    }
}
impl Cat {
    fn new(name: &str) -> Self {
        Cat(Str::new(name))
    }
    fn push(&mut self, v: Option<&str>) {
        self.0.push(v)
    }
    fn finish(self) -> Column {
        let strings = self.0.finish();
        let cat = DataType::from_categories(Categories::global());
        strings.cast(&cat).unwrap_or(strings)
    }
}
impl I64 {
    fn new(name: &str) -> Self {
        I64(PrimitiveChunkedBuilder::new(name.into(), 0))
    }
    fn push(&mut self, v: Option<i64>) {
        self.0.append_option(v)
    }
    fn finish(self) -> Column {
        self.0.finish().into_series().into_column()
    }
}
impl F64 {
    fn new(name: &str) -> Self {
        F64(PrimitiveChunkedBuilder::new(name.into(), 0))
    }
    fn push(&mut self, v: Option<f64>) {
        self.0.append_option(v.filter(|x| x.is_finite()))
    }
    fn finish(self) -> Column {
        self.0.finish().into_series().into_column()
    }
}
impl Bool {
    fn new(name: &str) -> Self {
        Bool(BooleanChunkedBuilder::new(name.into(), 0))
    }
    fn push(&mut self, v: Option<bool>) {
        self.0.append_option(v)
    }
    fn finish(self) -> Column {
        self.0.finish().into_series().into_column()
    }
}

/// Declares a table: its columns in order, a constructor and `finish` into a frame.
macro_rules! table {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $kind:ident),* $(,)? }) => {
        $(#[$doc])*
        pub(crate) struct $name { $(pub(crate) $field: $kind,)* rows: usize }
        impl $name {
            fn new() -> Self { Self { $($field: $kind::new(stringify!($field)),)* rows: 0 } }
            /// Column names in file order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn finish(self) -> PolarsResult<DataFrame> {
                DataFrame::new(self.rows, vec![$(self.$field.finish()),*])
            }
        }
    };
}

table!(
    /// One row per report: who the device is.
    Devices {
        report_id: Str, seq: I64, device_hash: Str, started_at: Str,
        model: Str, manufacturer: Str, os: Str, os_version: Str, sdk: I64, abi: Str,
        probe_abi: Str, energy: Str, memory_bytes: I64,
        soc_key: Str, soc_vendor: Str, soc_name: Str, soc_chipset: Str, soc_year: I64,
        cpu_arch: Str, clusters: I64, cores: I64,
        primary_uarch: Str, primary_design_year: I64, primary_cores: I64,
        big_uarch: Str, big_cores: I64, big_max_khz: I64, little_uarch: Str,
        dotprod: Bool, i8mm: Bool, fp16: Bool,
        cpu_peak_gflops: F64,
        gpu_vendor: Str, gpu_model: Str, gpu_peak_gflops: F64,
        gles: Str, vulkan: Str, opencl: Str, opencl_status: Str,
        throttle_ratio: F64, partial: Bool, errors: I64,
        suite_id: Cat, suite_version: Cat, suite_sha256: Cat,
    }
);

table!(
    /// One row per kernel measurement (or skipped kernel).
    Results {
        report_id: Str, seq: I64, device_hash: Str,
        kernel: Cat, dtype: Cat, shape: Cat, threads: I64,
        cluster: I64, uarch: Cat, role: Cat, path: Cat, ops: I64,
        min_us: F64, p50_us: F64, p99_us: F64, mean_us: F64, cv: F64, gops: F64,
        freq_khz: I64, temp_before_c: F64, temp_after_c: F64, skipped: Cat,
        suite_id: Cat, suite_version: Cat, suite_sha256: Cat,
        joules_per_iter: F64, energy_w: F64,
    }
);

/// How a cluster ranks inside its SoC: `big` is the fastest (or the only) cluster,
/// `little` the slowest of several, `mid` any between.
fn roles(report: &Report) -> Vec<&'static str> {
    let speed: Vec<f64> = report
        .cpu
        .clusters
        .iter()
        .map(|c| {
            let per_cycle = c
                .uarch
                .as_deref()
                .and_then(|u| catalog::catalog().uarch(u))
                .and_then(|u| u.f32_flops_per_cycle)
                .unwrap_or(1.0);
            per_cycle * c.max_khz.unwrap_or(0) as f64
        })
        .collect();
    let max = speed.iter().cloned().fold(f64::MIN, f64::max);
    let min = speed.iter().cloned().fold(f64::MAX, f64::min);
    speed
        .iter()
        .map(|&s| match () {
            _ if s >= max => "big",
            _ if s <= min => "little",
            _ => "mid",
        })
        .collect()
}

/// The primary core: the uarch of the cluster with the most cores, ties going to the
/// faster cluster. The paper's Fig. 3 counts one core type per device; this is ours.
fn primary(report: &Report, roles: &[&str]) -> Option<usize> {
    let clusters = &report.cpu.clusters;
    (0..clusters.len()).max_by_key(|&i| (clusters[i].cpus.len(), roles[i] == "big"))
}

/// A run's energy source (`odpm`, `fuel_gauge`), or why it had none: `charging`
/// (a battery on the charger) or `unavailable` (no rails, no usable gauge).
pub fn energy_status(e: &EnergyInfo) -> &str {
    match (&e.source, e.status.as_deref()) {
        (Some(s), _) => s,
        (None, Some("charging")) => "charging",
        _ => "unavailable",
    }
}

/// `version` -> loadable, a crash while loading -> broken, anything else -> absent.
pub fn api_status(api: &ApiSupport) -> &'static str {
    match (&api.version, &api.reason) {
        (Some(_), _) => "loadable",
        (None, Some(r)) if r.contains("crash") => "broken",
        _ => "absent",
    }
}

fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "f32",
        Dtype::F16 => "f16",
        Dtype::I8 => "i8",
    }
}

/// `{k: 512, m: 512, n: 512}` -> `k=512,m=512,n=512` (keys in order; `-` when empty).
pub fn shape_key(shape: &BTreeMap<String, u64>) -> String {
    let mut s = String::new();
    shape_key_into(&mut s, shape);
    s
}

fn shape_key_into(s: &mut String, shape: &BTreeMap<String, u64>) {
    use std::fmt::Write as _;
    s.clear();
    if shape.is_empty() {
        s.push('-');
    }
    for (i, (k, v)) in shape.iter().enumerate() {
        let _ = write!(s, "{}{k}={v}", if i > 0 { "," } else { "" });
    }
}

/// The SoC a device is counted under: chipset, else marketing name, else `unknown`.
pub fn soc_key(report: &Report) -> String {
    report
        .soc
        .chipset
        .clone()
        .or_else(|| report.soc.name.clone())
        .unwrap_or_else(|| "unknown".into())
}

/// Collection date of a report (`YYYY-MM-DD` of `started_at`), or `unknown`.
pub fn collection_date(report: &Report) -> String {
    let d = report.started_at.get(..10).unwrap_or("");
    let b = d.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        d.to_string()
    } else {
        "unknown".into()
    }
}

fn has_feature(report: &Report, names: &[&str]) -> bool {
    let any = |f: &Vec<String>| f.iter().any(|x| names.contains(&x.as_str()));
    any(&report.cpu.features) || report.cpu.clusters.iter().any(|c| any(&c.features))
}

#[derive(Default)]
struct Bucket {
    devices: Option<Devices>,
    results: Option<Results>,
    first_seq: i64,
    last_seq: i64,
}

/// Buffers flattened reports per collection date and writes them as Parquet parts.
pub struct DatasetWriter {
    dir: PathBuf,
    buckets: BTreeMap<String, Bucket>,
    buffered_rows: usize,
    /// Rows (devices + results) buffered before a flush.
    pub flush_rows: usize,
    pub written_devices: u64,
    pub written_results: u64,
    pub files: u64,
}

impl DatasetWriter {
    pub fn new(dir: &Path) -> Self {
        DatasetWriter {
            dir: dir.to_path_buf(),
            buckets: BTreeMap::new(),
            buffered_rows: 0,
            flush_rows: 2_000_000,
            written_devices: 0,
            written_results: 0,
            files: 0,
        }
    }

    /// Flatten one report stored at ingest sequence `seq`.
    pub fn push(&mut self, report: &Report, seq: i64) -> PolarsResult<()> {
        let date = collection_date(report);
        let bucket = self.buckets.entry(date).or_default();
        if bucket.devices.is_none() {
            bucket.devices = Some(Devices::new());
            bucket.results = Some(Results::new());
            bucket.first_seq = seq;
        }
        bucket.last_seq = seq;
        let (Some(d), Some(r)) = (bucket.devices.as_mut(), bucket.results.as_mut()) else {
            unreachable!("both tables are created together")
        };
        flatten(report, seq, d, r);
        self.buffered_rows += 1 + report.results.len();
        if self.buffered_rows >= self.flush_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Write every buffered partition.
    pub fn flush(&mut self) -> PolarsResult<()> {
        for (date, bucket) in std::mem::take(&mut self.buckets) {
            let (Some(d), Some(r)) = (bucket.devices, bucket.results) else {
                continue;
            };
            let name = format!(
                "part-{:012}-{:012}.parquet",
                bucket.first_seq, bucket.last_seq
            );
            let mut dev = d.finish()?;
            let mut res = r.finish()?;
            self.written_devices += dev.height() as u64;
            self.written_results += res.height() as u64;
            write_part(
                &self.dir.join("devices").join(format!("date={date}")),
                &name,
                &mut dev,
            )?;
            write_part(
                &self.dir.join("results").join(format!("date={date}")),
                &name,
                &mut res,
            )?;
            self.files += 2;
        }
        self.buffered_rows = 0;
        Ok(())
    }
}

fn write_part(dir: &Path, name: &str, df: &mut DataFrame) -> PolarsResult<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    write_options(ParquetWriter::new(std::fs::File::create(&tmp)?)).finish(df)?;
    std::fs::rename(&tmp, dir.join(name))?;
    Ok(())
}

/// How every part file is written: zstd level 1, with column statistics.
fn write_options<W: std::io::Write>(w: ParquetWriter<W>) -> ParquetWriter<W> {
    w.with_compression(ParquetCompression::Zstd(
        polars::polars_utils::compression::ZstdLevel::try_new(1).ok(),
    ))
    .with_statistics(StatisticsOptions::default())
}

fn flatten(rep: &Report, seq: i64, d: &mut Devices, r: &mut Results) {
    let cat = catalog::catalog();
    let roles = roles(rep);
    let primary = primary(rep, &roles).map(|i| &rep.cpu.clusters[i]);
    let big = roles
        .iter()
        .position(|r| *r == "big")
        .map(|i| &rep.cpu.clusters[i]);
    let little = roles
        .iter()
        .position(|r| *r == "little")
        .map(|i| &rep.cpu.clusters[i]);
    let peak: Option<f64> = {
        let p: Vec<f64> = rep
            .cpu
            .clusters
            .iter()
            .filter_map(|c| c.peak_gflops)
            .collect();
        (!p.is_empty()).then(|| p.iter().sum())
    };
    let hash = rep.device.device_hash.as_deref();
    let design_year = |u: Option<&String>| {
        u.and_then(|u| cat.uarch(u))
            .and_then(|u| u.design_year)
            .map(i64::from)
    };

    d.report_id.push(Some(&rep.report_id));
    d.seq.push(Some(seq));
    d.device_hash.push(hash);
    d.started_at.push(Some(&rep.started_at));
    d.model.push(rep.device.model.as_deref());
    d.manufacturer.push(rep.device.manufacturer.as_deref());
    d.os.push(Some(&rep.device.os));
    d.os_version.push(rep.device.os_version.as_deref());
    d.sdk.push(rep.device.sdk.map(i64::from));
    d.abi.push(rep.device.abi.as_deref());
    d.probe_abi.push(rep.device.probe_abi.as_deref());
    d.energy.push(rep.energy.as_ref().map(energy_status));
    d.memory_bytes
        .push(rep.device.memory_bytes.map(|b| b as i64));
    d.soc_key.push(Some(&soc_key(rep)));
    d.soc_vendor.push(rep.soc.vendor.as_deref());
    d.soc_name.push(rep.soc.name.as_deref());
    d.soc_chipset.push(rep.soc.chipset.as_deref());
    d.soc_year.push(rep.soc.year.map(i64::from));
    d.cpu_arch.push(rep.cpu.arch.as_deref());
    d.clusters.push(Some(rep.cpu.clusters.len() as i64));
    d.cores.push(Some(
        rep.cpu.clusters.iter().map(|c| c.cpus.len() as i64).sum(),
    ));
    d.primary_uarch
        .push(primary.and_then(|c| c.uarch.as_deref()));
    d.primary_design_year.push(primary.and_then(|c| {
        c.design_year
            .map(i64::from)
            .or_else(|| design_year(c.uarch.as_ref()))
    }));
    d.primary_cores.push(primary.map(|c| c.cpus.len() as i64));
    d.big_uarch.push(big.and_then(|c| c.uarch.as_deref()));
    d.big_cores.push(big.map(|c| c.cpus.len() as i64));
    d.big_max_khz
        .push(big.and_then(|c| c.max_khz).map(|k| k as i64));
    d.little_uarch.push(little.and_then(|c| c.uarch.as_deref()));
    d.dotprod.push(Some(has_feature(
        rep,
        &["asimddp", "dotprod", "avx512vnni", "avxvnni"],
    )));
    d.i8mm.push(Some(has_feature(rep, &["i8mm", "amx-int8"])));
    d.fp16
        .push(Some(has_feature(rep, &["fphp", "asimdhp", "f16c"])));
    d.cpu_peak_gflops.push(peak);
    d.gpu_vendor.push(rep.gpu.vendor.as_deref());
    d.gpu_model.push(rep.gpu.model.as_deref());
    d.gpu_peak_gflops.push(rep.gpu.peak_gflops);
    d.gles.push(rep.gpu.gles.version.as_deref());
    d.vulkan.push(rep.gpu.vulkan.version.as_deref());
    d.opencl.push(rep.gpu.opencl.version.as_deref());
    d.opencl_status.push(Some(api_status(&rep.gpu.opencl)));
    d.throttle_ratio.push(
        rep.thermal
            .throttling
            .as_ref()
            .map(|t| t.sustained_burst_ratio),
    );
    d.partial.push(Some(rep.partial));
    d.errors.push(Some(rep.errors.len() as i64));
    d.suite_id.push(Some(&rep.suite.id));
    d.suite_version.push(Some(&rep.suite.version));
    d.suite_sha256.push(Some(&rep.suite.sha256));
    d.rows += 1;

    let mut shape = String::new();
    for k in &rep.results {
        let ci = k
            .cpus
            .first()
            .and_then(|cpu| rep.cpu.clusters.iter().position(|c| c.cpus.contains(cpu)));
        let lat = k.latency_us.as_ref();
        r.report_id.push(Some(&rep.report_id));
        r.seq.push(Some(seq));
        r.device_hash.push(hash);
        r.kernel.push(Some(&k.kernel));
        r.dtype.push(k.dtype.map(dtype_name));
        shape_key_into(&mut shape, &k.shape);
        r.shape.push(Some(&shape));
        r.threads.push(Some(i64::from(k.threads)));
        r.cluster.push(ci.map(|i| i as i64));
        r.uarch
            .push(ci.and_then(|i| rep.cpu.clusters[i].uarch.as_deref()));
        r.role.push(ci.map(|i| roles[i]));
        r.path.push(k.path.as_deref());
        r.ops.push(k.ops.map(|o| o as i64));
        r.min_us.push(lat.map(|l| l.min));
        r.p50_us.push(lat.map(|l| l.p50));
        r.p99_us.push(lat.map(|l| l.p99));
        r.mean_us.push(lat.map(|l| l.mean));
        r.cv.push(lat.map(|l| l.cv));
        r.gops.push(k.gops);
        r.freq_khz.push(k.freq_khz.map(|f| f as i64));
        r.temp_before_c.push(k.temp_c.and_then(|t| t.before));
        r.temp_after_c.push(k.temp_c.and_then(|t| t.after));
        r.skipped.push(k.skipped.as_deref());
        r.suite_id.push(Some(&rep.suite.id));
        r.suite_version.push(Some(&rep.suite.version));
        r.suite_sha256.push(Some(&rep.suite.sha256));
        let e = k.energy.as_ref();
        r.joules_per_iter
            .push(e.and_then(|e| e.joules_per_iteration));
        r.energy_w.push(e.and_then(|e| e.avg_w));
        r.rows += 1;
    }
}

/// Lazily scan one table (`devices` or `results`) of a dataset directory: its live
/// part files, as written.
pub fn scan(dir: &Path, table: &str) -> Result<LazyFrame, AnalysisError> {
    let root = table_root(dir, table)?;
    let files = read::part_files(&root)?
        .into_iter()
        .map(|(f, _)| PlRefPath::new(f.to_string_lossy().as_ref()))
        .collect();
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        ..Default::default()
    };
    LazyFrame::scan_parquet_files(files, args).map_err(|source| AnalysisError::Read {
        dir: root.clone(),
        source,
    })
}

/// `DIR/TABLE`, or an error that says what to point `--data` at.
fn table_root(dir: &Path, table: &str) -> Result<PathBuf, AnalysisError> {
    let root = dir.join(table);
    if !root.is_dir() {
        return Err(AnalysisError::Dataset(format!(
            "{} has no {table}/ table: point --data at a directory written by `fleetscope export` or `fleetscope simulate`",
            dir.display()
        )));
    }
    Ok(root)
}

/// Column names of both tables, for documentation and tests.
pub fn columns() -> [(&'static str, &'static [&'static str]); 2] {
    [("devices", Devices::COLUMNS), ("results", Results::COLUMNS)]
}
