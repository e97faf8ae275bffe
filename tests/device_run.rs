//! `fleetscope run --all` against fake phones (tests/fake-adb) and a real collector on
//! loopback: two phones complete and upload, one disconnects mid-run and leaves a
//! partial report locally with the reason; unusable phones fail with a clear reason.
//! Where the static aarch64 probe is built (scripts/test.sh builds it first), the fake
//! phones run that real ARM binary under qemu-aarch64-static.

mod common;

use common::http::{Collector, READ};
use std::path::{Path, PathBuf};
use std::process::Command;

const SUITE: &str = r#"
id = "lab"
version = "1"
[measure]
warmup = 1
min_samples = 3
min_time_ms = 300
max_time_ms = 600
cold_weights = false
[run]
clusters = "all"
threads = ["1"]
cooldown_max_s = 1
[[kernels]]
family = "gemm"
dtypes = ["f32", "i8"]
shapes = [{ m = 64, n = 64, k = 64 }, { m = 96, n = 32, k = 48 }]
[[kernels]]
family = "dwconv3x3"
dtypes = ["f32", "i8"]
shapes = [{ h = 14, w = 14, c = 32, stride = 1 }]
[[kernels]]
family = "peak_fma"
dtypes = ["f32"]
shapes = [{ iters = 2000 }]
"#;

#[test]
fn run_all_with_a_disconnect() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let collector = Collector::start("devicerun", &[]);
    let dir = collector.dir.clone();
    let fixture = |f: &str| datasets.join("devices").join(f).display().to_string();
    let config = serde_json::json!({
        "root": dir.join("phones"),
        "devices": [
            { "serial": "PIXEL8", "state": "device", "fixture": fixture("pixel-8.json") },
            { "serial": "S9US", "state": "device", "fixture": fixture("galaxy-s9-us.json") },
            { "serial": "CABLE", "state": "device", "fixture": fixture("oneplus-5t.json"), "disconnect_after_s": 1.5 },
        ]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("lab.toml"), SUITE).unwrap();
    let out = dir.join("reports");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetscope"));
    cmd.args([
        "run",
        "--all",
        "--adb",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"),
    ])
    .arg("--suite")
    .arg(dir.join("lab.toml"))
    .arg("--out")
    .arg(&out)
    .args(["--collector", &format!("http://{}", collector.addr)])
    .arg("--token-file")
    .arg(dir.join("ingest.tok"))
    .arg("--salt-file")
    .arg(dir.join("fleet.db.device-salt"))
    .env("FAKE_ADB_CONFIG", dir.join("config.json"));
    cmd.args(common::fake_phone_probe_args(&dir));
    let result = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(
        result.status.code(),
        Some(1),
        "one device failed, so the exit status says so\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("2 of 3 devices completed"), "{stdout}");
    assert!(
        stdout.contains("PIXEL8") && stdout.contains("S9US") && stdout.contains("uploaded"),
        "{stdout}"
    );
    assert!(
        stdout.contains("CABLE") && stdout.contains("disconnected mid-run"),
        "{stdout}"
    );
    assert!(
        stderr.contains("[PIXEL8] ["),
        "progress lines per device: {stderr}"
    );
    // Two complete reports in the collector.
    assert_eq!(collector.stored(), 2);
    let export = collector.get("/v1/export?since=0", READ).text();
    assert!(export.lines().all(|l| !l.contains("\"partial\":true")));
    assert!(
        export
            .lines()
            .all(|l| l.contains("\"device_hash_scope\":\"fleet\"")),
        "every uploaded report is hashed with the fleet's salt: {export}"
    );
    // One partial report kept locally, valid, with the reason.
    let partials: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("partial"))
        .collect();
    assert_eq!(partials.len(), 1, "{partials:?}");
    let report = fleetscope::schema::parse_report(&std::fs::read(&partials[0]).unwrap())
        .expect("the partial report is a valid report");
    assert!(report.partial);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.stage == "device" && e.message.contains("disconnected")),
        "{:?}",
        report.errors
    );
    let complete = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .contains("partial")
        })
        .count();
    assert_eq!(complete, 2);
}

