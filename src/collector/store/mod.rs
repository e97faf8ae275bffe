//! Storage behind one small trait: the raw report (the export and every reader use
//! it) and its device's row, written in one transaction, acknowledged only after
//! commit. SQLite is the embedded default. The `results` table of flattened rows
//! stays for databases written before, but is no longer written: nothing read it,
//! and it was 45 % of the writer's SQLite time per report
//! (`scripts/measure-result-rows.py`).

mod postgres;
mod sqlite;

pub use self::postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::schema::Report;
use sha2::{Digest, Sha256};
use std::cell::RefCell;

/// A validated report ready to store: its canonical JSON and digest, and the identity
/// the `devices` table keeps. All of it is built by the request handler, so the
/// single writer only binds values.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub report_id: String,
    pub device: DeviceIdentity,
    pub canonical: String,
    /// The canonical JSON as a zstd frame, for a store that keeps reports compressed
    /// ([`Store::compresses_raw`]). Filled by the request handler, so the single
    /// writer and the log move a third of the bytes.
    pub compressed: Option<Vec<u8>>,
    pub sha256: String,
}

/// The `devices` table's columns, from the report.
#[derive(Debug, Clone, Default)]
pub struct DeviceIdentity {
    pub device_hash: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub soc_vendor: Option<String>,
    pub soc_chipset: Option<String>,
    pub soc_name: Option<String>,
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
        let body = body.trim_ascii();
        // simdutf8: a report is mostly ASCII, which it checks a vector at a time.
        match simdutf8::basic::from_utf8(body) {
            Ok(text) if memchr::memchr2(b'\n', b'\r', body).is_none() => {
                Ok(Self::with_text(report, text.to_string()))
            }
            _ => Self::new(report),
        }
    }

    fn with_text(report: Report, canonical: String) -> Self {
        let sha256 = hex(&Sha256::digest(canonical.as_bytes()));
        let Report {
            report_id,
            device,
            soc,
            ..
        } = report;
        Incoming {
            report_id,
            device: DeviceIdentity {
                device_hash: device.device_hash,
                model: device.model,
                manufacturer: device.manufacturer,
                soc_vendor: soc.vendor,
                soc_chipset: soc.chipset,
                soc_name: soc.name,
            },
            canonical,
            compressed: None,
            sha256,
        }
    }

    /// Fill [`Incoming::compressed`] from the canonical JSON.
    pub fn compress(&mut self) -> Result<(), StoreError> {
        thread_local! {
            // One compression context per thread, reused: a fresh one per report
            // costs more than compressing it.
            static CCTX: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
        }
        let fail = |e: std::io::Error| StoreError(format!("cannot compress report: {e}"));
        let frame = CCTX.with(|c| {
            let mut c = c.borrow_mut();
            let cctx = match c.as_mut() {
                Some(cctx) => cctx,
                None => c.insert(zstd::bulk::Compressor::new(RAW_ZSTD_LEVEL).map_err(fail)?),
            };
            cctx.compress(self.canonical.as_bytes()).map_err(fail)
        })?;
        self.compressed = Some(frame);
        Ok(())
    }
}

/// zstd level of stored reports: level 1 takes a report to about a third at some
/// 400 MB/s per core.
const RAW_ZSTD_LEVEL: i32 = 1;

/// A report stored by [`Incoming::compress`] back to its JSON text.
pub fn decompress(frame: &[u8]) -> Result<String, StoreError> {
    let bytes = zstd::decode_all(frame)
        .map_err(|e| StoreError(format!("a stored report does not decompress: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        StoreError(format!(
            "a stored report is not UTF-8 after decompression: {e}"
        ))
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
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
    /// Whether [`Store::insert_batch`] wants [`Incoming::compressed`] filled.
    fn compresses_raw(&self) -> bool {
        false
    }
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
