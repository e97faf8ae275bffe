//! Fig. 1: peak multi-core CPU GFLOPS per SoC by release year, theoretical and measured.

use super::{f64s, kernel_in, Analysis, Fleet};
use crate::probe::suite::families::{self, Figure};
use polars::prelude::*;

pub fn run(f: &Fleet, a: &mut Analysis) -> PolarsResult<()> {
    // Measured: the best f32 peak-FMA rate a device reached on one cluster with all of
    // its cores (the suite's multi-threaded peak probe).
    let measured = f.per_batch(|results| {
        results
            .filter(
                kernel_in(&families::feeding(Figure::MeasuredPeak)).and(col("gops").is_not_null()),
            )
            .group_by([col("seq")])
            .agg([col("gops").max().alias("measured_gflops")])
    })?;
    let df = f
        .devices
        .clone()
        .lazy()
        .join(
            measured.lazy(),
            [col("seq")],
            [col("seq")],
            JoinArgs::new(JoinType::Left),
        )
        .group_by([col("soc_key")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("soc_year").first().alias("year"),
            col("cpu_peak_gflops").median().alias("theoretical_gflops"),
            col("measured_gflops").median().alias("measured_gflops"),
        ])
        .filter(col("theoretical_gflops").is_not_null())
        .sort_by_exprs(
            [col("year"), col("soc_key")],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()?;
    let theo: Vec<f64> = f64s(&df, "theoretical_gflops")?
        .into_iter()
        .flatten()
        .collect();
    let max = theo.iter().cloned().fold(f64::MIN, f64::max);
    let min = theo.iter().cloned().fold(f64::MAX, f64::min);
    if min > 0.0 {
        a.stat("cpu.peak_gflops_spread", max / min);
    }
    let weighted = f
        .devices
        .clone()
        .lazy()
        .select([col("cpu_peak_gflops").mean().alias("m")])
        .collect()?;
    if let Some(Some(m)) = f64s(&weighted, "m")?.first() {
        a.stat("cpu.peak_gflops_fleet_mean", *m);
    }
    a.add(
        "cpu_peak_by_soc",
        "Peak CPU GFLOPS per SoC by release year (Fig. 1)",
        "Theoretical: all cores, f32 FMA flops/cycle x max clock (median over the SoC's devices). Measured: best peak-FMA run on one cluster with all its cores (median over devices).",
        df,
    );
    Ok(())
}
