//! The same collector scenarios against a real PostgreSQL server.
//! `scripts/test.sh` starts one (scripts/start-postgres.sh) and sets
//! `FLEETSCOPE_TEST_PG`; without it these tests say SKIPPED (and fail under CI).

mod common;

use common::collector_suite as suite;
use common::http::Backend;

fn backend() -> Option<Backend> {
    match std::env::var("FLEETSCOPE_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
        _ => {
            common::skip(
                "FLEETSCOPE_TEST_PG is not set (scripts/test.sh starts PostgreSQL and sets it)",
            );
            None
        }
    }
}

#[test]
fn ingest_replay_conflict_and_reads() {
    if let Some(b) = backend() {
        suite::ingest_replay_conflict_and_reads(&b);
    }
}

#[test]
fn hostile_inputs_are_refused_and_change_nothing() {
    if let Some(b) = backend() {
        suite::hostile_inputs_are_refused_and_change_nothing(&b);
    }
}

#[test]
fn batches_are_stored_whole() {
    if let Some(b) = backend() {
        suite::batches_are_stored_whole(&b);
    }
}

#[test]
fn slow_bodies_time_out_and_overload_sheds() {
    if let Some(b) = backend() {
        suite::slow_bodies_time_out_and_overload_sheds(&b);
    }
}

#[test]
fn load_generator_counts_match_the_store() {
    if let Some(b) = backend() {
        suite::load_generator_counts_match_the_store(&b);
    }
}

#[test]
fn acknowledged_reports_survive_kill_9() {
    if let Some(b) = backend() {
        suite::acknowledged_reports_survive_kill_9(&b);
    }
}

/// The CA that signed the test server's certificate (scripts/start-postgres.sh).
fn test_ca() -> std::path::PathBuf {
    std::env::var_os("FLEETSCOPE_TEST_PG_CA")
        .map(Into::into)
        .unwrap_or_else(|| "/tmp/fleetscope-pg-tls/ca.pem".into())
}

/// Whether every connection to `db` is encrypted, and how many there are.
fn encrypted_connections(admin: &str, db: &str) -> (bool, i64) {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    let rows = c
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&db],
        )
        .unwrap();
    let all = rows.iter().all(|r| r.get::<_, bool>(0));
    (all, rows.len() as i64)
}

#[test]
fn tls_require_and_verify_full() {
    let Some(Backend::Postgres(admin)) = backend() else {
        return;
    };
    let ca = test_ca();
    assert!(
        ca.is_file(),
        "scripts/start-postgres.sh writes the test CA at {}",
        ca.display()
    );
    // A fresh database, then collectors on it with each sslmode.
    let first = common::http::Collector::start_on(&Backend::Postgres(admin.clone()), "tls", &[]);
    let (dir, url) = (first.dir.clone(), first.db.clone());
    drop(first);
    let db_name = url.rsplit('/').next().unwrap().to_string();
    for query in [
        "sslmode=require".to_string(),
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
    ] {
        let c = common::http::Collector::start_in(dir.clone(), &format!("{url}?{query}"), &[]);
        let r = c.post_report(&common::http::sample_report());
        assert_eq!(r.status, 201, "{query}: {}", r.text());
        let (all, n) = encrypted_connections(&admin, &db_name);
        assert!(
            n >= 2 && all,
            "{query}: {n} connections, all encrypted: {all}"
        );
        drop(c);
    }
    // verify-full against the public roots: the test CA is not one of them.
    let (code, _, err) = common::fleetscope(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        &format!("{url}?sslmode=verify-full"),
        "--ingest-token-file",
        dir.join("ingest.tok").to_str().unwrap(),
        "--read-token-file",
        dir.join("read.tok").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
    // A root file that is not a certificate is named.
    let bogus = dir.join("not-a-ca.pem");
    std::fs::write(&bogus, "hello").unwrap();
    let (code, _, err) = common::fleetscope(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        &format!("{url}?sslmode=verify-full&sslrootcert={}", bogus.display()),
        "--ingest-token-file",
        dir.join("ingest.tok").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not-a-ca.pem"), "{err}");
}

/// A TCP relay on loopback that holds every chunk `delay` before passing it on: a
/// slow link to the database for one collector node.
fn slow_link(to: &str, delay: std::time::Duration) -> String {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let to = to.to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&to) else {
                continue;
            };
            let pump = move |mut from: TcpStream, mut into: TcpStream| {
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 << 10];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || {
                            std::thread::sleep(delay);
                            into.write_all(&buf[..n]).is_err()
                        } {
                            break;
                        }
                    }
                    let _ = into.shutdown(std::net::Shutdown::Both);
                });
            };
            pump(client.try_clone().unwrap(), server.try_clone().unwrap());
            pump(server, client);
        }
    });
    addr
}

