//! The collector scenarios, run against each storage backend by
//! `tests/collector_sqlite.rs` and `tests/collector_postgres.rs`: a real
//! `fleetscope serve` process on loopback, real HTTP, a real database.
#![allow(dead_code)]

use super::http::{request, sample_report, Backend, Collector, Response, INGEST, READ};
use flate2::{write::GzEncoder, Compression};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const JSON: &str = "Content-Type: application/json";

fn auth() -> String {
    format!("{JSON}\nAuthorization: Bearer {INGEST}")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn ingest_replay_conflict_and_reads(b: &Backend) {
    let c = Collector::start_on(b, "ingest", &[]);
    let report = sample_report();
    let id = report["report_id"].as_str().unwrap().to_string();
    let r = c.post_report(&report);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "stored");
    let seq = r.json()["seq"].as_i64().unwrap();
    // An exact replay answers 2xx with the original acknowledgement and stores nothing.
    let r = c.post_report(&report);
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json()["status"].as_str(), r.json()["seq"].as_i64()),
        (Some("duplicate"), Some(seq))
    );
    // Same id, different content: 409, nothing stored.
    let mut changed = report.clone();
    changed["device"]["model"] = json!("Pixel 8 Pro");
    let r = c.post_report(&changed);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "conflict");
    assert_eq!(c.stored(), 1);
    // gzip bodies.
    let other = sample_report();
    let body = gzip(&serde_json::to_vec(&other).unwrap());
    let r = c.post(&body, &format!("{}\nContent-Encoding: gzip", auth()));
    assert_eq!(r.status, 201, "{}", r.text());
    // Reads: the report by id, devices, export after a sequence number.
    let r = c.get(&format!("/v1/reports/{id}"), READ);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["report_id"], json!(id));
    assert_eq!(r.json()["results"][0]["gops"], json!(47.6));
    assert_eq!(
        c.get("/v1/reports/00000000-0000-4000-8000-000000000000", READ)
            .status,
        404
    );
    let r = c.get("/v1/devices?limit=1", READ);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["devices"].as_array().unwrap().len(), 1);
    assert!(
        r.json()["next"].is_string(),
        "a full page names the next cursor: {}",
        r.text()
    );
    for bad in ["abc", "0", "1001", "-1"] {
        let r = c.get(&format!("/v1/devices?limit={bad}"), READ);
        assert_eq!(r.status, 400, "limit={bad}: {}", r.text());
        assert_eq!(r.json()["error"], "malformed", "limit={bad}");
        assert!(r.json()["message"].as_str().unwrap().contains("limit"));
    }
    let r = c.get(&format!("/v1/export?since={seq}"), READ);
    let lines: Vec<Value> = r
        .body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["report_id"], other["report_id"]);
    assert_eq!(c.stored(), 2);
    // Metrics count what happened.
    let m = request(&c.addr, "GET /metrics HTTP/1.1\nHost: x", b"").text();
    assert!(m.contains("fleetscope_reports_accepted_total 2"), "{m}");
    assert!(m.contains("fleetscope_reports_duplicate_total 1"), "{m}");
    // Every report that reached the writer (2 stored, 1 replay, 1 conflict), one POST
    // at a time, so in 1 to 4 group commits.
    let counter = |name: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {m}"))
    };
    assert_eq!(counter("fleetscope_group_commit_reports_total"), 4, "{m}");
    assert!(
        (1..=4).contains(&counter("fleetscope_group_commits_total")),
        "{m}"
    );
    // Each group commit is timed, and within the histogram's last finite bucket.
    assert_eq!(
        counter("fleetscope_commit_seconds_count"),
        counter("fleetscope_group_commits_total"),
        "{m}"
    );
    assert_eq!(
        counter("fleetscope_commit_seconds_bucket{le=\"2.5\"}"),
        counter("fleetscope_commit_seconds_count"),
        "{m}"
    );
    assert_eq!(
        counter("fleetscope_ingest_seconds_count"),
        counter("fleetscope_ingest_seconds_bucket{le=\"+Inf\"}"),
        "{m}"
    );
    assert!(
        m.contains("fleetscope_reports_rejected_total{reason=\"conflict\"} 1"),
        "{m}"
    );
    assert!(
        !m.contains(INGEST) && !m.contains(READ),
        "tokens must never appear"
    );
    assert_eq!(
        request(&c.addr, "GET /healthz HTTP/1.1\nHost: x", b"").status,
        200
    );
}

/// One hostile request: what to send, the status and error code expected.
struct Case {
    name: &'static str,
    head: String,
    body: Vec<u8>,
    status: u16,
    error: &'static str,
    /// A field the error body must name, if any.
    field: Option<&'static str>,
}

