//! The collector: `fleetscope serve`. Takes reports from a whole fleet over HTTP
//! (axum + tokio): `http` (thin handlers, auth layers, request logs) over `ingest`
//! (validation, the paced group-commit writer) over `store` (SQLite or PostgreSQL,
//! the raw report and its device row); readers page devices and stream exports.
//! Host only.

mod error;
mod http;
mod ingest;
mod metrics;
pub mod store;

pub use crate::util::Token;
pub use error::CollectorError;
pub use http::App;

use axum::error_handling::HandleErrorLayer;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;

/// Set the calling thread's nice value (Linux; elsewhere, and without the right to
/// raise a priority, an error the caller may ignore). The collector's one writer is
/// its critical path: every acknowledgement waits for its commit, so it runs ahead of
/// the request handlers, and the checkpointer, which only keeps the log short, after.
pub(crate) fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority on this thread's id; no pointers involved.
        let rc =
            unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) };
        if rc == 0 {
            return Ok(());
        }
        Err(std::io::Error::last_os_error())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Limits a collector enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    pub request_timeout: Duration,
    /// Requests in flight, per route, before new ones are shed with 503 + Retry-After.
    pub max_in_flight: usize,
    /// Reports waiting for the writer before ingest answers 503.
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            max_in_flight: 512,
            queue: 4096,
        }
    }
}

/// The routes, with timeout, concurrency limit and load shedding.
pub fn router(app: Arc<App>, limits: &Limits) -> Router {
    let counted = Arc::clone(&app);
    let shed = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(move |_: tower::BoxError| {
            counted.metrics.reject("overloaded");
            async {
                        (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::RETRY_AFTER, "1")], axum::Json(serde_json::json!({ "error": "overloaded", "message": "too many requests in flight; retry after the Retry-After delay" })))
            }
        }))
        .layer(tower::load_shed::LoadShedLayer::new())
        .layer(tower::limit::ConcurrencyLimitLayer::new(limits.max_in_flight));
    let ingest = Router::new()
        .route("/v1/reports", post(http::post_report))
        .route("/v1/reports:batch", post(http::post_batch))
        .route_layer(from_fn_with_state(Arc::clone(&app), http::require_ingest));
    let read = Router::new()
        .route("/v1/reports/{id}", get(http::get_report))
        .route("/v1/devices", get(http::devices))
        .route("/v1/export", get(http::export))
        .route_layer(from_fn_with_state(Arc::clone(&app), http::require_read));
    Router::new()
        .merge(ingest)
        .merge(read)
        .route("/healthz", get(http::healthz))
        .route("/metrics", get(http::metrics))
        .route_layer(from_fn(http::log_request))
        .with_state(app)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(shed)
}

/// `fleetscope serve` options.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub db: String,
    pub ingest_token_file: Option<std::path::PathBuf>,
    pub read_token_file: Option<std::path::PathBuf>,
    pub limits: Limits,
}

/// A token from its file, or a new one written beside the database (path printed).
fn token(file: &Option<std::path::PathBuf>, db: &str, kind: &str) -> Result<Token, CollectorError> {
    if let Some(f) = file {
        return Ok(Token::from_file(f)?);
    }
    let path = beside(db, &format!("{kind}-token"));
    let t = secret_file(&path)?;
    tracing::info!(
        "{kind} token: {} (pass --{kind}-token-file to choose your own)",
        path.display()
    );
    Ok(t)
}

/// The fleet's device salt beside the collector's secrets, made once from OS entropy:
/// `DB.device-salt` for SQLite, else `fleetscope.device-salt` beside the ingest token
/// file (or in the working directory). The collector never uses it; `fleetscope run
/// --salt-file` gives it to the phones.
pub fn device_salt(
    db: &str,
    ingest_token_file: Option<&std::path::Path>,
) -> Result<std::path::PathBuf, CollectorError> {
    let path = match (db.starts_with("sqlite://"), ingest_token_file) {
        (false, Some(f)) => f
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("fleetscope.device-salt"),
        _ => beside(db, "device-salt"),
    };
    secret_file(&path)?;
    Ok(path)
}

