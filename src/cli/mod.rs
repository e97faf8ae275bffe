//! The `fleetscope` command line: argument parsing (clap), logging (`logs`), and
//! dispatch to the rooms that do the work; the probe's subcommands go to the probe's
//! own parser. Host only.

mod analyst;
mod demo;
mod logs;
mod progress;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fleetscope",
    version,
    about = "Characterise a fleet of phones and edge devices for on-device ML inference"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More detail in the logs on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only warnings and errors in the logs.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Identify a device: SoC, CPU clusters and cores, GPU and its APIs, thermal zones, memory (`identify --help`).
    #[command(disable_help_flag = true)]
    Identify(ProbeArgs),
    /// Identify this device, run a kernel suite and write one fleetscope.report/1 document (`probe --help`).
    #[command(disable_help_flag = true)]
    Probe(ProbeArgs),
    /// Run one kernel family and print its latency statistics (`bench --help`).
    #[command(disable_help_flag = true)]
    Bench(ProbeArgs),
    /// Check every kernel variant this CPU supports against its scalar reference.
    #[command(disable_help_flag = true)]
    Selftest(ProbeArgs),
    /// Run the collector: take reports over HTTP and store them.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: String,
        /// sqlite://PATH (relative or absolute).
        #[arg(long, default_value = "sqlite://fleet.db")]
        db: String,
        /// File holding the bearer token devices POST with (default: generated beside the database).
        #[arg(long)]
        ingest_token_file: Option<PathBuf>,
        /// File holding the bearer token readers use (default: generated beside the database).
        #[arg(long)]
        read_token_file: Option<PathBuf>,
        /// Requests in flight per route before new ones get 503 + Retry-After (health and
        /// metrics keep answering while ingest sheds).
        #[arg(long, default_value_t = 512)]
        max_in_flight: usize,
        /// Whole-request timeout (slow bodies get 408).
        #[arg(long, default_value_t = 30_000)]
        request_timeout_ms: u64,
    },
    /// Send report files to a collector, with retries and a local spool for what cannot be sent now.
    Upload {
        /// Report files (fleetscope.report/1 JSON).
        files: Vec<PathBuf>,
        #[arg(long)]
        collector: String,
        /// File holding the ingest bearer token.
        #[arg(long)]
        token_file: PathBuf,
        /// Keep undelivered reports here and send what it holds first.
        #[arg(long)]
        spool: Option<PathBuf>,
        #[arg(long, default_value_t = 6)]
        max_attempts: u32,
        /// First backoff delay, doubled per attempt (full jitter), in milliseconds.
        #[arg(long, default_value_t = 500)]
        backoff_ms: u64,
    },
    /// Post realistic reports to a collector at a target rate; print throughput and latency.
    Loadgen {
        /// A collector node; repeat for several (connections are spread over them).
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        collector: Vec<String>,
        /// File holding the ingest bearer token.
        #[arg(long)]
        token_file: PathBuf,
        /// Reports per second to send.
        #[arg(long, default_value_t = 5000.0)]
        rate: f64,
        #[arg(long, default_value_t = 60)]
        duration_s: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 20_000)]
        report_bytes: usize,
    },
    /// List attached Android devices (through adb) with model, ABI, SoC and temperature.
    Devices {
        /// The adb executable (default: $ADB, else adb on PATH).
        #[arg(long)]
        adb: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Run the probe on attached devices in parallel: push, run, pull, save, upload.
    Run {
        /// A device serial (repeatable).
        #[arg(long = "device")]
        devices: Vec<String>,
        /// Every attached device.
        #[arg(long, conflicts_with = "devices")]
        all: bool,
        #[arg(long, default_value = "quick")]
        suite: String,
        /// Where reports are saved.
        #[arg(long, default_value = "reports/devices")]
        out: PathBuf,
        /// Probe binaries per ABI (DIR/ABI/fleetscope-probe); default: the build outputs.
        /// Twice for an A/B run: both builds on each phone, alternating, reports in
        /// OUT/NAME per build (NAME: the directory's name), for `compare --by device`.
        #[arg(long = "probe-dir", num_args = 1, action = clap::ArgAction::Append)]
        probe_dir: Vec<PathBuf>,
        /// Run this ABI's probe (one the phone lists) instead of its best: e.g.
        /// armeabi-v7a on a 64-bit phone, to measure what 32-bit code costs there.
        #[arg(long)]
        abi: Option<String>,
        /// Upload each complete report here (needs --token-file and --salt-file).
        #[arg(long, requires = "token_file")]
        collector: Option<String>,
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// The fleet's device salt (the collector writes it beside its tokens as
        /// DB.device-salt): device hashes are salted with it on the phone, and it is
        /// never written into a report. Without it, hashes are local-only.
        #[arg(long)]
        salt_file: Option<PathBuf>,
        #[arg(long)]
        spool: Option<PathBuf>,
        #[arg(long)]
        adb: Option<PathBuf>,
        /// Runs per device, with a temperature-driven cooldown between them.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// With root (su), force the performance CPU governor for the runs and restore it after.
        #[arg(long)]
        lock_governor: bool,
        /// Wait between runs until the device is within this many degrees of its starting temperature.
        #[arg(long, default_value_t = 3.0)]
        cooldown_margin_c: f64,
        /// ... but no longer than this.
        #[arg(long, default_value_t = 120)]
        cooldown_max_s: u64,
    },
    /// Everything on this machine: collector, this machine probed, a simulated fleet over HTTP, export, report.
    Demo(demo::DemoCli),
    /// Generate a synthetic fleet calibrated to the paper: Parquet, or reports posted to a collector.
    Simulate(analyst::SimulateCli),
    /// Write a collector's stored reports as a Parquet dataset (devices, results), incrementally.
    Export {
        /// sqlite://PATH or postgres://USER@HOST:PORT/DB
        #[arg(long)]
        db: String,
        #[arg(long)]
        out: PathBuf,
        /// Leave the new part files as written instead of merging each date partition
        /// into one file (for frequent small exports; a later run compacts).
        #[arg(long)]
        no_compact: bool,
    },
    /// Build the fleet report (HTML, Markdown, charts, CSV tables, stats.json).
    Report {
        /// A Parquet dataset written by export or simulate.
        #[arg(long, conflicts_with = "db", required_unless_present = "db")]
        data: Option<PathBuf>,
        /// A collector's store (exported into OUT/data first).
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value = "reports/latest")]
        out: PathBuf,
    },
    /// Did it regress, and where: compare two fleets cell by cell (kernel, dtype, shape, threads, core type).
    Compare(analyst::CompareCli),
    /// Print the JSON Schema of the fleetscope.report/1 document.
    Schema,
    #[command(name = "__gpu-api-check", hide = true, disable_help_flag = true)]
    GpuApiCheck(ProbeArgs),
}

