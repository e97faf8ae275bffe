//! What can stop a simulation.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Probe(#[from] crate::probe::ProbeError),
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    /// The calibration does not make a fleet (weights, distributions).
    #[error("{0}")]
    Model(String),
    /// A folder could not be created or read.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--out` already holds a dataset: a simulation writes a new one.
    #[error("{} already holds a dataset: simulate writes a new one; remove it or give another --out", .0.display())]
    Occupied(PathBuf),
    #[error("{} holds no device snapshots (*.json)", .0.display())]
    NoFixtures(PathBuf),
    #[error("writing Parquet: {0}")]
    Write(polars::prelude::PolarsError),
    /// Merging the written part files, one per date partition.
    #[error("compacting the dataset: {0}")]
    Compact(crate::analysis::AnalysisError),
    #[error("cannot encode a report: {0}")]
    Encode(serde_json::Error),
    #[error("a simulation worker panicked")]
    Worker,
}

/// For rooms whose errors are still text.
impl From<FleetError> for String {
    fn from(e: FleetError) -> String {
        e.to_string()
    }
}
