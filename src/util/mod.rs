//! Shared plumbing with no domain knowledge, used by the probe and the host alike:
//! a deterministic generator for test data and jitter (`Rng`), wall-clock timestamps
//! (`now_rfc3339`), ids (`uuid_v4`) and secrets from the OS entropy source
//! (`entropy`), which fail loudly instead of falling back to time or pid, and bearer
//! tokens (`Token`: read from a file, generated, compared in constant time, never printed),
//! and connection URLs with their password masked for logs (`redact_url`).

mod clock;
pub mod entropy;
mod ids;
mod rng;
mod token;
mod url;

pub use clock::{now_rfc3339, rfc3339};
pub use entropy::EntropyError;
pub use ids::{uuid_from, uuid_v4};
pub use rng::Rng;
pub use token::{Token, TokenError};
pub use url::redact_url;
