//! The human-readable form of an [`Identity`], as `fleetscope identify` prints it.

use crate::schema::{ApiSupport, Identity};
use std::fmt::Write;

pub fn summary(id: &Identity) -> String {
    let mut s = String::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    let d = &id.device;
    let _ = writeln!(
        s,
        "Device   {} {} ({}{}{})",
        opt(&d.manufacturer),
        opt(&d.model),
        d.os,
        d.os_version
            .as_ref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        d.sdk.map(|v| format!(", API {v}")).unwrap_or_default()
    );
    if let Some(m) = d.memory_bytes {
        let _ = writeln!(s, "Memory   {:.1} GiB", m as f64 / (1u64 << 30) as f64);
    }
    let soc = &id.soc;
    match (&soc.vendor, &soc.chipset) {
        (Some(v), Some(c)) => {
            let name = soc
                .name
                .as_ref()
                .filter(|n| *n != c)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let year = soc.year.map(|y| format!(", {y}")).unwrap_or_default();
            let _ = writeln!(
                s,
                "SoC      {v} {c}{name}{year}  [from {}, confidence {:?}]",
                opt(&soc.source),
                soc.confidence
            );
        }
        (Some(v), None) => {
            let _ = writeln!(
                s,
                "SoC      {v} {}  [from {}]",
                opt(&soc.name),
                opt(&soc.source)
            );
        }
        _ => {
            let _ = writeln!(s, "SoC      unknown");
        }
    }
    let cpu = &id.cpu;
    let _ = writeln!(
        s,
        "CPU      {} CPUs in {} cluster(s){}",
        cpu.cpus.len(),
        cpu.clusters.len(),
        cpu.arch
            .as_ref()
            .map(|a| format!(", {a}"))
            .unwrap_or_default()
    );
    if let Some(x) = &cpu.x86 {
        let _ = writeln!(
            s,
            "         {} (family {:#x}, model {:#x})",
            x.model_name.clone().unwrap_or_else(|| x.vendor.clone()),
            x.family,
            x.model
        );
    }
    for c in &cpu.clusters {
        let ids: Vec<String> = c.cpus.iter().map(u32::to_string).collect();
        let clock = match (c.min_khz, c.max_khz) {
            (Some(lo), Some(hi)) => format!("{:.2}-{:.2} GHz", lo as f64 / 1e6, hi as f64 / 1e6),
            (None, Some(hi)) => format!("up to {:.2} GHz", hi as f64 / 1e6),
            _ => "clock unknown".into(),
        };
        let _ = writeln!(
            s,
            "  cluster {}: cpus {} x {}  {}{}{}",
            c.id,
            ids.join(","),
            opt(&c.uarch),
            clock,
            c.design_year
                .map(|y| format!(", designed {y}"))
                .unwrap_or_default(),
            c.peak_gflops
                .map(|p| format!(", peak {p:.1} GFLOPS f32"))
                .unwrap_or_default()
        );
    }
    let offline: Vec<String> = cpu
        .cpus
        .iter()
        .filter(|c| !c.online)
        .map(|c| c.id.to_string())
        .collect();
    if !offline.is_empty() {
        let _ = writeln!(s, "  offline: cpu {}", offline.join(","));
    }
    if !cpu.features.is_empty() {
        let _ = writeln!(s, "  features: {}", cpu.features.join(" "));
    }
    let g = &id.gpu;
    let api = |a: &ApiSupport| {
        a.version
            .clone()
            .unwrap_or_else(|| format!("- ({})", a.reason.clone().unwrap_or_default()))
    };
    let _ = writeln!(
        s,
        "GPU      {} {}{}",
        opt(&g.vendor),
        opt(&g.model),
        g.peak_gflops
            .map(|p| format!(", peak {p:.0} GFLOPS f32"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "  OpenGL ES {}\n  Vulkan    {}\n  OpenCL    {}",
        api(&g.gles),
        api(&g.vulkan),
        api(&g.opencl)
    );
    let t = &id.thermal;
    if t.zones.is_empty() {
        let _ = writeln!(
            s,
            "Thermal  no zones: {}",
            t.reason.clone().unwrap_or_default()
        );
    } else {
        let hot = t
            .zones
            .iter()
            .filter_map(|z| z.temp_c)
            .fold(f64::NAN, f64::max);
        let _ = writeln!(s, "Thermal  {} zones, hottest {:.1} C", t.zones.len(), hot);
    }
    for i in &id.issues {
        let _ = writeln!(s, "note     [{}] {}", i.stage, i.message);
    }
    s
}
