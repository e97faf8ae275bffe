//! The SQLite schema: versioned migrations, applied in order on open. The `results`
//! table is kept for databases written before; reports are no longer flattened into it.

use super::{err, StoreError};
use rusqlite::Connection;

/// Versioned migrations: migration N brings `PRAGMA user_version` from N to N + 1.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
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
"#,
    // The results table without a rowid: its primary key is the only b-tree, so a
    // row costs one insertion instead of two.
    r#"
CREATE TABLE results_v2 (
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
) WITHOUT ROWID;
INSERT INTO results_v2 SELECT seq, idx, kernel, dtype, shape, threads, cpus, path, gops, p50_us, p90_us, p99_us, cv, skipped FROM results;
DROP TABLE results;
ALTER TABLE results_v2 RENAME TO results;
"#,
    // Devices keyed by their hash alone: a fleet's hashes are random, so each report's
    // upsert dirtied a random page of the table and another of its hash index; now
    // one b-tree, one random page.
    r#"
CREATE TABLE devices_v2 (
    device_hash  TEXT PRIMARY KEY NOT NULL,
    model        TEXT,
    manufacturer TEXT,
    soc_vendor   TEXT,
    soc_chipset  TEXT,
    soc_name     TEXT,
    reports      INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO devices_v2 SELECT device_hash, model, manufacturer, soc_vendor, soc_chipset, soc_name, reports, last_seq
    FROM devices WHERE device_hash IS NOT NULL;
DROP TABLE devices;
ALTER TABLE devices_v2 RENAME TO devices;
"#,
];

pub(super) fn migrate(c: &mut Connection) -> Result<(), StoreError> {
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
