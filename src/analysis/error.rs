//! What can go wrong reading or writing a dataset and computing the statistics.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file or folder could not be read, created, written or removed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The folder is not a dataset this analysis reads, or an export cannot go there;
    /// the message says what to point at instead.
    #[error("{0}")]
    Dataset(String),
    /// polars could not read the dataset.
    #[error("reading the dataset in {}: {source}", dir.display())]
    Read {
        dir: PathBuf,
        source: polars::prelude::PolarsError,
    },
    /// A statistic failed on this dataset.
    #[error("computing {name}: {source}")]
    Statistic {
        name: &'static str,
        source: polars::prelude::PolarsError,
    },
    /// Writing the Parquet files failed.
    #[error("writing Parquet: {0}")]
    Write(polars::prelude::PolarsError),
    /// The store an export reads from failed.
    #[error("reading {from}: {source}")]
    Store {
        from: String,
        source: crate::collector::store::StoreError,
    },
}

impl AnalysisError {
    /// An I/O failure on `path`, for `map_err`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| AnalysisError::Io {
            action,
            path,
            source,
        }
    }
}

/// For rooms whose errors are still text.
impl From<AnalysisError> for String {
    fn from(e: AnalysisError) -> String {
        e.to_string()
    }
}
