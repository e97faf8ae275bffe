//! Reading a dataset for the statistics: the latest report of each device (one small
//! frame in memory) and a way to run a query over its results a batch of part files at
//! a time, so memory stays bounded whatever the fleet's size.
//!
//! Like with like: a dataset may hold reports of several suites (quick and standard,
//! or two versions of one). The statistics use one, the suite (id, version, sha256)
//! of the most devices, for devices and results alike, and say what they left out.
//! Exports written before suites were recorded read as one suite, `unknown`.

use super::{table_root, Results};
use crate::analysis::AnalysisError;
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// A dataset as the statistics see it: the latest report of each device, and its
/// results read a batch of part files at a time.
///
/// A device's report is its latest one that is not a forced-ABI run: a probe of
/// another Android ABI than the userland's primary one (`run --abi`, a 32-bit probe on
/// a 64-bit userland) is an experiment, kept aside in `abi_runs`, not the device's
/// place in the landscape.
pub struct Dataset {
    /// One row per device: its latest report.
    pub devices: DataFrame,
    /// Devices measured under more than one probe ABI: the latest report of each
    /// (device, probe ABI), as `device_key`, `probe_abi`, `seq`. Empty for most fleets.
    pub abi_runs: DataFrame,
    /// Number of devices.
    pub n: f64,
    /// The suite whose devices and results the statistics use.
    pub suite: SuiteUse,
    /// The results part files, in batches of about `BATCH_BYTES`.
    batches: Vec<Vec<PathBuf>>,
}

/// The suite a dataset's statistics use, and the devices of other suites left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteUse {
    /// `None` for reports exported before suites were recorded.
    pub id: Option<String>,
    pub version: Option<String>,
    pub sha256: Option<String>,
    /// Devices (latest report each) of this suite.
    pub devices: usize,
    /// Every other suite, by label, with its devices, most first.
    pub left_out: Vec<(String, usize)>,
}

impl SuiteUse {
    /// `standard v2 (sha256 1a2b3c4d)`, or `unknown` for old exports.
    pub fn label(&self) -> String {
        label(
            self.id.as_deref(),
            self.version.as_deref(),
            self.sha256.as_deref(),
        )
    }
}

fn label(id: Option<&str>, version: Option<&str>, sha: Option<&str>) -> String {
    match id {
        Some(id) => format!(
            "{id} v{} (sha256 {})",
            version.unwrap_or("?"),
            sha.map_or("?", |s| &s[..s.len().min(8)])
        ),
        None => "unknown (exported before suites were recorded)".into(),
    }
}

/// The suite columns of both tables.
pub const SUITE_COLUMNS: [&str; 3] = ["suite_id", "suite_version", "suite_sha256"];

/// One table of a dataset, part file by part file, with the suite columns as strings
/// (null in parts written before they existed).
pub fn scan_parts(dir: &Path, table: &str) -> Result<LazyFrame, AnalysisError> {
    let root = table_root(dir, table)?;
    let files = part_files(&root)?;
    if files.is_empty() {
        return Err(AnalysisError::Dataset(format!(
            "{} has no {table}/ part files: point --data at a directory written by `fleetscope export` or `fleetscope simulate`",
            dir.display()
        )));
    }
    let err = |source: PolarsError| AnalysisError::Read {
        dir: root.clone(),
        source,
    };
    let scans = files
        .iter()
        .map(|(f, _)| scan_part(f, table))
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(err)?;
    concat(scans, UnionArgs::default()).map_err(err)
}

/// Parquet bytes of results read per batch: bounds memory whatever the fleet size.
const BATCH_BYTES: u64 = 192 << 20;

impl Dataset {
    /// Run `query` over the results of the latest reports, one batch of part files at a
    /// time, and stack what it returns. A report's results all live in one part file,
    /// so a query may group by `seq` freely.
    pub fn per_batch(&self, query: impl Fn(LazyFrame) -> LazyFrame) -> PolarsResult<DataFrame> {
        self.per_batch_of(&self.devices, query)
    }

    /// Like [`Dataset::per_batch`], but hand each batch's frame to `each` instead of
    /// stacking them (for consumers that fold results into their own structures).
    pub fn for_each_batch(
        &self,
        query: impl Fn(LazyFrame) -> LazyFrame,
        each: impl FnMut(DataFrame) -> PolarsResult<()>,
    ) -> PolarsResult<()> {
        self.for_each_batch_of(&self.devices, query, each)
    }