fn post_case(
    name: &'static str,
    headers: &str,
    body: Vec<u8>,
    status: u16,
    error: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        head: format!(
            "POST /v1/reports HTTP/1.1\nHost: x\nContent-Length: {}\n{headers}",
            body.len()
        ),
        body,
        status,
        error,
        field,
    }
}

fn mutated(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = sample_report();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn hostile_cases() -> Vec<Case> {
    let a = auth();
    let valid = serde_json::to_vec(&sample_report()).unwrap();
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes();
    let bomb = gzip(&vec![b' '; 6 << 20]);
    let huge = vec![b' '; 5 << 20];
    let mut c = vec![
        post_case("no token", JSON, valid.clone(), 401, "unauthorized", None),
        post_case(
            "wrong token",
            &format!("{JSON}\nAuthorization: Bearer nope"),
            valid.clone(),
            401,
            "unauthorized",
            None,
        ),
        post_case(
            "read token used to ingest",
            &format!("{JSON}\nAuthorization: Bearer {READ}"),
            valid.clone(),
            401,
            "unauthorized",
            None,
        ),
        post_case(
            "basic auth",
            &format!("{JSON}\nAuthorization: Basic {INGEST}"),
            valid.clone(),
            401,
            "unauthorized",
            None,
        ),
        post_case(
            "text/plain",
            &format!("Content-Type: text/plain\nAuthorization: Bearer {INGEST}"),
            valid.clone(),
            415,
            "unsupported_media_type",
            None,
        ),
        post_case(
            "no content type",
            &format!("Authorization: Bearer {INGEST}"),
            valid.clone(),
            415,
            "unsupported_media_type",
            None,
        ),
        post_case(
            "form content type",
            &format!(
                "Content-Type: application/x-www-form-urlencoded\nAuthorization: Bearer {INGEST}"
            ),
            valid.clone(),
            415,
            "unsupported_media_type",
            None,
        ),
        post_case(
            "brotli encoding",
            &format!("{a}\nContent-Encoding: br"),
            valid.clone(),
            415,
            "unsupported_media_type",
            None,
        ),
        post_case("empty body", &a, Vec::new(), 400, "malformed", None),
        post_case("not json", &a, b"hello".to_vec(), 400, "malformed", None),
        post_case(
            "truncated json",
            &a,
            valid[..valid.len() / 2].to_vec(),
            400,
            "malformed",
            None,
        ),
        post_case(
            "json array",
            &a,
            b"[1,2,3]".to_vec(),
            400,
            "malformed",
            None,
        ),
        post_case(
            "json string",
            &a,
            b"\"report\"".to_vec(),
            400,
            "malformed",
            None,
        ),
        post_case("deep nesting", &a, deep, 400, "too_deep", None),
        post_case(
            "NaN literal",
            &a,
            String::from_utf8(valid.clone())
                .unwrap()
                .replace("47.6", "NaN")
                .into_bytes(),
            400,
            "malformed",
            None,
        ),
        post_case(
            "number out of range",
            &a,
            String::from_utf8(valid.clone())
                .unwrap()
                .replace("47.6", "1e999")
                .into_bytes(),
            400,
            "malformed",
            None,
        ),
        post_case("huge body", &a, huge, 413, "too_large", None),
        post_case(
            "gzip bomb",
            &format!("{a}\nContent-Encoding: gzip"),
            bomb,
            413,
            "too_large",
            None,
        ),
        post_case(
            "bad gzip",
            &format!("{a}\nContent-Encoding: gzip"),
            b"\x1f\x8b\x08garbage".to_vec(),
            400,
            "bad_gzip",
            None,
        ),
        post_case(
            "gzip header on plain json",
            &format!("{a}\nContent-Encoding: gzip"),
            valid.clone(),
            400,
            "bad_gzip",
            None,
        ),
        post_case(
            "missing schema",
            &a,
            mutated(|v| drop(v.as_object_mut().unwrap().remove("schema"))),
            400,
            "malformed",
            None,
        ),
        post_case(
            "schema not a string",
            &a,
            mutated(|v| v["schema"] = json!(1)),
            400,
            "malformed",
            None,
        ),
        post_case(
            "unknown schema major",
            &a,
            mutated(|v| v["schema"] = json!("fleetscope.report/2")),
            422,
            "unknown_schema",
            Some("schema"),
        ),
        post_case(
            "foreign schema",
            &a,
            mutated(|v| v["schema"] = json!("other.report/1")),
            422,
            "unknown_schema",
            Some("schema"),
        ),
        post_case(
            "negative latency",
            &a,
            mutated(|v| v["results"][0]["latency_us"]["p50"] = json!(-1.0)),
            422,
            "invalid",
            Some("results[0].latency_us.p50"),
        ),
        post_case(
            "percentiles out of order",
            &a,
            mutated(|v| v["results"][0]["latency_us"]["p10"] = json!(99.0)),
            422,
            "invalid",
            Some("results[0].latency_us"),
        ),
        post_case(
            "negative gops",
            &a,
            mutated(|v| v["results"][0]["gops"] = json!(-3.0)),
            422,
            "invalid",
            Some("results[0].gops"),
        ),
        post_case(
            "threads as string",
            &a,
            mutated(|v| v["results"][0]["threads"] = json!("one")),
            400,
            "malformed",
            None,
        ),
        post_case(
            "zero threads",
            &a,
            mutated(|v| v["results"][0]["threads"] = json!(0)),
            422,
            "invalid",
            Some("results[0].threads"),
        ),
        post_case(
            "measured without latency",
            &a,
            mutated(|v| {
                drop(
                    v["results"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("latency_us"),
                )
            }),
            422,
            "invalid",
            Some("results[0].latency_us"),
        ),
        post_case(
            "zero samples",
            &a,
            mutated(|v| v["results"][0]["samples"] = json!(0)),
            422,
            "invalid",
            Some("results[0].samples"),
        ),
        post_case(
            "empty kernel name",
            &a,
            mutated(|v| v["results"][0]["kernel"] = json!("")),
            422,
            "invalid",
            Some("results[0].kernel"),
        ),
        post_case(
            "huge string",
            &a,
            mutated(|v| v["device"]["model"] = json!("x".repeat(10_000))),
            422,
            "invalid",
            Some("device.model"),
        ),
        post_case(
            "report id not a uuid",
            &a,
            mutated(|v| v["report_id"] = json!("../../etc/passwd")),
            422,
            "invalid",
            Some("report_id"),
        ),
        post_case(
            "bad timestamp",
            &a,
            mutated(|v| v["started_at"] = json!("yesterday")),
            422,
            "invalid",
            Some("started_at"),
        ),
        post_case(
            "finished before started",
            &a,
            mutated(|v| v["finished_at"] = json!("2026-11-28T00:00:00Z")),
            422,
            "invalid",
            Some("finished_at"),
        ),
        post_case(
            "bad suite sha256",
            &a,
            mutated(|v| v["suite"]["sha256"] = json!("zz")),
            422,
            "invalid",
            Some("suite.sha256"),
        ),
        post_case(
            "implausible temperature",
            &a,
            mutated(|v| v["thermal"]["zones"][0]["temp_c"] = json!(999.0)),
            422,
            "invalid",
            Some("thermal.zones[0].temp_c"),
        ),
        post_case(
            "empty os",
            &a,
            mutated(|v| v["device"]["os"] = json!("")),
            422,
            "invalid",
            Some("device.os"),
        ),
        post_case(
            "dtype unknown",
            &a,
            mutated(|v| v["results"][0]["dtype"] = json!("f64")),
            400,
            "malformed",
            None,
        ),
        post_case(
            "too many results",
            &a,
            mutated(|v| {
                let one = v["results"][1].clone();
                v["results"] = Value::Array(vec![one; 20_001]);
            }),
            422,
            "invalid",
            Some("results"),
        ),
    ];
    // Batches: one bad line refuses the whole batch; nothing of it is stored.
    let good = serde_json::to_string(&sample_report()).unwrap();
    let bad = String::from_utf8(mutated(|v| v["report_id"] = json!("nope"))).unwrap();
    let body = format!("{good}\n{bad}\n").into_bytes();
    c.push(Case { name: "batch with one bad line", head: format!("POST /v1/reports:batch HTTP/1.1\nHost: x\nContent-Length: {}\nContent-Type: application/x-ndjson\nAuthorization: Bearer {INGEST}", body.len()), body, status: 422, error: "invalid", field: Some("report_id") });
    let body = format!("{good}\n").into_bytes();
    c.push(Case {
        name: "batch as application/json",
        head: format!(
            "POST /v1/reports:batch HTTP/1.1\nHost: x\nContent-Length: {}\n{a}",
            body.len()
        ),
        body,
        status: 415,
        error: "unsupported_media_type",
        field: None,
    });
    c.push(Case { name: "empty batch", head: format!("POST /v1/reports:batch HTTP/1.1\nHost: x\nContent-Length: 2\nContent-Type: application/x-ndjson\nAuthorization: Bearer {INGEST}"), body: b"\n\n".to_vec(), status: 400, error: "malformed", field: None });
    // Readers.
    let get = |name, path: &str, token: &str, status, error| Case {
        name,
        head: format!("GET {path} HTTP/1.1\nHost: x\nAuthorization: Bearer {token}"),
        body: Vec::new(),
        status,
        error,
        field: None,
    };
    c.push(get(
        "export without token",
        "/v1/export?since=0",
        "",
        401,
        "unauthorized",
    ));
    c.push(get(
        "export with the ingest token",
        "/v1/export?since=0",
        INGEST,
        401,
        "unauthorized",
    ));
    c.push(get(
        "export since negative",
        "/v1/export?since=-1",
        READ,
        400,
        "malformed",
    ));
    c.push(get(
        "export since text",
        "/v1/export?since=abc",
        READ,
        400,
        "malformed",
    ));
    c.push(get(
        "devices with the ingest token",
        "/v1/devices",
        INGEST,
        401,
        "unauthorized",
    ));
    c.push(get(
        "report with no token",
        "/v1/reports/x",
        "",
        401,
        "unauthorized",
    ));
    c
}

pub fn hostile_inputs_are_refused_and_change_nothing(b: &Backend) {
    let c = Collector::start_on(b, "hostile", &[]);
    assert_eq!(c.post_report(&sample_report()).status, 201);
    let before = c.stored();
    let cases = hostile_cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for case in &cases {
        let r = request(&c.addr, &case.head, &case.body);
        let body = r.json();
        assert_eq!(r.status, case.status, "{}: {}", case.name, r.text());
        assert_eq!(body["error"], case.error, "{}: {}", case.name, r.text());
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: a message says what was wrong",
            case.name
        );
        if let Some(field) = case.field {
            let named = body["fields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x["field"] == field))
                || body["message"].as_str().unwrap_or("").contains(field);
            assert!(
                named,
                "{}: the error must name {field}: {}",
                case.name,
                r.text()
            );
        }
        assert_eq!(c.stored(), before, "{}: nothing may be stored", case.name);
    }
    println!(
        "{} hostile cases refused, store unchanged at {before}",
        cases.len()
    );
    // Each request is logged with its route and status, and no secret ever is: the
    // hostile cases send both tokens, right and wrong.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let logged = || {
        let logs = c.logs();
        let n = logs.iter().filter(|l| l.contains(" request ")).count();
        (logs, n)
    };
    while logged().1 < cases.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (logs, n) = logged();
    assert!(
        n >= cases.len(),
        "{n} request lines for {} requests",
        cases.len()
    );
    assert!(logs
        .iter()
        .any(|l| l.contains("route=\"/v1/reports\" status=413")));
    for line in &logs {
        assert!(
            !line.contains(INGEST) && !line.contains(READ),
            "a token in the logs: {line}"
        );
    }
}

/// POST `reports` as one NDJSON batch.
fn post_batch(c: &Collector, reports: &[&Value]) -> Response {
    let body: String = reports
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    let head = format!("POST /v1/reports:batch HTTP/1.1\nHost: x\nContent-Length: {}\nContent-Type: application/x-ndjson\nAuthorization: Bearer {INGEST}", body.len());
    request(&c.addr, &head, body.as_bytes())
}

pub fn batches_are_stored_whole(b: &Backend) {
    let c = Collector::start_on(b, "batch", &[]);
    let reports: Vec<Value> = (0..5).map(|_| sample_report()).collect();
    let all: Vec<&Value> = reports.iter().collect();
    let r = post_batch(&c, &all);
    assert_eq!(r.status, 200, "{}", r.text());
    let statuses: Vec<&str> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|s| if s == "stored" { "stored" } else { "other" })
        .collect();
    assert_eq!(statuses, vec!["stored"; 5]);
    let r = post_batch(&c, &all);
    assert!(r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "duplicate"));
    assert_eq!(c.stored(), 5);

    // One batch holding a new report twice, a stored one, and a changed copy of a
    // stored id: stored once, then duplicate, duplicate, conflict, in batch order.
    let fresh = sample_report();
    let mut changed = reports[1].clone();
    changed["probe_version"] = Value::from("9.9.9");
    let r = post_batch(&c, &[&fresh, &fresh, &reports[0], &changed]);
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["results"].as_array().unwrap().clone();
    let statuses: Vec<&str> = results
        .iter()
        .map(|x| x["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        ["stored", "duplicate", "duplicate", "conflict"],
        "{results:?}"
    );
    assert!(results[0]["seq"].is_i64(), "{results:?}");
    assert_eq!(results[0]["seq"], results[1]["seq"]);
    assert_eq!(c.stored(), 6);
}

