//! CPUs and clusters. Per Linux CPU: MIDR (or x86 family/model), microarchitecture,
//! clock range and cluster. Clusters come from the first informative topology source
//! (`cluster_cpus_list`, `core_siblings_list`, cpufreq `related_cpus`), then are split
//! wherever microarchitecture or clock differ. CPUs the snapshot does not show, and
//! old kernels that print one MIDR for all CPUs, are filled from the SoC catalog.

use super::cpuinfo::{parse_cpu_list, Midr, ProcCpuinfo};
use super::Sysroot;
use crate::catalog::{catalog, ClusterSpec, Soc};
use crate::schema::{CacheInfo, Cluster, Cpu, CpuInfo, X86Id};
use std::collections::BTreeMap;

const CPU_DIR: &str = "/sys/devices/system/cpu";

/// x86 flags that matter for inference kernels; the rest of `/proc/cpuinfo` flags are noise.
const X86_FEATURES: &[&str] = &[
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512dq",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
];

/// What the snapshot shows of each CPU, before any catalog knowledge.
#[derive(Debug, Clone)]
pub struct RawCpus {
    pub cpus: Vec<RawCpu>,
    /// True when `possible` or `present` gave the CPU count; false when it is only the
    /// highest CPU id the snapshot shows (old logs list online CPUs only).
    pub count_exact: bool,
    pub arch: Option<String>,
    pub x86: Option<X86Id>,
}

#[derive(Debug, Clone)]
pub struct RawCpu {
    pub id: u32,
    pub online: bool,
    pub midr: Option<Midr>,
    pub max_khz: Option<u64>,
    pub min_khz: Option<u64>,
}

impl RawCpus {
    /// Count of possible CPUs and the highest max clock: what SoC naming uses to tell apart chips sharing a name.
    pub fn hints(&self) -> super::soc::Hints {
        super::soc::Hints {
            cores: self.cpus.len(),
            cores_exact: self.count_exact,
            max_khz: self
                .cpus
                .iter()
                .filter_map(|c| c.max_khz)
                .max()
                .unwrap_or(0),
        }
    }
}

/// Read what the snapshot shows: possible/online CPUs, MIDRs, clocks.
pub fn read_raw(sys: &Sysroot, proc: &ProcCpuinfo) -> RawCpus {
    let list = |name: &str| {
        sys.read(&format!("{CPU_DIR}/{name}"))
            .map(|t| parse_cpu_list(&t))
            .filter(|l| !l.is_empty())
    };
    let dirs: Vec<u32> = sys
        .list(CPU_DIR)
        .iter()
        .filter_map(|n| n.strip_prefix("cpu")?.parse().ok())
        .collect();
    let highest = dirs.iter().chain(proc.processors.keys()).max().copied();
    let listed = list("possible").or_else(|| list("present"));
    let count_exact = listed.is_some();
    let ids = listed.unwrap_or_else(|| highest.map(|h| (0..=h).collect()).unwrap_or_default());
    let online_list = list("online");
    let per_cpu_midr = proc.per_cpu_midrs().unwrap_or_default();
    let cpus = ids
        .iter()
        .map(|&id| {
            let online = match &online_list {
                Some(l) => l.contains(&id),
                None => {
                    proc.processors.contains_key(&id)
                        || sys.read_u64(&format!("{CPU_DIR}/cpu{id}/online")) == Some(1)
                }
            };
            let sysfs_midr = sys
                .read_line(&format!("{CPU_DIR}/cpu{id}/regs/identification/midr_el1"))
                .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok())
                .map(|v| Midr::from_value(v as u32));
            let freq = |f: &str| {
                sys.read_u64(&format!("{CPU_DIR}/cpu{id}/cpufreq/{f}"))
                    .filter(|&k| k > 0)
            };
            let max_khz = freq("cpuinfo_max_freq");
            RawCpu {
                id,
                online,
                midr: sysfs_midr.or_else(|| per_cpu_midr.get(&id).copied()),
                max_khz,
                min_khz: freq("cpuinfo_min_freq"),
            }
        })
        .collect();
    let first = proc.processors.values().next();
    let x86 = first.and_then(|r| {
        Some(X86Id {
            vendor: r.get("vendor_id")?.to_string(),
            family: r.get("cpu family")?.parse().ok()?,
            model: r.get("model")?.parse().ok()?,
            model_name: r
                .get("model name")
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
        })
    });
    let features = proc.common_features();
    let arch = if x86.is_some() {
        Some(
            if features.iter().any(|f| f == "lm") {
                "x86_64"
            } else {
                "x86"
            }
            .to_string(),
        )
    } else if features.iter().any(|f| f == "asimd")
        || proc.model_name().is_some_and(|m| m.contains("AArch64"))
        || proc
            .global
            .get("Processor")
            .is_some_and(|m| m.contains("AArch64"))
    {
        Some("aarch64".to_string())
    } else if proc.per_cpu_midrs().is_some() || proc.shared_midr().is_some() {
        Some("arm".to_string())
    } else {
        None
    };
    RawCpus {
        cpus,
        count_exact,
        arch,
        x86,
    }
}

