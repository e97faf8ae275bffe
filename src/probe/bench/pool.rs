//! A small pool of worker threads, each pinned to one CPU, for multi-threaded
//! measurements. The caller is thread 0. Workers spin briefly for the next job (so a
//! dispatch costs microseconds, not a wake-up), then sleep on a condvar so an idle
//! pool does not heat the device during a cooldown.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type Job = dyn Fn(usize, usize) + Sync;

/// A borrowed job, valid while `Pool::run` waits for every worker to finish it.
#[derive(Clone, Copy)]
struct JobPtr(*const Job);
// SAFETY: the pointee is `Sync` and outlives every use (run() blocks until done).
unsafe impl Send for JobPtr {}

struct Shared {
    epoch: AtomicUsize,
    done: AtomicUsize,
    stop: AtomicBool,
    job: Mutex<Option<JobPtr>>,
    wake: Condvar,
}

pub struct Pool {
    threads: usize,
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
    /// CPUs a worker could not be pinned to, with the reason.
    pub pin_errors: Vec<String>,
}

const SPIN: Duration = Duration::from_millis(2);

impl Pool {
    /// One thread per CPU in `cpus`: the caller (pinned here to `cpus[0]`) and
    /// `cpus.len() - 1` workers pinned to the rest.
    pub fn new(cpus: &[u32]) -> Pool {
        let shared = Arc::new(Shared {
            epoch: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            job: Mutex::new(None),
            wake: Condvar::new(),
        });
        let mut pin_errors = Vec::new();
        if let Some(&first) = cpus.first() {
            if let Err(e) = super::pin_current_thread(&[first]) {
                pin_errors.push(e.to_string());
            }
        }
        let threads = cpus.len().max(1);
        let (tx, rx) = std::sync::mpsc::channel();
        let handles = cpus
            .iter()
            .enumerate()
            .skip(1)
            .map(|(tid, &cpu)| {
                let shared = Arc::clone(&shared);
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(
                        super::pin_current_thread(&[cpu])
                            .err()
                            .map(|e| e.to_string()),
                    );
                    worker(tid, threads, &shared);
                })
            })
            .collect();
        drop(tx);
        // One message per worker; the workers keep running after sending it.
        pin_errors.extend((1..threads).filter_map(|_| rx.recv().ok().flatten()));
        Pool {
            threads,
            shared,
            handles,
            pin_errors,
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Run `f(thread_id, threads)` on every thread of the pool, the caller included,
    /// and return when all have finished.
    pub fn run(&self, f: &(dyn Fn(usize, usize) + Sync)) {
        if self.threads == 1 {
            f(0, 1);
            return;
        }
        // SAFETY: we erase the lifetime only for the duration of this call; we wait
        // below until every worker has finished with the pointer.
        let ptr: *const Job =
            unsafe { std::mem::transmute::<&(dyn Fn(usize, usize) + Sync), &'static Job>(f) };
        {
            let mut job = self.shared.job.lock().unwrap_or_else(|e| e.into_inner());
            *job = Some(JobPtr(ptr));
            self.shared.done.store(0, Ordering::Release);
            self.shared.epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.shared.wake.notify_all();
        f(0, self.threads);
        while self.shared.done.load(Ordering::Acquire) < self.threads - 1 {
            std::hint::spin_loop();
        }
        *self.shared.job.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn worker(tid: usize, threads: usize, shared: &Shared) {
    let mut seen = 0usize;
    loop {
        // Spin for a new epoch, then sleep until woken.
        let t = Instant::now();
        while shared.epoch.load(Ordering::Acquire) == seen && !shared.stop.load(Ordering::Acquire) {
            if t.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                let guard = shared.job.lock().unwrap_or_else(|e| e.into_inner());
                if shared.epoch.load(Ordering::Acquire) == seen
                    && !shared.stop.load(Ordering::Acquire)
                {
                    let _unused = shared.wake.wait_timeout(guard, Duration::from_millis(100));
                }
            }
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        seen = shared.epoch.load(Ordering::Acquire);
        let job = *shared.job.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(JobPtr(f)) = job {
            // SAFETY: run() keeps the job alive until `done` reaches threads - 1.
            unsafe { (*f)(tid, threads) };
        }
        shared.done.fetch_add(1, Ordering::AcqRel);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_runs_each_job_once() {
        let cpus: Vec<u32> = super::super::allowed_cpus().into_iter().take(4).collect();
        let pool = Pool::new(&cpus);
        let hits = AtomicUsize::new(0);
        for _ in 0..200 {
            pool.run(&|tid, n| {
                assert!(tid < n);
                hits.fetch_add(1, Ordering::Relaxed);
            });
        }
        assert_eq!(hits.load(Ordering::Relaxed), 200 * pool.threads());
    }
}
