//! A raw HTTP/1.1 client over TcpStream, so tests send exactly the bytes they mean
//! (hostile ones included), and a collector process started on a free loopback port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send `head` (request line + headers, without the blank line) and `body`.
pub fn request(addr: &str, head: &str, body: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req = head.trim_end().replace('\n', "\r\n").into_bytes();
    req.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    req.extend_from_slice(body);
    // A server may answer (413, 401) and close before the whole body is sent: read anyway.
    let _ = s.write_all(&req);
    read_response(s)
}

pub fn read_response(s: TcpStream) -> Response {
    try_read_response(s).expect("a complete HTTP response")
}

/// Like [`request`], but `None` when the connection fails or is cut (a killed server).
pub fn try_request(addr: &str, head: &str, body: &[u8]) -> Option<Response> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req = head.trim_end().replace('\n', "\r\n").into_bytes();
    req.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    req.extend_from_slice(body);
    let _ = s.write_all(&req);
    try_read_response(s)
}

fn try_read_response(mut s: TcpStream) -> Option<Response> {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}

pub const INGEST: &str = "ingest-token-for-tests";
pub const READ: &str = "read-token-for-tests";

/// A `fleetscope serve` child on 127.0.0.1:<free port> with a real SQLite file.
pub struct Collector {
    pub addr: String,
    pub dir: std::path::PathBuf,
    pub db: String,
    child: Child,
    /// Every line the collector wrote to stderr (it runs with `-vv`).
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Which backend a test suite runs against.
#[derive(Clone)]
pub enum Backend {
    Sqlite,
    /// An admin URL of a running PostgreSQL server; each collector gets a fresh database.
    Postgres(String),
}

impl Collector {
    pub fn start(name: &str, extra: &[&str]) -> Collector {
        Self::start_on(&Backend::Sqlite, name, extra)
    }

    /// A collector with a fresh store on `backend`.
    pub fn start_on(backend: &Backend, name: &str, extra: &[&str]) -> Collector {
        let dir = std::env::temp_dir().join(format!("fleetscope-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ingest.tok"), format!("  {INGEST}\n")).unwrap();
        std::fs::write(dir.join("read.tok"), format!("{READ}\n")).unwrap();
        let db = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.join("fleet.db").display()),
            Backend::Postgres(admin) => {
                let name = format!(
                    "fleetscope_{}_{}",
                    name.replace('-', "_"),
                    std::process::id()
                );
                let mut c = postgres::Client::connect(admin, postgres::NoTls)
                    .expect("connect to the test PostgreSQL");
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                    .expect("drop old test database");
                c.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let (base, _) = admin.rsplit_once('/').expect("admin URL ends in /DB");
                format!("{base}/{name}")
            }
        };
        Self::start_in(dir, &db, extra)
    }

    /// (Re)start on an existing directory and database.
    pub fn start_in(dir: std::path::PathBuf, db: &str, extra: &[&str]) -> Collector {
        let db = db.to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
            .args(["-vv", "serve", "--listen", "127.0.0.1:0", "--db", &db])
            .arg("--ingest-token-file")
            .arg(dir.join("ingest.tok"))
            .arg("--read-token-file")
            .arg(dir.join("read.tok"))
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fleetscope serve");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let addr = loop {
            let line = lines
                .next()
                .expect("collector exited before listening")
                .unwrap();
            logs.lock().unwrap().push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let kept = std::sync::Arc::clone(&logs);
        std::thread::spawn(move || lines.for_each(|l| kept.lock().unwrap().extend(l.ok())));
        Collector {
            addr,
            dir,
            db,
            child,
            logs,
        }
    }

    /// What the collector has logged so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub fn post(&self, body: &[u8], extra_headers: &str) -> Response {
        let head = format!(
            "POST /v1/reports HTTP/1.1\nHost: x\nContent-Length: {}\n{extra_headers}",
            body.len()
        );
        request(&self.addr, &head, body)
    }

    pub fn post_report(&self, report: &serde_json::Value) -> Response {
        let body = serde_json::to_vec(report).unwrap();
        self.post(
            &body,
            &format!("Content-Type: application/json\nAuthorization: Bearer {INGEST}"),
        )
    }

    pub fn get(&self, path: &str, token: &str) -> Response {
        request(
            &self.addr,
            &format!("GET {path} HTTP/1.1\nHost: x\nAuthorization: Bearer {token}"),
            b"",
        )
    }

    /// Reports in the store, from the export stream.
    pub fn stored(&self) -> usize {
        let r = self.get("/v1/export?since=0", READ);
        assert_eq!(r.status, 200, "{}", r.text());
        r.body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small valid report with a fresh id.
pub fn sample_report() -> serde_json::Value {
    let id = fleetscope::util::uuid_v4().unwrap();
    serde_json::json!({
        "schema": "fleetscope.report/1",
        "report_id": id,
        "probe_version": "0.1.0",
        "suite": { "id": "quick", "version": "1", "sha256": "ab".repeat(32) },
        "started_at": "2026-11-29T01:00:00Z",
        "finished_at": "2026-11-29T01:00:03Z",
        "device": { "os": "android", "model": "Pixel 8", "device_hash": format!("{:064x}", id.len() as u64 * 7919 + id.as_bytes()[0] as u64) },
        "soc": { "vendor": "Google", "chipset": "Tensor G3", "confidence": "medium" },
        "cpu": { "cpus": [], "clusters": [] },
        "gpu": { "gles": {}, "vulkan": {}, "opencl": {} },
        "thermal": { "zones": [ { "id": 0, "type": "cpu", "temp_c": 41.5 } ] },
        "results": [
            { "kernel": "gemm", "dtype": "f32", "shape": { "m": 64, "n": 64, "k": 64 }, "threads": 1, "cpus": [4], "path": "f32-gemm-8x8-neon",
              "ops": 524288, "latency_us": { "min": 10.0, "p10": 10.5, "p50": 11.0, "p90": 12.0, "p99": 14.0, "max": 20.0, "mean": 11.4, "stddev": 1.1, "mad": 0.5, "cv": 0.096 },
              "samples": 100, "gops": 47.6 },
            { "kernel": "peak_dot", "dtype": "i8", "shape": {}, "threads": 1, "cpus": [0], "skipped": "no dotprod on cortex-a53" }
        ],
        "errors": []
    })
}
