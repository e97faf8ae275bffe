//! Any text as the small sysfs and property formats read directly: CPU lists
//! (`0-3,6`), `getprop` output and build.prop files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cpus = fleetscope::probe::identify::parse_cpu_list(&text);
    assert!(cpus.len() <= 1 << 16, "a CPU list is bounded");
    let _ = fleetscope::probe::identify::parse_getprop(&text);
    let _ = fleetscope::probe::identify::parse_build_prop(&text);
});
