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
struct Ids {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Ids {
    fn get(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(key.to_string(), id);
        self.names.push(key.to_string());
        id
    }

    fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
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
        super::export(spec, scratch, false, &|_| {})?;
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

/// The samples of one side: per cell, one value per device (or per report), sorted
/// by sample id.
///
/// A million-device side is about 40 million result rows, so rows are read as they
/// come, with no join, grouping or sort in polars: the categorical columns give their
/// integer codes (looked up once per batch, never compared as strings), a device's
/// sample, stratum and group come from its `seq`, and a cell's key is four small
/// integers. A device with several results in one cell (two clusters of one core
/// type) gives their median.
fn samples(
    d: &Dataset,
    by: GroupBy,
    names: &mut Names,
    ids: &mut Ids,
    strata: &mut Ids,
    side: &str,
) -> PolarsResult<Samples> {
    // Per device (by seq): its sample, its stratum (the SoC) and, unless the group is
    // the core type, its group.
    let (seqs, keys, socs) = (
        d.devices.column("seq")?.i64()?,
        d.devices.column("device_key")?.str()?,
        d.devices.column("soc_key")?.str()?,
    );
    let mut device: PlHashMap<i64, (u32, u32, u32)> = PlHashMap::with_capacity(d.devices.height());
    for ((seq, key), soc) in seqs.iter().zip(keys.iter()).zip(socs.iter()) {
        let (Some(seq), key, soc) = (seq, key.unwrap_or_default(), soc.unwrap_or_default()) else {
            continue;
        };
        // With --by device every report is a sample, distinct per side.
        let sample = match by {
            GroupBy::Device => ids.get(&format!("{side}:{seq}")),
            _ => ids.get(key),
        };
        let group = match by {
            GroupBy::Uarch => u32::MAX,
            GroupBy::Soc => names.groups.get(soc),
            GroupBy::Device => names.groups.get(key),
        };
        device.insert(seq, (sample, strata.get(soc), group));
    }
    let cat = DataType::from_categories(Categories::global());
    let mut cells: PlHashMap<CellId, Vec<Sample>> = PlHashMap::new();
    d.for_each_batch(
        |r| {
            r.filter(col("skipped").is_null().and(col("p50_us").gt(lit(0.0))))
                .select([
                    col("kernel").cast(cat.clone()),
                    col("dtype").cast(cat.clone()),
                    col("shape").cast(cat.clone()),
                    col("uarch").cast(cat.clone()),
                    col("threads"),
                    col("seq"),
                    col("p50_us"),
                ])
        },
        |df| {
            let mut kernel = Codes::of(df.column("kernel")?)?;
            let mut dtype = Codes::of(df.column("dtype")?)?;
            let mut shape = Codes::of(df.column("shape")?)?;
            let mut uarch = Codes::of(df.column("uarch")?)?;
            let threads = df.column("threads")?.i64()?;
            let seq = df.column("seq")?.i64()?;
            let p50 = df.column("p50_us")?.f64()?;
            for (row, ((th, sq), v)) in threads.iter().zip(seq.iter()).zip(p50.iter()).enumerate() {
                let (Some(sq), Some(v)) = (sq, v) else {
                    continue;
                };
                let Some(&(sample, stratum, group)) = device.get(&sq) else {
                    continue;
                };
                let group = match by {
                    GroupBy::Uarch => match uarch.id(row, &mut names.groups) {
                        Some(g) => g,
                        None => continue,
                    },
                    _ => group,
                };
                let Some(k) = kernel.id(row, &mut names.kernels) else {
                    continue;
                };
                let dt = dtype.id(row, &mut names.dtypes).unwrap_or(u32::MAX);
                let sh = shape.id(row, &mut names.shapes).unwrap_or(u32::MAX);
                cells
                    .entry((k, dt, sh, th.unwrap_or(0), group))
                    .or_default()
                    .push((sample, stratum, v));
            }
            Ok(())
        },
    )?;
    Ok(cells
        .into_iter()
        .map(|(id, mut v)| {
            one_per_sample(&mut v);
            (names.key(id), v)
        })
        .collect())
}

/// A cell as small integers: kernel, dtype, shape, threads, group (`u32::MAX`: none).
type CellId = (u32, u32, u32, i64, u32);

/// The strings behind cell ids, shared by both sides.
#[derive(Default)]
struct Names {
    kernels: Ids,
    dtypes: Ids,
    shapes: Ids,
    groups: Ids,
}

impl Names {
    fn key(&self, (k, dt, sh, th, g): CellId) -> Key {
        let name = |ids: &Ids, id: u32| ids.name(id).unwrap_or_default().to_string();
        (
            name(&self.kernels, k),
            name(&self.dtypes, dt),
            name(&self.shapes, sh),
            th,
            name(&self.groups, g),
        )
    }
}

/// A categorical column of one batch as codes, with each code's id looked up once.
struct Codes {
    codes: UInt32Chunked,
    mapping: Arc<CategoricalMapping>,
    /// Code -> id (`u32::MAX`: not looked up yet).
    seen: Vec<u32>,
}

impl Codes {
    fn of(c: &Column) -> PolarsResult<Codes> {
        let DataType::Categorical(_, mapping) = c.dtype() else {
            polars_bail!(ComputeError: "column {} is {}, not categorical", c.name(), c.dtype());
        };
        let mapping = mapping.clone();
        let codes = c
            .to_physical_repr()
            .cast(&DataType::UInt32)?
            .u32()?
            .rechunk()
            .into_owned();
        Ok(Codes {
            codes,
            mapping,
            seen: Vec::new(),
        })
    }

