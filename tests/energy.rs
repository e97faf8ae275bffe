//! Energy and GPU facts without root, at the process boundary: fake phones (tests/fake-adb)
//! with power rails, a fuel gauge in each convention we read (the kernel ABI's negative
//! microamps, a vendor's positive milliamps), a charging battery, and the
//! system services' outputs in the formats Android prints them
//! (tests/fixtures/android), driven by `fleetscope devices` and `fleetscope run` with
//! the real aarch64 probe under qemu.

mod common;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const IDLE_W: f64 = 0.6;
const ACTIVE_W: f64 = 2.4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/android")
        .join(name)
}

fn adb(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(args)
        .args([
            "--adb",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"),
        ])
        .env("FAKE_ADB_CONFIG", dir.join("config.json"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rails_gauge_and_charging_phones_report_energy_or_why_not() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleetscope-energy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let phone = |serial: &str, snapshot: &str, power: serde_json::Value, gles: &str| {
        json!({"serial": serial, "state": "device", "cpus": [0],
            "fixture": datasets.join("devices").join(snapshot),
            "power": power,
            "services": {"surfaceflinger": fixture(gles), "features": fixture("pm_list_features.txt")}})
    };
    let devices = [
        // Power rails answer whether or not the phone is charging.
        phone(
            "RAILS",
            "pixel-8.json",
            json!({"idle_w": IDLE_W, "active_w": ACTIVE_W, "charging": true,
                "rails": {"cpu": "S4M_VDD_CPUCL0",
                          "others": ["S3M_VDD_CPUCL1", "S2M_VDD_CPUCL2", "S2S_VDD_G3D"]}}),
            "surfaceflinger_gles_mali.txt",
        ),
        // A battery that reports discharge as positive milliamps.
        phone(
            "GAUGE",
            "galaxy-s9-us.json",
            json!({"idle_w": IDLE_W, "active_w": ACTIVE_W, "gauge": "positive_ma"}),
            "surfaceflinger_gles.txt",
        ),
        // The kernel ABI's convention: negative microamps while discharging.
        phone(
            "GAUGEUA",
            "galaxy-s7-us.json",
            json!({"idle_w": IDLE_W, "active_w": ACTIVE_W, "gauge": "aosp"}),
            "surfaceflinger_gles.txt",
        ),
        // The kernel ABI's convention, but on the charger.
        phone(
            "CHARGING",
            "galaxy-s8-global.json",
            json!({"idle_w": IDLE_W, "active_w": ACTIVE_W, "gauge": "aosp", "charging": true}),
            "surfaceflinger_gles.txt",
        ),
    ];
    let config = json!({"root": dir.join("phones"), "devices": devices});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();

    // `devices` says per phone whether energy will be measurable, and from where.
    let (code, stdout, stderr) = adb(&dir, &["devices", "--json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let energy_of = |serial: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["serial"] == serial)
            .unwrap_or_else(|| panic!("{serial} not listed: {stdout}"))["energy"]
            .clone()
    };
    assert_eq!(energy_of("RAILS")["source"], "odpm", "{stdout}");
    assert_eq!(energy_of("RAILS")["rails"][0], "S4M_VDD_CPUCL0", "{stdout}");
    assert_eq!(energy_of("GAUGE")["source"], "fuel_gauge", "{stdout}");
    assert!(
        energy_of("GAUGE")["convention"]
            .as_str()
            .unwrap()
            .contains("in mA, positive (vendor convention) while discharging"),
        "{stdout}"
    );
    assert!(
        energy_of("GAUGEUA")["convention"]
            .as_str()
            .unwrap()
            .contains("in uA, negative (the kernel ABI) while discharging"),
        "{stdout}"
    );
    assert!(energy_of("CHARGING")["source"].is_null(), "{stdout}");
    assert!(
        energy_of("CHARGING")["reason"]
            .as_str()
            .unwrap()
            .contains("charging"),
        "{stdout}"
    );
    let (_, table, _) = adb(&dir, &["devices"]);
    assert!(table.contains("ENERGY"), "{table}");
    assert!(
        table.contains("CHARGING: no energy figures: no power rails"),
        "{table}"
    );

    std::fs::write(
        dir.join("tiny.toml"),
        "id = \"tiny\"\nversion = \"1\"\n[measure]\nwarmup = 1\nmin_samples = 3\nmin_time_ms = 300\nmax_time_ms = 2000\ncold_weights = false\n[run]\nclusters = \"big\"\nthreads = [\"1\"]\ncooldown_max_s = 1\n[[kernels]]\nfamily = \"gemm\"\ndtypes = [\"f32\", \"i8\"]\nshapes = [{ m = 64, n = 64, k = 64 }]\n[[kernels]]\nfamily = \"mobilenet_v2\"\ndtypes = [\"i8\"]\nshapes = [{}]\n",
    )
    .unwrap();
    // One phone at a time: each has CPU 0 to itself, as a phone has its own cores.
    for serial in ["RAILS", "GAUGE", "GAUGEUA", "CHARGING"] {
        let mut args: Vec<String> = vec!["run".into(), "--device".into(), serial.into()];
        args.push("--suite".into());
        args.push(dir.join("tiny.toml").display().to_string());
        args.push("--out".into());
        args.push(dir.join("reports").display().to_string());
        args.extend(common::fake_phone_probe_args(&dir));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = adb(&dir, &args);
        assert_eq!(code, Some(0), "{serial}: {stdout}\n{stderr}");
    }

    let report_of = |serial: &str| {
        let path = std::fs::read_dir(dir.join("reports"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{serial}-"))
            })
            .unwrap_or_else(|| panic!("no report for {serial}"));
        fleetscope::schema::parse_report(&std::fs::read(path).unwrap()).unwrap()
    };
    for (serial, source) in [
        ("RAILS", "odpm"),
        ("GAUGE", "fuel_gauge"),
        ("GAUGEUA", "fuel_gauge"),
    ] {
        let r = report_of(serial);
        assert_eq!(
            r.energy.as_ref().and_then(|e| e.source.as_deref()),
            Some(source),
            "{serial}"
        );
        let measured: Vec<_> = r
            .results
            .iter()
            .filter(|x| x.latency_us.is_some())
            .collect();
        assert!(measured.len() >= 3, "{serial}: {:?}", r.results);
        for x in measured {
            let e = x.energy.as_ref().unwrap();
            let per_iter = e
                .joules_per_iteration
                .unwrap_or_else(|| panic!("{serial} {}: {e:?}", x.kernel));
            // One busy core: the device draws ACTIVE_W for each iteration's time.
            let implied = ACTIVE_W * x.latency_us.unwrap().mean / 1e6;
            let err = (per_iter - implied).abs() / implied;
            eprintln!(
                "{serial} {} {:?}: {per_iter:.3e} J/iteration, implied {implied:.3e} ({:+.1} %), window {:.2} s",
                x.kernel,
                x.dtype,
                100.0 * (per_iter - implied) / implied,
                e.window_s.unwrap()
            );
            assert!(err <= 0.10, "{serial} {}: {e:?} vs {implied}", x.kernel);
            assert_eq!(e.source.as_deref(), Some(source));
            if x.kernel == "mobilenet_v2" {
                assert_eq!(e.joules_per_inference, e.joules_per_iteration);
            }
            if serial == "RAILS" {
                // What reading the rails costs was measured and taken off.
                assert!(r
                    .energy
                    .as_ref()
                    .and_then(|e| e.read_overhead_j)
                    .is_some_and(|j| j > 0.0));
                // The cluster that ran the kernel has its own rail, which took the work.
                assert_eq!(e.rail.as_deref(), Some("S4M_VDD_CPUCL0"), "{e:?}");
                assert!(e.rail_joules.unwrap() > 0.5 * e.joules.unwrap(), "{e:?}");
            }
        }
        // The GPU named from the compositor's renderer string, with the API levels.
        assert_eq!(
            r.gpu.sources.get("renderer").map(String::as_str),
            Some("dumpsys SurfaceFlinger (GLES line)"),
            "{serial}: {:?}",
            r.gpu
        );
        assert_eq!(
            r.gpu.sources.get("vulkan.version").map(String::as_str),
            Some("pm list features")
        );
        assert!(r.gpu.vulkan_level.is_some(), "{:?}", r.gpu);
    }
    let rails = report_of("RAILS");
    assert!(
        rails
            .gpu
            .model
            .as_deref()
            .is_some_and(|m| m.starts_with("Mali-G")),
        "{:?}",
        rails.gpu
    );
    // The renderer outranks the SoC catalog (which has Adreno 630 for this phone's
    // Snapdragon 845): the recorded compositor output is an Adreno 740's.
    let gauge = report_of("GAUGE");
    assert_eq!(
        gauge.gpu.model.as_deref(),
        Some("Adreno 740"),
        "{:?}",
        gauge.gpu
    );

    // The charging phone: every result says energy was skipped, and why.
    let charging = report_of("CHARGING");
    let why = charging
        .energy
        .as_ref()
        .and_then(|e| e.reason.clone())
        .unwrap();
    assert!(
        why.contains("charging") && why.contains("adb over Wi-Fi"),
        "{why}"
    );
    for x in charging.results.iter().filter(|x| x.latency_us.is_some()) {
        let e = x.energy.as_ref().unwrap();
        assert!(
            e.joules.is_none() && e.reason.as_deref() == Some(why.as_str()),
            "{e:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
