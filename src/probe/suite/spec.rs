//! The suite file format (`probes/*.toml`).

use crate::probe::ProbeError;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub id: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub measure: Measure,
    #[serde(default)]
    pub run: Run,
    pub kernels: Vec<KernelSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Measure {
    pub warmup: usize,
    pub min_samples: usize,
    pub min_time_ms: u64,
    pub max_time_ms: u64,
    /// Rotate copies of the weights through more than twice the last-level cache.
    pub cold_weights: bool,
}

impl Default for Measure {
    fn default() -> Self {
        Measure {
            warmup: 3,
            min_samples: 10,
            min_time_ms: 100,
            max_time_ms: 1000,
            cold_weights: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Run {
    /// `all`, `big` (the fastest cluster) or `little` (the slowest).
    pub clusters: String,
    /// Thread configurations: a number, or `cluster` for every online core of the cluster.
    pub threads: Vec<String>,
    pub cooldown_margin_c: f64,
    pub cooldown_max_s: u64,
    /// Seconds of continuous load for the sustained/burst (throttling) measurement; 0 skips it.
    pub sustained_s: u64,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            clusters: "all".into(),
            threads: vec!["1".into(), "cluster".into()],
            cooldown_margin_c: 3.0,
            cooldown_max_s: 30,
            sustained_s: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelSpec {
    pub family: String,
    pub dtypes: Vec<String>,
    pub shapes: Vec<BTreeMap<String, u64>>,
}

impl Suite {
    /// Parse and check a suite; errors say what is wrong and where.
    pub fn parse(text: &str, origin: &str) -> Result<Suite, ProbeError> {
        let bad = |problem: String| ProbeError::Suite {
            origin: origin.to_string(),
            problem,
        };
        let suite: Suite = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        for (i, k) in suite.kernels.iter().enumerate() {
            if super::families::get(&k.family).is_none() {
                return Err(bad(format!(
                    "kernels[{i}].family {:?} is not one of {}",
                    k.family,
                    super::families::names().join(", ")
                )));
            }
            for d in &k.dtypes {
                if crate::schema::Dtype::parse(d).is_none() {
                    return Err(bad(format!(
                        "kernels[{i}].dtypes has {d:?}; use \"f32\", \"f16\" or \"i8\""
                    )));
                }
            }
            if k.shapes.is_empty() {
                return Err(bad(format!(
                    "kernels[{i}] ({}) has no shapes; use shapes = [{{}}] for none",
                    k.family
                )));
            }
        }
        for t in &suite.run.threads {
            if t != "cluster" && t.parse::<usize>().map_or(true, |n| n == 0) {
                return Err(bad(format!(
                    "run.threads entry {t:?} must be a positive number or \"cluster\""
                )));
            }
        }
        if !["all", "big", "little"].contains(&suite.run.clusters.as_str()) {
            return Err(bad(format!(
                "run.clusters must be all, big or little, not {:?}",
                suite.run.clusters
            )));
        }
        Ok(suite)
    }
}