/// A cluster candidate: topology group, core type, MIDR without revision, max clock.
type ClusterKey = (Group, Option<String>, Option<u32>, Option<u64>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Topology(u32),
    Catalog(usize),
    None,
}

/// Build CPU and cluster facts. `soc` is the catalog row of the named SoC, if any.
pub fn build(
    sys: &Sysroot,
    proc: &ProcCpuinfo,
    mut raw: RawCpus,
    soc: Option<&Soc>,
    issues: &mut Vec<String>,
) -> CpuInfo {
    let cat = catalog();
    // Without `possible`, the snapshot shows a lower bound: the catalog knows the rest.
    if let Some(total) = soc
        .map(|s| s.cpu_count())
        .filter(|&n| !raw.count_exact && n as usize > raw.cpus.len())
    {
        let seen = raw.cpus.len() as u32;
        raw.cpus.extend((seen..total).map(|id| RawCpu {
            id,
            online: false,
            midr: None,
            max_khz: None,
            min_khz: None,
        }));
    }
    let ids: Vec<u32> = raw.cpus.iter().map(|c| c.id).collect();
    // The catalog's layout applies only when it describes exactly the CPUs we see.
    let layout: Option<Vec<(&ClusterSpec, usize)>> = soc
        .filter(|s| s.cpu_count() as usize == ids.len() && !ids.is_empty())
        .map(|s| {
            s.clusters
                .iter()
                .enumerate()
                .flat_map(|(i, c)| std::iter::repeat_n((c, i), c.count as usize))
                .collect()
        });
    let chipset = soc.map(|s| s.chipset.as_str()).unwrap_or("");
    let (topo_source, topo) = topology(sys, &ids, raw.x86.is_some());

    let mut cpus: Vec<Cpu> = raw
        .cpus
        .iter()
        .map(|r| Cpu {
            id: r.id,
            online: r.online,
            min_khz: r.min_khz,
            max_khz: r.max_khz,
            ..Default::default()
        })
        .collect();
    let midrs: Vec<Option<Midr>> = raw.cpus.iter().map(|r| r.midr).collect();

    if let Some(x) = &raw.x86 {
        let part = cat.x86_part(&x.vendor, x.family, x.model);
        if part.is_none() {
            issues.push(format!(
                "unknown x86 CPU {} family {:#x} model {:#x}: add it to datasets/x86_uarchs.csv",
                x.vendor, x.family, x.model
            ));
        }
        for c in &mut cpus {
            c.uarch = part.map(|p| p.uarch.clone());
            c.source = Some("cpuid (/proc/cpuinfo family and model)".into());
        }
    } else if let Some(shared) = proc
        .shared_midr()
        .filter(|_| midrs.iter().all(Option::is_none))
    {
        let shared_uarch = cat
            .midr_part(shared.implementer, shared.part, shared.variant)
            .map(|p| p.uarch.clone());
        match (&layout, &shared_uarch) {
            (Some(layout), Some(u)) if layout.iter().any(|(c, _)| &c.uarch == u) => {
                for (c, (spec, _)) in cpus.iter_mut().zip(layout) {
                    c.uarch = Some(spec.uarch.clone());
                    c.midr = (&spec.uarch == u).then(|| shared.hex());
                    c.source = Some(format!(
                        "soc catalog {chipset} (the kernel printed one MIDR for all CPUs)"
                    ));
                }
            }
            _ => {
                for c in &mut cpus {
                    c.uarch = shared_uarch.clone();
                    c.midr = Some(shared.hex());
                    c.source = Some("shared MIDR (the kernel printed one MIDR for all CPUs; other clusters may differ)".into());
                }
                if ids.len() > 1 {
                    issues.push("the kernel printed one MIDR for all CPUs and the SoC catalog has no matching layout: every CPU is assumed to be that core".into());
                }
            }
        }
    } else {
        for (c, m) in cpus.iter_mut().zip(&midrs) {
            if let Some(m) = m {
                c.midr = Some(m.hex());
                match cat.midr_part(m.implementer, m.part, m.variant) {
                    Some(p) => {
                        c.uarch = Some(p.uarch.clone());
                        c.design_year = p.design_year;
                        c.source = Some("midr".into());
                    }
                    None => issues.push(format!("cpu{}: unknown MIDR part {:#04x}/{:#05x}: add it to datasets/midr_parts.csv", c.id, m.implementer, m.part)),
                }
            }
        }
    }

    // CPUs still unknown: a topology sibling first, then the catalog layout.
    let known: Vec<Cpu> = cpus.clone();
    for (i, c) in cpus.iter_mut().enumerate() {
        let sibling = topo.get(&c.id).and_then(|g| {
            known
                .iter()
                .find(|k| k.id != c.id && topo.get(&k.id) == Some(g) && k.uarch.is_some())
        });
        if c.uarch.is_none() {
            if let Some(s) = sibling {
                c.uarch = s.uarch.clone();
                c.midr = s.midr.clone();
                c.source = Some(format!("cluster sibling cpu{}", s.id));
            } else if let Some(layout) = &layout {
                c.uarch = Some(layout[i].0.uarch.clone());
                c.source = Some(format!(
                    "soc catalog {chipset} (cpu{} not shown in the snapshot)",
                    c.id
                ));
                // Cores of one cluster share a MIDR: take it from a shown CPU of the same catalog cluster.
                c.midr = known
                    .iter()
                    .enumerate()
                    .find(|(j, k)| {
                        layout[*j].1 == layout[i].1 && k.uarch == c.uarch && k.midr.is_some()
                    })
                    .and_then(|(_, k)| k.midr.clone());
            } else {
                issues.push(format!(
                    "cpu{}: no MIDR (offline or not shown) and no catalog layout to fill it from",
                    c.id
                ));
            }
        }
        if c.max_khz.is_none() {
            // A topology sibling's clock, then one from the same catalog cluster, then the catalog's.
            let topo_sib = topo.get(&c.id).and_then(|g| {
                known
                    .iter()
                    .find(|k| topo.get(&k.id) == Some(g) && k.max_khz.is_some())
            });
            let catalog_sib = layout.as_ref().and_then(|l| {
                known
                    .iter()
                    .enumerate()
                    .find(|(j, k)| l[*j].1 == l[i].1 && k.max_khz.is_some())
                    .map(|(_, k)| k)
            });
            c.max_khz = topo_sib
                .or(catalog_sib)
                .and_then(|k| k.max_khz)
                .or_else(|| layout.as_ref().map(|l| u64::from(l[i].0.max_mhz) * 1000));
        }
        if c.min_khz.is_none() {
            c.min_khz = topo
                .get(&c.id)
                .and_then(|g| {
                    known
                        .iter()
                        .find(|k| topo.get(&k.id) == Some(g) && k.min_khz.is_some())
                })
                .and_then(|k| k.min_khz);
        }
        if c.design_year.is_none() {
            c.design_year = c
                .uarch
                .as_deref()
                .and_then(|u| cat.uarch(u))
                .and_then(|u| u.design_year);
        }
    }

    // Clusters: topology group (or catalog cluster), split by core type and clock.
    let mut groups: BTreeMap<ClusterKey, Vec<usize>> = BTreeMap::new();
    for (i, c) in cpus.iter().enumerate() {
        let group = match (topo.get(&c.id), &layout) {
            (Some(g), _) => Group::Topology(*g),
            (None, Some(l)) => Group::Catalog(l[i].1),
            (None, None) => Group::None,
        };
        let midr_key = c
            .midr
            .as_deref()
            .and_then(|m| u32::from_str_radix(m.trim_start_matches("0x"), 16).ok())
            .map(|v| v & !0xf);
        groups
            .entry((group, c.uarch.clone(), midr_key, c.max_khz))
            .or_default()
            .push(i);
    }
    let mut members: Vec<Vec<usize>> = groups.into_values().collect();
    members.sort_by_key(|m| cpus[m[0]].id);
    let features = normalise_features(&proc.common_features(), raw.arch.as_deref());
    let clusters: Vec<Cluster> = members
        .iter()
        .enumerate()
        .map(|(ci, m)| {
            let first = &cpus[m[0]];
            let peak = first
                .uarch
                .as_deref()
                .and_then(|u| cat.uarch(u))
                .and_then(|u| u.f32_flops_per_cycle)
                .zip(first.max_khz)
                .map(|(f, khz)| f * khz as f64 / 1e6 * m.len() as f64);
            Cluster {
                id: ci as u32,
                cpus: m.iter().map(|&i| cpus[i].id).collect(),
                uarch: first.uarch.clone(),
                midr: m.iter().find_map(|&i| cpus[i].midr.clone()),
                min_khz: m.iter().find_map(|&i| cpus[i].min_khz),
                max_khz: first.max_khz,
                design_year: first.design_year,
                peak_gflops: peak.map(|p| (p * 10.0).round() / 10.0),
                features: features.clone(),
                caches: caches(sys, first.id),
            }
        })
        .collect();
    for (ci, m) in members.iter().enumerate() {
        for &i in m {
            cpus[i].cluster = Some(ci as u32);
        }
    }
    let cluster_source = match (topo_source, &layout) {
        (Some(s), _) => Some(format!("{s}, split by core type and clock")),
        (None, Some(_)) => Some(format!("soc catalog {chipset} layout")),
        (None, None) => Some("core type and clock".to_string()),
    };
    CpuInfo {
        arch: raw.arch,
        cpus,
        clusters,
        features,
        x86: raw.x86,
        cluster_source,
    }
}

