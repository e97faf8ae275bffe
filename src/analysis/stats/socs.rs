//! Fig. 2: devices over unique SoCs, its CDF and top-N coverage.

use super::figure::{col_f, Built};
use super::pct;
use super::{f64s, Analysis, Dataset};
use crate::analysis::{Chart, Mark, Spec};
use polars::prelude::*;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
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
    if let (Some(u), Some(t50), Some(t225)) = (
        a.number("soc.unique"),
        a.number("soc.top50_share"),
        a.number("soc.top225_share"),
    ) {
        a.finding(
            1,
            format!(
                "SoC long tail: {u:.0} distinct SoCs; the top 50 cover {}, the top 225 {} of devices.",
                pct(t50),
                pct(t225)
            ),
        );
    }
    let chart = fig2(a)?;
    a.chart(chart);
    Ok(())
}

fn fig2(a: &Analysis) -> Built {
    let Some(t) = a.table("soc_share") else {
        return Ok(None);
    };
    let rank = col_f(&t.df, "rank")?;
    let cum = col_f(&t.df, "cum_share")?;
    let mut pts: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    pts.extend(rank.iter().zip(&cum).map(|(r, c)| (*r, *c)));
    let vlines = [50usize, 225]
        .iter()
        .filter(|&&n| n <= rank.len())
        .map(|&n| Mark {
            at: n as f64,
            label: format!(" top {n}: {:.1}%", 100.0 * cum[n - 1]),
        })
        .collect();
    Ok(Some(Chart {
        name: "fig2_soc_cdf".into(),
        title: "Cumulative share of devices over unique SoCs".into(),
        caption: format!("{} distinct SoCs, most common first.", rank.len()),
        spec: Spec::Lines {
            x_label: "SoCs, most common first (count)".into(),
            y_label: "devices covered (cumulative share)".into(),
            series: vec![("devices covered".into(), pts)],
            y_log: false,
            percent_y: true,
            hlines: vec![],
            vlines,
        },
    }))
}
