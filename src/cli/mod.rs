//! The `fleetscope` command line: argument parsing (clap) and dispatch to the rooms
//! that do the work. Host only.

use crate::probe::commands::{identify_command, Target};
use clap::{Parser, Subcommand};
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
}

#[derive(Subcommand)]
enum Command {
    /// Identify a device: SoC, CPU clusters and cores, GPU and its APIs, thermal zones, memory.
    Identify {
        /// A recorded device snapshot (the fixture format of ../shared/datasets/devices).
        #[arg(long, conflicts_with = "sysroot")]
        fixture: Option<PathBuf>,
        /// A directory holding a device's proc/ and sys/ files (and getprop.txt).
        #[arg(long)]
        sysroot: Option<PathBuf>,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the fleetscope.report/1 document.
    Schema,
    #[command(name = "__gpu-api-check", hide = true)]
    GpuApiCheck { api: String },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Identify {
            fixture,
            sysroot,
            json,
        } => {
            let target = match (fixture, sysroot) {
                (Some(f), _) => Target::Fixture(f),
                (None, Some(d)) => Target::Sysroot(d),
                (None, None) => Target::Live,
            };
            identify_command(&target, json)
        }
        Command::Schema => serde_json::to_string_pretty(&crate::schema::json_schema())
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Command::GpuApiCheck { api } => {
            std::process::exit(crate::probe::identify::api_check_main(&api))
        }
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
