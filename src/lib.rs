//! fleetscope: characterise a fleet of phones and edge devices for on-device ML inference.
//!
//! Rooms: `schema` (the report wire format), `catalog` (fact tables from `datasets/`),
//! `probe` (on-device: identification, kernels, bench), `cli` (the host command line),
//! `collector` (the server), `client` (upload, load generator), `device` (adb), `fleet` (the synthetic fleet), `analysis`
//! (the Parquet dataset and the statistics), `render` (charts and the report), `util` (rng, clock, ids, entropy).
#[cfg(feature = "host")]
pub mod analysis;
pub mod catalog;
#[cfg(feature = "host")]
pub mod cli;
#[cfg(feature = "host")]
pub mod client;
#[cfg(feature = "host")]
pub mod collector;
#[cfg(feature = "host")]
pub mod device;
#[cfg(feature = "host")]
pub mod fleet;
pub mod probe;
#[cfg(feature = "host")]
pub mod render;
pub mod schema;
pub mod util;
