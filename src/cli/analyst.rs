//! The analyst's commands: `simulate`, `export`, `report`.

use super::progress;
use crate::util::Token;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// First collection day of simulated fleets: 2026-11-01 00:00 UTC.
pub const SIM_START: i64 = 1_793_491_200;

#[derive(clap::Args)]
pub struct SimulateCli {
    /// Devices in the fleet.
    #[arg(long, default_value_t = 100_000)]
    pub devices: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the Parquet dataset here (the layout `export` writes).
    #[arg(
        long,
        conflicts_with = "collector",
        required_unless_present = "collector"
    )]
    pub out: Option<PathBuf>,
    /// Post the reports to this collector instead (`http://HOST:PORT`).
    #[arg(long, requires = "token_file")]
    pub collector: Option<String>,
    /// File holding the collector's ingest token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Add one report per device snapshot in DIR (e.g. ../shared/datasets/devices): real identities, modelled results.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// The suite the simulated probes ran: quick, standard or a suite file.
    #[arg(long, default_value = "quick")]
    pub suite: String,
    /// Seed of the population (the SoC landscape); default: --seed. Fleets with one
    /// population seed and different --seed differ only by which devices were drawn.
    #[arg(long)]
    pub population_seed: Option<u64>,
    /// Inject a known change: KERNEL/DTYPE/UARCH=+PCT (e.g. gemm/f32/cortex-a53=+8; * for any dtype or core); repeatable.
    #[arg(long = "change")]
    pub changes: Vec<crate::fleet::Change>,
}

