//! Energy: which devices could measure it and from what source (power rails, the
//! fuel gauge; or why not: on the charger, no usable gauge), then from the results
//! that carry it, joules per inference of the whole networks and GOPS per watt of
//! the layers, by core type. Watts are the device's (or its rails'), not one core's.

use super::figure::{top_bars, TopBars};
use super::{f64s, pct, strs, Analysis, Dataset};
use crate::probe::suite::families::{self, Role};
use polars::prelude::*;
use std::collections::BTreeMap;

/// Every value of the devices table's `energy` column, in report order.
const STATUSES: [&str; 4] = ["odpm", "fuel_gauge", "charging", "unavailable"];

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    if !availability(f, a)? {
        return Ok(());
    }
    let groups = fold(f)?;
    per_inference(&groups, a)?;
    gops_per_watt(&groups, a)
}

/// Per (kernel, dtype, core): the devices and every value, joules per inference for
/// the whole networks and GOPS per watt for the layers, single-thread results only.
type Groups = BTreeMap<(String, String, String), (i64, Vec<f64>)>;

/// One pass over the results that carry energy, batch by batch: polars groups each
/// batch, and only the values (8 bytes each) are kept, so memory stays small at a
/// million devices. A device's results live in one part file, so devices add up
/// across batches.
fn fold(f: &Dataset) -> PolarsResult<Groups> {
    let models = families::names_where(|k| k.role() == Role::Model);
    let layers = families::names_where(|k| k.role() == Role::Layer);
    let is_model = super::kernel_in(&models);
    let mut groups = Groups::new();
    f.for_each_energy_batch(
        |r| {
            r.filter(
                col("joules_per_iter")
                    .is_not_null()
                    .and(col("skipped").is_null())
                    .and(col("threads").eq(lit(1i64)))
                    .and(col("uarch").is_not_null())
                    .and(
                        is_model.clone().or(super::kernel_in(&layers)
                            .and(col("gops").is_not_null())
                            .and(col("energy_w").gt(lit(0.0)))),
                    ),
            )
            .with_column(
                when(is_model.clone())
                    .then(col("joules_per_iter"))
                    .otherwise(col("gops") / col("energy_w"))
                    .alias("value"),
            )
            .group_by([col("kernel"), col("dtype"), col("uarch")])
            .agg([
                col("seq").n_unique().cast(DataType::Int64).alias("devices"),
                col("value"),
            ])
            .select([
                col("kernel").cast(DataType::String),
                col("dtype").cast(DataType::String),
                col("uarch").cast(DataType::String),
                col("devices"),
                col("value"),
            ])
        },
        |df| {
            let (k, d, u, n) = (
                strs(&df, "kernel")?,
                strs(&df, "dtype")?,
                strs(&df, "uarch")?,
                f64s(&df, "devices")?,
            );
            let values = df.column("value")?.list()?.clone();
            for i in 0..values.len() {
                let (Some(k), Some(d), Some(u), Some(list)) = (
                    k[i].clone(),
                    d[i].clone(),
                    u[i].clone(),
                    values.get_as_series(i),
                ) else {
                    continue;
                };
                let e = groups.entry((k, d, u)).or_default();
                e.0 += n[i].unwrap_or(0.0) as i64;
                e.1.extend(list.f64()?.iter().flatten());
            }
            Ok(())
        },
    )?;
    Ok(groups)
}

/// The median, interpolated between the middle two of an even count.
fn median(v: &mut [f64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The groups of one role's kernels as a table: kernel, dtype, uarch, devices, `name`.
fn table(groups: &Groups, role: Role, name: &str) -> PolarsResult<DataFrame> {
    let (mut k, mut d, mut u, mut n, mut m) = (vec![], vec![], vec![], vec![], vec![]);
    for ((kernel, dtype, uarch), (devices, values)) in groups {
        if families::get(kernel).is_none_or(|f| f.role() != role) {
            continue;
        }
        let Some(med) = median(&mut values.clone()) else {
            continue;
        };
        k.push(kernel.clone());
        d.push(dtype.clone());
        u.push(uarch.clone());
        n.push(*devices);
        m.push(med);
    }
    df!("kernel" => k, "dtype" => d, "uarch" => u, "devices" => n, name => m)
}

/// The share of devices (of those whose report says) by energy source; false when
/// no report in the dataset speaks of energy.
fn availability(f: &Dataset, a: &mut Analysis) -> PolarsResult<bool> {
    let df = f
        .devices
        .clone()
        .lazy()
        .filter(col("energy").is_not_null())
        .group_by([col("energy")])
        .agg([len().cast(DataType::Int64).alias("devices")])
        .collect()?;
    let (names, counts) = (strs(&df, "energy")?, f64s(&df, "devices")?);
    let count = |s: &str| {
        names
            .iter()
            .zip(&counts)
            .find(|(n, _)| n.as_deref() == Some(s))
            .and_then(|(_, c)| *c)
            .unwrap_or(0.0)
    };
    let total: f64 = counts.iter().flatten().sum();
    if total == 0.0 {
        return Ok(false);
    }
    a.stat("energy.devices", total);
    let shares: Vec<f64> = STATUSES.iter().map(|s| count(s) / total).collect();
    for (s, share) in STATUSES.iter().zip(&shares) {
        a.stat(format!("energy.source_share.{s}"), *share);
    }
    let available = shares[0] + shares[1];
    a.stat("energy.available_share", available);
    let table = df!(
        "source" => STATUSES.to_vec(),
        "devices" => STATUSES.iter().map(|s| count(s) as i64).collect::<Vec<_>>(),
        "share" => shares.clone(),
    )?;
    a.add(
        "energy_sources",
        "Energy: what each device could measure it with",
        "Devices whose latest report says how it measured energy: on-device power rails (odpm, read through the power stats service), the battery's fuel gauge (current x voltage while discharging), or none: on the charger (the battery then shows the charger, not the workload) or no usable rails and gauge. Shares of those devices.",
        table,
    );
    if let Some(t) = a.table("energy_sources") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["source"],
                value: "share",
                top: 4,
                name: "energy_sources",
                title: "Energy availability by source",
                label: "share of devices",
                percent: true,
            },
        );
        a.chart(chart?);
    }
    a.finding(
        8,
        format!(
            "Energy per inference is measurable without root on {} of devices ({} from power rails, {} from the fuel gauge); {} were on the charger, where no figure can be trusted.",
            pct(available),
            pct(shares[0]),
            pct(shares[1]),
            pct(shares[2])
        ),
    );
    Ok(true)
}

