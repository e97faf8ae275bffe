//! Storage behind one small trait: the raw report and its flattened rows, written in
//! one transaction, acknowledged only after commit. SQLite is the embedded default.

mod postgres;
mod sqlite;

pub use self::postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::schema::Report;
use sha2::{Digest, Sha256};

/// A validated report ready to store: canonical JSON and its digest.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub report: Report,
    pub canonical: String,
    pub sha256: String,
}

impl Incoming {
    /// From a parsed report alone: stored as its canonical (compact) JSON.
    pub fn new(report: Report) -> Result<Self, StoreError> {
        let canonical = serde_json::to_string(&report)
            .map_err(|e| StoreError(format!("cannot encode report: {e}")))?;
        Ok(Self::with_text(report, canonical))
    }

    /// From the bytes a client sent: kept as sent when they are one line of JSON (an
    /// exact replay is then byte-identical), else re-encoded compactly so the NDJSON
    /// export stays one report per line.
    pub fn from_body(report: Report, body: &[u8]) -> Result<Self, StoreError> {
        match std::str::from_utf8(body) {
            Ok(text) if !text.trim().contains(['\n', '\r']) => {
                Ok(Self::with_text(report, text.trim().to_string()))
            }
            _ => Self::new(report),
        }
    }

    fn with_text(report: Report, canonical: String) -> Self {
        let sha256 = Sha256::digest(canonical.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Incoming {
            report,
            canonical,
            sha256,
        }
    }
}

/// What storing one report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Newly committed at ingest sequence `seq`.
    Stored { seq: i64 },
    /// The same report was stored before, at `seq`; nothing new was written.
    Duplicate { seq: i64 },
    /// The `report_id` exists with different content; nothing was written.
    Conflict { seq: i64 },
}

/// A row of `GET /v1/devices`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceRow {
    pub device_hash: String,
    pub model: Option<String>,
    pub soc_vendor: Option<String>,
    pub soc_chipset: Option<String>,
    pub reports: i64,
    pub last_seq: i64,
}

#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// A collector's storage backend.
pub trait Store: Send + Sync + 'static {
    /// Store a batch in one transaction; outcomes in input order.
    fn insert_batch(&self, batch: &[Incoming]) -> Result<Vec<Outcome>, StoreError>;
    /// The stored report with this id, as JSON.
    fn get(&self, report_id: &str) -> Result<Option<String>, StoreError>;
    /// Up to `limit` reports with ingest sequence above `since`, in order.
    fn export(&self, since: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError>;
    /// Devices (each counted once) after `after` in hash order.
    fn devices(&self, after: &str, limit: usize) -> Result<Vec<DeviceRow>, StoreError>;
    /// Number of stored reports.
    fn count(&self) -> Result<u64, StoreError>;
}

/// Open a store from a URL: `sqlite://PATH` (relative), `sqlite:///ABS`, or a libpq
/// `postgres://` URL.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(StoreError("sqlite:// needs a path, e.g. sqlite://fleet.db or sqlite:///var/lib/fleetscope/fleet.db".into()));
        }
        return Ok(Box::new(SqliteStore::open(std::path::Path::new(path))?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(PgStore::open(url)?));
    }
    Err(StoreError(format!(
        "unsupported --db {url:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB"
    )))
}
