//! The analyst's path end to end, through the real binary: a simulated fleet posted
//! over real HTTP to a real collector (SQLite file, and PostgreSQL where the test
//! script provides one), exported incrementally to Parquet, analysed and reported;
//! and a simulated fleet checked against the paper's published figures.

mod common;

use common::http::{Backend, Collector};
use common::{fleetscope, ok};
use polars::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetscope-analysis-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stats(report: &Path) -> Value {
    let text = std::fs::read_to_string(report.join("stats.json")).expect("stats.json");
    serde_json::from_str(&text).expect("stats.json is JSON")
}

fn stat(s: &Value, k: &str) -> f64 {
    s["stats"][k]
        .as_f64()
        .unwrap_or_else(|| panic!("stats.json lacks {k}"))
}

/// Rows of one table of a dataset, read back with polars.
fn rows(dir: &Path, table: &str) -> usize {
    fleetscope::analysis::scan(dir, table)
        .unwrap()
        .select([len()])
        .collect()
        .unwrap()
        .column("len")
        .unwrap()
        .u32()
        .unwrap()
        .get(0)
        .unwrap() as usize
}

/// Every `*.parquet` under `dir`, sorted.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn assert_one_file_per_partition(dir: &Path) {
    let files = parquet_files(dir);
    let mut partitions: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    partitions.dedup();
    assert_eq!(
        files.len(),
        partitions.len(),
        "not one file per partition: {files:#?}"
    );
}

/// PNG width and height from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    (be(16), be(20))
}

