//! The report's statistics, one small unit per figure or finding, all the same shape:
//! `fn run(fleet, analysis)` adds its tables and headline numbers. Adding a statistic
//! is adding a file and a line to `UNITS`.

mod clusters;
mod cores;
mod gpu;
mod latency;
mod peaks;
mod priorities;
mod socs;
mod speedup;
mod throttling;
mod variability;

use super::{load, Fleet};
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
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    pub fn number(&self, name: &str) -> Option<f64> {
        self.stats.get(name).and_then(Value::as_f64)
    }
}

type Unit = fn(&Fleet, &mut Analysis) -> PolarsResult<()>;

/// In report order.
const UNITS: &[(&str, Unit)] = &[
    ("SoC share", socs::run),
    ("CPU cores", cores::run),
    ("CPU peak by SoC", peaks::run),
    ("GPU", gpu::run),
    ("int8 speedup", speedup::run),
    ("latency by tier", latency::run),
    ("variability", variability::run),
    ("throttling", throttling::run),
    ("big vs little", clusters::run),
    ("optimisation priorities", priorities::run),
];

/// Load the dataset in `dir` and compute every statistic.
pub fn analyse(dir: &Path, progress: &dyn Fn(&str)) -> Result<Analysis, String> {
    progress("loading devices");
    let fleet = load(dir)?;
    let mut a = Analysis {
        devices: fleet.n as u64,
        ..Default::default()
    };
    a.stat("fleet.devices", fleet.n);
    for (name, unit) in UNITS {
        progress(name);
        unit(&fleet, &mut a).map_err(|e| format!("computing {name}: {e}"))?;
    }
    a.findings = findings(&a);
    Ok(a)
}

/// Collect with the streaming engine (bounded memory on large scans).
pub(super) fn stream(lf: LazyFrame) -> PolarsResult<DataFrame> {
    // One query without sinks always yields a single frame.
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
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

/// In a group, `value` of the row whose `key` is `is` (to pair f32 with int8, big with little).
fn pick(value: &str, key: &str, is: &str) -> Expr {
    col(value).filter(col(key).eq(lit(is))).first().alias(is)
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

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// The headline findings, from the numbers.
fn findings(a: &Analysis) -> Vec<String> {
    let n = |k: &str| a.number(k);
    let mut out = Vec::new();
    if let (Some(u), Some(t50), Some(t225)) =
        (n("soc.unique"), n("soc.top50_share"), n("soc.top225_share"))
    {
        out.push(format!(
            "SoC long tail: {u:.0} distinct SoCs; the top 50 cover {}, the top 225 {} of devices.",
            pct(t50),
            pct(t225)
        ));
    }
    if let (Some(top), Some(old)) = (
        a.stats.get("cpu.top_uarch"),
        n("cpu.designed_2012_or_earlier_share"),
    ) {
        let share = top.get("share").and_then(Value::as_f64).unwrap_or(0.0);
        out.push(format!(
            "Primary CPU cores: {} on {} of devices; {} of primary cores were designed in 2012 or earlier.",
            top.get("uarch").and_then(Value::as_str).unwrap_or("?"),
            pct(share),
            pct(old)
        ));
    }
    if let (Some(m), Some(r2), Some(r3)) = (
        n("gpu.ratio_median"),
        n("gpu.ratio_ge_2x_share"),
        n("gpu.ratio_ge_3x_share"),
    ) {
        out.push(format!(
            "GPU versus CPU: median GPU/CPU theoretical peak ratio {m:.2}x; the GPU peak is >= 2x the CPU's on {} and >= 3x on {} of devices.",
            pct(r2),
            pct(r3)
        ));
    }
    if let (Some(d), Some(nd)) = (
        n("int8.speedup_median.dotprod"),
        n("int8.speedup_median.no_dotprod"),
    ) {
        out.push(format!(
            "int8 versus f32: median speedup (GEMM and 3x3 conv, one thread, fastest cluster) {d:.2}x on cores with dot product, {nd:.2}x without."
        ));
    }
    if let Some(p) = a.stats.get("priorities.top") {
        out.push(format!(
            "Top optimisation priority: {} {} on {}, {} of fleet-wide kernel time, on {} of devices.",
            p.get("kernel").and_then(Value::as_str).unwrap_or("?"),
            p.get("dtype").and_then(Value::as_str).unwrap_or("?"),
            p.get("uarch").and_then(Value::as_str).unwrap_or("?"),
            pct(p.get("weight_share").and_then(Value::as_f64).unwrap_or(0.0)),
            pct(p.get("fleet_share").and_then(Value::as_f64).unwrap_or(0.0)),
        ));
    }
    if let (Some(cv), Some(t)) = (n("variability.cv_median"), n("throttle.median")) {
        out.push(format!(
            "Field variability: median run-to-run CV {}; sustained throughput is a median {} of burst.",
            pct(cv),
            pct(t)
        ));
    }
    out
}
