//! The device itself: model, OS, ABI, kernel, memory, and a salted hash that lets the
//! collector count a device once without ever seeing a serial number.

use super::Sysroot;
use crate::schema::DeviceInfo;
use sha2::{Digest, Sha256};

/// Default salt; fleets set `FLEETSCOPE_DEVICE_SALT` so hashes are theirs alone.
const DEFAULT_SALT: &str = "fleetscope-device-v1";

pub fn identify_device(sys: &Sysroot, arch: Option<&str>) -> DeviceInfo {
    let prop = |k: &str| sys.prop(k).map(str::to_string);
    let android = sys.prop("ro.build.version.sdk").is_some()
        || sys.prop("ro.build.version.release").is_some();
    let os_release = sys.read("/etc/os-release").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    DeviceInfo {
        model: prop("ro.product.model")
            .or_else(|| {
                sys.read_line("/sys/firmware/devicetree/base/model")
                    .map(|m| m.trim_end_matches('\0').to_string())
            })
            .or_else(|| sys.read_line("/sys/class/dmi/id/product_name")),
        manufacturer: prop("ro.product.manufacturer")
            .or_else(|| prop("ro.product.brand"))
            .or_else(|| sys.read_line("/sys/class/dmi/id/sys_vendor")),
        os: if android {
            "android"
        } else if sys.read("/proc/version").is_some() || sys.read("/proc/cpuinfo").is_some() {
            "linux"
        } else {
            "unknown"
        }
        .to_string(),
        os_version: if android {
            prop("ro.build.version.release")
        } else {
            os_release
        },
        sdk: sys
            .prop("ro.build.version.sdk")
            .and_then(|v| v.parse().ok()),
        abi: prop("ro.product.cpu.abi").or_else(|| arch.map(str::to_string)),
        kernel: sys
            .read_line("/proc/version")
            .and_then(|v| v.split_whitespace().nth(2).map(str::to_string)),
        device_hash: stable_id(sys).map(|id| salted_hash(&id)),
        memory_bytes: sys.read("/proc/meminfo").and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()?
                .checked_mul(1024)
        }),
    }
}

fn stable_id(sys: &Sysroot) -> Option<String> {
    ["ro.serialno", "ro.boot.serialno"]
        .iter()
        .find_map(|k| sys.prop(k).map(str::to_string))
        .or_else(|| sys.read_line("/sys/devices/soc0/serial_number"))
        .or_else(|| sys.read_line("/etc/machine-id"))
        .filter(|s| !s.is_empty() && s != "unknown" && s != "0")
}

fn salted_hash(id: &str) -> String {
    let salt = std::env::var("FLEETSCOPE_DEVICE_SALT").unwrap_or_else(|_| DEFAULT_SALT.to_string());
    let digest = Sha256::digest(format!("{salt}\0{id}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_hides_the_id() {
        let h = super::salted_hash("ABC123");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("ABC123"));
        assert_ne!(h, super::salted_hash("ABC124"));
    }
}
