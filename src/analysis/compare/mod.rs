//! `fleetscope compare`: did it regress, and where. Two fleets (dataset directories,
//! stores, or folders of report files) are cut into cells (kernel, dtype, shape,
//! threads, group), where the group is the core type a result ran on (`uarch`), the
//! SoC, or the device. Each side uses one suite, as the report does.
//!
//! Per cell, a device contributes one value: the median p50 of its results in that
//! cell (`--by device`: one value per report, so repeated runs are the samples). Where
//! the same devices (`device_hash`) appear on both sides the cell is compared paired,
//! device by device; otherwise as two distributions, SoC by SoC within a core type
//! where enough devices allow (`estimate`). Cells with fewer
//! than `min_samples` on a side are counted as insufficient, not tested. q-values
//! (Benjamini-Hochberg) control the false discovery rate over every tested cell; a
//! change is reported when its q-value is at most `alpha` and it is at least
//! `threshold` in size.

mod estimate;

pub use estimate::{bh, paired, stratified, unpaired, Estimate};

use super::{AnalysisError, Chart, Dataset, Spec};
use polars::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a cell's group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The core type (microarchitecture) of the cluster the result ran on.
    Uarch,
    /// The SoC.
    Soc,
    /// The device; every report is a sample.
    Device,
}

impl std::str::FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<GroupBy, String> {
        match s {
            "uarch" => Ok(GroupBy::Uarch),
            "soc" => Ok(GroupBy::Soc),
            "device" => Ok(GroupBy::Device),
            _ => Err(format!("--by {s}: use uarch, soc or device")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub by: GroupBy,
    /// Smallest change reported, as a fraction (0.05 = 5 %).
    pub threshold: f64,
    /// False discovery rate.
    pub alpha: f64,
    /// Fewest samples (devices, or reports with `--by device`) per side to test a cell.
    pub min_samples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            by: GroupBy::Uarch,
            threshold: 0.05,
            alpha: 0.05,
            min_samples: 10,
        }
    }
}

/// One tested cell (the `--json` entry).
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub kernel: String,
    pub dtype: String,
    pub shape: String,
    pub threads: i64,
    pub group: String,
    /// Positive = slower, percent.
    pub change_pct: f64,
    /// 95 % interval of `change_pct`.
    pub ci_pct: [f64; 2],
    pub q_value: f64,
    pub p_value: f64,
    pub n_base: usize,
    pub n_new: usize,
    /// `paired` (the same devices), `stratified` (different devices, compared SoC by
    /// SoC within the core type), or `unpaired`.
    pub method: &'static str,
}

/// The comparison of two fleets.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub cells_tested: usize,
    /// Significant slowdowns of at least the threshold, largest first.
    pub regressions: Vec<Cell>,
    /// Significant speedups of at least the threshold, largest first.
    pub improvements: Vec<Cell>,
    /// Cells with too few samples on a side to test.
    pub insufficient: usize,
    #[serde(skip)]
    pub tested: Vec<Cell>,
    #[serde(skip)]
    pub base_suite: String,
    #[serde(skip)]
    pub new_suite: String,
    #[serde(skip)]
    pub options: Options,
}

/// Cell identity: kernel, dtype, shape, threads, group.
type Key = (String, String, String, i64, String);

/// One sample: (sample id, stratum = the device's SoC, value).
type Sample = (u32, u32, f64);

/// Per cell, its samples.
type Samples = HashMap<Key, Vec<Sample>>;

/// Device keys as small integers, shared by both sides so pairs can be found: a
/// million-device fleet holds 40 million samples, and a string each would be gigabytes.
#[derive(Default)]
struct Ids(HashMap<String, u32>);

impl Ids {
    fn get(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.0.get(key) {
            return id;
        }
        let id = self.0.len() as u32;
        self.0.insert(key.to_string(), id);
        id
    }
}

