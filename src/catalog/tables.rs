//! Row types and CSV parsing of the embedded catalogs.

use serde::Deserialize;

const SOCS: &str = include_str!("../../datasets/socs.csv");
const ALIASES: &str = include_str!("../../datasets/soc_aliases.csv");
const PATTERNS: &str = include_str!("../../datasets/soc_patterns.csv");
const MIDR_PARTS: &str = include_str!("../../datasets/midr_parts.csv");
const UARCHS: &str = include_str!("../../datasets/uarchs.csv");
const X86_PARTS: &str = include_str!("../../datasets/x86_uarchs.csv");
const GPUS: &str = include_str!("../../datasets/gpus.csv");
const DEVICE_MODELS: &str = include_str!("../../datasets/device_models.csv");
const FAMILIES: &str = include_str!("../../datasets/soc_families.csv");

/// One SoC (`datasets/socs.csv`).
#[derive(Debug, Clone)]
pub struct Soc {
    pub chipset: String,
    pub vendor: String,
    pub name: Option<String>,
    /// Lookup keys (see [`super::key`]) of the codenames that name this SoC.
    pub codenames: Vec<String>,
    pub year: Option<u16>,
    /// CPU clusters in Linux CPU order.
    pub clusters: Vec<ClusterSpec>,
    pub gpu: Option<String>,
    pub(crate) key: String,
}

/// `4xcortex-a53@1555`: four Cortex-A53 cores at up to 1555 MHz.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    pub count: u32,
    pub uarch: String,
    pub max_mhz: u32,
}

impl Soc {
    pub fn cpu_count(&self) -> u32 {
        self.clusters.iter().map(|c| c.count).sum()
    }
    /// The SoC's CPU description in Linux order: one uarch and max MHz per CPU.
    pub fn cpu_layout(&self) -> Vec<&ClusterSpec> {
        self.clusters
            .iter()
            .flat_map(|c| std::iter::repeat_n(c, c.count as usize))
            .collect()
    }
}

/// A token that names a chipset only under conditions (`datasets/soc_aliases.csv`).
#[derive(Debug, Clone)]
pub struct Alias {
    pub alias: String,
    pub chipset: String,
    min_cores: Option<usize>,
    max_cores: Option<usize>,
    min_khz: Option<u64>,
    max_khz: Option<u64>,
}

impl Alias {
    /// `cores` is exact when `cores_exact`, else a lower bound (a snapshot that shows only
    /// the online CPUs): a minimum can still be met, a maximum cannot be decided.
    pub fn matches(&self, cores: usize, cores_exact: bool, max_khz: u64) -> bool {
        // cores == 0 / max_khz == 0 mean "unknown": a condition on them cannot hold.
        let cores_ok = (self.min_cores.is_none() && self.max_cores.is_none())
            || (cores > 0
                && self.min_cores.is_none_or(|m| cores >= m)
                && self.max_cores.is_none_or(|m| cores_exact && cores <= m));
        let khz_ok = (self.min_khz.is_none() && self.max_khz.is_none())
            || (max_khz > 0
                && self.min_khz.is_none_or(|m| max_khz >= m)
                && self.max_khz.is_none_or(|m| max_khz <= m));
        cores_ok && khz_ok
    }
}

/// A vendor's naming pattern and the sources it may decode (`datasets/soc_patterns.csv`).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub vendor: String,
    pub sources: Vec<String>,
    pub regex: regex_lite::Regex,
    /// Template with `{1}`, `{2}`, ... for capture groups.
    pub chipset: String,
    /// Upper-case the captures (part numbers) or keep them as written.
    pub upper: bool,
}

impl Pattern {
    /// The chipset `value` names under this pattern, if it fits.
    pub fn decode(&self, value: &str) -> Option<String> {
        let caps = self.regex.captures(value)?;
        let mut out = self.chipset.clone();
        for i in 1..caps.len() {
            let text = caps.get(i).map_or("", |m| m.as_str());
            let text = if self.upper {
                text.to_uppercase()
            } else {
                text.to_string()
            };
            out = out.replace(&format!("{{{i}}}"), &text);
        }
        Some(out.trim().to_string())
    }
}

