//! What an Android phone's system services tell any shell user: the GLES line of
//! `dumpsys SurfaceFlinger`, the Vulkan and dEQP features of `pm list features`.
//! Each command runs with a timeout; a refusal is a reason, never a failure.

use crate::schema::GpuInfo;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Output is read up to this much (a SurfaceFlinger dump runs to a few hundred KB).
const MAX_OUTPUT: u64 = 4 << 20;

/// Run `program args` as this process's user; its stdout, or why there is none.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Result<String, String> {
    let what = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("`{what}` cannot be started: {e}"))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{what}` gave no answer within {timeout:?}"));
            }
        }
    };
    let text = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    if !status.success() {
        return Err(format!("`{what}` failed ({status})"));
    }
    Ok(text)
}

/// `GLES: Qualcomm, Adreno (TM) 740, OpenGL ES 3.2 V@0615.65 ...` -> vendor, renderer,
/// version (split at the first two commas: version strings have commas of their own).
pub fn parse_gles_line(dump: &str) -> Option<(String, String, String)> {
    let line = dump.lines().find_map(|l| l.strip_prefix("GLES:"))?;
    let mut parts = line.splitn(3, ',').map(str::trim);
    let (vendor, renderer, version) = (parts.next()?, parts.next()?, parts.next()?);
    (!vendor.is_empty() && !renderer.is_empty())
        .then(|| (vendor.into(), renderer.into(), version.into()))
}

/// A compositor on Vulkan prints no GLES line; its device's `Name:` under
/// `Device properties:` names the GPU instead.
pub fn parse_vulkan_device(dump: &str) -> Option<String> {
    let mut lines = dump
        .lines()
        .skip_while(|l| !l.contains("Device properties"));
    lines
        .find_map(|l| l.trim().strip_prefix("Name:").map(str::trim))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// `feature:NAME=VALUE` lines of `pm list features`, as (name, value); `pm` prints a
/// value only when it is above 0, so a bare feature is 0 (`reqGlEsVersion`'s hex: `None`).
pub fn parse_features(text: &str) -> Vec<(String, Option<i64>)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("feature:"))
        .map(|f| match f.split_once('=') {
            Some((name, v)) => (name.to_string(), v.trim().parse().ok()),
            None => (f.to_string(), Some(0)),
        })
        .collect()
}

/// A packed Vulkan API version (`VK_MAKE_API_VERSION`: variant 3 bits, major 7,
/// minor 10, patch 12) -> `major.minor.patch`.
pub fn vulkan_version(packed: i64) -> Option<String> {
    let v = u32::try_from(packed).ok()?;
    let (major, minor, patch) = ((v >> 22) & 0x7f, (v >> 12) & 0x3ff, v & 0xfff);
    (major > 0).then(|| format!("{major}.{minor}.{patch}"))
}

/// A dEQP level (`year << 16 | month << 8 | day`) -> `YYYY-MM-DD`.
pub fn deqp_date(packed: i64) -> Option<String> {
    let (y, m, d) = (packed >> 16, (packed >> 8) & 0xff, packed & 0xff);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// The GLES renderer string's GPU: `Adreno (TM) 740` -> `Adreno 740`, `Mali-G78` as is.
pub fn model_from_renderer(renderer: &str) -> Option<String> {
    let r = renderer.trim();
    if r.starts_with("Adreno") {
        return super::gpu::adreno_model(r);
    }
    let first = r.split_whitespace().next()?;
    if first.starts_with("Mali-") || first.starts_with("Immortalis-") {
        return Some(first.to_string());
    }
    if r.starts_with("PowerVR") {
        // `PowerVR Rogue GE8320` -> `PowerVR GE8320`, as the GPU catalog names it.
        let words: Vec<&str> = r
            .split_whitespace()
            .filter(|w| !matches!(*w, "Rogue" | "D-Series" | "B-Series" | "C-Series"))
            .collect();
        return Some(words.join(" "));
    }
    if r.starts_with("Xclipse") || r.starts_with("Maleoon") {
        return Some(r.to_string());
    }
    None
}

/// The compositor's renderer string, and the GPU it names where nothing named it yet.
fn take_renderer(gpu: &mut GpuInfo, renderer: String, src: &str) {
    if gpu.model.is_none() {
        if let Some(model) = model_from_renderer(&renderer) {
            gpu.model = Some(model);
            gpu.source = Some(src.into());
            gpu.sources.insert("model".into(), src.into());
        }
    }
    gpu.renderer = Some(renderer);
    gpu.sources.insert("renderer".into(), src.into());
}

/// Ask the phone's services and merge their answers into `gpu`, with each field's source.
pub fn merge_services(gpu: &mut GpuInfo) {
    let timeout = Duration::from_secs(15);
    let from = |gpu: &mut GpuInfo, field: &str, source: &str| {
        gpu.sources.insert(field.into(), source.into());
    };
    match run("dumpsys", &["SurfaceFlinger"], timeout) {
        Ok(dump) => match parse_gles_line(&dump) {
            Some((vendor, renderer, version)) => {
                let src = "dumpsys SurfaceFlinger (GLES line)";
                take_renderer(gpu, renderer, src);
                if gpu.vendor.is_none() {
                    // As the GPU catalog spells vendors.
                    let vendor = match vendor.as_str() {
                        v if v.starts_with("Imagination") => "Imagination".to_string(),
                        v if v.eq_ignore_ascii_case("arm") => "ARM".to_string(),
                        v => v.to_string(),
                    };
                    gpu.vendor = Some(vendor);
                    from(gpu, "vendor", src);
                }
                // `OpenGL ES 3.2 V@0615.65 ...`: the version the driver gives contexts.
                if let Some(v) = version
                    .strip_prefix("OpenGL ES ")
                    .and_then(|r| r.split_whitespace().next())
                {
                    gpu.gles.version = Some(v.into());
                    gpu.gles.detail = Some(version.clone());
                    gpu.gles.reason = None;
                    from(gpu, "gles.version", src);
                }
            }
            None => match parse_vulkan_device(&dump) {
                Some(name) => {
                    take_renderer(gpu, name, "dumpsys SurfaceFlinger (Vulkan device name)")
                }
                None => gpu.service_notes.push(
                    "dumpsys SurfaceFlinger printed neither a `GLES:` line nor a Vulkan device name"
                        .into(),
                ),
            },
        },
        Err(e) => gpu.service_notes.push(e),
    }
    match run("pm", &["list", "features"], timeout) {
        Ok(text) => {
            let src = "pm list features";
            for (name, value) in parse_features(&text) {
                match (name.as_str(), value) {
                    ("android.hardware.vulkan.version", Some(v)) => {
                        if let Some(version) = vulkan_version(v) {
                            gpu.vulkan.version = Some(version);
                            gpu.vulkan.reason = None;
                            from(gpu, "vulkan.version", src);
                        }
                    }
                    ("android.hardware.vulkan.level", Some(v)) => {
                        gpu.vulkan_level = u32::try_from(v).ok();
                        from(gpu, "vulkan_level", src);
                    }
                    ("android.hardware.vulkan.compute", Some(v)) => {
                        gpu.vulkan_compute = u32::try_from(v).ok();
                        from(gpu, "vulkan_compute", src);
                    }
                    ("android.software.opengles.deqp.level", Some(v)) => {
                        gpu.deqp_level = deqp_date(v);
                        from(gpu, "deqp_level", src);
                    }
                    _ => {}
                }
            }
        }
        Err(e) => gpu.service_notes.push(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_packed_versions() {
        assert_eq!(vulkan_version(4206592).as_deref(), Some("1.3.0"));
        assert_eq!(vulkan_version(4198400).as_deref(), Some("1.1.0"));
        assert_eq!(vulkan_version(0), None);
        assert_eq!(vulkan_version(-1), None);
        assert_eq!(deqp_date(132383489).as_deref(), Some("2020-03-01"));
        assert_eq!(deqp_date(5), None);
    }

    #[test]
    fn reads_the_gles_line_and_the_model() {
        let dump = "Display 0\nGLES: Qualcomm, Adreno (TM) 740, OpenGL ES 3.2 V@0615.65 (GIT@1b5b1b2, I1f0a4a3b3e) (Date:11/16/22)\nmore\n";
        let (v, r, ver) = parse_gles_line(dump).unwrap();
        assert_eq!((v.as_str(), r.as_str()), ("Qualcomm", "Adreno (TM) 740"));
        assert!(ver.starts_with("OpenGL ES 3.2"));
        assert_eq!(model_from_renderer(&r).as_deref(), Some("Adreno 740"));
        assert_eq!(model_from_renderer("Mali-G78").as_deref(), Some("Mali-G78"));
        assert_eq!(model_from_renderer("llvmpipe (LLVM 15)"), None);
        assert_eq!(
            model_from_renderer("PowerVR Rogue GE8320").as_deref(),
            Some("PowerVR GE8320")
        );
        assert_eq!(parse_gles_line("GLES: , ,"), None);
        assert_eq!(parse_gles_line("nothing"), None);
        // The render engine's section header is not the GLES line.
        assert_eq!(parse_gles_line(" ------------RE GLES------------\n"), None);
        let vk = "Vulkan\n  Device properties: [\n    Name: Mali-G715\n  ]\n";
        assert_eq!(parse_vulkan_device(vk).as_deref(), Some("Mali-G715"));
    }

    #[test]
    fn reads_the_recorded_service_outputs() {
        let fixture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/tests/fixtures/android/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let (_, r, _) = parse_gles_line(&fixture("surfaceflinger_gles.txt")).unwrap();
        assert_eq!(model_from_renderer(&r).as_deref(), Some("Adreno 740"));
        let (v, r, ver) = parse_gles_line(&fixture("surfaceflinger_gles_mali.txt")).unwrap();
        assert_eq!((v.as_str(), r.as_str()), ("ARM", "Mali-G78"));
        assert!(ver.starts_with("OpenGL ES 3.2 v1.r46p0"), "{ver}");
        let features = parse_features(&fixture("pm_list_features.txt"));
        let get = |n: &str| features.iter().find(|(f, _)| f == n).map(|(_, v)| *v);
        assert_eq!(get("android.hardware.vulkan.compute"), Some(Some(0)));
        assert_eq!(get("android.hardware.vulkan.level"), Some(Some(1)));
        assert_eq!(
            get("android.hardware.vulkan.version")
                .flatten()
                .and_then(vulkan_version)
                .as_deref(),
            Some("1.3.0")
        );
        assert_eq!(
            get("android.software.opengles.deqp.level")
                .flatten()
                .and_then(deqp_date)
                .as_deref(),
            Some("2023-03-01")
        );
        assert_eq!(get("reqGlEsVersion=0x30002"), None);
    }
}
