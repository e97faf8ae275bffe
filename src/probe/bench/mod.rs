//! Measurement: the timing loop, statistics, CPU pinning and a pinned thread pool.

mod affinity;
mod pool;
mod stats;
mod timing;

pub use affinity::{allowed_cpus, cur_freq_khz, pin_current_thread};
pub use pool::Pool;
pub use stats::{percentile, summarise};
pub use timing::{measure, Plan};
