//! What can stop a collector from starting or serving, one variant per cause.

#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
    #[error(transparent)]
    Token(#[from] crate::util::TokenError),
    /// `--listen` is not an address, or the address cannot be bound.
    #[error("{0}")]
    Listen(String),
    /// A thread or the async runtime could not start or stopped early.
    #[error("{0}")]
    Runtime(String),
}

/// For rooms whose errors are still text.
impl From<CollectorError> for String {
    fn from(e: CollectorError) -> String {
        e.to_string()
    }
}
