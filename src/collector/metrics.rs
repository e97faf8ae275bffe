//! Prometheus counters and the latency histograms (ingest, group commit).

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
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A cumulative Prometheus histogram of durations over [`BUCKETS`].
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, s: &mut String, name: &str, help: &str) {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        *s += &format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            *s += &format!("{name}_bucket{{le=\"{b}\"}} {}\n", g(&self.buckets[i]));
        }
        let n = g(&self.count);
        *s += &format!("{name}_bucket{{le=\"+Inf\"}} {n}\n");
        *s += &format!("{name}_sum {}\n", g(&self.micros) as f64 / 1e6);
        *s += &format!("{name}_count {n}\n");
    }
}

#[derive(Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub store_errors: AtomicU64,
    /// Group commits by the writer, and the reports they carried.
    pub commits: AtomicU64,
    pub committed_reports: AtomicU64,
    rejected: [AtomicU64; REASONS.len()],
    /// From a POST's arrival to its answer.
    pub ingest: Histogram,
    /// One group commit: the transaction, its fsync, and any checkpoint after it.
    pub commit: Histogram,
}

impl Metrics {
    pub fn reject(&self, reason: &str) {
        if let Some(i) = REASONS.iter().position(|r| *r == reason) {
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
        }
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
        self.ingest.render(
            &mut s,
            "fleetscope_ingest_seconds",
            "Time to validate and commit a POST.",
        );
        self.commit.render(
            &mut s,
            "fleetscope_commit_seconds",
            "Time the writer took for one group commit (transaction, fsync, checkpoint).",
        );
        s
    }
}
