//! `fleetscope upload` against a real collector on loopback: delivery, replays,
//! refusals that are kept, and the spool when the collector cannot be reached.

mod common;

use common::http::{sample_report, Collector};
use std::process::Command;

fn upload(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .arg("upload")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn upload_retries_refusals_and_spool() {
    let c = Collector::start("upload", &[]);
    let url = format!("http://{}", c.addr);
    let token = c.dir.join("ingest.tok");
    let token = token.to_str().unwrap();
    let files: Vec<String> = (0..3)
        .map(|i| {
            let p = c.dir.join(format!("r{i}.json"));
            std::fs::write(&p, serde_json::to_vec_pretty(&sample_report()).unwrap()).unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--collector", &url, "--token-file", token]);
    let (code, out) = upload(&args);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches(": stored").count(), 3, "{out}");
    assert_eq!(c.stored(), 3);
    // Replays are acknowledged as duplicates and store nothing.
    let (code, out) = upload(&args);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("duplicate").count(), 3, "{out}");
    assert_eq!(c.stored(), 3);

    // An invalid file is not sent; a conflicting one is refused and kept.
    let bad = c.dir.join("bad.json");
    std::fs::write(&bad, b"{\"schema\": \"fleetscope.report/1\"}").unwrap();
    let mut changed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    changed["device"]["model"] = serde_json::json!("another phone");
    let conflict = c.dir.join("conflict.json");
    std::fs::write(&conflict, serde_json::to_vec(&changed).unwrap()).unwrap();
    let (code, out) = upload(&[
        bad.to_str().unwrap(),
        conflict.to_str().unwrap(),
        "--collector",
        &url,
        "--token-file",
        token,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not sent, the collector would refuse it"),
        "{out}"
    );
    assert!(out.contains("refused: HTTP 409"), "{out}");
    assert!(
        conflict.exists() && bad.exists(),
        "refused reports are never deleted"
    );
    assert_eq!(c.stored(), 3);

    // A wrong token is a refusal, not a retry loop.
    let wrong = c.dir.join("wrong.tok");
    std::fs::write(&wrong, "nope").unwrap();
    let fresh = c.dir.join("fresh.json");
    std::fs::write(&fresh, serde_json::to_vec(&sample_report()).unwrap()).unwrap();
    let (code, out) = upload(&[
        fresh.to_str().unwrap(),
        "--collector",
        &url,
        "--token-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("refused: HTTP 401"), "{out}");

    // The collector is unreachable: retries, then the report waits in the spool.
    let spool = c.dir.join("spool");
    let dead = "http://127.0.0.1:1";
    let (code, out) = upload(&[
        fresh.to_str().unwrap(),
        "--collector",
        dead,
        "--token-file",
        token,
        "--spool",
        spool.to_str().unwrap(),
        "--max-attempts",
        "3",
        "--backoff-ms",
        "10",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not delivered: network"), "{out}");
    let spooled: Vec<_> = std::fs::read_dir(&spool).unwrap().collect();
    assert_eq!(spooled.len(), 1, "{out}");
    // Later, with the collector back: the spool is delivered and emptied.
    let (code, out) = upload(&[
        "--collector",
        &url,
        "--token-file",
        token,
        "--spool",
        spool.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": stored"), "{out}");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "delivered reports leave the spool"
    );
    assert_eq!(c.stored(), 4);
}

/// One request as a server reads it: the head and the body (by Content-Length).
fn read_request(s: &mut std::net::TcpStream) -> (String, Vec<u8>) {
    use std::io::Read;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the client closed before a whole request");
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while raw.len() < end + 4 + len {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0);
                raw.extend_from_slice(&buf[..n]);
            }
            return (head, raw[end + 4..end + 4 + len].to_vec());
        }
    }
}

#[test]
fn retries_on_500_502_503_429_and_acknowledges_once() {
    use std::io::Write;
    use std::time::{Duration, Instant, SystemTime};
    let c = Collector::start("upload-retry", &[]);
    let token = c.dir.join("ingest.tok");
    let report = c.dir.join("r.json");
    std::fs::write(&report, serde_json::to_vec(&sample_report()).unwrap()).unwrap();
    // A front server that fails on purpose, in this order, then passes requests on:
    // the 502 comes after the collector stored the report (a proxy losing the answer),
    // so the later attempt is a replay the collector must acknowledge without storing.
    let front = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let front_addr = front.local_addr().unwrap().to_string();
    let collector = c.addr.clone();
    let served = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for step in 0..5 {
            let (mut s, _) = front.accept().unwrap();
            let (head, body) = read_request(&mut s);
            seen.push(Instant::now());
            let auth = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap()
                .to_string();
            let forward = || {
                common::http::request(
                    &collector,
                    &format!("POST /v1/reports HTTP/1.1\nHost: x\nContent-Type: application/json\n{auth}\nContent-Length: {}", body.len()),
                    &body,
                )
            };
            let (status, extra, text) = match step {
                0 => (
                    "500 Internal Server Error".to_string(),
                    String::new(),
                    String::new(),
                ),
                1 => {
                    assert_eq!(forward().status, 201, "the collector stores it");
                    ("502 Bad Gateway".into(), String::new(), String::new())
                }
                2 => (
                    "503 Service Unavailable".into(),
                    "Retry-After: 1\r\n".into(),
                    String::new(),
                ),
                3 => {
                    let at = SystemTime::now() + Duration::from_secs(2);
                    let date = httpdate::fmt_http_date(at);
                    (
                        "429 Too Many Requests".into(),
                        format!("Retry-After: {date}\r\n"),
                        String::new(),
                    )
                }
                _ => {
                    let r = forward();
                    (
                        format!("{} Relayed", r.status),
                        "Content-Type: application/json\r\n".into(),
                        r.text(),
                    )
                }
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            s.write_all(answer.as_bytes()).unwrap();
        }
        seen
    });
    let (code, out) = upload(&[
        report.to_str().unwrap(),
        "--collector",
        &format!("http://{front_addr}"),
        "--token-file",
        token.to_str().unwrap(),
        "--max-attempts",
        "6",
        "--backoff-ms",
        "20",
    ]);
    let seen = served.join().unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        seen.len(),
        5,
        "five attempts: 500, 502, 503, 429, then the answer"
    );
    assert!(
        out.contains("already stored (duplicate)"),
        "acknowledged once, stored once: {out}"
    );
    assert_eq!(c.stored(), 1);
    let gap = |i: usize| seen[i + 1] - seen[i];
    // Backoff after 500 and 502: full jitter under 20 ms x 2^attempt.
    assert!(
        gap(0) < Duration::from_millis(500) && gap(1) < Duration::from_millis(500),
        "{:?}",
        [gap(0), gap(1)]
    );
    // Retry-After: 1 (seconds) and an HTTP date two seconds ahead (whole seconds, so
    // at least one second away when read).
    assert!(
        gap(2) >= Duration::from_millis(950),
        "Retry-After: 1 waited {:?}",
        gap(2)
    );
    assert!(
        gap(3) >= Duration::from_millis(950),
        "Retry-After as a date waited {:?}",
        gap(3)
    );
    assert!(gap(3) < Duration::from_secs(5), "{:?}", gap(3));
}

#[test]
fn a_spool_write_cut_short_is_never_sent() {
    let c = Collector::start("upload-tmp", &[]);
    let token = c.dir.join("ingest.tok");
    let spool = c.dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    // What a crash in the middle of spooling leaves: a temporary file, half written.
    let whole = serde_json::to_vec(&sample_report()).unwrap();
    std::fs::write(spool.join(".half.json.1234.tmp"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(spool.join("whole.json"), &whole).unwrap();
    let (code, out) = upload(&[
        "--collector",
        &format!("http://{}", c.addr),
        "--token-file",
        token.to_str().unwrap(),
        "--spool",
        spool.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches(": stored").count(), 1, "{out}");
    assert_eq!(c.stored(), 1);
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0, "{out}");
}
