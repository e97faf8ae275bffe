//! The probe's command line, defined once: `identify`, `probe`, `bench` and
//! `selftest` parse here for both `fleetscope-probe` and `fleetscope` (which hands
//! these subcommands' arguments over unparsed), so the two binaries accept the same
//! flags, print the same help and end with the same exit status:
//!
//! * 0: done;
//! * 1: done, with a finding (a kernel variant failed its self-test);
//! * 2: an error (bad arguments, unreadable input, a kernel that cannot run here),
//!   said on stderr with what to do.

use super::commands::{
    bench_command, dispatch_command, identify_command, probe_command, selftest_command, BenchArgs,
    Target,
};
use super::suite::{default_shape, families, Progress, RunOptions, StreamResults};
use super::ProbeError;
use crate::schema::Dtype;
use std::ffi::OsString;

/// Exit status: done.
pub const EXIT_OK: u8 = 0;
/// Exit status: done, with a finding (a failed self-test).
pub const EXIT_FINDING: u8 = 1;
/// Exit status: an error.
pub const EXIT_ERROR: u8 = 2;

/// One line per subcommand; `BIN` is replaced by the binary's name.
const USAGE: &[(&str, &str)] = &[
    (
        "identify",
        "BIN identify [--json] [--fixture FILE.json | --sysroot DIR]
    Identify a device: SoC, CPU clusters and cores, GPU and its APIs, thermal zones, memory.
    --fixture: a recorded snapshot (../shared/datasets/devices format); --sysroot: a folder
    holding a device's proc/ and sys/ (and getprop.txt); neither: this device.",
    ),
    (
        "probe",
        "BIN probe [--suite quick|standard|FILE] [--out FILE|-] [--full-range] [--stream-results]
    Identify this device, run a kernel suite and write one fleetscope.report/1 document.
    --stream-results prints each finished result on stdout as `result <json>` (needs --out FILE).
    FLEETSCOPE_PROBE_SLOWDOWN=KERNEL[/DTYPE]=PCT[,...] slows those kernels down on purpose (the
    report says so), to check that a lab's A/B runs and `fleetscope compare` find such a change.",
    ),
    (
        "bench",
        "BIN bench KERNEL [--dtype f32|f16|i8] [--m M --n N --k K | --h --w --c --cin --cout --stride | --iters | --mib]
          [--threads T] [--full-range] [--i32-out] [--cold] [--min-time-ms MS] [--json]
    Run one kernel family pinned to the fastest cluster and print its latency statistics.
    KERNEL: one of FAMILIES; the other dimensions keep the family's default shape.",
    ),
    (
        "selftest",
        "BIN selftest
    Check every kernel variant this CPU supports against its scalar reference.",
    ),
    (
        "dispatch",
        "BIN dispatch --midr MIDR
    Print (JSON) the variant each GEMM and depthwise kernel picks with this CPU's instruction
    sets on a core with that MIDR (e.g. 0x410fd034, a Cortex-A53), as the suite picks per cluster.",
    ),
];

const EXIT_CODES: &str =
    "exit status: 0 done, 1 a finding (a self-test failure), 2 an error (said on stderr)";

/// The help text of `command` (every command when `None`) for the binary `bin`.
pub fn usage(bin: &str, command: Option<&str>) -> String {
    let lines: Vec<String> = USAGE
        .iter()
        .filter(|(name, _)| command.is_none_or(|c| c == *name))
        .map(|(_, text)| {
            let text = text.replace("FAMILIES", &families::names().join(", "));
            format!("  {}", text.replace("BIN", bin))
        })
        .collect();
    format!("usage:\n{}\n{EXIT_CODES}\n", lines.join("\n"))
}

/// A parsed probe subcommand.
#[derive(Debug, Clone)]
pub enum ProbeCommand {
    Identify {
        target: Target,
        json: bool,
    },
    Probe {
        suite: String,
        out: String,
        full_range: bool,
        stream_results: bool,
    },
    Bench {
        args: BenchArgs,
        json: bool,
    },
    Selftest,
    Dispatch {
        midr: u32,
    },
    /// The child process that loads a GPU API library (a crash there is recorded,
    /// not fatal).
    GpuApiCheck {
        api: String,
    },
    /// `--help` of one command, or of all.
    Help(Option<String>),
}

