//! The lab A/B mode end to end: `fleetscope run` with two probe builds on the same fake
//! phones (tests/fake-adb), interleaved per device, then `compare --by device` on the two
//! folders of reports. Build B is build A with one kernel (int8 GEMM) made 5 % slower on purpose
//! (`FLEETSCOPE_PROBE_SLOWDOWN`, as a lab would check its own setup): the comparison
//! must find that kernel, with an interval holding +5 %, and nothing else. In its own
//! test binary so that no other test shares the two cores while it measures.

mod common;

use std::process::Command;

const SUITE: &str = r#"
id = "lab-ab"
version = "1"
[measure]
warmup = 3
min_samples = 20
min_time_ms = 100
max_time_ms = 300
cold_weights = false
[run]
clusters = "all"
threads = ["1"]
cooldown_max_s = 1
[[kernels]]
family = "gemm"
dtypes = ["i8"]
shapes = [{ m = 128, n = 128, k = 128 }]
[[kernels]]
family = "dwconv3x3"
dtypes = ["f32", "i8"]
shapes = [{ h = 14, w = 14, c = 32, stride = 1 }]
[[kernels]]
family = "peak_fma"
dtypes = ["f32"]
shapes = [{ iters = 20000 }]
"#;
// (f32 GEMM is left out: under qemu its run-to-run p50 varies by tens of percent, which
// says nothing about a phone and would only widen its interval.)

/// Runs per build: a shared machine slows a run now and then by tens of percent, and
/// 20 against 20 keeps a +5 % change clear of a few such runs on either side.
const REPEAT: &str = "20";

#[test]
fn an_ab_run_finds_a_five_percent_slowdown_in_one_kernel_and_nothing_else() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleetscope-lab-ab-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = |f: &str| datasets.join("devices").join(f);
    let config = serde_json::json!({
        "root": dir.join("phones"),
        "devices": [
            { "serial": "PIXEL8", "state": "device", "fixture": fixture("pixel-8.json"), "cpus": [0] },
            { "serial": "S9US", "state": "device", "fixture": fixture("galaxy-s9-us.json"), "cpus": [1] },
        ]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("lab.toml"), SUITE).unwrap();
    // The lab's salt: a phone's reports from both builds then share its device hash.
    std::fs::write(
        dir.join("lab.salt"),
        "4c61622073616c7420666f72206120746573742072756e",
    )
    .unwrap();

    // Build A: the probe itself. Build B: the same binary behind a launcher that asks
    // for int8 GEMM 5 % slower, as a second build of the probe on the phone.
    // This host's probe, not the aarch64 build under qemu: there every clock read is
    // an emulated syscall and a run's timings shift by several percent from one run to
    // the next, which would test the emulator rather than the A/B pipeline. (The other
    // fake-phone tests run the aarch64 build.)
    let probe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_fleetscope-probe"));
    let (a, b) = (dir.join("build-main"), dir.join("build-candidate"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d.join("arm64-v8a")).unwrap();
    }
    std::fs::copy(&probe, a.join("arm64-v8a/fleetscope-probe")).unwrap();
    let launcher = b.join("arm64-v8a/fleetscope-probe");
    std::fs::write(
        &launcher,
        format!(
            "#!/bin/sh\nFLEETSCOPE_PROBE_SLOWDOWN=gemm/i8=5 exec {} \"$@\"\n",
            probe.display()
        ),
    )
    .unwrap();

    let out = dir.join("reports");
    let run = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(["run", "--all", "--repeat", REPEAT, "--adb"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"))
        .arg("--suite")
        .arg(dir.join("lab.toml"))
        .arg("--out")
        .arg(&out)
        .arg("--probe-dir")
        .arg(&a)
        .arg("--probe-dir")
        .arg(&b)
        .arg("--salt-file")
        .arg(dir.join("lab.salt"))
        .env("FAKE_ADB_CONFIG", dir.join("config.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("2 of 2 devices completed"), "{stdout}");

    // Each build's reports in its own folder, said in the report, in A B, B A order.
    for (arm, slowed) in [("build-main", false), ("build-candidate", true)] {
        let reports: Vec<fleetscope::schema::Report> = std::fs::read_dir(out.join(arm))
            .unwrap()
            .map(|e| {
                fleetscope::schema::parse_report(&std::fs::read(e.unwrap().path()).unwrap())
                    .unwrap()
            })
            .collect();
        assert_eq!(reports.len(), 2 * 20, "{arm}: 20 runs on each of 2 phones");
        for r in &reports {
            let c = r.conditions.as_ref().expect("run conditions");
            assert_eq!(c.arm.as_deref(), Some(arm));
            let said = r
                .errors
                .iter()
                .any(|e| e.message.contains("slowdown injected"));
            assert_eq!(said, slowed, "{arm}: the report says whether it was slowed");
        }
    }
    let started = |arm: &str, serial: &str| -> Vec<(u32, String)> {
        let mut v: Vec<(u32, String)> = std::fs::read_dir(out.join(arm))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(serial))
            .map(|p| {
                let r = fleetscope::schema::parse_report(&std::fs::read(p).unwrap()).unwrap();
                (r.conditions.unwrap().run_index, r.started_at)
            })
            .collect();
        v.sort();
        v
    };
    let (ra, rb) = (
        started("build-main", "PIXEL8"),
        started("build-candidate", "PIXEL8"),
    );
    for (i, ((_, sa), (_, sb))) in ra.iter().zip(&rb).enumerate() {
        // Odd runs (index 1, 3, ...) start with A, even ones with B.
        assert_eq!(sa < sb, i % 2 == 0, "run {}: A {sa}, B {sb}", i + 1);
    }

    let (code, json, err) = common::fleetscope(&[
        "compare",
        "--base",
        &out.join("build-main").display().to_string(),
        "--new",
        &out.join("build-candidate").display().to_string(),
        "--by",
        "device",
        "--threshold",
        "3",
        "--json",
        "--fail-on-regression",
    ]);
    assert_eq!(code, 1, "a regression is found: {json}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&v).unwrap());
    assert_eq!(v["cells_tested"], 8, "4 kernels x 2 phones: {v}");
    assert_eq!(v["insufficient"], 0, "{v}");
    assert_eq!(v["improvements"].as_array().unwrap().len(), 0, "{v}");
    let regressions = v["regressions"].as_array().unwrap();
    assert!(!regressions.is_empty(), "{v}");
    for r in regressions {
        assert_eq!(
            (r["kernel"].as_str(), r["dtype"].as_str()),
            (Some("gemm"), Some("i8")),
            "only the slowed kernel: {r}"
        );
        let (lo, hi) = (
            r["ci_pct"][0].as_f64().unwrap(),
            r["ci_pct"][1].as_f64().unwrap(),
        );
        // The injected 5 % is a floor: the spin ends at the first clock read past it,
        // and a busy two-core host stretches it a little more now and then (five runs
        // of this test: estimates +5.0 to +5.7 %, one interval of ten above +5 %).
        let change = r["change_pct"].as_f64().unwrap();
        assert!((4.0..=6.5).contains(&change), "about +5 %: {r}");
        assert!(
            lo > 3.0 && lo <= 5.5 && hi >= 4.5,
            "an interval near +5 %: {r}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
