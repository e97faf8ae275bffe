//! The collector against a real SQLite file (the embedded default): hostile inputs,
//! replays and conflicts, batches, slow bodies and load shedding, and `kill -9`.

mod common;

use common::collector_suite as suite;
use common::http::Backend;

#[test]
fn ingest_replay_conflict_and_reads() {
    suite::ingest_replay_conflict_and_reads(&Backend::Sqlite);
}

#[test]
fn hostile_inputs_are_refused_and_change_nothing() {
    suite::hostile_inputs_are_refused_and_change_nothing(&Backend::Sqlite);
}

#[test]
fn batches_are_stored_whole() {
    suite::batches_are_stored_whole(&Backend::Sqlite);
}

#[test]
fn slow_bodies_time_out_and_overload_sheds() {
    suite::slow_bodies_time_out_and_overload_sheds(&Backend::Sqlite);
}

#[test]
fn load_generator_counts_match_the_store() {
    suite::load_generator_counts_match_the_store(&Backend::Sqlite);
}

#[test]
fn acknowledged_reports_survive_kill_9() {
    suite::acknowledged_reports_survive_kill_9(&Backend::Sqlite);
}

/// A database written by the first schema (results and devices with a rowid) is migrated in place
/// when a newer collector opens it: nothing stored is lost, and new reports land in
/// the rebuilt table. Reports stored as TEXT before compression read back as they
/// are; new ones are stored as smaller zstd BLOBs and read back as sent.
#[test]
fn a_version_1_database_migrates_without_losing_rows() {
    use common::http::{sample_report, Collector, READ};
    let dir = std::env::temp_dir().join(format!("fleetscope-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ingest.tok"),
        format!("{}\n", common::http::INGEST),
    )
    .unwrap();
    std::fs::write(dir.join("read.tok"), format!("{READ}\n")).unwrap();
    let path = dir.join("fleet.db");
    // Migration 1 as it shipped, with one stored report and its two result rows.
    let old = sample_report();
    let old_id = old["report_id"].as_str().unwrap().to_string();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE reports (seq INTEGER PRIMARY KEY AUTOINCREMENT, report_id TEXT NOT NULL UNIQUE,
                 sha256 TEXT NOT NULL, received_at TEXT NOT NULL, device_hash TEXT, raw TEXT NOT NULL);
             CREATE TABLE devices (device_hash TEXT PRIMARY KEY, model TEXT, manufacturer TEXT, soc_vendor TEXT,
                 soc_chipset TEXT, soc_name TEXT, reports INTEGER NOT NULL, last_seq INTEGER NOT NULL);
             CREATE TABLE results (seq INTEGER NOT NULL REFERENCES reports(seq), idx INTEGER NOT NULL,
                 kernel TEXT NOT NULL, dtype TEXT, shape TEXT NOT NULL, threads INTEGER NOT NULL, cpus TEXT NOT NULL,
                 path TEXT, gops REAL, p50_us REAL, p90_us REAL, p99_us REAL, cv REAL, skipped TEXT,
                 PRIMARY KEY (seq, idx));
             PRAGMA user_version = 1;",
        )
        .unwrap();
        c.execute(
            "INSERT INTO reports (report_id, sha256, received_at, device_hash, raw) VALUES (?1, 'x', '2026-11-29T00:00:00Z', NULL, ?2)",
            rusqlite::params![old_id, old.to_string()],
        )
        .unwrap();
        c.execute_batch(
            "INSERT INTO results VALUES (1, 0, 'gemm', 'f32', '{\"k\":64,\"m\":64,\"n\":64}', 1, '[4]', 'f32-gemm-8x8-neon', 47.6, 11.0, 12.0, 14.0, 0.096, NULL);
             INSERT INTO results VALUES (1, 1, 'peak_dot', 'i8', '{}', 1, '[0]', NULL, NULL, NULL, NULL, NULL, NULL, 'no dotprod on cortex-a53');
             INSERT INTO devices VALUES ('old-device', 'Pixel 3', 'Google', 'Qualcomm', 'SDM845', 'Snapdragon 845', 1, 1);",
        )
        .unwrap();
    }
    let db = format!("sqlite://{}", path.display());
    let collector = Collector::start_in(dir.clone(), &db, &[]);
    let got = collector.get(&format!("/v1/reports/{old_id}"), READ);
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json(), old);
    let new = sample_report();
    let new_id = new["report_id"].as_str().unwrap().to_string();
    assert_eq!(collector.post_report(&new).status, 201);
    assert_eq!(collector.stored(), 2);
    let got = collector.get(&format!("/v1/reports/{new_id}"), READ);
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json(), new);
    let export = collector.get("/v1/export?since=0", READ);
    let lines: Vec<serde_json::Value> = export
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![old.clone(), new.clone()]);
    drop(collector);

    let c = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
    for table in ["results", "devices"] {
        let sql: String = c
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("WITHOUT ROWID"), "{sql}");
    }
    let devices: Vec<(String, Option<String>, i64)> = c
        .prepare("SELECT device_hash, model, reports FROM devices ORDER BY last_seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert_eq!(devices[0], ("old-device".into(), Some("Pixel 3".into()), 1));
    assert_eq!(
        Some(devices[1].0.as_str()),
        new["device"]["device_hash"].as_str()
    );
    let rows: Vec<(i64, i64, String, Option<String>)> = c
        .prepare("SELECT seq, idx, kernel, skipped FROM results ORDER BY seq, idx")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The old database's flattened rows are kept as they were; new reports add none
    // (nothing reads them: the export and the API use the stored report).
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], (1, 0, "gemm".into(), None));
    assert_eq!(rows[1].3.as_deref(), Some("no dotprod on cortex-a53"));
    let raw: Vec<(String, i64)> = c
        .prepare("SELECT typeof(raw), length(raw) FROM reports ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(raw[0], ("text".into(), old.to_string().len() as i64));
    assert_eq!(raw[1].0, "blob");
    assert!(
        (raw[1].1 as usize) < new.to_string().len() * 3 / 4,
        "{raw:?}: a stored report should compress"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
