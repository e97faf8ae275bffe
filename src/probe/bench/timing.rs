//! The measurement loop: warmup runs dropped, then run until both a minimum count
//! and a minimum time are reached, stopping at a maximum time.

use std::time::{Duration, Instant};

/// How long and how often to run one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub warmup: usize,
    pub min_samples: usize,
    pub min_time: Duration,
    pub max_time: Duration,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            warmup: 3,
            min_samples: 10,
            min_time: Duration::from_millis(200),
            max_time: Duration::from_secs(2),
        }
    }
}

/// Per-call latencies in microseconds. `run` is called once per sample; the first
/// `warmup` calls are not recorded. At least one sample is always taken.
pub fn measure(plan: &Plan, mut run: impl FnMut()) -> Vec<f64> {
    for _ in 0..plan.warmup {
        run();
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(plan.min_samples.max(16));
    loop {
        let t = Instant::now();
        run();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        let elapsed = start.elapsed();
        let enough = samples.len() >= plan.min_samples && elapsed >= plan.min_time;
        if enough || elapsed >= plan.max_time {
            break;
        }
    }
    samples
}
