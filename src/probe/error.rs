//! What can go wrong at the probe room's door, one variant per kind of cause. Each
//! message says what was wrong, with what input, and what to do next; the binaries
//! print it as it is (exit status 2).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A file or folder named on the command line could not be read.
    #[error("cannot read {what} {}: {source}; {hint}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
        hint: &'static str,
    },
    /// A device snapshot that is not in the fixture format.
    #[error("fixture {name}{problem}")]
    Fixture { name: String, problem: String },
    /// A suite file that does not parse or names what this build cannot run.
    #[error("suite {origin}: {problem}")]
    Suite { origin: String, problem: String },
    /// Arguments that do not make a command (the message carries the usage).
    #[error("{0}")]
    Usage(String),
    /// A kernel or shape this CPU or this suite version cannot run.
    #[error("{0}")]
    CannotRun(String),
    /// The report could not be written.
    #[error("cannot write the report to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// Our own output failed to encode or to pass its own schema: a bug to report.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Entropy(#[from] crate::util::EntropyError),
}

/// For rooms whose errors are still text.
impl From<ProbeError> for String {
    fn from(e: ProbeError) -> String {
        e.to_string()
    }
}
