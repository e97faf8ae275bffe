//! Run-to-run variability per kernel: coefficient of variation and p99/p50.

use super::figure::{col_f, col_s, Built};
use super::{f64s, Analysis, Dataset};
use crate::analysis::{Chart, Spec};
use polars::prelude::*;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    // Compact (4-byte values, categorical keys) before the exact quantiles.
    let runs = f.per_batch(|results| {
        results
            .filter(col("cv").is_not_null().and(col("p50_us").gt(lit(0.0))))
            .select([
                col("kernel"),
                col("dtype"),
                col("cv").cast(DataType::Float32),
                (col("p99_us") / col("p50_us"))
                    .cast(DataType::Float32)
                    .alias("tail"),
            ])
    })?;
    let df = runs
        .clone()
        .lazy()
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
        .sort(["kernel", "dtype"], SortMultipleOptions::default())
        .collect()?;
    let all = runs
        .lazy()
        .select([
            col("cv").median().alias("cv"),
            col("tail").median().alias("tail"),
        ])
        .collect()?;
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
    let chart = variability_chart(a)?;
    a.chart(chart);
    Ok(())
}

fn variability_chart(a: &Analysis) -> Built {
    let Some(t) = a.table("variability") else {
        return Ok(None);
    };
    let k = col_s(&t.df, "kernel")?;
    let d = col_s(&t.df, "dtype")?;
    let cats: Vec<String> = k.iter().zip(&d).map(|(k, d)| format!("{k} {d}")).collect();
    Ok(Some(Chart {
        name: "variability".into(),
        title: "Run-to-run variability per kernel".into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: cats,
            series: vec![
                ("median CV".into(), col_f(&t.df, "cv_median")?),
                ("p90 CV".into(), col_f(&t.df, "cv_p90")?),
            ],
            value_label: "coefficient of variation".into(),
            percent: true,
        },
    }))
}
