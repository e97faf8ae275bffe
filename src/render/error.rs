//! What can go wrong drawing and writing the report.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// plotters could not draw a chart.
    #[error("drawing chart {chart}: {detail}")]
    Draw { chart: String, detail: String },
    /// A report file could not be written.
    #[error("cannot {action} {}: {detail}", path.display())]
    Write {
        action: &'static str,
        path: PathBuf,
        detail: String,
    },
}

/// For rooms whose errors are still text.
impl From<RenderError> for String {
    fn from(e: RenderError) -> String {
        e.to_string()
    }
}
