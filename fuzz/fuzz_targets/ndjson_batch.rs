//! Any bytes as an NDJSON batch, framed and parsed as the collector does: every line is
//! a report or an error naming its line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    for (n, line) in fleetscope::schema::batch_lines(data) {
        assert!(n > last, "line numbers increase");
        last = n;
        let _ = fleetscope::schema::parse_report(line);
    }
});
