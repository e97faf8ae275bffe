//! Latency distribution per kernel by device tier (terciles of theoretical CPU peak).

use super::figure::{col_f, col_s, pivot, Built};
use super::{f64s, kernel_in, one_thread_fastest, Analysis, Dataset};
use crate::analysis::{Chart, Spec};
use crate::probe::suite::families::{self, Figure, Role};
use polars::prelude::*;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let mut peaks: Vec<f64> = f64s(&f.devices, "cpu_peak_gflops")?
        .into_iter()
        .flatten()
        .collect();
    if peaks.is_empty() {
        return Ok(());
    }
    peaks.sort_by(f64::total_cmp);
    let (lo, hi) = (peaks[peaks.len() / 3], peaks[2 * peaks.len() / 3]);
    a.stat("tier.low_below_gflops", lo);
    a.stat("tier.high_from_gflops", hi);
    let p = col("cpu_peak_gflops");
    let tiers = f.devices.clone().lazy().select([
        col("seq"),
        when(p.clone().lt(lit(lo)))
            .then(lit("1 low"))
            .when(p.lt(lit(hi)))
            .then(lit("2 mid"))
            .otherwise(lit("3 high"))
            .alias("tier"),
    ]);
    let rows = f.per_batch(|results| {
        results
            .filter(
                one_thread_fastest()
                    .and(kernel_in(&families::names_where(|k| k.role() == Role::Peak)).not())
                    .and(col("p50_us").is_not_null()),
            )
            .select([
                col("seq"),
                col("kernel"),
                col("dtype"),
                col("shape"),
                col("p50_us"),
            ])
    })?;
    let df = rows
        .lazy()
        .join(
            tiers,
            [col("seq")],
            [col("seq")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("kernel"), col("dtype"), col("shape"), col("tier")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("p50_us")
                .quantile(lit(0.1), QuantileMethod::Linear)
                .alias("p10_us"),
            col("p50_us").median().alias("p50_us"),
            col("p50_us")
                .quantile(lit(0.9), QuantileMethod::Linear)
                .alias("p90_us"),
        ])
        .sort(
            ["kernel", "dtype", "shape", "tier"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    a.add(
        "latency_by_tier",
        "Kernel latency by device tier",
        format!(
            "p50 latency of each device (one thread, fastest cluster), quantiles over devices; tiers are terciles of theoretical CPU peak (low < {lo:.1} GFLOPS <= mid < {hi:.1} GFLOPS <= high)."
        ),
        df,
    );
    let chart = latency_chart(a)?;
    a.chart(chart);
    Ok(())
}

fn latency_chart(a: &Analysis) -> Built {
    let Some(t) = a.table("latency_by_tier") else {
        return Ok(None);
    };
    let df =
        t.df.clone()
            .lazy()
            .filter(kernel_in(&families::feeding(Figure::LatencyChart)))
            .collect()?;
    let k = col_s(&df, "kernel")?;
    let d = col_s(&df, "dtype")?;
    let tier = col_s(&df, "tier")?;
    let v: Vec<f64> = col_f(&df, "p50_us")?.iter().map(|x| x / 1000.0).collect();
    let ser: Vec<String> = vec!["1 low".into(), "2 mid".into(), "3 high".into()];
    let (cats, series) = pivot(
        &df,
        &|i| format!("{} {}", k[i], d[i]),
        &ser,
        &|i| tier[i].clone(),
        &v,
        8,
    );
    let series = series
        .into_iter()
        .map(|(s, v)| (format!("{} tier", &s[2..]), v))
        .collect();
    Ok(Some(Chart {
        name: "latency_by_tier".into(),
        title: "Median latency by device tier (one thread, fastest cluster)".into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: cats,
            series,
            value_label: "median p50 latency (ms)".into(),
            percent: false,
        },
    }))
}
