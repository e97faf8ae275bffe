//! int8 over f32 speedup by core microarchitecture and by ISA feature (dot product),
//! from the same kernel and shape on the same (fastest) cluster, one thread.

use super::{f64s, kernel_in, one_thread_fastest, pick, Analysis, Fleet};
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

pub fn run(f: &Fleet, a: &mut Analysis) -> PolarsResult<()> {
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
    Ok(())
}
