//! Fig. 3: primary-core microarchitecture and core design year, and cluster counts.

use super::figure::share_bars;
use super::pct;
use super::{f64s, strs, Analysis, Dataset};
use polars::prelude::*;
use serde_json::json;

/// Design-year buckets of the paper's pie.
fn bucket() -> Expr {
    let y = col("primary_design_year");
    when(y.clone().is_null())
        .then(lit("unknown"))
        .when(y.clone().lt_eq(lit(2010)))
        .then(lit("2005-2010"))
        .when(y.clone().eq(lit(2011)))
        .then(lit("2011"))
        .when(y.clone().eq(lit(2012)))
        .then(lit("2012"))
        .when(y.lt_eq(lit(2014)))
        .then(lit("2013-2014"))
        .otherwise(lit("2015+"))
}

fn shares(f: &Dataset, key: Expr, name: &str) -> PolarsResult<DataFrame> {
    f.devices
        .clone()
        .lazy()
        .group_by([key.alias(name)])
        .agg([len().cast(DataType::Int64).alias("devices")])
        .with_column((col("devices").cast(DataType::Float64) / lit(f.n)).alias("share"))
        .sort_by_exprs(
            [col("devices"), col(name)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()
}

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let uarch = shares(f, col("primary_uarch").fill_null(lit("unknown")), "uarch")?;
    let names = strs(&uarch, "uarch")?;
    let share = f64s(&uarch, "share")?;
    for (u, s) in names.iter().zip(&share) {
        if let (Some(u), Some(s)) = (u, s) {
            a.stat(format!("cpu.uarch_share.{u}"), *s);
        }
    }
    if let (Some(Some(u)), Some(Some(s))) = (names.first(), share.first()) {
        a.stats.insert(
            "cpu.top_uarch".into(),
            json!({ "uarch": u, "share": super::round(*s, 6) }),
        );
    }
    let years = shares(f, bucket(), "design_year")?
        .sort(["design_year"], SortMultipleOptions::default())?;
    let mut old = 0.0;
    for (b, s) in strs(&years, "design_year")?
        .iter()
        .zip(f64s(&years, "share")?)
    {
        if let (Some(b), Some(s)) = (b, s) {
            a.stat(format!("cpu.design_year_share.{b}"), s);
            if ["2005-2010", "2011", "2012"].contains(&b.as_str()) {
                old += s;
            }
        }
    }
    a.stat("cpu.designed_2012_or_earlier_share", old);
    let clusters = shares(f, col("clusters"), "clusters")?
        .sort(["clusters"], SortMultipleOptions::default())?;
    for (c, s) in f64s(&clusters, "clusters")?
        .iter()
        .zip(f64s(&clusters, "share")?)
    {
        if let (Some(c), Some(s)) = (c, s) {
            a.stat(format!("cpu.cluster_count_share.{c}"), s);
        }
    }
    a.add(
        "cpu_uarch",
        "Primary CPU core microarchitecture (Fig. 3)",
        "Primary core: the cluster with the most cores, ties to the faster. Share of devices.",
        uarch,
    );
    a.add(
        "cpu_design_year",
        "Primary CPU core design year (Fig. 3)",
        "Design year of the primary core (datasets/uarchs.csv), in the paper's buckets.",
        years,
    );
    a.add(
        "cpu_clusters",
        "CPU clusters per SoC",
        "Share of devices by number of CPU clusters.",
        clusters,
    );
    if let (Some(top), Some(old)) = (
        a.stats.get("cpu.top_uarch").cloned(),
        a.number("cpu.designed_2012_or_earlier_share"),
    ) {
        let share = top
            .get("share")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0);
        a.finding(
            2,
            format!(
                "Primary CPU cores: {} on {} of devices; {} of primary cores were designed in 2012 or earlier.",
                top.get("uarch").and_then(serde_json::Value::as_str).unwrap_or("?"),
                pct(share),
                pct(old)
            ),
        );
    }
    for (table, key, top, name, title, caption) in [
        (
            "cpu_design_year",
            "design_year",
            10,
            "fig3_design_year",
            "Primary CPU core by design year",
            "Share of devices by the design year of their primary core (the paper's buckets).",
        ),
        (
            "cpu_uarch",
            "uarch",
            15,
            "fig3_uarch",
            "Primary CPU core microarchitecture (top 15)",
            "Primary core: the cluster with the most cores, ties to the faster.",
        ),
    ] {
        if let Some(t) = a.table(table) {
            let chart = share_bars(t, key, top, name, title, caption)?;
            a.chart(chart);
        }
    }
    Ok(())
}
