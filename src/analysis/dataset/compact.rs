//! Compaction: each date partition's part files merged into one file of large row
//! groups, so an engine reading the dataset opens a few big files rather than
//! thousands of small ones.
//!
//! Part files are named by the ingest sequences they hold: `part-FIRST-LAST.parquet`
//! as written, `compact-FIRST-LAST.parquet` once merged. A compacted file supersedes
//! every other file of its partition whose range it covers, and readers pass those
//! over: a run stopped between writing the merged file and removing its inputs
//! neither loses nor doubles a row, and the next compaction removes the leftovers.
//! Every file of a partition is merged at once, after every writer of the run is done
//! (simulate's workers write overlapping ranges), and a later run's parts hold higher
//! sequences (an export appends only newer reports; simulate refuses a folder that
//! holds a dataset), so a range covered by a merged file is always one it merged.

use super::write_options;
use crate::analysis::AnalysisError;
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// Uncompressed bytes (as Parquet footers count them) per row group of a merged
/// file, estimated from its inputs' footers: groups of about this to twice this, or
/// one group when the partition is smaller.
pub const ROW_GROUP_BYTES: usize = 64 << 20;

/// A part file's name: which sequences it holds, and whether it is a merged one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PartName {
    pub first: i64,
    pub last: i64,
    pub compacted: bool,
}

impl PartName {
    /// `part-FIRST-LAST.parquet` or `compact-FIRST-LAST.parquet`; `None` for any other
    /// name (temporary files included).
    pub fn parse(name: &str) -> Option<PartName> {
        let (compacted, rest) = match name.strip_prefix("compact-") {
            Some(rest) => (true, rest),
            None => (false, name.strip_prefix("part-")?),
        };
        let (first, last) = rest.strip_suffix(".parquet")?.split_once('-')?;
        Some(PartName {
            first: first.parse().ok()?,
            last: last.parse().ok()?,
            compacted,
        })
    }

    pub fn file_name(&self) -> String {
        let kind = if self.compacted { "compact" } else { "part" };
        format!("{kind}-{:012}-{:012}.parquet", self.first, self.last)
    }

    /// A merged file, other than this one, covers this one's sequences.
    fn superseded_by(&self, others: &[PartName]) -> bool {
        others
            .iter()
            .any(|o| o.compacted && o != self && o.first <= self.first && self.last <= o.last)
    }
}

/// The Parquet files of one partition directory that hold live rows: every
/// `*.parquet` no merged file supersedes (a file of another name is kept as it is),
/// sorted by name.
pub(crate) fn live_files(partition: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (live, _) = partition_files(partition)?;
    Ok(live.into_iter().map(|(p, _)| p).collect())
}

/// Live files of a partition (with their names when they are parts) and the files a
/// merged one supersedes.
type PartitionFiles = (Vec<(PathBuf, Option<PartName>)>, Vec<PathBuf>);

/// A partition's live files and the ones a merged file supersedes.
fn partition_files(partition: &Path) -> std::io::Result<PartitionFiles> {
    let mut files: Vec<(PathBuf, Option<PartName>)> = Vec::new();
    for f in std::fs::read_dir(partition)? {
        let path = f?.path();
        if path.extension().is_some_and(|x| x == "parquet") {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(PartName::parse);
            files.push((path, name));
        }
    }
    files.sort();
    let names: Vec<PartName> = files.iter().filter_map(|(_, n)| *n).collect();
    let (superseded, live): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|(_, n)| n.is_some_and(|n| n.superseded_by(&names)));
    Ok((live, superseded.into_iter().map(|(p, _)| p).collect()))
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Partitions (date and table) merged into one file.
    pub partitions: u64,
    /// Live Parquet files in the dataset afterwards.
    pub files: u64,
}

/// Merge every partition of the dataset at `dir` that holds more than one part file
/// into one `compact-FIRST-LAST.parquet`, and remove what it supersedes.
pub fn compact(dir: &Path) -> Result<Compaction, AnalysisError> {
    let mut done = Compaction::default();
    for table in ["devices", "results"] {
        let root = dir.join(table);
        let Ok(dates) = std::fs::read_dir(&root) else {
            continue;
        };
        for date in dates {
            let partition = date.map_err(AnalysisError::io("read", &root))?.path();
            if !partition.is_dir() {
                continue;
            }
            let (live, superseded) =
                partition_files(&partition).map_err(AnalysisError::io("read", &partition))?;
            remove(&superseded)?;
            let mut files = live.len();
            let parts: Vec<(PathBuf, PartName)> = live
                .into_iter()
                .filter_map(|(p, name)| Some((p, name?)))
                .collect();
            if parts.len() > 1 {
                let merged = merge(&partition, &parts)?;
                done.partitions += 1;
                let inputs: Vec<PathBuf> = parts.iter().map(|(p, _)| p.clone()).collect();
                remove(&inputs)?;
                files -= parts.len() - 1;
                tracing::debug!(partition = %partition.display(), merged, "compacted");
            }
            done.files += files as u64;
        }
    }
    Ok(done)
}

fn remove(files: &[PathBuf]) -> Result<(), AnalysisError> {
    for f in files {
        std::fs::remove_file(f).map_err(AnalysisError::io("remove", f))?;
    }
    Ok(())
}

