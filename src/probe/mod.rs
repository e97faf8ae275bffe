//! The on-device side: identification today, the kernel suite and bench harness next.
//! Never depends on host-only crates, so `fleetscope-probe` stays small.

pub mod commands;
pub mod identify;

pub use identify::{identify, Sysroot};
