//! `fleetscope export`: the stored reports as the Parquet dataset, incrementally.
//! `DIR/_export_state.json` remembers the last ingest sequence written and the store
//! it came from; a new run appends only newer reports. Parts left by an interrupted
//! run (sequence above the recorded one) are removed before writing again.

use super::dataset::{self, Compaction, DatasetWriter, PartName};
use super::AnalysisError;
use crate::collector::store;
use crate::schema::parse_report;
use serde::{Deserialize, Serialize};
use std::path::Path;

const STATE: &str = "_export_state.json";
const PAGE: usize = 2000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    source: String,
    last_seq: i64,
}

/// What one export run did.
#[derive(Debug, Clone, Default)]
pub struct ExportSummary {
    pub reports: u64,
    pub results: u64,
    /// Stored reports that no longer parse (left out, and named in `problems`).
    pub unreadable: u64,
    pub problems: Vec<String>,
    pub from_seq: i64,
    pub to_seq: i64,
    /// Part files written.
    pub files: u64,
    /// What compacting the dataset afterwards did, when asked.
    pub compaction: Option<Compaction>,
    /// Why compacting failed: the export itself is complete, its parts as written.
    pub compaction_error: Option<String>,
}

/// Export every report of `db_url` above the last exported sequence into `out`; with
/// `compact`, then merge each date partition into one file (after the new sequence is
/// recorded, so a merged file never holds a report a later run would write again).
pub fn export(
    db_url: &str,
    out: &Path,
    compact: bool,
    progress: &dyn Fn(u64),
) -> Result<ExportSummary, AnalysisError> {
    let source = crate::util::redact_url(db_url);
    let store = store::open(db_url).map_err(|e| AnalysisError::Store {
        from: source.clone(),
        source: e,
    })?;
    std::fs::create_dir_all(out).map_err(AnalysisError::io("create", out))?;
    let state_path = out.join(STATE);
    let state: State = match std::fs::read(&state_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            AnalysisError::Dataset(format!(
                "{} is damaged ({e}); remove it to export everything again",
                state_path.display()
            ))
        })?,
        Err(_) => State {
            source: source.clone(),
            last_seq: 0,
        },
    };
    if state.source != source {
        return Err(AnalysisError::Dataset(format!(
            "{} holds an export of {}, not {source}: use another --out directory",
            out.display(),
            state.source
        )));
    }
    remove_orphans(out, state.last_seq)?;
    // `source` has any password redacted.
    tracing::debug!(
        source,
        from_seq = state.last_seq,
        "export: reading the store"
    );

    let mut writer = DatasetWriter::new(out);
    let mut sum = ExportSummary {
        from_seq: state.last_seq,
        to_seq: state.last_seq,
        ..Default::default()
    };
    let mut since = state.last_seq;
    loop {
        let page = store
            .export(since, PAGE)
            .map_err(|e| AnalysisError::Store {
                from: source.clone(),
                source: e,
            })?;
        let Some(&(last, _)) = page.last() else { break };
        for (seq, json) in &page {
            match parse_report(json.as_bytes()) {
                Ok(report) => {
                    sum.results += report.results.len() as u64;
                    sum.reports += 1;
                    writer.push(&report, *seq).map_err(AnalysisError::Write)?;
                }
                Err(e) => {
                    sum.unreadable += 1;
                    if sum.problems.len() < 20 {
                        sum.problems.push(format!("ingest sequence {seq}: {e}"));
                    }
                }
            }
        }
        since = last;
        tracing::trace!(reports = sum.reports, seq = last, "export: page written");
        progress(sum.reports);
    }
    writer.flush().map_err(AnalysisError::Write)?;
    sum.files = writer.files;
    sum.to_seq = since;
    tracing::debug!(
        reports = sum.reports,
        files = sum.files,
        to_seq = since,
        "export: done"
    );
    let tmp = out.join(format!(".{STATE}.tmp"));
    let text = serde_json::to_vec_pretty(&State {
        source,
        last_seq: since,
    })
    .map_err(|e| AnalysisError::Dataset(format!("cannot encode the export state: {e}")))?;
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &state_path))
        .map_err(AnalysisError::io("write", &state_path))?;
    if compact {
        match dataset::compact(out) {
            Ok(c) => sum.compaction = Some(c),
            Err(e) => sum.compaction_error = Some(e.to_string()),
        }
    }
    Ok(sum)
}

/// Remove part files holding sequences above `last_seq` (written by a run that
/// stopped before recording them) and temporary files.
fn remove_orphans(out: &Path, last_seq: i64) -> Result<(), AnalysisError> {
    for table in ["devices", "results"] {
        let Ok(dates) = std::fs::read_dir(out.join(table)) else {
            continue;
        };
        for date in dates.flatten() {
            let Ok(parts) = std::fs::read_dir(date.path()) else {
                continue;
            };
            for part in parts.flatten() {
                let name = part.file_name().to_string_lossy().to_string();
                let orphan = PartName::parse(&name).is_some_and(|p| p.last > last_seq)
                    || name.ends_with(".tmp");
                if orphan {
                    let path = part.path();
                    std::fs::remove_file(&path).map_err(AnalysisError::io("remove", &path))?;
                }
            }
        }
    }
    Ok(())
}
