//! SoC naming. Each source (a property, a `/proc/cpuinfo` line, a sysfs file) is
//! decoded only with the patterns its vendor uses there (`datasets/soc_patterns.csv`),
//! codenames and conditional aliases come from the catalog, and the sources are then
//! reconciled: an authoritative source wins, vendors that disagree name nothing.

use super::cpuinfo::ProcCpuinfo;
use super::Sysroot;
use crate::catalog::{catalog, Catalog};
use crate::schema::{Confidence, Evidence, SocInfo};

/// What a naming source decoded to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub vendor: String,
    pub chipset: String,
}

/// A naming source: its id in `soc_patterns.csv`, the label reports show, and whether
/// it alone is authoritative.
struct Source {
    id: &'static str,
    label: String,
    value: String,
}

/// Inputs besides the strings: cpuinfo tells chips sharing one identifier apart by
/// core count and clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints {
    pub cores: usize,
    /// False when `cores` counts only the CPUs a snapshot happened to show.
    pub cores_exact: bool,
    pub max_khz: u64,
}

/// Decode one value read from source `source` (`hardware`, `board_platform`, ...).
pub fn decode(source: &str, value: &str, hints: Hints) -> Option<Decoded> {
    decode_with(catalog(), source, value, hints)
}

fn decode_with(cat: &Catalog, source: &str, value: &str, hints: Hints) -> Option<Decoded> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let allowed = |vendor: &str| source != "mediatek_platform" || vendor == "MediaTek";
    // Whole-value aliases and codenames first: `msm8916` on an 8-core device, `zuma`, `hi6250`.
    if source != "model_name" {
        if let Some(a) = cat.alias(value, hints.cores, hints.cores_exact, hints.max_khz) {
            if let Some(soc) = cat.soc(&a.chipset) {
                return allowed(&soc.vendor).then(|| Decoded {
                    vendor: soc.vendor.clone(),
                    chipset: a.chipset.clone(),
                });
            }
        }
        if let Some(soc) = cat.soc_by_codename(value) {
            return allowed(&soc.vendor).then(|| Decoded {
                vendor: soc.vendor.clone(),
                chipset: soc.chipset.clone(),
            });
        }
    }
    let (pattern, chipset) = cat
        .patterns
        .iter()
        .filter(|p| p.sources.iter().any(|s| s == source))
        .find_map(|p| p.decode(value).map(|c| (p, c)))?;
    // A decoded part may itself need a fix-up (`Exynos 7580` with four cores is the 7578).
    let chipset = match cat.alias(&chipset, hints.cores, hints.cores_exact, hints.max_khz) {
        Some(a) => a.chipset.clone(),
        None => chipset,
    };
    allowed(&pattern.vendor).then(|| Decoded {
        vendor: pattern.vendor.clone(),
        chipset,
    })
}

