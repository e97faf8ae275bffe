//! Fig. 1: peak multi-core CPU GFLOPS per SoC by release year, theoretical and measured.

use super::figure::{col_f, Built};
use super::{f64s, kernel_in, Analysis, Dataset};
use crate::analysis::{Chart, Mark, Spec};
use crate::probe::suite::families::{self, Figure};
use polars::prelude::*;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
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
    let chart = fig1(a)?;
    a.chart(chart);
    Ok(())
}

fn fig1(a: &Analysis) -> Built {
    let Some(t) = a.table("cpu_peak_by_soc") else {
        return Ok(None);
    };
    let year = col_f(&t.df, "year")?;
    let theo = col_f(&t.df, "theoretical_gflops")?;
    let meas = col_f(&t.df, "measured_gflops")?;
    // Spread SoCs of one year across it, in table order, so points do not stack.
    let mut seen: std::collections::HashMap<i64, usize> = Default::default();
    let per_year: std::collections::HashMap<i64, usize> =
        year.iter().fold(Default::default(), |mut m, y| {
            *m.entry(*y as i64).or_insert(0) += 1;
            m
        });
    let x: Vec<f64> = year
        .iter()
        .map(|y| {
            let k = seen.entry(*y as i64).or_insert(0);
            *k += 1;
            y + (*k as f64 - 0.5) / per_year[&(*y as i64)] as f64 - 0.5
        })
        .collect();
    let pts = |v: &[f64]| {
        x.iter()
            .zip(v)
            .map(|(a, b)| (*a, *b))
            .filter(|(a, b)| a.is_finite() && *b > 0.0)
            .collect::<Vec<_>>()
    };
    let mut hlines = Vec::new();
    if let Some(m) = a.number("cpu.peak_gflops_fleet_mean") {
        hlines.push(Mark {
            at: m,
            label: format!("fleet average (theoretical): {m:.1} GFLOPS"),
        });
    }
    Ok(Some(Chart {
        name: "fig1_cpu_peak_by_year".into(),
        title: "Peak multi-core CPU GFLOPS per SoC, by release year".into(),
        caption: "Each point is an SoC, placed within its release year. Theoretical: all cores x f32 flops/cycle x max clock. Measured: best peak-FMA run on one cluster with all its cores.".into(),
        spec: Spec::Scatter {
            x_label: "SoC release year".into(),
            y_label: "f32 GFLOPS (log scale)".into(),
            series: vec![("theoretical (all cores)".into(), pts(&theo)), ("measured (fastest cluster)".into(), pts(&meas))],
            y_log: true,
            hlines,
        },
    }))
}
