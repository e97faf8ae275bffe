//! What can go wrong when talking to a collector from outside it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client or the load generator's event loop could not start.
    #[error("cannot start {what}: {detail}")]
    Start { what: &'static str, detail: String },
    /// The spool folder could not be created or read.
    #[error("cannot {action} spool {}: {source}", path.display())]
    Spool {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("nothing to upload: name report files, or --spool DIR holding undelivered ones")]
    NothingToUpload,
    /// A 4xx other than 429: the collector will not take it as it is.
    #[error("the collector refused a batch: {0}")]
    Refused(String),
    /// Every attempt failed with a network error, a 5xx or a 429.
    #[error("a batch was not delivered after {attempts} attempts: {reason}")]
    NotDelivered { attempts: u32, reason: String },
    /// An option that cannot work, with what to use instead.
    #[error("{0}")]
    Usage(&'static str),
    #[error(transparent)]
    Entropy(#[from] crate::util::EntropyError),
}

/// For rooms whose errors are still text.
impl From<ClientError> for String {
    fn from(e: ClientError) -> String {
        e.to_string()
    }
}
