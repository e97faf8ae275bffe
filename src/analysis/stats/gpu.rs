//! Figs. 4 and 5: GPU/CPU theoretical peak ratio over cumulative device share, and
//! GPU API support.

use super::figure::{col_f, col_s, Built};
use super::pct;
use super::{f64s, strs, Analysis, Dataset};
use crate::analysis::{Chart, Mark, Spec};
use polars::prelude::*;

/// `3.2` / `3.2.0` / `OpenGL ES 3.2 V@...` -> (3, 2).
fn version(v: &str) -> Option<(u32, u32)> {
    let start = v.find(|c: char| c.is_ascii_digit())?;
    let mut parts = v[start..].split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

pub fn run(f: &Dataset, a: &mut Analysis) -> PolarsResult<()> {
    // Fig. 4: ratio per device, then the curve at every 0.5 % of devices.
    let gpu = f64s(&f.devices, "gpu_peak_gflops")?;
    let cpu = f64s(&f.devices, "cpu_peak_gflops")?;
    let mut ratio: Vec<f64> = gpu
        .iter()
        .zip(&cpu)
        .filter_map(|(g, c)| match (g, c) {
            (Some(g), Some(c)) if *c > 0.0 => Some(g / c),
            _ => None,
        })
        .collect();
    ratio.sort_by(|a, b| b.total_cmp(a));
    let known = ratio.len() as f64;
    if known > 0.0 {
        let share_ge = |x: f64| ratio.iter().filter(|&&r| r >= x).count() as f64 / known;
        a.stat("gpu.ratio_ge_1x_share", share_ge(1.0));
        a.stat("gpu.ratio_ge_2x_share", share_ge(2.0));
        a.stat("gpu.ratio_ge_3x_share", share_ge(3.0));
        a.stat("gpu.ratio_median", ratio[ratio.len() / 2]);
        a.stat("gpu.ratio_known_share", known / f.n);
        let points = 200usize;
        let (mut cum, mut r) = (Vec::new(), Vec::new());
        for i in 0..=points {
            let q = i as f64 / points as f64;
            let idx = ((q * known) as usize).min(ratio.len() - 1);
            cum.push(q);
            r.push(ratio[idx]);
        }
        let df = DataFrame::new(
            cum.len(),
            vec![
                Column::new("cumulative_share".into(), cum),
                Column::new("gpu_cpu_ratio".into(), r),
            ],
        )?;
        a.add(
            "gpu_cpu_ratio",
            "GPU/CPU theoretical peak ratio (Fig. 4)",
            format!(
                "Ratio of the GPU's theoretical f32 GFLOPS to all CPU cores', devices sorted by ratio, descending; {:.1} % of devices have both peaks known.",
                100.0 * known / f.n
            ),
            df,
        );
    }

    // Fig. 5: API support among devices whose GPU was identified.
    let gles = strs(&f.devices, "gles")?;
    let vulkan = strs(&f.devices, "vulkan")?;
    let opencl = strs(&f.devices, "opencl_status")?;
    let model = strs(&f.devices, "gpu_model")?;
    let seen: Vec<usize> = (0..gles.len())
        .filter(|&i| model[i].is_some() || gles[i].is_some())
        .collect();
    let m = seen.len().max(1) as f64;
    let count = |pred: &dyn Fn(usize) -> bool| seen.iter().filter(|&&i| pred(i)).count() as f64 / m;
    let gl = |i: usize| gles[i].as_deref().and_then(version);
    let vk = |i: usize| vulkan[i].as_deref().and_then(version);
    let rows: Vec<(&str, &str, f64)> = vec![
        (
            "OpenGL ES",
            "gles2.0",
            count(&|i| gl(i).is_some_and(|v| v >= (2, 0))),
        ),
        (
            "OpenGL ES",
            "gles3.0",
            count(&|i| gl(i).is_some_and(|v| v >= (3, 0))),
        ),
        (
            "OpenGL ES",
            "gles3.1",
            count(&|i| gl(i).is_some_and(|v| v >= (3, 1))),
        ),
        (
            "OpenGL ES",
            "gles3.2",
            count(&|i| gl(i).is_some_and(|v| v >= (3, 2))),
        ),
        ("Vulkan", "vulkan", count(&|i| vk(i).is_some())),
        (
            "Vulkan",
            "vulkan1.1",
            count(&|i| vk(i).is_some_and(|v| v >= (1, 1))),
        ),
        (
            "OpenCL",
            "opencl_loadable",
            count(&|i| opencl[i].as_deref() == Some("loadable")),
        ),
        (
            "OpenCL",
            "opencl_broken",
            count(&|i| opencl[i].as_deref() == Some("broken")),
        ),
    ];
    for (_, k, s) in &rows {
        a.stat(format!("gpu.api_share.{k}"), *s);
    }
    a.stat("gpu.identified_share", seen.len() as f64 / f.n);
    let df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("api".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            Column::new("level".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            Column::new("share".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        ],
    )?;
    a.add(
        "gpu_api",
        "GPU API support (Fig. 5)",
        format!(
            "Share of devices whose GPU was identified ({:.1} % of the fleet) supporting at least each level; OpenCL broken = loading the library crashed the probe's check process.",
            100.0 * seen.len() as f64 / f.n
        ),
        df,
    );
    if let (Some(m), Some(r2), Some(r3)) = (
        a.number("gpu.ratio_median"),
        a.number("gpu.ratio_ge_2x_share"),
        a.number("gpu.ratio_ge_3x_share"),
    ) {
        a.finding(
            3,
            format!(
                "GPU versus CPU: median GPU/CPU theoretical peak ratio {m:.2}x; the GPU peak is >= 2x the CPU's on {} and >= 3x on {} of devices.",
                pct(r2),
                pct(r3)
            ),
        );
    }
    let chart = fig4(a)?;
    a.chart(chart);
    let chart = fig5(a)?;
    a.chart(chart);
    Ok(())
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

#[cfg(test)]
mod tests {
    #[test]
    fn versions_parse_from_plain_and_driver_strings() {
        assert_eq!(super::version("3.2"), Some((3, 2)));
        assert_eq!(super::version("OpenGL ES 3.1 V@415.0"), Some((3, 1)));
        assert_eq!(super::version("1.1.128"), Some((1, 1)));
        assert_eq!(super::version("none"), None);
    }
}