/// Report ids in an exported dataset, with how often each appears.
fn exported_ids(dir: &std::path::Path) -> std::collections::HashMap<String, usize> {
    use polars::prelude::*;
    let df = fleetscope::analysis::scan(dir, "devices")
        .unwrap()
        .select([col("report_id")])
        .collect()
        .unwrap();
    let mut seen = std::collections::HashMap::new();
    for id in df
        .column("report_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
    {
        *seen.entry(id.to_string()).or_default() += 1;
    }
    seen
}

/// Two collector nodes over one PostgreSQL, written to at once, one of them over a
/// slow link to the database (each packet 8 ms late, so its transactions take many
/// times longer than the other's): every acknowledged report is stored exactly once;
/// a report sent to both nodes at the same moment is stored once and both answer with
/// its sequence, a changed copy gets 409 from either; a node killed with SIGKILL
/// mid-run loses nothing it acknowledged; and `fleetscope export`, run again and again
/// while reports arrive, writes every report exactly once: sequences commit in order,
/// so an export never passes one that commits late.
#[test]
fn several_nodes_store_once_and_the_export_never_skips() {
    use common::http::{sample_report, Collector, Response, INGEST};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier, Mutex};
    let Some(backend) = backend() else {
        return;
    };
    let mut fast = Collector::start_on(&backend, "nodes", &[]);
    let (host, rest) = fast.db.split_once('@').unwrap();
    let (hostport, path) = rest.split_once('/').unwrap();
    let via_slow_link = format!(
        "{host}@{}/{path}",
        slow_link(hostport, std::time::Duration::from_millis(8))
    );
    let dir_b = fast.dir.with_extension("node-b");
    let _ = std::fs::remove_dir_all(&dir_b);
    std::fs::create_dir_all(&dir_b).unwrap();
    for f in ["ingest.tok", "read.tok"] {
        std::fs::copy(fast.dir.join(f), dir_b.join(f)).unwrap();
    }
    let slow = Collector::start_in(dir_b.clone(), &via_slow_link, &[]);
    let nodes = [fast.addr.clone(), slow.addr.clone()];
    let post = |addr: &str, report: &serde_json::Value| -> Option<Response> {
        let body = serde_json::to_vec(report).unwrap();
        let head = format!("POST /v1/reports HTTP/1.1\nHost: x\nContent-Length: {}\nContent-Type: application/json\nAuthorization: Bearer {INGEST}", body.len());
        common::http::try_request(addr, &head, &body)
    };

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // Writers: each alternates between the nodes, moving on when one is gone.
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (nodes, acked, stop) = (nodes.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let report = sample_report();
                    i += 1;
                    let r =
                        post(&nodes[i % 2], &report).or_else(|| post(&nodes[(i + 1) % 2], &report));
                    if r.is_some_and(|r| r.status == 201) {
                        acked
                            .lock()
                            .unwrap()
                            .push(report["report_id"].as_str().unwrap().into());
                    }
                }
            })
        })
        .collect();
    // Replays: the same report to both nodes at once, then a changed copy.
    let replays = {
        let (nodes, acked, stop) = (nodes.clone(), Arc::clone(&acked), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut checked = 0;
            while !stop.load(Ordering::Relaxed) && checked < 20 {
                let report = sample_report();
                let gate = Arc::new(Barrier::new(2));
                let answers: Vec<Option<Response>> = nodes
                    .iter()
                    .map(|addr| {
                        let (addr, report, gate) =
                            (addr.clone(), report.clone(), Arc::clone(&gate));
                        std::thread::spawn(move || {
                            gate.wait();
                            post(&addr, &report)
                        })
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect();
                let [Some(a), Some(b)] = &answers[..] else {
                    break; // a node is gone: the kill came
                };
                let mut statuses = [a.status, b.status];
                statuses.sort();
                assert_eq!(statuses, [200, 201], "{} / {}", a.text(), b.text());
                assert_eq!(
                    a.json()["seq"],
                    b.json()["seq"],
                    "{} / {}",
                    a.text(),
                    b.text()
                );
                acked
                    .lock()
                    .unwrap()
                    .push(report["report_id"].as_str().unwrap().into());
                let mut changed = report.clone();
                changed["device"]["model"] = serde_json::json!("Pixel 8 Pro");
                for addr in &nodes {
                    if let Some(r) = post(addr, &changed) {
                        assert_eq!(r.status, 409, "{}", r.text());
                    }
                }
                checked += 1;
            }
            checked
        })
    };
    // The exporter: `fleetscope export` straight from the database, again and again.
    let out = fast.dir.join("export");
    let export = {
        let (db, out) = (fast.db.clone(), out.clone());
        move || {
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_fleetscope"))
                .args(["export", "--db", &db, "--out"])
                .arg(&out)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    };
    let exporter = {
        let (stop, export) = (Arc::clone(&stop), export.clone());
        std::thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(Ordering::Relaxed) {
                export();
                runs += 1;
            }
            runs
        })
    };
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        while acked.lock().unwrap().len() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{} acknowledged after 3 minutes, {n} awaited",
                acked.lock().unwrap().len()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    // The load generator on both nodes at once (`--collector` twice), alongside.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(["loadgen", "--collector", &format!("http://{}", nodes[0])])
        .args(["--collector", &format!("http://{}", nodes[1])])
        .arg("--token-file")
        .arg(fast.dir.join("ingest.tok"))
        .args(["--rate", "300", "--duration-s", "2", "--connections", "8"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let generated: usize = text
        .split("acknowledged ")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no acknowledged count in {text}"));
    assert!(generated >= 100, "{text}");
    wait_for(400);
    fast.kill9();
    let at_kill = acked.lock().unwrap().len();
    wait_for(at_kill + 200);
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let replayed = replays.join().unwrap();
    let runs = exporter.join().unwrap();
    export();

    let acked = acked.lock().unwrap().clone();
    let mut db = postgres::Client::connect(&fast.db, postgres::NoTls).unwrap();
    let stored: Vec<String> = db
        .query("SELECT report_id FROM reports", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let stored_set: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(stored_set.len(), stored.len(), "a report stored twice");
    // Stored reports are compressed with lz4 where the server has it (Debian's does).
    let row = db
        .query_one(
            "SELECT attcompression::text, current_setting('server_version_num')::int
             FROM pg_attribute WHERE attrelid = 'reports'::regclass AND attname = 'raw'",
            &[],
        )
        .unwrap();
    let (compression, version): (String, i32) = (row.get(0), row.get(1));
    if version >= 140000 {
        assert_eq!(compression, "l", "the reports' raw column is not lz4");
    }
    let lost: Vec<&String> = acked.iter().filter(|id| !stored_set.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged reports lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(
        stored.len() >= acked.len() + generated,
        "{} stored",
        stored.len()
    );
    let seen = exported_ids(&out);
    let skipped: Vec<&&String> = stored_set
        .iter()
        .filter(|id| !seen.contains_key(**id))
        .collect();
    assert!(
        skipped.is_empty(),
        "{} of {} stored reports never exported over {runs} runs: {:?}",
        skipped.len(),
        stored.len(),
        &skipped[..skipped.len().min(5)]
    );
    assert!(seen.values().all(|&n| n == 1), "a report exported twice");
    assert!(
        replayed >= 3,
        "only {replayed} simultaneous replays checked"
    );
    println!(
        "{} acknowledged ({at_kill} before the kill) and {generated} from loadgen on both nodes, {} stored, {replayed} simultaneous replays, {} exported over {runs} export runs, none lost, doubled or skipped",
        acked.len(),
        stored.len(),
        seen.len()
    );
    drop(slow);
    let _ = std::fs::remove_dir_all(&dir_b);
}
