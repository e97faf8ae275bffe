//! `fleetscope-probe`: the lean on-device agent. No host-only dependencies.

use fleetscope::probe::commands::{
    bench_command, identify_command, probe_command, selftest_command, BenchArgs, Target,
};
use fleetscope::probe::suite::{default_shape, PlainProgress, RunOptions};
use fleetscope::schema::Dtype;
use std::process::ExitCode;

const USAGE: &str = "fleetscope-probe: identify this device and measure its inference kernels

usage:
  fleetscope-probe identify [--json] [--fixture FILE.json | --sysroot DIR]
    fleetscope-probe probe [--suite quick|standard|FILE] [--out FILE|-] [--full-range] [--stream-results]
  fleetscope-probe bench KERNEL [--dtype f32|f16|i8] [--m M --n N --k K ...] [--threads T] [--full-range] [--i32-out] [--cold] [--min-time-ms MS] [--json]
  fleetscope-probe selftest
  fleetscope-probe --version";

fn main() -> ExitCode {
    match run() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetscope-probe: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let command = match parser.next().map_err(|e| e.to_string())? {
        Some(Value(v)) => v.string().map_err(|e| e.to_string())?,
        Some(Long("version")) => {
            return Ok(format!("fleetscope-probe {}\n", env!("CARGO_PKG_VERSION")))
        }
        Some(Long("help")) | Some(Short('h')) | None => return Ok(format!("{USAGE}\n")),
        Some(other) => return Err(format!("{}\n{USAGE}", other.unexpected())),
    };
    match command.as_str() {
        "identify" => {
            let (mut json, mut target) = (false, Target::Live);
            while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("json") => json = true,
                    Long("fixture") => {
                        target = Target::Fixture(parser.value().map_err(|e| e.to_string())?.into())
                    }
                    Long("sysroot") => {
                        target = Target::Sysroot(parser.value().map_err(|e| e.to_string())?.into())
                    }
                    other => return Err(format!("{}\n{USAGE}", other.unexpected())),
                }
            }
            identify_command(&target, json)
        }
        "probe" => {
            let (mut suite, mut out, mut full_range, mut stream) =
                ("quick".to_string(), "-".to_string(), false, false);
            while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("suite") => suite = text(&mut parser)?,
                    Long("out") => out = text(&mut parser)?,
                    Long("full-range") => full_range = true,
                    Long("stream-results") => stream = true,
                    other => return Err(format!("{}\n{USAGE}", other.unexpected())),
                }
            }
            if stream && out == "-" {
                return Err(
                    "--stream-results needs --out FILE (stdout carries the result lines)".into(),
                );
            }
            let mut progress = PlainProgress::new();
            progress.stream_results = stream;
            probe_command(&suite, &out, RunOptions { full_range }, &mut progress)
        }
        "bench" => {
            let kernel = match parser.next().map_err(|e| e.to_string())? {
                Some(Value(v)) => v.string().map_err(|e| e.to_string())?,
                _ => return Err(format!("bench needs a kernel name\n{USAGE}")),
            };
            let mut args = BenchArgs {
                shape: default_shape(&kernel),
                kernel,
                dtype: Dtype::F32,
                threads: 1,
                full_range: false,
                i32_out: false,
                cold: false,
                min_time_ms: 1000,
            };
            let mut json = false;
            while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("json") => json = true,
                    Long("full-range") => args.full_range = true,
                    Long("i32-out") => args.i32_out = true,
                    Long("cold") => args.cold = true,
                    Long("dtype") => {
                        let name = text(&mut parser)?;
                        args.dtype = Dtype::parse(&name)
                            .ok_or(format!("--dtype {name:?}: use f32, f16 or i8"))?;
                    }
                    Long("threads") => args.threads = number(&mut parser, "threads")? as usize,
                    Long("min-time-ms") => {
                        args.min_time_ms = number(&mut parser, "min-time-ms")?.max(1)
                    }
                    Long(key) => {
                        let key = key.to_string();
                        let v = number(&mut parser, &key)?;
                        args.shape.insert(key, v);
                    }
                    other => return Err(format!("{}\n{USAGE}", other.unexpected())),
                }
            }
            bench_command(&args, json)
        }
        "selftest" => selftest_command().map_err(|report| {
            print!("{report}");
            "kernel self-test failed".to_string()
        }),
        "__gpu-api-check" => {
            let api = parser
                .value()
                .map_err(|e| e.to_string())?
                .string()
                .map_err(|e| e.to_string())?;
            std::process::exit(fleetscope::probe::identify::api_check_main(&api));
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn text(parser: &mut lexopt::Parser) -> Result<String, String> {
    use lexopt::prelude::*;
    parser
        .value()
        .map_err(|e| e.to_string())?
        .string()
        .map_err(|e| e.to_string())
}

fn number(parser: &mut lexopt::Parser, name: &str) -> Result<u64, String> {
    let v = text(parser)?;
    v.parse()
        .map_err(|_| format!("--{name} {v:?}: expected a whole number"))
}
