//! `fleetscope devices` through the real adb client (no phone attached here) and
//! through tests/fake-adb, which emulates phones from the real device snapshots.

mod common;

use std::process::Command;

fn devices(adb: Option<&str>, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetscope"));
    cmd.args(["devices", "--json"]);
    if let Some(a) = adb {
        cmd.args(["--adb", a]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn real_adb_with_no_device_lists_nothing() {
    let Some(adb) = ["/usr/bin/adb", "/usr/local/bin/adb"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        common::skip("the adb client is not installed (apt install adb)");
        return;
    };
    let (code, out, err) = devices(Some(adb), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );
    let text = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(["devices", "--adb", adb])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("no devices attached"));
    let _ = Command::new(adb).arg("kill-server").output();
}

#[test]
fn fake_devices_are_identified_and_unusable_ones_explained() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleetscope-fakeadb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dev = |f: &str| datasets.join("devices").join(f).display().to_string();
    let config = serde_json::json!({
        "root": dir.join("root"),
        "devices": [
            { "serial": "PIXEL8", "state": "device", "fixture": dev("pixel-8.json") },
            { "serial": "S9US", "state": "device", "fixture": dev("galaxy-s9-us.json") },
            { "serial": "LOCKED", "state": "unauthorized" },
            { "serial": "FLAKY", "state": "offline" },
        ]
    });
    let cfg = dir.join("config.json");
    std::fs::write(&cfg, config.to_string()).unwrap();
    let fake = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-adb");
    let (code, out, err) = devices(Some(fake), &[("FAKE_ADB_CONFIG", cfg.to_str().unwrap())]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let by = |s: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|d| d["serial"] == s)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(v.as_array().unwrap().len(), 4);
    assert_eq!(by("PIXEL8")["soc"], "Google Tensor G3");
    assert_eq!(by("PIXEL8")["abi"], "arm64-v8a");
    assert_eq!(by("PIXEL8")["sdk"], 34);
    assert!(
        by("S9US")["soc"].as_str().unwrap_or("").contains("SDM845"),
        "{}",
        by("S9US")
    );
    assert_eq!(by("LOCKED")["state"], "unauthorized");
    assert!(by("LOCKED")["hint"]
        .as_str()
        .unwrap_or("")
        .contains("USB debugging"));
    assert!(by("FLAKY")["hint"]
        .as_str()
        .unwrap_or("")
        .contains("adb reconnect"));
    // $ADB is honoured too.
    let (code, out, _) = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .args(["devices", "--json"])
        .env("ADB", fake)
        .env("FAKE_ADB_CONFIG", &cfg)
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                (),
            )
        })
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_adb_is_a_clear_error() {
    let (code, _, err) = devices(Some("/nonexistent/adb"), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--adb /nonexistent/adb: no such file"),
        "{err}"
    );
    let (code, _, err) = devices(None, &[("ADB", "/nonexistent/adb")]);
    assert_eq!(code, 2);
    assert!(err.contains("$ADB=/nonexistent/adb"), "{err}");
}
