//! Standardised kernel suites (`probes/*.toml`): loading (embedded `quick` and
//! `standard`, or a file), their sha256 for the report, and running them; the
//! kernel-family registry (`families/`) says what each family is and builds it.

pub mod families;
mod runner;
mod spec;
mod workload;

pub use families::{build as build_workload, default_shape, Family, Figure, Role, REGISTRY};
pub use runner::{run_suite, PlainProgress, Progress, RunOptions, StreamResults};
pub use spec::{KernelSpec, Suite};
pub use workload::{Options as WorkloadOptions, Workload};

use crate::probe::ProbeError;
use crate::schema::SuiteRef;
use sha2::{Digest, Sha256};

const QUICK: &str = include_str!("../../../probes/quick.toml");
const STANDARD: &str = include_str!("../../../probes/standard.toml");

/// `quick`, `standard`, or a path to a suite file: the parsed suite and its reference.
pub fn load(spec: &str) -> Result<(Suite, SuiteRef), ProbeError> {
    let (text, origin) = match spec {
        "quick" => (QUICK.to_string(), "quick (built in)".to_string()),
        "standard" => (STANDARD.to_string(), "standard (built in)".to_string()),
        path => (
            std::fs::read_to_string(path).map_err(|source| ProbeError::Read {
                what: "suite",
                path: path.into(),
                source,
                hint: "use quick, standard or a .toml file",
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
    /// A new family enters the registry first (runnable by `bench` and by a user's
    /// suite file at once) and the built-in suites with their next version; quick is
    /// always a short version of standard, over the same families.
    fn built_in_suites_parse_and_name_the_same_families() {
        let families = |name| -> std::collections::BTreeSet<String> {
            let (suite, r) = super::load(name).unwrap();
            assert_eq!(r.sha256.len(), 64);
            suite.kernels.into_iter().map(|k| k.family).collect()
        };
        let standard = families("standard");
        assert_eq!(families("quick"), standard);
        assert!(standard.len() >= 8, "{standard:?}");
        assert!(super::load("/nonexistent.toml")
            .unwrap_err()
            .to_string()
            .contains("cannot read suite"));
        let bad = super::Suite::parse(
            "id='x'\nversion='1'\n[[kernels]]\nfamily='fft'\ndtypes=['f32']\nshapes=[{}]\n",
            "t",
        );
        assert!(bad.unwrap_err().to_string().contains("fft"));
    }
}
