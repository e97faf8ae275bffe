//! Bearer tokens: read from files (trimmed), generated from OS entropy, compared in
//! constant time, never logged. The collector checks them; clients send them.

use std::path::{Path, PathBuf};

/// A token file that cannot be used, or a token that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read token file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {} is empty; put a secret in it", .0.display())]
    Empty(PathBuf),
    #[error("cannot write token file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Entropy(#[from] super::EntropyError),
}

/// For rooms whose errors are still text.
impl From<TokenError> for String {
    fn from(e: TokenError) -> String {
        e.to_string()
    }
}

#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token file's contents, trimmed of surrounding whitespace; empty is an error.
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let t = text.trim();
        if t.is_empty() {
            return Err(TokenError::Empty(path.to_path_buf()));
        }
        Ok(Token(t.to_string()))
    }

    /// A fresh random token (256 bits from the OS entropy source), written to `path`
    /// with mode 0600.
    pub fn generate(path: &Path) -> Result<Token, TokenError> {
        let t = crate::util::entropy::secret_hex(32)?;
        write_private(path, &t).map_err(|source| TokenError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Token(t))
    }

    /// Write the secret to `path`, readable by its owner alone (mode 0600).
    pub fn write_private(&self, path: &Path) -> std::io::Result<()> {
        write_private(path, &self.0)
    }

    /// The secret itself, for a client to send (never print it).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Does `Authorization: Bearer <t>` carry this token?
    pub fn accepts(&self, header: Option<&str>) -> bool {
        let Some(given) = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
        else {
            return false;
        };
        // `subtle` compares in constant time behind an optimisation barrier (only a
        // length mismatch, which reveals nothing about the secret, answers early).
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bearer_tokens() {
        let t = super::Token("s3cret".into());
        assert!(t.accepts(Some("Bearer s3cret")));
        assert!(!t.accepts(Some("Bearer s3cre")));
        assert!(!t.accepts(Some("Bearer s3crett")));
        assert!(!t.accepts(Some("Basic s3cret")));
        assert!(!t.accepts(None));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }
}
