//! The report schema: the committed JSON Schema is current, and validation accepts
//! good reports and refuses bad ones with the field named.

use fleetscope::probe::identify::{identify, Sysroot};
use fleetscope::schema::{parse_report, KernelResult, LatencyStats, Report, ReportError, SuiteRef};

#[test]
fn committed_json_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let committed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("docs/report.schema.json exists"))
            .expect("valid JSON");
    assert_eq!(
        committed,
        fleetscope::schema::json_schema(),
        "docs/report.schema.json is stale: run `cargo run -- schema > docs/report.schema.json` and commit it"
    );
}

fn sample() -> Report {
    let id = identify(&Sysroot::live());
    let mut r = Report::new(
        id,
        "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
        SuiteRef {
            id: "quick".into(),
            version: "1".into(),
            sha256: "ab".repeat(32),
        },
    );
    r.started_at = "2026-11-29T01:00:00Z".into();
    r.finished_at = "2026-11-29T01:00:05.5Z".into();
    r.results.push(KernelResult {
        kernel: "gemm".into(),
        dtype: Some(fleetscope::schema::Dtype::F32),
        threads: 1,
        cpus: vec![0],
        ops: Some(2 * 64 * 64 * 64),
        latency_us: Some(LatencyStats {
            min: 1.0,
            p10: 1.1,
            p50: 1.2,
            p90: 1.3,
            p99: 1.5,
            max: 2.0,
            mean: 1.25,
            stddev: 0.1,
            mad: 0.05,
            cv: 0.08,
        }),
        samples: Some(100),
        gops: Some(436.9),
        ..Default::default()
    });
    r
}

#[test]
fn a_real_report_round_trips_and_validates() {
    let r = sample();
    let bytes = serde_json::to_vec(&r).unwrap();
    let back = parse_report(&bytes).expect("valid report");
    assert_eq!(back, r);
}

fn refused(mutate: impl FnOnce(&mut serde_json::Value)) -> ReportError {
    let mut v = serde_json::to_value(sample()).unwrap();
    mutate(&mut v);
    parse_report(&serde_json::to_vec(&v).unwrap()).expect_err("must be refused")
}

#[test]
fn refusals_name_the_field() {
    let e = refused(|v| v["schema"] = "fleetscope.report/2".into());
    assert_eq!(e.code(), "unknown_schema");
    assert!(e.to_string().contains("fleetscope.report/1"), "{e}");

    let e = refused(|v| v["report_id"] = "not-a-uuid".into());
    assert!(
        matches!(&e, ReportError::Invalid(f) if f[0].field == "report_id"),
        "{e}"
    );

    let e = refused(|v| v["results"][0]["latency_us"]["p50"] = (-1.0).into());
    assert!(e.to_string().contains("results[0].latency_us.p50"), "{e}");

    let e = refused(|v| v["results"][0]["latency_us"]["p10"] = 9.0.into());
    assert!(e.to_string().contains("min <= p10 <= p50"), "{e}");

    let e = refused(|v| v["results"][0]["threads"] = "two".into());
    assert_eq!(e.code(), "malformed");

    let e = refused(|v| v["finished_at"] = "2026-11-28T00:00:00Z".into());
    assert!(e.to_string().contains("finished_at"), "{e}");

    let e = refused(|v| v["suite"]["sha256"] = "xyz".into());
    assert!(e.to_string().contains("suite.sha256"), "{e}");
}

#[test]
fn hostile_bytes_are_refused_not_panicked_on() {
    assert_eq!(parse_report(b"").unwrap_err().code(), "malformed");
    assert_eq!(parse_report(b"[1,2]").unwrap_err().code(), "malformed");
    assert_eq!(
        parse_report(b"{\"schema\": 1}").unwrap_err().code(),
        "malformed"
    );
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    assert_eq!(
        parse_report(deep.as_bytes()).unwrap_err().code(),
        "too_deep"
    );
    let big = vec![b' '; fleetscope::schema::MAX_REPORT_BYTES + 1];
    assert_eq!(parse_report(&big).unwrap_err().code(), "too_large");
    let good = serde_json::to_vec(&sample()).unwrap();
    for cut in [1, good.len() / 3, good.len() - 1] {
        assert_eq!(
            parse_report(&good[..cut]).unwrap_err().code(),
            "malformed",
            "truncated at {cut}"
        );
    }
}

mod fuzz {
    //! What `fuzz/fuzz_targets/parse_report.rs` checks, as property tests in the normal
    //! run: any bytes give a report or an error, never a panic, and whatever is
    //! accepted re-encodes and re-validates.
    use proptest::prelude::*;

    fn valid() -> Vec<u8> {
        serde_json::to_vec(&super::sample()).unwrap()
    }

    fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(report) = fleetscope::schema::parse_report(bytes) {
            let again = serde_json::to_vec(&report).unwrap();
            prop_assert!(fleetscope::schema::parse_report(&again).is_ok());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            check(&bytes)?;
        }

        #[test]
        fn mutated_valid_reports(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
            let mut bytes = valid();
            for (at, b) in edits {
                let i = at % bytes.len();
                bytes[i] = b;
            }
            check(&bytes)?;
            let cut = cut % (bytes.len() + 1);
            check(&bytes[..cut])?;
        }
    }
}
