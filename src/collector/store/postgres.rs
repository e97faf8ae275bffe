//! PostgreSQL, for several collector nodes behind one load balancer: the same tables
//! as SQLite, `report_id` unique across nodes, one transaction per group commit.
//! Migrations run under an advisory lock so nodes starting together migrate once.

use super::{DeviceRow, Incoming, Outcome, Store, StoreError};
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use std::sync::Mutex;

const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// Lock id for migrations (any constant shared by all nodes).
const MIGRATION_LOCK: i64 = 0x666c_6565_7473;

pub struct PgStore {
    writer: Mutex<Client>,
    reader: Mutex<Client>,
}

fn err(context: &str) -> impl Fn(postgres::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl PgStore {
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let connect = || {
            Client::connect(url, NoTls)
                .map_err(|e| StoreError(format!("cannot connect to PostgreSQL: {e}")))
        };
        let mut writer = connect()?;
        migrate(&mut writer)?;
        let reader = connect()?;
        Ok(PgStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

fn migrate(c: &mut Client) -> Result<(), StoreError> {
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

impl Store for PgStore {
    fn insert_batch(&self, batch: &[Incoming]) -> Result<Vec<Outcome>, StoreError> {
        let mut c = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut tx = c.transaction().map_err(err("begin"))?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for inc in batch {
            let r = &inc.report;
            // Another node may insert the same id concurrently: let the unique index decide.
            let inserted = tx
                .query_opt(
                    "INSERT INTO reports (report_id, sha256, device_hash, raw) VALUES ($1, $2, $3, $4) ON CONFLICT (report_id) DO NOTHING RETURNING seq",
                    &[&r.report_id, &inc.sha256, &r.device.device_hash, &inc.canonical],
                )
                .map_err(err("insert report"))?;
            let Some(row) = inserted else {
                let existing = tx
                    .query_one(
                        "SELECT seq, sha256 FROM reports WHERE report_id = $1",
                        &[&r.report_id],
                    )
                    .map_err(err("look up report_id"))?;
                let (seq, sha): (i64, String) = (existing.get(0), existing.get(1));
                outcomes.push(if sha == inc.sha256 {
                    Outcome::Duplicate { seq }
                } else {
                    Outcome::Conflict { seq }
                });
                continue;
            };
            let seq: i64 = row.get(0);
            for (chunk_no, chunk) in r.results.chunks(64).enumerate() {
                let mut sql = String::from("INSERT INTO results (seq, idx, kernel, dtype, shape, threads, cpus, path, gops, p50_us, p90_us, p99_us, cv, skipped) VALUES ");
                let mut owned: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(chunk.len() * 14);
                for (i, res) in chunk.iter().enumerate() {
                    let base = i * 14;
                    sql += &format!(
                        "{}({})",
                        if i > 0 { "," } else { "" },
                        (1..=14)
                            .map(|k| format!("${}", base + k))
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                    let l = res.latency_us;
                    owned.push(Box::new(seq));
                    owned.push(Box::new((chunk_no * 64 + i) as i32));
                    owned.push(Box::new(res.kernel.clone()));
                    owned.push(Box::new(res.dtype.map(|d| format!("{d:?}").to_lowercase())));
                    owned.push(Box::new(
                        serde_json::to_string(&res.shape).unwrap_or_default(),
                    ));
                    owned.push(Box::new(res.threads as i32));
                    owned.push(Box::new(
                        serde_json::to_string(&res.cpus).unwrap_or_default(),
                    ));
                    owned.push(Box::new(res.path.clone()));
                    owned.push(Box::new(res.gops));
                    owned.push(Box::new(l.map(|l| l.p50)));
                    owned.push(Box::new(l.map(|l| l.p90)));
                    owned.push(Box::new(l.map(|l| l.p99)));
                    owned.push(Box::new(l.map(|l| l.cv)));
                    owned.push(Box::new(res.skipped.clone()));
                }
                let params: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref()).collect();
                tx.execute(sql.as_str(), &params)
                    .map_err(err("insert results"))?;
            }
            if let Some(hash) = &r.device.device_hash {
                tx.execute(
                    "INSERT INTO devices (device_hash, model, manufacturer, soc_vendor, soc_chipset, soc_name, reports, last_seq) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
                     ON CONFLICT (device_hash) DO UPDATE SET model = EXCLUDED.model, manufacturer = EXCLUDED.manufacturer, soc_vendor = EXCLUDED.soc_vendor,
                       soc_chipset = EXCLUDED.soc_chipset, soc_name = EXCLUDED.soc_name, reports = devices.reports + 1, last_seq = GREATEST(devices.last_seq, EXCLUDED.last_seq)",
                    &[hash, &r.device.model, &r.device.manufacturer, &r.soc.vendor, &r.soc.chipset, &r.soc.name, &seq],
                )
                .map_err(err("upsert device"))?;
            }
            outcomes.push(Outcome::Stored { seq });
        }
        tx.commit().map_err(err("commit"))?;
        Ok(outcomes)
    }

    fn get(&self, report_id: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(c.query_opt(
            "SELECT raw FROM reports WHERE report_id = $1",
            &[&report_id],
        )
        .map_err(err("get report"))?
        .map(|r| r.get(0)))
    }

    fn export(&self, since: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let rows = c
            .query(
                "SELECT seq, raw FROM reports WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&since, &(limit as i64)],
            )
            .map_err(err("export"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn devices(&self, after: &str, limit: usize) -> Result<Vec<DeviceRow>, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let rows = c
            .query("SELECT device_hash, model, soc_vendor, soc_chipset, reports, last_seq FROM devices WHERE device_hash > $1 ORDER BY device_hash LIMIT $2", &[&after, &(limit as i64)])
            .map_err(err("devices"))?;
        Ok(rows
            .iter()
            .map(|r| DeviceRow {
                device_hash: r.get(0),
                model: r.get(1),
                soc_vendor: r.get(2),
                soc_chipset: r.get(3),
                reports: r.get(4),
                last_seq: r.get(5),
            })
            .collect())
    }

    fn count(&self) -> Result<u64, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM reports", &[])
            .map_err(err("count"))?
            .get(0);
        Ok(n as u64)
    }
}
