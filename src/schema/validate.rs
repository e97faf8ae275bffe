//! Parse and validate a report from untrusted bytes. Every refusal names the field
//! and the problem, so a client can fix what it sent.

use super::depth::nesting_depth;
use super::{Report, SCHEMA_FAMILY, SCHEMA_MAJOR};
use std::fmt;

/// Largest report body accepted, in bytes.
pub const MAX_REPORT_BYTES: usize = 4 << 20;
const MAX_DEPTH: usize = 32;
const MAX_STRING: usize = 4096;
const MAX_RESULTS: usize = 20_000;
const MAX_CPUS: usize = 4096;
const MAX_ZONES: usize = 1024;
const MAX_ISSUES: usize = 1000;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// JSON path, e.g. `results[3].latency_us.p50`.
    pub field: String,
    pub problem: String,
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportError {
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    TooDeep {
        limit: usize,
    },
    /// Not JSON, or JSON of the wrong shape.
    Malformed(String),
    /// A schema family or major version this build does not read.
    UnknownSchema(String),
    Invalid(Vec<FieldError>),
}

impl ReportError {
    /// A short machine-readable reason (`too_large`, `malformed`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::TooLarge { .. } => "too_large",
            ReportError::TooDeep { .. } => "too_deep",
            ReportError::Malformed(_) => "malformed",
            ReportError::UnknownSchema(_) => "unknown_schema",
            ReportError::Invalid(_) => "invalid",
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::TooLarge { bytes, limit } => {
                write!(f, "report is {bytes} bytes, over the {limit}-byte limit; send fewer results per report")
            }
            ReportError::TooDeep { limit } => write!(
                f,
                "JSON nests deeper than {limit} levels; a report is never that deep"
            ),
            ReportError::Malformed(m) => write!(f, "not a valid report: {m}"),
            ReportError::UnknownSchema(m) => write!(f, "{m}"),
            ReportError::Invalid(errors) => {
                let list: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.problem))
                    .collect();
                write!(f, "invalid report: {}", list.join("; "))
            }
        }
    }
}

impl std::error::Error for ReportError {}

/// Parse `bytes` as a `fleetscope.report/1` document and validate every field.
pub fn parse_report(bytes: &[u8]) -> Result<Report, ReportError> {
    check_frame(bytes)?;
    // One typed pass. Only when it fails do we look at `schema` alone, to tell an
    // unknown version apart from a malformed document. Checked as UTF-8 once, the
    // text parses without a UTF-8 check per string (a report has hundreds).
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<Report>(text),
        Err(_) => serde_json::from_slice::<Report>(bytes),
    };
    let report: Report = match parsed {
        Ok(r) => r,
        Err(e) => {
            #[derive(serde::Deserialize)]
            struct SchemaOnly {
                schema: Option<serde_json::Value>,
            }
            return Err(match serde_json::from_slice::<SchemaOnly>(bytes) {
                Ok(SchemaOnly {
                    schema: Some(serde_json::Value::String(s)),
                }) => match check_schema_id(&s) {
                    Err(unknown) => unknown,
                    Ok(()) => ReportError::Malformed(e.to_string()),
                },
                Ok(SchemaOnly { schema: Some(_) }) => ReportError::Malformed(
                    "`schema` must be a string like \"fleetscope.report/1\"".into(),
                ),
                Ok(SchemaOnly { schema: None }) => ReportError::Malformed(
                    "missing field `schema` (expected \"fleetscope.report/1\")".into(),
                ),
                Err(_) if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') => {
                    ReportError::Malformed(format!("the top level must be a JSON object ({e})"))
                }
                Err(_) => ReportError::Malformed(e.to_string()),
            });
        }
    };
    check_fields(&report)?;
    Ok(report)
}

/// The checks of [`parse_report`] for a report this process encoded itself as
/// `bytes`: size, depth, schema id and every field, without decoding it back (the
/// probe ships no report decoder). Every number a field check passes as finite
/// encodes as a JSON number, so the collector decodes what passes here.
pub fn check_written(bytes: &[u8], report: &Report) -> Result<(), ReportError> {
    check_frame(bytes)?;
    check_fields(report)
}

