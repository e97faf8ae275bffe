//! `fleetscope identify` describes this machine correctly, and the on-device probe
//! builds without the host-only dependency stack.

mod common;

use std::process::Command;

#[test]
fn identify_describes_this_host() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(["identify", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // One entry per possible CPU, as the kernel counts them.
    let possible = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
    let count = fleetscope::probe::identify::parse_cpu_list(&possible).len();
    assert_eq!(v["cpu"]["cpus"].as_array().unwrap().len(), count);
    let online = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let reported_online = v["cpu"]["cpus"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["online"] == true)
        .count();
    assert!(
        reported_online >= online,
        "{reported_online} online CPUs reported, {online} usable"
    );
    assert_eq!(v["cpu"]["arch"], std::env::consts::ARCH);
    assert_eq!(v["device"]["os"], "linux");
    let mem = v["device"]["memory_bytes"].as_u64().expect("memory");
    assert!(mem > 256 << 20, "{mem}");

    #[cfg(target_arch = "x86_64")]
    {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let field = |k: &str| {
            cpuinfo
                .lines()
                .find(|l| l.starts_with(k))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        };
        assert_eq!(
            v["cpu"]["x86"]["vendor"].as_str(),
            field("vendor_id").as_deref()
        );
        assert_eq!(
            v["cpu"]["x86"]["family"].as_u64().map(|f| f.to_string()),
            field("cpu family")
        );
        let features: Vec<&str> = v["cpu"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        assert_eq!(
            features.contains(&"avx2"),
            std::is_x86_feature_detected!("avx2"),
            "{features:?}"
        );
        assert_eq!(
            features.contains(&"fma"),
            std::is_x86_feature_detected!("fma"),
            "{features:?}"
        );
        assert_eq!(
            features.contains(&"avx512f"),
            std::is_x86_feature_detected!("avx512f"),
            "{features:?}"
        );
        let expected_vendor = match field("vendor_id").as_deref() {
            Some("AuthenticAMD") => "AMD",
            Some("GenuineIntel") => "Intel",
            _ => "",
        };
        if !expected_vendor.is_empty() {
            assert_eq!(v["soc"]["vendor"], expected_vendor);
        }
        // Every CPU of this host got a microarchitecture from the x86 table.
        for c in v["cpu"]["cpus"].as_array().unwrap() {
            assert!(
                c["uarch"].is_string(),
                "x86 model not in datasets/x86_uarchs.csv: {}",
                v["cpu"]["x86"]
            );
        }
    }
}

fn cargo_tree(extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .args(extra)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn probe_builds_without_host_dependencies() {
    const HOST_ONLY: &[&str] = &[
        "tokio", "polars", "plotters", "axum", "reqwest", "clap", "schemars", "rusqlite", "hyper",
    ];
    let names = |tree: &str| -> Vec<String> {
        tree.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    };
    let lean = names(&cargo_tree(&["--no-default-features"]));
    for dep in HOST_ONLY {
        assert!(
            !lean.iter().any(|n| n == dep),
            "the probe build (--no-default-features) pulls in {dep}"
        );
    }
    // The check can fail: the host build does pull in its CLI stack.
    let full = names(&cargo_tree(&[]));
    assert!(
        full.iter().any(|n| n == "clap"),
        "host build should depend on clap"
    );
}

/// Our MIDR table agrees with the project's compiled MIDR facts wherever both speak,
/// and knows every core the device fixtures assert.
#[test]
fn midr_table_agrees_with_shared_facts_and_covers_fixtures() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let cat = fleetscope::catalog::catalog();
    let text = std::fs::read_to_string(datasets.join("arm_midr_parts.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let (mut compared, mut mismatches) = (0, Vec::new());
    for row in rdr.records() {
        let row = row.unwrap();
        let int = |s: &str| fleetscope::catalog::parse_int(s);
        let (Some(imp), Some(part)) = (int(&row[0]), int(&row[2])) else {
            continue;
        };
        let variant = int(&row[5]).unwrap_or(0);
        let Some(ours) = cat.midr_part(imp, part, variant) else {
            continue;
        };
        compared += 1;
        if ours.uarch != row[3] {
            mismatches.push(format!(
                "{:#x}/{:#x}: ours {} vs {}",
                imp, part, ours.uarch, &row[3]
            ));
        }
        if let (Some(a), Ok(b)) = (ours.design_year, row[4].parse::<u16>()) {
            if a != b {
                mismatches.push(format!(
                    "{:#x}/{:#x} design year: ours {a} vs {b}",
                    imp, part
                ));
            }
        }
    }
    println!("compared {compared} MIDR parts");
    assert!(compared >= 60 && mismatches.is_empty(), "{mismatches:#?}");

    for (name, path) in common::device_fixtures(&datasets) {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        for m in v["expected"]["midr_per_core"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str())
        {
            let Some(value) = u32::from_str_radix(m.trim_start_matches("0x"), 16).ok() else {
                continue;
            };
            let (imp, part, var) = (value >> 24, (value >> 4) & 0xfff, (value >> 20) & 0xf);
            assert!(
                cat.midr_part(imp, part, var).is_some(),
                "{name}: MIDR {m} missing from datasets/midr_parts.csv"
            );
        }
    }
}
