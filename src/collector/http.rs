//! The HTTP API. Every refusal is a 4xx with a JSON body that names the problem;
//! a report is acknowledged (2xx) only after its transaction committed.

use super::metrics::Metrics;
use super::store::{Incoming, Outcome, Store, StoreError};
use crate::schema::{parse_report, ReportError, MAX_REPORT_BYTES};
use crate::util::Token;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Largest batch body accepted (NDJSON of many reports).
pub const MAX_BATCH_BYTES: usize = 64 << 20;
/// Most reports one group commit takes.
const GROUP_COMMIT: usize = 512;
/// Least time from one group commit's start to the next. Committing whenever a
/// report waited made commits of two reports at 4000 reports/s (39,906 commits for
/// 80,248 reports; the fsync takes well under a millisecond here), each rewriting the
/// tails of the tables and paying its own fsync. At most one commit per 4 ms took
/// the writer's system time from 62 to 42 us per report at that rate; it adds at
/// most 4 ms to an acknowledgement, and nothing when the collector is idle.
const COMMIT_PACE: Duration = Duration::from_millis(4);
/// The writer's nice value when the process may raise it (root or CAP_SYS_NICE).
/// Measured on this 2-core machine at 5000 reports/s with the load generator beside
/// the collector: the writer spent a quarter of its time runnable but waiting for a
/// core behind the request handlers, which is latency every acknowledgement pays.
const WRITER_NICE: i32 = -5;

pub struct App {
    pub store: Arc<dyn Store>,
    pub ingest_token: Token,
    pub read_token: Token,
    pub metrics: Arc<Metrics>,
    queue: mpsc::Sender<Job>,
}

struct Job {
    items: Vec<Incoming>,
    reply: oneshot::Sender<Reply>,
}

/// The writer's answer to one job: the outcomes, and reports already written for the
/// request handler to free. Hundreds of small allocations make a report; freeing them
/// on the writer's thread cost it 1 % of the process's time on its critical path.
struct Reply {
    outcomes: Result<Vec<Outcome>, StoreError>,
    spent: Vec<Incoming>,
}

impl App {
    /// Start the writer thread and return the shared state.
    pub fn new(
        store: Arc<dyn Store>,
        ingest_token: Token,
        read_token: Token,
        queue_capacity: usize,
    ) -> Result<Arc<App>, String> {
        let (queue, rx) = mpsc::channel(queue_capacity.max(1));
        let writer_store = Arc::clone(&store);
        let metrics = Arc::new(Metrics::default());
        let writer_metrics = Arc::clone(&metrics);
        std::thread::Builder::new()
            .name("collector-writer".into())
            .spawn(move || writer(writer_store, rx, &writer_metrics))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Arc::new(App {
            store,
            ingest_token,
            read_token,
            metrics,
            queue,
        }))
    }
}

/// Group commit, on its own thread: take every job waiting (up to GROUP_COMMIT
/// reports), write them in one transaction, and answer each job only after that
/// commit. Ends when the last sender (the App) is gone.
fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, metrics: &Metrics) {
    if let Err(e) = super::set_thread_nice(WRITER_NICE) {
        eprintln!(
            "note: the storage writer runs at normal priority ({e}); with CAP_SYS_NICE it runs ahead of the request handlers"
        );
    }
    let mut last_start = Instant::now();
    while let Some(first) = rx.blocking_recv() {
        // Under load, wait out the pace so that the commit carries more reports;
        // an idle collector commits at once.
        if let Some(wait) = COMMIT_PACE.checked_sub(last_start.elapsed()) {
            std::thread::sleep(wait);
        }
        last_start = Instant::now();
        let mut n = first.items.len();
        let mut jobs = vec![first];
        while n < GROUP_COMMIT {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.items.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = jobs.iter().map(|j| j.items.len()).collect();
        let mut items: Vec<Incoming> = jobs
            .iter_mut()
            .flat_map(|j| std::mem::take(&mut j.items))
            .collect();
        // A panic inside the store fails this batch, not the writer.
        let started = Instant::now();
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.insert_batch(&items)))
                .unwrap_or_else(|_| Err(StoreError("the storage writer panicked".into())));
        metrics.commit.observe(started.elapsed());
        if result.is_ok() {
            metrics.commits.fetch_add(1, Ordering::Relaxed);
            metrics
                .committed_reports
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        let mut outcomes = result.map(Vec::into_iter);
        for (job, size) in jobs.into_iter().zip(sizes) {
            let mine = match &mut outcomes {
                Ok(it) => Ok(it.by_ref().take(size).collect()),
                Err(e) => Err(e.clone()),
            };
            // The first handler to wake frees the whole batch.
            let spent = std::mem::take(&mut items);
            let _ = job.reply.send(Reply {
                outcomes: mine,
                spent,
            });
        }
    }
}