pub fn slow_bodies_time_out_and_overload_sheds(b: &Backend) {
    let c = Collector::start_on(
        b,
        "slow",
        &["--request-timeout-ms", "500", "--max-in-flight", "1"],
    );
    // Slow loris: announce a body and never finish it.
    let mut s = std::net::TcpStream::connect(&c.addr).unwrap();
    let head = format!("POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n{JSON}\r\nAuthorization: Bearer {INGEST}\r\n\r\n{{\"schema\":");
    s.write_all(head.as_bytes()).unwrap();
    // While it holds the only slot, others are shed with 503 + Retry-After.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let shed = c.post_report(&sample_report());
    assert_eq!(shed.status, 503, "{}", shed.text());
    assert!(shed.header("retry-after").is_some());
    assert_eq!(shed.json()["error"], "overloaded");
    let m = request(&c.addr, "GET /metrics HTTP/1.1\nHost: x", b"").text();
    assert!(
        m.contains("fleetscope_reports_rejected_total{reason=\"overloaded\"} 1"),
        "{m}"
    );
    let r = super::http::read_response(s);
    assert_eq!(r.status, 408, "{}", r.text());
    assert_eq!(c.stored(), 0);
    // Once the slot is free, ingest works again.
    assert_eq!(c.post_report(&sample_report()).status, 201);
}

