//! Where identification reads from: a root path plus a property source, so the same
//! code reads the live device (`/` and `getprop`), a directory snapshot, or a
//! recorded fixture.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are read only up to it (sysfs files are tiny; this only
/// guards against a snapshot with a huge or endless file in it).
const MAX_FILE_BYTES: u64 = 1 << 20;

/// A root to read device files and Android properties from.
#[derive(Debug, Clone)]
pub struct Sysroot {
    files: Files,
    props: BTreeMap<String, String>,
    /// Where the properties came from, for the report's `source` fields.
    pub props_origin: String,
    /// True when this is the machine the probe runs on (GPU libraries may be loaded).
    pub live: bool,
}

#[derive(Debug, Clone)]
enum Files {
    Dir(PathBuf),
    Snapshot(BTreeMap<String, String>),
}

impl Sysroot {
    /// The machine this process runs on: `/`, with properties from `getprop` when it exists.
    pub fn live() -> Self {
        let (props, origin) = match std::process::Command::new("getprop").output() {
            Ok(out) if out.status.success() => (
                parse_getprop(&String::from_utf8_lossy(&out.stdout)),
                "getprop".to_string(),
            ),
            _ => (
                BTreeMap::new(),
                "none (no getprop: not Android)".to_string(),
            ),
        };
        Sysroot {
            files: Files::Dir(PathBuf::from("/")),
            props,
            props_origin: origin,
            live: true,
        }
    }

    /// A directory holding a device's files under their absolute paths
    /// (`DIR/proc/cpuinfo`, `DIR/sys/devices/system/cpu/...`). Properties come from
    /// `DIR/getprop.txt` (the output of `adb shell getprop`) when present, else from the
    /// snapshot's `build.prop` files.
    pub fn dir(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let mut sys = Sysroot {
            files: Files::Dir(root.clone()),
            props: BTreeMap::new(),
            props_origin: String::new(),
            live: false,
        };
        if let Some(text) = sys.read("/getprop.txt") {
            sys.props = parse_getprop(&text);
            sys.props_origin = format!("{}", root.join("getprop.txt").display());
        } else {
            let mut origins = Vec::new();
            for path in [
                "/default.prop",
                "/system/build.prop",
                "/vendor/build.prop",
                "/system/vendor/build.prop",
            ] {
                if let Some(text) = sys.read(path) {
                    for (k, v) in parse_build_prop(&text) {
                        sys.props.entry(k).or_insert(v);
                    }
                    origins.push(path);
                }
            }
            sys.props_origin = if origins.is_empty() {
                "none".into()
            } else {
                origins.join(", ")
            };
        }
        sys
    }

    /// An in-memory snapshot: file contents by absolute path, and properties.
    pub fn snapshot(
        files: BTreeMap<String, String>,
        props: BTreeMap<String, String>,
        origin: impl Into<String>,
    ) -> Self {
        Sysroot {
            files: Files::Snapshot(files),
            props,
            props_origin: origin.into(),
            live: false,
        }
    }

    /// The root directory, for a directory-backed sysroot.
    pub fn root(&self) -> Option<&Path> {
        match &self.files {
            Files::Dir(p) => Some(p),
            Files::Snapshot(_) => None,
        }
    }

    /// The text of a file, or `None` when it is missing or unreadable.
    pub fn read(&self, path: &str) -> Option<String> {
        match &self.files {
            Files::Snapshot(map) => map.get(path).cloned(),
            Files::Dir(root) => {
                let full = root.join(path.trim_start_matches('/'));
                let file = std::fs::File::open(full).ok()?;
                let mut bytes = Vec::new();
                file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).ok()?;
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    /// A file's first line, trimmed; `None` when missing or blank.
    pub fn read_line(&self, path: &str) -> Option<String> {
        let text = self.read(path)?;
        let line = text.lines().next().unwrap_or("").trim();
        (!line.is_empty()).then(|| line.to_string())
    }

    /// A file holding one unsigned integer.
    pub fn read_u64(&self, path: &str) -> Option<u64> {
        self.read_line(path)?.parse().ok()
    }

    /// A file holding one integer, possibly negative.
    pub fn read_i64(&self, path: &str) -> Option<i64> {
        self.read_line(path)?.parse().ok()
    }

    /// Names of the entries directly inside `dir`, sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let dir = dir.trim_end_matches('/');
        let mut names: Vec<String> = match &self.files {
            Files::Snapshot(map) => {
                let prefix = format!("{dir}/");
                map.range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(k, _)| k[prefix.len()..].split('/').next().map(str::to_string))
                    .collect()
            }
            Files::Dir(root) => std::fs::read_dir(root.join(dir.trim_start_matches('/')))
                .map(|it| {
                    it.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
        };
        names.sort();
        names.dedup();
        names
    }

    /// An Android property, trimmed; `None` when unset or blank.
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn has_props(&self) -> bool {
        !self.props.is_empty()
    }
}

/// `getprop` output: lines of `[key]: [value]`.
pub fn parse_getprop(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix('[')?;
            let (key, rest) = rest.split_once("]: [")?;
            let value = rest.strip_suffix(']')?;
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

/// `build.prop` text: `key=value` lines, `#` comments.
pub fn parse_build_prop(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getprop_and_build_prop() {
        let p = parse_getprop(
            "[ro.board.platform]: [kona]\n[ro.soc.model]: [SM8250]\ngarbage\n[x]: []\n",
        );
        assert_eq!(p.get("ro.board.platform").map(String::as_str), Some("kona"));
        assert_eq!(p.get("ro.soc.model").map(String::as_str), Some("SM8250"));
        assert_eq!(p.len(), 3);
        let b = parse_build_prop("# c\nro.a=1\n ro.b = two words \n=x\nnoequals\n");
        assert_eq!(b.get("ro.b").map(String::as_str), Some("two words"));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn snapshot_listing() {
        let files: BTreeMap<String, String> = [
            ("/sys/devices/system/cpu/cpu0/online", "1"),
            ("/sys/devices/system/cpu/cpu1/online", "1"),
            ("/sys/devices/system/cpu/possible", "0-1"),
            ("/sys/devices/system/cpux", "no"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Sysroot::snapshot(files, BTreeMap::new(), "test");
        assert_eq!(
            s.list("/sys/devices/system/cpu"),
            vec!["cpu0", "cpu1", "possible"]
        );
    }
}
