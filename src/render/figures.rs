//! One chart per figure, each built from its table of the analysis.

use super::charts::{Chart, Mark, Spec};
use crate::analysis::{f64s, kernel_in, strs, Analysis};
use crate::probe::suite::families::{self, Figure};
use polars::prelude::*;

type Built = PolarsResult<Option<Chart>>;

fn col_f(df: &DataFrame, c: &str) -> PolarsResult<Vec<f64>> {
    Ok(f64s(df, c)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}
fn col_s(df: &DataFrame, c: &str) -> PolarsResult<Vec<String>> {
    Ok(strs(df, c)?
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "unknown".into()))
        .collect())
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

fn shares(
    a: &Analysis,
    table: &str,
    key: &str,
    top: usize,
    name: &str,
    title: &str,
    caption: &str,
) -> Built {
    let Some(t) = a.table(table) else {
        return Ok(None);
    };
    let cats: Vec<String> = col_s(&t.df, key)?.into_iter().take(top).collect();
    let vals: Vec<f64> = col_f(&t.df, "share")?.into_iter().take(top).collect();
    Ok(Some(Chart {
        name: name.into(),
        title: title.into(),
        caption: caption.into(),
        spec: Spec::Bars {
            categories: cats,
            series: vec![("share".into(), vals)],
            value_label: "share of devices".into(),
            percent: true,
        },
    }))
}

fn fig4(a: &Analysis) -> Built {
    let Some(t) = a.table("gpu_cpu_ratio") else {
        return Ok(None);
    };
    let cum = col_f(&t.df, "cumulative_share")?;
    let ratio = col_f(&t.df, "gpu_cpu_ratio")?;
    let pts: Vec<(f64, f64)> = cum
        .iter()
        .zip(&ratio)
        .map(|(c, r)| (*c * 100.0, *r))
        .filter(|(_, r)| *r > 0.0)
        .collect();
    let mut hlines = vec![Mark {
        at: 1.0,
        label: "1x: GPU peak = CPU peak".into(),
    }];
    if let Some(s) = a.number("gpu.ratio_ge_2x_share") {
        hlines.push(Mark {
            at: 2.0,
            label: format!("2x ({:.1}% of devices at or above)", 100.0 * s),
        });
    }
    if let Some(s) = a.number("gpu.ratio_ge_3x_share") {
        hlines.push(Mark {
            at: 3.0,
            label: format!("3x ({:.1}%)", 100.0 * s),
        });
    }
    Ok(Some(Chart {
        name: "fig4_gpu_cpu_ratio".into(),
        title: "GPU / CPU theoretical peak ratio over the fleet".into(),
        caption: t.note.clone(),
        spec: Spec::Lines {
            x_label: "devices, highest ratio first (cumulative %)".into(),
            y_label: "GPU / CPU peak GFLOPS (log scale)".into(),
            series: vec![("GPU/CPU peak ratio".into(), pts)],
            y_log: true,
            percent_y: false,
            hlines,
            vlines: vec![],
        },
    }))
}

fn fig5(a: &Analysis) -> Built {
    let Some(t) = a.table("gpu_api") else {
        return Ok(None);
    };
    let labels = col_s(&t.df, "level")?;
    let nice: Vec<String> = labels
        .iter()
        .map(|l| match l.as_str() {
            "gles2.0" => "OpenGL ES >= 2.0".into(),
            "gles3.0" => "OpenGL ES >= 3.0".into(),
            "gles3.1" => "OpenGL ES >= 3.1".into(),
            "gles3.2" => "OpenGL ES >= 3.2".into(),
            "vulkan" => "Vulkan (any)".into(),
            "vulkan1.1" => "Vulkan >= 1.1".into(),
            "opencl_loadable" => "OpenCL loadable".into(),
            "opencl_broken" => "OpenCL crashes on load".into(),
            other => other.to_string(),
        })
        .collect();
    Ok(Some(Chart {
        name: "fig5_gpu_api".into(),
        title: "GPU API support".into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: nice,
            series: vec![("share".into(), col_f(&t.df, "share")?)],
            value_label: "share of devices with an identified GPU".into(),
            percent: true,
        },
    }))
}

