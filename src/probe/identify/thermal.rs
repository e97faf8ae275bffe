//! Thermal zones (`/sys/class/thermal/thermal_zoneN/{type,temp}`).

use super::Sysroot;
use crate::schema::{ThermalInfo, ThermalZone};

const THERMAL_DIR: &str = "/sys/class/thermal";

/// Every zone with its current temperature. Kernels report millidegrees; a few old
/// ones report whole degrees, told apart by magnitude.
pub fn read_zones(sys: &Sysroot) -> ThermalInfo {
    let zones: Vec<ThermalZone> = sys
        .list(THERMAL_DIR)
        .iter()
        .filter_map(|name| {
            let id: u32 = name.strip_prefix("thermal_zone")?.parse().ok()?;
            let dir = format!("{THERMAL_DIR}/{name}");
            Some(ThermalZone {
                id,
                kind: sys
                    .read_line(&format!("{dir}/type"))
                    .unwrap_or_else(|| "unknown".into()),
                temp_c: sys.read_i64(&format!("{dir}/temp")).and_then(to_celsius),
            })
        })
        .collect();
    let reason = zones.is_empty().then(|| "no /sys/class/thermal/thermal_zone* here (a VM or container, or a snapshot that did not capture them)".to_string());
    ThermalInfo {
        zones,
        reason,
        throttling: None,
    }
}

/// The hottest plausible zone, for before/after readings around a measurement.
pub fn hottest_c(sys: &Sysroot) -> Option<f64> {
    read_zones(sys)
        .zones
        .iter()
        .filter_map(|z| z.temp_c)
        .fold(None, |m, t| Some(m.map_or(t, |m: f64| m.max(t))))
}

fn to_celsius(raw: i64) -> Option<f64> {
    let c = if raw.abs() >= 1000 {
        raw as f64 / 1000.0
    } else {
        raw as f64
    };
    (-60.0..=200.0).contains(&c).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(to_celsius(45000), Some(45.0));
        assert_eq!(to_celsius(45), Some(45.0));
        assert_eq!(to_celsius(-273000), None);
        assert_eq!(to_celsius(999_999_999), None);
    }
}
