//! `fleetscope loadgen`: post realistic reports (about 20 KB each, a fresh report_id
//! every time) to a collector at a target rate over keep-alive connections, and print
//! throughput and latency percentiles. Open loop: a slow server shows up as latency
//! and as 503/429 answers, not as a politely lower send rate.

use super::ClientError;
use crate::probe::bench::{percentile, summarise};
use crate::schema::{KernelResult, LatencyStats, Report, SuiteRef};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
pub struct LoadgenConfig {
    /// `http://HOST:PORT` of each node; connection i goes to node i mod n.
    pub collectors: Vec<String>,
    pub token: String,
    pub rate: f64,
    pub duration: Duration,
    pub connections: usize,
    pub report_bytes: usize,
}

/// Placeholders substituted per request: the report id and the device hash.
const ID_PLACEHOLDER: &str = "00000000-0000-4000-8000-000000000000";
const DEVICE_PLACEHOLDER: &str = "device-hash-placeholder-0000000000000000000000000000000000000000";

/// A report of roughly `bytes` bytes, shaped like a real probe's: results over the
/// suite's kernels and shapes, each with its own full-precision statistics (as
/// compressible as a real report, no more), from one device whose hash is substituted
/// per request so every report also upserts a device row.
fn template(bytes: usize) -> String {
    use crate::util::Rng;
    let mut r = Report::new(
        crate::probe::identify::identify(&crate::probe::identify::Sysroot::snapshot(
            Default::default(),
            Default::default(),
            "loadgen",
        )),
        ID_PLACEHOLDER.into(),
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
    r.device.device_hash = Some(DEVICE_PLACEHOLDER.into());
    const KERNELS: [(&str, &str); 5] = [
        ("gemm", "qs8-gemm-8x8c4-neondot (exact)"),
        ("gemm", "f32-gemm-8x8-neon"),
        ("conv3x3", "f32-igemm-8x8-neon"),
        ("dwconv3x3", "qs8-dwconv-neon"),
        ("gemv", "f32-gemv-neon"),
    ];
    const SHAPES: [(u64, u64, u64); 6] = [
        (3136, 64, 32),
        (784, 128, 128),
        (196, 256, 256),
        (49, 1024, 1024),
        (12544, 32, 16),
        (512, 512, 512),
    ];
    let mut rng = Rng::new(0x5eed);
    let mut unit = || rng.unit();
    while serde_json::to_string(&r).map_or(0, |s| s.len()) < bytes {
        let i = r.results.len();
        let (kernel, path) = KERNELS[i % KERNELS.len()];
        let (m, n, k) = SHAPES[(i / KERNELS.len()) % SHAPES.len()];
        let threads = [1u32, 4][i % 2];
        let ops = 2 * m * n * k;
        let p50 = 20.0 + 5000.0 * unit();
        let spread = 0.01 + 0.2 * unit();
        let latency = LatencyStats {
            min: p50 * (1.0 - spread),
            p10: p50 * (1.0 - spread / 3.0),
            p50,
            p90: p50 * (1.0 + spread / 2.0),
            p99: p50 * (1.0 + spread),
            max: p50 * (1.0 + 3.0 * spread),
            mean: p50 * (1.0 + spread / 10.0),
            stddev: p50 * spread / 2.5,
            mad: p50 * spread / 6.0,
            cv: spread / 2.5,
        };
        r.results.push(KernelResult {
            kernel: kernel.into(),
            dtype: Some(if path.starts_with("qs8") {
                crate::schema::Dtype::I8
            } else {
                crate::schema::Dtype::F32
            }),
            shape: [
                ("m".to_string(), m),
                ("n".to_string(), n),
                ("k".to_string(), k),
            ]
            .into_iter()
            .collect(),
            threads,
            cpus: if threads == 1 {
                vec![7]
            } else {
                vec![4, 5, 6, 7]
            },
            path: Some(path.into()),
            ops: Some(ops),
            latency_us: Some(latency),
            samples: Some(50 + (unit() * 2000.0) as u64),
            gops: Some(ops as f64 / p50 / 1e3),
            freq_khz: Some(1_800_000 + (unit() * 1_000_000.0) as u64),
            temp_c: Some(crate::schema::TempReading {
                before: Some(35.0 + 10.0 * unit()),
                after: Some(36.0 + 12.0 * unit()),
            }),
            skipped: None,
            energy: None,
        });
    }
    serde_json::to_string(&r).unwrap_or_default()
}

/// What one connection's worker saw.
#[derive(Default)]
struct Tally {
    /// From the moment a request was due to its answer: a request that waited for
    /// its connection behind a slow answer counts that wait (no coordinated omission).
    latencies_ms: Vec<f64>,
    /// From the moment a request was sent to its answer.
    service_ms: Vec<f64>,
    /// Requests sent more than one interval after they were due.
    late: u64,
    ok: u64,
    shed: u64,
    other: u64,
    failed: u64,
}

/// A keep-alive HTTP/1.1 connection, opened on first use and after any error.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

/// Longest wait for one answer before the connection counts as failed.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

impl Conn {
    /// Send one whole request; the status, or None on a connection error or timeout
    /// (the connection is then dropped and the next request opens a new one).
    async fn send(&mut self, request: &[u8]) -> Option<u16> {
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, self.exchange(request)).await;
        match answer {
            Ok(Some((status, close))) => {
                if close {
                    self.stream = None;
                }
                Some(status)
            }
            _ => {
                self.stream = None;
                None
            }
        }
    }

    /// The status and whether the server closes the connection.
    async fn exchange(&mut self, request: &[u8]) -> Option<(u16, bool)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await.ok()?;
            s.set_nodelay(true).ok();
            self.stream = Some(BufReader::new(s));
        }
        let reader = self.stream.as_mut()?;
        reader.get_mut().write_all(request).await.ok()?;
        let mut line = String::new();
        reader.read_line(&mut line).await.ok()?;
        let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
        let (mut len, mut close) = (0usize, false);
        loop {
            line.clear();
            reader.read_line(&mut line).await.ok()?;
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
        reader.read_exact(&mut sink).await.ok()?;
        Some((status, close))
    }
}