#[test]
fn unusable_phones_fail_with_a_reason() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleetscope-unusable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = serde_json::json!({
        "root": dir.join("phones"),
        "devices": [
            { "serial": "LOCKED", "state": "unauthorized" },
            { "serial": "OLD32", "state": "device", "fixture": datasets.join("devices/galaxy-s4-us.json") },
            { "serial": "BUSY", "state": "device", "fixture": datasets.join("devices/pixel-8.json") },
        ]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    // Another live run holds BUSY (this test process stands in for it, with the same
    // OS file lock a run takes).
    let locks = std::env::temp_dir().join("fleetscope-locks");
    std::fs::create_dir_all(&locks).unwrap();
    let held = std::fs::File::create(locks.join("BUSY.lock")).unwrap();
    held.try_lock().expect("nothing else holds BUSY");
    // Probes for arm64-v8a only: the 32-bit phone has none for its ABIs.
    let probes = dir.join("probes");
    std::fs::create_dir_all(probes.join("arm64-v8a")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_fleetscope-probe"),
        probes.join("arm64-v8a/fleetscope-probe"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args([
            "run",
            "--all",
            "--adb",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"),
            "--suite",
            "quick",
        ])
        .arg("--probe-dir")
        .arg(&probes)
        .arg("--out")
        .arg(dir.join("reports"))
        .env("FAKE_ADB_CONFIG", dir.join("config.json"))
        .output()
        .unwrap();
    drop(held);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("LOCKED") && stdout.contains("USB debugging"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OLD32")
            && stdout.contains("no probe for any of this phone's ABIs (armeabi-v7a, armeabi)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("BUSY") && stdout.contains("device is busy"),
        "{stdout}"
    );
    assert!(stdout.contains("0 of 3 devices completed"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn governor_lock_with_root_and_cooldown_between_runs() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleetscope-governor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pixel = datasets.join("devices/pixel-8.json");
    let config = serde_json::json!({
        "root": dir.join("phones"),
        "devices": [
            // Rooted; hot from 0.3 s to 6 s after its first suite run starts (so run 1 ends hot).
            { "serial": "ROOTED", "state": "device", "root": true, "fixture": pixel, "thermal": [[0, 30000], [0.3, 60000], [6.0, 31000]] },
            { "serial": "PLAIN", "state": "device", "fixture": pixel },
        ]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(
        dir.join("lab.toml"),
        SUITE.replace("min_time_ms = 300", "min_time_ms = 50"),
    )
    .unwrap();
    // The host probe is enough here: this test is about what happens around the runs.
    let pd = dir.join("probes/arm64-v8a");
    std::fs::create_dir_all(&pd).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_fleetscope-probe"),
        pd.join("fleetscope-probe"),
    )
    .unwrap();
    let out = dir.join("reports");
    let result = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args([
            "run",
            "--all",
            "--adb",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"),
            "--repeat",
            "2",
            "--lock-governor",
            "--cooldown-margin-c",
            "3",
            "--cooldown-max-s",
            "30",
        ])
        .arg("--suite")
        .arg(dir.join("lab.toml"))
        .arg("--probe-dir")
        .arg(dir.join("probes"))
        .arg("--out")
        .arg(&out)
        .env("FAKE_ADB_CONFIG", dir.join("config.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("2 of 2 devices completed"), "{stdout}");
    let reports: Vec<fleetscope::schema::Report> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| {
            fleetscope::schema::parse_report(&std::fs::read(e.unwrap().path()).unwrap())
                .expect("valid report")
        })
        .collect();
    assert_eq!(reports.len(), 4, "two runs per device");
    let cond = |serial_model: bool, run: u32| {
        reports
            .iter()
            .filter_map(|r| r.conditions.clone())
            .filter(|c| c.root == serial_model && c.run_index == run)
            .collect::<Vec<_>>()
    };
    // Rooted phone: governor forced for both runs, second run waited for the cooldown.
    let (r1, r2) = (cond(true, 1), cond(true, 2));
    assert_eq!((r1.len(), r2.len()), (1, 1));
    assert_eq!(r1[0].governor_locked.as_deref(), Some("performance"));
    assert_eq!(r1[0].cooldown_waited_s, 0.0);
    assert!(
        r2[0].cooldown_waited_s >= 0.5 && r2[0].cooldown_waited_s < 30.0,
        "waited {}",
        r2[0].cooldown_waited_s
    );
    assert!(
        r2[0].start_temp_c.is_some_and(|t| t <= 33.0),
        "run 2 starts cool again: {:?}",
        r2[0].start_temp_c
    );
    // ... and restored afterwards.
    let gov = std::fs::read_to_string(
        dir.join("phones/ROOTED/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
    )
    .unwrap();
    assert_eq!(gov.trim(), "sched_pixel");
    // Without root nothing is forced, and the report says why.
    let p1 = cond(false, 1);
    assert_eq!(p1.len(), 1);
    assert!(p1[0].governor_locked.is_none());
    assert!(p1[0]
        .governor_note
        .as_deref()
        .unwrap_or("")
        .contains("no root"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A phone `run` can drive: `serial` with the Pixel 8 snapshot, and the probe to push.
fn one_phone(dir: &Path, serial: &str, datasets: &Path) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({
        "root": dir.join("phones"),
        "devices": [{ "serial": serial, "state": "device", "fixture": datasets.join("devices/pixel-8.json") }]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let mut args = vec![
        "run".to_string(),
        "--device".into(),
        serial.into(),
        "--adb".into(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb").into(),
        "--out".into(),
        dir.join("reports").display().to_string(),
    ];
    args.extend(common::fake_phone_probe_args(dir));
    args
}

#[test]
fn the_device_lock_is_never_shared_and_dies_with_its_holder() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleetscope-lock-{}", std::process::id()));
    let serial = format!("LOCKTEST{}", std::process::id());
    let args = one_phone(&dir, &serial, &datasets);
    // A suite long enough to be caught holding the lock.
    std::fs::write(
        dir.join("slow.toml"),
        SUITE.replace(
            "min_time_ms = 300\nmax_time_ms = 600",
            "min_time_ms = 4000\nmax_time_ms = 8000",
        ),
    )
    .unwrap();
    let fleetscope = |suite: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fleetscope"));
        c.args(&args)
            .arg("--suite")
            .arg(suite)
            .env("FAKE_ADB_CONFIG", dir.join("config.json"));
        c
    };
    let lock = std::env::temp_dir().join(format!("fleetscope-locks/{serial}.lock"));
    let held = || {
        std::fs::File::open(&lock)
            .map(|f| f.try_lock().is_err())
            .unwrap_or(false)
    };
    let mut first = fleetscope(dir.join("slow.toml").to_str().unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !held() {
        assert!(
            t0.elapsed().as_secs() < 60,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Two runs at once: the second is refused, naming the holder.
    let second = fleetscope("quick").output().unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("device is busy") && stdout.contains(&format!("pid {}", first.id())),
        "{stdout}"
    );
    // The holder dies without a chance to clean up: the lock goes with it.
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(!held(), "a dead run's lock must be free at once");
    std::fs::write(
        dir.join("tiny.toml"),
        SUITE.replace(
            "shapes = [{ m = 64, n = 64, k = 64 }, { m = 96, n = 32, k = 48 }]",
            "shapes = [{ m = 8, n = 8, k = 8 }]",
        ),
    )
    .unwrap();
    let third = fleetscope(dir.join("tiny.toml").to_str().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&third.stdout);
    assert!(!stdout.contains("busy"), "{stdout}");
    assert_eq!(
        third.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert!(stdout.contains("1 of 1 devices completed"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn uploading_needs_the_fleet_salt() {
    let dir = std::env::temp_dir().join(format!("fleetscope-nosalt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tok"), "t").unwrap();
    let (code, _, err) = common::fleetscope(&[
        "run",
        "--all",
        "--adb",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"),
        "--collector",
        "http://127.0.0.1:9",
        "--token-file",
        dir.join("tok").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--salt-file") && err.contains("device-salt"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The lab picks each phone's probe from its ABI list: a 64-bit ARM phone, a Cortex-A7
/// phone (armeabi-v7a only), a Cortex-A53 phone with a 32-bit userland, and x86_64 and
/// x86 tablets that also list ARM ABIs (run through a binary translator) each complete
/// a run with the static probe for their own ABI from scripts/build-probes.sh (the ARM
/// ones under qemu-user); `--abi` measures a phone under another ABI it lists.
#[test]
fn every_abi_gets_its_own_probe() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let probes = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/probes"));
    let abis = ["arm64-v8a", "armeabi-v7a", "x86_64", "x86"];
    if !abis
        .iter()
        .all(|a| probes.join(a).join("fleetscope-probe").is_file())
    {
        common::skip("the probes of every ABI (run scripts/build-probes.sh)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fleetscope-abis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // (serial, snapshot, the ABI whose probe must run, the phone's ABI list)
    let phones = [
        ("PIXEL8", "pixel-8.json", "arm64-v8a", "arm64-v8a"),
        (
            "MOTOE",
            "moto-e-gen1.json",
            "armeabi-v7a",
            "armeabi-v7a,armeabi",
        ),
        (
            "BLU",
            "blu-r1-hd.json",
            "armeabi-v7a",
            "armeabi-v7a,armeabi",
        ),
        (
            "T5C",
            "leagoo-t5c.json",
            "x86_64",
            "x86_64,x86,armeabi-v7a,armeabi,arm64-v8a",
        ),
        (
            "IWORK8",
            "alldocube-iwork8.json",
            "x86",
            "x86,armeabi-v7a,armeabi",
        ),
        (
            "REVVL",
            "alcatel-revvl.json",
            "armeabi-v7a",
            "arm64-v8a,armeabi-v7a,armeabi",
        ),
    ];
    let devices: Vec<serde_json::Value> = phones
        .iter()
        .map(|(serial, fixture, _, _)| {
            serde_json::json!({"serial": serial, "state": "device",
                "fixture": datasets.join("devices").join(fixture)})
        })
        .collect();
    let config = serde_json::json!({ "root": dir.join("phones"), "devices": devices });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(
        dir.join("tiny.toml"),
        "id = \"tiny\"\nversion = \"1\"\n[measure]\nwarmup = 1\nmin_samples = 3\nmin_time_ms = 20\nmax_time_ms = 200\ncold_weights = false\n[run]\nclusters = \"big\"\nthreads = [\"1\"]\ncooldown_max_s = 1\n[[kernels]]\nfamily = \"gemm\"\ndtypes = [\"f32\", \"i8\"]\nshapes = [{ m = 16, n = 16, k = 16 }]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
            .arg("run")
            .args(args)
            .args([
                "--adb",
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb"),
            ])
            .arg("--suite")
            .arg(dir.join("tiny.toml"))
            .arg("--out")
            .arg(dir.join("reports"))
            .arg("--probe-dir")
            .arg(&probes)
            .env("FAKE_ADB_CONFIG", dir.join("config.json"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let serials = ["PIXEL8", "MOTOE", "BLU", "T5C", "IWORK8"];
    let mut args = Vec::new();
    for s in serials {
        args.extend(["--device", s]);
    }
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("5 of 5 devices completed"), "{stdout}");
    // REVVL lists arm64-v8a first; --abi measures its 32-bit userland instead.
    let (code, stdout, stderr) = run(&["--device", "REVVL", "--abi", "armeabi-v7a"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let (code, stdout, _) = run(&["--device", "REVVL", "--abi", "x86"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("--abi x86: this phone runs arm64-v8a, armeabi-v7a, armeabi only"),
        "{stdout}"
    );
    for (serial, _, ran, list) in phones {
        let reports: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{serial}-"))
            })
            .collect();
        assert_eq!(reports.len(), 1, "{serial}: {reports:?}");
        let r = fleetscope::schema::parse_report(&std::fs::read(&reports[0]).unwrap()).unwrap();
        assert_eq!(r.device.probe_abi.as_deref(), Some(ran), "{serial}");
        assert_eq!(r.device.abilist.join(","), list, "{serial}");
        assert!(
            r.results.iter().any(|x| x.latency_us.is_some()),
            "{serial}: measured"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
