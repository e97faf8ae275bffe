//! The userland ABI: the share of devices that run 32-bit code (`armeabi-v7a`,
//! `armeabi`, `x86` as the primary ABI, or a 32-bit Linux machine name), overall and
//! by primary core; and what 32-bit costs, from devices measured under both ARM ABIs
//! (`run --abi`): the ARMv7 over ARMv8 speed of each kernel on each core. A 64-bit
//! core with a 32-bit userland runs the 32-bit build of every kernel.

use super::figure::{top_bars, TopBars};
use super::{f64s, pct, strs, Analysis, Dataset};
use crate::probe::suite::families::{self, Role};
use polars::prelude::*;

/// Primary ABIs of a 32-bit userland: Android's, and the machine names a Linux
/// device reports in their place (`arm` from the identification of a 32-bit ARM
/// board, `armv8l`: 32-bit code on a 64-bit ARM kernel).
const ABIS_32: [&str; 11] = [
    "armeabi-v7a",
    "armeabi",
    "x86",
    "arm",
    "armv6l",
    "armv7l",
    "armv8l",
    "i386",
    "i486",
    "i586",
    "i686",
];

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    userland(f, a)?;
    v7_over_v8(f, a)
}

fn userland(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let bits32 = ABIS_32
        .iter()
        .map(|x| col("abi").eq(lit(*x)))
        .reduce(|x, y| x.or(y))
        .unwrap_or(lit(false));
    let known = f
        .devices
        .clone()
        .lazy()
        .filter(col("abi").is_not_null())
        .with_column(bits32.cast(DataType::Int64).alias("userland32"));
    let all = known
        .clone()
        .select([
            len().cast(DataType::Float64).alias("devices"),
            col("userland32").sum().cast(DataType::Float64),
        ])
        .collect()?;
    let (Some(Some(n)), Some(Some(n32))) = (
        f64s(&all, "devices")?.first().copied(),
        f64s(&all, "userland32")?.first().copied(),
    ) else {
        return Ok(());
    };
    if n == 0.0 {
        return Ok(());
    }
    a.stat("abi.userland32_share", n32 / n);
    let df = known
        .group_by([col("primary_uarch")
            .fill_null(lit("unknown"))
            .alias("uarch")])
        .agg([
            len().cast(DataType::Int64).alias("devices"),
            col("userland32").sum().alias("userland32"),
        ])
        .with_column(
            (col("userland32").cast(DataType::Float64) / col("devices").cast(DataType::Float64))
                .alias("share"),
        )
        .sort_by_exprs(
            [col("devices"), col("uarch")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()?;
    let (uarchs, shares, counts) = (
        strs(&df, "uarch")?,
        f64s(&df, "share")?,
        f64s(&df, "devices")?,
    );
    for (u, s) in uarchs.iter().zip(&shares) {
        if let (Some(u), Some(s)) = (u, s) {
            a.stat(format!("abi.userland32_share.{u}"), *s);
        }
    }
    // The most common core with both kinds of userland: 64-bit silicon running
    // 32-bit code.
    let mixed = uarchs
        .iter()
        .zip(&shares)
        .zip(&counts)
        .find_map(|((u, s), c)| match (u, s, c) {
            (Some(u), Some(s), Some(c)) if *s > 0.0 && *s < 1.0 && *c >= 0.01 * n => {
                Some((u.clone(), *s))
            }
            _ => None,
        });
    a.add(
        "abi_userland",
        "32-bit userland by primary core",
        "Devices by primary core (those whose report names an ABI): how many run a 32-bit userland (primary ABI armeabi-v7a, armeabi or x86, or a 32-bit Linux machine such as armv7l), so every kernel runs its 32-bit build.",
        df,
    );
    if let Some(t) = a.table("abi_userland") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["uarch"],
                value: "share",
                top: 12,
                name: "abi_userland",
                title: "32-bit userland by primary core",
                label: "share of the core's devices",
                percent: true,
            },
        );
        a.chart(chart?);
    }
    if n32 / n >= 0.05 {
        let on64 = mixed
            .map(|(u, s)| format!(", among them {} of the {u} devices (a 64-bit core)", pct(s)))
            .unwrap_or_default();
        a.finding(
            7,
            format!(
                "{} of devices run a 32-bit userland{on64}: their speed is that of the 32-bit (ARMv7) kernels, which deserve tuning of their own.",
                pct(n32 / n)
            ),
        );
    }
    Ok(())
}

/// A kernel's 32-bit build is this much slower than its 64-bit one before a finding
/// names it.
const V7_SLOW: f64 = 0.8;

