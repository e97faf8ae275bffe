//! Optimisation priorities: (core type, kernel, dtype) ranked by fleet-wide latency
//! weight (device share x time), with the share of the fleet each would help.

use super::figure::{top_bars, TopBars};
use super::pct;
use super::{f64s, kernel_in, one_thread_fastest, strs, Analysis, Dataset};
use crate::probe::suite::families::{self, Role};
use polars::prelude::*;
use serde_json::json;

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let per_device = f.per_batch(|results| {
        results
            .filter(
                one_thread_fastest()
                    // Layers only: peak loops are not work an app does, and a
                    // whole model is made of the layers.
                    .and(kernel_in(&families::names_where(|k| {
                        k.role() == Role::Layer
                    })))
                    .and(col("p50_us").is_not_null()),
            )
            .group_by([col("seq"), col("kernel"), col("dtype")])
            .agg([col("p50_us").sum().alias("us")])
    })?;
    let devices = f.devices.clone().lazy().select([
        col("seq"),
        col("big_uarch").fill_null(lit("unknown")).alias("uarch"),
    ]);
    let uarch_devices = devices
        .clone()
        .group_by([col("uarch")])
        .agg([len().cast(DataType::Float64).alias("uarch_devices")]);
    let df = per_device
        .lazy()
        .join(
            devices,
            [col("seq")],
            [col("seq")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("uarch"), col("kernel"), col("dtype")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("us").sum().alias("total_us"),
            col("us").median().alias("median_device_us"),
        ])
        .join(
            uarch_devices,
            [col("uarch")],
            [col("uarch")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            (col("total_us") / lit(f.n)).alias("weight_us_per_device"),
            (col("total_us") / col("total_us").sum()).alias("weight_share"),
            (col("uarch_devices") / lit(f.n)).alias("fleet_share"),
        ])
        .sort(
            ["weight_us_per_device"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .with_row_index("rank", Some(1))
        .select([
            col("rank"),
            col("uarch"),
            col("kernel"),
            col("dtype"),
            col("devices"),
            col("fleet_share"),
            col("median_device_us"),
            col("weight_us_per_device"),
            col("weight_share"),
        ])
        .collect()?;
    if df.height() > 0 {
        let s = |c: &str| strs(&df, c).ok().and_then(|v| v.first().cloned().flatten());
        let n = |c: &str| f64s(&df, c).ok().and_then(|v| v.first().copied().flatten());
        a.stats.insert(
            "priorities.top".into(),
            json!({
                "uarch": s("uarch"), "kernel": s("kernel"), "dtype": s("dtype"),
                "weight_share": n("weight_share").map(|x| super::round(x, 6)),
                "fleet_share": n("fleet_share").map(|x| super::round(x, 6)),
            }),
        );
    }
    a.add(
        "priorities",
        "Optimisation priorities",
        "Per device, the one-thread p50 latency of each inference kernel on its fastest cluster, summed over the suite's shapes; summed over devices by that cluster's core type and divided by the fleet size (device share x time). fleet_share: devices whose fastest cluster is that core, i.e. who would gain.",
        df,
    );
    if let Some(p) = a.stats.get("priorities.top").cloned() {
        let text = |k: &str| {
            p.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let share = |k: &str| pct(p.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0));
        a.finding(
            5,
            format!(
                "Top optimisation priority: {} {} on {}, {} of fleet-wide kernel time, on {} of devices.",
                text("kernel"),
                text("dtype"),
                text("uarch"),
                share("weight_share"),
                share("fleet_share"),
            ),
        );
    }
    if let Some(t) = a.table("priorities") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["uarch", "kernel", "dtype"],
                value: "weight_share",
                top: 12,
                name: "priorities",
                title: "Optimisation priorities: share of fleet-wide kernel time",
                label: "share of fleet-wide latency weight",
                percent: true,
            },
        )?;
        a.chart(chart);
    }
    Ok(())
}
