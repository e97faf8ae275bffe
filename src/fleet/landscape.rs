//! The simulated SoC landscape: about 2,100 SoCs with device shares, primary cores,
//! GPUs and API support calibrated to `datasets/fleet_calibration.toml`. Real SoCs
//! from `datasets/socs.csv` take the head of each core type; the long tail is
//! synthetic variants (`SIM-0421`) of the same core layouts.

use crate::catalog::Calibration;
use crate::catalog::{self, ClusterSpec};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

/// One SoC of the simulated fleet.
#[derive(Debug, Clone)]
pub struct SimSoc {
    pub chipset: String,
    pub vendor: String,
    pub name: Option<String>,
    pub year: u16,
    pub clusters: Vec<ClusterSpec>,
    pub primary_uarch: String,
    pub dotprod: bool,
    pub gpu_vendor: String,
    pub gpu_model: String,
    pub gpu_peak_gflops: f64,
    pub gles: String,
    pub vulkan: Option<String>,
    /// Median sustained/burst throughput ratio of devices with this SoC.
    pub throttle: f64,
    /// Share of devices.
    pub weight: f64,
}

impl SimSoc {
    /// The model's view of a real, identified device (unknown cores count at 2
    /// flops/cycle and 1 GHz, so they still get results).
    pub fn from_identity(id: &crate::schema::Identity) -> SimSoc {
        let clusters: Vec<ClusterSpec> = id
            .cpu
            .clusters
            .iter()
            .map(|c| ClusterSpec {
                count: c.cpus.len() as u32,
                uarch: c.uarch.clone().unwrap_or_else(|| "unknown".into()),
                max_mhz: c.max_khz.map_or(1000, |k| (k / 1000) as u32),
            })
            .collect();
        let dotprod = id
            .cpu
            .features
            .iter()
            .chain(id.cpu.clusters.iter().flat_map(|c| c.features.iter()))
            .any(|f| f == "asimddp" || f == "dotprod");
        SimSoc {
            chipset: id.soc.chipset.clone().unwrap_or_else(|| "unknown".into()),
            vendor: id.soc.vendor.clone().unwrap_or_else(|| "unknown".into()),
            name: id.soc.name.clone(),
            year: id.soc.year.unwrap_or(2016),
            primary_uarch: primary(&clusters).map_or("unknown".into(), |c| c.uarch.clone()),
            clusters,
            dotprod,
            gpu_vendor: id.gpu.vendor.clone().unwrap_or_default(),
            gpu_model: id.gpu.model.clone().unwrap_or_default(),
            gpu_peak_gflops: id.gpu.peak_gflops.unwrap_or(0.0),
            gles: id.gpu.gles.version.clone().unwrap_or_default(),
            vulkan: id.gpu.vulkan.version.clone(),
            throttle: 0.85,
            weight: 0.0,
        }
    }

    /// Theoretical f32 GFLOPS of all cores.
    pub fn cpu_peak_gflops(&self) -> f64 {
        self.clusters.iter().map(cluster_peak).sum()
    }
}

/// Theoretical f32 GFLOPS of a cluster: cores x flops/cycle x clock.
pub fn cluster_peak(c: &ClusterSpec) -> f64 {
    flops_per_cycle(&c.uarch) * c.max_mhz as f64 / 1e3 * c.count as f64
}

/// Single-core speed used to rank clusters: flops/cycle x max clock.
pub fn core_speed(c: &ClusterSpec) -> f64 {
    flops_per_cycle(&c.uarch) * c.max_mhz as f64
}

pub fn flops_per_cycle(uarch: &str) -> f64 {
    catalog::catalog()
        .uarch(uarch)
        .and_then(|u| u.f32_flops_per_cycle)
        .unwrap_or(2.0)
}

/// The primary cluster as the analysis defines it: most cores, ties to the faster.
fn primary(clusters: &[ClusterSpec]) -> Option<&ClusterSpec> {
    clusters.iter().max_by(|a, b| {
        a.count
            .cmp(&b.count)
            .then(core_speed(a).total_cmp(&core_speed(b)))
    })
}

