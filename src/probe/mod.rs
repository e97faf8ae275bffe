//! The on-device side: identification (`identify/`), the kernels (`kernels/`), the
//! suite and its kernel-family registry (`suite/`), measurement (`bench/`), and the
//! probe's command line (`cli`, shared by both binaries) over the command bodies
//! (`commands`). Never depends on host-only crates, so `fleetscope-probe` stays small.

pub mod bench;
pub mod cli;
pub mod commands;
mod error;
pub mod identify;
pub mod kernels;
pub mod suite;

pub use error::ProbeError;
pub use identify::{identify, Sysroot};
