//! The project's fact tables (`datasets/*.csv`) and the paper's published figures
//! (`datasets/fleet_calibration.toml`), embedded at build time and parsed once. Identification, the simulator and the analysis read facts only from here:
//! a new SoC, core or GPU is a new CSV row, never new code.

#[cfg(feature = "host")]
mod calibration;
mod tables;

pub use tables::{
    parse_clusters, parse_int, Alias, ClusterSpec, DeviceModel, Gpu, MidrPart, Pattern, Soc, Uarch,
    X86Part,
};

#[cfg(feature = "host")]
pub use calibration::{calibration, Calibration, CatalogError, Target};

use std::sync::OnceLock;

/// All catalogs.
pub struct Catalog {
    pub socs: Vec<Soc>,
    pub aliases: Vec<Alias>,
    pub patterns: Vec<Pattern>,
    pub midr_parts: Vec<MidrPart>,
    pub uarchs: Vec<Uarch>,
    pub x86_parts: Vec<X86Part>,
    pub gpus: Vec<Gpu>,
    pub device_models: Vec<DeviceModel>,
    /// (family, member) lookup keys: a source naming the family is less specific than one naming the member.
    pub families: Vec<(String, String)>,
}

/// The embedded catalogs. The CSVs are part of the build, and a unit test parses
/// every one of them, so a malformed row fails `cargo test` long before a user runs.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| match tables::load() {
        Ok(c) => c,
        Err(e) => panic!("embedded catalog in datasets/ is malformed: {e}"),
    })
}

