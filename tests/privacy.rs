//! Privacy end to end: a fake phone with a known serial, IMEI-like properties, MAC
//! addresses and an account goes through `run` -> collector -> export -> report, and
//! every byte of every output (the saved report, the store's files or tables, the
//! export stream, the Parquet dataset, the report's HTML, Markdown, JSON and CSV, the
//! collector's logs) is searched for them and for the fleet's salt: none may appear.
//! The run's own console names the phone by serial (the operator needs that), and
//! nothing else.

mod common;

use common::http::{Backend, Collector, READ};
use common::ok;
use std::path::{Path, PathBuf};
use std::process::Command;

const IMEI: [&str; 2] = ["352099001761481", "352099001761499"];
const MACS: [&str; 3] = [
    "3c:28:6d:a1:b2:c3",
    "3c:28:6d:a1:b2:c4",
    "3c:28:6d:a1:b2:c5",
];
const ACCOUNT: &str = "jane.doe.fleet@example.com";
const SOC_SERIAL: &str = "0x7a3f19c2d4e6";

const SUITE: &str = r#"
id = "privacy"
version = "1"
[measure]
warmup = 1
min_samples = 3
min_time_ms = 50
max_time_ms = 200
cold_weights = false
[run]
clusters = "all"
threads = ["1"]
cooldown_max_s = 1
[[kernels]]
family = "gemm"
dtypes = ["f32"]
shapes = [{ m = 16, n = 16, k = 16 }]
"#;

/// The secrets and identifiers that must not leave the phone, in every spelling.
fn needles(serial: &str, salt: &str) -> Vec<String> {
    let mut n: Vec<String> = vec![
        serial.into(),
        ACCOUNT.into(),
        SOC_SERIAL.into(),
        salt.into(),
    ];
    n.extend(IMEI.iter().map(|s| s.to_string()));
    for mac in MACS {
        n.push(mac.to_string());
        n.push(mac.to_uppercase());
        n.push(mac.replace(':', ""));
    }
    n
}

fn found_in(bytes: &[u8], needles: &[String]) -> Vec<String> {
    let lower = bytes.to_ascii_lowercase();
    needles
        .iter()
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            lower.windows(n.len()).any(|w| w == n.as_bytes())
        })
        .cloned()
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The Pixel 8 snapshot with identifiers a real phone exposes added to it.
fn phone_fixture(datasets: &Path, dir: &Path, serial: &str) -> PathBuf {
    let text = std::fs::read_to_string(datasets.join("devices/pixel-8.json")).unwrap();
    let mut fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    let props = fx["properties"].as_object_mut().unwrap();
    for (k, v) in [
        ("ro.serialno", serial),
        ("ro.boot.serialno", serial),
        ("persist.radio.imei", IMEI[0]),
        ("ro.ril.oem.imei", IMEI[0]),
        ("persist.radio.imei2", IMEI[1]),
        ("ro.boot.wifimacaddr", MACS[0]),
        ("ro.boot.btmacaddr", MACS[1]),
        ("persist.sys.account", ACCOUNT),
    ] {
        props.insert(k.into(), v.into());
    }
    let files = fx["files"].as_object_mut().unwrap();
    files.insert(
        "/sys/class/net/wlan0/address".into(),
        format!("{}\n", MACS[2]).into(),
    );
    files.insert(
        "/sys/devices/soc0/serial_number".into(),
        format!("{SOC_SERIAL}\n").into(),
    );
    let path = dir.join("phone.json");
    std::fs::write(&path, fx.to_string()).unwrap();
    path
}

