//! The real `adb` client, driven as a child process: located from `--adb`, `$ADB` or
//! `PATH`, every call bounded by a timeout, failures reported with adb's own words.

use super::DeviceError;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Adb {
    pub path: PathBuf,
}

/// One line of `adb devices -l`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeviceEntry {
    pub serial: String,
    /// `device`, `unauthorized`, `offline`, `recovery`, `sideload`, `no permissions`, ...
    pub state: String,
    /// `product`, `model`, `device`, `transport_id`, `usb`.
    pub attrs: BTreeMap<String, String>,
}

/// What a finished adb call printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    /// adb's own complaint, or the exit status when it said nothing.
    pub fn complaint(&self) -> String {
        let e = self.stderr.trim();
        if e.is_empty() {
            format!("adb exited with {:?}", self.code)
        } else {
            e.lines().next().unwrap_or(e).to_string()
        }
    }
}

impl Adb {
    /// `explicit` (`--adb`), else `$ADB`, else `adb` on `PATH`.
    pub fn locate(explicit: Option<&Path>) -> Result<Adb, DeviceError> {
        if let Some(p) = explicit {
            return if p.is_file() {
                Ok(Adb {
                    path: p.to_path_buf(),
                })
            } else {
                Err(DeviceError::NoAdb(format!(
                    "--adb {}: no such file",
                    p.display()
                )))
            };
        }
        if let Some(p) = std::env::var_os("ADB").filter(|v| !v.is_empty()) {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(Adb { path: p })
            } else {
                Err(DeviceError::NoAdb(format!(
                    "$ADB={}: no such file",
                    p.display()
                )))
            };
        }
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("adb"))
            .find(|p| p.is_file())
            .map(|path| Adb { path })
            .ok_or_else(|| DeviceError::NoAdb("adb not found: install the Android platform tools (Debian: apt install adb), or pass --adb PATH or set $ADB".into()))
    }

    /// Run `adb ARGS`, killing it after `timeout`.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Result<Output, DeviceError> {
        let mut child = Command::new(&self.path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| DeviceError::Adb(format!("cannot run {}: {e}", self.path.display())))?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_string(&mut s);
            }
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_string(&mut s);
            }
            s
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(DeviceError::Adb(format!(
                        "adb {} did not finish within {} s",
                        args.join(" "),
                        timeout.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(DeviceError::Adb(format!("waiting for adb: {e}"))),
            }
        };
        Ok(Output {
            code: status.and_then(|s| s.code()),
            stdout: reader.join().unwrap_or_default(),
            stderr: err_reader.join().unwrap_or_default(),
        })
    }

    /// `adb devices -l`, parsed.
    pub fn devices(&self) -> Result<Vec<DeviceEntry>, DeviceError> {
        let out = self.run(&["devices", "-l"], Duration::from_secs(30))?;
        if !out.ok() {
            return Err(DeviceError::Adb(format!(
                "adb devices failed: {}",
                out.complaint()
            )));
        }
        Ok(parse_devices(&out.stdout))
    }

    /// `adb -s SERIAL shell COMMAND` (one string, as adb passes it to the device shell).
    pub fn shell(
        &self,
        serial: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<Output, DeviceError> {
        self.run(&["-s", serial, "shell", command], timeout)
    }

    /// `adb -s SERIAL get-state`: `device`, or adb's complaint.
    pub fn state(&self, serial: &str) -> Result<String, DeviceError> {
        let out = self.run(&["-s", serial, "get-state"], Duration::from_secs(10))?;
        if out.ok() {
            Ok(out.stdout.trim().to_string())
        } else {
            Err(DeviceError::Adb(out.complaint()))
        }
    }
}

/// Parse `adb devices -l`: `SERIAL  STATE key:value ...`; a state may be two words
/// (`no permissions`, followed by a parenthesised hint).
pub fn parse_devices(text: &str) -> Vec<DeviceEntry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("List of devices") && !l.starts_with('*'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let serial = words.next()?.to_string();
            let rest: Vec<&str> = words.collect();
            let state_words: Vec<&str> = rest
                .iter()
                .take_while(|w| !w.contains(':'))
                .copied()
                .collect();
            let state = state_words.join(" ");
            let attrs = rest
                .iter()
                .filter_map(|w| w.split_once(':'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (!state.is_empty()).then_some(DeviceEntry {
                serial,
                state,
                attrs,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn devices_output() {
        let text = "List of devices attached\nemulator-5554          device product:sdk_gphone64 model:Pixel_8 device:emu64 transport_id:1\nR5CW123 unauthorized usb:1-1 transport_id:2\n0123 offline transport_id:3\nABC no permissions (user in plugdev group; are your udev rules wrong?) usb:1-2\n\n";
        let d = super::parse_devices(text);
        assert_eq!(d.len(), 4);
        assert_eq!(
            (d[0].serial.as_str(), d[0].state.as_str()),
            ("emulator-5554", "device")
        );
        assert_eq!(d[0].attrs.get("model").map(String::as_str), Some("Pixel_8"));
        assert_eq!(d[1].state, "unauthorized");
        assert_eq!(d[2].state, "offline");
        assert!(d[3].state.starts_with("no permissions"));
        assert!(super::parse_devices("List of devices attached\n\n").is_empty());
    }
}
