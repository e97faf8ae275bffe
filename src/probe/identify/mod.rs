//! Device identification from a [`Sysroot`]: SoC, CPUs and clusters, GPU and its APIs,
//! thermal zones, memory. Reads the live device or a snapshot with the same code, and
//! never fails: what it cannot read it reports as an issue with a reason.

mod cpu;
mod cpuinfo;
mod device;
mod fixture;
mod gpu;
mod services;
mod soc;
mod summary;
mod sysroot;
mod thermal;

pub use cpuinfo::{parse_cpu_list, Midr};
pub use device::{abi_list, set_fleet_salt, this_abi, SALT_ENV};
pub use fixture::{fixture_from_bytes, load_fixture};
pub use gpu::api_check_main;
pub use services::{parse_features, parse_gles_line, parse_vulkan_device, run as run_service};
pub use soc::{decode as decode_soc_source, Hints as SocHints};
pub use summary::summary;
pub use sysroot::{parse_build_prop, parse_getprop, Sysroot};
pub use thermal::{hottest_c, read_zones};

use crate::catalog::catalog;
use crate::schema::{Identity, Issue};

/// Identify the device behind `sys`.
pub fn identify(sys: &Sysroot) -> Identity {
    let mut issues: Vec<Issue> = Vec::new();
    let note = |issues: &mut Vec<Issue>, stage: &str, message: String| {
        issues.push(Issue {
            stage: stage.into(),
            message,
        })
    };

    let cpuinfo_text = sys.read("/proc/cpuinfo");
    if cpuinfo_text.is_none() {
        note(
            &mut issues,
            "cpu",
            "/proc/cpuinfo is missing or unreadable".into(),
        );
    }
    let proc = cpuinfo::ProcCpuinfo::parse(cpuinfo_text.as_deref().unwrap_or(""));
    let raw = cpu::read_raw(sys, &proc);
    if raw.cpus.is_empty() {
        note(&mut issues, "cpu", "no CPUs found (no /sys/devices/system/cpu/possible and no processor lines in /proc/cpuinfo)".into());
    }
    let soc = soc::identify_soc(sys, &proc, raw.hints());
    if let Some(problem) = soc::naming_problem(&soc) {
        note(&mut issues, "soc", problem);
    }
    let soc_row = soc.chipset.as_deref().and_then(|c| catalog().soc(c));
    let mut cpu_issues = Vec::new();
    let arch = raw.arch.clone();
    let cpu = cpu::build(sys, &proc, raw, soc_row, &mut cpu_issues);
    for m in cpu_issues {
        note(&mut issues, "cpu", m);
    }
    let gpu = gpu::identify_gpu(sys, soc_row);
    if gpu.model.is_none() {
        note(
            &mut issues,
            "gpu",
            "GPU model unknown: no kgsl or Mali sysfs entry and no catalogued SoC".into(),
        );
    }
    let thermal = thermal::read_zones(sys);
    let device = device::identify_device(sys, arch.as_deref());
    if device.device_hash_scope == Some(crate::schema::HashScope::Local) {
        note(&mut issues, "device", device::LOCAL_HASH_NOTE.into());
    }
    if device.memory_bytes.is_none() {
        note(
            &mut issues,
            "memory",
            "/proc/meminfo has no MemTotal".into(),
        );
    }
    Identity {
        device,
        soc,
        cpu,
        gpu,
        thermal,
        issues,
    }
}