/// Joules per inference of each whole network, by dtype and core type: the median
/// over devices of their single-thread runs.
fn per_inference(groups: &Groups, a: &mut Analysis) -> PolarsResult<()> {
    let df = table(groups, Role::Model, "joules")?
        .lazy()
        .with_column((col("joules") * lit(1e3)).alias("mj_per_inference"))
        .sort_by_exprs(
            [col("devices"), col("kernel"), col("dtype"), col("uarch")],
            SortMultipleOptions::default().with_order_descending_multi([true, false, false, false]),
        )
        .collect()?;
    if df.height() == 0 {
        return Ok(());
    }
    let (kernels, dtypes, uarchs, joules) = (
        strs(&df, "kernel")?,
        strs(&df, "dtype")?,
        strs(&df, "uarch")?,
        f64s(&df, "joules")?,
    );
    for i in 0..df.height() {
        if let (Some(k), Some(d), Some(u), Some(j)) =
            (&kernels[i], &dtypes[i], &uarchs[i], joules[i])
        {
            a.stat(format!("energy.j_per_inference.{k}.{d}.{u}"), j);
        }
    }
    // The core with the most devices measured in both dtypes: what int8 saves there.
    let both = (0..df.height()).find_map(|i| {
        let (k, u) = (kernels[i].as_ref()?, uarchs[i].as_ref()?);
        let find = |d: &str| {
            (0..df.height()).find_map(|j| {
                (kernels[j].as_ref() == Some(k)
                    && uarchs[j].as_ref() == Some(u)
                    && dtypes[j].as_deref() == Some(d))
                .then_some(joules[j])
                .flatten()
            })
        };
        Some((k.clone(), u.clone(), find("f32")?, find("i8")?))
    });
    a.add(
        "energy_per_inference",
        "Energy per inference by core type",
        "Whole networks (one run is one inference), one thread: the median over devices of joules per inference, as the device's power rails or battery measured it (the whole device's energy over the run, not one core's); most-measured first.",
        df,
    );
    if let Some(t) = a.table("energy_per_inference") {
        let chart = top_bars(
            t,
            TopBars {
                key: &["kernel", "dtype", "uarch"],
                value: "mj_per_inference",
                top: 16,
                name: "energy_per_inference",
                title: "Energy per inference by core type (one thread)",
                label: "millijoules per inference",
                percent: false,
            },
        );
        a.chart(chart?);
    }
    if let Some((k, u, f32_j, i8_j)) = both.filter(|b| b.2 > 0.0 && b.3 > 0.0) {
        let verdict = if i8_j < f32_j {
            format!(
                "{} less energy: quantisation pays on the battery as well as in latency",
                pct(1.0 - i8_j / f32_j)
            )
        } else {
            format!(
                "{} more energy: int8 costs battery on this core",
                pct(i8_j / f32_j - 1.0)
            )
        };
        a.finding(
            8,
            format!(
                "On {u}, {k} costs {:.0} mJ per inference in f32 and {:.0} mJ in int8 ({verdict}).",
                f32_j * 1e3,
                i8_j * 1e3,
            ),
        );
    }
    Ok(())
}

/// GOPS per watt of each layer kernel, by dtype and core type: the median over
/// devices (and shapes) of the result's GOPS over the device power during it.
fn gops_per_watt(groups: &Groups, a: &mut Analysis) -> PolarsResult<()> {
    let df = table(groups, Role::Layer, "gops_per_w")?
        .lazy()
        .sort_by_exprs(
            [col("gops_per_w"), col("kernel"), col("dtype"), col("uarch")],
            SortMultipleOptions::default().with_order_descending_multi([true, false, false, false]),
        )
        .collect()?;
    if df.height() == 0 {
        return Ok(());
    }
    let (kernels, dtypes, uarchs, eff) = (
        strs(&df, "kernel")?,
        strs(&df, "dtype")?,
        strs(&df, "uarch")?,
        f64s(&df, "gops_per_w")?,
    );
    for i in 0..df.height() {
        if let (Some(k), Some(d), Some(u), Some(e)) = (&kernels[i], &dtypes[i], &uarchs[i], eff[i])
        {
            a.stat(format!("energy.gops_per_w.{k}.{d}.{u}"), e);
        }
    }
    a.add(
        "energy_efficiency",
        "GOPS per watt by kernel and core type",
        "Layer kernels, one thread: the median over devices and shapes of GOPS over the device's power while the kernel ran (rails or battery); most efficient first.",
        df,
    );
    Ok(())
}