/// Per device measured under both arm64-v8a and an ARMv7 ABI (the latest run of
/// each), the ratio of the two runs' GOPS for each single-thread kernel, dtype, shape
/// and cluster; then per kernel, dtype and core the median over devices, clusters and
/// shapes.
fn v7_over_v8(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    let side = when(col("probe_abi").eq(lit("arm64-v8a")))
        .then(lit("v8"))
        .when(
            col("probe_abi")
                .eq(lit("armeabi-v7a"))
                .or(col("probe_abi").eq(lit("armeabi"))),
        )
        .then(lit("v7"))
        .otherwise(lit(NULL).cast(DataType::String));
    let runs = f
        .abi_runs
        .clone()
        .lazy()
        .with_column(side.alias("side"))
        .filter(col("side").is_not_null())
        .filter(col("seq").eq(col("seq").max().over([col("device_key"), col("side")])?))
        .filter(col("side").n_unique().over([col("device_key")])?.eq(lit(2)))
        .select([col("device_key"), col("side"), col("seq")])
        .collect()?;
    if runs.height() == 0 {
        return Ok(());
    }
    let results = f.per_batch_of(&runs, |r| {
        r.filter(
            col("gops")
                .is_not_null()
                .and(col("skipped").is_null())
                .and(col("threads").eq(lit(1i64))),
        )
        .select([
            col("seq"),
            col("kernel").cast(DataType::String),
            col("dtype").cast(DataType::String),
            col("shape").cast(DataType::String),
            col("uarch").cast(DataType::String),
            col("cluster"),
            col("gops"),
        ])
    })?;
    let gops = |s: &str| col("gops").filter(col("side").eq(lit(s))).mean();
    let df = results
        .lazy()
        .join(
            runs.clone().lazy(),
            [col("seq")],
            [col("seq")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("uarch").is_not_null())
        // Cluster by cluster: two clusters of one core type may run at different clocks.
        .group_by([
            col("device_key"),
            col("kernel"),
            col("dtype"),
            col("shape"),
            col("uarch"),
            col("cluster"),
        ])
        .agg([gops("v7").alias("v7"), gops("v8").alias("v8")])
        .filter(col("v7").is_not_null().and(col("v8").gt(lit(0.0))))
        .with_column((col("v7") / col("v8")).alias("ratio"))
        .group_by([col("kernel"), col("dtype"), col("uarch")])
        .agg([
            col("device_key")
                .n_unique()
                .cast(DataType::Int64)
                .alias("devices"),
            col("ratio").median().alias("v7_over_v8"),
        ])
        .sort_by_exprs(
            [col("v7_over_v8"), col("kernel"), col("dtype"), col("uarch")],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let devices = runs
        .column("device_key")?
        .as_materialized_series()
        .n_unique()?;
    a.stat("abi.v7_v8.devices", devices as f64);
    if df.height() == 0 {
        return Ok(());
    }
    let (kernels, dtypes, uarchs, ratios, counts) = (
        strs(&df, "kernel")?,
        strs(&df, "dtype")?,
        strs(&df, "uarch")?,
        f64s(&df, "v7_over_v8")?,
        f64s(&df, "devices")?,
    );
    // The finding: work an app does (layers, whole models), on a 64-bit core of which
    // at least 5 % of devices ship a 32-bit userland when one is slow enough, else on
    // any core.
    let app_work = families::names_where(|k| matches!(k.role(), Role::Layer | Role::Model));
    let mixed: Vec<String> = a
        .stats
        .iter()
        .filter(|(_, v)| v.as_f64().is_some_and(|s| (0.05..1.0).contains(&s)))
        .filter_map(|(k, _)| k.strip_prefix("abi.userland32_share."))
        .map(str::to_string)
        .collect();
    let mut slowest: Option<(bool, String)> = None;
    for i in 0..df.height() {
        let (Some(k), Some(d), Some(u), Some(r)) = (&kernels[i], &dtypes[i], &uarchs[i], ratios[i])
        else {
            continue;
        };
        a.stat(format!("abi.v7_over_v8.{k}.{d}.{u}"), r);
        let on_mixed = mixed.contains(u);
        let better = slowest.as_ref().is_none_or(|(m, _)| on_mixed && !m);
        if r < V7_SLOW && app_work.iter().any(|w| w == k) && better {
            slowest = Some((on_mixed, format!(
                "{k} {d} on {u} runs at {r:.2}x its 64-bit speed in the 32-bit build (median of {} devices measured under both ABIs)",
                counts[i].unwrap_or(0.0)
            )));
        }
    }
    a.add(
        "abi_v7_v8",
        "What 32-bit costs: ARMv7 over ARMv8 speed",
        "Devices measured under both arm64-v8a and an ARMv7 ABI (`fleetscope run --abi armeabi-v7a`): for each single-thread kernel, dtype and core, the median over devices, clusters and shapes of the 32-bit run's GOPS over the 64-bit run's on the same cluster. Below 1, the 32-bit build is slower; slowest first.",
        df,
    );
    if let Some(t) = a.table("abi_v7_v8") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["kernel", "dtype", "uarch"],
                value: "v7_over_v8",
                top: 16,
                name: "abi_v7_v8",
                title: "ARMv7 over ARMv8 speed, per kernel and core",
                label: "32-bit GOPS / 64-bit GOPS",
                percent: false,
            },
        );
        a.chart(chart?);
    }
    if let Some((_, s)) = slowest {
        a.finding(
            7,
            format!("{s}: devices with a 32-bit userland pay this on every inference."),
        );
    }
    Ok(())
}