/// What any report's bytes must satisfy before they are decoded: size and depth.
fn check_frame(bytes: &[u8]) -> Result<(), ReportError> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(ReportError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_REPORT_BYTES,
        });
    }
    if nesting_depth(bytes) > MAX_DEPTH {
        return Err(ReportError::TooDeep { limit: MAX_DEPTH });
    }
    Ok(())
}

/// The schema id and every field check.
fn check_fields(report: &Report) -> Result<(), ReportError> {
    check_schema_id(&report.schema)?;
    let errors = validate(report);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ReportError::Invalid(errors))
    }
}

fn check_schema_id(id: &str) -> Result<(), ReportError> {
    let unknown = || {
        ReportError::UnknownSchema(format!(
            "unknown schema {id:?}: this build reads {SCHEMA_FAMILY}/{SCHEMA_MAJOR}; upgrade the collector or the probe so they agree"
        ))
    };
    let (family, version) = id.split_once('/').ok_or_else(unknown)?;
    if family != SCHEMA_FAMILY {
        return Err(unknown());
    }
    let major = version.split('.').next().unwrap_or("");
    match major.parse::<u32>() {
        Ok(m) if m == SCHEMA_MAJOR => Ok(()),
        _ => Err(unknown()),
    }
}

struct Checker {
    errors: Vec<FieldError>,
}

/// Checks take the field path as a closure: it is only built when a check fails,
/// so a valid 20 KB report costs no string formatting at all.
impl Checker {
    fn fail(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        if self.errors.len() < 50 {
            self.errors.push(FieldError {
                field: field.into(),
                problem: problem.into(),
            });
        }
    }
    fn text(&mut self, field: impl FnOnce() -> String, value: &str) {
        if value.len() > MAX_STRING {
            self.fail(
                field(),
                format!("{} characters, over the {MAX_STRING} limit", value.len()),
            );
        }
    }
    fn opt_text(&mut self, field: impl FnOnce() -> String, value: &Option<String>) {
        if let Some(v) = value {
            self.text(field, v);
        }
    }
    fn count(&mut self, field: impl FnOnce() -> String, len: usize, limit: usize) {
        if len > limit {
            self.fail(field(), format!("{len} entries, over the {limit} limit"));
        }
    }
    fn number(&mut self, field: impl FnOnce() -> String, v: f64) {
        if !v.is_finite() || v < 0.0 {
            self.fail(field(), format!("must be a finite number >= 0, got {v}"));
        }
    }
}

