//! Command bodies shared by `fleetscope` and the lean `fleetscope-probe`, so both
//! binaries behave the same whatever parses their arguments.

use super::identify::{identify, load_fixture, summary, Sysroot};
use std::path::PathBuf;

/// Where to identify from.
#[derive(Debug, Clone)]
pub enum Target {
    Live,
    Fixture(PathBuf),
    Sysroot(PathBuf),
}

/// `identify`: the text to print, or an error message for stderr (exit status 2).
pub fn identify_command(target: &Target, json: bool) -> Result<String, String> {
    let sys = match target {
        Target::Live => Sysroot::live(),
        Target::Fixture(path) => load_fixture(path)?,
        Target::Sysroot(dir) => {
            if !dir.is_dir() {
                return Err(format!("--sysroot {}: not a directory; pass a folder holding proc/ and sys/ as captured from a device", dir.display()));
            }
            Sysroot::dir(dir)
        }
    };
    let id = identify(&sys);
    if json {
        serde_json::to_string_pretty(&id)
            .map(|s| s + "\n")
            .map_err(|e| format!("cannot encode the result as JSON: {e}"))
    } else {
        Ok(summary(&id))
    }
}
