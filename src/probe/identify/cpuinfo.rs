//! `/proc/cpuinfo` parsing for ARM (per-CPU blocks, or old kernels' one shared block)
//! and x86.

use std::collections::BTreeMap;

/// ARM Main ID Register fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Midr {
    pub implementer: u32,
    pub variant: u32,
    pub architecture: u32,
    pub part: u32,
    pub revision: u32,
}

impl Midr {
    pub fn value(&self) -> u32 {
        (self.implementer & 0xff) << 24
            | (self.variant & 0xf) << 20
            | (self.architecture & 0xf) << 16
            | (self.part & 0xfff) << 4
            | (self.revision & 0xf)
    }
    pub fn from_value(v: u32) -> Self {
        Midr {
            implementer: v >> 24,
            variant: (v >> 20) & 0xf,
            architecture: (v >> 16) & 0xf,
            part: (v >> 4) & 0xfff,
            revision: v & 0xf,
        }
    }
    pub fn hex(&self) -> String {
        format!("0x{:08X}", self.value())
    }
}

/// One `processor : N` record.
#[derive(Debug, Clone, Default)]
pub struct ProcRecord {
    pub fields: BTreeMap<String, String>,
}

impl ProcRecord {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The MIDR this record carries, when it carries implementer and part.
    pub fn midr(&self) -> Option<Midr> {
        let num = |k: &str| self.get(k).and_then(crate::catalog::parse_int);
        let implementer = num("CPU implementer")?;
        let part = num("CPU part")?;
        // 32-bit kernels print "CPU architecture: 7"; ARMv8 MIDRs carry 0xF there.
        let architecture = match self
            .get("CPU architecture")
            .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok())
        {
            Some(7) | Some(8) | None => 0xf,
            Some(a) => a & 0xf,
        };
        Some(Midr {
            implementer,
            variant: num("CPU variant").unwrap_or(0),
            architecture,
            part,
            revision: num("CPU revision").unwrap_or(0),
        })
    }

    pub fn features(&self) -> Vec<String> {
        self.get("Features")
            .or_else(|| self.get("flags"))
            .map(|f| f.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// Parsed `/proc/cpuinfo`.
#[derive(Debug, Clone, Default)]
pub struct ProcCpuinfo {
    /// Records by Linux CPU id.
    pub processors: BTreeMap<u32, ProcRecord>,
    /// Keys outside any processor record (`Hardware`, old kernels' shared MIDR block).
    pub global: ProcRecord,
}

impl ProcCpuinfo {
    pub fn parse(text: &str) -> Self {
        let mut out = ProcCpuinfo::default();
        let mut current: Option<u32> = None;
        for line in text.lines() {
            if line.trim().is_empty() {
                current = None;
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if key == "processor" {
                if let Ok(id) = value.parse::<u32>() {
                    out.processors.entry(id).or_default();
                    current = Some(id);
                    continue;
                }
            }
            let record = match current {
                Some(id) => out.processors.entry(id).or_default(),
                None => &mut out.global,
            };
            record
                .fields
                .entry(key.to_string())
                .or_insert_with(|| value.to_string());
        }
        // Single-core ARM kernels print no `processor` line at all: that is cpu0.
        if out.processors.is_empty()
            && (out.global.get("Processor").is_some()
                || out.global.get("CPU implementer").is_some())
        {
            out.processors.insert(0, ProcRecord::default());
        }
        out
    }

    pub fn hardware(&self) -> Option<&str> {
        self.global
            .get("Hardware")
            .or_else(|| self.processors.values().find_map(|r| r.get("Hardware")))
    }

    pub fn model_name(&self) -> Option<&str> {
        self.processors
            .values()
            .find_map(|r| r.get("model name"))
            .or_else(|| self.global.get("model name"))
    }

    /// MIDRs per CPU when each record carries its own; `None` when the kernel printed
    /// one shared block (old kernels), whose MIDR is then in [`Self::shared_midr`].
    pub fn per_cpu_midrs(&self) -> Option<BTreeMap<u32, Midr>> {
        let with: BTreeMap<u32, Midr> = self
            .processors
            .iter()
            .filter_map(|(id, r)| r.midr().map(|m| (*id, m)))
            .collect();
        let shared = self.global.midr().is_some()
            || (self.processors.len() > 1
                && with.len() == 1
                && with.keys().next() == self.processors.keys().last());
        (!shared && !with.is_empty()).then_some(with)
    }

    /// The single MIDR an old kernel printed for whichever CPU read the file.
    pub fn shared_midr(&self) -> Option<Midr> {
        if self.per_cpu_midrs().is_some() {
            return None;
        }
        self.global
            .midr()
            .or_else(|| self.processors.values().find_map(|r| r.midr()))
    }

    /// Features every record reports (a per-record list on new kernels, else the shared block's).
    pub fn common_features(&self) -> Vec<String> {
        let lists: Vec<Vec<String>> = self
            .processors
            .values()
            .map(|r| r.features())
            .filter(|f| !f.is_empty())
            .collect();
        let mut common = match lists.first() {
            Some(first) => first
                .iter()
                .filter(|f| lists.iter().all(|l| l.contains(f)))
                .cloned()
                .collect(),
            None => self.global.features(),
        };
        common.sort();
        common.dedup();
        common
    }
}

/// Parse a Linux CPU list (`0-3,6,8-9`). Garbage parts are ignored; huge ranges are capped.
pub fn parse_cpu_list(text: &str) -> Vec<u32> {
    const MAX_CPU_ID: u32 = 4095;
    let mut out = Vec::new();
    for part in text.trim().split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
            None => (part.parse::<u32>(), part.parse::<u32>()),
        };
        if let (Ok(lo), Ok(hi)) = (lo, hi) {
            if lo <= hi && hi <= MAX_CPU_ID {
                out.extend(lo..=hi);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,6,8-9\n"), vec![0, 1, 2, 3, 6, 8, 9]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
        assert_eq!(parse_cpu_list("3-1,x,2"), vec![2]);
        assert_eq!(parse_cpu_list("0-4294967295"), Vec::<u32>::new());
    }

    #[test]
    fn per_cpu_and_shared_midr() {
        let new = "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd05\nCPU revision\t: 0\n\nprocessor\t: 1\nCPU implementer\t: 0x41\nCPU variant\t: 0x1\nCPU part\t: 0xd0a\n\nHardware\t: Qualcomm Technologies, Inc SDM845\n";
        let p = ProcCpuinfo::parse(new);
        let m = p.per_cpu_midrs().expect("per-cpu");
        assert_eq!(m[&0].hex(), "0x411FD050");
        assert_eq!(m[&1].part, 0xd0a);
        assert_eq!(p.hardware(), Some("Qualcomm Technologies, Inc SDM845"));
        let old = "Processor\t: AArch64 Processor rev 1 (aarch64)\nprocessor\t: 0\nprocessor\t: 1\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd03\nCPU revision\t: 4\n";
        let p = ProcCpuinfo::parse(old);
        assert!(p.per_cpu_midrs().is_none());
        assert_eq!(p.shared_midr().map(|m| m.part), Some(0xd03));
    }
}