/// Where one side of a comparison comes from.
pub fn open(spec: &str, scratch: &Path, every_report: bool) -> Result<Dataset, AnalysisError> {
    let load = |dir: &Path| {
        if every_report {
            super::load_every_report(dir)
        } else {
            super::load(dir)
        }
    };
    if spec.starts_with("sqlite://")
        || spec.starts_with("postgres://")
        || spec.starts_with("postgresql://")
    {
        let _ = std::fs::remove_dir_all(scratch);
        super::export(spec, scratch, &|_| {})?;
        return load(scratch);
    }
    let path = PathBuf::from(spec);
    if path.join("devices").is_dir() {
        return load(&path);
    }
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|source| AnalysisError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        f.sort();
        f
    } else if path.is_file() {
        vec![path.clone()]
    } else {
        return Err(AnalysisError::Dataset(format!(
            "{spec} is neither a dataset directory (with devices/), a store URL (sqlite://, postgres://) nor report files (a .json file or a folder of them)"
        )));
    };
    if files.is_empty() {
        return Err(AnalysisError::Dataset(format!(
            "{spec} holds no .json reports"
        )));
    }
    let _ = std::fs::remove_dir_all(scratch);
    let mut w = super::DatasetWriter::new(scratch);
    for (i, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).map_err(|source| AnalysisError::Io {
            action: "read",
            path: f.clone(),
            source,
        })?;
        let report = crate::schema::parse_report(&bytes)
            .map_err(|e| AnalysisError::Dataset(format!("{}: {e}", f.display())))?;
        w.push(&report, i as i64 + 1)
            .map_err(AnalysisError::Write)?;
    }
    w.flush().map_err(AnalysisError::Write)?;
    load(scratch)
}

