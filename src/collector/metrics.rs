//! Prometheus counters and the ingest latency histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Refusal reasons counted separately.
pub const REASONS: &[&str] = &[
    "unauthorized",
    "too_large",
    "too_deep",
    "malformed",
    "unknown_schema",
    "invalid",
    "unsupported_media_type",
    "bad_gzip",
    "conflict",
    "overloaded",
    "timeout",
];
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub store_errors: AtomicU64,
    /// Group commits by the writer, and the reports they carried.
    pub commits: AtomicU64,
    pub committed_reports: AtomicU64,
    rejected: [AtomicU64; 11],
    buckets: [AtomicU64; 11],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

impl Metrics {
    pub fn reject(&self, reason: &str) {
        if let Some(i) = REASONS.iter().position(|r| *r == reason) {
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, stored: u64) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::new();
        s += "# HELP fleetscope_reports_accepted_total Reports committed.\n# TYPE fleetscope_reports_accepted_total counter\n";
        s += &format!("fleetscope_reports_accepted_total {}\n", g(&self.accepted));
        s += "# HELP fleetscope_reports_duplicate_total Exact replays acknowledged without storing.\n# TYPE fleetscope_reports_duplicate_total counter\n";
        s += &format!(
            "fleetscope_reports_duplicate_total {}\n",
            g(&self.duplicates)
        );
        s += "# HELP fleetscope_reports_rejected_total Requests refused, by reason.\n# TYPE fleetscope_reports_rejected_total counter\n";
        for (i, r) in REASONS.iter().enumerate() {
            s += &format!(
                "fleetscope_reports_rejected_total{{reason=\"{r}\"}} {}\n",
                g(&self.rejected[i])
            );
        }
        s += "# HELP fleetscope_store_errors_total Storage failures.\n# TYPE fleetscope_store_errors_total counter\n";
        s += &format!("fleetscope_store_errors_total {}\n", g(&self.store_errors));
        s += "# HELP fleetscope_group_commits_total Transactions the writer committed.\n# TYPE fleetscope_group_commits_total counter\n";
        s += &format!("fleetscope_group_commits_total {}\n", g(&self.commits));
        s += "# HELP fleetscope_group_commit_reports_total Reports written by those transactions (stored, duplicate or conflicting).\n# TYPE fleetscope_group_commit_reports_total counter\n";
        s += &format!(
            "fleetscope_group_commit_reports_total {}\n",
            g(&self.committed_reports)
        );
        s += "# HELP fleetscope_reports_stored Reports in the store.\n# TYPE fleetscope_reports_stored gauge\n";
        s += &format!("fleetscope_reports_stored {stored}\n");
        s += "# HELP fleetscope_ingest_seconds Time to validate and commit a POST.\n# TYPE fleetscope_ingest_seconds histogram\n";
        for (i, b) in BUCKETS.iter().enumerate() {
            s += &format!(
                "fleetscope_ingest_seconds_bucket{{le=\"{b}\"}} {}\n",
                g(&self.buckets[i])
            );
        }
        let n = g(&self.latency_count);
        s += &format!("fleetscope_ingest_seconds_bucket{{le=\"+Inf\"}} {n}\n");
        s += &format!(
            "fleetscope_ingest_seconds_sum {}\n",
            g(&self.latency_micros) as f64 / 1e6
        );
        s += &format!("fleetscope_ingest_seconds_count {n}\n");
        s
    }
}