/// Parse `args` (the subcommand name first). Errors are usage errors (exit status 2).
pub fn parse(
    bin: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<ProbeCommand, ProbeError> {
    parse_args(bin, args).map_err(ProbeError::Usage)
}

fn parse_args(bin: &str, args: impl IntoIterator<Item = OsString>) -> Result<ProbeCommand, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let err = |e: lexopt::Error| e.to_string();
    let command = match parser.next().map_err(err)? {
        Some(Value(v)) => v.string().map_err(err)?,
        Some(Long("help")) | Some(Short('h')) | None => return Ok(ProbeCommand::Help(None)),
        Some(other) => return Err(format!("{}\n{}", other.unexpected(), usage(bin, None))),
    };
    let unexpected =
        |arg: lexopt::Arg, c: &str| Err(format!("{}\n{}", arg.unexpected(), usage(bin, Some(c))));
    let help = || Ok(ProbeCommand::Help(Some(command.clone())));
    match command.as_str() {
        "identify" => {
            let (mut json, mut target) = (false, Target::Live);
            while let Some(arg) = parser.next().map_err(err)? {
                match arg {
                    Long("json") => json = true,
                    Long("fixture") => {
                        target = Target::Fixture(parser.value().map_err(err)?.into())
                    }
                    Long("sysroot") => {
                        target = Target::Sysroot(parser.value().map_err(err)?.into())
                    }
                    Long("help") | Short('h') => return help(),
                    other => return unexpected(other, "identify"),
                }
            }
            Ok(ProbeCommand::Identify { target, json })
        }
        "probe" => {
            let (mut suite, mut out) = ("quick".to_string(), "-".to_string());
            let (mut full_range, mut stream_results) = (false, false);
            while let Some(arg) = parser.next().map_err(err)? {
                match arg {
                    Long("suite") => suite = text(&mut parser)?,
                    Long("out") => out = text(&mut parser)?,
                    Long("full-range") => full_range = true,
                    Long("stream-results") => stream_results = true,
                    Long("help") | Short('h') => return help(),
                    other => return unexpected(other, "probe"),
                }
            }
            if stream_results && out == "-" {
                return Err(
                    "--stream-results needs --out FILE (stdout carries the result lines)".into(),
                );
            }
            Ok(ProbeCommand::Probe {
                suite,
                out,
                full_range,
                stream_results,
            })
        }
        "bench" => {
            let kernel = match parser.next().map_err(err)? {
                Some(Value(v)) => v.string().map_err(err)?,
                Some(Long("help")) | Some(Short('h')) => return help(),
                _ => {
                    return Err(format!(
                        "bench needs a kernel name\n{}",
                        usage(bin, Some("bench"))
                    ))
                }
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
            while let Some(arg) = parser.next().map_err(err)? {
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
                    Long("help") => return help(),
                    Long(key) => {
                        let key = key.to_string();
                        let family = families::get(&args.kernel);
                        if family.is_some_and(|f| f.default_shape().iter().all(|(k, _)| *k != key))
                        {
                            let dims: Vec<String> =
                                args.shape.keys().map(|k| format!("--{k}")).collect();
                            return Err(format!(
                                "--{key}: {} has no such dimension (it takes {})\n{}",
                                args.kernel,
                                if dims.is_empty() {
                                    "none".into()
                                } else {
                                    dims.join(", ")
                                },
                                usage(bin, Some("bench"))
                            ));
                        }
                        let v = number(&mut parser, &key)?;
                        args.shape.insert(key, v);
                    }
                    other => return unexpected(other, "bench"),
                }
            }
            Ok(ProbeCommand::Bench { args, json })
        }
        "selftest" => match parser.next().map_err(err)? {
            None => Ok(ProbeCommand::Selftest),
            Some(Long("help")) | Some(Short('h')) => help(),
            Some(other) => unexpected(other, "selftest"),
        },
        "dispatch" => {
            let mut midr = None;
            while let Some(arg) = parser.next().map_err(err)? {
                match arg {
                    Long("help") | Short('h') => return help(),
                    Long("midr") => {
                        let v = text(&mut parser)?;
                        midr = Some(crate::catalog::parse_int(&v).ok_or_else(|| {
                            format!(
                                "--midr {v:?}: give the register as hex (0x410fd034) or decimal"
                            )
                        })?);
                    }
                    other => return unexpected(other, "dispatch"),
                }
            }
            let midr = midr.ok_or_else(|| {
                format!("dispatch needs --midr\n{}", usage(bin, Some("dispatch")))
            })?;
            Ok(ProbeCommand::Dispatch { midr })
        }
        "__gpu-api-check" => Ok(ProbeCommand::GpuApiCheck {
            api: text(&mut parser)?,
        }),
        other => Err(format!("unknown command {other:?}\n{}", usage(bin, None))),
    }
}