/// The request for one report: a fresh v4-shaped id and its own device (a fleet, not
/// one phone), head and body in one buffer so they leave in one write, as an HTTP
/// client with a write buffer sends them.
fn request(head: &str, tpl: &str, ids: &mut crate::util::Rng) -> Vec<u8> {
    let (a, b) = (ids.next_u64(), ids.next_u64());
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    );
    let device = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        a,
        b,
        a ^ b,
        a.rotate_left(17)
    );
    let body = tpl
        .replacen(ID_PLACEHOLDER, &id, 1)
        .replacen(DEVICE_PLACEHOLDER, &device, 1);
    let mut request = format!("{head}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

/// One connection's paced sender: a request every `interval` from its `first` slot
/// until the deadline; behind schedule it sends back to back until it has caught up.
async fn worker(
    mut conn: Conn,
    head: Arc<str>,
    tpl: Arc<str>,
    first: Instant,
    interval: Duration,
    deadline: Instant,
    seed: u64,
) -> Tally {
    let mut tally = Tally::default();
    let mut ids = crate::util::Rng::new(seed);
    let mut next = first;
    while Instant::now() < deadline {
        tokio::time::sleep_until(next.into()).await;
        let due = next;
        next += interval;
        let request = request(&head, &tpl, &mut ids);
        let sent = Instant::now();
        if sent > due + interval {
            tally.late += 1;
        }
        match conn.send(&request).await {
            Some(s) if (200..300).contains(&s) => {
                tally.ok += 1;
                let ms = |from: Instant| from.elapsed().as_secs_f64() * 1e3;
                tally.latencies_ms.push(ms(due));
                tally.service_ms.push(ms(sent));
            }
            Some(429) | Some(503) => tally.shed += 1,
            Some(_) => tally.other += 1,
            None => tally.failed += 1,
        }
    }
    tally
}

/// Run the load and return the summary text. All connections share one thread (an
/// event loop, as a client fleet's many sockets would): the generator's own CPU is
/// what it takes from the collector on a shared machine, so it takes as little as it can.
pub fn run(cfg: &LoadgenConfig) -> Result<String, ClientError> {
    let addrs: Vec<String> = cfg
        .collectors
        .iter()
        .map(|c| {
            c.strip_prefix("http://")
                .map(|a| a.trim_end_matches('/').to_string())
                .ok_or(ClientError::Usage(
                    "--collector must be http://HOST:PORT (loadgen speaks plain HTTP)",
                ))
        })
        .collect::<Result<_, _>>()?;
    if addrs.is_empty() {
        return Err(ClientError::Usage("give at least one --collector"));
    }
    let tpl: Arc<str> = template(cfg.report_bytes).into();
    let heads: Vec<Arc<str>> = addrs
        .iter()
        .map(|addr| {
            format!(
                "POST /v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: Bearer {}\r\n",
                cfg.token
            )
            .into()
        })
        .collect();
    let connections = cfg.connections.max(1);
    let interval = Duration::from_secs_f64(connections as f64 / cfg.rate.max(0.001));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Start {
            what: "the load generator's event loop",
            detail: e.to_string(),
        })?;
    let mut seed = [0u8; 8];
    crate::util::entropy::fill(&mut seed)?;
    let seed = u64::from_le_bytes(seed);
    let start = Instant::now();
    let tallies = runtime.block_on(async {
        let deadline = start + cfg.duration;
        let mut set = tokio::task::JoinSet::new();
        for w in 0..connections {
            let node = w % addrs.len();
            let conn = Conn {
                addr: addrs[node].clone(),
                stream: None,
            };
            // Stagger the workers across one interval.
            let first = start + interval.mul_f64(w as f64 / connections as f64);
            let seed = seed ^ (w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            set.spawn(worker(
                conn,
                Arc::clone(&heads[node]),
                Arc::clone(&tpl),
                first,
                interval,
                deadline,
                seed,
            ));
        }
        set.join_all().await
    });
    let secs = start.elapsed().as_secs_f64();
    let mut total = Tally::default();
    for t in tallies {
        total.latencies_ms.extend(t.latencies_ms);
        total.service_ms.extend(t.service_ms);
        total.late += t.late;
        total.ok += t.ok;
        total.shed += t.shed;
        total.other += t.other;
        total.failed += t.failed;
    }
    let Tally {
        latencies_ms: mut lat,
        service_ms: mut service,
        late,
        ok,
        shed,
        other,
        failed,
    } = total;
    let line = |v: &mut Vec<f64>| {
        let s = summarise(v).unwrap_or_default();
        v.sort_by(f64::total_cmp);
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            s.p50,
            s.p90,
            s.p99,
            percentile(v, 99.9),
            s.max
        )
    };
    Ok(format!(
        "target {:.0} reports/s for {:.0} s over {connections} connections, {} bytes per report\n\
         acknowledged {ok} ({:.0}/s), shed 503/429 {shed}, other status {other}, connection errors {failed}, sent over an interval late {late}\n\
         latency of acknowledged posts from when each was due, ms: {}\n\
         service time (sent to answered), ms: {}\n",
        cfg.rate, secs, tpl.len(), ok as f64 / secs, line(&mut lat), line(&mut service)
    ))
}
