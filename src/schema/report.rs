//! One probe run: identity plus measured kernel results.

use super::energy::{EnergyInfo, EnergyReading};
use super::identity::{CpuInfo, DeviceInfo, GpuInfo, Issue, SocInfo, ThermalInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One `fleetscope.report/1` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Report {
    /// `fleetscope.report/1`.
    pub schema: String,
    /// UUID; the collector's idempotency key.
    pub report_id: String,
    pub probe_version: String,
    pub suite: SuiteRef,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub finished_at: String,
    pub device: DeviceInfo,
    pub soc: SocInfo,
    pub cpu: CpuInfo,
    pub gpu: GpuInfo,
    pub thermal: ThermalInfo,
    #[serde(default)]
    pub results: Vec<KernelResult>,
    /// Anything that went wrong, with the stage; a partial report is still a report.
    #[serde(default)]
    pub errors: Vec<Issue>,
    /// True when the run ended early (device lost, interrupted); `errors` says why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// How the run was made, when a host launched it (`fleetscope run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<RunConditions>,
    /// Where this run's energy figures come from, or why there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyInfo>,
}

/// Conditions a host set up around a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct RunConditions {
    /// `adb` for `fleetscope run`.
    pub launcher: String,
    /// Whether root (`su`) was available.
    pub root: bool,
    /// The CPU governor forced for the run (and restored afterwards), if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governor_locked: Option<String>,
    /// Why the governor was not locked, when locking was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governor_note: Option<String>,
    /// 1-based index of this run among repeated runs on the device.
    pub run_index: u32,
    /// Seconds waited before this run for the device to cool down.
    pub cooldown_waited_s: f64,
    /// Hottest thermal zone when this run started, Celsius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_temp_c: Option<f64>,
    /// In an A/B run (two probe builds, interleaved per device): which build made this
    /// report, named after its probe directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct SuiteRef {
    /// `quick`, `standard`, or the id inside a custom suite file.
    pub id: String,
    pub version: String,
    /// SHA-256 of the suite file's bytes, hex.
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    F32,
    F16,
    I8,
}

impl Dtype {
    /// The name the schema uses: `f32`, `f16` or `i8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
            Dtype::I8 => "i8",
        }
    }

    /// The dtype a schema name (`f32`, `f16`, `i8`) names.
    pub fn parse(name: &str) -> Option<Dtype> {
        [Dtype::F32, Dtype::F16, Dtype::I8]
            .into_iter()
            .find(|d| d.as_str() == name)
    }
}

/// One kernel measurement, or the reason it was skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct KernelResult {
    /// Kernel family and variant id, e.g. `gemm`, `conv3x3`, `dwconv3x3`, `gemv`, `peak_fma`.
    pub kernel: String,
    pub dtype: Option<Dtype>,
    /// Shape parameters by name (`m`, `n`, `k`, `h`, `w`, `c`, `stride`, ...).
    #[serde(default)]
    pub shape: BTreeMap<String, u64>,
    pub threads: u32,
    /// Linux CPU ids the run was pinned to.
    #[serde(default)]
    pub cpus: Vec<u32>,
    /// Which implementation ran (`avx2-6x16`, `neondot-8x8c4`, `scalar`, `i8-reduced-range`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Operations per run (2*M*N*K for a GEMM; convolutions as their GEMM equivalent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<LatencyStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Giga-operations per second at the p50 latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gops: Option<f64>,
    /// `scaling_cur_freq` observed during the run, per pinned CPU where readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq_khz: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<TempReading>,
    /// Why the kernel did not run (e.g. the ISA lacks dotprod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Energy over the measurement window, or why it is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyReading>,
}

/// Latency distribution in microseconds (warmup dropped; percentiles by linear interpolation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct LatencyStats {
    pub min: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    /// Median absolute deviation.
    pub mad: f64,
    /// Coefficient of variation, stddev / mean.
    pub cv: f64,
}

/// The hottest thermal zone before and after a measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct TempReading {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<f64>,
}

/// Sustained versus burst throughput under continuous load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Throttling {
    /// Sustained GOPS divided by burst GOPS (1.0 = no throttling).
    pub sustained_burst_ratio: f64,
    pub burst_gops: f64,
    pub sustained_gops: f64,
    pub duration_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
}

impl Report {
    /// A report for `identity` with no results yet.
    pub fn new(identity: super::Identity, report_id: String, suite: SuiteRef) -> Self {
        let super::Identity {
            device,
            soc,
            cpu,
            gpu,
            thermal,
            issues,
        } = identity;
        Report {
            schema: super::SCHEMA_ID.to_string(),
            report_id,
            probe_version: env!("CARGO_PKG_VERSION").to_string(),
            suite,
            device,
            soc,
            cpu,
            gpu,
            thermal,
            errors: issues,
            ..Default::default()
        }
    }
}