/// A probe subcommand's arguments, handed unparsed to the probe's own command line
/// (`probe::cli`), so `fleetscope` and `fleetscope-probe` accept exactly the same.
#[derive(clap::Args)]
struct ProbeArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<OsString>,
}

/// Parse and run a probe subcommand; a bar on a terminal shows the suite's progress.
fn probe_subcommand(name: &str, rest: ProbeArgs) -> ExitCode {
    let args = std::iter::once(OsString::from(name)).chain(rest.args);
    match crate::probe::cli::parse("fleetscope", args) {
        Ok(c) => ExitCode::from(crate::probe::cli::execute(
            "fleetscope",
            c,
            progress::for_stderr().as_mut(),
        )),
        Err(e) => {
            eprintln!("fleetscope: {e}");
            ExitCode::from(crate::probe::cli::EXIT_ERROR)
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logs::init(cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Identify(a) => return probe_subcommand("identify", a),
        Command::Probe(a) => return probe_subcommand("probe", a),
        Command::Bench(a) => return probe_subcommand("bench", a),
        Command::Selftest(a) => return probe_subcommand("selftest", a),
        Command::GpuApiCheck(a) => return probe_subcommand("__gpu-api-check", a),
        Command::Serve {
            listen,
            db,
            ingest_token_file,
            read_token_file,
            max_in_flight,
            request_timeout_ms,
        } => {
            let limits = crate::collector::Limits {
                max_in_flight,
                request_timeout: std::time::Duration::from_millis(request_timeout_ms.max(1)),
                ..Default::default()
            };
            crate::collector::serve(crate::collector::ServeConfig {
                listen,
                db,
                ingest_token_file,
                read_token_file,
                limits,
            })
            .map(|()| String::new())
            .map_err(String::from)
        }
        Command::Loadgen {
            collector,
            token_file,
            rate,
            duration_s,
            connections,
            report_bytes,
        } => crate::util::Token::from_file(&token_file)
            .map_err(String::from)
            .and_then(|t| {
                crate::client::loadgen::run(&crate::client::loadgen::LoadgenConfig {
                    collectors: collector,
                    token: t.secret().to_string(),
                    rate,
                    duration: std::time::Duration::from_secs(duration_s),
                    connections,
                    report_bytes,
                })
                .map_err(String::from)
            }),
        Command::Upload {
            files,
            collector,
            token_file,
            spool,
            max_attempts,
            backoff_ms,
        } => {
            let cfg = |token: &str| crate::client::UploadConfig {
                spool,
                max_attempts,
                base_delay: std::time::Duration::from_millis(backoff_ms),
                ..crate::client::UploadConfig::new(&collector, token)
            };
            match crate::util::Token::from_file(&token_file)
                .map_err(String::from)
                .and_then(|t| Ok(crate::client::upload(&cfg(t.secret()), &files)?))
            {
                Ok((text, true)) => Ok(text),
                Ok((text, false)) => {
                    print!("{text}");
                    eprintln!("fleetscope: not every report was acknowledged (see above)");
                    return ExitCode::from(1);
                }
                Err(e) => Err(e),
            }
        }
        Command::Devices { adb, json } => crate::device::Adb::locate(adb.as_deref())
            .and_then(|a| crate::device::describe_all(&a))
            .map_err(String::from)
            .and_then(|d| {
                if json {
                    serde_json::to_string_pretty(&d)
                        .map(|s| s + "\n")
                        .map_err(|e| e.to_string())
                } else {
                    Ok(crate::device::table(&d))
                }
            }),
        Command::Run {
            devices,
            all,
            suite,
            out,
            probe_dir,
            abi,
            collector,
            token_file,
            salt_file,
            spool,
            adb,
            repeat,
            lock_governor,
            cooldown_margin_c,
            cooldown_max_s,
        } => {
            let run = || -> Result<(String, bool), String> {
                let adb = crate::device::Adb::locate(adb.as_deref())?;
                let collector = match (collector, token_file) {
                    (Some(url), Some(f)) => {
                        Some((url, crate::util::Token::from_file(&f)?.secret().to_string()))
                    }
                    _ => None,
                };
                if devices.is_empty() && !all {
                    return Err("name devices with --device SERIAL, or use --all".into());
                }
                let salt = salt_file
                    .map(|f| crate::util::Token::from_file(&f))
                    .transpose()?;
                if collector.is_some() && salt.is_none() {
                    return Err(
                        "--collector needs --salt-file: reports for a fleet must hash \
                                devices with the fleet's salt (the collector writes it beside \
                                its tokens as DB.device-salt)"
                            .into(),
                    );
                }
                if probe_dir.len() > 1 && salt.is_none() {
                    return Err(
                        "an A/B run (two --probe-dir) needs --salt-file F, so that a \
                                phone's reports from both builds carry the same device hash \
                                and `compare --by device` can put them side by side (F: any \
                                secret kept for the lab, e.g. `openssl rand -hex 32 > lab.salt`, \
                                or a collector's DB.device-salt)"
                            .into(),
                    );
                }
                if collector.is_some() && probe_dir.len() > 1 {
                    return Err("an A/B run (two --probe-dir) keeps its reports local, one \
                                folder per build, for `fleetscope compare --by device`: drop \
                                --collector (two builds' reports in one fleet would be mixed)"
                        .into());
                }
                let cooldown_max = std::time::Duration::from_secs(cooldown_max_s);
                crate::device::run_all(
                    &adb,
                    &crate::device::RunOptions {
                        serials: devices,
                        all,
                        suite,
                        out,
                        probe_dirs: probe_dir,
                        abi,
                        collector,
                        salt,
                        spool,
                        repeat,
                        lock_governor,
                        cooldown_margin_c,
                        cooldown_max,
                    },
                )
                .map_err(String::from)
            };
            match run() {
                Ok((text, true)) => Ok(text),
                Ok((text, false)) => {
                    print!("{text}");
                    return ExitCode::from(1);
                }
                Err(e) => Err(e),
            }
        }
        Command::Demo(c) => demo::demo(c),
        Command::Simulate(c) => analyst::simulate(c),
        Command::Export {
            db,
            out,
            no_compact,
        } => analyst::export(&db, &out, !no_compact),
        Command::Report { data, db, out } => analyst::report(data.as_deref(), db.as_deref(), &out),
        Command::Compare(c) => match analyst::compare(&c) {
            Ok((text, regressed)) => {
                print!("{text}");
                return if regressed && c.fail_on_regression {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                };
            }
            Err(e) => Err(e),
        },
        Command::Schema => serde_json::to_string_pretty(&crate::schema::json_schema())
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetscope: {e}");
            ExitCode::from(2)
        }
    }
}
