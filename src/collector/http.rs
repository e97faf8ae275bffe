//! The HTTP API, thin over `ingest` and the store: authentication (a layer per
//! token), content types,
//! bounded (and gunzipped) bodies, and the mapping of every outcome to a status and
//! a JSON body. Every refusal is a 4xx that names the problem; a report is
//! acknowledged (2xx) only after its transaction committed.

use super::ingest::{Ingest, IngestError, Refusal};
use super::metrics::Metrics;
use super::store::{Outcome, Store, StoreError};
use crate::schema::{ReportError, MAX_REPORT_BYTES};
use crate::util::Token;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

/// Largest batch body accepted (NDJSON of many reports).
pub const MAX_BATCH_BYTES: usize = 64 << 20;

/// What every handler shares.
pub struct App {
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub ingest_token: Token,
    pub read_token: Token,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// Start the ingest writer and return the shared state.
    pub fn new(
        store: Arc<dyn Store>,
        ingest_token: Token,
        read_token: Token,
        queue_capacity: usize,
    ) -> Result<Arc<App>, String> {
        let metrics = Arc::new(Metrics::default());
        let ingest = Ingest::start(Arc::clone(&store), Arc::clone(&metrics), queue_capacity)?;
        Ok(Arc::new(App {
            store,
            ingest,
            ingest_token,
            read_token,
            metrics,
        }))
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

/// One log event per request: its id (a counter of this process), method, route (the
/// matched pattern, not the path: ids stay out of the logs), status and latency.
/// Debug level (`-v`), and warn for a 5xx. Headers are never logged, so neither is a
/// token.
pub async fn log_request(req: Request, next: Next) -> Response {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let method = req.method().clone();
    // A reference count, not a copy of the string: the route is formatted only when
    // the event is logged.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let route = route.as_ref().map_or("(no route)", |p| p.as_str());
    let started = Instant::now();
    let resp = next.run(req).await;
    let (status, ms) = (
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3,
    );
    if resp.status().is_server_error() {
        tracing::warn!(id, %method, route, status, ms, "request");
    } else {
        tracing::debug!(id, %method, route, status, ms, "request");
    }
    resp
}

/// Routes that take reports: a request without the ingest token gets 401 before
/// anything of its body is read.
pub async fn require_ingest(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if !authorized(&app.ingest_token, req.headers()) {
        return unauthorized(&app);
    }
    next.run(req).await
}

/// Routes that read the store: the read token, or 401.
pub async fn require_read(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if !authorized(&app.read_token, req.headers()) {
        return unauthorized(&app);
    }
    next.run(req).await
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

/// One report as JSON: a batch of one, answered 201 stored, 200 duplicate or 409
/// conflict with the outcome itself.
pub async fn post_report(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    post(&app, headers, body, false).await
}

/// NDJSON of reports: every line is validated first; one bad line refuses the batch
/// and nothing is stored. Valid batches are written in one transaction and answered
/// 200 with one outcome per report.
pub async fn post_batch(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    post(&app, headers, body, true).await
}

/// The one ingest path of both routes.
async fn post(app: &App, headers: HeaderMap, body: Body, batch: bool) -> Response {
    let started = Instant::now();
    let (types, wanted, limit): (&[&str], _, _) = if batch {
        (
            &[
                "application/x-ndjson",
                "application/ndjson",
                "application/jsonl",
            ],
            "Content-Type must be application/x-ndjson (one report per line)",
            MAX_BATCH_BYTES,
        )
    } else {
        (
            &["application/json"],
            "Content-Type must be application/json",
            MAX_REPORT_BYTES,
        )
    };
    if !content_type_is(&headers, types) {
        return refuse(
            app,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            wanted,
            serde_json::Value::Null,
        );
    }
    let bytes = match read_body(app, &headers, body, limit).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let items = match app.ingest.parse(&bytes, batch) {
        Ok(items) => items,
        Err(r) => return refusal(app, r),
    };
    let ids: Vec<String> = items.iter().map(|i| i.report_id.clone()).collect();
    let outcomes = match app.ingest.submit(items).await {
        Ok(o) if o.len() == ids.len() => o,
        Ok(_) => {
            return store_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage returned no outcome",
            )
        }
        Err(e) => return ingest_error(app, e),
    };
    app.metrics.ingest.observe(started.elapsed());
    if batch {
        let results: Vec<_> = ids
            .iter()
            .zip(outcomes)
            .map(|(id, o)| outcome_json(id, o))
            .collect();
        return (StatusCode::OK, Json(json!({ "results": results }))).into_response();
    }
    let (id, outcome) = (&ids[0], outcomes[0]);
    let status = match outcome {
        Outcome::Stored { .. } => StatusCode::CREATED,
        Outcome::Duplicate { .. } => StatusCode::OK,
        Outcome::Conflict { .. } => StatusCode::CONFLICT,
    };
    (status, Json(outcome_json(id, outcome))).into_response()
}

/// The 4xx for reports refused before the store.
fn refusal(app: &App, r: Refusal) -> Response {
    let at = |line: Option<usize>| line.map(|n| format!("line {n}: ")).unwrap_or_default();
    match r {
        Refusal::Report { error, line } => report_error(app, &error, &at(line)),
        Refusal::Unstorable { error, line } => refuse(
            app,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{}{error}", at(line)),
            serde_json::Value::Null,
        ),
        Refusal::LocalHash { line } => refuse(
            app,
            StatusCode::UNPROCESSABLE_ENTITY,
            "local_device_hash",
            format!(
                "{}the report's device_hash is local-only (made without the fleet's salt), so \
                 the fleet could not count its device; produce reports for upload with \
                 `fleetscope run --salt-file F` (the collector writes the salt beside its \
                 tokens, DB.device-salt) or FLEETSCOPE_DEVICE_SALT set on the device",
                at(line)
            ),
            serde_json::Value::Null,
        ),
        Refusal::Empty => refuse(
            app,
            StatusCode::BAD_REQUEST,
            "malformed",
            "the batch holds no reports",
            serde_json::Value::Null,
        ),
    }
}

/// The 5xx (or 503 + Retry-After) for valid reports that were not stored.
fn ingest_error(app: &App, e: IngestError) -> Response {
    match e {
        IngestError::Overloaded => refuse(
            app,
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the collector is at capacity; retry after the Retry-After delay",
            serde_json::Value::Null,
        ),
        IngestError::Prepare(e) => store_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the report was not stored: {e}"),
        ),
        IngestError::Store(e) => {
            let mut r = store_error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the report was not stored: {e}"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            r
        }
        IngestError::Stopped => store_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the storage writer stopped",
        ),
    }
}

