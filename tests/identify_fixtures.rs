//! Identification against every real device snapshot in ../shared/datasets/devices,
//! checked against the facts pytorch/cpuinfo asserts about each device.

mod common;

use fleetscope::catalog::catalog;
use fleetscope::probe::identify::{identify, load_fixture};
use serde_json::Value;

const NAMING_PROPS: &[&str] = &[
    "ro.soc.model",
    "ro.chipname",
    "ro.hardware.chipname",
    "ro.board.platform",
    "ro.mediatek.platform",
    "ro.arch",
    "ro.product.board",
];

/// The SoC a fixture's device really has, where cpuinfo itself cannot name it.
fn expected_name(device: &str, package_name: &str) -> Option<String> {
    match (device, package_name) {
        // cpuinfo says "Unknown" for the Pixel 8; it is a Google Tensor G3 (ro.board.platform=zuma).
        ("pixel-8", "Unknown") => Some("Google Tensor G3".to_string()),
        (_, "Unknown") => None,
        (_, name) => Some(name.to_string()),
    }
}

fn has_naming_input(fx: &Value) -> bool {
    let files = &fx["files"];
    let cpuinfo = files["/proc/cpuinfo"].as_str().unwrap_or("");
    let hw = cpuinfo
        .lines()
        .any(|l| l.starts_with("Hardware") || l.starts_with("model name"));
    let props = NAMING_PROPS
        .iter()
        .any(|k| fx["properties"][k].as_str().is_some_and(|v| !v.is_empty()));
    let soc0 = files
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k.starts_with("/sys/devices/soc0/")));
    hw || props || soc0
}

/// Names agree when vendor + chipset or vendor + marketing name equal the expected
/// name up to case and spacing, or both name the same catalog SoC.
fn names_match(
    expected: &str,
    vendor: Option<&str>,
    chipset: Option<&str>,
    name: Option<&str>,
) -> bool {
    let want = common::norm(expected);
    let Some(vendor) = vendor else { return false };
    let candidates = [chipset, name]
        .into_iter()
        .flatten()
        .map(|c| common::norm(&format!("{vendor} {c}")));
    if candidates.clone().any(|c| c == want) {
        return true;
    }
    // Part number / marketing name equivalence through the catalog.
    let exp_part = expected.split_once(' ').map(|(_, p)| p).unwrap_or(expected);
    let by_part = catalog().soc(exp_part).filter(|s| {
        common::norm(&format!("{} {}", s.vendor, s.chipset))
            == common::norm(&format!(
                "{} {exp_part}",
                expected.split(' ').next().unwrap_or("")
            ))
    });
    let by_name = catalog().socs.iter().find(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| common::norm(&format!("{} {n}", s.vendor)) == want)
    });
    let ours = chipset.and_then(|c| catalog().soc(c));
    match (ours, by_part.or(by_name)) {
        (Some(a), Some(b)) => {
            a.chipset == b.chipset && common::norm(vendor) == common::norm(&b.vendor)
        }
        _ => false,
    }
}

