//! Load a recorded device snapshot in the fixture format of
//! `../shared/datasets/devices/README.md` (`files` and `properties` are all it needs).

use super::Sysroot;
use crate::probe::ProbeError;
use std::collections::BTreeMap;
use std::path::Path;

/// Read a fixture file into a [`Sysroot`]. Errors say what was wrong and what to do.
pub fn load_fixture(path: &Path) -> Result<Sysroot, ProbeError> {
    let bytes = std::fs::read(path).map_err(|source| ProbeError::Read {
        what: "fixture",
        path: path.to_path_buf(),
        source,
        hint: "pass a device snapshot like ../shared/datasets/devices/pixel-8.json",
    })?;
    fixture_from_bytes(&bytes, &path.display().to_string())
}

/// Parse fixture JSON. Non-string file contents or property values are skipped.
pub fn fixture_from_bytes(bytes: &[u8], name: &str) -> Result<Sysroot, ProbeError> {
    let bad = |problem: String| ProbeError::Fixture {
        name: name.to_string(),
        problem,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!(" is not JSON ({e}); pass a device snapshot like ../shared/datasets/devices/pixel-8.json")))?;
    let obj = value.as_object().ok_or_else(|| {
        bad(": the top level must be a JSON object with `files` and `properties`".into())
    })?;
    let strings = |key: &str| -> Result<BTreeMap<String, String>, ProbeError> {
        match obj.get(key) {
            None | Some(serde_json::Value::Null) => Ok(BTreeMap::new()),
            Some(serde_json::Value::Object(m)) => Ok(m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()),
            Some(_) => Err(bad(format!(
                ": `{key}` must be an object of path/name -> string"
            ))),
        }
    };
    let files = strings("files")?;
    let props = strings("properties")?;
    if !obj.contains_key("files") && !obj.contains_key("properties") {
        return Err(bad(
            " has neither `files` nor `properties`; it is not a device snapshot".into(),
        ));
    }
    Ok(Sysroot::snapshot(files, props, format!("fixture {name}")))
}
