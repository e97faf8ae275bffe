//! Reading a dataset for the statistics: the latest report of each device (one small
//! frame in memory) and a way to run a query over its results a batch of part files at
//! a time, so memory stays bounded whatever the fleet's size.

use super::scan;
use crate::analysis::AnalysisError;
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// A dataset as the statistics see it: the latest report of each device, and its
/// results read a batch of part files at a time.
pub struct Dataset {
    /// One row per device: its latest report.
    pub devices: DataFrame,
    /// Number of devices.
    pub n: f64,
    /// The results part files, in batches of about `BATCH_BYTES`.
    batches: Vec<Vec<PathBuf>>,
}

/// Parquet bytes of results read per batch: bounds memory whatever the fleet size.
const BATCH_BYTES: u64 = 192 << 20;

impl Dataset {
    /// Run `query` over the results of the latest reports, one batch of part files at a
    /// time, and stack what it returns. A report's results all live in one part file,
    /// so a query may group by `seq` freely.
    pub fn per_batch(&self, query: impl Fn(LazyFrame) -> LazyFrame) -> PolarsResult<DataFrame> {
        let latest = self.devices.clone().lazy().select([col("seq")]);
        let mut out: Option<DataFrame> = None;
        for files in &self.batches {
            let scans = files
                .iter()
                .map(|f| {
                    LazyFrame::scan_parquet(
                        PlRefPath::new(f.to_string_lossy().as_ref()),
                        ScanArgsParquet::default(),
                    )
                })
                .collect::<PolarsResult<Vec<_>>>()?;
            let results = concat(scans, UnionArgs::default())?.join(
                latest.clone(),
                [col("seq")],
                [col("seq")],
                JoinArgs::new(JoinType::Semi),
            );
            let df = stream(query(results))?;
            match out.as_mut() {
                Some(acc) => {
                    acc.vstack_mut(&df)?;
                }
                None => out = Some(df),
            }
        }
        match out {
            Some(mut df) => {
                df.rechunk_mut();
                Ok(df)
            }
            None => Err(polars_err!(NoData: "the dataset has no results part files")),
        }
    }
}

/// `DIR/results/*/*.parquet`, sorted, cut into batches of about `BATCH_BYTES`.
fn result_batches(dir: &Path) -> Result<Vec<Vec<PathBuf>>, AnalysisError> {
    let root = dir.join("results");
    let mut files: Vec<(PathBuf, u64)> = Vec::new();
    let parts = std::fs::read_dir(&root).map_err(|source| AnalysisError::Io {
        action: "read",
        path: root.clone(),
        source,
    })?;
    for part in parts.flatten() {
        let Ok(inner) = std::fs::read_dir(part.path()) else {
            continue;
        };
        for f in inner.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "parquet") {
                files.push((p, f.metadata().map_or(0, |m| m.len())));
            }
        }
    }
    files.sort();
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
    let err = |source: PolarsError| AnalysisError::Read {
        dir: dir.to_path_buf(),
        source,
    };
    let mut cols: Vec<Expr> = DEVICE_COLUMNS.iter().map(|c| col(*c)).collect();
    cols.push(col("device_key"));
    let latest_of_device = col("seq").max().over([col("device_key")]).map_err(err)?;
    let devices = scan(dir, "devices")?
        .with_column(coalesce(&[col("device_hash"), col("report_id")]).alias("device_key"))
        .filter(col("seq").eq(latest_of_device))
        .select(cols)
        .collect()
        .map_err(err)?;
    if devices.height() == 0 {
        return Err(AnalysisError::Dataset(format!(
            "{} holds no device reports: export a collector with data, or simulate a fleet",
            dir.display()
        )));
    }
    // A dataset without its results table is refused with the same clear error.
    let _ = scan(dir, "results")?;
    let batches = result_batches(dir)?;
    let n = devices.height() as f64;
    Ok(Dataset {
        devices,
        n,
        batches,
    })
}

/// Collect with the streaming engine (bounded memory on large scans).
pub(crate) fn stream(lf: LazyFrame) -> PolarsResult<DataFrame> {
    // One query without sinks always yields a single frame.
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}
