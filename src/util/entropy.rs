//! Bytes from the operating system's entropy source, through the `getrandom` crate
//! (the getrandom(2) system call, or `/dev/urandom` on kernels before 3.17, as on old
//! Android phones). When neither answers this is an error the caller must report: a
//! token, a salt or an id is never derived from the time or the process id instead.

/// The OS entropy source could not be read.
#[derive(Debug)]
pub struct EntropyError(String);

impl std::fmt::Display for EntropyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot read the operating system's random source ({}); \
             fleetscope will not make a secret or an id without it: \
             run where getrandom(2) or /dev/urandom is available",
            self.0
        )
    }
}

impl std::error::Error for EntropyError {}

/// Fill `buf` from the OS entropy source.
pub fn fill(buf: &mut [u8]) -> Result<(), EntropyError> {
    getrandom::fill(buf).map_err(|e| EntropyError(e.to_string()))
}

/// `bytes` random bytes as lowercase hex (a token of 32 bytes is 256 bits).
pub fn secret_hex(bytes: usize) -> Result<String, EntropyError> {
    let mut b = vec![0u8; bytes];
    fill(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_full_length_and_differ() {
        let (a, b) = (
            super::secret_hex(32).unwrap(),
            super::secret_hex(32).unwrap(),
        );
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        // Larger than one getrandom call may return at once.
        let mut big = vec![0u8; 1 << 20];
        super::fill(&mut big).unwrap();
        assert!(big.iter().filter(|&&x| x == 0).count() < 8192);
    }

    #[test]
    fn the_error_says_what_to_do() {
        let msg = super::EntropyError("getrandom: ENOSYS".into()).to_string();
        assert!(msg.contains("ENOSYS") && msg.contains("will not make a secret"));
    }
}