/// The first topology source that says something: not all singletons and not one
/// group of every CPU (that is what `core_siblings_list` shows on new kernels). A file
/// whose list omits its own CPU (a misreported cpufreq directory) is ignored.
/// On x86 a cluster is the group of CPUs sharing an L2, as pytorch/cpuinfo counts them
/// (Atom modules); private-L2 cores make that source all singletons, so it falls through.
fn topology(sys: &Sysroot, ids: &[u32], x86: bool) -> (Option<&'static str>, BTreeMap<u32, u32>) {
    let mut sources: Vec<(&'static str, &str)> = vec![
        ("cluster_cpus_list", "topology/cluster_cpus_list"),
        ("core_siblings_list", "topology/core_siblings_list"),
        ("cpufreq related_cpus", "cpufreq/related_cpus"),
    ];
    if x86 {
        sources.insert(
            0,
            (
                "shared L2 (cache/index2/shared_cpu_list)",
                "cache/index2/shared_cpu_list",
            ),
        );
    }
    let mut fallback = None;
    for (name, file) in sources {
        let lists: Vec<Vec<u32>> = ids
            .iter()
            .filter_map(|&id| {
                let text = sys.read(&format!("{CPU_DIR}/cpu{id}/{file}"))?;
                let list: Vec<u32> =
                    parse_cpu_list(&text.split_whitespace().collect::<Vec<_>>().join(","))
                        .into_iter()
                        .filter(|c| ids.contains(c))
                        .collect();
                list.contains(&id).then_some(list)
            })
            .collect();
        if lists.is_empty() {
            continue;
        }
        let groups = merge(&lists);
        let roots: std::collections::BTreeSet<u32> = groups.values().copied().collect();
        // Lists of one CPU each say nothing about grouping, however many CPUs show them.
        let all_singletons = ids.len() > 1 && roots.len() == groups.len();
        let one_group_of_all = roots.len() == 1 && groups.len() == ids.len();
        if all_singletons {
            continue;
        }
        if one_group_of_all && ids.len() > 1 {
            fallback.get_or_insert((name, groups));
            continue;
        }
        return (Some(name), groups);
    }
    match fallback {
        Some((name, groups)) => (Some(name), groups),
        None => (None, BTreeMap::new()),
    }
}

