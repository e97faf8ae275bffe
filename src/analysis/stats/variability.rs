//! Run-to-run variability per kernel: coefficient of variation and p99/p50.

use super::{f64s, stream, Analysis, Fleet};
use polars::prelude::*;

pub fn run(f: &Fleet, a: &mut Analysis) -> PolarsResult<()> {
    let measured = f
        .results
        .clone()
        .filter(col("cv").is_not_null().and(col("p50_us").gt(lit(0.0))));
    let df = stream(
        measured
            .clone()
            .with_column((col("p99_us") / col("p50_us")).alias("tail"))
            .group_by([col("kernel"), col("dtype")])
            .agg([
                len().cast(DataType::Int64).alias("runs"),
                col("cv").median().alias("cv_median"),
                col("cv")
                    .quantile(lit(0.9), QuantileMethod::Linear)
                    .alias("cv_p90"),
                col("tail").median().alias("p99_p50_median"),
                col("tail")
                    .quantile(lit(0.9), QuantileMethod::Linear)
                    .alias("p99_p50_p90"),
                col("cv")
                    .gt(lit(0.05))
                    .cast(DataType::Float64)
                    .mean()
                    .alias("share_cv_over_5pct"),
            ])
            .sort(["kernel", "dtype"], SortMultipleOptions::default()),
    )?;
    let all = stream(measured.select([
        col("cv").median().alias("cv"),
        (col("p99_us") / col("p50_us")).median().alias("tail"),
    ]))?;
    if let Some(Some(v)) = f64s(&all, "cv")?.first() {
        a.stat("variability.cv_median", *v);
    }
    if let Some(Some(v)) = f64s(&all, "tail")?.first() {
        a.stat("variability.p99_p50_median", *v);
    }
    a.add(
        "variability",
        "Run-to-run variability per kernel",
        "Over every measured run: coefficient of variation of the samples and p99/p50 latency.",
        df,
    );
    Ok(())
}
