//! What can go wrong driving phones through adb, at this room's door.

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// No adb client to drive (`--adb`, `$ADB`, `PATH`).
    #[error("{0}")]
    NoAdb(String),
    /// adb could not be run, did not finish, or refused (its own words).
    #[error("{0}")]
    Adb(String),
    /// No probe binary for a device's ABI.
    #[error("{0}")]
    NoProbe(String),
    /// Nothing to run on.
    #[error(
        "no devices to run on: attach one (see `fleetscope devices`) or name one with --device"
    )]
    NoDevices,
    #[error(transparent)]
    Probe(#[from] crate::probe::ProbeError),
}

/// For rooms whose errors are still text (and this room's per-device steps, whose
/// failures become a device's recorded reason).
impl From<DeviceError> for String {
    fn from(e: DeviceError) -> String {
        e.to_string()
    }
}