/// Rows of `table` as `category -> value` for each of `series` (a column naming the
/// series and a value column), categories in first-seen order, at most `top`.
fn pivot(
    df: &DataFrame,
    cat: &dyn Fn(usize) -> String,
    ser: &[String],
    ser_of: &dyn Fn(usize) -> String,
    val: &[f64],
    top: usize,
) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
    let mut cats: Vec<String> = Vec::new();
    for i in 0..df.height() {
        let c = cat(i);
        if !cats.contains(&c) && cats.len() < top {
            cats.push(c);
        }
    }
    let series = ser
        .iter()
        .map(|s| {
            let mut v = vec![f64::NAN; cats.len()];
            for (i, &x) in val.iter().enumerate().take(df.height()) {
                if &ser_of(i) == s {
                    if let Some(k) = cats.iter().position(|c| *c == cat(i)) {
                        v[k] = x;
                    }
                }
            }
            (s.clone(), v)
        })
        .collect();
    (cats, series)
}

fn speedup(a: &Analysis) -> Built {
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

fn latency(a: &Analysis) -> Built {
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

fn variability(a: &Analysis) -> Built {
    let Some(t) = a.table("variability") else {
        return Ok(None);
    };
    let k = col_s(&t.df, "kernel")?;
    let d = col_s(&t.df, "dtype")?;
    let cats: Vec<String> = k.iter().zip(&d).map(|(k, d)| format!("{k} {d}")).collect();
    Ok(Some(Chart {
        name: "variability".into(),
        title: "Run-to-run variability per kernel".into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: cats,
            series: vec![
                ("median CV".into(), col_f(&t.df, "cv_median")?),
                ("p90 CV".into(), col_f(&t.df, "cv_p90")?),
            ],
            value_label: "coefficient of variation".into(),
            percent: true,
        },
    }))
}

/// A bar chart of the first rows of a table.
struct TopBars {
    table: &'static str,
    key: &'static [&'static str],
    value: &'static str,
    top: usize,
    name: &'static str,
    title: &'static str,
    label: &'static str,
    percent: bool,
}

fn top_bars(a: &Analysis, f: TopBars) -> Built {
    let Some(t) = a.table(f.table) else {
        return Ok(None);
    };
    let keys: Vec<Vec<String>> = f
        .key
        .iter()
        .map(|k| col_s(&t.df, k))
        .collect::<PolarsResult<_>>()?;
    let cats: Vec<String> = (0..t.df.height().min(f.top))
        .map(|i| {
            keys.iter()
                .map(|k| k[i].as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect();
    let vals: Vec<f64> = col_f(&t.df, f.value)?.into_iter().take(f.top).collect();
    Ok(Some(Chart {
        name: f.name.into(),
        title: f.title.into(),
        caption: t.note.clone(),
        spec: Spec::Bars {
            categories: cats,
            series: vec![(f.value.into(), vals)],
            value_label: f.label.into(),
            percent: f.percent,
        },
    }))
}

/// Every chart, in report order.
pub fn all(a: &Analysis) -> PolarsResult<Vec<Chart>> {
    let built = vec![
        fig1(a)?,
        fig2(a)?,
        shares(
            a,
            "cpu_design_year",
            "design_year",
            10,
            "fig3_design_year",
            "Primary CPU core by design year",
            "Share of devices by the design year of their primary core (the paper's buckets).",
        )?,
        shares(
            a,
            "cpu_uarch",
            "uarch",
            15,
            "fig3_uarch",
            "Primary CPU core microarchitecture (top 15)",
            "Primary core: the cluster with the most cores, ties to the faster.",
        )?,
        fig4(a)?,
        fig5(a)?,
        speedup(a)?,
        latency(a)?,
        variability(a)?,
        top_bars(
            a,
            TopBars {
                table: "throttling_by_soc",
                key: &["soc_key"],
                value: "median_ratio",
                top: 15,
                name: "throttling_by_soc",
                title: "Sustained / burst throughput, most common SoCs",
                label: "sustained / burst GOPS (1 = no throttling)",
                percent: false,
            },
        )?,
        top_bars(
            a,
            TopBars {
                table: "big_little",
                key: &["big_uarch", "little_uarch"],
                value: "median_ratio",
                top: 12,
                name: "big_little",
                title: "Big over little cluster, single-thread throughput",
                label: "big / little GOPS (x)",
                percent: false,
            },
        )?,
        top_bars(
            a,
            TopBars {
                table: "priorities",
                key: &["uarch", "kernel", "dtype"],
                value: "weight_share",
                top: 12,
                name: "priorities",
                title: "Optimisation priorities: share of fleet-wide kernel time",
                label: "share of fleet-wide latency weight",
                percent: true,
            },
        )?,
    ];
    Ok(built.into_iter().flatten().collect())
}
