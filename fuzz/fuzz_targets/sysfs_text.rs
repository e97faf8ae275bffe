//! Any text as the small sysfs and property formats read directly: CPU lists
//! (`0-3,6`), `getprop` output and build.prop files; and as what a phone's system
//! services and battery print (power stats dump, SurfaceFlinger, `pm list features`,
//! the power_supply files the fuel gauge reads).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cpus = fleetscope::probe::identify::parse_cpu_list(&text);
    assert!(cpus.len() <= 1 << 16, "a CPU list is bounded");
    let _ = fleetscope::probe::identify::parse_getprop(&text);
    let _ = fleetscope::probe::identify::parse_build_prop(&text);
    let _ = fleetscope::probe::identify::parse_gles_line(&text);
    let _ = fleetscope::probe::identify::parse_vulkan_device(&text);
    let _ = fleetscope::probe::identify::parse_features(&text);
    for (_, joules) in fleetscope::probe::bench::parse_rails(&text) {
        assert!(joules.is_finite() && joules >= 0.0, "a rail's energy is a number");
    }
    // The text's lines as a battery's files, and the text as the power stats dump.
    let mut lines = text.lines();
    let files = ["type", "status", "online", "current_now", "voltage_now"]
        .iter()
        .map(|f| {
            let line = lines.next().unwrap_or_default();
            (format!("/sys/class/power_supply/battery/{f}"), format!("{line}\n"))
        })
        .collect();
    let sys = fleetscope::probe::identify::Sysroot::snapshot(files, Default::default(), "fuzz");
    let info = fleetscope::probe::bench::Meter::availability(&sys, Some(Ok(text.to_string())));
    assert!(info.source.is_some() != info.reason.is_some(), "a source or a reason");
});