#[derive(Debug, Clone)]
pub struct MidrPart {
    pub implementer: u32,
    pub part: u32,
    pub variant: Option<u32>,
    pub uarch: String,
    pub design_year: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct Uarch {
    pub uarch: String,
    pub designer: String,
    pub design_year: Option<u16>,
    pub pipeline: String,
    pub f32_flops_per_cycle: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct X86Part {
    pub vendor: String,
    pub family: u32,
    pub model: u32,
    pub uarch: String,
}

#[derive(Debug, Clone)]
pub struct Gpu {
    pub model: String,
    pub vendor: String,
    pub year: Option<u16>,
    pub peak_gflops: Option<f64>,
    pub derivation: String,
}

#[derive(Debug, Clone)]
pub struct DeviceModel {
    pub model: String,
    pub chipset: String,
}

#[derive(Deserialize)]
struct SocRow {
    chipset: String,
    vendor: String,
    name: String,
    codenames: String,
    year: Option<u16>,
    cpu: String,
    gpu: String,
}

#[derive(Deserialize)]
struct AliasRow {
    alias: String,
    chipset: String,
    min_cores: Option<usize>,
    max_cores: Option<usize>,
    min_khz: Option<u64>,
    max_khz: Option<u64>,
}

#[derive(Deserialize)]
struct PatternRow {
    vendor: String,
    sources: String,
    regex: String,
    chipset: String,
    case: String,
}

#[derive(Deserialize)]
struct MidrRow {
    implementer: String,
    part: String,
    variant: String,
    uarch: String,
    design_year: Option<u16>,
}

#[derive(Deserialize)]
struct UarchRow {
    uarch: String,
    designer: String,
    design_year: Option<u16>,
    pipeline: String,
    f32_flops_per_cycle: Option<f64>,
}

#[derive(Deserialize)]
struct X86Row {
    vendor: String,
    family: String,
    model: String,
    uarch: String,
}

#[derive(Deserialize)]
struct GpuRow {
    model: String,
    vendor: String,
    year: Option<u16>,
    peak_gflops: Option<f64>,
    derivation: String,
}

#[derive(Deserialize)]
struct FamilyRow {
    family: String,
    member: String,
}

#[derive(Deserialize)]
struct DeviceRow {
    model: String,
    chipset: String,
}

fn rows<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<Vec<T>, String> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| format!("datasets/{name} row {}: {e}", i + 2)))
        .collect()
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `0x41` or `65`.
pub fn parse_int(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn parse_clusters(chipset: &str, spec: &str) -> Result<Vec<ClusterSpec>, String> {
    if spec.trim().is_empty() {
        return Ok(Vec::new());
    }
    spec.split('|')
        .map(|part| {
            let bad = || format!("socs.csv {chipset}: cluster {part:?} is not COUNTxUARCH@MHZ");
            let (count, rest) = part.split_once('x').ok_or_else(bad)?;
            let (uarch, mhz) = rest.split_once('@').ok_or_else(bad)?;
            Ok(ClusterSpec {
                count: count.trim().parse().map_err(|_| bad())?,
                uarch: uarch.trim().to_string(),
                max_mhz: mhz.trim().parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

pub(super) fn load() -> Result<super::Catalog, String> {
    let socs = rows::<SocRow>("socs.csv", SOCS)?
        .into_iter()
        .map(|r| {
            Ok(Soc {
                key: super::key(&r.chipset),
                clusters: parse_clusters(&r.chipset, &r.cpu)?,
                codenames: r
                    .codenames
                    .split('|')
                    .map(super::key)
                    .filter(|c| !c.is_empty())
                    .collect(),
                name: non_empty(r.name),
                gpu: non_empty(r.gpu),
                chipset: r.chipset,
                vendor: r.vendor,
                year: r.year,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let aliases = rows::<AliasRow>("soc_aliases.csv", ALIASES)?
        .into_iter()
        .map(|r| Alias {
            alias: super::key(&r.alias),
            chipset: r.chipset,
            min_cores: r.min_cores,
            max_cores: r.max_cores,
            min_khz: r.min_khz,
            max_khz: r.max_khz,
        })
        .collect();
    let patterns = rows::<PatternRow>("soc_patterns.csv", PATTERNS)?
        .into_iter()
        .map(|r| {
            Ok(Pattern {
                regex: regex_lite::Regex::new(&r.regex)
                    .map_err(|e| format!("soc_patterns.csv {}: {e}", r.vendor))?,
                sources: r.sources.split_whitespace().map(str::to_string).collect(),
                vendor: r.vendor,
                chipset: r.chipset,
                upper: r.case == "upper",
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let midr_parts = rows::<MidrRow>("midr_parts.csv", MIDR_PARTS)?
        .into_iter()
        .map(|r| {
            let bad = || format!("midr_parts.csv: bad number in {}/{}", r.implementer, r.part);
            Ok(MidrPart {
                implementer: parse_int(&r.implementer).ok_or_else(bad)?,
                part: parse_int(&r.part).ok_or_else(bad)?,
                variant: if r.variant.trim().is_empty() {
                    None
                } else {
                    Some(parse_int(&r.variant).ok_or_else(bad)?)
                },
                uarch: r.uarch,
                design_year: r.design_year,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let uarchs = rows::<UarchRow>("uarchs.csv", UARCHS)?
        .into_iter()
        .map(|r| Uarch {
            uarch: r.uarch,
            designer: r.designer,
            design_year: r.design_year,
            pipeline: r.pipeline,
            f32_flops_per_cycle: r.f32_flops_per_cycle,
        })
        .collect();
    let x86_parts = rows::<X86Row>("x86_uarchs.csv", X86_PARTS)?
        .into_iter()
        .map(|r| {
            let bad = || {
                format!(
                    "x86_uarchs.csv: bad number in {} {}/{}",
                    r.vendor, r.family, r.model
                )
            };
            Ok(X86Part {
                family: parse_int(&r.family).ok_or_else(bad)?,
                model: parse_int(&r.model).ok_or_else(bad)?,
                vendor: r.vendor,
                uarch: r.uarch,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let gpus = rows::<GpuRow>("gpus.csv", GPUS)?
        .into_iter()
        .map(|r| Gpu {
            model: r.model,
            vendor: r.vendor,
            year: r.year,
            peak_gflops: r.peak_gflops,
            derivation: r.derivation,
        })
        .collect();
    let device_models = rows::<DeviceRow>("device_models.csv", DEVICE_MODELS)?
        .into_iter()
        .map(|r| DeviceModel {
            model: r.model,
            chipset: r.chipset,
        })
        .collect();
    let families = rows::<FamilyRow>("soc_families.csv", FAMILIES)?
        .into_iter()
        .map(|r| (super::key(&r.family), super::key(&r.member)))
        .collect();
    Ok(super::Catalog {
        socs,
        aliases,
        patterns,
        midr_parts,
        uarchs,
        x86_parts,
        gpus,
        device_models,
        families,
    })
}
