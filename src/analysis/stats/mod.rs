//! The report's statistics, one small unit per figure or finding, all the same shape:
//! `fn run(dataset, analysis)` adds its tables, headline numbers, findings and chart
//! descriptions. Adding a statistic is adding a file and a line to `UNITS`.

mod abi;
mod clusters;
mod cores;
mod energy;
mod figure;
mod gpu;
mod latency;
mod peaks;
mod priorities;
mod socs;
mod speedup;
mod throttling;
mod variability;

use super::{load, AnalysisError, Chart, Dataset};
use polars::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One table of the report (written as CSV, shown in HTML and Markdown).
pub struct Table {
    /// File stem: `soc_share` -> `soc_share.csv`.
    pub name: &'static str,
    pub title: &'static str,
    /// What a row is and how it was computed.
    pub note: String,
    pub df: DataFrame,
}

/// Everything the report shows.
#[derive(Default)]
pub struct Analysis {
    pub devices: u64,
    pub tables: Vec<Table>,
    /// Headline numbers by dotted name (`soc.top50_share`).
    pub stats: BTreeMap<String, Value>,
    /// One sentence each, most important first.
    pub findings: Vec<String>,
    /// The charts, in report order (the paper's figures first).
    pub charts: Vec<Chart>,
    /// The suite the statistics use (`standard v2 (sha256 ...)`).
    pub suite: String,
    /// Findings with their rank, until `analyse` orders them.
    ranked: Vec<(u8, String)>,
}

impl Analysis {
    fn stat(&mut self, name: impl Into<String>, v: f64) {
        if v.is_finite() {
            self.stats.insert(name.into(), Value::from(round(v, 6)));
        }
    }
    fn add(
        &mut self,
        name: &'static str,
        title: &'static str,
        note: impl Into<String>,
        df: DataFrame,
    ) {
        self.tables.push(Table {
            name,
            title,
            note: note.into(),
            df,
        });
    }
    /// A headline finding; `rank` is its place among them (1 first).
    fn finding(&mut self, rank: u8, text: String) {
        self.ranked.push((rank, text));
    }
    /// A chart, when its table had rows to draw.
    fn chart(&mut self, chart: Option<Chart>) {
        self.charts.extend(chart);
    }
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    pub fn number(&self, name: &str) -> Option<f64> {
        self.stats.get(name).and_then(Value::as_f64)
    }
}

type Unit = fn(&Dataset, &mut Analysis) -> PolarsResult<()>;

/// In report order: the paper's figures 1 to 5, then what it could only estimate.
const UNITS: &[(&str, Unit)] = &[
    ("CPU peak by SoC", peaks::run),
    ("SoC share", socs::run),
    ("CPU cores", cores::run),
    ("userland ABI", abi::run),
    ("GPU", gpu::run),
    ("int8 speedup", speedup::run),
    ("latency by tier", latency::run),
    ("variability", variability::run),
    ("throttling", throttling::run),
    ("big vs little", clusters::run),
    ("energy", energy::run),
    ("optimisation priorities", priorities::run),
];

/// Load the dataset in `dir` and compute every statistic.
pub fn analyse(dir: &Path, progress: &dyn Fn(&str)) -> Result<Analysis, AnalysisError> {
    progress("loading devices");
    let fleet = load(dir)?;
    let mut a = Analysis {
        devices: fleet.n as u64,
        ..Default::default()
    };
    a.stat("fleet.devices", fleet.n);
    suite(&fleet, &mut a);
    for (name, unit) in UNITS {
        progress(name);
        unit(&fleet, &mut a).map_err(|source| AnalysisError::Statistic { name, source })?;
    }
    a.ranked.sort_by_key(|(rank, _)| *rank);
    a.findings = a.ranked.drain(..).map(|(_, text)| text).collect();
    Ok(a)
}

/// Which suite the statistics use (`suite.*` in stats.json), and a finding when the
/// dataset held others, which were left out rather than averaged in.
fn suite(fleet: &Dataset, a: &mut Analysis) {
    let s = &fleet.suite;
    a.suite = s.label();
    for (key, v) in [
        ("suite.id", &s.id),
        ("suite.version", &s.version),
        ("suite.sha256", &s.sha256),
    ] {
        if let Some(v) = v {
            a.stats.insert(key.into(), Value::from(v.as_str()));
        }
    }
    let left: usize = s.left_out.iter().map(|(_, n)| n).sum();
    a.stat("suite.devices_left_out", left as f64);
    if left > 0 {
        let others: Vec<String> = s
            .left_out
            .iter()
            .map(|(l, n)| format!("{l}: {n}"))
            .collect();
        a.finding(
            0,
            format!(
                "The dataset mixes suites; this report uses {} ({} devices) and leaves out {left} devices that ran others ({}), so no statistic averages two suites.",
                s.label(),
                s.devices,
                others.join("; ")
            ),
        );
    }
}

/// Runs of one thread on the device's fastest cluster.
fn one_thread_fastest() -> Expr {
    col("threads").eq(lit(1)).and(col("role").eq(lit("big")))
}

/// `kernel` is one of `names`.
pub fn kernel_in<S: AsRef<str>>(names: &[S]) -> Expr {
    names
        .iter()
        .map(|k| col("kernel").eq(lit(k.as_ref())))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false))
}

/// In a group, `value` of the rows whose `key` is `is` (to pair f32 with int8, big
/// with little): their mean, since clusters that tie for fastest are all `big`, and
/// taking the first of them made the statistic depend on row order.
fn pick(value: &str, key: &str, is: &str) -> Expr {
    col(value).filter(col(key).eq(lit(is))).mean().alias(is)
}

pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// A column as `f64` values (nulls as `None`).
pub fn f64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let s = df
        .column(name)?
        .as_materialized_series()
        .cast(&DataType::Float64)?;
    Ok(s.f64()?.iter().collect())
}

/// A column as strings (nulls as `None`).
pub fn strs(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    let s = df
        .column(name)?
        .as_materialized_series()
        .cast(&DataType::String)?;
    Ok(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

pub(super) fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}