#[test]
fn identification_matches_cpuinfo_facts_on_every_fixture() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let fixtures = common::device_fixtures(&datasets);
    assert!(
        fixtures.len() >= 100,
        "expected the full fixture set, found {}",
        fixtures.len()
    );

    let (mut name_total, mut name_ok, mut uarch_total, mut uarch_ok) = (0, 0, 0, 0);
    let (mut cluster_total, mut cluster_ok, mut freq_total, mut freq_ok) = (0, 0, 0, 0);
    let mut failures: Vec<String> = Vec::new();
    let mut uncatalogued = 0;

    for (device, path) in &fixtures {
        let fx: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let sys = load_fixture(path).unwrap_or_else(|e| panic!("{device}: {e}"));
        let id = identify(&sys);
        let exp = &fx["expected"];
        if exp.is_null() {
            continue;
        }

        // SoC naming.
        if let Some(pkg) = exp["package_name"].as_str() {
            if let Some(want) = expected_name(device, pkg).filter(|_| has_naming_input(&fx)) {
                name_total += 1;
                if names_match(
                    &want,
                    id.soc.vendor.as_deref(),
                    id.soc.chipset.as_deref(),
                    id.soc.name.as_deref(),
                ) {
                    name_ok += 1;
                    let chip = id.soc.chipset.as_deref().unwrap_or("");
                    if catalog().soc(chip).is_none() {
                        failures.push(format!("{device}: {chip} has no row in datasets/socs.csv"));
                        uncatalogued += 1;
                    }
                } else {
                    failures.push(format!(
                        "{device}: SoC {want:?}, got {:?} {:?} ({:?})",
                        id.soc.vendor, id.soc.chipset, id.soc.name
                    ));
                }
            }
        }

        // Per-Linux-CPU microarchitecture.
        if let Some(uarchs) = exp["uarch_per_linux_cpu"].as_array() {
            let ids: Vec<u64> = match exp["linux_cpu_ids"].as_array() {
                Some(ids) => ids.iter().filter_map(Value::as_u64).collect(),
                None => (0..uarchs.len() as u64).collect(),
            };
            uarch_total += 1;
            let ours: Vec<Option<String>> = ids
                .iter()
                .map(|i| {
                    id.cpu
                        .cpus
                        .iter()
                        .find(|c| u64::from(c.id) == *i)
                        .and_then(|c| c.uarch.clone())
                })
                .collect();
            let want: Vec<Option<String>> = uarchs
                .iter()
                .map(|u| u.as_str().map(str::to_string))
                .collect();
            if ours == want {
                uarch_ok += 1;
            } else {
                failures.push(format!(
                    "{device}: uarch per cpu {ids:?}: want {want:?}, got {ours:?}"
                ));
            }
        }

        // Cluster count.
        if let Some(n) = exp["clusters_count"].as_u64() {
            cluster_total += 1;
            if id.cpu.clusters.len() as u64 == n {
                cluster_ok += 1;
            } else {
                let shape: Vec<String> = id
                    .cpu
                    .clusters
                    .iter()
                    .map(|c| {
                        format!(
                            "{:?}x{}@{:?}",
                            c.cpus,
                            c.uarch.clone().unwrap_or_default(),
                            c.max_khz
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{device}: {n} clusters wanted, got {}: {}",
                    id.cpu.clusters.len(),
                    shape.join(" ")
                ));
            }
        }

        // Max frequency, where cpuinfo's value agrees with the device's own sysfs, for
        // the CPUs whose cpufreq the snapshot shows (the rest cpuinfo guessed too).
        if exp["max_frequency_agrees_with_sysfs"].as_bool() == Some(true) {
            let ids: Vec<u64> = exp["linux_cpu_ids"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let hz: Vec<u64> = exp["max_frequency_hz_per_linux_cpu"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            for (cpu, hz) in ids.iter().zip(&hz) {
                let file = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/cpuinfo_max_freq");
                if fx["files"][&file].is_null() {
                    continue;
                }
                freq_total += 1;
                let ours = id
                    .cpu
                    .cpus
                    .iter()
                    .find(|c| u64::from(c.id) == *cpu)
                    .and_then(|c| c.max_khz)
                    .map(|k| k * 1000);
                if ours == Some(*hz) {
                    freq_ok += 1;
                } else {
                    failures.push(format!("{device}: cpu{cpu} max {hz} Hz, got {ours:?}"));
                }
            }
        }
    }

    let pct = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "SoC naming        {name_ok}/{name_total} fixtures ({:.1} %)",
        pct(name_ok, name_total)
    );
    println!(
        "uarch per CPU     {uarch_ok}/{uarch_total} fixtures ({:.1} %)",
        pct(uarch_ok, uarch_total)
    );
    println!(
        "cluster count     {cluster_ok}/{cluster_total} fixtures ({:.1} %)",
        pct(cluster_ok, cluster_total)
    );
    println!(
        "max frequency     {freq_ok}/{freq_total} CPUs ({:.1} %)",
        pct(freq_ok, freq_total)
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert_eq!(
        uncatalogued, 0,
        "every SoC of the fixtures needs a catalog row"
    );
    assert!(
        name_total >= 100 && pct(name_ok, name_total) >= 95.0,
        "SoC naming {name_ok}/{name_total} is below 95 %"
    );
    assert_eq!(
        uarch_ok, uarch_total,
        "uarch per Linux CPU must match on every fixture that asserts it"
    );
    // One log-only snapshot (galaxy-a3-2016-eu.logs) is ambiguous by nature: 4 online CPUs and
    // no `possible` file cannot tell the 4-core Exynos 7578 from an 8-core 7580.
    assert!(
        pct(cluster_ok, cluster_total) >= 99.0,
        "cluster count {cluster_ok}/{cluster_total} is below 99 %"
    );
    assert_eq!(
        freq_ok, freq_total,
        "max frequency must match where cpuinfo agrees with sysfs"
    );
}
