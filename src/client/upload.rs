//! `fleetscope upload`: deliver report files to a collector with retries (exponential
//! backoff with full jitter on network errors, 429 and 5xx; `Retry-After` honoured as
//! seconds or an HTTP date) and a local spool, so a report that cannot be delivered
//! now is kept and sent later. A report enters the spool atomically (temporary file,
//! fsync, rename, directory fsync: a crash leaves the whole report or none of it) and
//! leaves it only after the collector acknowledged it (stored, or an exact duplicate).

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
        .and_then(|v| retry_after(v, std::time::SystemTime::now()));
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

/// The longest a `Retry-After` may hold a report back.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A `Retry-After` value (RFC 9110 10.2.3): delay-seconds or an HTTP date, as the
/// wait from `now` (a date in the past is no wait), at most a minute; `None` when it
/// is neither.
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
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
        let entries: Vec<PathBuf> = std::fs::read_dir(spool)
            .map_err(spool_error("read"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        // A temporary file is a spool write cut short: its report is still where it came from.
        for tmp in entries
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "tmp"))
        {
            let _ = std::fs::remove_file(tmp);
        }
        let mut spooled: Vec<PathBuf> = entries
            .into_iter()
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
                match write_atomically(&target, &body) {
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

/// Write `bytes` to `target` so that a crash at any point leaves either the old state
/// or the whole new file: a temporary file beside it, fsync, rename, fsync the directory.
fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn remove(path: &Path, out: &mut String) {
    if let Err(e) = std::fs::remove_file(path) {
        *out += &format!(
            "{}: delivered but could not be removed from the spool: {e}\n",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::retry_after;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example.
        let now = UNIX_EPOCH + Duration::from_secs(784111777);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:42 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("86400", now), Some(Duration::from_secs(60)));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn an_atomic_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("fleetscope-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("r.json");
        super::write_atomically(&target, b"{}").unwrap();
        super::write_atomically(&target, b"{\"a\":1}").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"{\"a\":1}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
