//! What the harness times: the `Workload` trait (one measurable instance of a kernel
//! family at one shape, dtype and thread count, inputs made and weights packed before
//! timing; `run` performs one call across the pool's threads), the options that
//! change what a family builds, and the helpers families share to split work across
//! threads and rotate cold copies of their weights.

use crate::probe::bench::Pool;
use crate::probe::kernels::parallel::{RunOnAll, Team};
use std::collections::BTreeMap;

/// Something the harness can time.
pub trait Workload {
    /// Operations per run (2*M*N*K for a GEMM; bytes moved for `membw`).
    fn ops(&self) -> u64;
    /// The implementation that runs (variant and arithmetic path).
    fn path(&self) -> String;
    fn run(&mut self, pool: &Pool);
}

/// Why a workload cannot run here.
pub type Skip = String;

/// Options that change what a family builds.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub threads: usize,
    /// Bytes of weights to rotate through (0: no rotation).
    pub cold_bytes: usize,
    /// int8: weights over the full [-128, 127] range and an exact path.
    pub full_range: bool,
    /// int8 GEMM: keep the i32 accumulators instead of requantizing to u8 (the work
    /// of onnxruntime's `MatMulInteger`).
    pub i32_out: bool,
}

pub(super) fn dim(shape: &BTreeMap<String, u64>, key: &str, family: &str) -> Result<usize, Skip> {
    shape
        .get(key)
        .map(|&v| v as usize)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{family} shape needs {key} > 0"))
}

pub(super) use crate::probe::kernels::parallel::{chunks_at, split};

/// Hand each pool thread one of `chunks` (as many as threads) to work on.
pub(super) fn par_chunks<T: Send>(
    pool: &Pool,
    chunks: Vec<&mut [T]>,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let run = |f: &(dyn Fn(usize, usize) + Sync)| pool.run(f);
    team(pool, &run).par_chunks(chunks, f)
}

/// The rows of `out` (`m` rows of `row_len`) split across the pool in whole `step`-row
/// tiles: `f(rows, out_rows)` on each thread that got any.
pub(super) fn par_rows<T: Send>(
    pool: &Pool,
    out: &mut [T],
    m: usize,
    row_len: usize,
    step: usize,
    f: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync,
) {
    let run = |f: &(dyn Fn(usize, usize) + Sync)| pool.run(f);
    team(pool, &run).par_rows(out, m, row_len, step, f)
}

/// The pool as a kernel-side [`Team`], running closures through `run`.
pub(super) fn team<'a>(pool: &Pool, run: RunOnAll<'a>) -> Team<'a> {
    Team {
        threads: pool.threads(),
        run,
    }
}

/// Packed weights, copied until together they span `cold_bytes` (at most 64 copies;
/// one when `cold_bytes` is 0) so that rotating through them defeats the caches.
pub(super) fn cold_copies<T>(
    cold_bytes: usize,
    pack: impl Fn() -> Vec<T>,
    bytes: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let first = pack();
    let one: usize = first.iter().map(&bytes).sum();
    let copies = if cold_bytes == 0 {
        1
    } else {
        cold_bytes.div_ceil(one.max(1)).clamp(1, 64)
    };
    let mut all = vec![first];
    all.extend((1..copies).map(|_| pack()));
    all
}

/// Columns `cols` of the row-major `k x n` matrix `b`, as a row-major `k x cols.len()`.
pub(super) fn column_block<T: Copy>(
    b: &[T],
    k: usize,
    n: usize,
    cols: &std::ops::Range<usize>,
) -> Vec<T> {
    (0..k)
        .flat_map(|p| b[p * n + cols.start..p * n + cols.end].iter().copied())
        .collect()
}