/// Pick an index for `weight` among `deficits` (target share still unassigned): at
/// random in proportion to the deficit among those that can take all of `weight`,
/// else the largest. Heavy SoCs are assigned first, so every share ends within one
/// small SoC's weight of its target.
fn by_deficit(deficits: &mut [f64], weight: f64, rng: &mut impl Rng) -> usize {
    let open: f64 = deficits.iter().filter(|&&d| d >= weight).sum();
    let pick = if open > 0.0 {
        let mut x = rng.random::<f64>() * open;
        let mut chosen = None;
        for (i, &d) in deficits.iter().enumerate() {
            if d >= weight {
                chosen = Some(i);
                if x < d {
                    break;
                }
                x -= d;
            }
        }
        chosen
    } else {
        None
    };
    let i = pick.unwrap_or_else(|| {
        (0..deficits.len())
            .max_by(|&a, &b| deficits[a].total_cmp(&deficits[b]))
            .unwrap_or(0)
    });
    deficits[i] -= weight;
    i
}

/// Build the landscape for `seed`.
pub fn build(cal: &Calibration, seed: u64) -> Result<Vec<SimSoc>, super::FleetError> {
    let cat = catalog::catalog();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed ^ 0x50C5);
    let weights = cal.soc_weights();

    // Primary core per SoC rank, heaviest first.
    let mut deficits: Vec<f64> = cal.uarch.iter().map(|u| u.share).collect();
    let uarch_of: Vec<usize> = weights
        .iter()
        .map(|&w| by_deficit(&mut deficits, w, &mut rng))
        .collect();

    // GPU API tier per SoC, the same way.
    let mut deficits: Vec<f64> = cal.gpu_api.iter().map(|t| t.share).collect();
    let tier_of: Vec<usize> = weights
        .iter()
        .map(|&w| by_deficit(&mut deficits, w, &mut rng))
        .collect();

    // GPU/CPU peak ratio: stratified quantiles of the log-normal over a shuffled order,
    // so the device-weighted distribution follows it closely.
    let ln = LogNormal::new(cal.gpu_ratio.median.ln(), cal.gpu_ratio.sigma).map_err(|e| {
        super::FleetError::Model(format!("datasets/fleet_calibration.toml gpu_ratio: {e}"))
    })?;
    let mut draws: Vec<f64> = (0..4096).map(|_| ln.sample(&mut rng)).collect();
    draws.sort_by(f64::total_cmp);
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.shuffle(&mut rng);
    let mut ratio_of = vec![1.0; weights.len()];
    let mut cum = 0.0;
    for &i in &order {
        let u = cum + weights[i] / 2.0;
        ratio_of[i] = draws[((u * draws.len() as f64) as usize).min(draws.len() - 1)];
        cum += weights[i];
    }

    // Real SoCs whose primary core is each calibrated core, oldest first.
    let mut templates: Vec<Vec<&catalog::Soc>> = vec![Vec::new(); cal.uarch.len()];
    for soc in &cat.socs {
        if let Some(p) = primary(&soc.clusters) {
            if let Some(i) = cal.uarch.iter().position(|u| u.uarch == p.uarch) {
                templates[i].push(soc);
            }
        }
    }
    for t in &mut templates {
        t.sort_by_key(|s| s.year.unwrap_or(0));
    }
    let mut used = vec![0usize; cal.uarch.len()];

    let throttle = rand_distr::Normal::new(cal.field.throttle_mean, cal.field.throttle_sd)
        .map_err(|e| {
            super::FleetError::Model(format!(
                "datasets/fleet_calibration.toml field.throttle: {e}"
            ))
        })?;
    let mut socs = Vec::with_capacity(weights.len());
    for (rank, &w) in weights.iter().enumerate() {
        let ui = uarch_of[rank];
        let cu = &cal.uarch[ui];
        let k = used[ui];
        used[ui] += 1;
        let real = templates[ui].get(k).copied();
        let template = real.or_else(|| {
            (!templates[ui].is_empty()).then(|| templates[ui][k % templates[ui].len()])
        });
        let design_year = cat
            .uarch(&cu.uarch)
            .and_then(|u| u.design_year)
            .unwrap_or(2012);
        let (chipset, vendor, name, year, mut clusters) = match (real, template) {
            (Some(s), _) => (
                s.chipset.clone(),
                s.vendor.clone(),
                s.name.clone(),
                s.year.unwrap_or(design_year + 2),
                s.clusters.clone(),
            ),
            (None, t) => {
                let clusters = match t {
                    Some(t) => t.clusters.clone(),
                    None => catalog::parse_clusters(&cu.uarch, &cu.cpu)
                        .map_err(super::FleetError::Model)?,
                };
                let vendor = t.map_or("Generic".to_string(), |t| t.vendor.clone());
                let year =
                    t.and_then(|t| t.year).unwrap_or(design_year + 2) + rng.random_range(0..3u16);
                (format!("SIM-{:04}", rank + 1), vendor, None, year, clusters)
            }
        };
        if real.is_none() {
            let scale = rng.random_range(0.85..1.15);
            for c in &mut clusters {
                c.max_mhz = ((c.max_mhz as f64 * scale / 10.0).round() * 10.0) as u32;
            }
        }
        let cpu_peak: f64 = clusters.iter().map(cluster_peak).sum();
        let gpu_peak = (ratio_of[rank] * cpu_peak * 10.0).round() / 10.0;
        // The catalog GPU of the SoC's time closest to that peak names it.
        let gpu = cat
            .gpus
            .iter()
            .filter(|g| g.year.is_some_and(|y| y <= year + 1))
            .filter_map(|g| {
                g.peak_gflops
                    .map(|p| (g, (p.ln() - gpu_peak.max(0.1).ln()).abs()))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(g, _)| g);
        let tier = &cal.gpu_api[tier_of[rank]];
        socs.push(SimSoc {
            chipset,
            vendor,
            name,
            year,
            primary_uarch: cu.uarch.clone(),
            dotprod: cu.dotprod,
            clusters,
            gpu_vendor: gpu.map_or("Unknown".into(), |g| g.vendor.clone()),
            gpu_model: gpu.map_or("Unknown".into(), |g| g.model.clone()),
            gpu_peak_gflops: gpu_peak,
            gles: tier.gles.clone(),
            vulkan: (!tier.vulkan.is_empty()).then(|| tier.vulkan.clone()),
            throttle: throttle.sample(&mut rng).clamp(0.35, 1.0),
            weight: w,
        });
    }
    Ok(socs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landscape_hits_its_calibration_by_construction() {
        let cal = crate::catalog::calibration().unwrap();
        for seed in 0..4 {
            check(cal, seed);
        }
    }

    fn check(cal: &Calibration, seed: u64) {
        let socs = build(cal, seed).unwrap();
        assert_eq!(socs.len(), 2100);
        let total: f64 = socs.iter().map(|s| s.weight).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let mut keys: Vec<&str> = socs.iter().map(|s| s.chipset.as_str()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), socs.len(), "every SoC is distinct");
        for u in &cal.uarch {
            let got: f64 = socs
                .iter()
                .filter(|s| s.primary_uarch == u.uarch)
                .map(|s| s.weight)
                .sum();
            assert!(
                (got - u.share).abs() < 0.003,
                "{}: {got} vs {}",
                u.uarch,
                u.share
            );
            // The layout really has that primary core under the analysis' rule.
            for s in socs.iter().filter(|s| s.primary_uarch == u.uarch) {
                assert_eq!(
                    primary(&s.clusters).map(|c| c.uarch.as_str()),
                    Some(u.uarch.as_str())
                );
            }
        }
        let head: Vec<&SimSoc> = socs.iter().take(3).collect();
        assert!(
            head.iter().all(|s| !s.chipset.starts_with("SIM-")),
            "real SoCs lead"
        );
    }
}
