//! `fleetscope`: every host-side subcommand.

fn main() -> std::process::ExitCode {
    fleetscope::cli::main()
}
