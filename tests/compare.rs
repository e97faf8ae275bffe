//! `fleetscope compare` on simulated fleets with known truth: no change between two
//! samples of one population (several seeds), a +8 % change injected into one
//! (kernel, dtype, core) found with an interval containing it and nothing else, the
//! same devices compared paired, the JSON contract and the exit codes. And the report
//! over a dataset mixing quick and standard suites: every statistic equals the one
//! over the standard suite alone.

mod common;

use common::{fleetscope, ok};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetscope-compare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A simulated fleet of `devices` from population 7, drawn with `seed`.
fn fleet(dir: &Path, name: &str, seed: u64, extra: &[&str]) -> String {
    let out = dir.join(name);
    let seed = seed.to_string();
    let mut args = vec![
        "simulate",
        "--devices",
        "6000",
        "--population-seed",
        "7",
        "--seed",
        &seed,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    out.display().to_string()
}

fn compare(base: &str, new: &str, extra: &[&str]) -> Value {
    let mut args = vec!["compare", "--base", base, "--new", new, "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).expect("compare --json prints one JSON object")
}

#[test]
fn no_change_reports_nothing_and_a_known_change_is_found_alone() {
    let dir = tmp("sim");
    let a = fleet(&dir, "a", 1, &[]);
    // Other samples of the same population: nothing changed.
    let (mut tested, mut significant_any_size) = (0, 0);
    for seed in [2, 3] {
        let b = fleet(&dir, &format!("b{seed}"), seed, &[]);
        let c = compare(&a, &b, &[]);
        assert_eq!(c["regressions"].as_array().unwrap().len(), 0, "{c}");
        assert_eq!(c["improvements"].as_array().unwrap().len(), 0, "{c}");
        tested += c["cells_tested"].as_u64().unwrap();
        // Significant at any size (threshold 0): the false discovery control alone.
        let c = compare(&a, &b, &["--threshold", "0"]);
        significant_any_size += c["regressions"].as_array().unwrap().len()
            + c["improvements"].as_array().unwrap().len();
    }
    assert!(tested > 500, "{tested} cells tested");
    eprintln!("no change: {significant_any_size} of {tested} cells significant at any size");
    assert!(
        significant_any_size as u64 * 20 <= tested,
        "{significant_any_size} of {tested} cells significant without a change"
    );

    // +8 % on gemm f32 for devices whose core is a Cortex-A53.
    let c = fleet(&dir, "c", 4, &["--change", "gemm/f32/cortex-a53=+8"]);
    let r = compare(&a, &c, &[]);
    let found = r["regressions"].as_array().unwrap();
    assert!(!found.is_empty(), "{r}");
    for cell in found {
        assert_eq!(
            (
                cell["kernel"].as_str(),
                cell["dtype"].as_str(),
                cell["group"].as_str()
            ),
            (Some("gemm"), Some("f32"), Some("cortex-a53")),
            "only cells of the changed (kernel, dtype, core): {cell}"
        );
        let ci = cell["ci_pct"].as_array().unwrap();
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo <= 8.0 && 8.0 <= hi, "the interval holds +8 %: {cell}");
        for k in [
            "shape",
            "threads",
            "change_pct",
            "q_value",
            "n_base",
            "n_new",
        ] {
            assert!(!cell[k].is_null(), "{k} in {cell}");
        }
        assert!(cell["q_value"].as_f64().unwrap() <= 0.05);
    }
    assert!(r["improvements"].as_array().unwrap().is_empty(), "{r}");
    assert!(r["insufficient"].as_u64().is_some());

    // A CI gate: exit 1 with --fail-on-regression, 0 without, 2 on bad input.
    let (code, _, _) = fleetscope(&["compare", "--base", &a, "--new", &c, "--fail-on-regression"]);
    assert_eq!(code, 1);
    let (code, _, _) = fleetscope(&["compare", "--base", &a, "--new", &c]);
    assert_eq!(code, 0);
    let (code, _, err) = fleetscope(&["compare", "--base", &a, "--new", "/nonexistent/x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/x") && err.contains("dataset directory"),
        "{err}"
    );

    // The pages: HTML, Markdown, JSON, the chart and the cell table.
    let out = dir.join("out");
    ok(&[
        "compare",
        "--base",
        &a,
        "--new",
        &c,
        "--out",
        out.to_str().unwrap(),
    ]);
    for f in [
        "compare.html",
        "compare.md",
        "compare.json",
        "charts/compare_changes.svg",
        "charts/compare_changes.png",
        "tables/compare_cells.csv",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("gemm f32") && md.contains("cortex-a53"), "{md}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_same_devices_are_compared_paired() {
    let dir = tmp("paired");
    let a = fleet(&dir, "a", 5, &[]);
    let b = fleet(&dir, "b", 5, &["--change", "conv3x3/i8/*=+6"]);
    let r = compare(&a, &b, &[]);
    let found = r["regressions"].as_array().unwrap();
    assert!(!found.is_empty(), "{r}");
    for cell in found {
        assert_eq!(cell["method"], "paired", "{cell}");
        assert_eq!(
            (cell["kernel"].as_str(), cell["dtype"].as_str()),
            (Some("conv3x3"), Some("i8"))
        );
        let ci = cell["ci_pct"].as_array().unwrap();
        assert!(
            ci[0].as_f64().unwrap() <= 6.0 && 6.0 <= ci[1].as_f64().unwrap(),
            "{cell}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn stats(report: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(report.join("stats.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["stats"].as_object().unwrap().clone()
}

#[test]
fn a_report_never_averages_two_suites() {
    let dir = tmp("suites");
    let c = common::http::Collector::start("compare-suites", &[]);
    let url = format!("http://{}", c.addr);
    let token = c.dir.join("ingest.tok").display().to_string();
    // 2500 devices ran the quick suite, with gemm ten times slower there, and 3000
    // others the standard suite: mixed, gemm's statistics would be far off.
    let post = |seed: &str, devices: &str, extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--devices",
            devices,
            "--seed",
            seed,
            "--collector",
            &url,
            "--token-file",
            &token,
        ];
        args.extend_from_slice(extra);
        ok(&args);
    };
    post(
        "21",
        "2500",
        &["--suite", "quick", "--change", "gemm/*/*=+900"],
    );
    post("22", "3000", &["--suite", "standard"]);
    let mixed = dir.join("mixed");
    ok(&["export", "--db", &c.db, "--out", mixed.to_str().unwrap()]);
    let alone = dir.join("alone");
    ok(&[
        "simulate",
        "--devices",
        "3000",
        "--seed",
        "22",
        "--suite",
        "standard",
        "--out",
        alone.to_str().unwrap(),
    ]);
    let (rm, ra) = (dir.join("report-mixed"), dir.join("report-alone"));
    ok(&[
        "report",
        "--data",
        mixed.to_str().unwrap(),
        "--out",
        rm.to_str().unwrap(),
    ]);
    ok(&[
        "report",
        "--data",
        alone.to_str().unwrap(),
        "--out",
        ra.to_str().unwrap(),
    ]);
    let (m, a) = (stats(&rm), stats(&ra));
    assert_eq!(m["suite.id"], "standard");
    assert_eq!(m["suite.devices_left_out"], 2500.0);
    assert_eq!(a["suite.devices_left_out"], 0.0);
    let mut checked = 0;
    for (k, v) in &a {
        if k == "suite.devices_left_out" {
            continue;
        }
        let w = m
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing from the mixed report"));
        match (v.as_f64(), w.as_f64()) {
            (Some(x), Some(y)) => assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                "{k}: {y} over the mixed dataset, {x} over the standard suite alone"
            ),
            _ => assert_eq!(v, w, "{k}"),
        }
        checked += 1;
    }
    assert!(checked > 40, "{checked} statistics compared");
    let md = std::fs::read_to_string(rm.join("report.md")).unwrap();
    assert!(
        md.contains("the suite standard v") && md.contains("leaves out 2500 devices"),
        "{md}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Rewrite every part file of `dir` without the suite columns, as exports written
/// before they existed.
fn strip_suites(dir: &Path) {
    use polars::prelude::*;
    for table in ["devices", "results"] {
        for part in std::fs::read_dir(dir.join(table)).unwrap() {
            for f in std::fs::read_dir(part.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                let mut df = ParquetReader::new(std::fs::File::open(&p).unwrap())
                    .finish()
                    .unwrap();
                df = df.drop_many(["suite_id", "suite_version", "suite_sha256"]);
                ParquetWriter::new(std::fs::File::create(&p).unwrap())
                    .finish(&mut df)
                    .unwrap();
            }
        }
    }
}

#[test]
fn exports_from_before_suites_still_read() {
    let dir = tmp("old");
    let old = fleet(&dir, "old", 8, &[]);
    strip_suites(Path::new(&old));
    let new = fleet(&dir, "new", 9, &[]);
    // The old export alone: one suite, unknown.
    let report = dir.join("report");
    ok(&["report", "--data", &old, "--out", report.to_str().unwrap()]);
    let s = stats(&report);
    assert!(s.get("suite.id").is_none(), "{s:?}");
    assert_eq!(s["suite.devices_left_out"], 0.0);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("the suite unknown"), "{md}");
    // Compared with a new export, cell by cell as usual.
    let c = compare(&old, &new, &[]);
    assert!(c["cells_tested"].as_u64().unwrap() > 100, "{c}");
    // Old and new parts in one directory (an export continued after an upgrade).
    let mixed = Path::new(&old);
    for table in ["devices", "results"] {
        let from = Path::new(&new).join(table);
        for part in std::fs::read_dir(&from).unwrap() {
            let part = part.unwrap().path();
            let to = mixed.join(table).join(part.file_name().unwrap());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(&part).unwrap() {
                let f = f.unwrap().path();
                let name = format!("new-{}", f.file_name().unwrap().to_string_lossy());
                std::fs::copy(&f, to.join(name)).unwrap();
            }
        }
    }
    let report = dir.join("report-mixed");
    ok(&["report", "--data", &old, "--out", report.to_str().unwrap()]);
    let s = stats(&report);
    assert!(
        s["suite.devices_left_out"].as_f64().unwrap() > 1000.0,
        "{s:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