pub fn acknowledged_reports_survive_kill_9(b: &Backend) {
    let mut c = Collector::start_on(b, "crash", &[]);
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
                    let head = format!("POST /v1/reports HTTP/1.1\nHost: x\nContent-Length: {}\nContent-Type: application/json\nAuthorization: Bearer {}", body.len(), super::http::INGEST);
                    // After the kill, connects fail: stop then.
                                        let Some(r) = super::http::try_request(&addr, &head, &body) else { break };
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
    let (dir, db) = (c.dir.clone(), c.db.clone());
    drop(c);
    let c = Collector::start_in(dir, &db, &[]);
    let export = c.get("/v1/export?since=0", super::http::READ);
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

/// `fleetscope loadgen` against this collector; its summary's counters by name
/// (`acknowledged`, `shed`, `other`, `errors`).
fn loadgen(c: &Collector, rate: &str, connections: &str) -> HashMap<&'static str, u64> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(["loadgen", "--collector", &format!("http://{}", c.addr)])
        .arg("--token-file")
        .arg(c.dir.join("ingest.tok"))
        .args([
            "--rate",
            rate,
            "--duration-s",
            "2",
            "--connections",
            connections,
        ])
        .output()
        .expect("run fleetscope loadgen");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number_after = |label: &str| -> u64 {
        let at = text
            .find(label)
            .unwrap_or_else(|| panic!("no {label:?} in {text}"));
        text[at + label.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {label:?} in {text}"))
    };
    assert!(
        text.contains("latency of acknowledged posts from when each was due, ms: p50 ")
            && text.contains("service time (sent to answered), ms: p50 "),
        "{text}"
    );
    HashMap::from([
        ("acknowledged", number_after("acknowledged ")),
        ("shed", number_after("shed 503/429 ")),
        ("other", number_after("other status ")),
        ("errors", number_after("connection errors ")),
    ])
}

/// The load generator's reports are valid and its counts are the collector's: at a
/// rate the collector keeps up with, every post is acknowledged and stored once; when
/// it sheds (one request at a time against 32 connections), what it acknowledged is
/// exactly what is stored and the rest was refused with 503, not lost.
pub fn load_generator_counts_match_the_store(b: &Backend) {
    let c = Collector::start_on(b, "loadgen", &[]);
    let n = loadgen(&c, "100", "4");
    assert!(n["acknowledged"] >= 100, "{n:?}");
    assert_eq!((n["shed"], n["other"], n["errors"]), (0, 0, 0), "{n:?}");
    assert_eq!(c.stored() as u64, n["acknowledged"]);

    let c = Collector::start_on(b, "loadgen-shed", &["--max-in-flight", "1"]);
    let n = loadgen(&c, "3000", "32");
    assert!(
        n["shed"] > 0,
        "one slot against 32 connections must shed: {n:?}"
    );
    assert!(n["acknowledged"] > 0, "{n:?}");
    assert_eq!((n["other"], n["errors"]), (0, 0), "{n:?}");
    assert_eq!(c.stored() as u64, n["acknowledged"]);
}
