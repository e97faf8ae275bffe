//! The analysis: the Parquet dataset (`export`, the layout `simulate` also writes) and
//! the statistics of the report, on polars. Every statistic counts each device once,
//! by its latest report, and weights by device count.

mod dataset;
mod export;
mod stats;

pub use dataset::{api_status, columns, scan, shape_key, DatasetWriter};
pub use export::{export, ExportSummary};
pub use stats::{analyse, f64s, strs, Analysis, Table};

use polars::prelude::*;
use std::path::Path;

/// The fleet as the statistics see it.
pub struct Fleet {
    /// One row per device: its latest report.
    pub devices: DataFrame,
    /// Kernel results of those latest reports only (lazy: a scan of the dataset).
    pub results: LazyFrame,
    /// Number of devices.
    pub n: f64,
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
pub fn load(dir: &Path) -> Result<Fleet, String> {
    let err = |e: PolarsError| format!("reading the dataset in {}: {e}", dir.display());
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
        return Err(format!(
            "{} holds no device reports: export a collector with data, or simulate a fleet",
            dir.display()
        ));
    }
    let latest = devices.clone().lazy().select([col("seq")]);
    let results = scan(dir, "results")?.join(
        latest,
        [col("seq")],
        [col("seq")],
        JoinArgs::new(JoinType::Semi),
    );
    let n = devices.height() as f64;
    Ok(Fleet {
        devices,
        results,
        n,
    })
}