/// Run a parsed command: what to print on stdout, and the exit status. Errors are
/// printed on stderr as `BIN: message`.
pub fn execute(bin: &str, command: ProbeCommand, progress: &mut dyn Progress) -> u8 {
    let result = match command {
        ProbeCommand::Help(c) => Ok(usage(bin, c.as_deref())),
        ProbeCommand::Identify { target, json } => identify_command(&target, json),
        ProbeCommand::Probe {
            suite,
            out,
            full_range,
            stream_results,
        } => match crate::probe::bench::Slowdown::from_env() {
            Err(e) => Err(ProbeError::Usage(e)),
            Ok(slowdown) => {
                let opt = RunOptions {
                    full_range,
                    slowdown,
                };
                if stream_results {
                    probe_command(&suite, &out, opt, &mut StreamResults(progress))
                } else {
                    probe_command(&suite, &out, opt, progress)
                }
            }
        },
        ProbeCommand::Bench { args, json } => bench_command(&args, json),
        ProbeCommand::Selftest => match selftest_command() {
            (text, true) => Ok(text),
            (report, false) => {
                print!("{report}");
                eprintln!("{bin}: a kernel variant failed its self-test (see above)");
                return EXIT_FINDING;
            }
        },
        ProbeCommand::Dispatch { midr } => dispatch_command(midr),
        ProbeCommand::GpuApiCheck { api } => {
            std::process::exit(super::identify::api_check_main(&api))
        }
    };
    match result {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{bin}: {e}");
            EXIT_ERROR
        }
    }
}

fn text(parser: &mut lexopt::Parser) -> Result<String, String> {
    use lexopt::ValueExt;
    let v = parser.value().map_err(|e| e.to_string())?;
    v.string().map_err(|e| e.to_string())
}

fn number(parser: &mut lexopt::Parser, name: &str) -> Result<u64, String> {
    let v = text(parser)?;
    v.parse()
        .map_err(|_| format!("--{name} {v:?}: expected a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_probe_commands_parse_and_refuse_with_their_usage() {
        let bench = parse(
            "p",
            args(&["bench", "gemm", "--dtype", "i8", "--m", "64", "--json"]),
        );
        match bench.unwrap() {
            ProbeCommand::Bench { args, json } => {
                assert!(json);
                assert_eq!(args.dtype, Dtype::I8);
                assert_eq!(args.shape["m"], 64);
                assert_eq!(
                    args.shape["n"], 512,
                    "the registry's default shape fills the rest"
                );
            }
            other => panic!("{other:?}"),
        }
        let e = parse("p", args(&["identify", "--bogus"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--bogus") && e.contains("p identify"), "{e}");
        let e = parse("p", args(&["probe", "--stream-results"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs --out FILE"), "{e}");
        let e = parse("p", args(&["bench", "gemm", "--m", "many"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number"), "{e}");
        let e = parse("p", args(&["bench", "gemm", "--cin", "3"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("gemm has no such dimension (it takes --k, --m, --n)"),
            "{e}"
        );
        assert!(matches!(
            parse("p", args(&["selftest", "--help"])),
            Ok(ProbeCommand::Help(Some(c))) if c == "selftest"
        ));
        assert!(usage("fleetscope", None).contains("exit status: 0 done, 1"));
        for c in ["identify", "probe", "bench", "selftest"] {
            assert!(usage("x", Some(c)).contains(&format!("x {c}")));
        }
    }
}