/// A JSON error response.
fn refuse(
    app: &App,
    status: StatusCode,
    reason: &'static str,
    message: impl Into<String>,
    fields: serde_json::Value,
) -> Response {
    app.metrics.reject(reason);
    let mut body = json!({ "error": reason, "message": message.into() });
    if !fields.is_null() {
        body["fields"] = fields;
    }
    let mut resp = (status, Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}

fn authorized(token: &Token, headers: &HeaderMap) -> bool {
    token.accepts(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
}

fn unauthorized(app: &App) -> Response {
    refuse(
        app,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong bearer token (Authorization: Bearer <token>)",
        serde_json::Value::Null,
    )
}

fn report_error(app: &App, e: &ReportError, prefix: &str) -> Response {
    let (status, fields) = match e {
        ReportError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, serde_json::Value::Null),
        ReportError::TooDeep { .. } | ReportError::Malformed(_) => {
            (StatusCode::BAD_REQUEST, serde_json::Value::Null)
        }
        ReportError::UnknownSchema(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{ "field": "schema", "problem": e.to_string() }]),
        ),
        ReportError::Invalid(list) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(list
                .iter()
                .map(|f| json!({ "field": f.field, "problem": f.problem }))
                .collect::<Vec<_>>()),
        ),
    };
    let reason = match e.code() {
        "too_large" => "too_large",
        "too_deep" => "too_deep",
        "malformed" => "malformed",
        "unknown_schema" => "unknown_schema",
        _ => "invalid",
    };
    refuse(app, status, reason, format!("{prefix}{e}"), fields)
}

/// The request body, gunzipped when `Content-Encoding: gzip`, bounded by `limit`
/// bytes before and after decompression.
async fn read_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = |app: &App| {
        refuse(
            app,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over the {limit}-byte limit; send fewer results per report"),
            serde_json::Value::Null,
        )
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(app));
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let text = format!("{e} {:?}", std::error::Error::source(&e));
            return Err(if text.contains("length limit") {
                too_large(app)
            } else {
                refuse(
                    app,
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("could not read the request body: {e}"),
                    serde_json::Value::Null,
                )
            });
        }
    };
    match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        None | Some("identity") => Ok(bytes),
        Some("gzip") => {
            let mut out = Vec::new();
            let mut dec = flate2::read::GzDecoder::new(&bytes[..]).take(limit as u64 + 1);
            match dec.read_to_end(&mut out) {
                Ok(_) if out.len() > limit => Err(too_large(app)),
                Ok(_) => Ok(Bytes::from(out)),
                Err(e) => Err(refuse(
                    app,
                    StatusCode::BAD_REQUEST,
                    "bad_gzip",
                    format!("Content-Encoding is gzip but the body does not decompress: {e}"),
                    serde_json::Value::Null,
                )),
            }
        }
        Some(other) => Err(refuse(
            app,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Encoding {other:?} is not supported; send identity or gzip"),
            serde_json::Value::Null,
        )),
    }
}

fn content_type_is(headers: &HeaderMap, wanted: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|ct| wanted.contains(&ct.as_str()))
}

