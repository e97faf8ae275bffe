//! The report, drawn and laid out from the analysis: each chart description drawn
//! with plotters (PNG and SVG), every table as CSV, `stats.json` (headline numbers),
//! `report.md`, and a self-contained `index.html` (charts embedded, no scripts, no
//! network), and the same for a comparison of two fleets (`compare`). Nothing here
//! computes a statistic.

mod charts;
mod compare;
mod error;
mod pages;

pub use compare::write_comparison;
pub use error::RenderError;

use crate::analysis::Analysis;
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// Where the report came from, for its header.
#[derive(Debug, Clone)]
pub struct Meta {
    pub source: String,
    pub generated_at: String,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub index: PathBuf,
    pub charts: usize,
    pub tables: usize,
}

/// Write the whole report into `out`.
pub fn write_report(a: &Analysis, out: &Path, meta: &Meta) -> Result<Written, RenderError> {
    let mk = |d: &Path| std::fs::create_dir_all(d).map_err(failed("create", d));
    let (chart_dir, table_dir) = (out.join("charts"), out.join("tables"));
    mk(&chart_dir)?;
    mk(&table_dir)?;

    let charts = &a.charts;
    let mut drawn = Vec::with_capacity(charts.len());
    for c in charts {
        let (png, _svg) = charts::draw(c, &chart_dir).map_err(|detail| RenderError::Draw {
            chart: c.name.clone(),
            detail,
        })?;
        drawn.push((c, png));
    }
    for t in &a.tables {
        let path = table_dir.join(format!("{}.csv", t.name));
        let mut file = std::fs::File::create(&path).map_err(failed("write", &path))?;
        let mut df = t.df.clone();
        CsvWriter::new(&mut file)
            .include_header(true)
            .finish(&mut df)
            .map_err(failed("write", &path))?;
    }
    let stats = serde_json::json!({
        "schema": "fleetscope.stats/1",
        "source": meta.source,
        "generated_at": meta.generated_at,
        "devices": a.devices,
        "stats": a.stats,
        "findings": a.findings,
    });
    let text =
        serde_json::to_string_pretty(&stats).map_err(failed("encode", &out.join("stats.json")))?;
    write(&out.join("stats.json"), &text)?;
    let comparisons = pages::comparisons(a);
    write(
        &out.join("report.md"),
        &pages::markdown(a, meta, charts, &comparisons),
    )?;
    let index = out.join("index.html");
    write(&index, &pages::html(a, meta, &drawn, &comparisons))?;
    Ok(Written {
        index,
        charts: charts.len(),
        tables: a.tables.len(),
    })
}

fn write(path: &Path, text: &str) -> Result<(), RenderError> {
    std::fs::write(path, text).map_err(failed("write", path))
}

/// A failure to `action` the file at `path`, for `map_err`.
fn failed<E: std::fmt::Display>(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(E) -> RenderError {
    let path = path.to_path_buf();
    move |e| RenderError::Write {
        action,
        path,
        detail: e.to_string(),
    }
}
