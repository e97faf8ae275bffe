//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a
//! committed (acknowledged) report survives a crash of the process or the machine.
//! Writes go through one connection; reads use their own, so exports never block ingest;
//! a checkpointer thread with a third copies the WAL into the database, so the writer's
//! commits never pay for it. Reports are kept in `reports.raw` as zstd frames (BLOB);
//! rows written before that are TEXT and read back as they are. Rooms: `migrations`
//! (the schema), `checkpoint` (the checkpointer thread), `vfs` (the write-gathering
//! VFS every connection opens through).

mod checkpoint;
mod migrations;
pub(super) mod vfs;

use super::{DeviceRow, Incoming, Outcome, Store, StoreError};
use checkpoint::Checkpointer;
use migrations::migrate;
use rusqlite::types::{Type, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, ToSql};
use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Frames in the log after which the writer finishes a checkpoint itself (about
/// 512 MB with 4 KB pages; every 3 s at 5000 reports/s). Afterwards SQLite restarts
/// the log from its start: commits overwrite blocks the WAL file already has
/// instead of growing it forever (an ext4 block allocation on every commit). That
/// checkpoint ends with an fsync of the database while no commit can run, which
/// is why it is rare (and why the checkpointer flushes the database as it goes).
const WAL_RESTART_FRAMES: u32 = 128 << 10;
/// The size SQLite truncates the log to after a restart: above what it reaches in
/// steady state, because truncating hundreds of MB took the writer 50-70 ms, during
/// which nothing was acknowledged. Only a log that grew past it (a reader held an old
/// snapshot for long) is cut back.
const JOURNAL_SIZE_LIMIT: u64 = 1 << 30;

pub struct SqliteStore {
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    _checkpointer: Checkpointer,
}

/// The write connection, the frames in its log (set by SQLite's WAL hook after each
/// commit) and the frame count at which it next checkpoints.
struct Writer {
    conn: Connection,
    wal_frames: Arc<AtomicU32>,
    restart_at: u32,
}

pub(super) fn err(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        vfs::register().map_err(StoreError)?;
        // Every connection goes through the write-gathering VFS: the writer's WAL
        // writes become one per commit and the checkpoints' page copies one per run
        // of pages (the reader writes nothing).
        let open = |p: &Path| -> Result<Connection, StoreError> {
            let c = Connection::open_with_flags_and_vfs(p, OpenFlags::default(), vfs::NAME)
                .map_err(err("open sqlite"))?;
            c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;").map_err(err("configure sqlite"))?;
            Ok(c)
        };
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        writer
            // 8 MiB of page cache: room for the hot pages of the report_id and device
            // indexes (random inserts), but no more, because SQLite scans the cache's
            // whole hash table at every commit (pcache1 truncation): with 64 MiB that
            // scan was 5-12 % of the writer's time.
            .execute_batch(&format!("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}; PRAGMA cache_size=-8192;"))
            .map_err(err("configure sqlite"))?;
        // After wal_autocheckpoint, which replaces the hook.
        let wal_frames = Arc::new(AtomicU32::new(0));
        let frames = Arc::clone(&wal_frames);
        writer
            .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: c_int| {
                frames.store(u32::try_from(pages).unwrap_or(0), Ordering::Relaxed);
                Ok(())
            }))
            .map_err(err("configure sqlite"))?;
        let reader = open(path)?;
        // Read-only is enough to fsync; the connection does the writing.
        let db = std::fs::File::open(path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        let checkpointer = Checkpointer::start(open(path)?, db)?;
        Ok(SqliteStore {
            writer: Mutex::new(Writer {
                conn: writer,
                wal_frames,
                restart_at: WAL_RESTART_FRAMES,
            }),
            reader: Mutex::new(reader),
            _checkpointer: checkpointer,
        })
    }
}

/// A `reports.raw` value as JSON text: a BLOB is a zstd frame, TEXT (rows stored
/// before compression) is the report itself.
fn raw_text(v: ValueRef<'_>) -> rusqlite::Result<String> {
    match v {
        ValueRef::Blob(frame) => super::decompress(frame)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, Type::Blob, Box::new(e))),
        ValueRef::Text(t) => String::from_utf8(t.to_vec())
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(e))),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            "raw".into(),
            other.data_type(),
        )),
    }
}

