//! GPU vendor, model and API versions. Model from kgsl / Mali sysfs, else (on the
//! phone) the GLES renderer string, else the SoC catalog; OpenGL ES from
//! `ro.opengles.version` and the compositor's GLES line; Vulkan from the platform
//! feature files and `pm list features`, and on a live device Vulkan and OpenCL by loading the system libraries in a
//! child process, so a library that crashes on load is a recorded reason, never a
//! crash of the probe.

use super::Sysroot;
use crate::catalog::{catalog, Soc};
use crate::schema::{ApiSupport, GpuInfo};

const MALI_GPUINFO: &[&str] = &[
    "/sys/class/misc/mali0/device/gpuinfo",
    "/sys/devices/platform/mali/gpuinfo",
    "/proc/gpuinfo",
];
const PERMISSION_DIRS: &[&str] = &[
    "/vendor/etc/permissions",
    "/system/etc/permissions",
    "/system/vendor/etc/permissions",
];

pub fn identify_gpu(sys: &Sysroot, soc: Option<&Soc>) -> GpuInfo {
    let cat = catalog();
    let mut gpu = GpuInfo::default();
    if let Some(raw) = sys.read_line("/sys/class/kgsl/kgsl-3d0/gpu_model") {
        if let Some(model) = adreno_model(&raw) {
            gpu.vendor = Some("Qualcomm".into());
            gpu.model = Some(model);
            gpu.source = Some("/sys/class/kgsl/kgsl-3d0/gpu_model".into());
        }
    }
    if gpu.model.is_none() {
        for path in MALI_GPUINFO {
            if let Some(model) = sys.read_line(path).and_then(|l| mali_model(&l)) {
                gpu.vendor = Some("ARM".into());
                gpu.model = Some(model);
                gpu.source = Some((*path).into());
                break;
            }
        }
    }
    gpu.gles = match sys.prop("ro.opengles.version").map(|v| v.parse::<u32>()) {
        Some(Ok(v)) if v > 0 => ApiSupport::found(format!("{}.{}", v >> 16, v & 0xffff)),
        Some(_) => ApiSupport::missing("ro.opengles.version is not a number"),
        None => ApiSupport::missing(
            "ro.opengles.version not set (not Android, or the property was not captured)",
        ),
    };
    gpu.vulkan = vulkan_from_features(sys).unwrap_or_else(|| {
        if sys.live {
            child_check("vulkan")
        } else {
            ApiSupport::missing("no android.hardware.vulkan.version feature file in the snapshot; the library can only be probed on the device")
        }
    });
    gpu.opencl = if sys.live {
        child_check("opencl")
    } else {
        ApiSupport::missing("OpenCL can only be probed by loading the library on the device itself")
    };
    gpu.egl_driver = driver_prop(sys, &mut gpu.sources, "egl_driver", "ro.hardware.egl");
    gpu.vulkan_driver = driver_prop(sys, &mut gpu.sources, "vulkan_driver", "ro.hardware.vulkan");
    // On the phone itself, its system services name the GPU and the API levels.
    if sys.live && sys.has_props() {
        super::services::merge_services(&mut gpu);
    }
    // The renderer names the GPU; the SoC catalog, where it agrees, also its core
    // count (`Mali-G78` -> `Mali-G78 MP20`), and so its peak.
    let catalogued = soc.and_then(|s| s.gpu.clone());
    if let (Some(model), Some(cat)) = (gpu.model.clone(), catalogued.as_ref()) {
        if gpu.sources.contains_key("model") && *cat != model && cat.starts_with(&model) {
            let src = format!(
                "soc catalog {}, agreeing with the GLES renderer",
                soc.map(|s| s.chipset.as_str()).unwrap_or("")
            );
            gpu.model = Some(cat.clone());
            gpu.source = Some(src.clone());
            gpu.sources.insert("model".into(), src);
        }
    }
    if gpu.model.is_none() {
        if let Some(model) = catalogued {
            gpu.vendor = cat.gpu(&model).map(|g| g.vendor.clone());
            gpu.model = Some(model);
            gpu.source = Some(format!(
                "soc catalog {}",
                soc.map(|s| s.chipset.as_str()).unwrap_or("")
            ));
        }
    }
    if gpu.vendor.is_none() {
        if let Some(egl) = sys.prop("ro.hardware.egl") {
            gpu.vendor = egl_vendor(egl).map(str::to_string);
            gpu.source.get_or_insert_with(|| "ro.hardware.egl".into());
        }
    }
    gpu.peak_gflops = gpu
        .model
        .as_deref()
        .and_then(|m| cat.gpu(m))
        .and_then(|g| g.peak_gflops);
    gpu
}

