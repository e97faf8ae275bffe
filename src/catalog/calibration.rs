//! `datasets/fleet_calibration.toml`: the paper's published landscape (SoC share
//! curve, core types, GPU API tiers, and the targets each with its source) and the
//! field model (noise, throttling, failures) the synthetic fleet is calibrated to.
//! The report prints the targets beside a fleet's own numbers. Host only.

use serde::Deserialize;

/// An embedded fact table that does not parse or check: a bug in this build.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    #[error("{problem} ({file} is built into this fleetscope: report it as a bug)")]
    Malformed { file: &'static str, problem: String },
}

/// For rooms whose errors are still text.
impl From<CatalogError> for String {
    fn from(e: CatalogError) -> String {
        e.to_string()
    }
}
use std::sync::OnceLock;

const TEXT: &str = include_str!("../../datasets/fleet_calibration.toml");
const CORE_POWER: &str = include_str!("../../datasets/core_power.csv");

#[derive(Debug, Clone, Deserialize)]
pub struct Calibration {
    pub soc_segment: Vec<SocSegment>,
    pub uarch: Vec<UarchShare>,
    pub gpu_api: Vec<ApiTier>,
    pub targets: Vec<Target>,
    pub gpu_ratio: GpuRatio,
    pub opencl: OpenCl,
    pub field: Field,
    pub energy: Energy,
    /// Active power of one core per core type (`datasets/core_power.csv`).
    #[serde(skip)]
    pub core_power: Vec<CorePower>,
}

/// What a field run can measure of its energy, and the device power model.
#[derive(Debug, Clone, Deserialize)]
pub struct Energy {
    pub odpm_soc_vendors: Vec<String>,
    pub charging: f64,
    pub gauge_missing: f64,
    pub odpm_noise: f64,
    pub gauge_noise: f64,
    pub platform_w: f64,
    pub fallback_in_order_w: f64,
    pub fallback_out_of_order_w: f64,
}

/// One row of `datasets/core_power.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct CorePower {
    pub uarch: String,
    pub watts_per_core: f64,
    pub at_mhz: Option<u32>,
    pub source: String,
}

/// Ranks up to `to_rank` bring the cumulative device share to `cum_share`.
#[derive(Debug, Clone, Deserialize)]
pub struct SocSegment {
    pub to_rank: usize,
    pub cum_share: f64,
    pub first_to_last: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UarchShare {
    pub uarch: String,
    pub share: f64,
    /// Fallback core layout, `NxUARCH@MHZ|...`.
    pub cpu: String,
    /// SoCs with this primary core have the Armv8.2 dot-product instructions.
    #[serde(default)]
    pub dotprod: bool,
    /// Share of this core's devices that ship a 32-bit userland (armeabi-v7a only,
    /// on a 64-bit core).
    #[serde(default)]
    pub userland32: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiTier {
    pub gles: String,
    /// Empty: no Vulkan.
    pub vulkan: String,
    pub share: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub stat: String,
    pub value: f64,
    pub tolerance: f64,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GpuRatio {
    pub median: f64,
    pub sigma: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OpenCl {
    pub loadable: f64,
    pub broken: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    pub missing_gpu: f64,
    pub skipped_kernel: f64,
    pub partial_report: f64,
    pub throttle_mean: f64,
    pub throttle_sd: f64,
    pub noise_cv_median: f64,
    pub noise_cv_sigma: f64,
    pub reports_per_device: f64,
    pub days: u32,
    /// Share of 64-bit ARM devices whose second report is a run of the 32-bit probe.
    #[serde(default)]
    pub abi_pair_runs: f64,
}

/// The embedded calibration, checked once.
pub fn calibration() -> Result<&'static Calibration, CatalogError> {
    static CAL: OnceLock<Result<Calibration, String>> = OnceLock::new();
    CAL.get_or_init(|| {
        let mut c: Calibration =
            toml::from_str(TEXT).map_err(|e| format!("datasets/fleet_calibration.toml: {e}"))?;
        c.core_power = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(CORE_POWER.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .map_err(|e| format!("datasets/core_power.csv: {e}"))?;
        c.check()?;
        Ok(c)
    })
    .as_ref()
    .map_err(|problem| CatalogError::Malformed {
        file: "datasets/fleet_calibration.toml",
        problem: problem.clone(),
    })
}

impl Calibration {
    fn check(&self) -> Result<(), String> {
        let close = |x: f64| (x - 1.0).abs() < 1e-6;
        let u: f64 = self.uarch.iter().map(|u| u.share).sum();
        let g: f64 = self.gpu_api.iter().map(|g| g.share).sum();
        if !close(u) || !close(g) {
            return Err(format!(
                "datasets/fleet_calibration.toml: uarch shares sum to {u}, gpu_api shares to {g}; both must sum to 1"
            ));
        }
        let mut prev = (0usize, 0.0f64);
        for s in &self.soc_segment {
            if s.to_rank <= prev.0 || s.cum_share <= prev.1 || s.first_to_last < 1.0 {
                return Err(format!(
                    "datasets/fleet_calibration.toml: soc_segment to_rank={} must raise rank and cum_share and have first_to_last >= 1",
                    s.to_rank
                ));
            }
            prev = (s.to_rank, s.cum_share);
        }
        if !close(prev.1) {
            return Err(
                "datasets/fleet_calibration.toml: the last soc_segment must reach cum_share = 1"
                    .into(),
            );
        }
        let e = &self.energy;
        if ![e.charging, e.gauge_missing, e.odpm_noise, e.gauge_noise]
            .iter()
            .all(|x| (0.0..=1.0).contains(x))
            || ![
                e.platform_w,
                e.fallback_in_order_w,
                e.fallback_out_of_order_w,
            ]
            .iter()
            .all(|w| *w > 0.0)
        {
            return Err("datasets/fleet_calibration.toml: [energy] shares and noise must lie in [0, 1] and powers be positive".into());
        }
        if let Some(c) = self
            .core_power
            .iter()
            .find(|c| c.watts_per_core.is_nan() || c.watts_per_core <= 0.0)
        {
            return Err(format!(
                "datasets/core_power.csv: {} has watts_per_core {}; it must be positive",
                c.uarch, c.watts_per_core
            ));
        }
        Ok(())
    }

    /// Device share of every SoC rank (1-based rank = index + 1), summing to 1.
    pub fn soc_weights(&self) -> Vec<f64> {
        let mut w = Vec::new();
        let (mut from, mut cum) = (0usize, 0.0);
        for s in &self.soc_segment {
            let n = s.to_rank - from;
            let ratio = if n > 1 {
                s.first_to_last.powf(-1.0 / (n - 1) as f64)
            } else {
                1.0
            };
            let raw: Vec<f64> = (0..n).map(|i| ratio.powi(i as i32)).collect();
            let total: f64 = raw.iter().sum();
            w.extend(raw.iter().map(|r| r / total * (s.cum_share - cum)));
            from = s.to_rank;
            cum = s.cum_share;
        }
        w
    }

    /// Active power of one core of `uarch` (`in_order`: its pipeline, for the fallback).
    pub fn core_watts(&self, uarch: &str, in_order: bool) -> f64 {
        match self.core_power.iter().find(|c| c.uarch == uarch) {
            Some(c) => c.watts_per_core,
            None if in_order => self.energy.fallback_in_order_w,
            None => self.energy.fallback_out_of_order_w,
        }
    }

    pub fn target(&self, stat: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.stat == stat)
    }
}