    /// The id (in `ids`) of row `row`'s string; `None` for a null.
    fn id(&mut self, row: usize, ids: &mut Ids) -> Option<u32> {
        let code = self.codes.get(row)?;
        let at = code as usize;
        if at >= self.seen.len() {
            self.seen.resize(at + 1, u32::MAX);
        }
        if self.seen[at] == u32::MAX {
            self.seen[at] = ids.get(self.mapping.cat_to_str(code)?);
        }
        Some(self.seen[at])
    }
}

/// Sort by sample id and keep one value per sample: the median of its values.
fn one_per_sample(v: &mut Vec<Sample>) {
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
    let mut out = 0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i + 1;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        // Values of one sample are sorted: the middle one (the mean of the middle two).
        let (n, mid) = (j - i, i + (j - i) / 2);
        let value = if n % 2 == 1 {
            v[mid].2
        } else {
            (v[mid - 1].2 + v[mid].2) / 2.0
        };
        v[out] = (v[i].0, v[i].1, value);
        out += 1;
        i = j;
    }
    v.truncate(out);
}

/// Pairs of values for the samples on both sides (both sorted by sample id).
fn pairs(a: &[Sample], b: &[Sample]) -> Vec<(f64, f64)> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push((a[i].2, b[j].2));
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Compare `base` with `new`.
pub fn compare(base: &Dataset, new: &Dataset, opt: &Options) -> Result<Comparison, AnalysisError> {
    let err = |source| AnalysisError::Statistic {
        name: "compare",
        source,
    };
    let (mut names, mut ids, mut strata) = (Names::default(), Ids::default(), Ids::default());
    let a = samples(base, opt.by, &mut names, &mut ids, &mut strata, "base").map_err(err)?;
    let b = samples(new, opt.by, &mut names, &mut ids, &mut strata, "new").map_err(err)?;
    drop(ids);
    let mut keys: Vec<&Key> = a.keys().filter(|k| b.contains_key(*k)).collect();
    keys.sort();
    let min = opt.min_samples.max(3);
    let (mut tested, mut insufficient) = (Vec::new(), 0);
    // Cells present on one side only cannot be compared either.
    insufficient += a.keys().filter(|k| !b.contains_key(*k)).count();
    insufficient += b.keys().filter(|k| !a.contains_key(*k)).count();
    for key in keys {
        let (sa, sb) = (&a[key], &b[key]);
        let (na, nb) = (sa.len(), sb.len());
        if na < min || nb < min {
            insufficient += 1;
            continue;
        }
        // Paired when most of the smaller side's devices are on both sides.
        let pairs = match opt.by {
            GroupBy::Device => Vec::new(),
            _ => pairs(sa, sb),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_with_several_values_keeps_their_median() {
        let mut v = vec![
            (7, 1, 3.0),
            (2, 0, 5.0),
            (7, 1, 1.0),
            (7, 1, 2.0),
            (4, 0, 8.0),
            (4, 0, 6.0),
        ];
        one_per_sample(&mut v);
        assert_eq!(v, vec![(2, 0, 5.0), (4, 0, 7.0), (7, 1, 2.0)]);
    }

    #[test]
    fn pairs_are_the_samples_on_both_sides() {
        let a = [(1, 0, 1.0), (3, 0, 3.0), (5, 0, 5.0)];
        let b = [(0, 0, 0.5), (3, 0, 3.5), (4, 0, 4.5), (5, 0, 5.5)];
        assert_eq!(pairs(&a, &b), vec![(3.0, 3.5), (5.0, 5.5)]);
    }
}
