//! `fleetscope loadgen`: post realistic reports (about 20 KB each, a fresh report_id
//! every time) to a collector at a target rate over keep-alive connections, and print
//! throughput and latency percentiles. Open loop: a slow server shows up as latency
//! and as 503/429 answers, not as a politely lower send rate.

use crate::probe::bench::{percentile, summarise};
use crate::schema::{KernelResult, LatencyStats, Report, SuiteRef};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct LoadgenConfig {
    /// `http://HOST:PORT`
    pub collector: String,
    pub token: String,
    pub rate: f64,
    pub duration: Duration,
    pub connections: usize,
    pub report_bytes: usize,
}

/// A report of roughly `bytes` bytes with a placeholder id to substitute per request.
fn template(bytes: usize) -> (String, &'static str) {
    const PLACEHOLDER: &str = "00000000-0000-4000-8000-000000000000";
    let mut r = Report::new(
        crate::probe::identify::identify(&crate::probe::identify::Sysroot::snapshot(
            Default::default(),
            Default::default(),
            "loadgen",
        )),
        PLACEHOLDER.into(),
        SuiteRef {
            id: "standard".into(),
            version: "1".into(),
            sha256: "ab".repeat(32),
        },
    );
    r.started_at = "2026-11-29T01:00:00Z".into();
    r.finished_at = "2026-11-29T01:00:16Z".into();
    r.device.os = "android".into();
    r.device.model = Some("Pixel 8".into());
    let one = KernelResult {
        kernel: "gemm".into(),
        dtype: Some(crate::schema::Dtype::I8),
        shape: [
            ("m".to_string(), 3136),
            ("n".to_string(), 64),
            ("k".to_string(), 32),
        ]
        .into_iter()
        .collect(),
        threads: 4,
        cpus: vec![4, 5, 6, 7],
        path: Some("qs8-gemm-8x8c4-neondot (exact)".into()),
        ops: Some(12_845_056),
        latency_us: Some(LatencyStats {
            min: 110.2,
            p10: 111.9,
            p50: 113.4,
            p90: 118.0,
            p99: 131.7,
            max: 190.3,
            mean: 114.6,
            stddev: 4.1,
            mad: 1.8,
            cv: 0.0358,
        }),
        samples: Some(880),
        gops: Some(113.27),
        freq_khz: Some(2_367_000),
        temp_c: Some(crate::schema::TempReading {
            before: Some(38.5),
            after: Some(39.1),
        }),
        skipped: None,
    };
    while serde_json::to_string(&r).map_or(0, |s| s.len()) < bytes {
        r.results.push(one.clone());
    }
    (serde_json::to_string(&r).unwrap_or_default(), PLACEHOLDER)
}

struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    /// POST one body; the status, or None on a connection error (the connection is reset).
    fn post(&mut self, host: &str, token: &str, body: &[u8]) -> Option<u16> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).ok()?;
            s.set_nodelay(true).ok();
            s.set_read_timeout(Some(Duration::from_secs(30))).ok();
            self.stream = Some(BufReader::new(s));
        }
        let result = (|| {
            let reader = self.stream.as_mut()?;
            let head = format!("POST /v1/reports HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n", body.len());
            let s = reader.get_mut();
            s.write_all(head.as_bytes()).ok()?;
            s.write_all(body).ok()?;
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
            let (mut len, mut close) = (0usize, false);
            loop {
                line.clear();
                reader.read_line(&mut line).ok()?;
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                let lower = l.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().ok()?;
                }
                close |= lower.starts_with("connection:") && lower.contains("close");
            }
            let mut sink = vec![0u8; len];
            reader.read_exact(&mut sink).ok()?;
            Some((status, close))
        })();
        match result {
            Some((status, close)) => {
                if close {
                    self.stream = None;
                }
                Some(status)
            }
            None => {
                self.stream = None;
                None
            }
        }
    }
}

/// Run the load and return the summary text.
pub fn run(cfg: &LoadgenConfig) -> Result<String, String> {
    let addr = cfg
        .collector
        .strip_prefix("http://")
        .ok_or("--collector must be http://HOST:PORT (loadgen speaks plain HTTP)")?
        .trim_end_matches('/')
        .to_string();
    let (tpl, placeholder) = template(cfg.report_bytes);
    let connections = cfg.connections.max(1);
    let interval = Duration::from_secs_f64(connections as f64 / cfg.rate.max(0.001));
    let start = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|w| {
            let (addr, token, tpl, deadline) =
                (addr.clone(), cfg.token.clone(), tpl.clone(), cfg.duration);
            std::thread::spawn(move || {
                let mut conn = Conn {
                    addr: addr.clone(),
                    stream: None,
                };
                let mut lat = Vec::new();
                let (mut ok, mut shed, mut other, mut failed) = (0u64, 0u64, 0u64, 0u64);
                // Stagger the workers across one interval.
                let mut next = start + interval.mul_f64(w as f64 / connections as f64);
                let mut ids = crate::probe::kernels::selftest::Rng::new(
                    crate::probe::suite::uuid_v4().len() as u64 * 1_000_003
                        + w as u64
                        + start.elapsed().subsec_nanos() as u64,
                );
                while start.elapsed() < deadline {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next += interval;
                    // A fresh v4-shaped id per report without a syscall per request.
                    let (a, b) = (ids.next_u64(), ids.next_u64());
                    let id = format!(
                        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                        a >> 32,
                        (a >> 16) & 0xffff,
                        a & 0xfff,
                        b >> 52,
                        b & 0xffff_ffff_ffff
                    );
                    let body = tpl.replacen(placeholder, &id, 1);
                    let t = Instant::now();
                    match conn.post(&addr, &token, body.as_bytes()) {
                        Some(s) if (200..300).contains(&s) => {
                            ok += 1;
                            lat.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                        Some(429) | Some(503) => shed += 1,
                        Some(_) => other += 1,
                        None => failed += 1,
                    }
                }
                (lat, ok, shed, other, failed)
            })
        })
        .collect();
    let (mut lat, mut ok, mut shed, mut other, mut failed) = (Vec::new(), 0, 0, 0, 0);
    for h in handles {
        let (l, o, s, x, f) = h.join().map_err(|_| "a load worker panicked")?;
        lat.extend(l);
        ok += o;
        shed += s;
        other += x;
        failed += f;
    }
    let secs = start.elapsed().as_secs_f64();
    let stats = summarise(&lat).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    Ok(format!(
        "target {:.0} reports/s for {:.0} s over {connections} connections, {} bytes per report\n\
         acknowledged {ok} ({:.0}/s), shed 503/429 {shed}, other status {other}, connection errors {failed}\n\
         latency of acknowledged posts, ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}\n",
        cfg.rate, secs, tpl.len(), ok as f64 / secs, stats.p50, stats.p90, stats.p99, percentile(&lat, 99.9), stats.max
    ))
}
