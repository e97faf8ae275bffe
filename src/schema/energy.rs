//! Energy as the probe measures it without root: what the device offers (once per
//! run) and what one measurement window cost.

use serde::{Deserialize, Serialize};

/// Where the energy figures come from, found once per run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct EnergyInfo {
    /// `odpm` (on-device power rails, `dumpsys android.hardware.power.stats.IPowerStats/default`)
    /// or `fuel_gauge` (battery `current_now` x `voltage_now`); absent when neither serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why energy is not measured, and what to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `reason`: `charging` (a battery on the charger shows the charger, not the
    /// workload) or `unavailable` (no rails and no usable fuel gauge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The power rails read (ODPM), in the order the device lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rails: Vec<String>,
    /// How the fuel gauge's numbers were read: its directory, units and sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convention: Option<String>,
    /// What reading the rails adds to a window, summed over the rails, joules: measured
    /// before the suite as back-to-back readings, and taken off every window (ODPM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_overhead_j: Option<f64>,
    /// Device power at rest, measured before the suite (fuel gauge), watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_w: Option<f64>,
}

/// The energy one result's measurement window took (warmup runs included, since
/// they ran inside it), or why there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "host", derive(schemars::JsonSchema))]
pub struct EnergyReading {
    /// `odpm` or `fuel_gauge`; absent with `reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Length of the window, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Mean power over the window, watts (all rails read, or the battery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_w: Option<f64>,
    /// Energy over the window, joules (all rails read, or the battery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules: Option<f64>,
    /// `joules` divided by the runs in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_iteration: Option<f64>,
    /// The same for a whole network (`mobilenet_v2`): one run is one inference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_inference: Option<f64>,
    /// The rail of the CPU cluster that ran the kernel (ODPM), when one matches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rail: Option<String>,
    /// Energy on that rail over the window, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rail_joules: Option<f64>,
    /// Why this result has no energy figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl EnergyReading {
    /// No figure, for `reason`.
    pub fn absent(reason: impl Into<String>) -> Self {
        EnergyReading {
            reason: Some(reason.into()),
            ..Default::default()
        }
    }
}
