//! Random ids: version-4 UUIDs (report ids, the collector's idempotency key).

use super::entropy::{self, EntropyError};

/// A random (version 4) UUID from the OS entropy source.
pub fn uuid_v4() -> Result<String, EntropyError> {
    let mut b = [0u8; 16];
    entropy::fill(&mut b)?;
    Ok(uuid_from(b))
}

/// Format 16 random bytes as a version-4 UUID.
pub fn uuid_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_4_and_unique() {
        let u = super::uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, super::uuid_v4().unwrap());
    }
}