#[test]
fn a_simulated_fleet_reproduces_the_published_landscape() {
    let dir = tmp("calibration");
    let (data, out) = (dir.join("data"), dir.join("report"));
    let devices = 20_000u64;
    let simulate = [
        "simulate",
        "--devices",
        &devices.to_string(),
        "--seed",
        "3",
        "--threads",
        "2",
        "--out",
        data.to_str().unwrap(),
    ];
    let text = ok(&simulate);
    // Two workers wrote a part per date at each flush; simulate merges them, every
    // row kept, each file with the columns the writer wrote and no other.
    assert_one_file_per_partition(&data);
    let results: usize = text
        .split(" kernel results")
        .next()
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no result count in: {text}"));
    assert_eq!(rows(&data, "results"), results, "{text}");
    for (table, columns) in fleetscope::analysis::columns() {
        for f in parquet_files(&data.join(table)) {
            let mut reader = ParquetReader::new(std::fs::File::open(&f).unwrap());
            let schema = reader.schema().unwrap();
            let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
            assert_eq!(names, columns, "{}", f.display());
        }
    }
    // A second run into the same folder would mix two fleets: refused, nothing touched.
    let before = parquet_files(&data);
    let (code, _, err) = fleetscope(&simulate);
    assert_eq!(code, 2);
    assert!(err.contains("already holds a dataset"), "{err}");
    assert_eq!(parquet_files(&data), before);
    let text = ok(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("index.html"), "{text}");
    let s = stats(&out);

    // Each device counted once although about 15 % of them reported twice.
    assert_eq!(s["devices"].as_u64(), Some(devices));
    assert!(rows(&data, "devices") as u64 > devices + devices / 10);

    // Every published figure the calibration names, within its stated tolerance.
    let cal = fleetscope::catalog::calibration().unwrap();
    for t in &cal.targets {
        let got = stat(&s, &t.stat);
        assert!(
            (got - t.value).abs() <= t.tolerance,
            "{} ({}): {got:.4} is not within {} of {}",
            t.stat,
            t.source,
            t.tolerance,
            t.value
        );
    }
    // Distinct SoCs seen: what 20,000 draws from the calibrated shares should show.
    let expected: f64 = cal
        .soc_weights()
        .iter()
        .map(|w| 1.0 - (1.0 - w).powf(devices as f64))
        .sum();
    let unique = stat(&s, "soc.unique");
    assert!(
        (unique - expected).abs() < expected * 0.03,
        "{unique} SoCs seen, {expected:.0} expected"
    );
    assert!(stat(&s, "soc.over_1pct_count") >= 27.0 && stat(&s, "soc.over_1pct_count") <= 33.0);
    // The 32-bit userland: every Cortex-A7 device (a 32-bit core), the calibrated share
    // of Cortex-A53 devices, no Cortex-A73 device.
    assert_eq!(stat(&s, "abi.userland32_share.cortex-a7"), 1.0);
    assert_eq!(stat(&s, "abi.userland32_share.cortex-a73"), 0.0);
    let want = cal
        .uarch
        .iter()
        .find(|u| u.uarch == "cortex-a53")
        .unwrap()
        .userland32;
    let a53 = stat(&s, "abi.userland32_share.cortex-a53");
    assert!(
        (a53 - want).abs() < 0.03,
        "A53 on a 32-bit userland: {a53} against {want}"
    );
    // What 32-bit costs, from the lab's devices also run with the 32-bit probe (the
    // calibrated `abi_pair_runs` share of 64-bit devices): the model gives int8 on the
    // ARMv7 build a gain of 1.35 over f32 against the A53's 1.7 on ARMv8, f32 the same
    // speed under both. The analysis must recover both from the paired runs.
    assert!(stat(&s, "abi.v7_v8.devices") >= 50.0);
    let i8 = stat(&s, "abi.v7_over_v8.gemm.i8.cortex-a53");
    assert!((i8 - 1.35 / 1.7).abs() < 0.05, "A53 int8 GEMM v7/v8 {i8}");
    let f32 = stat(&s, "abi.v7_over_v8.gemm.f32.cortex-a53");
    assert!((f32 - 1.0).abs() < 0.05, "A53 f32 GEMM v7/v8 {f32}");
    // Those devices keep their own-ABI run as their place in the landscape, although
    // the 32-bit run came later.
    let d = fleetscope::analysis::load(&data).unwrap();
    assert!(d.abi_runs.height() >= 100);
    let forced = d
        .devices
        .clone()
        .lazy()
        .filter(col("probe_abi").neq(col("abi")))
        .collect()
        .unwrap()
        .height();
    assert_eq!(forced, 0, "a forced-ABI run stood for its device");
    // Energy, by the calibrated field model (`[energy]` of fleet_calibration.toml): rails
    // on Google's SoCs only; of the rest, no usable gauge on `gauge_missing` of the
    // devices and the charger on `charging` of the runs; the fuel gauge measures the rest.
    let e = &cal.energy;
    let odpm = stat(&s, "energy.source_share.odpm");
    let rest = 1.0 - odpm;
    let unavailable = stat(&s, "energy.source_share.unavailable");
    let charging = stat(&s, "energy.source_share.charging");
    assert!(
        (unavailable - rest * e.gauge_missing).abs() < 0.01,
        "{unavailable}"
    );
    assert!(
        (charging - rest * (1.0 - e.gauge_missing) * e.charging).abs() < 0.02,
        "{charging}"
    );
    assert!((stat(&s, "energy.available_share") + unavailable + charging - 1.0).abs() < 1e-6);
    // Joules per inference recover the power model: on the A53, one core's power
    // (datasets/core_power.csv) plus the platform's, times the inference's time.
    let p50: Vec<f64> = d
        .per_batch(|r| {
            r.filter(
                col("kernel")
                    .cast(DataType::String)
                    .eq(lit("mobilenet_v2"))
                    .and(col("dtype").cast(DataType::String).eq(lit("f32")))
                    .and(col("uarch").cast(DataType::String).eq(lit("cortex-a53")))
                    .and(col("threads").eq(lit(1i64)))
                    .and(col("p50_us").is_not_null()),
            )
            .select([col("p50_us")])
        })
        .unwrap()
        .column("p50_us")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let mut sorted = p50.clone();
    sorted.sort_by(f64::total_cmp);
    let median_s = sorted[sorted.len() / 2] / 1e6;
    let watts = e.platform_w + cal.core_watts("cortex-a53", true);
    let j = stat(&s, "energy.j_per_inference.mobilenet_v2.f32.cortex-a53");
    assert!(
        (j / (watts * median_s) - 1.0).abs() < 0.05,
        "A53 MobileNetV2 f32: {j} J against {watts} W x {median_s} s"
    );
    // int8 is faster at the same power, so it costs less energy.
    assert!(stat(&s, "energy.j_per_inference.mobilenet_v2.i8.cortex-a53") < j);
    assert!(
        stat(&s, "energy.gops_per_w.gemm.i8.cortex-a53")
            > stat(&s, "energy.gops_per_w.gemm.f32.cortex-a53")
    );
    // Headline numbers the issue names are all there.
    for k in [
        "gpu.ratio_ge_1x_share",
        "gpu.api_share.gles3.2",
        "gpu.api_share.vulkan",
        "cpu.uarch_share.cortex-a73",
        "int8.speedup_median.dotprod",
        "variability.cv_median",
        "throttle.median",
        "big_little.median_ratio",
    ] {
        stat(&s, k);
    }
    assert!(s["stats"]["priorities.top"]["kernel"].is_string());
    // Dot product helps int8 (the model says so; the analysis must find it).
    assert!(
        stat(&s, "int8.speedup_median.dotprod") > stat(&s, "int8.speedup_median.no_dotprod") + 0.5
    );
    assert!(s["findings"].as_array().is_some_and(|f| f.len() >= 5));

    // The report: every chart as PNG and SVG, embedded in the HTML, every table as CSV.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let charts: Vec<PathBuf> = std::fs::read_dir(out.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    assert!(charts.len() >= 12, "{} charts", charts.len());
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        charts.len()
    );
    assert!(!html.contains("<script"), "the report needs no scripts");
    for png in &charts {
        assert_eq!(
            png_size(&std::fs::read(png).unwrap()),
            (1000, 560),
            "{}",
            png.display()
        );
        let stem = png.file_stem().unwrap().to_string_lossy();
        let svg = std::fs::read_to_string(png.with_extension("svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{stem}.svg");
        assert!(
            md.contains(&format!("charts/{stem}.png")),
            "report.md lacks {stem}"
        );
    }
    for t in [
        "soc_share",
        "cpu_uarch",
        "cpu_design_year",
        "cpu_peak_by_soc",
        "gpu_cpu_ratio",
        "gpu_api",
        "abi_userland",
        "priorities",
        "energy_sources",
        "energy_per_inference",
        "energy_efficiency",
    ] {
        let csv = std::fs::read_to_string(out.join("tables").join(format!("{t}.csv"))).unwrap();
        assert!(csv.lines().count() > 1, "{t}.csv is empty");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Post a simulated fleet over HTTP, export, post more, export again.
fn collector_to_report(backend: &Backend, name: &str) {
    let c = Collector::start_on(backend, name, &[]);
    let dir = tmp(name);
    let (data, out) = (dir.join("data"), dir.join("report"));
    let token = c.dir.join("ingest.tok");
    let url = format!("http://{}", c.addr);
    let post = |n: &str, seed: &str| {
        ok(&[
            "simulate",
            "--devices",
            n,
            "--seed",
            seed,
            "--collector",
            &url,
            "--token-file",
            token.to_str().unwrap(),
        ])
    };
    post("400", "11");
    let first = c.stored();
    assert!(first >= 400, "{first} reports stored");

    let text = ok(&["export", "--db", &c.db, "--out", data.to_str().unwrap()]);
    assert!(
        text.contains(&format!("exported {first} reports")),
        "{text}"
    );
    assert_eq!(rows(&data, "devices"), first);
    let results_after_first = rows(&data, "results");
    assert!(results_after_first > first * 20);

    // An interrupted earlier run left a part above the recorded sequence: it goes.
    let orphan = data.join("devices/date=2026-11-01/part-000099999999-000099999999.parquet");
    std::fs::write(&orphan, b"half a file").unwrap();

    post("150", "12");
    let total = c.stored();
    let text = ok(&["export", "--db", &c.db, "--out", data.to_str().unwrap()]);
    assert!(
        text.contains(&format!("exported {} reports", total - first)),
        "{text}"
    );
    assert!(!orphan.exists(), "the orphan part was not removed");
    assert_eq!(
        rows(&data, "devices"),
        total,
        "each report exported exactly once"
    );
    assert!(rows(&data, "results") > results_after_first);
    assert_one_file_per_partition(&data);
    let text = ok(&["export", "--db", &c.db, "--out", data.to_str().unwrap()]);
    assert!(text.contains("exported 0 reports"), "{text}");

    // --no-compact leaves a run's parts beside the merged files; the next run merges
    // them. A run stopped after writing a merged file and before removing its inputs
    // doubles nothing: readers pass over the files a merged one covers, and the next
    // run removes them.
    post("60", "13");
    let total = c.stored();
    let data_s = data.to_str().unwrap();
    ok(&["export", "--db", &c.db, "--out", data_s, "--no-compact"]);
    let inputs: Vec<(PathBuf, Vec<u8>)> = parquet_files(&data)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();
    let partitions: std::collections::BTreeSet<_> =
        inputs.iter().filter_map(|(f, _)| f.parent()).collect();
    assert!(
        inputs.len() > partitions.len(),
        "--no-compact merged the new parts"
    );
    assert_eq!(rows(&data, "devices"), total);
    let text = ok(&["export", "--db", &c.db, "--out", data_s]);
    assert!(text.contains("exported 0 reports"), "{text}");
    assert_one_file_per_partition(&data);
    let results = rows(&data, "results");
    for (f, bytes) in &inputs {
        std::fs::write(f, bytes).unwrap();
    }
    assert_eq!(rows(&data, "devices"), total, "superseded parts were read");
    assert_eq!(
        rows(&data, "results"),
        results,
        "superseded parts were read"
    );
    ok(&["export", "--db", &c.db, "--out", data_s]);
    assert_one_file_per_partition(&data);
    assert_eq!(rows(&data, "devices"), total);

    // A damaged file in a partition stops its merge, not the export: a warning that
    // names it, every file left as it was.
    let date = parquet_files(&data.join("devices"))[0]
        .parent()
        .unwrap()
        .to_path_buf();
    let junk = date.join("part-000000000001-000000000001.parquet");
    std::fs::write(&junk, b"not parquet").unwrap();
    let before = parquet_files(&data);
    let text = ok(&["export", "--db", &c.db, "--out", data_s]);
    assert!(
        text.contains("warning: the new parts were not merged")
            && text.contains(&junk.display().to_string()),
        "{text}"
    );
    assert_eq!(parquet_files(&data), before);
    std::fs::remove_file(&junk).unwrap();

    // The same directory cannot take another store's reports.
    let other = format!("sqlite://{}", dir.join("other.db").display());
    let (code, _, err) = fleetscope(&["export", "--db", &other, "--out", data.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("use another --out"), "{err}");
    assert_eq!(rows(&data, "devices"), total);

    // The report counts devices, not reports: 610 simulated devices.
    ok(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(stats(&out)["devices"].as_u64(), Some(610));
    // --db exports into OUT/data and reports in one step.
    let out2 = dir.join("report2");
    ok(&["report", "--db", &c.db, "--out", out2.to_str().unwrap()]);
    assert_eq!(stats(&out2)["devices"].as_u64(), Some(610));
    assert_eq!(rows(&out2.join("data"), "devices"), total);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sqlite_collector_to_parquet_to_report() {
    collector_to_report(&Backend::Sqlite, "an-sqlite");
}

#[test]
fn postgres_collector_to_parquet_to_report() {
    match std::env::var("FLEETSCOPE_TEST_PG") {
        Ok(url) if !url.is_empty() => collector_to_report(&Backend::Postgres(url), "an-pg"),
        _ => common::skip(
            "FLEETSCOPE_TEST_PG is not set (scripts/test.sh starts PostgreSQL and sets it)",
        ),
    }
}

#[test]
fn fixture_identities_join_the_simulated_fleet() {
    let Some(shared) = common::shared_datasets() else {
        return;
    };
    let fixtures = common::device_fixtures(&shared);
    let dir = tmp("fixtures");
    let data = dir.join("data");
    ok(&[
        "simulate",
        "--devices",
        "50",
        "--fixtures",
        shared.join("devices").to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
    ]);
    let df = fleetscope::analysis::scan(&data, "devices")
        .unwrap()
        .filter(col("device_hash").str().starts_with(lit("fixture-")))
        .select([col("device_hash"), col("soc_key")])
        .collect()
        .unwrap();
    assert_eq!(df.height(), fixtures.len(), "one report per fixture");
    // Their SoC is what identification says about the snapshot.
    let (name, path) = &fixtures[0];
    let id = fleetscope::probe::identify::identify(
        &fleetscope::probe::identify::load_fixture(path).unwrap(),
    );
    let want = id
        .soc
        .chipset
        .or(id.soc.name)
        .unwrap_or_else(|| "unknown".into());
    let hashes: Vec<Option<String>> = fleetscope::analysis::strs(&df, "device_hash").unwrap();
    let keys: Vec<Option<String>> = fleetscope::analysis::strs(&df, "soc_key").unwrap();
    let i = hashes
        .iter()
        .position(|h| h.as_deref() == Some(&format!("fixture-{name}")))
        .unwrap();
    assert_eq!(keys[i].as_deref(), Some(want.as_str()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tmp("bad");
    let (code, _, err) = fleetscope(&[
        "report",
        "--data",
        dir.join("nothing").to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("has no devices/ table") && err.contains("fleetscope export"),
        "{err}"
    );
    let (code, _, err) = fleetscope(&[
        "simulate",
        "--devices",
        "0",
        "--out",
        dir.join("d").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--devices"), "{err}");
    let (code, _, err) = fleetscope(&[
        "export",
        "--db",
        "mysql://x",
        "--out",
        dir.join("e").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("sqlite://"), "{err}");
    // A damaged Parquet file is named, not panicked on.
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("devices/date=2026-11-01")).unwrap();
    std::fs::create_dir_all(data.join("results/date=2026-11-01")).unwrap();
    std::fs::write(
        data.join("devices/date=2026-11-01/part-1-1.parquet"),
        b"not parquet",
    )
    .unwrap();
    let (code, _, err) = fleetscope(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fleetscope:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
