//! The analysis: the Parquet dataset (`dataset/`: the layout `export` and `simulate`
//! write, and its reading), the statistics of the report on polars (`stats/`: tables,
//! headline numbers, findings and chart descriptions), and `export` from a store. Every statistic counts each device once,
//! by its latest report, and weights by device count.

mod chart;
mod dataset;
mod error;
mod export;
mod stats;

pub use chart::{Chart, Mark, Spec};
pub use dataset::{api_status, columns, load, scan, shape_key, Dataset, DatasetWriter};
pub use error::AnalysisError;
pub use export::{export, ExportSummary};
pub use stats::{analyse, f64s, kernel_in, strs, Analysis, Table};
