//! Pinning threads to CPUs and reading the clock they run at (no root needed).

/// Pin the calling thread to `cpus`. Returns an error string when the kernel refuses
/// (e.g. a CPU went offline); the caller records it and runs unpinned.
pub fn pin_current_thread(cpus: &[u32]) -> Result<(), PinError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if cpus.is_empty() {
            return Ok(());
        }
        // SAFETY: cpu_set_t is plain data; CPU_SET bounds-checks against its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in cpus {
                if (c as usize) < libc::CPU_SETSIZE as usize {
                    libc::CPU_SET(c as usize, &mut set);
                }
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(PinError::Refused {
                    cpus: cpus.to_vec(),
                    source: std::io::Error::last_os_error(),
                });
            }
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = cpus;
        Err(PinError::Unsupported)
    }
}

/// Why a thread could not be pinned: the measurement still runs, unpinned, and the
/// report says so.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("sched_setaffinity({cpus:?}) failed: {source}")]
    Refused {
        cpus: Vec<u32>,
        source: std::io::Error,
    },
    #[error("CPU pinning is only implemented for Linux and Android")]
    Unsupported,
}

/// The CPUs this process may currently run on.
pub fn allowed_cpus() -> Vec<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: as above.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            return (0..libc::CPU_SETSIZE as u32)
                .filter(|&c| libc::CPU_ISSET(c as usize, &set))
                .collect();
        }
    }
    (0..std::thread::available_parallelism().map_or(1, |n| n.get() as u32)).collect()
}

/// Mean `scaling_cur_freq` over `cpus`, where readable.
pub fn cur_freq_khz(cpus: &[u32]) -> Option<u64> {
    let read: Vec<u64> = cpus
        .iter()
        .filter_map(|c| {
            std::fs::read_to_string(format!(
                "/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_cur_freq"
            ))
            .ok()
        })
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    (!read.is_empty()).then(|| read.iter().sum::<u64>() / read.len() as u64)
}
