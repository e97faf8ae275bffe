//! Big versus little cluster: single-thread throughput ratio per core pairing.

use super::figure::{top_bars, TopBars};
use super::{f64s, pick, Analysis, Dataset};
use polars::prelude::*;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let pairs = f.per_batch(|results| {
        results
            .filter(
                col("threads")
                    .eq(lit(1))
                    .and(col("role").eq(lit("big")).or(col("role").eq(lit("little"))))
                    .and(col("gops").gt(lit(0.0))),
            )
            .group_by([col("seq"), col("kernel"), col("dtype"), col("shape")])
            .agg([pick("gops", "role", "big"), pick("gops", "role", "little")])
            .filter(col("big").is_not_null().and(col("little").is_not_null()))
            .group_by([col("seq")])
            .agg([(col("big") / col("little")).median().alias("ratio")])
    })?;
    let devices = f.devices.clone().lazy().select([
        col("seq"),
        col("big_uarch").fill_null(lit("unknown")),
        col("little_uarch").fill_null(lit("unknown")),
    ]);
    let joined = pairs.lazy().join(
        devices,
        [col("seq")],
        [col("seq")],
        JoinArgs::new(JoinType::Inner),
    );
    let all = joined
        .clone()
        .select([
            col("ratio").median(),
            len().cast(DataType::Float64).alias("n"),
        ])
        .collect()?;
    if let Some(Some(r)) = f64s(&all, "ratio")?.first() {
        a.stat("big_little.median_ratio", *r);
    }
    if let Some(Some(n)) = f64s(&all, "n")?.first() {
        a.stat("big_little.device_share", n / f.n);
    }
    let df = joined
        .group_by([col("big_uarch"), col("little_uarch")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("ratio").median().alias("median_ratio"),
            col("ratio")
                .quantile(lit(0.1), QuantileMethod::Linear)
                .alias("p10_ratio"),
            col("ratio")
                .quantile(lit(0.9), QuantileMethod::Linear)
                .alias("p90_ratio"),
        ])
        .sort_by_exprs(
            [col("devices"), col("big_uarch")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()?;
    a.add(
        "big_little",
        "Big versus little cluster",
        "Single-thread GOPS on the fastest cluster over the slowest, same kernel, dtype and shape; per device the median over kernels, then quantiles over devices with both.",
        df,
    );
    if let Some(t) = a.table("big_little") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["big_uarch", "little_uarch"],
                value: "median_ratio",
                top: 12,
                name: "big_little",
                title: "Big over little cluster, single-thread throughput",
                label: "big / little GOPS (x)",
                percent: false,
            },
        )?;
        a.chart(chart);
    }
    Ok(())
}
