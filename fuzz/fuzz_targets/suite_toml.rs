//! Any text as a suite file (`fleetscope probe --suite FILE`): a suite or an error that
//! names the problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fleetscope::probe::suite::Suite::parse(text, "fuzz");
    }
});