/// The pipeline for one phone; two tests run at once, so each has its own phone
/// (a run locks its phone).
fn pipeline(backend: &Backend, name: &str, serial: &str) {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let collector = Collector::start_on(backend, name, &[]);
    let dir = collector.dir.clone();
    let salt_file = match backend {
        Backend::Sqlite => dir.join("fleet.db.device-salt"),
        Backend::Postgres(_) => dir.join("fleetscope.device-salt"),
    };
    let salt = std::fs::read_to_string(&salt_file)
        .expect("the collector writes the fleet's salt beside its tokens")
        .trim()
        .to_string();
    assert_eq!(salt.len(), 64, "256 bits from OS entropy, as hex");
    let config = serde_json::json!({
        "root": dir.join("phones"),
        "devices": [{ "serial": serial, "state": "device", "fixture": phone_fixture(&datasets, &dir, serial) }]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("privacy.toml"), SUITE).unwrap();
    let saved = dir.join("saved");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetscope"));
    cmd.args(["-v", "run", "--device", serial, "--adb"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"))
        .arg("--suite")
        .arg(dir.join("privacy.toml"))
        .arg("--out")
        .arg(&saved)
        .args(["--collector", &format!("http://{}", collector.addr)])
        .arg("--token-file")
        .arg(dir.join("ingest.tok"))
        .arg("--salt-file")
        .arg(&salt_file)
        .env("FAKE_ADB_CONFIG", dir.join("config.json"));
    cmd.args(common::fake_phone_probe_args(&dir));
    let run = cmd.output().unwrap();
    let console = [run.stdout.as_slice(), run.stderr.as_slice()].concat();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&console)
    );
    assert_eq!(collector.stored(), 1);

    // The phone's identity did reach the probe: its hash is the fleet-salted serial.
    let export = collector.get("/v1/export?since=0", READ);
    let stored: serde_json::Value =
        serde_json::from_slice(export.body.split(|&b| b == b'\n').next().unwrap()).unwrap();
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(format!("{salt}\0{serial}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored["device"]["device_hash"], expected.as_str());
    assert_eq!(stored["device"]["device_hash_scope"], "fleet");

    // A fleet around it, then the analyst's outputs.
    ok(&[
        "simulate",
        "--devices",
        "300",
        "--seed",
        "3",
        "--collector",
        &format!("http://{}", collector.addr),
        "--token-file",
        dir.join("ingest.tok").to_str().unwrap(),
    ]);
    let (data, report) = (dir.join("data"), dir.join("report"));
    ok(&[
        "export",
        "--db",
        &collector.db,
        "--out",
        data.to_str().unwrap(),
    ]);
    ok(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    let export_all = collector.get("/v1/export?since=0", READ).body;
    let logs = collector.logs().join("\n");

    let needles = needles(serial, &salt);
    let mut leaks = Vec::new();
    let mut check = |what: String, bytes: &[u8]| {
        let hits = found_in(bytes, &needles);
        if !hits.is_empty() {
            leaks.push(format!("{what}: {hits:?}"));
        }
    };
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let secrets = [
        salt_file.clone(),
        dir.join("ingest.tok"),
        dir.join("read.tok"),
    ];
    let mut searched = 0;
    for f in files {
        // Not outputs: the fake phone's own files, this test's inputs, the secrets.
        if f.starts_with(dir.join("phones"))
            || f.starts_with(dir.join("probes"))
            || secrets.contains(&f)
        {
            continue;
        }
        if ["phone.json", "config.json", "privacy.toml"]
            .iter()
            .any(|n| f.file_name().is_some_and(|x| x == *n))
        {
            continue;
        }
        searched += 1;
        check(f.display().to_string(), &std::fs::read(&f).unwrap());
    }
    assert!(searched > 10, "only {searched} output files searched");
    check("the export stream".into(), &export_all);
    check("the collector's logs".into(), logs.as_bytes());
    if let Backend::Postgres(_) = backend {
        check(
            "the PostgreSQL tables".into(),
            postgres_text(&collector.db).as_bytes(),
        );
    }
    // The console may name the phone by its serial, and nothing else.
    let console_needles: Vec<String> = needles.iter().filter(|n| *n != serial).cloned().collect();
    let hits = found_in(&console, &console_needles);
    if !hits.is_empty() {
        leaks.push(format!("the run's console: {hits:?}"));
    }
    assert!(
        leaks.is_empty(),
        "identifiers or the salt leaked:\n{}",
        leaks.join("\n")
    );
    // The local reports are there and were searched.
    assert!(std::fs::read_dir(&saved).unwrap().count() >= 1);
}

/// Every row of every table in the collector's database, as text.
fn postgres_text(url: &str) -> String {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let tables: Vec<String> = c
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!tables.is_empty());
    let mut text = String::new();
    for t in tables {
        for row in c.query(&format!("SELECT t::text FROM {t} t"), &[]).unwrap() {
            text.push_str(row.get::<_, &str>(0));
            text.push('\n');
        }
    }
    text
}

#[test]
fn no_identifier_leaves_the_phone_sqlite() {
    pipeline(&Backend::Sqlite, "privacy-sqlite", "FSPRIV7Q3X9K2M");
}

#[test]
fn no_identifier_leaves_the_phone_postgres() {
    match std::env::var("FLEETSCOPE_TEST_PG") {
        Ok(url) if !url.is_empty() => {
            pipeline(&Backend::Postgres(url), "privacy-pg", "FSPRIV4H8W2N6P")
        }
        _ => common::skip(
            "FLEETSCOPE_TEST_PG is not set (scripts/test.sh starts PostgreSQL and sets it)",
        ),
    }
}
