//! `fleetscope-probe`: the lean on-device agent. No host-only dependencies.

use fleetscope::probe::commands::{identify_command, Target};
use std::process::ExitCode;

const USAGE: &str = "fleetscope-probe: identify this device (and, next, run the kernel suite)

usage:
  fleetscope-probe identify [--json] [--fixture FILE.json | --sysroot DIR]
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