fn beside(db: &str, what: &str) -> std::path::PathBuf {
    let base = db.strip_prefix("sqlite://").unwrap_or("fleetscope");
    std::path::PathBuf::from(format!("{base}.{what}"))
}

/// The secret in `path`, or a new one written there (mode 0600).
fn secret_file(path: &std::path::Path) -> Result<Token, CollectorError> {
    Ok(if path.exists() {
        Token::from_file(path)?
    } else {
        Token::generate(path)?
    })
}

/// Run the collector until Ctrl-C or SIGTERM.
pub fn serve(cfg: ServeConfig) -> Result<(), CollectorError> {
    let store = store::open(&cfg.db)?;
    let ingest = token(&cfg.ingest_token_file, &cfg.db, "ingest")?;
    let read = token(&cfg.read_token_file, &cfg.db, "read")?;
    let salt = device_salt(&cfg.db, cfg.ingest_token_file.as_deref())?;
    tracing::info!(
        "device salt: {} (give it to `fleetscope run --salt-file`; reports hashed without it are refused)",
        salt.display()
    );
    runtime()?.block_on(async move {
        let listener = bind(&cfg.listen).await?;
        tracing::info!(
            "fleetscope collector listening on http://{} (store {})",
            local_addr(&listener)?,
            crate::util::redact_url(&cfg.db)
        );
        let app = App::new(Arc::from(store), ingest, read, cfg.limits.queue)
            .map_err(CollectorError::Runtime)?;
        run(listener, app, &cfg.limits, shutdown()).await
    })
}

/// Serve on `listener` until `until` completes, then finish what is in flight.
async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    limits: &Limits,
    until: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), CollectorError> {
    axum::serve(listener, router(app, limits))
        .with_graceful_shutdown(until)
        .await
        .map_err(|e| CollectorError::Runtime(format!("server error: {e}")))
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, CollectorError> {
    listener
        .local_addr()
        .map_err(|e| CollectorError::Listen(format!("cannot read the bound address: {e}")))
}

fn runtime() -> Result<tokio::runtime::Runtime, CollectorError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CollectorError::Runtime(format!("cannot start the runtime: {e}")))
}

async fn bind(listen: &str) -> Result<tokio::net::TcpListener, CollectorError> {
    let addr: SocketAddr = listen.parse().map_err(|e| {
        CollectorError::Listen(format!(
            "--listen {listen:?}: {e}; use HOST:PORT like 127.0.0.1:8787"
        ))
    })?;
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CollectorError::Listen(format!("cannot listen on {addr}: {e}")))
}

/// A collector running on its own thread in this process (`fleetscope demo`).
pub struct Running {
    /// `http://HOST:PORT`
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), CollectorError>>>,
}

impl Running {
    /// Stop accepting, finish what is in flight, and wait for the server thread.
    pub fn stop(mut self) -> Result<(), CollectorError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), CollectorError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(CollectorError::Runtime(
                    "the collector thread panicked".into(),
                ))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Start a collector in this process on `listen` with the given tokens.
pub fn start(
    db: &str,
    listen: &str,
    ingest: Token,
    read: Token,
    limits: Limits,
) -> Result<Running, CollectorError> {
    let store = store::open(db)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    let listen = listen.to_string();
    let thread = std::thread::spawn(move || -> Result<(), CollectorError> {
        runtime()?.block_on(async move {
            // Tell the caller where it listens, or why it does not.
            let bound = match bind(&listen).await {
                Ok(l) => local_addr(&l).map(|a| (l, a)),
                Err(e) => Err(e),
            };
            let listener = match bound {
                Ok((l, addr)) => {
                    let _ = ready_tx.send(Ok(addr));
                    l
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return Err(e);
                }
            };
            let app = App::new(Arc::from(store), ingest, read, limits.queue)
                .map_err(CollectorError::Runtime)?;
            run(listener, app, &limits, async move {
                let _ = rx.await;
            })
            .await
        })
    });
    let addr = ready_rx
        .recv()
        .map_err(|_| {
            CollectorError::Runtime("the collector thread stopped before listening".into())
        })?
        .map_err(CollectorError::Listen)?;
    Ok(Running {
        url: format!("http://{addr}"),
        stop: Some(tx),
        thread: Some(thread),
    })
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
