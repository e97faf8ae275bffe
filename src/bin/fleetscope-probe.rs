//! `fleetscope-probe`: the lean on-device agent. No host-only dependencies; its
//! command line is the probe's own (`probe::cli`), which `fleetscope` shares.

use fleetscope::probe::cli::{execute, parse, usage, EXIT_ERROR};
use fleetscope::probe::suite::PlainProgress;
use std::process::ExitCode;

fn main() -> ExitCode {
    const BIN: &str = "fleetscope-probe";
    let mut args = std::env::args_os().skip(1).peekable();
    match args.peek().and_then(|a| a.to_str()) {
        Some("--version") | Some("-V") => {
            println!("{BIN} {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("--help") | Some("-h") | None => {
            println!(
                "{BIN} {}: identify this device and measure its inference kernels\n",
                env!("CARGO_PKG_VERSION")
            );
            print!("{}", usage(BIN, None));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    match parse(BIN, args) {
        Ok(command) => ExitCode::from(execute(BIN, command, &mut PlainProgress::new())),
        Err(e) => {
            eprintln!("{BIN}: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