/// Name the SoC from every source the sysroot offers.
pub fn identify_soc(sys: &Sysroot, proc: &ProcCpuinfo, hints: Hints) -> SocInfo {
    let cat = catalog();
    let mut sources: Vec<Source> = Vec::new();
    let mut push = |id: &'static str, label: &str, value: Option<String>| {
        if let Some(v) = value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            sources.push(Source {
                id,
                label: label.to_string(),
                value: v,
            });
        }
    };
    let prop = |k: &str| sys.prop(k).map(str::to_string);
    // Priority order: the first decoded source decides, unless vendors disagree.
    push("soc_model", "ro.soc.model", prop("ro.soc.model"));
    push("chipname", "ro.chipname", prop("ro.chipname"));
    push(
        "hardware_chipname",
        "ro.hardware.chipname",
        prop("ro.hardware.chipname"),
    );
    push(
        "hardware",
        "/proc/cpuinfo Hardware",
        proc.hardware().map(str::to_string),
    );
    push(
        "model_name",
        "/proc/cpuinfo model name",
        proc.model_name().map(str::to_string),
    );
    push("arch", "ro.arch", prop("ro.arch"));
    push(
        "mediatek_platform",
        "ro.mediatek.platform",
        prop("ro.mediatek.platform"),
    );
    push(
        "board_platform",
        "ro.board.platform",
        prop("ro.board.platform"),
    );
    push(
        "product_board",
        "ro.product.board",
        prop("ro.product.board"),
    );
    push(
        "soc_machine",
        "/sys/devices/soc0/machine",
        sys.read_line("/sys/devices/soc0/machine"),
    );
    push(
        "soc_id",
        "/sys/devices/soc0/soc_id",
        sys.read_line("/sys/devices/soc0/soc_id"),
    );

    let decoded: Vec<(usize, Decoded)> = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| decode_with(cat, s.id, &s.value, hints).map(|d| (i, d)))
        .collect();
    let mut evidence: Vec<Evidence> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| Evidence {
            source: s.label.clone(),
            value: s.value.clone(),
            decoded: decoded
                .iter()
                .find(|(j, _)| *j == i)
                .map(|(_, d)| format!("{} {}", d.vendor, d.chipset)),
        })
        .collect();

    let authoritative = decoded.iter().find(|(i, _)| sources[*i].id == "soc_model");
    let chosen: Option<(usize, Decoded, Confidence)> = if let Some((i, d)) = authoritative {
        Some((*i, d.clone(), Confidence::High))
    } else {
        let mut vendors: Vec<&str> = decoded.iter().map(|(_, d)| d.vendor.as_str()).collect();
        vendors.sort_unstable();
        vendors.dedup();
        match (vendors.len(), decoded.first()) {
            (1, Some((i, first))) => {
                // A later source of the same vendor is more specific when it extends the
                // chosen part number (`MSM8974PRO` + `MSM8974PRO-AC`) or names a member of
                // the family the chosen one names (`PXA988` + `PXA986`).
                let mut best = first.clone();
                let mut at = *i;
                for (j, d) in &decoded {
                    let extends = crate::catalog::key(&d.chipset)
                        .starts_with(&crate::catalog::key(&best.chipset))
                        && d.chipset.len() > best.chipset.len();
                    if extends || cat.is_family_member(&best.chipset, &d.chipset) {
                        best = d.clone();
                        at = *j;
                    }
                }
                let agreeing = decoded
                    .iter()
                    .filter(|(_, d)| {
                        crate::catalog::key(&d.chipset) == crate::catalog::key(&best.chipset)
                    })
                    .count();
                let strong = matches!(sources[at].id, "chipname" | "hardware_chipname");
                let confidence = if strong || agreeing >= 2 {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                Some((at, best, confidence))
            }
            _ => None,
        }
    };

    let mut info = SocInfo {
        evidence: Vec::new(),
        ..Default::default()
    };
    match chosen {
        Some((i, d, confidence)) => {
            info.source = Some(sources[i].label.clone());
            info.confidence = confidence;
            fill_from_catalog(cat, &mut info, d);
        }
        None if decoded.is_empty() => {
            // Last resort: the device model through the device catalog.
            let model = sys.prop("ro.product.model");
            if let Some(dm) = model.and_then(|m| cat.device_model(m)) {
                if let Some(soc) = cat.soc(&dm.chipset) {
                    let d = Decoded {
                        vendor: soc.vendor.clone(),
                        chipset: dm.chipset.clone(),
                    };
                    info.source = Some("ro.product.model (device catalog)".into());
                    info.confidence = Confidence::Low;
                    evidence.push(Evidence {
                        source: "ro.product.model".into(),
                        value: model.unwrap_or_default().to_string(),
                        decoded: Some(format!("{} {}", d.vendor, d.chipset)),
                    });
                    fill_from_catalog(cat, &mut info, d);
                }
            }
        }
        None => {}
    }
    if info.chipset.is_none() && decoded.is_empty() {
        x86_host(proc, &mut info);
    }
    info.evidence = evidence;
    info
}

fn fill_from_catalog(cat: &Catalog, info: &mut SocInfo, d: Decoded) {
    let row = cat.soc(&d.chipset);
    info.name = row.and_then(|s| s.name.clone());
    info.year = row.and_then(|s| s.year);
    info.vendor = Some(d.vendor);
    info.chipset = Some(d.chipset);
}

