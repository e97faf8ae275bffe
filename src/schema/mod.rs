//! The wire formats: the report `fleetscope.report/1` (serde types, the schema id and
//! validation), the NDJSON batch of reports, and the streamed `result <json>` line of
//! a running suite. Depends on serde alone (schemars only under the `host` feature,
//! to generate the committed JSON Schema).

mod batch;
mod depth;
mod energy;
mod identity;
mod report;
mod stream;
mod validate;

pub use batch::batch_lines;
pub use energy::{EnergyInfo, EnergyReading};
pub use identity::{
    ApiSupport, CacheInfo, Cluster, Confidence, Cpu, CpuInfo, DeviceInfo, Evidence, GpuInfo,
    HashScope, Identity, Issue, SocInfo, ThermalInfo, ThermalZone, X86Id,
};
pub use report::{
    Dtype, KernelResult, LatencyStats, Report, RunConditions, SuiteRef, TempReading, Throttling,
};
pub use stream::{parse_result_line, result_line, RESULT_PREFIX};
pub use validate::{check_written, parse_report, FieldError, ReportError, MAX_REPORT_BYTES};

/// The schema id every report carries; the collector refuses other major versions.
pub const SCHEMA_ID: &str = "fleetscope.report/1";
/// The schema family, without the major version.
pub const SCHEMA_FAMILY: &str = "fleetscope.report";
/// The major version this build reads and writes.
pub const SCHEMA_MAJOR: u32 = 1;

/// The JSON Schema of [`Report`], as committed under `docs/report.schema.json`.
#[cfg(feature = "host")]
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or(serde_json::Value::Null)
}
