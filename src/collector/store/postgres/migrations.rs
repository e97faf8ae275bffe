//! The PostgreSQL schema: versioned migrations, run under an advisory lock so that
//! nodes starting together migrate once. The `results` table is kept for databases
//! written before; reports are no longer flattened into it.

use super::{err, StoreError};
use postgres::Client;

pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE reports (
    seq          BIGSERIAL PRIMARY KEY,
    report_id    TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
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
    reports      BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL
);
CREATE TABLE results (
    seq          BIGINT NOT NULL REFERENCES reports(seq),
    idx          INTEGER NOT NULL,
    kernel       TEXT NOT NULL,
    dtype        TEXT,
    shape        TEXT NOT NULL,
    threads      INTEGER NOT NULL,
    cpus         TEXT NOT NULL,
    path         TEXT,
    gops         DOUBLE PRECISION,
    p50_us       DOUBLE PRECISION,
    p90_us       DOUBLE PRECISION,
    p99_us       DOUBLE PRECISION,
    cv           DOUBLE PRECISION,
    skipped      TEXT,
    PRIMARY KEY (seq, idx)
);
"#,
    // The stored report compressed with lz4, not the default pglz: at 5000 reports/s
    // pglz cost PostgreSQL 703 us of CPU per report (1289 reports/s at most), lz4
    // 160 us (4791/s; scripts/bench-collector.sh 5000 60). Servers without lz4
    // (before PostgreSQL 14, or built without it) keep pglz.
    r#"
DO $$ BEGIN
    EXECUTE 'ALTER TABLE reports ALTER COLUMN raw SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'lz4 is not available here: stored reports stay compressed with pglz';
END $$;
"#,
];

/// Lock id for migrations (any constant shared by all nodes).
const MIGRATION_LOCK: i64 = 0x666c_6565_7473;

pub(super) fn migrate(c: &mut Client) -> Result<(), StoreError> {
    c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(err("lock for migration"))?;
    let result = (|| {
        c.batch_execute("CREATE TABLE IF NOT EXISTS fleetscope_schema (version INTEGER NOT NULL)")
            .map_err(err("migrate"))?;
        let version: i32 = c
            .query_opt("SELECT version FROM fleetscope_schema", &[])
            .map_err(err("migrate"))?
            .map_or(0, |r| r.get(0));
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError(format!("database schema version {version} is newer than this fleetscope ({}); upgrade fleetscope", MIGRATIONS.len())));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let mut tx = c.transaction().map_err(err("migrate"))?;
            tx.batch_execute(sql).map_err(err("migrate"))?;
            tx.execute("DELETE FROM fleetscope_schema", &[])
                .map_err(err("migrate"))?;
            tx.execute(
                "INSERT INTO fleetscope_schema (version) VALUES ($1)",
                &[&((i + 1) as i32)],
            )
            .map_err(err("migrate"))?;
            tx.commit().map_err(err("migrate"))?;
        }
        Ok(())
    })();
    let _ = c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result
}