async fn submit(app: &App, mut items: Vec<Incoming>) -> Result<Vec<Outcome>, Response> {
    if app.store.compresses_raw() {
        for item in &mut items {
            if let Err(e) = item.compress() {
                app.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                return Err((StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "store_error", "message": format!("the report was not stored: {e}") }))).into_response());
            }
        }
    }
    let (tx, rx) = oneshot::channel();
    if app.queue.try_send(Job { items, reply: tx }).is_err() {
        return Err(refuse(
            app,
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the collector is at capacity; retry after the Retry-After delay",
            serde_json::Value::Null,
        ));
    }
    let reply = rx.await.map(|r| {
        drop(r.spent);
        r.outcomes
    });
    match reply {
        Ok(Ok(outcomes)) => Ok(outcomes),
        Ok(Err(e)) => {
            app.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
            Err((StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], Json(json!({ "error": "store_error", "message": format!("the report was not stored: {e}") }))).into_response())
        }
        Err(_) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "store_error", "message": "the storage writer stopped" })),
        )
            .into_response()),
    }
}

fn outcome_json(report_id: &str, o: Outcome) -> serde_json::Value {
    match o {
        Outcome::Stored { seq } => {
            json!({ "status": "stored", "report_id": report_id, "seq": seq })
        }
        Outcome::Duplicate { seq } => {
            json!({ "status": "duplicate", "report_id": report_id, "seq": seq })
        }
        Outcome::Conflict { seq } => {
            json!({ "status": "conflict", "report_id": report_id, "seq": seq, "error": "conflict", "message": "this report_id is stored with different content" })
        }
    }
}

pub async fn post_report(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    if !authorized(&app.ingest_token, &headers) {
        return unauthorized(&app);
    }
    if !content_type_is(&headers, &["application/json"]) {
        return refuse(
            &app,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
            serde_json::Value::Null,
        );
    }
    let bytes = match read_body(&app, &headers, body, MAX_REPORT_BYTES).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let report = match parse_report(&bytes) {
        Ok(r) => r,
        Err(e) => return report_error(&app, &e, ""),
    };
    let id = report.report_id.clone();
    let incoming = match Incoming::from_body(report, &bytes) {
        Ok(i) => i,
        Err(e) => {
            return refuse(
                &app,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                e.to_string(),
                serde_json::Value::Null,
            )
        }
    };
    let outcome = match submit(&app, vec![incoming]).await {
        Ok(mut o) if o.len() == 1 => o.remove(0),
        Ok(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "store_error", "message": "storage returned no outcome" })),
            )
                .into_response()
        }
        Err(r) => return r,
    };
    app.metrics.ingest.observe(started.elapsed());
    match outcome {
        Outcome::Stored { .. } => {
            app.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            (StatusCode::CREATED, Json(outcome_json(&id, outcome))).into_response()
        }
        Outcome::Duplicate { .. } => {
            app.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            (StatusCode::OK, Json(outcome_json(&id, outcome))).into_response()
        }
        Outcome::Conflict { .. } => {
            app.metrics.reject("conflict");
            (StatusCode::CONFLICT, Json(outcome_json(&id, outcome))).into_response()
        }
    }
}

