//! `fleetscope`: every host-side subcommand.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    fleetscope::cli::main()
}
