//! `fleetscope probe` and `fleetscope bench` end to end: a suite run writes one report
//! that validates against the schema and holds every kernel family of the suite,
//! measured or skipped with a reason; `bench --json` prints what scripts rely on.

use sha2::{Digest, Sha256};
mod common;

use common::run;

const TINY: &str = r#"
id = "tiny"
version = "7"
[measure]
warmup = 1
min_samples = 2
min_time_ms = 1
max_time_ms = 50
cold_weights = true
[run]
clusters = "all"
threads = ["1", "cluster"]
cooldown_max_s = 1
sustained_s = 1
[[kernels]]
family = "gemm"
dtypes = ["f32", "f16", "i8"]
shapes = [{ m = 37, n = 70, k = 29 }]
[[kernels]]
family = "gemv"
dtypes = ["f32", "i8"]
shapes = [{ n = 100, k = 64 }]
[[kernels]]
family = "conv3x3"
dtypes = ["f32", "f16", "i8"]
shapes = [{ h = 9, w = 7, cin = 5, cout = 11, stride = 2 }]
[[kernels]]
family = "dwconv3x3"
dtypes = ["f32", "i8"]
shapes = [{ h = 10, w = 10, c = 24, stride = 1 }]
[[kernels]]
family = "peak_fma"
dtypes = ["f32"]
shapes = [{ iters = 100 }]
[[kernels]]
family = "peak_dot"
dtypes = ["i8"]
shapes = [{ iters = 100 }]
[[kernels]]
family = "membw"
dtypes = ["f32"]
shapes = [{ mib = 1 }]
[[kernels]]
family = "mobilenet_v2"
dtypes = ["f32"]
shapes = [{}]
"#;

/// The tiny suite, plus every registered family it does not name (all its dtypes, at
/// its smoke-test shape): a new family is run end to end without editing this test.
fn tiny_with_every_family() -> String {
    use fleetscope::probe::suite::{families, Suite};
    let tiny = Suite::parse(TINY, "tiny").unwrap();
    let mut text = TINY.to_string();
    for f in families::REGISTRY {
        if tiny.kernels.iter().any(|k| k.family == f.name()) {
            continue;
        }
        let dtypes: Vec<String> = f
            .dtypes()
            .iter()
            .map(|d| format!("{:?}", d.as_str()))
            .collect();
        let shape: Vec<String> = families::smoke_shape(f.name())
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        text += &format!(
            "[[kernels]]\nfamily = {:?}\ndtypes = [{}]\nshapes = [{{ {} }}]\n",
            f.name(),
            dtypes.join(", "),
            shape.join(", ")
        );
    }
    text
}

