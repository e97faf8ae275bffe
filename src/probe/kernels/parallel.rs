//! Splitting a kernel's work across a team of threads: contiguous row ranges in whole
//! tiles, one disjoint slice of the output per thread. The team itself (pinned
//! threads) belongs to the harness, which hands in how to run a closure on each, so
//! a whole network (MobileNetV2) splits each layer the way the suite splits one.

use std::ops::Range;
use std::sync::Mutex;

/// Work for every thread of a team: `f(thread, threads)`.
pub type Job<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Runs a [`Job`] on every thread, the caller included, returning when all have finished.
pub type RunOnAll<'a> = &'a dyn Fn(Job);

/// `threads`, and how to run a job on each of them.
#[derive(Clone, Copy)]
pub struct Team<'a> {
    pub threads: usize,
    pub run: RunOnAll<'a>,
}

/// One thread: the caller.
pub const ALONE: Team<'static> = Team {
    threads: 1,
    run: &|f| f(0, 1),
};

impl Team<'_> {
    /// Hand each thread one of `chunks` (as many as threads) to work on.
    pub fn par_chunks<T: Send>(&self, chunks: Vec<&mut [T]>, f: impl Fn(usize, &mut [T]) + Sync) {
        let slots: Vec<Mutex<Option<&mut [T]>>> =
            chunks.into_iter().map(|c| Mutex::new(Some(c))).collect();
        (self.run)(&|tid, _| {
            let chunk = slots
                .get(tid)
                .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).take());
            if let Some(chunk) = chunk {
                f(tid, chunk);
            }
        });
    }

    /// The rows of `out` (`m` rows of `row_len`) split across the team in whole
    /// `step`-row tiles: `f(rows, out_rows)` on each thread that got any.
    pub fn par_rows<T: Send>(
        &self,
        out: &mut [T],
        m: usize,
        row_len: usize,
        step: usize,
        f: impl Fn(Range<usize>, &mut [T]) + Sync,
    ) {
        let rows = split(m, self.threads, step);
        let chunks = chunks_at(out, &rows, row_len);
        self.par_chunks(chunks, |t, c| {
            let r = rows[t].clone();
            if !r.is_empty() {
                f(r, c);
            }
        });
    }
}

/// Contiguous ranges of `total` items in `step`-sized blocks, one per thread.
pub fn split(total: usize, threads: usize, step: usize) -> Vec<Range<usize>> {
    let blocks = total.div_ceil(step.max(1));
    (0..threads)
        .map(|t| {
            let (b0, b1) = (blocks * t / threads, blocks * (t + 1) / threads);
            (b0 * step).min(total)..(b1 * step).min(total)
        })
        .collect()
}

/// Split `out` at the given row ranges (`row_len` elements per row).
pub fn chunks_at<'a, T>(
    mut out: &'a mut [T],
    ranges: &[Range<usize>],
    row_len: usize,
) -> Vec<&'a mut [T]> {
    let mut v = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (head, tail) = std::mem::take(&mut out).split_at_mut((r.end - r.start) * row_len);
        v.push(head);
        out = tail;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_once() {
        for (total, threads, step) in [(100, 3, 8), (5, 4, 8), (0, 2, 4), (1000, 1, 6)] {
            let s = split(total, threads, step);
            assert_eq!(s.len(), threads);
            assert_eq!(s.iter().map(|r| r.len()).sum::<usize>(), total);
            assert!(s.windows(2).all(|w| w[0].end == w[1].start));
        }
    }
}
