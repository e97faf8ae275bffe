//! Any text as a line of a running suite's stdout (what `fleetscope run` reads from a
//! phone that may be cut off mid-line): a result, not a result, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(Ok(r)) = fleetscope::schema::parse_result_line(line) {
        let again = fleetscope::schema::result_line(&r);
        assert!(!again.contains('\n'), "a result line is one line");
        assert!(fleetscope::schema::parse_result_line(&again).is_some_and(|r| r.is_ok()));
    }
});
