//! On a live machine the probe loads the Vulkan and OpenCL libraries in a child
//! process: a real driver gives its version, a missing library a reason, and a
//! library that crashes while loading (the paper's ~1 % of devices) a recorded
//! reason instead of a dead probe.

mod common;

use std::process::Command;

fn identify_gpu(env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetscope"));
    cmd.args(["identify", "--json"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run fleetscope");
    assert!(
        out.status.success(),
        "identify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["gpu"].clone()
}

#[test]
fn a_library_that_crashes_on_load_is_a_reason_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("fleetscope-crashlib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("crash.c");
    std::fs::write(
        &src,
        "__attribute__((constructor)) static void boom(void) { *(volatile int *)0 = 42; }\n",
    )
    .unwrap();
    let lib = dir.join("libOpenCL-crash.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("a C compiler (cc) is needed for this test");
    assert!(cc.success());
    let gpu = identify_gpu(&[
        ("FLEETSCOPE_OPENCL_LIB", lib.to_str().unwrap()),
        ("FLEETSCOPE_VULKAN_LIB", lib.to_str().unwrap()),
    ]);
    for api in ["opencl", "vulkan"] {
        assert!(gpu[api]["version"].is_null(), "{api}: {}", gpu[api]);
        let reason = gpu[api]["reason"].as_str().unwrap_or("");
        assert!(
            reason.contains("crashed") && reason.contains("signal 11"),
            "{api}: {reason}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_library_is_a_reason() {
    let gpu = identify_gpu(&[
        ("FLEETSCOPE_OPENCL_LIB", "/nonexistent/libOpenCL.so"),
        ("FLEETSCOPE_VULKAN_LIB", "/nonexistent/libvulkan.so"),
    ]);
    for api in ["opencl", "vulkan"] {
        assert!(gpu[api]["version"].is_null());
        assert!(
            gpu[api]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("library not found"),
            "{api}: {}",
            gpu[api]
        );
    }
}

/// scripts/test.sh installs Mesa's lavapipe and PoCL, so CI always exercises the real
/// driver path; elsewhere the test says what it skipped.
#[test]
fn real_drivers_report_their_versions() {
    let have = |paths: &[&str]| paths.iter().any(|p| std::path::Path::new(p).exists());
    let vulkan = have(&[
        "/usr/lib/x86_64-linux-gnu/libvulkan.so.1",
        "/usr/lib/aarch64-linux-gnu/libvulkan.so.1",
    ]);
    let opencl = have(&[
        "/usr/lib/x86_64-linux-gnu/libOpenCL.so.1",
        "/usr/lib/aarch64-linux-gnu/libOpenCL.so.1",
    ]);
    if !vulkan && !opencl {
        common::skip(
            "no Vulkan or OpenCL library installed (scripts/test.sh installs lavapipe and PoCL)",
        );
        return;
    }
    let gpu = identify_gpu(&[]);
    if vulkan {
        let v = gpu["vulkan"]["version"]
            .as_str()
            .unwrap_or_else(|| panic!("vulkan: {}", gpu["vulkan"]));
        let parts: Vec<u32> = v.split('.').filter_map(|p| p.parse().ok()).collect();
        assert!(parts.len() == 3 && parts[0] == 1, "{v}");
    }
    if opencl {
        let v = gpu["opencl"]["version"]
            .as_str()
            .unwrap_or_else(|| panic!("opencl: {}", gpu["opencl"]));
        assert!(v.split('.').all(|p| p.parse::<u32>().is_ok()), "{v}");
    }
}
