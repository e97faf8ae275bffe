//! fleetscope: characterise a fleet of phones and edge devices for on-device ML inference.
//!
//! Rooms: `schema` (the report wire format), `catalog` (fact tables from `datasets/`),
//! `probe` (on-device: identification, kernels, bench), `cli` (the host command line).
pub mod catalog;
#[cfg(feature = "host")]
pub mod cli;
#[cfg(feature = "host")]
pub mod collector;
#[cfg(feature = "host")]
pub mod device;
pub mod probe;
pub mod schema;
