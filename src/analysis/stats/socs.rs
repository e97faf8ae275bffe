//! Fig. 2: devices over unique SoCs, its CDF and top-N coverage.

use super::{f64s, Analysis, Fleet};
use polars::prelude::*;

pub fn run(f: &Fleet, a: &mut Analysis) -> PolarsResult<()> {
    let df = f
        .devices
        .clone()
        .lazy()
        .group_by([col("soc_key")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("soc_vendor").first(),
            col("soc_name").first(),
            col("soc_year").first(),
        ])
        .sort_by_exprs(
            [col("devices"), col("soc_key")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .with_columns([(col("devices").cast(DataType::Float64) / lit(f.n)).alias("share")])
        .with_column(col("share").cum_sum(false).alias("cum_share"))
        .with_row_index("rank", Some(1))
        .collect()?;
    let cum = f64s(&df, "cum_share")?;
    let share = f64s(&df, "share")?;
    let at = |rank: usize| {
        cum.get(rank.min(cum.len()).saturating_sub(1))
            .copied()
            .flatten()
            .unwrap_or(0.0)
    };
    a.stat("soc.unique", df.height() as f64);
    a.stat("soc.top1_share", at(1));
    a.stat("soc.top10_share", at(10));
    a.stat("soc.top50_share", at(50));
    a.stat("soc.top225_share", at(225));
    let over: Vec<f64> = share
        .iter()
        .flatten()
        .copied()
        .filter(|&s| s > 0.01)
        .collect();
    a.stat("soc.over_1pct_count", over.len() as f64);
    a.stat("soc.over_1pct_share", over.iter().sum());
    a.add(
        "soc_share",
        "Devices by SoC (Fig. 2)",
        "One row per SoC (chipset, else marketing name), most devices first; share and cumulative share of devices.",
        df,
    );
    Ok(())
}
