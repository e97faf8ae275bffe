//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a
//! committed (acknowledged) report survives a crash of the process or the machine.
//! Writes go through one connection; reads use their own, so exports never block ingest.

use super::{DeviceRow, Incoming, Outcome, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

/// Versioned migrations: migration N brings `PRAGMA user_version` from N to N + 1.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE reports (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id    TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    device_hash  TEXT,
    raw          TEXT NOT NULL
);
CREATE TABLE devices (
    device_hash  TEXT PRIMARY KEY,
    model        TEXT,
    manufacturer TEXT,
    soc_vendor   TEXT,
    soc_chipset  TEXT,
    soc_name     TEXT,
    reports      INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL
);
CREATE TABLE results (
    seq          INTEGER NOT NULL REFERENCES reports(seq),
    idx          INTEGER NOT NULL,
    kernel       TEXT NOT NULL,
    dtype        TEXT,
    shape        TEXT NOT NULL,
    threads      INTEGER NOT NULL,
    cpus         TEXT NOT NULL,
    path         TEXT,
    gops         REAL,
    p50_us       REAL,
    p90_us       REAL,
    p99_us       REAL,
    cv           REAL,
    skipped      TEXT,
    PRIMARY KEY (seq, idx)
);
"#];

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn err(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let open = |p: &Path| -> Result<Connection, StoreError> {
            let c = Connection::open(p).map_err(err("open sqlite"))?;
            c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;").map_err(err("configure sqlite"))?;
            Ok(c)
        };
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        let reader = open(path)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

fn migrate(c: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err("read schema version"))?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError(format!("database schema version {version} is newer than this fleetscope ({}); upgrade fleetscope", MIGRATIONS.len())));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = c.transaction().map_err(err("migrate"))?;
        tx.execute_batch(sql).map_err(err("migrate"))?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(err("migrate"))?;
        tx.commit().map_err(err("migrate"))?;
    }
    Ok(())
}

/// Rows per multi-row INSERT (14 parameters each, well under SQLite's limit).
const RESULT_ROWS_PER_INSERT: usize = 64;

/// One report's results, a multi-row INSERT per chunk: one statement instead of one per row.
fn insert_results(
    tx: &rusqlite::Transaction,
    seq: i64,
    results: &[crate::schema::KernelResult],
) -> Result<(), StoreError> {
    for (chunk_no, chunk) in results.chunks(RESULT_ROWS_PER_INSERT).enumerate() {
        let placeholders = vec!["(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"; chunk.len()].join(",");
        let sql = format!("INSERT INTO results (seq, idx, kernel, dtype, shape, threads, cpus, path, gops, p50_us, p90_us, p99_us, cv, skipped) VALUES {placeholders}");
        let mut stmt = tx.prepare_cached(&sql).map_err(err("prepare results"))?;
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(chunk.len() * 14);
        for (i, res) in chunk.iter().enumerate() {
            use rusqlite::types::Value as V;
            let text = |s: Option<String>| s.map_or(V::Null, V::Text);
            let real = |x: Option<f64>| x.map_or(V::Null, V::Real);
            let l = res.latency_us;
            values.extend([
                V::Integer(seq),
                V::Integer((chunk_no * RESULT_ROWS_PER_INSERT + i) as i64),
                V::Text(res.kernel.clone()),
                text(res.dtype.map(|d| format!("{d:?}").to_lowercase())),
                V::Text(serde_json::to_string(&res.shape).unwrap_or_default()),
                V::Integer(i64::from(res.threads)),
                V::Text(serde_json::to_string(&res.cpus).unwrap_or_default()),
                text(res.path.clone()),
                real(res.gops),
                real(l.map(|l| l.p50)),
                real(l.map(|l| l.p90)),
                real(l.map(|l| l.p99)),
                real(l.map(|l| l.cv)),
                text(res.skipped.clone()),
            ]);
        }
        stmt.execute(rusqlite::params_from_iter(values))
            .map_err(err("insert results"))?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn insert_batch(&self, batch: &[Incoming]) -> Result<Vec<Outcome>, StoreError> {
        let mut c = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c.transaction().map_err(err("begin"))?;
        let now = crate::probe::suite::now_rfc3339();
        let mut outcomes = Vec::with_capacity(batch.len());
        for inc in batch {
            let r = &inc.report;
            let existing: Option<(i64, String)> = tx
                .query_row(
                    "SELECT seq, sha256 FROM reports WHERE report_id = ?1",
                    [&r.report_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(err("look up report_id"))?;
            if let Some((seq, sha)) = existing {
                outcomes.push(if sha == inc.sha256 {
                    Outcome::Duplicate { seq }
                } else {
                    Outcome::Conflict { seq }
                });
                continue;
            }
            tx.execute(
                "INSERT INTO reports (report_id, sha256, received_at, device_hash, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.report_id, inc.sha256, now, r.device.device_hash, inc.canonical],
            )
            .map_err(err("insert report"))?;
            let seq = tx.last_insert_rowid();
            insert_results(&tx, seq, &r.results)?;
            if let Some(hash) = &r.device.device_hash {
                tx.execute(
                    "INSERT INTO devices (device_hash, model, manufacturer, soc_vendor, soc_chipset, soc_name, reports, last_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
                     ON CONFLICT(device_hash) DO UPDATE SET model = excluded.model, manufacturer = excluded.manufacturer, soc_vendor = excluded.soc_vendor,
                       soc_chipset = excluded.soc_chipset, soc_name = excluded.soc_name, reports = devices.reports + 1, last_seq = excluded.last_seq",
                    params![hash, r.device.model, r.device.manufacturer, r.soc.vendor, r.soc.chipset, r.soc.name, seq],
                )
                .map_err(err("upsert device"))?;
            }
            outcomes.push(Outcome::Stored { seq });
        }
        tx.commit().map_err(err("commit"))?;
        Ok(outcomes)
    }

    fn get(&self, report_id: &str) -> Result<Option<String>, StoreError> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        c.query_row(
            "SELECT raw FROM reports WHERE report_id = ?1",
            [report_id],
            |r| r.get(0),
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
            .query_map(params![since, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
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

    fn count(&self) -> Result<u64, StoreError> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        c.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(err("count"))
    }
}
