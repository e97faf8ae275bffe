//! Any bytes through the collector's parser and validator: it must return a report or
//! an error, never panic, and whatever it accepts must re-encode and re-validate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = fleetscope::schema::parse_report(data) {
        let again = serde_json::to_vec(&report).expect("an accepted report encodes");
        fleetscope::schema::parse_report(&again).expect("an accepted report re-validates");
    }
});