/// NDJSON of reports: every line is validated first; one bad line refuses the batch
/// and nothing is stored. Valid batches are written in one transaction.
pub async fn post_batch(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    if !authorized(&app.ingest_token, &headers) {
        return unauthorized(&app);
    }
    if !content_type_is(
        &headers,
        &[
            "application/x-ndjson",
            "application/ndjson",
            "application/jsonl",
        ],
    ) {
        return refuse(
            &app,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/x-ndjson (one report per line)",
            serde_json::Value::Null,
        );
    }
    let bytes = match read_body(&app, &headers, body, MAX_BATCH_BYTES).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut items = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let report = match parse_report(line) {
            Ok(r) => r,
            Err(e) => return report_error(&app, &e, &format!("line {}: ", n + 1)),
        };
        match Incoming::from_body(report, line) {
            Ok(i) => items.push(i),
            Err(e) => {
                return refuse(
                    &app,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    format!("line {}: {e}", n + 1),
                    serde_json::Value::Null,
                )
            }
        }
    }
    if items.is_empty() {
        return refuse(
            &app,
            StatusCode::BAD_REQUEST,
            "malformed",
            "the batch holds no reports",
            serde_json::Value::Null,
        );
    }
    let ids: Vec<String> = items.iter().map(|i| i.report_id.clone()).collect();
    match submit(&app, items).await {
        Ok(outcomes) => {
            for o in &outcomes {
                match o {
                    Outcome::Stored { .. } => app.metrics.accepted.fetch_add(1, Ordering::Relaxed),
                    Outcome::Duplicate { .. } => {
                        app.metrics.duplicates.fetch_add(1, Ordering::Relaxed)
                    }
                    Outcome::Conflict { .. } => {
                        app.metrics.reject("conflict");
                        0
                    }
                };
            }
            let results: Vec<_> = ids
                .iter()
                .zip(outcomes)
                .map(|(id, o)| outcome_json(id, o))
                .collect();
            (StatusCode::OK, Json(json!({ "results": results }))).into_response()
        }
        Err(r) => r,
    }
}

/// Run a store read on the blocking pool; a failure is a 503 with a JSON error.
async fn read_store<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let store = Arc::clone(&app.store);
    match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
        Ok(Ok(v)) => Ok(v),
        _ => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "store_error", "message": "the store could not be read" })),
        )
            .into_response()),
    }
}

pub async fn get_report(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&app.read_token, &headers) {
        return unauthorized(&app);
    }
    match read_store(&app, move |s| s.get(&id)).await {
        Ok(Some(raw)) => ([(header::CONTENT_TYPE, "application/json")], raw).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "not_found", "message": "no report with this report_id" })),
        )
            .into_response(),
        Err(r) => r,
    }
}

pub async fn devices(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&app.read_token, &headers) {
        return unauthorized(&app);
    }
    let after = q.get("after").cloned().unwrap_or_default();
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return refuse(
                &app,
                StatusCode::BAD_REQUEST,
                "malformed",
                "limit must be a whole number from 1 to 1000 (devices per page)",
                serde_json::Value::Null,
            )
        }
    };
    match read_store(&app, move |s| s.devices(&after, limit)).await {
        Ok(rows) => {
            let next = (rows.len() == limit)
                .then(|| rows.last().map(|r| r.device_hash.clone()))
                .flatten();
            Json(json!({ "devices": rows, "next": next })).into_response()
        }
        Err(r) => r,
    }
}

/// Every stored report after `since`, as NDJSON, streamed page by page with no cap.
pub async fn export(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&app.read_token, &headers) {
        return unauthorized(&app);
    }
    let since = match q.get("since").map(|s| s.parse::<i64>()) {
        None => 0,
        Some(Ok(s)) if s >= 0 => s,
        Some(_) => {
            return refuse(
                &app,
                StatusCode::BAD_REQUEST,
                "malformed",
                "since must be a non-negative ingest sequence number",
                serde_json::Value::Null,
            )
        }
    };
    let store = Arc::clone(&app.store);
    let stream = futures_util::stream::unfold(Some(since), move |cursor| {
        let store = Arc::clone(&store);
        async move {
            let cursor = cursor?;
            let page = tokio::task::spawn_blocking(move || store.export(cursor, 1000)).await;
            match page {
                Ok(Ok(rows)) if rows.is_empty() => None,
                Ok(Ok(rows)) => {
                    let last = rows.last().map(|r| r.0).unwrap_or(cursor);
                    let mut buf = String::new();
                    for (_, raw) in rows {
                        buf.push_str(&raw);
                        buf.push('\n');
                    }
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), Some(last)))
                }
                _ => Some((
                    Err(std::io::Error::other("the store failed during export")),
                    None,
                )),
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response()
}

pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    match read_store(&app, |s| s.count()).await {
        Ok(_) => "ok\n".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response(),
    }
}

pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let stored = read_store(&app, |s| s.count()).await.unwrap_or(0);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(stored),
    )
        .into_response()
}
