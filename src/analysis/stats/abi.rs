//! The userland ABI: the share of devices that run 32-bit code (`armeabi-v7a`,
//! `armeabi`, `x86` as the primary ABI, or a 32-bit Linux machine name), overall and
//! by primary core. A 64-bit core
//! with a 32-bit userland runs the 32-bit build of every kernel.

use super::figure::{top_bars, TopBars};
use super::{f64s, pct, strs, Analysis, Dataset};
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