    /// Run `query` over the results of the reports in `reports` (a frame with `seq`),
    /// one batch of part files at a time, and stack what it returns.
    pub fn per_batch_of(
        &self,
        reports: &DataFrame,
        query: impl Fn(LazyFrame) -> LazyFrame,
    ) -> PolarsResult<DataFrame> {
        let mut out: Option<DataFrame> = None;
        self.for_each_batch_of(reports, query, |df| {
            match out.as_mut() {
                Some(acc) => {
                    acc.vstack_mut(&df)?;
                }
                None => out = Some(df),
            }
            Ok(())
        })?;
        match out {
            Some(mut df) => {
                df.rechunk_mut();
                Ok(df)
            }
            None => Err(polars_err!(NoData: "the dataset has no results part files")),
        }
    }

    /// Like [`Dataset::for_each_batch`] over the latest reports, with the late result
    /// columns too, from the parts written since they exist (the others are passed
    /// over).
    pub fn for_each_energy_batch(
        &self,
        query: impl Fn(LazyFrame) -> LazyFrame,
        each: impl FnMut(DataFrame) -> PolarsResult<()>,
    ) -> PolarsResult<()> {
        self.for_each_batch_with(&self.devices, true, query, each)
    }

    fn for_each_batch_of(
        &self,
        reports: &DataFrame,
        query: impl Fn(LazyFrame) -> LazyFrame,
        each: impl FnMut(DataFrame) -> PolarsResult<()>,
    ) -> PolarsResult<()> {
        self.for_each_batch_with(reports, false, query, each)
    }

    fn for_each_batch_with(
        &self,
        reports: &DataFrame,
        late: bool,
        query: impl Fn(LazyFrame) -> LazyFrame,
        mut each: impl FnMut(DataFrame) -> PolarsResult<()>,
    ) -> PolarsResult<()> {
        let latest = reports.clone().lazy().select([col("seq")]);
        for files in &self.batches {
            let scans: Vec<LazyFrame> = files
                .iter()
                .map(|f| scan_results_part(f, late))
                .collect::<PolarsResult<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect();
            if scans.is_empty() {
                continue;
            }
            let results = concat(scans, UnionArgs::default())?.join(
                latest.clone(),
                [col("seq")],
                [col("seq")],
                JoinArgs::new(JoinType::Semi),
            );
            each(stream(query(results))?)?;
        }
        Ok(())
    }
}

/// The ABIs Android names in `ro.product.cpu.abilist`.
const ANDROID_ABIS: [&str; 5] = ["arm64-v8a", "armeabi-v7a", "armeabi", "x86_64", "x86"];

/// Columns added to `devices` after its first layout: null in older parts.
const LATE_DEVICE_COLUMNS: [&str; 2] = ["probe_abi", "energy"];

/// Columns added to `results` after its first layout. The common passes leave them
/// out (so no pass reads a part's schema); [`Dataset::for_each_energy_batch`] reads them
/// from the parts that have them.
pub const LATE_RESULT_COLUMNS: [&str; 2] = ["joules_per_iter", "energy_w"];

