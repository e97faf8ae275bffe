//! `fleetscope demo`: the whole product on one machine. A collector in this process
//! (temporary SQLite file, loopback, generated tokens), this machine probed with the
//! quick suite and uploaded, a simulated fleet posted through the same HTTP API,
//! exported to Parquet, and the report built from it.

use super::{analyst, progress};
use crate::client::{upload, UploadConfig};
use crate::collector::Limits;
use crate::util::Token;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct DemoCli {
    /// Simulated devices posted to the collector.
    #[arg(long, default_value_t = 100_000)]
    pub devices: u64,
    /// Where the report (and its Parquet data) goes.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Do not probe this machine (report the simulated fleet only).
    #[arg(long)]
    pub skip_probe: bool,
}

fn stage(n: u32, what: &str) {
    eprintln!("[{n}/5] {what}");
}

pub fn demo(c: DemoCli) -> Result<String, String> {
    if c.devices == 0 {
        return Err("--devices must be at least 1".into());
    }
    let t0 = Instant::now();
    let work = std::env::temp_dir().join(format!("fleetscope-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    std::fs::create_dir_all(&c.out)
        .map_err(|e| format!("cannot create {}: {e}", c.out.display()))?;
    let result = run(&c, &work);
    let _ = std::fs::remove_dir_all(&work);
    let mut text = result?;
    text += &format!("demo finished in {:.0} s\n", t0.elapsed().as_secs_f64());
    Ok(text)
}

fn run(c: &DemoCli, work: &Path) -> Result<String, String> {
    stage(1, "collector: in this process, on loopback, SQLite store");
    let db = format!("sqlite://{}", work.join("demo.db").display());
    let ingest_file = work.join("ingest.token");
    let ingest = Token::generate(&ingest_file)?;
    let read = Token::generate(&work.join("read.token"))?;
    let collector =
        crate::collector::start(&db, "127.0.0.1:0", ingest.clone(), read, Limits::default())?;
    eprintln!("      listening on {} (store {db})", collector.url);

    let mut this_machine = String::new();
    if c.skip_probe {
        stage(2, "probe: skipped (--skip-probe)");
    } else {
        stage(2, "probe: this machine, quick suite");
        let report = c.out.join("this-machine.json");
        let report_s = report.to_string_lossy().to_string();
        // This machine is hashed with the demo fleet's salt, as `run --salt-file` would.
        let salt = crate::collector::device_salt(&db, None)?;
        crate::probe::identify::set_fleet_salt(Token::from_file(&salt)?.secret());
        crate::probe::commands::probe_command(
            "quick",
            &report_s,
            crate::probe::suite::RunOptions::default(),
            progress::for_stderr().as_mut(),
        )?;
        let cfg = UploadConfig {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            ..UploadConfig::new(&collector.url, ingest.secret())
        };
        let (text, all) = upload(&cfg, std::slice::from_ref(&report))?;
        if !all {
            return Err(format!("uploading this machine's report failed: {text}"));
        }
        this_machine = summarise_machine(&report);
        eprintln!("      {this_machine}");
    }

    stage(3, "fleet: simulated devices posted over HTTP");
    let sim = analyst::simulate(analyst::SimulateCli {
        devices: c.devices,
        seed: c.seed,
        out: None,
        collector: Some(collector.url.clone()),
        token_file: Some(ingest_file),
        threads: None,
        fixtures: None,
        suite: "quick".into(),
        population_seed: None,
        changes: Vec::new(),
    })?;
    eprint!("      {sim}");
    collector.stop()?;

    stage(4, "export: the store as a Parquet dataset");
    let data = c.out.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let exported = analyst::export(&db, &data, true)?;
    eprint!("      {exported}");

    stage(5, "report: statistics, charts, HTML and Markdown");
    let built = analyst::build(
        &data,
        "fleetscope demo (simulated fleet + this machine)",
        &c.out,
    )?;
    let mut text = String::new();
    if !this_machine.is_empty() {
        text += &format!("this machine: {this_machine}\n");
    }
    let mut lines = built.lines();
    if let Some(first) = lines.next() {
        text += first;
        text += "\nheadline findings:\n";
    }
    for l in lines.take(5) {
        text += l;
        text += "\n";
    }
    text += &format!(
        "open {} (Markdown: {}, numbers: {})\n",
        c.out.join("index.html").display(),
        c.out.join("report.md").display(),
        c.out.join("stats.json").display()
    );
    Ok(text)
}

/// `SoC / cores, MobileNetV2 f32 p50 X ms, int8 Y ms` from a report file.
fn summarise_machine(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let Ok(r) = crate::schema::parse_report(&bytes) else {
        return String::new();
    };
    let soc = r
        .soc
        .name
        .or(r.soc.chipset)
        .unwrap_or_else(|| "unknown SoC".into());
    let cores: usize = r.cpu.clusters.iter().map(|c| c.cpus.len()).sum();
    let mnv2 = |d: crate::schema::Dtype| {
        r.results
            .iter()
            .filter(|k| k.kernel == "mobilenet_v2" && k.dtype == Some(d) && k.threads == 1)
            .filter_map(|k| k.latency_us.map(|l| l.p50 / 1000.0))
            .fold(f64::INFINITY, f64::min)
    };
    let (f, i) = (
        mnv2(crate::schema::Dtype::F32),
        mnv2(crate::schema::Dtype::I8),
    );
    let mut s = format!("{soc}, {cores} cores, {} results", r.results.len());
    if f.is_finite() && i.is_finite() {
        s += &format!("; MobileNetV2 one thread p50 f32 {f:.1} ms, int8 {i:.1} ms");
    }
    s
}
