//! The streamed result line: while a suite runs with `--stream-results`, the probe
//! prints each finished measurement on stdout as one line, `result <json>`, where
//! `<json>` is one `KernelResult` of `fleetscope.report/1` on a single line. A host
//! that loses the device mid-run (`fleetscope run`) keeps every line it read. Other
//! stdout lines are not results and are ignored by readers.

use super::KernelResult;

/// What starts a result line.
pub const RESULT_PREFIX: &str = "result ";

/// `result` followed by the result as single-line JSON (no newline).
pub fn result_line(r: &KernelResult) -> String {
    // A KernelResult holds only strings, numbers and maps of them: it always encodes.
    let json = serde_json::to_string(r).unwrap_or_else(|_| "{}".into());
    format!("{RESULT_PREFIX}{json}")
}

/// The result a line carries: `None` for a line that is not a result line, `Some(Err)`
/// for one that is but does not decode (a truncated last line of a lost device).
pub fn parse_result_line(line: &str) -> Option<Result<KernelResult, serde_json::Error>> {
    line.strip_prefix(RESULT_PREFIX)
        .map(|json| serde_json::from_str(json.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Dtype, LatencyStats, TempReading};

    #[test]
    fn a_result_round_trips_through_one_line() {
        let r = KernelResult {
            kernel: "gemm".into(),
            dtype: Some(Dtype::I8),
            shape: [("m".to_string(), 64), ("n".into(), 32), ("k".into(), 16)].into(),
            threads: 4,
            cpus: vec![4, 5, 6, 7],
            path: Some("qs8-gemm-8x8c4-neondot (exact)\nwith a newline".into()),
            ops: Some(65_536),
            latency_us: Some(LatencyStats {
                min: 1.0,
                p10: 1.5,
                p50: 2.0,
                p90: 3.0,
                p99: 4.0,
                max: 5.0,
                mean: 2.2,
                stddev: 0.5,
                mad: 0.25,
                cv: 0.2,
            }),
            samples: Some(100),
            gops: Some(32.768),
            freq_khz: Some(1_800_000),
            temp_c: Some(TempReading {
                before: Some(35.5),
                after: None,
            }),
            ..Default::default()
        };
        let line = result_line(&r);
        assert!(
            line.starts_with("result {") && !line.contains('\n'),
            "{line}"
        );
        assert_eq!(parse_result_line(&line).unwrap().unwrap(), r);
        assert_eq!(parse_result_line(&format!("{line}\r")).unwrap().unwrap(), r);
        let skipped = KernelResult {
            kernel: "peak_dot".into(),
            skipped: Some("no dotprod on cortex-a53".into()),
            ..Default::default()
        };
        assert_eq!(
            parse_result_line(&result_line(&skipped)).unwrap().unwrap(),
            skipped
        );
        assert!(parse_result_line("[3/40] gemm f32").is_none());
        assert!(parse_result_line(&line[..line.len() - 5]).unwrap().is_err());
    }
}