/// The samples of one side: per cell, one value per device (or per report).
fn samples(
    d: &Dataset,
    by: GroupBy,
    ids: &mut Ids,
    strata: &mut Ids,
    side: &str,
) -> PolarsResult<Samples> {
    let group = match by {
        GroupBy::Uarch => col("uarch").cast(DataType::String),
        GroupBy::Soc => col("soc_key"),
        GroupBy::Device => col("device_key"),
    };
    // Sample and stratum ids are given once per device here and joined in as integers:
    // tens of millions of result rows never carry a device key or SoC string.
    let (seqs, keys, socs) = (
        d.devices.column("seq")?.i64()?,
        d.devices.column("device_key")?.str()?,
        d.devices.column("soc_key")?.str()?,
    );
    let (mut sample, mut stratum) = (Vec::new(), Vec::new());
    for ((seq, key), soc) in seqs.iter().zip(keys.iter()).zip(socs.iter()) {
        // With --by device every report is a sample, distinct per side.
        sample.push(match by {
            GroupBy::Device => ids.get(&format!("{side}:{}", seq.unwrap_or(0))),
            _ => ids.get(key.unwrap_or_default()),
        });
        stratum.push(strata.get(soc.unwrap_or_default()));
    }
    let devices = DataFrame::new(
        d.devices.height(),
        vec![
            d.devices.column("seq")?.clone(),
            Column::new("sample".into(), sample),
            Column::new("stratum".into(), stratum),
            d.devices.column("soc_key")?.clone(),
            d.devices.column("device_key")?.clone(),
        ],
    )?
    .lazy();
    let mut out: Samples = HashMap::new();
    d.for_each_batch(
        |r| {
            r.filter(col("skipped").is_null().and(col("p50_us").gt(lit(0.0))))
                .join(
                    devices.clone(),
                    [col("seq")],
                    [col("seq")],
                    JoinArgs::new(JoinType::Inner),
                )
                .select([
                    col("kernel").cast(DataType::String),
                    col("dtype").cast(DataType::String),
                    col("shape").cast(DataType::String),
                    col("threads"),
                    group.clone().alias("group"),
                    col("sample"),
                    col("stratum"),
                    col("p50_us"),
                ])
                .filter(col("group").is_not_null())
                .group_by([
                    col("kernel"),
                    col("dtype"),
                    col("shape"),
                    col("threads"),
                    col("group"),
                    col("sample"),
                ])
                .agg([col("p50_us").median(), col("stratum").first()])
                // Rows of one cell together: a key is built once per cell, not per row.
                .sort(
                    ["kernel", "dtype", "shape", "threads", "group"],
                    SortMultipleOptions::default(),
                )
        },
        |df| {
            let s = |n: &str| -> PolarsResult<StringChunked> { Ok(df.column(n)?.str()?.clone()) };
            let (k, dt, sh) = (s("kernel")?, s("dtype")?, s("shape")?);
            let g = s("group")?;
            let id = df.column("sample")?.u32()?.clone();
            let st = df.column("stratum")?.u32()?.clone();
            let th = df.column("threads")?.i64()?.clone();
            let v = df.column("p50_us")?.f64()?.clone();
            let mut current: Option<(Key, Vec<Sample>)> = None;
            let mut flush = |cur: Option<(Key, Vec<Sample>)>| {
                if let Some((key, vals)) = cur {
                    out.entry(key).or_default().extend(vals);
                }
            };
            let cols = k.iter().zip(dt.iter()).zip(sh.iter()).zip(th.iter());
            for ((((k, dt), sh), th), (((g, id), v), st)) in
                cols.zip(g.iter().zip(id.iter()).zip(v.iter()).zip(st.iter()))
            {
                let (Some(k), Some(g), Some(id), Some(v)) = (k, g, id, v) else {
                    continue;
                };
                let (dt, sh, th) = (
                    dt.unwrap_or_default(),
                    sh.unwrap_or_default(),
                    th.unwrap_or(0),
                );
                let same = current.as_ref().is_some_and(|(key, _)| {
                    key.0 == k && key.1 == dt && key.2 == sh && key.3 == th && key.4 == g
                });
                if !same {
                    flush(current.take());
                    let key = (
                        k.to_string(),
                        dt.to_string(),
                        sh.to_string(),
                        th,
                        g.to_string(),
                    );
                    current = Some((key, Vec::new()));
                }
                if let Some((_, vals)) = current.as_mut() {
                    vals.push((id, st.unwrap_or(0), v));
                }
            }
            flush(current.take());
            Ok(())
        },
    )?;
    Ok(out)
}