/// Lowercase with spaces, dashes and underscores removed: the key catalog lookups compare.
pub fn key(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Catalog {
    /// The SoC row for a chipset, exactly or by its base part (`MT6735P` -> `MT6735`,
    /// `MT6771V/C` -> `MT6771`): the longest row whose key prefixes ours and ends
    /// where a variant suffix (a letter, `/` or `-`) begins.
    pub fn soc(&self, chipset: &str) -> Option<&Soc> {
        let want = key(chipset);
        if let Some(s) = self.socs.iter().find(|s| s.key == want) {
            return Some(s);
        }
        self.socs
            .iter()
            .filter(|s| {
                want.starts_with(&s.key)
                    && want[s.key.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| !c.is_ascii_digit())
                    && s.key.chars().last().is_some_and(|c| c.is_ascii_digit())
            })
            .max_by_key(|s| s.key.len())
    }

    /// The SoC a codename (`kona`, `zuma`, `hi3650`) names.
    pub fn soc_by_codename(&self, codename: &str) -> Option<&Soc> {
        let want = key(codename);
        self.socs.iter().find(|s| s.codenames.contains(&want))
    }

    /// A conditional alias for `token` given the CPU count (exact or a lower bound) and
    /// the highest max frequency.
    pub fn alias(
        &self,
        token: &str,
        cores: usize,
        cores_exact: bool,
        max_khz: u64,
    ) -> Option<&Alias> {
        let want = key(token);
        self.aliases
            .iter()
            .find(|a| a.alias == want && a.matches(cores, cores_exact, max_khz))
    }

    pub fn midr_part(&self, implementer: u32, part: u32, variant: u32) -> Option<&MidrPart> {
        let mut candidates = self
            .midr_parts
            .iter()
            .filter(|p| p.implementer == implementer && p.part == part);
        let all: Vec<&MidrPart> = candidates.by_ref().collect();
        all.iter()
            .find(|p| p.variant == Some(variant))
            .or_else(|| all.iter().find(|p| p.variant.is_none()))
            .copied()
    }

    pub fn uarch(&self, name: &str) -> Option<&Uarch> {
        self.uarchs.iter().find(|u| u.uarch == name)
    }

    pub fn x86_part(&self, vendor: &str, family: u32, model: u32) -> Option<&X86Part> {
        self.x86_parts
            .iter()
            .find(|p| p.vendor == vendor && p.family == family && p.model == model)
    }

    pub fn gpu(&self, model: &str) -> Option<&Gpu> {
        let want = key(model);
        self.gpus.iter().find(|g| key(&g.model) == want)
    }

    /// True when `member` is a more specific part of the family `family` names.
    pub fn is_family_member(&self, family: &str, member: &str) -> bool {
        let (f, m) = (key(family), key(member));
        self.families.iter().any(|(a, b)| *a == f && *b == m)
    }

    /// The chipset a device model is known to use (last-resort naming).
    pub fn device_model(&self, model: &str) -> Option<&DeviceModel> {
        let want = key(model.trim().trim_start_matches("SAMSUNG-"));
        if want.is_empty() {
            return None;
        }
        self.device_models.iter().find(|d| key(&d.model) == want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_table_parses_and_is_consistent() {
        let c = tables::load().expect("datasets parse");
        assert!(c.socs.len() > 200, "{} SoC rows", c.socs.len());
        for soc in &c.socs {
            for cl in &soc.clusters {
                assert!(
                    c.uarch(&cl.uarch).is_some(),
                    "{}: uarch {} missing from uarchs.csv",
                    soc.chipset,
                    cl.uarch
                );
            }
            if let Some(g) = &soc.gpu {
                assert!(
                    c.gpu(g).is_some(),
                    "{}: GPU {g} missing from gpus.csv",
                    soc.chipset
                );
            }
            assert!(
                !soc.vendor.is_empty()
                    && !soc
                        .chipset
                        .to_lowercase()
                        .starts_with(&soc.vendor.to_lowercase()),
                "{}: chipset must not repeat the vendor",
                soc.chipset
            );
        }
        for a in &c.aliases {
            assert!(
                c.soc(&a.chipset).is_some(),
                "alias {} -> {} has no SoC row",
                a.alias,
                a.chipset
            );
        }
        for (f, m) in &c.families {
            assert!(
                c.soc(f).is_some() || f == "sc8830",
                "family {f} has no SoC row"
            );
            assert!(c.soc(m).is_some(), "family member {m} has no SoC row");
        }
        for d in &c.device_models {
            assert!(
                c.soc(&d.chipset).is_some(),
                "device {} -> {} has no SoC row",
                d.model,
                d.chipset
            );
        }
        for p in &c.midr_parts {
            assert!(
                c.uarch(&p.uarch).is_some(),
                "MIDR {:#x}/{:#x}: uarch {} missing",
                p.implementer,
                p.part,
                p.uarch
            );
        }
        for p in &c.x86_parts {
            assert!(
                c.uarch(&p.uarch).is_some(),
                "x86 {}: uarch {} missing",
                p.model,
                p.uarch
            );
        }
        let mut seen = std::collections::HashSet::new();
        for soc in &c.socs {
            assert!(
                seen.insert(soc.key.clone()),
                "duplicate SoC row {}",
                soc.chipset
            );
            for code in &soc.codenames {
                assert!(
                    seen.insert(format!("codename:{code}")),
                    "codename {code} names two SoCs"
                );
            }
        }
    }

    #[test]
    fn soc_lookup_by_variant_suffix() {
        let c = catalog();
        assert_eq!(c.soc("MT6735P").map(|s| s.chipset.as_str()), Some("MT6735"));
        assert_eq!(
            c.soc("MT6771V/C").map(|s| s.chipset.as_str()),
            Some("MT6771")
        );
        assert_eq!(
            c.soc("MT6797T").map(|s| s.chipset.as_str()),
            Some("MT6797T")
        );
        assert_eq!(
            c.soc("exynos 8890").map(|s| s.chipset.as_str()),
            Some("Exynos 8890")
        );
        assert!(c.soc("MT67").is_none());
        assert!(c.soc("MSM89961").is_none());
        assert_eq!(
            c.soc_by_codename("Kalama").map(|s| s.chipset.as_str()),
            Some("SM8550")
        );
    }
}