#[test]
fn probe_writes_one_valid_report_with_every_family() {
    let dir = std::env::temp_dir().join(format!("fleetscope-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let suite = dir.join("tiny.toml");
    let suite_text = tiny_with_every_family();
    std::fs::write(&suite, &suite_text).unwrap();
    let out = dir.join("report.json");
    for bin in [
        env!("CARGO_BIN_EXE_fleetscope"),
        env!("CARGO_BIN_EXE_fleetscope-probe"),
    ] {
        let (code, stdout, stderr) = run(
            bin,
            &[
                "probe",
                "--suite",
                suite.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("wrote"), "{stdout}");
        assert!(
            stderr.contains("[1/"),
            "plain progress lines on a non-terminal stderr: {stderr}"
        );
        let bytes = std::fs::read(&out).unwrap();
        let report = fleetscope::schema::parse_report(&bytes).expect("the report validates");
        assert_eq!(report.schema, "fleetscope.report/1");
        assert_eq!(
            (report.suite.id.as_str(), report.suite.version.as_str()),
            ("tiny", "7")
        );
        let sha: String = Sha256::digest(suite_text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(report.suite.sha256, sha);
        // A laptop has a battery (and shows it to containers); CI's machines do not.
        let no_battery =
            std::fs::read_dir("/sys/class/power_supply").map_or(true, |mut d| d.next().is_none());
        for family in fleetscope::probe::suite::families::names() {
            let rows: Vec<_> = report
                .results
                .iter()
                .filter(|r| r.kernel == family)
                .collect();
            assert!(!rows.is_empty(), "{family} missing from results");
            for r in rows {
                match &r.skipped {
                    Some(reason) => assert!(!reason.is_empty()),
                    None => {
                        let l = r.latency_us.expect("latency");
                        assert!(
                            l.min > 0.0 && l.min <= l.p50 && l.p50 <= l.max,
                            "{family}: {l:?}"
                        );
                        assert!(
                            r.gops.is_some_and(|g| g > 0.0)
                                && r.path.is_some()
                                && r.samples.is_some_and(|s| s >= 1),
                            "{family}: {r:?}"
                        );
                        assert_eq!(r.cpus.len(), r.threads as usize);
                        // Every measured result has a figure or says why not; on a
                        // Linux host without a battery (CI's), why not.
                        let e = r.energy.as_ref().expect("energy");
                        assert!(e.joules.is_some() != e.reason.is_some(), "{e:?}");
                        if no_battery {
                            assert!(
                                e.reason.as_deref().is_some_and(|w| {
                                    w.contains("no power rails") && w.contains("no battery")
                                }),
                                "{family}: {e:?}"
                            );
                        }
                    }
                }
            }
        }
        // f16 runs only on CPUs with half-precision arithmetic; elsewhere, and for
        // families without an f16 variant, it is skipped with a reason that says why.
        let f16_rows = |family: &str| -> Vec<_> {
            report
                .results
                .iter()
                .filter(|r| r.kernel == family && r.dtype == Some(fleetscope::schema::Dtype::F16))
                .collect()
        };
        let fp16 = fleetscope::probe::kernels::Isa::detect().fp16;
        assert!(!f16_rows("gemm").is_empty());
        for r in f16_rows("gemm") {
            match (&r.skipped, fp16) {
                (None, true) => assert!(r.path.as_deref().is_some_and(|p| p.contains("f16"))),
                (Some(why), false) => assert!(why.contains("half-precision"), "{why}"),
                other => panic!("f16 gemm with fp16={fp16}: {other:?}"),
            }
        }
        let conv16 = f16_rows("conv3x3");
        assert!(!conv16.is_empty());
        assert!(conv16.iter().all(|r| r
            .skipped
            .as_deref()
            .is_some_and(|s| s.contains("no f16 variant"))));
        // MobileNetV2 (f32 in this suite) runs on every core of a cluster too.
        let cores = report
            .cpu
            .clusters
            .iter()
            .map(|c| c.cpus.len())
            .max()
            .unwrap_or(1);
        if cores > 1 {
            assert!(
                report.results.iter().any(|r| r.kernel == "mobilenet_v2"
                    && r.threads > 1
                    && r.skipped.is_none()
                    && r.gops.is_some_and(|g| g > 0.0)),
                "no multi-threaded MobileNetV2 result"
            );
        }
        assert!(report
            .thermal
            .throttling
            .as_ref()
            .is_some_and(|t| t.sustained_burst_ratio > 0.0 && t.burst_gops > 0.0));
        assert!(report.finished_at >= report.started_at);
        if no_battery {
            let why = report.energy.as_ref().and_then(|e| e.reason.clone());
            assert!(why.is_some_and(|w| w.contains("cannot report its energy")));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_json_reports_gops_latency_and_the_path_that_ran() {
    let bin = env!("CARGO_BIN_EXE_fleetscope");
    // `bench gemm --dtype i8` at 64^3 with --json, plus the flags of each case.
    let bench_i8 = |extra: &[&str]| {
        let base = [
            "bench",
            "gemm",
            "--dtype",
            "i8",
            "--m",
            "64",
            "--n",
            "64",
            "--k",
            "64",
            "--json",
            "--min-time-ms",
            "20",
        ];
        run(bin, &[&base[..], extra].concat())
    };
    let (code, out, err) = bench_i8(&["--threads", "1"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["gops"].as_f64().is_some_and(|g| g > 0.0));
    assert!(v["latency_us"]["p50"].as_f64().is_some_and(|p| p > 0.0));
    let default_path = v["path"].as_str().unwrap().to_string();
    assert!(
        default_path.contains("exact") || default_path.contains("reduced-range"),
        "{default_path}"
    );
    let (code, out, _) = bench_i8(&["--full-range"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["path"].as_str().unwrap().contains("(exact)"),
        "{}",
        v["path"]
    );
    // The i32 accumulators (onnxruntime's MatMulInteger) are a path of their own, named
    // in the result, and only int8 GEMM has them.
    let (code, out, err) = bench_i8(&["--i32-out"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["path"].as_str().unwrap().ends_with(", i32 out)"),
        "{}",
        v["path"]
    );
    let (code, _, err) = run(bin, &["bench", "gemm", "--dtype", "f32", "--i32-out"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("i32 output applies to gemm with --dtype i8"),
        "{err}"
    );
    let (code, _, err) = run(bin, &["bench", "gemm", "--threads", "4096"]);
    assert_eq!(code, 2);
    assert!(err.contains("CPUs are available"), "{err}");
    let (code, _, err) = run(bin, &["bench", "fft"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn selftest_passes_and_bad_suites_are_refused() {
    let (code, out, _) = run(env!("CARGO_BIN_EXE_fleetscope-probe"), &["selftest"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with("0 failed"), "{out}");
    let dir = std::env::temp_dir().join(format!("fleetscope-badsuite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "id = 'x'\nversion = '1'\n[[kernels]]\nfamily = 'gemm'\ndtypes = ['f64']\nshapes = [{}]\n",
    )
    .unwrap();
    let (code, _, err) = run(
        env!("CARGO_BIN_EXE_fleetscope"),
        &["probe", "--suite", bad.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("f64") && err.contains("\"f32\", \"f16\" or \"i8\""),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Both binaries parse the probe's commands with one definition: the same help (but
/// for the binary's name), the same refusals and the same exit status.
#[test]
fn both_binaries_share_one_probe_command_line() {
    let bins = [
        ("fleetscope", env!("CARGO_BIN_EXE_fleetscope")),
        ("fleetscope-probe", env!("CARGO_BIN_EXE_fleetscope-probe")),
    ];
    let mut seen: Vec<Vec<(i32, String, String)>> = Vec::new();
    for (name, bin) in bins {
        let cases: [&[&str]; 6] = [
            &["bench", "--help"],
            &["identify", "--help"],
            &["identify", "--bogus"],
            &["bench", "gemm", "--cin", "3"],
            &["probe", "--stream-results"],
            &["selftest", "extra"],
        ];
        let outs: Vec<_> = cases
            .iter()
            .map(|args| {
                let (code, out, err) = run(bin, args);
                (code, out.replace(name, "BIN"), err.replace(name, "BIN"))
            })
            .collect();
        assert_eq!(outs[0].0, 0);
        assert!(outs[0].1.contains("BIN bench KERNEL") && outs[0].1.contains("exit status"));
        for (code, _, err) in &outs[2..] {
            assert_eq!(*code, 2, "{err}");
            assert!(err.starts_with("BIN: "), "{err}");
        }
        seen.push(outs);
    }
    assert_eq!(seen[0], seen[1]);
}