/// An x86 PC or server has no SoC in the phone sense: name its CPU package instead
/// (vendor from `vendor_id`, the brand string as the marketing name).
fn x86_host(proc: &ProcCpuinfo, info: &mut SocInfo) {
    let Some(record) = proc.processors.values().next() else {
        return;
    };
    let vendor = match record.get("vendor_id") {
        Some("GenuineIntel") => "Intel",
        Some("AuthenticAMD") => "AMD",
        Some("HygonGenuine") => "Hygon",
        _ => return,
    };
    info.vendor = Some(vendor.to_string());
    info.name = record
        .get("model name")
        .map(|m| {
            let cleaned = m.replace("(R)", "").replace("(TM)", "").replace("(tm)", "");
            let words: Vec<&str> = cleaned
                .split_whitespace()
                .filter(|w| !w.eq_ignore_ascii_case(vendor) && *w != "CPU" && *w != "Processor")
                .collect();
            words.join(" ")
        })
        .filter(|n| !n.is_empty());
    info.source = Some("/proc/cpuinfo vendor_id and model name (x86: no SoC)".into());
    info.confidence = Confidence::Low;
}

/// Why naming failed, for the report's issues.
pub fn naming_problem(info: &SocInfo) -> Option<String> {
    if info.chipset.is_some() || info.vendor.is_some() {
        return None;
    }
    let decoded: Vec<&str> = info
        .evidence
        .iter()
        .filter_map(|e| e.decoded.as_deref())
        .collect();
    Some(if info.evidence.is_empty() {
        "no naming source found (no /proc/cpuinfo Hardware line, no ro.* SoC properties, no /sys/devices/soc0)".to_string()
    } else if decoded.is_empty() {
        let seen: Vec<String> = info
            .evidence
            .iter()
            .map(|e| format!("{}={:?}", e.source, e.value))
            .collect();
        format!(
            "no source named a known SoC ({}); add a codename or pattern to datasets/",
            seen.join(", ")
        )
    } else {
        format!(
            "naming sources disagree on the vendor ({}); refusing to guess",
            decoded.join(" vs ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(source: &str, value: &str, cores: usize) -> Option<String> {
        decode(
            source,
            value,
            Hints {
                cores,
                cores_exact: true,
                max_khz: 0,
            },
        )
        .map(|d| format!("{} {}", d.vendor, d.chipset))
    }

    #[test]
    fn source_patterns() {
        assert_eq!(
            d("hardware", "Qualcomm Technologies, Inc MSM8996pro", 4).as_deref(),
            Some("Qualcomm MSM8996PRO-AB")
        );
        assert_eq!(
            d("hardware", "Qualcomm MSM 8226 (Flattened Device Tree)", 4).as_deref(),
            Some("Qualcomm MSM8226")
        );
        assert_eq!(
            d("board_platform", "msm8916", 8).as_deref(),
            Some("Qualcomm MSM8939")
        );
        assert_eq!(
            d("board_platform", "msm8916", 4).as_deref(),
            Some("Qualcomm MSM8916")
        );
        assert_eq!(
            d("board_platform", "kalama", 8).as_deref(),
            Some("Qualcomm SM8550")
        );
        assert_eq!(
            d("board_platform", "zuma", 9).as_deref(),
            Some("Google Tensor G3")
        );
        assert_eq!(
            d("board_platform", "s5e9925", 8).as_deref(),
            Some("Samsung Exynos 2200")
        );
        assert_eq!(
            d("board_platform", "mt6983", 8).as_deref(),
            Some("MediaTek MT6983")
        );
        assert_eq!(
            d("hardware", "MT6771V/C", 8).as_deref(),
            Some("MediaTek MT6771V/C")
        );
        assert_eq!(
            d("chipname", "exynos7580", 4).as_deref(),
            Some("Samsung Exynos 7578")
        );
        assert_eq!(
            d("model_name", "Intel(R) Atom(TM) x5-Z8350  CPU @ 1.44GHz", 4).as_deref(),
            Some("Intel Atom x5-Z8350")
        );
        assert_eq!(
            d("hardware", "Unisoc UMS312", 4).as_deref(),
            Some("Unisoc UMS312")
        );
        // A value that does not fit its source's patterns names nothing.
        assert_eq!(d("mediatek_platform", "Qualcomm Snapdragon 820", 4), None);
        assert_eq!(d("mediatek_platform", "EXYNOS5420", 4), None);
        assert_eq!(d("product_board", "SM-G928G", 4), None);
        assert_eq!(d("board_platform", "exynos5", 8), None);
    }
}
