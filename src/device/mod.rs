//! The host side of adb: find the attached devices and describe them (`adb`), and
//! run the probe on each (`run`: a lock per device, the probe for its ABI pushed, the
//! suite run with its results streamed back, the report pulled, saved and uploaded).
//! Drives the real `adb` client. Host only.

mod adb;
mod error;
mod run;

pub use adb::{parse_devices, Adb, DeviceEntry, Output};
pub use error::DeviceError;
pub use run::{probe_for, run_all, run_device, Outcome, RunOptions};

use crate::probe::bench::{Meter, POWER_STATS_SERVICE};
use crate::probe::identify::{identify, parse_getprop, Sysroot};
use crate::schema::EnergyInfo;
use std::collections::BTreeMap;
use std::time::Duration;

/// One attached device, as `fleetscope devices` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceSummary {
    pub serial: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<f64>,
    /// Whether the probe will measure energy there, and from which source (or why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyInfo>,
    /// What to do when the device is not usable, or what went wrong reading it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What to tell the user about a device in `state`.
pub fn hint_for(state: &str) -> Option<String> {
    Some(match state {
        "device" => return None,
        "unauthorized" => "unlock the phone and accept the 'Allow USB debugging?' prompt (tick 'Always allow'); if none appears, revoke USB debugging authorizations in Developer options and replug".into(),
        "offline" => "the device is not answering adb: replug the cable or run `adb reconnect`; check the phone is awake".into(),
        "recovery" | "sideload" | "bootloader" => format!("the device is in {state} mode: reboot it into Android"),
        s if s.starts_with("no permissions") => "this user may not open the USB device: add a udev rule for it (or use the plugdev group) and replug".into(),
        other => format!("state {other:?}: not ready for adb"),
    })
}

/// Describe every attached device; ready ones are identified from their properties
/// and `/proc/cpuinfo` with the same code as the probe.
pub fn describe_all(adb: &Adb) -> Result<Vec<DeviceSummary>, DeviceError> {
    let entries = adb.devices()?;
    Ok(entries.iter().map(|e| describe(adb, e)).collect())
}

fn describe(adb: &Adb, e: &DeviceEntry) -> DeviceSummary {
    let mut s = DeviceSummary {
        serial: e.serial.clone(),
        state: e.state.clone(),
        model: e.attrs.get("model").map(|m| m.replace('_', " ")),
        abi: None,
        sdk: None,
        soc: None,
        temp_c: None,
        energy: None,
        hint: hint_for(&e.state),
    };
    if e.state != "device" {
        return s;
    }
    let t = Duration::from_secs(20);
    let props: BTreeMap<String, String> = match adb.shell(&e.serial, "getprop", t) {
        Ok(o) if o.ok() => parse_getprop(&o.stdout),
        Ok(o) => {
            s.hint = Some(format!("getprop failed: {}", o.complaint()));
            return s;
        }
        Err(err) => {
            s.hint = Some(err.to_string());
            return s;
        }
    };
    let mut files = BTreeMap::new();
    if let Ok(o) = adb.shell(&e.serial, "cat /proc/cpuinfo", t) {
        if o.ok() {
            files.insert("/proc/cpuinfo".to_string(), o.stdout);
        }
    }
    let id = identify(&Sysroot::snapshot(
        files,
        props.clone(),
        format!("adb {}", e.serial),
    ));
    s.model = props.get("ro.product.model").cloned().or(s.model);
    s.abi = props.get("ro.product.cpu.abi").cloned();
    s.sdk = props
        .get("ro.build.version.sdk")
        .and_then(|v| v.trim().parse().ok());
    s.soc = match (&id.soc.vendor, &id.soc.chipset, &id.soc.name) {
        (Some(v), Some(c), Some(n)) if n != c => Some(format!("{v} {c} ({n})")),
        (Some(v), Some(c), _) => Some(format!("{v} {c}")),
        _ => None,
    };
    s.temp_c = hottest_temp(adb, &e.serial);
    s.energy = Some(energy(adb, &e.serial));
    s
}

/// What the probe's energy meter will find on the device: its power rails through
/// the power stats service, else its battery's fuel gauge (read as the shell user).
fn energy(adb: &Adb, serial: &str) -> EnergyInfo {
    let t = Duration::from_secs(20);
    let dump = match adb.shell(serial, &format!("dumpsys {POWER_STATS_SERVICE}"), t) {
        Ok(o) if o.ok() => Ok(o.stdout),
        Ok(o) => Err(format!("dumpsys failed: {}", o.complaint())),
        Err(e) => Err(e.to_string()),
    };
    let list = "for d in /sys/class/power_supply/*; do for f in type status online current_now voltage_now; do [ -r $d/$f ] && echo \"$d/$f=$(cat $d/$f)\"; done; done";
    let mut files = BTreeMap::new();
    if let Ok(o) = adb.shell(serial, list, t) {
        for line in o.stdout.lines() {
            if let Some((path, value)) = line.split_once('=') {
                // The device's own path, whatever directory a test maps it from.
                if let Some(i) = path.find("/sys/class/power_supply/") {
                    files.insert(path[i..].to_string(), format!("{value}\n"));
                }
            }
        }
    }
    let sys = Sysroot::snapshot(files, BTreeMap::new(), format!("adb {serial}"));
    Meter::availability(&sys, Some(dump))
}

/// The device's hottest plausible thermal zone in Celsius (millidegrees on current kernels).
pub fn hottest_temp(adb: &Adb, serial: &str) -> Option<f64> {
    let o = adb
        .shell(
            serial,
            "cat /sys/class/thermal/thermal_zone*/temp 2>/dev/null",
            Duration::from_secs(20),
        )
        .ok()?;
    o.stdout
        .split_whitespace()
        .filter_map(|v| v.parse::<i64>().ok())
        .map(|v| {
            if v.abs() >= 1000 {
                v as f64 / 1000.0
            } else {
                v as f64
            }
        })
        .filter(|c| (-40.0..=150.0).contains(c))
        .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.max(c))))
}

/// The `fleetscope devices` table.
pub fn table(devices: &[DeviceSummary]) -> String {
    if devices.is_empty() {
        return "no devices attached: plug a phone in over USB with USB debugging enabled (Settings > Developer options), then run `fleetscope devices` again\n".into();
    }
    let mut out = format!(
        "{:<20} {:<13} {:<24} {:<12} {:>4} {:<34} {:>6} {:<10}\n",
        "SERIAL", "STATE", "MODEL", "ABI", "SDK", "SOC", "TEMP", "ENERGY"
    );
    for d in devices {
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let energy = d.energy.as_ref();
        out += &format!(
            "{:<20} {:<13} {:<24} {:<12} {:>4} {:<34} {:>6} {:<10}\n",
            d.serial,
            d.state,
            o(&d.model),
            o(&d.abi),
            d.sdk.map_or("-".into(), |v| v.to_string()),
            o(&d.soc),
            d.temp_c.map_or("-".into(), |t| format!("{t:.1}C")),
            energy
                .and_then(|e| e.source.clone())
                .unwrap_or_else(|| "-".into())
        );
        if let Some(reason) = energy.and_then(|e| e.reason.as_ref()) {
            out += &format!("  {}: no energy figures: {reason}\n", d.serial);
        }
        if let Some(h) = &d.hint {
            out += &format!("  {}: {h}\n", d.serial);
        }
    }
    out
}