/// A driver-name property, noting its source under `field`.
fn driver_prop(
    sys: &Sysroot,
    sources: &mut std::collections::BTreeMap<String, String>,
    field: &str,
    key: &str,
) -> Option<String> {
    let v = sys.prop(key).filter(|v| !v.is_empty())?;
    sources.insert(field.into(), key.into());
    Some(v.to_string())
}

/// `Adreno630v2` -> `Adreno 630`; `Adreno (TM) 740` -> `Adreno 740`.
pub(super) fn adreno_model(raw: &str) -> Option<String> {
    let digits: String = raw
        .strip_prefix("Adreno")?
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.len() == 3).then(|| format!("Adreno {digits}"))
}

/// `Mali-G76 10 cores r0p1 0x7212` -> `Mali-G76 MP10`.
pub(super) fn mali_model(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let name = words
        .next()
        .filter(|w| w.starts_with("Mali-") || w.starts_with("Immortalis-"))?;
    match (
        words.next().and_then(|n| n.parse::<u32>().ok()),
        words.next(),
    ) {
        (Some(n), Some(w)) if w.starts_with("core") => Some(format!("{name} MP{n}")),
        _ => Some(name.to_string()),
    }
}

fn egl_vendor(egl: &str) -> Option<&'static str> {
    let e = egl.to_lowercase();
    Some(match () {
        _ if e.contains("adreno") => "Qualcomm",
        _ if e.contains("mali") => "ARM",
        _ if e.contains("powervr") || e.contains("img") => "Imagination",
        _ if e.contains("tegra") || e.contains("nvidia") => "Nvidia",
        _ if e.contains("vivante") || e.contains("gc") => "Vivante",
        _ => return None,
    })
}

/// `android.hardware.vulkan.version-1_1.xml` in the permissions directories -> `1.1`.
fn vulkan_from_features(sys: &Sysroot) -> Option<ApiSupport> {
    let mut best: Option<(u32, u32)> = None;
    for dir in PERMISSION_DIRS {
        for name in sys.list(dir) {
            let Some(rest) = name
                .strip_prefix("android.hardware.vulkan.version-")
                .and_then(|r| r.strip_suffix(".xml"))
            else {
                continue;
            };
            let mut parts = rest.split('_').map(|p| p.parse::<u32>().ok());
            if let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) {
                best = best.max(Some((major, minor)));
            }
        }
    }
    best.map(|(a, b)| ApiSupport::found(format!("{a}.{b}")))
}

/// Run `<this executable> __gpu-api-check API` and read its one line of output.
fn child_check(api: &str) -> ApiSupport {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return ApiSupport::missing(format!(
                "cannot find own executable to probe {api} safely: {e}"
            ))
        }
    };
    // Only our own binaries answer `__gpu-api-check` (a test harness or an embedding program would not).
    if !exe
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("fleetscope"))
    {
        return ApiSupport::missing(format!(
            "{api} is probed only by the fleetscope binaries, not from {}",
            exe.display()
        ));
    }
    match std::process::Command::new(exe)
        .arg("__gpu-api-check")
        .arg(api)
        .stderr(std::process::Stdio::null())
        .output()
    {
        Err(e) => ApiSupport::missing(format!("could not start the {api} check: {e}")),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().next().unwrap_or("").trim();
            if let Some(v) = line.strip_prefix("version ") {
                let (version, detail) = v
                    .split_once(' ')
                    .map_or((v, None), |(a, b)| (a, Some(b.trim().to_string())));
                ApiSupport {
                    version: Some(version.to_string()),
                    detail: detail.filter(|d| !d.is_empty()),
                    reason: None,
                }
            } else if let Some(r) = line.strip_prefix("missing ") {
                ApiSupport::missing(r)
            } else {
                ApiSupport::missing(match out.status.code() {
                    Some(c) => {
                        format!("the {api} library check exited with status {c} without an answer")
                    }
                    None => format!(
                        "loading the {api} library crashed the check process ({})",
                        signal_of(&out.status)
                    ),
                })
            }
        }
    }
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    status
        .signal()
        .map(|s| format!("signal {s}"))
        .unwrap_or_else(|| "no exit code".into())
}
#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> String {
    "no exit code".into()
}

