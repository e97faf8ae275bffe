//! The analysis: the Parquet dataset (`dataset/`: the layout `export` and `simulate`
//! write, and its reading), the statistics of the report on polars (`stats/`: tables,
//! headline numbers, findings and chart descriptions), `compare` (two fleets, cell by
//! cell, with intervals and false-discovery control), and `export` from a store. Every statistic counts each device once,
//! by its latest report, and weights by device count.

mod chart;
pub mod compare;
mod dataset;
mod error;
mod export;
mod stats;

pub use chart::{Chart, Mark, Spec};
pub use dataset::{
    api_status, columns, compact, load, load_every_report, scan, scan_parts, shape_key, Compaction,
    Dataset, DatasetWriter, SuiteUse, SUITE_COLUMNS,
};
pub use error::AnalysisError;
pub use export::{export, ExportSummary};
pub use stats::{analyse, f64s, kernel_in, strs, Analysis, Table};
