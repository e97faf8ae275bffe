//! Any bytes as a device snapshot (`files` and `properties`), then the whole
//! identification over it: every cpuinfo, sysfs, build.prop and getprop parser sees
//! what a broken or hostile device could show it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sys) = fleetscope::probe::identify::fixture_from_bytes(data, "fuzz") {
        let id = fleetscope::probe::identify(&sys);
        serde_json::to_string(&id).expect("an identity encodes");
    }
});
