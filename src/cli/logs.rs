//! Host logs on stderr through `tracing`: our own events at info by default (`-q`:
//! warnings only, `-v`: debug, `-vv`: trace), other crates' at warn; `RUST_LOG`
//! (tracing's filter syntax) overrides both. Secrets are never logged.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Install the subscriber once, for the whole process.
pub fn init(verbose: u8, quiet: bool) {
    let ours = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,fleetscope={ours}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