fn store_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({ "error": "store_error", "message": message.into() });
    (status, Json(body)).into_response()
}

/// Run a store read on the blocking pool; a failure is a 503 with a JSON error.
async fn read_store<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let store = Arc::clone(&app.store);
    match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(store_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store could not be read",
        )),
    }
}

pub async fn get_report(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
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

/// The query parameter `name`, `default` when absent; when it does not parse or
/// `valid` refuses it, a 400 that says what it must be (`must`).
#[allow(clippy::result_large_err)] // the handler's early answer, returned at once
fn param<T: std::str::FromStr>(
    app: &App,
    q: &HashMap<String, String>,
    (name, default): (&str, T),
    valid: impl Fn(&T) -> bool,
    must: &str,
) -> Result<T, Response> {
    match q.get(name).map(|v| v.parse::<T>()) {
        None => Ok(default),
        Some(Ok(v)) if valid(&v) => Ok(v),
        Some(_) => Err(refuse(
            app,
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("{name} {must}"),
            serde_json::Value::Null,
        )),
    }
}

pub async fn devices(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let after = q.get("after").cloned().unwrap_or_default();
    let in_range = |n: &usize| (1..=1000).contains(n);
    let must = "must be a whole number from 1 to 1000 (devices per page)";
    let limit = match param(&app, &q, ("limit", 100), in_range, must) {
        Ok(n) => n,
        Err(r) => return r,
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
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let must = "must be a non-negative ingest sequence number";
    let since = match param(&app, &q, ("since", 0), |s: &i64| *s >= 0, must) {
        Ok(s) => s,
        Err(r) => return r,
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
