//! Shared test helpers: where the upstream datasets live, and how to say they are absent.
#![allow(dead_code)]

pub mod collector_suite;
pub mod http;

use std::path::PathBuf;

/// Run a built binary with `args`: its exit code, stdout and stderr.
pub fn run(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run this build's `fleetscope` with `args`.
pub fn fleetscope(args: &[&str]) -> (i32, String, String) {
    run(env!("CARGO_BIN_EXE_fleetscope"), args)
}

/// Run `fleetscope` with `args`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    let (code, out, err) = fleetscope(args);
    assert_eq!(code, 0, "fleetscope {args:?} failed:\n{out}\n{err}");
    out
}

/// `../shared/datasets` beside the checkout (or `$FLEETSCOPE_SHARED/datasets`).
pub fn shared_datasets() -> Option<PathBuf> {
    let base = std::env::var_os("FLEETSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = base.join("datasets");
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(&format!(
            "{} not found; these tests need the shared device snapshots beside the checkout",
            dir.display()
        ));
        None
    }
}

/// Say a test did not run because `what` is missing. Under CI (where scripts/test.sh
/// provides everything) a missing part is a failure, never a silent pass.
pub fn skip(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide this, but: {what} (run the tests through scripts/test.sh)"
    );
    eprintln!("SKIPPED: {what}");
}

/// Every device fixture (`*.json`) as (name, path), sorted.
pub fn device_fixtures(datasets: &std::path::Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(datasets.join("devices"))
        .expect("devices dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                p,
            )
        })
        .collect();
    out.sort();
    out
}

/// Lowercase, no spaces: how SoC names are compared.
pub fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The probe fake phones run: the static aarch64 build under qemu-aarch64-static
/// (`true`) when it is built, else this host's probe (`false`). CI builds the ARM
/// probe first, so there the fallback is a failure.
pub fn fake_phone_probe() -> (PathBuf, bool) {
    let arm = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/aarch64-unknown-linux-musl/probe/fleetscope-probe");
    let qemu = std::process::Command::new("qemu-aarch64-static")
        .arg("--version")
        .output()
        .is_ok();
    if arm.is_file() && qemu {
        eprintln!(
            "fake phones run the real aarch64 probe {} under qemu",
            arm.display()
        );
        return (arm, true);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI builds the aarch64 probe before the tests"
    );
    eprintln!("no aarch64 probe built: the fake phones run the host probe");
    (PathBuf::from(env!("CARGO_BIN_EXE_fleetscope-probe")), false)
}

/// What `fleetscope run` needs to drive fake phones (tests/fake-adb): no arguments
/// when the static aarch64 probe is built (run finds it; the phones run it under
/// qemu), else `--probe-dir` with this host's probe as the arm64-v8a build.
pub fn fake_phone_probe_args(dir: &std::path::Path) -> Vec<String> {
    let (probe, arm) = fake_phone_probe();
    if arm {
        return Vec::new();
    }
    let pd = dir.join("probes/arm64-v8a");
    std::fs::create_dir_all(&pd).unwrap();
    std::fs::copy(probe, pd.join("fleetscope-probe")).unwrap();
    vec![
        "--probe-dir".into(),
        dir.join("probes").display().to_string(),
    ]
}
