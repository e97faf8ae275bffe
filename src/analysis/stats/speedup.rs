//! int8 over f32 speedup by core microarchitecture and by ISA feature (dot product),
//! from the same kernel and shape on the same (fastest) cluster, one thread.

use super::figure::{col_f, col_s, pivot, Built};
use super::{f64s, kernel_in, one_thread_fastest, pick, Analysis, Dataset};
use crate::analysis::{Chart, Spec};
use crate::probe::suite::families::{self, Figure};
use polars::prelude::*;

fn summary(df: LazyFrame, by: Vec<Expr>) -> PolarsResult<DataFrame> {
    df.group_by(by.clone())
        .agg([
            col("seq").n_unique().cast(DataType::Int64).alias("devices"),
            col("speedup").median().alias("median_speedup"),
            col("speedup")
                .quantile(lit(0.1), QuantileMethod::Linear)
                .alias("p10_speedup"),
            col("speedup")
                .quantile(lit(0.9), QuantileMethod::Linear)
                .alias("p90_speedup"),
        ])
        .sort_by_exprs(by, SortMultipleOptions::default())
        .collect()
}

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let pairs = f.per_batch(|results| {
        results
            .filter(
                one_thread_fastest()
                    .and(kernel_in(&families::names_where(|k| {
                        k.role().is_inference()
                    })))
                    .and(col("p50_us").gt(lit(0.0))),
            )
            .group_by([col("seq"), col("kernel"), col("shape")])
            .agg([
                pick("p50_us", "dtype", "f32"),
                pick("p50_us", "dtype", "i8"),
            ])
            .filter(col("f32").is_not_null().and(col("i8").is_not_null()))
            .group_by([col("seq"), col("kernel")])
            .agg([(col("f32") / col("i8")).mean().alias("speedup")])
    })?;
    let devices = f.devices.clone().lazy().select([
        col("seq"),
        col("big_uarch").fill_null(lit("unknown")).alias("uarch"),
        col("dotprod"),
    ]);
    let joined = pairs
        .lazy()
        .join(
            devices,
            [col("seq")],
            [col("seq")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;
    let by_uarch = summary(joined.clone().lazy(), vec![col("uarch"), col("kernel")])?;
    let by_isa = summary(
        joined.clone().lazy().with_column(
            when(col("dotprod"))
                .then(lit("dotprod"))
                .otherwise(lit("no dotprod"))
                .alias("isa"),
        ),
        vec![col("isa"), col("kernel")],
    )?;
    for (flag, name) in [(true, "dotprod"), (false, "no_dotprod")] {
        let m = joined
            .clone()
            .lazy()
            .filter(
                col("dotprod")
                    .eq(lit(flag))
                    .and(kernel_in(&families::feeding(Figure::DotprodSpeedup))),
            )
            .select([col("speedup").median()])
            .collect()?;
        if let Some(Some(v)) = f64s(&m, "speedup")?.first() {
            a.stat(format!("int8.speedup_median.{name}"), *v);
        }
    }
    a.add(
        "int8_speedup_by_uarch",
        "int8 over f32 speedup by core microarchitecture",
        "f32 p50 latency / int8 p50 latency, same kernel and shape, one thread on the device's fastest cluster; per device the mean over shapes, then quantiles over devices.",
        by_uarch,
    );
    a.add(
        "int8_speedup_by_isa",
        "int8 over f32 speedup with and without the dot-product instructions",
        "As by microarchitecture, grouped by whether the CPU has SDOT/UDOT (asimddp) or VNNI.",
        by_isa,
    );
    if let (Some(d), Some(nd)) = (
        a.number("int8.speedup_median.dotprod"),
        a.number("int8.speedup_median.no_dotprod"),
    ) {
        a.finding(
            4,
            format!(
                "int8 versus f32: median speedup (GEMM and 3x3 conv, one thread, fastest cluster) {d:.2}x on cores with dot product, {nd:.2}x without."
            ),
        );
    }
    let chart = speedup_chart(a)?;
    a.chart(chart);
    Ok(())
}

fn speedup_chart(a: &Analysis) -> Built {
    let Some(t) = a.table("int8_speedup_by_uarch") else {
        return Ok(None);
    };
    let ser: Vec<String> = families::feeding(Figure::SpeedupChart)
        .into_iter()
        .map(String::from)
        .collect();
    // The most common core types first.
    let df =
        t.df.clone()
            .lazy()
            .filter(kernel_in(&ser))
            .with_column(col("devices").sum().over([col("uarch")])?.alias("w"))
            .sort_by_exprs(
                [col("w"), col("uarch")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .collect()?;
    let u = col_s(&df, "uarch")?;
    let k = col_s(&df, "kernel")?;
    let v = col_f(&df, "median_speedup")?;
    let (cats, series) = pivot(&df, &|i| u[i].clone(), &ser, &|i| k[i].clone(), &v, 12);
    Ok(Some(Chart {
        name: "int8_speedup_by_uarch".into(),
        title: "int8 over f32 speedup by core microarchitecture (median)".into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: cats,
            series,
            value_label: "f32 latency / int8 latency (x)".into(),
            percent: false,
        },
    }))
}
