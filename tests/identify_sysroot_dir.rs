//! A directory sysroot (a device's files captured under DIR, plus `getprop.txt`), read
//! the way the live device is read: thermal zones, properties, the Vulkan feature
//! file, caches and clusters. No fixture in the shared corpus has thermal zones, so
//! this tree is built here.

use fleetscope::probe::identify::{identify, Sysroot};
use std::path::Path;

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

#[test]
fn directory_snapshot_of_a_snapdragon_8_gen_2_phone() {
    let root = std::env::temp_dir().join(format!("fleetscope-sysroot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // SM8550: cpu0-2 Cortex-A510, cpu3-4 A715, cpu5-6 A710, cpu7 X3.
    let parts = ["d46", "d46", "d46", "d4d", "d4d", "d47", "d47", "d4e"];
    let max = [
        2016000, 2016000, 2016000, 2803200, 2803200, 2803200, 2803200, 3187200,
    ];
    let domains = ["0-2", "0-2", "0-2", "3-6", "3-6", "3-6", "3-6", "7"];
    let mut cpuinfo = String::new();
    for (i, part) in parts.iter().enumerate() {
        cpuinfo += &format!("processor\t: {i}\nFeatures\t: fp asimd asimddp i8mm fphp asimdhp bf16\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0x{part}\nCPU revision\t: 0\n\n");
        let cpu = format!("/sys/devices/system/cpu/cpu{i}");
        write(
            &root,
            &format!("{cpu}/cpufreq/cpuinfo_max_freq"),
            &format!("{}\n", max[i]),
        );
        write(
            &root,
            &format!("{cpu}/cpufreq/cpuinfo_min_freq"),
            "300000\n",
        );
        write(
            &root,
            &format!("{cpu}/cpufreq/related_cpus"),
            &format!("{}\n", domains[i].replace('-', " ")),
        );
        write(
            &root,
            &format!("{cpu}/topology/core_siblings_list"),
            "0-7\n",
        );
        write(&root, &format!("{cpu}/cache/index0/level"), "1\n");
        write(&root, &format!("{cpu}/cache/index0/type"), "Data\n");
        write(&root, &format!("{cpu}/cache/index0/size"), "64K\n");
        write(
            &root,
            &format!("{cpu}/cache/index0/shared_cpu_list"),
            &format!("{i}\n"),
        );
    }
    // related_cpus "3 6" is not a range: fix the multi-CPU domains to real lists.
    for i in 0..3 {
        write(
            &root,
            &format!("/sys/devices/system/cpu/cpu{i}/cpufreq/related_cpus"),
            "0 1 2\n",
        );
    }
    for i in 3..7 {
        write(
            &root,
            &format!("/sys/devices/system/cpu/cpu{i}/cpufreq/related_cpus"),
            "3 4 5 6\n",
        );
    }
    cpuinfo += "Hardware\t: Qualcomm Technologies, Inc KALAMA\n";
    write(&root, "/proc/cpuinfo", &cpuinfo);
    write(&root, "/sys/devices/system/cpu/possible", "0-7\n");
    write(&root, "/sys/devices/system/cpu/online", "0-7\n");
    write(
        &root,
        "/proc/meminfo",
        "MemTotal:       11534336 kB\nMemFree: 1 kB\n",
    );
    write(
        &root,
        "/sys/class/thermal/thermal_zone0/type",
        "cpu-0-0-0\n",
    );
    write(&root, "/sys/class/thermal/thermal_zone0/temp", "41200\n");
    write(&root, "/sys/class/thermal/thermal_zone1/type", "battery\n");
    write(&root, "/sys/class/thermal/thermal_zone1/temp", "31\n");
    write(&root, "/sys/class/thermal/thermal_zone2/type", "broken\n");
    write(
        &root,
        "/sys/class/thermal/thermal_zone2/temp",
        "not a number\n",
    );
    write(&root, "/sys/class/kgsl/kgsl-3d0/gpu_model", "Adreno740v2\n");
    write(
        &root,
        "/vendor/etc/permissions/android.hardware.vulkan.version-1_3.xml",
        "<permissions/>\n",
    );
    write(
        &root,
        "/vendor/etc/permissions/android.hardware.vulkan.version-1_1.xml",
        "<permissions/>\n",
    );
    write(&root, "/getprop.txt", "[ro.soc.manufacturer]: [QTI]\n[ro.soc.model]: [SM8550]\n[ro.board.platform]: [kalama]\n[ro.product.model]: [SM-S911B]\n[ro.product.manufacturer]: [samsung]\n[ro.build.version.sdk]: [34]\n[ro.build.version.release]: [14]\n[ro.opengles.version]: [196610]\n[ro.serialno]: [R5CW1234567]\n[ro.product.cpu.abi]: [arm64-v8a]\n");

    let id = identify(&Sysroot::dir(&root));
    assert_eq!(id.soc.vendor.as_deref(), Some("Qualcomm"));
    assert_eq!(id.soc.chipset.as_deref(), Some("SM8550"));
    assert_eq!(id.soc.name.as_deref(), Some("Snapdragon 8 Gen 2"));
    assert_eq!(id.soc.source.as_deref(), Some("ro.soc.model"));
    let uarchs: Vec<&str> = id
        .cpu
        .cpus
        .iter()
        .map(|c| c.uarch.as_deref().unwrap_or("?"))
        .collect();
    assert_eq!(
        uarchs,
        [
            "cortex-a510",
            "cortex-a510",
            "cortex-a510",
            "cortex-a715",
            "cortex-a715",
            "cortex-a710",
            "cortex-a710",
            "cortex-x3"
        ]
    );
    // The cpufreq domain 3-6 holds two core types: split into A715 and A710 clusters.
    let clusters: Vec<Vec<u32>> = id.cpu.clusters.iter().map(|c| c.cpus.clone()).collect();
    assert_eq!(
        clusters,
        vec![vec![0, 1, 2], vec![3, 4], vec![5, 6], vec![7]]
    );
    assert_eq!(id.cpu.clusters[0].caches[0].size_bytes, 64 << 10);
    for f in ["dotprod", "i8mm", "fphp", "neon"] {
        assert!(
            id.cpu.features.iter().any(|x| x == f),
            "{f} in {:?}",
            id.cpu.features
        );
    }
    let temps: Vec<(String, Option<f64>)> = id
        .thermal
        .zones
        .iter()
        .map(|z| (z.kind.clone(), z.temp_c))
        .collect();
    assert_eq!(
        temps,
        vec![
            ("cpu-0-0-0".into(), Some(41.2)),
            ("battery".into(), Some(31.0)),
            ("broken".into(), None)
        ]
    );
    assert_eq!(id.gpu.model.as_deref(), Some("Adreno 740"));
    assert_eq!(id.gpu.gles.version.as_deref(), Some("3.2"));
    assert_eq!(id.gpu.vulkan.version.as_deref(), Some("1.3"));
    assert!(id.gpu.opencl.version.is_none() && id.gpu.opencl.reason.is_some());
    assert_eq!(id.device.os, "android");
    assert_eq!(id.device.sdk, Some(34));
    assert_eq!(id.device.memory_bytes, Some(11534336 * 1024));
    let hash = id.device.device_hash.clone().expect("hash");
    assert!(hash.len() == 64 && !hash.contains("R5CW1234567"));
    let json = serde_json::to_string(&id).unwrap();
    assert!(
        !json.contains("R5CW1234567"),
        "the serial number must never leave the device"
    );
    std::fs::remove_dir_all(&root).ok();
}