pub fn simulate(c: SimulateCli) -> Result<String, String> {
    let sink = match (&c.out, &c.collector, &c.token_file) {
        (Some(dir), _, _) => crate::fleet::Sink::Parquet(dir.clone()),
        (None, Some(url), Some(f)) => crate::fleet::Sink::Collector {
            url: url.clone(),
            token: Token::from_file(f)?.secret().to_string(),
        },
        _ => return Err("give --out DIR, or --collector URL with --token-file FILE".into()),
    };
    if c.devices == 0 {
        return Err("--devices must be at least 1".into());
    }
    let threads = c
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = progress::counter(c.devices, "simulating devices");
    let t = Instant::now();
    let sum = crate::fleet::simulate(
        &crate::fleet::Options {
            devices: c.devices,
            seed: c.seed,
            start: SIM_START,
            threads,
            fixtures: c.fixtures.clone(),
            suite: c.suite.clone(),
            population_seed: c.population_seed.unwrap_or(c.seed),
            changes: c.changes.clone(),
        },
        &sink,
        &|n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    let where_to = match &sink {
        crate::fleet::Sink::Parquet(d) => format!("{} ({} Parquet files)", d.display(), sum.files),
        crate::fleet::Sink::Collector { url, .. } => url.clone(),
    };
    Ok(format!(
        "simulated {} devices, {} reports, {} kernel results in {secs:.1} s ({:.0} devices/s) -> {where_to}\n",
        sum.devices,
        sum.reports,
        sum.results,
        sum.devices as f64 / secs.max(1e-9)
    ))
}

pub fn export(db: &str, out: &Path, compact: bool) -> Result<String, String> {
    let bar = progress::spinner("exporting reports");
    let t = Instant::now();
    let sum = crate::analysis::export(db, out, compact, &|n| {
        bar.set_message(format!("exported {n} reports"))
    })?;
    bar.finish_and_clear();
    let mut text = format!(
        "exported {} reports ({} kernel results), ingest sequence {}..{}, {} files{}, in {:.1} s -> {}\n",
        sum.reports,
        sum.results,
        sum.from_seq,
        sum.to_seq,
        sum.files,
        sum.compaction.map_or(String::new(), |c| format!(
            " ({} partitions compacted, {} files in the dataset)",
            c.partitions, c.files
        )),
        t.elapsed().as_secs_f64(),
        out.display()
    );
    if let Some(e) = &sum.compaction_error {
        text += &format!(
            "warning: the new parts were not merged ({e}); the export is complete, and the next run merges again once that is fixed\n"
        );
    }
    if sum.unreadable > 0 {
        text += &format!(
            "{} stored reports could not be read and were left out:\n",
            sum.unreadable
        );
        for p in &sum.problems {
            text += &format!("  {p}\n");
        }
    }
    Ok(text)
}

/// `report --data DIR` or `report --db URL` (exported first into `OUT/data`).
pub fn report(data: Option<&Path>, db: Option<&str>, out: &Path) -> Result<String, String> {
    let t = Instant::now();
    let (dir, source) = match (data, db) {
        (Some(d), _) => (d.to_path_buf(), d.display().to_string()),
        (None, Some(url)) => {
            let dir = out.join("data");
            crate::analysis::export(url, &dir, true, &|_| {})?;
            (dir, url.to_string())
        }
        (None, None) => {
            return Err(
                "give --data DIR (a Parquet dataset) or --db URL (a collector's store)".into(),
            )
        }
    };
    let text = build(&dir, &source, out)?;
    Ok(format!(
        "{text}report built in {:.1} s\n",
        t.elapsed().as_secs_f64()
    ))
}

/// Analyse the dataset in `dir` and write the report into `out`; returns a summary
/// with the headline findings.
pub fn build(dir: &Path, source: &str, out: &Path) -> Result<String, String> {
    let bar = progress::spinner("analysing");
    // FLEETSCOPE_TIMINGS=1 prints when each step starts and the peak RSS so far.
    let timings = std::env::var_os("FLEETSCOPE_TIMINGS").is_some();
    let t0 = Instant::now();
    let step = |what: &str| {
        tracing::debug!(
            stage = what,
            secs = t0.elapsed().as_secs_f64(),
            peak_rss_mb = peak_rss_mb(),
            "report"
        );
        if timings {
            eprintln!(
                "{:7.2} s  peak RSS {:>6} MB  {what}",
                t0.elapsed().as_secs_f64(),
                peak_rss_mb()
            );
        }
        bar.set_message(format!("analysing: {what}"))
    };
    let analysis = crate::analysis::analyse(dir, &step)?;
    step("charts and pages");
    bar.set_message("drawing charts");
    let written = crate::render::write_report(
        &analysis,
        out,
        &crate::render::Meta {
            source: source.to_string(),
            generated_at: crate::util::now_rfc3339(),
        },
    )?;
    bar.finish_and_clear();
    let mut text = format!(
        "{} devices analysed; {} charts, {} tables -> {}\n",
        analysis.devices,
        written.charts,
        written.tables,
        written.index.display()
    );
    for (i, f) in analysis.findings.iter().enumerate() {
        text += &format!("  {}. {f}\n", i + 1);
    }
    Ok(text)
}

/// Peak resident set size of this process (Linux `VmHWM`), in MB; 0 where unknown.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[derive(clap::Args)]
pub struct CompareCli {
    /// The baseline: a dataset directory, a store URL (sqlite://, postgres://), or report files (a .json file or a folder of them).
    #[arg(long)]
    pub base: String,
    /// The fleet or run to judge, in any of the same forms.
    #[arg(long)]
    pub new: String,
    /// Write compare.html, compare.md, compare.json, the chart and the cell table here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the comparison as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// What a cell's group is: the core type a result ran on, the SoC, or the device (every report a sample).
    #[arg(long, default_value = "uarch")]
    pub by: crate::analysis::compare::GroupBy,
    /// Smallest change reported, in percent.
    #[arg(long, default_value_t = 5.0)]
    pub threshold: f64,
    /// False discovery rate over all tested cells.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Fewest devices (reports with --by device) per side for a cell to be tested.
    #[arg(long, default_value_t = 10)]
    pub min_samples: usize,
    /// Exit 1 when a regression is found (for CI gates).
    #[arg(long)]
    pub fail_on_regression: bool,
}

/// `compare`: the text (or JSON) to print, and whether a regression was found.
pub fn compare(c: &CompareCli) -> Result<(String, bool), String> {
    use crate::analysis::compare;
    let valid = c.threshold >= 0.0 && c.threshold.is_finite() && c.alpha > 0.0 && c.alpha < 1.0;
    if !valid {
        return Err("--threshold must be a percentage >= 0 and --alpha in (0, 1)".into());
    }
    let t = Instant::now();
    let scratch = std::env::temp_dir().join(format!("fleetscope-compare-{}", std::process::id()));
    let every = c.by == compare::GroupBy::Device;
    let opened = compare::open(&c.base, &scratch.join("base"), every).and_then(|base| {
        let new = compare::open(&c.new, &scratch.join("new"), every)?;
        compare::compare(
            &base,
            &new,
            &compare::Options {
                by: c.by,
                threshold: c.threshold / 100.0,
                alpha: c.alpha,
                min_samples: c.min_samples,
            },
        )
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let result = opened?;
    tracing::debug!(
        secs = t.elapsed().as_secs_f64(),
        cells = result.cells_tested,
        "compare done"
    );
    let regressed = !result.regressions.is_empty();
    if let Some(out) = &c.out {
        crate::render::write_comparison(&result, out, &c.base, &c.new)?;
    }
    if c.json {
        let text = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
        return Ok((text + "\n", regressed));
    }
    let mut text = format!(
        "{} cells tested ({} paired by device), {} with too few samples, in {:.1} s: {} regressions, {} improvements (|change| >= {} %, FDR {}).\n",
        result.cells_tested,
        result.paired_cells(),
        result.insufficient,
        t.elapsed().as_secs_f64(),
        result.regressions.len(),
        result.improvements.len(),
        c.threshold,
        c.alpha
    );
    for (what, cells) in [
        ("slower", &result.regressions),
        ("faster", &result.improvements),
    ] {
        for x in cells.iter().take(20) {
            text += &format!(
                "  {what} {:+.1} % [{:+.1}, {:+.1}] q={:.1e}  {}\n",
                x.change_pct,
                x.ci_pct[0],
                x.ci_pct[1],
                x.q_value,
                compare::Comparison::label(x)
            );
        }
    }
    if let Some(out) = &c.out {
        text += &format!("-> {}\n", out.join("compare.html").display());
    }
    Ok((text, regressed))
}