/// Field-level checks that serde's typing cannot express.
fn validate(r: &Report) -> Vec<FieldError> {
    let mut c = Checker { errors: Vec::new() };
    if !is_uuid(&r.report_id) {
        c.fail(
            "report_id",
            "must be a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e",
        );
    }
    for (field, value) in [
        ("probe_version", &r.probe_version),
        ("suite.id", &r.suite.id),
        ("suite.version", &r.suite.version),
        ("device.os", &r.device.os),
    ] {
        if value.trim().is_empty() {
            c.fail(field, "must not be empty");
        }
        c.text(|| field.to_string(), value);
    }
    if !(r.suite.sha256.len() == 64 && r.suite.sha256.bytes().all(|b| b.is_ascii_hexdigit())) {
        c.fail("suite.sha256", "must be 64 hex digits");
    }
    for (field, value) in [
        ("started_at", &r.started_at),
        ("finished_at", &r.finished_at),
    ] {
        if !is_rfc3339(value) {
            c.fail(field, "must be an RFC 3339 time like 2026-11-29T01:02:03Z");
        }
    }
    if is_rfc3339(&r.started_at) && is_rfc3339(&r.finished_at) && r.finished_at < r.started_at {
        c.fail("finished_at", "is before started_at");
    }
    for (field, value) in [
        ("device.model", &r.device.model),
        ("device.manufacturer", &r.device.manufacturer),
        ("device.kernel", &r.device.kernel),
        ("soc.vendor", &r.soc.vendor),
        ("soc.chipset", &r.soc.chipset),
        ("soc.name", &r.soc.name),
        ("gpu.model", &r.gpu.model),
    ] {
        c.opt_text(|| field.to_string(), value);
    }
    c.count(|| "cpu.cpus".into(), r.cpu.cpus.len(), MAX_CPUS);
    c.count(|| "cpu.clusters".into(), r.cpu.clusters.len(), MAX_CPUS);
    c.count(|| "thermal.zones".into(), r.thermal.zones.len(), MAX_ZONES);
    c.count(|| "errors".into(), r.errors.len(), MAX_ISSUES);
    c.count(|| "results".into(), r.results.len(), MAX_RESULTS);
    for (i, zone) in r.thermal.zones.iter().enumerate() {
        if let Some(t) = zone.temp_c {
            if !t.is_finite() || !(-80.0..=250.0).contains(&t) {
                c.fail(
                    format!("thermal.zones[{i}].temp_c"),
                    format!("{t} is not a plausible temperature in Celsius"),
                );
            }
        }
    }
    if let Some(t) = &r.thermal.throttling {
        for (name, v) in [
            ("sustained_burst_ratio", t.sustained_burst_ratio),
            ("burst_gops", t.burst_gops),
            ("sustained_gops", t.sustained_gops),
            ("duration_s", t.duration_s),
        ] {
            c.number(|| format!("thermal.throttling.{name}"), v);
        }
    }
    if let Some(rc) = &r.conditions {
        c.number(
            || "conditions.cooldown_waited_s".into(),
            rc.cooldown_waited_s,
        );
    }
    c.opt_text(|| "gpu.renderer".into(), &r.gpu.renderer);
    c.count(|| "gpu.sources".into(), r.gpu.sources.len(), MAX_ISSUES);
    c.count(
        || "gpu.service_notes".into(),
        r.gpu.service_notes.len(),
        MAX_ISSUES,
    );
    if let Some(e) = &r.energy {
        c.opt_text(|| "energy.reason".into(), &e.reason);
        c.opt_text(|| "energy.status".into(), &e.status);
        c.opt_text(|| "energy.convention".into(), &e.convention);
        c.count(|| "energy.rails".into(), e.rails.len(), MAX_ISSUES);
        for (name, v) in [("idle_w", e.idle_w), ("read_overhead_j", e.read_overhead_j)] {
            if let Some(v) = v {
                c.number(|| format!("energy.{name}"), v);
            }
        }
    }
    for (i, res) in r.results.iter().enumerate() {
        let at = |f: &str| format!("results[{i}].{f}");
        if let Some(e) = &res.energy {
            c.opt_text(|| at("energy.reason"), &e.reason);
            c.opt_text(|| at("energy.rail"), &e.rail);
            for (name, v) in [
                ("window_s", e.window_s),
                ("avg_w", e.avg_w),
                ("joules", e.joules),
                ("joules_per_iteration", e.joules_per_iteration),
                ("joules_per_inference", e.joules_per_inference),
                ("rail_joules", e.rail_joules),
            ] {
                if let Some(v) = v {
                    c.number(|| at(&format!("energy.{name}")), v);
                }
            }
        }
        c.text(|| at("kernel"), &res.kernel);
        if res.kernel.trim().is_empty() {
            c.fail(at("kernel"), "must not be empty");
        }
        c.count(|| at("cpus"), res.cpus.len(), MAX_CPUS);
        // Whatever latency a result carries, skipped or not, must encode as numbers.
        if let Some(l) = &res.latency_us {
            let fields = [
                ("min", l.min),
                ("p10", l.p10),
                ("p50", l.p50),
                ("p90", l.p90),
                ("p99", l.p99),
                ("max", l.max),
                ("mean", l.mean),
                ("stddev", l.stddev),
                ("mad", l.mad),
                ("cv", l.cv),
            ];
            for (name, v) in fields {
                c.number(|| at(&format!("latency_us.{name}")), v);
            }
        }
        if res.skipped.is_some() {
            continue;
        }
        match &res.latency_us {
            None => c.fail(
                at("latency_us"),
                "a measured result needs latency_us (or `skipped` with a reason)",
            ),
            Some(l) => {
                let ordered = [l.min, l.p10, l.p50, l.p90, l.p99, l.max];
                if ordered.windows(2).any(|w| w[0] > w[1]) {
                    c.fail(
                        at("latency_us"),
                        "percentiles must satisfy min <= p10 <= p50 <= p90 <= p99 <= max",
                    );
                }
            }
        }
        if let Some(g) = res.gops {
            c.number(|| at("gops"), g);
        }
        if res.samples == Some(0) {
            c.fail(at("samples"), "a measured result has at least one sample");
        }
        if res.threads == 0 {
            c.fail(at("threads"), "must be at least 1");
        }
    }
    c.errors
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &ch)| match i {
            8 | 13 | 18 | 23 => ch == b'-',
            _ => ch.is_ascii_hexdigit(),
        })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)`: the shape, with plausible field ranges.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let ok = matches!(num(0..4), Some(1970..=9999))
        && matches!(num(5..7), Some(1..=12))
        && matches!(num(8..10), Some(1..=31))
        && matches!(num(11..13), Some(0..=23))
        && matches!(num(14..16), Some(0..=59))
        && matches!(num(17..19), Some(0..=60));
    let Some(mut rest) = s.get(19..) else {
        return false;
    };
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &frac[digits..];
    }
    ok && (rest == "Z"
        || rest == "z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever passes the probe's own check decodes at the collector: a non-finite
    /// number in any of the report's plain (non-optional) floats encodes as `null`,
    /// which the collector cannot decode, so the check must refuse it.
    #[test]
    fn what_check_written_passes_parse_report_reads() {
        use crate::schema::{KernelResult, LatencyStats, RunConditions, Throttling};
        let mut base = Report::new(
            Default::default(),
            "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            crate::schema::SuiteRef {
                id: "quick".into(),
                version: "1".into(),
                sha256: "ab".repeat(32),
            },
        );
        base.started_at = "2026-12-05T01:00:00Z".into();
        base.finished_at = "2026-12-05T01:00:01Z".into();
        base.device.os = "android".into();
        let lat = LatencyStats {
            min: 1.0,
            p10: 1.0,
            p50: 1.0,
            p90: 1.0,
            p99: 1.0,
            max: 1.0,
            mean: 1.0,
            stddev: 0.0,
            mad: 0.0,
            cv: 0.0,
        };
        base.results.push(KernelResult {
            kernel: "gemm".into(),
            threads: 1,
            latency_us: Some(lat),
            ..Default::default()
        });
        base.thermal.throttling = Some(Throttling::default());
        base.conditions = Some(RunConditions::default());
        let json = serde_json::to_string(&base).unwrap();
        check_written(json.as_bytes(), &base).unwrap();
        parse_report(json.as_bytes()).unwrap();
        let poison: Vec<fn(&mut Report)> = vec![
            |r| r.results[0].latency_us.as_mut().unwrap().p50 = f64::NAN,
            |r| r.results[0].latency_us.as_mut().unwrap().stddev = f64::INFINITY,
            |r| r.thermal.throttling.as_mut().unwrap().burst_gops = f64::NAN,
            |r| r.conditions.as_mut().unwrap().cooldown_waited_s = f64::NAN,
        ];
        for p in poison {
            let mut r = base.clone();
            p(&mut r);
            let json = serde_json::to_string(&r).unwrap();
            assert!(parse_report(json.as_bytes()).is_err());
            assert!(check_written(json.as_bytes(), &r).is_err());
        }
    }

    #[test]
    fn schema_versions() {
        assert!(check_schema_id("fleetscope.report/1").is_ok());
        assert!(check_schema_id("fleetscope.report/1.3").is_ok());
        assert!(matches!(
            check_schema_id("fleetscope.report/2"),
            Err(ReportError::UnknownSchema(_))
        ));
        assert!(matches!(
            check_schema_id("other/1"),
            Err(ReportError::UnknownSchema(_))
        ));
        assert!(matches!(
            check_schema_id("fleetscope.report"),
            Err(ReportError::UnknownSchema(_))
        ));
    }

    #[test]
    fn times_and_ids() {
        assert!(is_rfc3339("2026-11-29T01:02:03Z"));
        assert!(is_rfc3339("2026-11-29T01:02:03.123456+01:00"));
        assert!(!is_rfc3339("2026-13-29T01:02:03Z"));
        assert!(!is_rfc3339("yesterday"));
        assert!(!is_rfc3339("2026-11-29T01:02:0\u{e9}Z"));
        assert!(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
    }
}
