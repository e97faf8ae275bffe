//! The on-device side: identification today, the kernel suite and bench harness next.
//! Never depends on host-only crates, so `fleetscope-probe` stays small.

pub mod bench;
pub mod commands;
pub mod identify;
pub mod kernels;
pub mod suite;

pub use identify::{identify, Sysroot};
