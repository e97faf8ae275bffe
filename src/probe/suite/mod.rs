//! Standardised kernel suites (`probes/*.toml`): loading (embedded `quick` and
//! `standard`, or a file), their sha256 for the report, and running them.

mod clock;
mod runner;
mod spec;
mod workload;

pub use clock::{now_rfc3339, rfc3339, uuid_from, uuid_v4};
pub use runner::{run_suite, PlainProgress, Progress, RunOptions};
pub use spec::{KernelSpec, Suite, FAMILIES};
pub use workload::{build as build_workload, Options as WorkloadOptions, Workload};

use crate::schema::SuiteRef;
use sha2::{Digest, Sha256};

const QUICK: &str = include_str!("../../../probes/quick.toml");
const STANDARD: &str = include_str!("../../../probes/standard.toml");

/// The shape `bench` uses for a family when none is given on the command line.
pub fn default_shape(family: &str) -> std::collections::BTreeMap<String, u64> {
    let pairs: &[(&str, u64)] = match family {
        "gemm" => &[("m", 512), ("n", 512), ("k", 512)],
        "gemv" => &[("n", 1000), ("k", 1280)],
        "conv3x3" => &[
            ("h", 56),
            ("w", 56),
            ("cin", 64),
            ("cout", 64),
            ("stride", 1),
        ],
        "dwconv3x3" => &[("h", 56), ("w", 56), ("c", 144), ("stride", 1)],
        "peak_fma" | "peak_dot" => &[("iters", 50_000)],
        "membw" => &[("mib", 128)],
        _ => &[],
    };
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `quick`, `standard`, or a path to a suite file: the parsed suite and its reference.
pub fn load(spec: &str) -> Result<(Suite, SuiteRef), String> {
    let (text, origin) = match spec {
        "quick" => (QUICK.to_string(), "quick (built in)".to_string()),
        "standard" => (STANDARD.to_string(), "standard (built in)".to_string()),
        path => (
            std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read suite {path}: {e}; use quick, standard or a .toml file")
            })?,
            path.to_string(),
        ),
    };
    let suite = Suite::parse(&text, &origin)?;
    let sha256: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r = SuiteRef {
        id: suite.id.clone(),
        version: suite.version.clone(),
        sha256,
    };
    Ok((suite, r))
}

#[cfg(test)]
mod tests {
    #[test]
    fn built_in_suites_parse_and_cover_every_family() {
        for name in ["quick", "standard"] {
            let (suite, r) = super::load(name).unwrap();
            assert_eq!(r.sha256.len(), 64);
            for f in super::FAMILIES {
                assert!(
                    suite.kernels.iter().any(|k| k.family == *f),
                    "{name} lacks {f}"
                );
            }
        }
        assert!(super::load("/nonexistent.toml")
            .unwrap_err()
            .contains("cannot read suite"));
        let bad = super::Suite::parse(
            "id='x'\nversion='1'\n[[kernels]]\nfamily='fft'\ndtypes=['f32']\nshapes=[{}]\n",
            "t",
        );
        assert!(bad.unwrap_err().contains("fft"));
    }
}
