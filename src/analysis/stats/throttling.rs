//! Sustained over burst throughput (thermal throttling) by SoC.

use super::figure::{top_bars, TopBars};
use super::pct;
use super::{f64s, Analysis, Dataset};
use polars::prelude::*;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let measured = f
        .devices
        .clone()
        .lazy()
        .filter(col("throttle_ratio").is_not_null());
    let all = measured
        .clone()
        .select([
            col("throttle_ratio").median().alias("median"),
            col("throttle_ratio")
                .lt(lit(0.8))
                .cast(DataType::Float64)
                .mean()
                .alias("below"),
            len().cast(DataType::Float64).alias("n"),
        ])
        .collect()?;
    let get = |c: &str| {
        f64s(&all, c)
            .ok()
            .and_then(|v| v.first().copied().flatten())
    };
    if get("n").unwrap_or(0.0) == 0.0 {
        return Ok(());
    }
    if let Some(m) = get("median") {
        a.stat("throttle.median", m);
    }
    if let Some(b) = get("below") {
        a.stat("throttle.share_below_0_8", b);
    }
    let df = measured
        .group_by([col("soc_key")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("throttle_ratio").median().alias("median_ratio"),
            col("throttle_ratio")
                .quantile(lit(0.1), QuantileMethod::Linear)
                .alias("p10_ratio"),
        ])
        .sort_by_exprs(
            [col("devices"), col("soc_key")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()?;
    a.add(
        "throttling_by_soc",
        "Sustained / burst throughput by SoC",
        "Sustained over burst GOPS of a continuous GEMM load (1.0 = no throttling), median and p10 over the SoC's devices; most common SoCs first.",
        df,
    );
    if let (Some(cv), Some(t)) = (
        a.number("variability.cv_median"),
        a.number("throttle.median"),
    ) {
        a.finding(
            6,
            format!(
                "Field variability: median run-to-run CV {}; sustained throughput is a median {} of burst.",
                pct(cv),
                pct(t)
            ),
        );
    }
    if let Some(t) = a.table("throttling_by_soc") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["soc_key"],
                value: "median_ratio",
                top: 15,
                name: "throttling_by_soc",
                title: "Sustained / burst throughput, most common SoCs",
                label: "sustained / burst GOPS (1 = no throttling)",
                percent: false,
            },
        )?;
        a.chart(chart);
    }
    Ok(())
}
