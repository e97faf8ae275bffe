//! The device itself: model, OS, ABI, kernel, memory, and a salted hash that lets the
//! collector count a device once without ever seeing a serial number.
//!
//! The salt is the fleet's secret (`FLEETSCOPE_DEVICE_SALT`, which `fleetscope run
//! --salt-file` sets on the phone, or [`set_fleet_salt`]). Without one there is no
//! public default (anyone could hash candidate serials with it): the hash is salted
//! with random bytes made for this process and marked `local`.

use super::Sysroot;
use crate::schema::{DeviceInfo, HashScope};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The environment variable that carries the fleet's salt to the probe.
pub const SALT_ENV: &str = "FLEETSCOPE_DEVICE_SALT";

static FLEET_SALT: OnceLock<String> = OnceLock::new();
static LOCAL_SALT: OnceLock<Option<String>> = OnceLock::new();

/// Use `salt` as the fleet's salt for every identification in this process (the demo
/// probes this machine with its collector's salt). The first call wins.
pub fn set_fleet_salt(salt: &str) {
    let _ = FLEET_SALT.set(salt.trim().to_string());
}

/// The salt and whose it is; `None` when there is no fleet salt and the OS entropy
/// source cannot make a local one.
fn salt() -> Option<(String, HashScope)> {
    let fleet = FLEET_SALT.get().cloned().or_else(|| {
        std::env::var(SALT_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    });
    match fleet {
        Some(s) => Some((s, HashScope::Fleet)),
        None => LOCAL_SALT
            .get_or_init(|| crate::util::entropy::secret_hex(32).ok())
            .clone()
            .map(|s| (s, HashScope::Local)),
    }
}

/// What `identify` says about a `local` hash.
pub const LOCAL_HASH_NOTE: &str = "device_hash is local-only: no fleet salt was given, so it is salted with random bytes made for this run and matches no other run; use `fleetscope run --salt-file F` (or set FLEETSCOPE_DEVICE_SALT on the device) for a hash the fleet can count";

/// The userland's ABIs, best first: `ro.product.cpu.abilist`, or on Android before 5.0
/// `ro.product.cpu.abi` and `ro.product.cpu.abi2`.
fn abilist(sys: &Sysroot) -> Vec<String> {
    abi_list(
        sys.prop("ro.product.cpu.abilist"),
        sys.prop("ro.product.cpu.abi"),
        sys.prop("ro.product.cpu.abi2"),
    )
}

/// The ABI list from the values of `ro.product.cpu.abilist`, `abi` and `abi2` (empty
/// or absent ones ignored): the list when there is one, else the other two; each ABI
/// once, in order.
pub fn abi_list(abilist: Option<&str>, abi: Option<&str>, abi2: Option<&str>) -> Vec<String> {
    fn present(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let list = match present(abilist) {
        Some(l) => l.to_string(),
        None => [abi, abi2]
            .into_iter()
            .filter_map(present)
            .collect::<Vec<_>>()
            .join(","),
    };
    let mut out: Vec<String> = Vec::new();
    for abi in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        if !out.iter().any(|a| a == abi) {
            out.push(abi.to_string());
        }
    }
    out
}

/// The Android ABI this binary was built for.
pub fn this_abi() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64-v8a",
        "arm" => "armeabi-v7a",
        "x86" => "x86",
        "x86_64" => "x86_64",
        other => other,
    }
}

pub fn identify_device(sys: &Sysroot, arch: Option<&str>) -> DeviceInfo {
    let prop = |k: &str| sys.prop(k).map(str::to_string);
    let android = sys.prop("ro.build.version.sdk").is_some()
        || sys.prop("ro.build.version.release").is_some();
    let hashed = stable_id(sys).and_then(|id| {
        let (salt, scope) = salt()?;
        Some((salted_hash(&salt, &id), scope))
    });
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
        abilist: abilist(sys),
        // Set by the suite runner: identification alone runs no probe build.
        probe_abi: None,
        kernel: sys
            .read_line("/proc/version")
            .and_then(|v| v.split_whitespace().nth(2).map(str::to_string)),
        device_hash: hashed.as_ref().map(|(h, _)| h.clone()),
        device_hash_scope: hashed.map(|(_, scope)| scope),
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

fn salted_hash(salt: &str, id: &str) -> String {
    let digest = Sha256::digest(format!("{salt}\0{id}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_abi_list_is_the_list_or_else_abi_and_abi2_each_once() {
        let l = |a, b, c| super::abi_list(a, b, c).join(",");
        assert_eq!(
            l(Some("arm64-v8a,armeabi-v7a"), Some("arm64-v8a"), None),
            "arm64-v8a,armeabi-v7a"
        );
        assert_eq!(
            l(Some(" "), Some("armeabi-v7a"), Some("armeabi")),
            "armeabi-v7a,armeabi"
        );
        assert_eq!(l(None, Some("x86"), Some("x86")), "x86");
        assert_eq!(l(None, None, None), "");
    }

    #[test]
    fn hash_hides_the_id() {
        let h = super::salted_hash("s", "ABC123");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("ABC123"));
        assert_ne!(h, super::salted_hash("s", "ABC124"));
        assert_ne!(h, super::salted_hash("t", "ABC123"));
    }
}