/// Compare `base` with `new`.
pub fn compare(base: &Dataset, new: &Dataset, opt: &Options) -> Result<Comparison, AnalysisError> {
    let err = |source| AnalysisError::Statistic {
        name: "compare",
        source,
    };
    let (mut ids, mut strata) = (Ids::default(), Ids::default());
    let a = samples(base, opt.by, &mut ids, &mut strata, "base").map_err(err)?;
    let mut b = samples(new, opt.by, &mut ids, &mut strata, "new").map_err(err)?;
    drop(ids);
    let mut keys: Vec<&Key> = a.keys().filter(|k| b.contains_key(*k)).collect();
    keys.sort();
    let min = opt.min_samples.max(3);
    let (mut tested, mut insufficient) = (Vec::new(), 0);
    // Cells present on one side only cannot be compared either.
    insufficient += a.keys().filter(|k| !b.contains_key(*k)).count();
    insufficient += b.keys().filter(|k| !a.contains_key(*k)).count();
    for key in keys {
        let (sa, sb) = (&a[key], b.get_mut(key).expect("key on both sides"));
        let (na, nb) = (sa.len(), sb.len());
        if na < min || nb < min {
            insufficient += 1;
            continue;
        }
        // Paired when most of the smaller side's devices are on both sides.
        let by_id: HashMap<u32, f64> = sa.iter().map(|&(id, _, v)| (id, v)).collect();
        let pairs: Vec<(f64, f64)> = match opt.by {
            GroupBy::Device => Vec::new(),
            _ => sb
                .iter()
                .filter_map(|(id, _, v)| by_id.get(id).map(|x| (*x, *v)))
                .collect(),
        };
        let by_soc =
            |s: &[Sample]| -> Vec<(u32, f64)> { s.iter().map(|&(_, st, v)| (st, v)).collect() };
        let (est, method) = if pairs.len() >= min && 2 * pairs.len() >= na.min(nb) {
            (paired(&pairs), "paired")
        } else if let Some(e) = (opt.by == GroupBy::Uarch)
            .then(|| stratified(&by_soc(sa), &by_soc(sb)))
            .flatten()
        {
            (e, "stratified")
        } else {
            let mut va: Vec<f64> = sa.iter().map(|&(_, _, v)| v).collect();
            let mut vb: Vec<f64> = sb.iter().map(|&(_, _, v)| v).collect();
            (unpaired(&mut va, &mut vb), "unpaired")
        };
        let pct = |x: f64| (x * 1000.0).round() / 10.0;
        tested.push(Cell {
            kernel: key.0.clone(),
            dtype: key.1.clone(),
            shape: key.2.clone(),
            threads: key.3,
            group: key.4.clone(),
            change_pct: pct(est.change),
            ci_pct: [pct(est.low), pct(est.high)],
            q_value: 1.0,
            p_value: est.p,
            n_base: if method == "paired" { pairs.len() } else { na },
            n_new: if method == "paired" { pairs.len() } else { nb },
            method,
        });
    }
    let q = bh(&tested.iter().map(|c| c.p_value).collect::<Vec<_>>());
    for (c, q) in tested.iter_mut().zip(q) {
        c.q_value = q;
    }
    let limit = 100.0 * opt.threshold;
    let significant = |c: &&Cell| c.q_value <= opt.alpha;
    let mut regressions: Vec<Cell> = tested
        .iter()
        .filter(significant)
        .filter(|c| c.change_pct >= limit)
        .cloned()
        .collect();
    let mut improvements: Vec<Cell> = tested
        .iter()
        .filter(significant)
        .filter(|c| c.change_pct <= -limit)
        .cloned()
        .collect();
    regressions.sort_by(|x, y| y.change_pct.total_cmp(&x.change_pct));
    improvements.sort_by(|x, y| x.change_pct.total_cmp(&y.change_pct));
    Ok(Comparison {
        cells_tested: tested.len(),
        regressions,
        improvements,
        insufficient,
        tested,
        base_suite: base.suite.label(),
        new_suite: new.suite.label(),
        options: opt.clone(),
    })
}

impl Comparison {
    /// Tested cells compared device by device.
    pub fn paired_cells(&self) -> usize {
        self.tested.iter().filter(|c| c.method == "paired").count()
    }

    /// The label of a cell in charts and tables.
    pub fn label(c: &Cell) -> String {
        format!(
            "{} {} {} t{} @ {}",
            c.kernel, c.dtype, c.shape, c.threads, c.group
        )
    }

    /// The reported changes, regressions first, with their intervals: at most `n`.
    pub fn chart(&self, n: usize) -> Option<Chart> {
        let cells: Vec<&Cell> = self
            .regressions
            .iter()
            .chain(&self.improvements)
            .take(n)
            .collect();
        if cells.is_empty() {
            return None;
        }
        Some(Chart {
            name: "compare_changes".into(),
            title: "Largest significant changes (new vs base)".into(),
            caption: format!(
                "Change of the median latency per cell with its 95 % interval; positive = slower. Reported: q <= {} and |change| >= {:.0} %.",
                self.options.alpha,
                100.0 * self.options.threshold
            ),
            spec: Spec::Intervals {
                categories: cells.iter().map(|c| Self::label(c)).collect(),
                points: cells
                    .iter()
                    .map(|c| (c.ci_pct[0], c.change_pct, c.ci_pct[1]))
                    .collect(),
                value_label: "change of median latency, % (positive = slower)".into(),
            },
        })
    }
}
