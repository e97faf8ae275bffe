//! SoC naming against pytorch/cpuinfo's chipset-name vectors
//! (../shared/datasets/chipset_names/vectors.json): each input is put where a device
//! shows it (a `/proc/cpuinfo` Hardware line, a property, the CPU count and clock in
//! sysfs) and the whole identification path names it.

mod common;

use fleetscope::probe::identify::{identify, Sysroot};
use serde_json::Value;
use std::collections::BTreeMap;

fn sysroot_for(v: &Value) -> Sysroot {
    let field = v["input_field"].as_str().unwrap_or("");
    let inputs = v["inputs"].as_object().cloned().unwrap_or_default();
    let mut files = BTreeMap::new();
    let mut props = BTreeMap::new();
    for (k, val) in &inputs {
        let val = val.as_str().unwrap_or("");
        if val.is_empty() {
            continue;
        }
        match (field, k.as_str()) {
            ("combined", "hardware") | ("proc_cpuinfo_hardware", _) => {
                files.insert(
                    "/proc/cpuinfo".to_string(),
                    format!("processor\t: 0\nHardware\t: {val}\n"),
                );
            }
            _ => {
                props.insert(k.clone(), val.to_string());
            }
        }
    }
    let cores = v["cores"].as_u64().unwrap_or(1);
    if cores > 1 {
        files.insert(
            "/sys/devices/system/cpu/possible".into(),
            format!("0-{}\n", cores - 1),
        );
    }
    if let Some(khz) = v["max_cpu_freq_khz"].as_u64().filter(|&k| k > 0) {
        files.insert(
            "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq".into(),
            format!("{khz}\n"),
        );
    }
    Sysroot::snapshot(files, props, "vector")
}

#[test]
fn chipset_name_vectors() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let doc: Value = serde_json::from_slice(
        &std::fs::read(datasets.join("chipset_names/vectors.json")).unwrap(),
    )
    .unwrap();
    let vectors = doc["vectors"].as_array().expect("vectors");
    let mut by_field: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for v in vectors {
        // Tegra Hardware strings are board codenames cpuinfo reads only once it knows the
        // device is a Tegra; they are not a naming source on their own.
        if v["is_tegra"].as_bool() == Some(true) {
            continue;
        }
        let field = v["input_field"].as_str().unwrap_or("").to_string();
        let want = v["expected_chipset_name"].as_str().unwrap_or("");
        let id = identify(&sysroot_for(v));
        let got = match (&id.soc.vendor, &id.soc.chipset) {
            (Some(vendor), Some(chip)) => format!("{vendor} {chip}"),
            _ => String::new(),
        };
        let got_name = match (&id.soc.vendor, &id.soc.name) {
            (Some(vendor), Some(name)) => format!("{vendor} {name}"),
            _ => String::new(),
        };
        let entry = by_field.entry(field.clone()).or_default();
        entry.1 += 1;
        if common::norm(&got) == common::norm(want)
            || (!want.is_empty() && common::norm(&got_name) == common::norm(want))
        {
            entry.0 += 1;
        } else {
            failures.push(format!(
                "[{field}] {} (cores {}, {} kHz): want {want:?}, got {got:?}",
                v["inputs"], v["cores"], v["max_cpu_freq_khz"]
            ));
        }
    }
    let (ok, total) = by_field
        .values()
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    for (field, (a, b)) in &by_field {
        println!("{field:24} {a}/{b}");
    }
    println!(
        "all vectors              {ok}/{total} ({:.1} %)",
        100.0 * ok as f64 / total as f64
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(total > 500);
    assert!(
        ok as f64 >= 0.90 * total as f64,
        "naming vectors {ok}/{total} below 90 %"
    );
}
