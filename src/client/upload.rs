//! `fleetscope upload`: deliver report files to a collector with retries (exponential
//! backoff with full jitter, `Retry-After` honoured) and a local spool, so a report
//! that cannot be delivered now is kept and sent later. A report is removed from the
//! spool only after the collector acknowledged it (stored, or an exact duplicate).

use super::ClientError;
use crate::schema::parse_report;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// `http(s)://HOST:PORT`
    pub collector: String,
    pub token: String,
    pub spool: Option<PathBuf>,
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl UploadConfig {
    /// Six attempts, 0.5 s doubling up to 30 s, no spool: what `fleetscope upload`
    /// and `fleetscope run` use unless told otherwise.
    pub fn new(collector: &str, token: &str) -> UploadConfig {
        UploadConfig {
            collector: collector.to_string(),
            token: token.to_string(),
            spool: None,
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// What happened to one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Stored,
    Duplicate,
    /// Refused for good (4xx other than 429): kept where it was, with the reason.
    Refused(String),
    /// Not delivered after every attempt: kept (spooled when a spool is given).
    Deferred(String),
}

enum Attempt {
    Done(Delivery),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
}

/// One report (`application/json` to `/v1/reports`) or a batch (NDJSON to
/// `/v1/reports:batch`).
#[derive(Clone, Copy)]
enum Route {
    Report,
    Batch,
}

fn post(
    client: &reqwest::blocking::Client,
    cfg: &UploadConfig,
    route: Route,
    body: &[u8],
) -> Attempt {
    let (path, content_type) = match route {
        Route::Report => ("/v1/reports", "application/json"),
        Route::Batch => ("/v1/reports:batch", "application/x-ndjson"),
    };
    let url = format!("{}{path}", cfg.collector.trim_end_matches('/'));
    let resp = client
        .post(url)
        .bearer_auth(&cfg.token)
        .header("Content-Type", content_type)
        .body(body.to_vec())
        .send();
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            return Attempt::Retry {
                reason: format!("network: {e}"),
                after: None,
            }
        }
    };
    let status = resp.status().as_u16();
    let after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(60)));
    let text = resp.text().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let message = json["message"].as_str().unwrap_or(&text).to_string();
    match status {
        200..=299 if json["status"] == "duplicate" => Attempt::Done(Delivery::Duplicate),
        200..=299 => Attempt::Done(Delivery::Stored),
        429 | 500..=599 => Attempt::Retry {
            reason: format!("HTTP {status}: {message}"),
            after,
        },
        _ => Attempt::Done(Delivery::Refused(format!("HTTP {status}: {message}"))),
    }
}

/// Full jitter: a uniform delay in [0, min(max, base * 2^attempt)].
fn backoff(cfg: &UploadConfig, attempt: u32, seed: &mut crate::util::Rng) -> Duration {
    let cap = cfg
        .base_delay
        .saturating_mul(1u32 << attempt.min(16))
        .min(cfg.max_delay);
    cap.mul_f64((seed.below(1001) as f64) / 1000.0)
}

fn deliver(
    client: &reqwest::blocking::Client,
    cfg: &UploadConfig,
    route: Route,
    body: &[u8],
    rng: &mut crate::util::Rng,
) -> Delivery {
    let mut last = String::new();
    for attempt in 0..cfg.max_attempts.max(1) {
        match post(client, cfg, route, body) {
            Attempt::Done(d) => return d,
            Attempt::Retry { reason, after } => {
                last = reason;
                if attempt + 1 < cfg.max_attempts {
                    std::thread::sleep(after.unwrap_or_else(|| backoff(cfg, attempt, rng)));
                }
            }
        }
    }
    Delivery::Deferred(last)
}

/// An HTTP client for a collector.
pub fn client() -> Result<reqwest::blocking::Client, ClientError> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ClientError::Start {
            what: "the HTTP client",
            detail: e.to_string(),
        })
}

/// Deliver one NDJSON batch of reports with the same retries as single reports.
/// The collector stores a valid batch in one transaction (duplicates acknowledged).
pub fn deliver_batch(
    client: &reqwest::blocking::Client,
    cfg: &UploadConfig,
    ndjson: &[u8],
) -> Result<(), ClientError> {
    let mut rng = crate::util::Rng::new(ndjson.len() as u64 ^ 0xba7c);
    match deliver(client, cfg, Route::Batch, ndjson, &mut rng) {
        Delivery::Stored | Delivery::Duplicate => Ok(()),
        Delivery::Refused(r) => Err(ClientError::Refused(r)),
        Delivery::Deferred(reason) => Err(ClientError::NotDelivered {
            attempts: cfg.max_attempts,
            reason,
        }),
    }
}

/// Upload `files` (and everything already in the spool). Returns one line per report
/// and whether every report was acknowledged.
pub fn upload(cfg: &UploadConfig, files: &[PathBuf]) -> Result<(String, bool), ClientError> {
    let client = client()?;
    let mut rng = crate::util::Rng::new(std::process::id() as u64 ^ 0x5eed);
    let mut queue: Vec<(PathBuf, bool)> = files.iter().map(|f| (f.clone(), false)).collect();
    if let Some(spool) = &cfg.spool {
        let spool_error = |action| {
            move |source| ClientError::Spool {
                action,
                path: spool.clone(),
                source,
            }
        };
        std::fs::create_dir_all(spool).map_err(spool_error("create"))?;
        let mut spooled: Vec<PathBuf> = std::fs::read_dir(spool)
            .map_err(spool_error("read"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        spooled.sort();
        queue.extend(spooled.into_iter().map(|p| (p, true)));
    }
    if queue.is_empty() {
        return Err(ClientError::NothingToUpload);
    }
    let (mut out, mut all_ok) = (String::new(), true);
    for (path, from_spool) in queue {
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                all_ok = false;
                out += &format!("{}: cannot read: {e}\n", path.display());
                continue;
            }
        };
        let report = match parse_report(&body) {
            Ok(r) => r,
            Err(e) => {
                all_ok = false;
                out += &format!(
                    "{}: not sent, the collector would refuse it: {e}\n",
                    path.display()
                );
                continue;
            }
        };
        let result = deliver(&client, cfg, Route::Report, &body, &mut rng);
        let line = match &result {
            Delivery::Stored => "stored".to_string(),
            Delivery::Duplicate => "already stored (duplicate)".to_string(),
            Delivery::Refused(r) => format!("refused: {r}"),
            Delivery::Deferred(r) => format!("not delivered: {r}"),
        };
        match (&result, &cfg.spool, from_spool) {
            (Delivery::Stored | Delivery::Duplicate, _, true) => remove(&path, &mut out),
            (Delivery::Deferred(_), Some(spool), false) => {
                let target = spool.join(format!("{}.json", report.report_id));
                match std::fs::copy(&path, &target) {
                    Ok(_) => {
                        out += &format!("{}: spooled to {}\n", path.display(), target.display())
                    }
                    Err(e) => out += &format!("{}: could not spool: {e}\n", path.display()),
                }
            }
            _ => {}
        }
        all_ok &= matches!(result, Delivery::Stored | Delivery::Duplicate);
        out += &format!("{} ({}): {line}\n", path.display(), report.report_id);
    }
    Ok((out, all_ok))
}

fn remove(path: &Path, out: &mut String) {
    if let Err(e) = std::fs::remove_file(path) {
        *out += &format!(
            "{}: delivered but could not be removed from the spool: {e}\n",
            path.display()
        );
    }
}
