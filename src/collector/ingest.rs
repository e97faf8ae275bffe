//! Ingest: from request bytes to committed reports, whatever the transport. Parses
//! and validates reports (one body, or NDJSON lines: one bad line refuses them all),
//! prepares each the way the store wants it (compressed when it keeps reports
//! compressed), and hands them to the single writer thread, which group-commits every
//! waiting report in one transaction, at most one commit per `COMMIT_PACE`, and
//! answers each request only after its commit.

use super::metrics::Metrics;
use super::store::{Incoming, Outcome, Store, StoreError};
use crate::schema::{batch_lines, parse_report, HashScope, ReportError};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

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

/// Why reports were refused before reaching the store; nothing was stored.
#[derive(Debug)]
pub enum Refusal {
    /// A report failed to parse or validate; `line` (1-based) in a batch.
    Report {
        error: ReportError,
        line: Option<usize>,
    },
    /// A valid report the store cannot take as it is.
    Unstorable {
        error: StoreError,
        line: Option<usize>,
    },
    /// A report whose device hash is local-only (made without the fleet's salt): it
    /// would count its device as new on every run.
    LocalHash { line: Option<usize> },
    /// A batch with no report in it.
    Empty,
}

/// Why valid reports were not stored.
#[derive(Debug)]
pub enum IngestError {
    /// The writer's queue is full: retry later.
    Overloaded,
    /// A report could not be prepared for the store (compression).
    Prepare(StoreError),
    /// The transaction failed; nothing of it was stored.
    Store(StoreError),
    /// The writer thread is gone.
    Stopped,
}

/// The ingest path of one collector: its store, its counters and its writer.
pub struct Ingest {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
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

impl Ingest {
    /// Start the writer thread; at most `queue_capacity` requests wait for it.
    pub fn start(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        queue_capacity: usize,
    ) -> Result<Ingest, String> {
        let (queue, rx) = mpsc::channel(queue_capacity.max(1));
        let (writer_store, writer_metrics) = (Arc::clone(&store), Arc::clone(&metrics));
        std::thread::Builder::new()
            .name("collector-writer".into())
            .spawn(move || writer(writer_store, rx, &writer_metrics))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Ingest {
            store,
            metrics,
            queue,
        })
    }

    /// The reports in a request body: the whole body as one report, or (`batch`) one
    /// report per non-blank NDJSON line. All are checked before any is stored.
    pub fn parse(&self, body: &[u8], batch: bool) -> Result<Vec<Incoming>, Refusal> {
        let one = |bytes: &[u8], line: Option<usize>| {
            let report = parse_report(bytes).map_err(|error| Refusal::Report { error, line })?;
            if report.device.device_hash_scope == Some(HashScope::Local) {
                return Err(Refusal::LocalHash { line });
            }
            Incoming::from_body(report, bytes).map_err(|error| Refusal::Unstorable { error, line })
        };
        if !batch {
            return Ok(vec![one(body, None)?]);
        }
        let mut items = Vec::new();
        for (n, line) in batch_lines(body) {
            items.push(one(line, Some(n))?);
        }
        if items.is_empty() {
            return Err(Refusal::Empty);
        }
        Ok(items)
    }

    /// Store `items` in the next group commit; the outcomes, in order, once committed.
    pub async fn submit(&self, mut items: Vec<Incoming>) -> Result<Vec<Outcome>, IngestError> {
        if self.store.compresses_raw() {
            for item in &mut items {
                if let Err(e) = item.compress() {
                    self.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                    return Err(IngestError::Prepare(e));
                }
            }
        }
        let (tx, rx) = oneshot::channel();
        if self.queue.try_send(Job { items, reply: tx }).is_err() {
            return Err(IngestError::Overloaded);
        }
        let reply = rx.await.map(|r| {
            drop(r.spent);
            r.outcomes
        });
        match reply {
            Ok(Ok(outcomes)) => {
                for o in &outcomes {
                    match o {
                        Outcome::Stored { .. } => &self.metrics.accepted,
                        Outcome::Duplicate { .. } => &self.metrics.duplicates,
                        Outcome::Conflict { .. } => {
                            self.metrics.reject("conflict");
                            continue;
                        }
                    }
                    .fetch_add(1, Ordering::Relaxed);
                }
                Ok(outcomes)
            }
            Ok(Err(e)) => {
                self.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                Err(IngestError::Store(e))
            }
            Err(_) => Err(IngestError::Stopped),
        }
    }
}

/// Group commit, on its own thread: take every job waiting (up to GROUP_COMMIT
/// reports), write them in one transaction, and answer each job only after that
/// commit. Ends when the last sender (the Ingest) is gone.
fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, metrics: &Metrics) {
    if let Err(e) = super::set_thread_nice(WRITER_NICE) {
        tracing::info!(
            "the storage writer runs at normal priority ({e}); with CAP_SYS_NICE it runs ahead of the request handlers"
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
