//! Talking to a collector from outside it: `fleetscope upload` (retries with full
//! jitter, `Retry-After`, a spool that keeps what could not be delivered) and
//! `fleetscope loadgen` (an open-loop load generator of realistic reports). Host only.

mod error;
pub mod loadgen;
mod upload;

pub use error::ClientError;
pub use upload::{client, deliver_batch, upload, Delivery, UploadConfig};