/// One part file, its columns in one order (sorted by name, the suite columns last,
/// as strings, null in parts written before they existed; so are each table's late
/// columns): parts of every age stack.
fn scan_part(f: &Path, table: &str) -> PolarsResult<LazyFrame> {
    let mut lf = LazyFrame::scan_parquet(
        PlRefPath::new(f.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )?;
    let schema = lf.collect_schema()?;
    let (late, late_type): (&[&str], DataType) = if table == "devices" {
        (&LATE_DEVICE_COLUMNS, DataType::String)
    } else {
        (&LATE_RESULT_COLUMNS, DataType::Float64)
    };
    let mut names: Vec<PlSmallStr> = schema.iter_names().cloned().collect();
    names.retain(|n| !SUITE_COLUMNS.contains(&n.as_str()) && !late.contains(&n.as_str()));
    names.extend(late.iter().map(|c| PlSmallStr::from(*c)));
    names.sort();
    let mut order: Vec<Expr> = names
        .into_iter()
        .map(|n| match schema.contains(&n) {
            true => col(n),
            false => lit(NULL).cast(late_type.clone()).alias(n),
        })
        .collect();
    order.extend(SUITE_COLUMNS.iter().map(|c| match schema.contains(c) {
        true => col(*c).cast(DataType::String),
        false => lit(NULL).cast(DataType::String).alias(*c),
    }));
    Ok(lf.select(order))
}

/// One results part file with the columns the statistics read, in one order, without
/// reading its schema: parts written before the suite columns stack with newer ones,
/// and no query pays a metadata read per part (the suite is chosen on `devices`).
fn scan_results_part(f: &Path, late: bool) -> PolarsResult<Option<LazyFrame>> {
    let mut lf = LazyFrame::scan_parquet(
        PlRefPath::new(f.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )?;
    if late {
        let schema = lf.collect_schema()?;
        if !LATE_RESULT_COLUMNS.iter().all(|c| schema.contains(c)) {
            return Ok(None);
        }
    }
    let columns: Vec<Expr> = Results::COLUMNS
        .iter()
        .filter(|c| !SUITE_COLUMNS.contains(c))
        .filter(|c| late || !LATE_RESULT_COLUMNS.contains(c))
        .map(|c| col(*c))
        .collect();
    Ok(Some(lf.select(columns)))
}

/// `ROOT/*/*.parquet` with their sizes, sorted, less the files a merged one
/// supersedes (see [`super::compact`]).
pub(super) fn part_files(root: &Path) -> Result<Vec<(PathBuf, u64)>, AnalysisError> {
    let mut files: Vec<(PathBuf, u64)> = Vec::new();
    let partitions = std::fs::read_dir(root).map_err(AnalysisError::io("read", root))?;
    for partition in partitions.flatten() {
        let Ok(live) = super::live_files(&partition.path()) else {
            continue;
        };
        files.extend(live.into_iter().map(|p| {
            let len = std::fs::metadata(&p).map_or(0, |m| m.len());
            (p, len)
        }));
    }
    files.sort();
    Ok(files)
}

/// `DIR/results/*/*.parquet`, sorted, cut into batches of about `BATCH_BYTES`.
fn result_batches(dir: &Path) -> Result<Vec<Vec<PathBuf>>, AnalysisError> {
    let files = part_files(&dir.join("results"))?;
    let mut batches: Vec<Vec<PathBuf>> = Vec::new();
    let mut size = u64::MAX;
    for (p, len) in files {
        if size >= BATCH_BYTES {
            batches.push(Vec::new());
            size = 0;
        }
        size += len;
        if let Some(b) = batches.last_mut() {
            b.push(p);
        }
    }
    Ok(batches)
}

/// Columns of `devices` the statistics use.
const DEVICE_COLUMNS: &[&str] = &[
    "seq",
    "abi",
    "probe_abi",
    "energy",
    "soc_key",
    "soc_vendor",
    "soc_name",
    "soc_year",
    "clusters",
    "cores",
    "primary_uarch",
    "primary_design_year",
    "big_uarch",
    "little_uarch",
    "dotprod",
    "cpu_peak_gflops",
    "gpu_model",
    "gpu_peak_gflops",
    "gles",
    "vulkan",
    "opencl_status",
    "throttle_ratio",
];

/// Load a dataset directory: latest report per device, and its results.
pub fn load(dir: &Path) -> Result<Dataset, AnalysisError> {
    load_with(dir, false)
}

/// Load a dataset directory keeping every report (one row per report in `devices`),
/// for comparisons of repeated runs on the same devices.
pub fn load_every_report(dir: &Path) -> Result<Dataset, AnalysisError> {
    load_with(dir, true)
}

fn load_with(dir: &Path, every_report: bool) -> Result<Dataset, AnalysisError> {
    let err = |source: PolarsError| AnalysisError::Read {
        dir: dir.to_path_buf(),
        source,
    };
    let mut cols: Vec<Expr> = DEVICE_COLUMNS.iter().map(|c| col(*c)).collect();
    cols.push(col("device_key"));
    cols.extend(SUITE_COLUMNS.iter().map(|c| col(*c)));
    // A forced-ABI run (`run --abi`): an Android userland whose primary ABI is not the
    // probe's. Anything else (the own ABI, a Linux machine name such as aarch64, a
    // report from before probe_abi) ranks above it; then the sequence decides.
    let android = |c: &str| {
        ANDROID_ABIS
            .iter()
            .map(|a| col(c).eq(lit(*a)))
            .reduce(|x, y| x.or(y))
            .unwrap_or(lit(false))
    };
    let forced = android("abi")
        .and(android("probe_abi"))
        .and(col("probe_abi").neq(col("abi")));
    let rank = when(forced.not())
        .then(col("seq") + lit(1i64 << 50))
        .otherwise(col("seq"));
    let scanned = scan_parts(dir, "devices")?
        .with_column(coalesce(&[col("device_hash"), col("report_id")]).alias("device_key"));
    let latest_of_device = rank
        .clone()
        .eq(rank.max().over([col("device_key")]).map_err(err)?);
    let all = scanned
        .clone()
        .filter(latest_of_device.or(lit(every_report)))
        .select(cols)
        .collect()
        .map_err(err)?;
    let (devices, suite) = one_suite(all).map_err(err)?;
    let abi_runs = abi_runs(scanned, &suite).map_err(err)?;
    if devices.height() == 0 {
        return Err(AnalysisError::Dataset(format!(
            "{} holds no device reports: export a collector with data, or simulate a fleet",
            dir.display()
        )));
    }
    // A dataset without its results table is refused with the same clear error.
    table_root(dir, "results")?;
    let batches = result_batches(dir)?;
    let n = devices.height() as f64;
    Ok(Dataset {
        devices,
        abi_runs,
        n,
        suite,
        batches,
    })
}

/// Column `c` holds `v` (null when `v` is `None`).
fn equals(c: &str, v: &Option<String>) -> Expr {
    match v {
        Some(v) => col(c).eq_missing(lit(v.as_str())),
        None => col(c).is_null(),
    }
}

/// The latest report of each (device, probe ABI) of the chosen suite, for the devices
/// with more than one probe ABI.
fn abi_runs(scanned: LazyFrame, suite: &SuiteUse) -> PolarsResult<DataFrame> {
    let key = [col("device_key"), col("probe_abi")];
    scanned
        .filter(
            col("probe_abi")
                .is_not_null()
                .and(equals("suite_id", &suite.id))
                .and(equals("suite_version", &suite.version))
                .and(equals("suite_sha256", &suite.sha256)),
        )
        .filter(col("seq").eq(col("seq").max().over(key)?))
        .filter(
            col("probe_abi")
                .n_unique()
                .over([col("device_key")])?
                .gt(lit(1)),
        )
        .select([col("device_key"), col("probe_abi"), col("seq")])
        .sort(["device_key", "probe_abi"], SortMultipleOptions::default())
        .collect()
}

/// Keep the devices of the suite most devices ran; say what else there was.
fn one_suite(devices: DataFrame) -> PolarsResult<(DataFrame, SuiteUse)> {
    let counts = devices
        .clone()
        .lazy()
        .group_by(SUITE_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .agg([len().alias("devices")])
        .sort_by_exprs(
            [
                col("devices"),
                col("suite_id"),
                col("suite_version"),
                col("suite_sha256"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false, false])
                .with_nulls_last(true),
        )
        .collect()?;
    let text = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        Ok(counts
            .column(name)?
            .str()?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    };
    let (ids, versions, shas) = (
        text("suite_id")?,
        text("suite_version")?,
        text("suite_sha256")?,
    );
    let n: Vec<usize> = counts
        .column("devices")?
        .cast(&DataType::UInt64)?
        .u64()?
        .iter()
        .map(|v| v.unwrap_or(0) as usize)
        .collect();
    if n.is_empty() {
        return Ok((devices, SuiteUse::default()));
    }
    let chosen = equals("suite_id", &ids[0])
        .and(equals("suite_version", &versions[0]))
        .and(equals("suite_sha256", &shas[0]));
    let kept = devices.lazy().filter(chosen).collect()?;
    let suite = SuiteUse {
        id: ids[0].clone(),
        version: versions[0].clone(),
        sha256: shas[0].clone(),
        devices: n[0],
        left_out: (1..n.len())
            .map(|i| {
                (
                    label(
                        ids[i].as_deref(),
                        versions[i].as_deref(),
                        shas[i].as_deref(),
                    ),
                    n[i],
                )
            })
            .collect(),
    };
    Ok((kept, suite))
}

/// Collect with the streaming engine (bounded memory on large scans).
pub(crate) fn stream(lf: LazyFrame) -> PolarsResult<DataFrame> {
    // One query without sinks always yields a single frame.
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}