/// The body of `__gpu-api-check API`: load the library, ask its version, print one
/// line (`version X` or `missing REASON`). Runs in a child process on purpose.
pub fn api_check_main(api: &str) -> i32 {
    let answer = match api {
        "vulkan" => libs::vulkan(),
        "opencl" => libs::opencl(),
        other => Err(format!("unknown API {other:?}")),
    };
    match answer {
        Ok(v) => println!("version {v}"),
        Err(r) => println!("missing {r}"),
    }
    0
}

mod libs {
    //! Minimal FFI to ask a Vulkan or OpenCL driver for its version.
    use libloading::{Library, Symbol};
    use std::ffi::c_void;

    const VULKAN_LIBS: &[&str] = &[
        "libvulkan.so.1",
        "libvulkan.so",
        "/system/lib64/libvulkan.so",
        "/system/lib/libvulkan.so",
    ];
    const OPENCL_LIBS: &[&str] = &[
        "libOpenCL.so.1",
        "libOpenCL.so",
        "/vendor/lib64/libOpenCL.so",
        "/system/vendor/lib64/libOpenCL.so",
        "/system/lib64/libOpenCL.so",
        "/vendor/lib/libOpenCL.so",
        "/system/vendor/lib/libOpenCL.so",
    ];

    /// The library to load: `$env_var` alone when set (a vendor path, or a test), else the usual names.
    fn open(env_var: &str, defaults: &[&str]) -> Result<Library, String> {
        let chosen = std::env::var(env_var).ok().filter(|v| !v.is_empty());
        let candidates: Vec<&str> = match &chosen {
            Some(path) => vec![path.as_str()],
            None => defaults.to_vec(),
        };
        let mut last = String::new();
        for name in &candidates {
            // SAFETY: loading a system graphics library; this runs in a throwaway child process.
            match unsafe { Library::new(name) } {
                Ok(l) => return Ok(l),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!(
            "library not found ({}): {last}",
            candidates.join(", ")
        ))
    }

    #[repr(C)]
    struct InstanceCreateInfo {
        s_type: u32,
        p_next: *const c_void,
        flags: u32,
        app_info: *const c_void,
        layer_count: u32,
        layers: *const *const i8,
        extension_count: u32,
        extensions: *const *const i8,
    }

    type CreateInstance =
        unsafe extern "C" fn(*const InstanceCreateInfo, *const c_void, *mut *mut c_void) -> i32;
    type EnumerateDevices = unsafe extern "C" fn(*mut c_void, *mut u32, *mut *mut c_void) -> i32;
    type DeviceProperties = unsafe extern "C" fn(*mut c_void, *mut u8);
    type DestroyInstance = unsafe extern "C" fn(*mut c_void, *const c_void);

    /// The highest `apiVersion` among the physical devices the driver exposes.
    pub fn vulkan() -> Result<String, String> {
        let lib = open("FLEETSCOPE_VULKAN_LIB", VULKAN_LIBS)?;
        // SAFETY: signatures follow the Vulkan 1.0 specification; buffers are sized above the
        // largest struct they receive (VkPhysicalDeviceProperties is 824 bytes).
        unsafe {
            let create: Symbol<CreateInstance> =
                lib.get(b"vkCreateInstance\0").map_err(|e| e.to_string())?;
            let enumerate: Symbol<EnumerateDevices> = lib
                .get(b"vkEnumeratePhysicalDevices\0")
                .map_err(|e| e.to_string())?;
            let props: Symbol<DeviceProperties> = lib
                .get(b"vkGetPhysicalDeviceProperties\0")
                .map_err(|e| e.to_string())?;
            let destroy: Symbol<DestroyInstance> =
                lib.get(b"vkDestroyInstance\0").map_err(|e| e.to_string())?;
            let info = InstanceCreateInfo {
                s_type: 1,
                p_next: std::ptr::null(),
                flags: 0,
                app_info: std::ptr::null(),
                layer_count: 0,
                layers: std::ptr::null(),
                extension_count: 0,
                extensions: std::ptr::null(),
            };
            let mut instance: *mut c_void = std::ptr::null_mut();
            let r = create(&info, std::ptr::null(), &mut instance);
            if r != 0 || instance.is_null() {
                return Err(format!("the Vulkan loader is present but vkCreateInstance failed (VkResult {r}): no Vulkan driver"));
            }
            let mut count: u32 = 0;
            enumerate(instance, &mut count, std::ptr::null_mut());
            let mut devices: Vec<*mut c_void> = vec![std::ptr::null_mut(); count.min(16) as usize];
            count = devices.len() as u32;
            if count > 0 {
                enumerate(instance, &mut count, devices.as_mut_ptr());
            }
            let mut best = 0u32;
            let mut name = String::new();
            for d in devices.iter().take(count as usize).filter(|d| !d.is_null()) {
                let mut buf = vec![0u8; 2048];
                props(*d, buf.as_mut_ptr());
                let version = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
                if version > best {
                    best = version;
                    // VkPhysicalDeviceProperties.deviceName: char[256] at byte offset 20.
                    let raw = &buf[20..276];
                    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                    name = String::from_utf8_lossy(&raw[..end]).trim().to_string();
                }
            }
            destroy(instance, std::ptr::null());
            if best == 0 {
                return Err("the Vulkan loader is present but reports no physical device".into());
            }
            Ok(format!(
                "{}.{}.{} {name}",
                (best >> 22) & 0x7f,
                (best >> 12) & 0x3ff,
                best & 0xfff
            ))
        }
    }

    type GetPlatformIds = unsafe extern "C" fn(u32, *mut *mut c_void, *mut u32) -> i32;
    type GetPlatformInfo =
        unsafe extern "C" fn(*mut c_void, u32, usize, *mut c_void, *mut usize) -> i32;
    const CL_PLATFORM_VERSION: u32 = 0x0901;

    /// `OpenCL 3.0 ...` of the first platform.
    pub fn opencl() -> Result<String, String> {
        let lib = open("FLEETSCOPE_OPENCL_LIB", OPENCL_LIBS)?;
        // SAFETY: signatures follow the OpenCL 1.0 specification; the info buffer is bounded.
        unsafe {
            let ids: Symbol<GetPlatformIds> =
                lib.get(b"clGetPlatformIDs\0").map_err(|e| e.to_string())?;
            let info: Symbol<GetPlatformInfo> =
                lib.get(b"clGetPlatformInfo\0").map_err(|e| e.to_string())?;
            let mut platform: *mut c_void = std::ptr::null_mut();
            let mut n: u32 = 0;
            let r = ids(1, &mut platform, &mut n);
            if r != 0 || n == 0 || platform.is_null() {
                return Err(format!(
                    "OpenCL library loads but clGetPlatformIDs found no platform (error {r})"
                ));
            }
            let mut buf = vec![0u8; 256];
            let mut len = 0usize;
            let r = info(
                platform,
                CL_PLATFORM_VERSION,
                buf.len(),
                buf.as_mut_ptr().cast(),
                &mut len,
            );
            if r != 0 {
                return Err(format!("clGetPlatformInfo failed (error {r})"));
            }
            let text = String::from_utf8_lossy(&buf[..len.min(buf.len())])
                .trim_end_matches('\0')
                .trim()
                .to_string();
            Ok(text.strip_prefix("OpenCL ").unwrap_or(&text).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_strings() {
        assert_eq!(adreno_model("Adreno630v2").as_deref(), Some("Adreno 630"));
        assert_eq!(
            adreno_model("Adreno (TM) 740").as_deref(),
            Some("Adreno 740")
        );
        assert_eq!(adreno_model("Mali"), None);
        assert_eq!(
            mali_model("Mali-G76 10 cores r0p1 0x7212").as_deref(),
            Some("Mali-G76 MP10")
        );
        assert_eq!(
            mali_model("Immortalis-G715 11 cores").as_deref(),
            Some("Immortalis-G715 MP11")
        );
        assert_eq!(mali_model("PowerVR"), None);
    }
}
