//! What a device is: the identification half of a report, also printed on its own
//! by `fleetscope identify`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything identification found, plus what it could not read and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Identity {
    pub device: DeviceInfo,
    pub soc: SocInfo,
    pub cpu: CpuInfo,
    pub gpu: GpuInfo,
    pub thermal: ThermalInfo,
    /// Things identification could not read or decide, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

/// Something identification could not read or decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Issue {
    /// Which part: `soc`, `cpu`, `gpu`, `thermal`, `memory`, `device`.
    pub stage: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct DeviceInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// `android`, `linux`, ...
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Android API level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<u32>,
    /// Primary ABI (`arm64-v8a`, `armeabi-v7a`, `x86_64`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    /// Every ABI the userland runs, best first (`ro.product.cpu.abilist`): a 64-bit
    /// core with only `armeabi-v7a,armeabi` here runs a 32-bit userland.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abilist: Vec<String>,
    /// The ABI of the probe binary that made this report's measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_abi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Salted SHA-256 of a stable device id: never a serial number, IMEI or account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hash: Option<String>,
    /// Whose salt made `device_hash`: `fleet` (the fleet's secret salt, the same device
    /// hashes alike across runs) or `local` (a random salt made for this run alone,
    /// because none was given: the hash counts nothing across runs). Absent in reports
    /// from probes before this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hash_scope: Option<HashScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

/// Whose salt made a device hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum HashScope {
    /// The fleet's salt (`fleetscope run --salt-file`, or `FLEETSCOPE_DEVICE_SALT`).
    Fleet,
    /// A random salt made for this run only: the hash is meaningful in this report alone.
    Local,
}

/// How sure identification is of the SoC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Nothing named the SoC.
    #[default]
    None,
    /// Only a weak source (device model catalog, x86 brand string) named it.
    Low,
    /// One source named it and no other contradicted it.
    Medium,
    /// An authoritative source (`ro.soc.model`, `ro.chipname`) or several agreeing sources.
    High,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct SocInfo {
    /// Vendor as pytorch/cpuinfo spells it (`Qualcomm`, `Samsung`, `MediaTek`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Marketing name where known (`Snapdragon 835`), without the vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Part number as the vendor names it (`MSM8998`, `Exynos 8890`), without the vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chipset: Option<String>,
    /// Which file or property decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub confidence: Confidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// What each naming source said and what it decoded to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// One naming source's value and what it decoded to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Evidence {
    pub source: String,
    pub value: String,
    /// `Vendor Chipset` this value names, absent when it names nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct CpuInfo {
    /// `aarch64`, `arm`, `x86_64`, `x86`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// One entry per possible CPU, in Linux id order.
    pub cpus: Vec<Cpu>,
    /// Groups of CPUs sharing a microarchitecture and clock domain, in Linux order.
    pub clusters: Vec<Cluster>,
    /// ISA features every online CPU reports (`neon`, `asimddp`, `i8mm`, `avx2`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// x86 identification, on x86 machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x86: Option<X86Id>,
    /// How clusters were found (`cluster_cpus_list`, `core_siblings_list`, `cpufreq`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_source: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct X86Id {
    pub vendor: String,
    pub family: u32,
    pub model: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Cpu {
    /// The N of `/sys/devices/system/cpu/cpuN`.
    pub id: u32,
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uarch: Option<String>,
    /// Main ID register, `0x411FD050` style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub midr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_khz: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_khz: Option<u64>,
    /// Index into `cpu.clusters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_year: Option<u16>,
    /// Where `uarch` came from (`midr`, `cpuid`, `cluster sibling cpu4`, `soc catalog: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct Cluster {
    pub id: u32,
    /// Linux CPU ids.
    pub cpus: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uarch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub midr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_khz: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_khz: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_year: Option<u16>,
    /// Theoretical f32 GFLOPS of the whole cluster (lanes x 2 x clock x cores), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gflops: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<CacheInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct CacheInfo {
    pub level: u8,
    /// `data`, `instruction`, `unified`.
    pub kind: String,
    pub size_bytes: u64,
    /// CPUs sharing this cache instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_cpus: Vec<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct GpuInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub gles: ApiSupport,
    pub vulkan: ApiSupport,
    pub opencl: ApiSupport,
    /// Theoretical f32 GFLOPS from the GPU catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gflops: Option<f64>,
    /// The GLES renderer string the compositor reports (`Adreno (TM) 740`, `Mali-G78`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<String>,
    /// `ro.hardware.egl`: the GLES driver the platform loads (`adreno`, `mali`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egl_driver: Option<String>,
    /// `ro.hardware.vulkan`: the Vulkan driver the platform loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulkan_driver: Option<String>,
    /// The `android.hardware.vulkan.level` feature (0 = Vulkan 1.0 core ... ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulkan_level: Option<u32>,
    /// The `android.hardware.vulkan.compute` feature (0 = compute as core Vulkan requires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulkan_compute: Option<u32>,
    /// The `android.software.opengles.deqp.level` feature, as the date it encodes (`2023-03-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deqp_level: Option<String>,
    /// Where each of the fields above came from, by field name (`renderer`:
    /// `dumpsys SurfaceFlinger`, `vulkan.version`: `pm list features`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
    /// What a system service refused or could not answer, one reason each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_notes: Vec<String>,
}

/// A GPU API version, or the reason it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct ApiSupport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Driver or device string that came with the version (`llvmpipe`, `PoCL 3.1 ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApiSupport {
    pub fn found(version: impl Into<String>) -> Self {
        Self {
            version: Some(version.into()),
            ..Default::default()
        }
    }
    pub fn missing(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct ThermalInfo {
    pub zones: Vec<ThermalZone>,
    /// Why there are no zones, when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sustained/burst summary, filled by a benchmark run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling: Option<crate::schema::Throttling>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct ThermalZone {
    /// The N of `thermal_zoneN`.
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<f64>,
}
