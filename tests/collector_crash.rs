//! `kill -9` the collector during concurrent uploads: after a restart on the same
//! SQLite file, every acknowledged report is present exactly once.

mod common;

use common::http::{sample_report, Collector};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[test]
fn acknowledged_reports_survive_kill_9() {
    let mut c = Collector::start("crash", &[]);
    let addr = c.addr.clone();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (addr, acked, stop) = (addr.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let report = sample_report();
                    let body = serde_json::to_vec(&report).unwrap();
                    let head = format!("POST /v1/reports HTTP/1.1\nHost: x\nContent-Length: {}\nContent-Type: application/json\nAuthorization: Bearer {}", body.len(), common::http::INGEST);
                    // After the kill, connects fail: stop then.
                                        let Some(r) = common::http::try_request(&addr, &head, &body) else { break };
                    if r.status == 201 {
                        acked.lock().unwrap().push(report["report_id"].as_str().unwrap().to_string());
                    }
                }
            })
        })
        .collect();
    // Let uploads run, then kill the server mid-flight.
    while acked.lock().unwrap().len() < 200 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    c.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    let dir = c.dir.clone();
    drop(c);
    let c = Collector::start_in(dir, &[]);
    let export = c.get("/v1/export?since=0", common::http::READ);
    assert_eq!(export.status, 200);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for line in export.body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value =
            serde_json::from_slice(line).expect("every stored line is a whole report");
        *seen
            .entry(v["report_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let missing: Vec<&String> = acked.iter().filter(|id| !seen.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged reports lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(seen.values().all(|&n| n == 1), "a report stored twice");
    println!(
        "{} acknowledged before kill -9, {} stored after restart, none lost or doubled",
        acked.len(),
        seen.len()
    );
}