/// Write `parts` (one partition's files) as one merged file in row groups of about
/// [`ROW_GROUP_BYTES`] (an estimate from the parts' own footers), reading each part a
/// group's worth of rows at a time, so at most two groups are in memory whatever the
/// partition's size. Columns are the union of the parts' (a part written before a
/// column existed gets nulls there), in the newest part's order. The merged file is
/// on disk, and its name in the directory, before this returns: only then may its
/// inputs go. On an error the temporary file is removed and the parts are untouched.
fn merge(partition: &Path, parts: &[(PathBuf, PartName)]) -> Result<String, AnalysisError> {
    let name = PartName {
        first: parts.iter().map(|(_, n)| n.first).min().unwrap_or(0),
        last: parts.iter().map(|(_, n)| n.last).max().unwrap_or(0),
        compacted: true,
    }
    .file_name();
    let tmp = partition.join(format!(".{name}.tmp"));
    let written = write_merged(&tmp, parts).and_then(|()| {
        let io = |e| AnalysisError::io("write", &tmp)(e);
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        let target = partition.join(&name);
        std::fs::rename(&tmp, &target).map_err(AnalysisError::io("write", &target))?;
        std::fs::File::open(partition)
            .and_then(|d| d.sync_all())
            .map_err(AnalysisError::io("sync", partition))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| name)
}

fn write_merged(tmp: &Path, parts: &[(PathBuf, PartName)]) -> Result<(), AnalysisError> {
    let read = |f: &Path| {
        let f = f.to_path_buf();
        move |source| AnalysisError::Read { dir: f, source }
    };
    let open = |f: &Path| std::fs::File::open(f).map_err(AnalysisError::io("read", f));
    let mut bytes = 0usize;
    let mut counts = vec![0usize; parts.len()];
    let mut schema = Schema::default();
    for (i, (f, _)) in parts.iter().enumerate().rev() {
        let footer = ParquetReader::new(open(f)?)
            .get_metadata()
            .map_err(read(f))?
            .clone();
        counts[i] = footer.num_rows;
        bytes += footer
            .row_groups
            .iter()
            .map(|g| g.total_byte_size())
            .sum::<usize>();
        // The file's own columns: no hive column from the `date=` folder.
        let args = ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            ..Default::default()
        };
        let path = PlRefPath::new(f.to_string_lossy().as_ref());
        let columns = LazyFrame::scan_parquet(path, args)
            .and_then(|mut lf| lf.collect_schema())
            .map_err(read(f))?;
        for (name, dtype) in columns.iter() {
            if !schema.contains(name) {
                schema.with_column(name.clone(), dtype.clone());
            }
        }
    }
    let file = std::fs::File::create(tmp).map_err(AnalysisError::io("create", tmp))?;
    let mut writer = write_options(ParquetWriter::new(file))
        .batched(&schema)
        .map_err(AnalysisError::Write)?;
    let rows: usize = counts.iter().sum();
    let group_rows = rows.div_ceil((bytes / ROW_GROUP_BYTES).max(1)).max(1);
    // The batched writer makes a row group of each chunk it is given.
    let mut write_group = |mut df: DataFrame| {
        df.rechunk_mut_par();
        writer.write_batch(&df).map_err(AnalysisError::Write)
    };
    let mut pending: Option<DataFrame> = None;
    for ((f, _), n) in parts.iter().zip(counts) {
        for offset in (0..n).step_by(group_rows) {
            let df = ParquetReader::new(open(f)?)
                .with_slice(Some((offset, group_rows.min(n - offset))))
                .finish()
                .and_then(|df| conform(df, &schema))
                .map_err(read(f))?;
            let mut buf = match pending.take() {
                Some(mut acc) => {
                    acc.vstack_mut_owned(df).map_err(read(f))?;
                    acc
                }
                None => df,
            };
            if buf.height() >= group_rows {
                write_group(buf.slice(0, group_rows))?;
                buf = buf.slice(group_rows as i64, buf.height() - group_rows);
            }
            pending = Some(buf);
        }
    }
    if let Some(rest) = pending.filter(|r| r.height() > 0) {
        write_group(rest)?;
    }
    writer.finish().map_err(AnalysisError::Write)?;
    Ok(())
}

/// `df` with exactly `schema`'s columns, in its order: nulls for a missing one.
fn conform(df: DataFrame, schema: &Schema) -> PolarsResult<DataFrame> {
    let columns = schema
        .iter()
        .map(|(name, dtype)| match df.column(name) {
            Ok(c) if c.dtype() == dtype => Ok(c.clone()),
            Ok(c) => c.cast(dtype),
            Err(_) => Ok(Column::full_null(name.clone(), df.height(), dtype)),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(df.height(), columns)
}

#[cfg(test)]
mod tests {
    use super::PartName;

    fn name(s: &str) -> PartName {
        PartName::parse(s).unwrap()
    }

    #[test]
    fn names_round_trip_and_others_are_not_parts() {
        for s in [
            "part-000000000007-000000000042.parquet",
            "compact-000000000001-000000009999.parquet",
        ] {
            assert_eq!(name(s).file_name(), s);
        }
        for s in [
            ".part-000000000007-000000000042.parquet.tmp",
            "part-7.parquet",
            "part-a-b.parquet",
            "notes.parquet",
        ] {
            assert_eq!(PartName::parse(s), None, "{s}");
        }
    }

    #[test]
    fn a_merged_file_supersedes_only_what_it_covers() {
        let merged = name("compact-000000000010-000000000050.parquet");
        let inside = name("part-000000000010-000000000020.parquet");
        let later = name("part-000000000051-000000000060.parquet");
        let older_merge = name("compact-000000000010-000000000030.parquet");
        let all = [merged, inside, later, older_merge];
        assert!(inside.superseded_by(&all));
        assert!(older_merge.superseded_by(&all));
        assert!(!later.superseded_by(&all));
        assert!(!merged.superseded_by(&all));
        // A plain part supersedes nothing, however wide its range.
        let wide = name("part-000000000001-000000000099.parquet");
        assert!(!inside.superseded_by(&[wide, inside]));
    }
}