/// Union of overlapping lists: CPU id -> smallest id of its group.
fn merge(lists: &[Vec<u32>]) -> BTreeMap<u32, u32> {
    let mut root: BTreeMap<u32, u32> = BTreeMap::new();
    fn find(root: &mut BTreeMap<u32, u32>, x: u32) -> u32 {
        let mut r = x;
        while let Some(&p) = root.get(&r) {
            if p == r {
                break;
            }
            r = p;
        }
        root.insert(x, r);
        r
    }
    for l in lists {
        for &c in l {
            root.entry(c).or_insert(c);
        }
        for w in l.windows(2) {
            let (a, b) = (find(&mut root, w[0]), find(&mut root, w[1]));
            if a != b {
                let (lo, hi) = (a.min(b), a.max(b));
                root.insert(hi, lo);
            }
        }
    }
    let keys: Vec<u32> = root.keys().copied().collect();
    keys.into_iter().map(|k| (k, find(&mut root, k))).collect()
}

fn normalise_features(raw: &[String], arch: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = match arch {
        Some("x86_64") | Some("x86") => raw
            .iter()
            .filter(|f| X86_FEATURES.contains(&f.as_str()))
            .cloned()
            .collect(),
        _ => raw.to_vec(),
    };
    if raw.iter().any(|f| f == "asimd" || f == "neon") {
        out.push("neon".into());
    }
    if raw.iter().any(|f| f == "asimddp") {
        out.push("dotprod".into());
    }
    out.sort();
    out.dedup();
    out
}

fn caches(sys: &Sysroot, cpu: u32) -> Vec<CacheInfo> {
    let dir = format!("{CPU_DIR}/cpu{cpu}/cache");
    sys.list(&dir)
        .iter()
        .filter(|n| n.starts_with("index"))
        .filter_map(|n| {
            let read = |f: &str| sys.read_line(&format!("{dir}/{n}/{f}"));
            let size = read("size")?;
            let (digits, unit) = size.split_at(
                size.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(size.len()),
            );
            let mult = match unit.trim() {
                "K" | "KB" => 1 << 10,
                "M" | "MB" => 1 << 20,
                "" => 1,
                _ => return None,
            };
            Some(CacheInfo {
                level: read("level")?.parse().ok()?,
                kind: read("type").map(|t| t.to_lowercase()).unwrap_or_default(),
                size_bytes: digits.parse::<u64>().ok()?.checked_mul(mult)?,
                shared_cpus: read("shared_cpu_list")
                    .map(|l| parse_cpu_list(&l))
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_groups() {
        let g = merge(&[vec![4, 5, 6, 7], vec![8, 9], vec![5, 6]]);
        assert_eq!(g[&7], 4);
        assert_eq!(g[&9], 8);
        assert_eq!(g.len(), 6);
    }
}