impl Store for SqliteStore {
    fn insert_batch(&self, batch: &[Incoming]) -> Result<Vec<Outcome>, StoreError> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = w.conn.transaction().map_err(err("begin"))?;
        let now = crate::util::now_rfc3339();
        let mut outcomes = Vec::with_capacity(batch.len());
        for inc in batch {
            // The unique index on report_id decides: a new id inserts, a known one
            // changes nothing and is looked up.
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO reports (report_id, sha256, received_at, device_hash, raw) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(report_id) DO NOTHING",
                )
                .and_then(|mut s| {
                    let raw: &dyn ToSql = match &inc.compressed {
                        Some(frame) => frame,
                        None => &inc.canonical,
                    };
                    s.execute(params![
                        inc.report_id,
                        inc.sha256,
                        now,
                        inc.device.device_hash,
                        raw
                    ])
                })
                .map_err(err("insert report"))?;
            if inserted == 0 {
                let (seq, sha): (i64, String) = tx
                    .query_row(
                        "SELECT seq, sha256 FROM reports WHERE report_id = ?1",
                        [&inc.report_id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .map_err(err("look up report_id"))?;
                outcomes.push(if sha == inc.sha256 {
                    Outcome::Duplicate { seq }
                } else {
                    Outcome::Conflict { seq }
                });
                continue;
            }
            let seq = tx.last_insert_rowid();
            let d = &inc.device;
            if let Some(hash) = &d.device_hash {
                tx.prepare_cached(
                    "INSERT INTO devices (device_hash, model, manufacturer, soc_vendor, soc_chipset, soc_name, reports, last_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
                     ON CONFLICT(device_hash) DO UPDATE SET model = excluded.model, manufacturer = excluded.manufacturer, soc_vendor = excluded.soc_vendor,
                       soc_chipset = excluded.soc_chipset, soc_name = excluded.soc_name, reports = devices.reports + 1, last_seq = excluded.last_seq",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        hash,
                        d.model,
                        d.manufacturer,
                        d.soc_vendor,
                        d.soc_chipset,
                        d.soc_name,
                        seq
                    ])
                })
                .map_err(err("upsert device"))?;
            }
            outcomes.push(Outcome::Stored { seq });
        }
        tx.commit().map_err(err("commit"))?;
        let frames = w.wal_frames.load(Ordering::Relaxed);
        if frames < w.restart_at.saturating_sub(WAL_RESTART_FRAMES) {
            // The log restarted since the last checkpoint here.
            w.restart_at = WAL_RESTART_FRAMES;
        }
        if frames >= w.restart_at {
            // Already committed: a failed checkpoint only means the log grows a while
            // longer (a reader on an old snapshot keeps it); try again a quarter on.
            // Busy means the checkpointer holds the checkpoint lock this instant; the
            // next commit tries again. (Waiting a quarter then grew the log by 128 and
            // 272 MB in a 60 s run at 5000 reports/s, and the writer's fsyncs stalled
            // for 20-50 ms in ext4 block allocation for the new blocks.)
            let busy = w
                .conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
            if !matches!(busy, Ok(1)) {
                w.restart_at = frames.saturating_add(WAL_RESTART_FRAMES / 4);
            }
        }
        Ok(outcomes)
    }

    fn get(&self, report_id: &str) -> Result<Option<String>, StoreError> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        c.query_row(
            "SELECT raw FROM reports WHERE report_id = ?1",
            [report_id],
            |r| raw_text(r.get_ref(0)?),
        )
        .optional()
        .map_err(err("get report"))
    }

    fn export(&self, since: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = c
            .prepare_cached("SELECT seq, raw FROM reports WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(err("export"))?;
        let rows = stmt
            .query_map(params![since, limit as i64], |r| {
                Ok((r.get(0)?, raw_text(r.get_ref(1)?)?))
            })
            .map_err(err("export"))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err("export"))
    }

    fn devices(&self, after: &str, limit: usize) -> Result<Vec<DeviceRow>, StoreError> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = c
            .prepare_cached("SELECT device_hash, model, soc_vendor, soc_chipset, reports, last_seq FROM devices WHERE device_hash > ?1 ORDER BY device_hash LIMIT ?2")
            .map_err(err("devices"))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok(DeviceRow {
                    device_hash: r.get(0)?,
                    model: r.get(1)?,
                    soc_vendor: r.get(2)?,
                    soc_chipset: r.get(3)?,
                    reports: r.get(4)?,
                    last_seq: r.get(5)?,
                })
            })
            .map_err(err("devices"))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err("devices"))
    }

    fn compresses_raw(&self) -> bool {
        true
    }

    fn count(&self) -> Result<u64, StoreError> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        c.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(err("count"))
    }
}
