//! How the store reaches PostgreSQL: libpq's `sslmode` (and `sslrootcert`) read from
//! the URL and carried out with rustls, as libpq does it:
//! - `disable`: plain TCP.
//! - `prefer` (the default) and `require`: TLS (`prefer` falls back to plain TCP when
//!   the server offers none); the certificate is not checked, unless `sslrootcert` is
//!   given, which makes `require` behave as `verify-ca`.
//! - `verify-ca`: the certificate must chain to `sslrootcert` (or, without it, to the
//!   Mozilla roots); `verify-full`: that, and it must name the host.
//!
//! Managed databases ask for `sslmode=require`; `verify-full` is what stops a machine in
//! the middle.

use super::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A connection URL split into what the `postgres` crate reads and what TLS needs.
/// (No `Debug`: the URL may hold a password.)
pub struct Target {
    /// The URL without the options the `postgres` crate does not know.
    pub url: String,
    pub mode: SslMode,
    pub root_cert: Option<String>,
}

/// Read `sslmode` and `sslrootcert` from a `postgres://` URL.
pub fn target(url: &str) -> Result<Target, StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root_cert, mut kept) = (SslMode::Prefer, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                mode = match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(StoreError(format!(
                            "sslmode={other} is not supported: use disable, prefer, require, verify-ca or verify-full"
                        )))
                    }
                }
            }
            "sslrootcert" => root_cert = Some(percent_decode(value)),
            _ => kept.push(pair),
        }
    }
    // The `postgres` crate knows disable, prefer and require; verification is ours.
    let crate_mode = match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        _ => "require",
    };
    kept.push(match crate_mode {
        "disable" => "sslmode=disable",
        "prefer" => "sslmode=prefer",
        _ => "sslmode=require",
    });
    Ok(Target {
        url: format!("{base}?{}", kept.join("&")),
        mode,
        root_cert,
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rustls connector for `t` (`None` for `sslmode=disable`).
pub fn connector(
    t: &Target,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, StoreError> {
    if t.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check_chain =
        matches!(t.mode, SslMode::VerifyCa | SslMode::VerifyFull) || t.root_cert.is_some();
    let verifier: Arc<dyn ServerCertVerifier> = if check_chain {
        let mut roots = rustls::RootCertStore::empty();
        match &t.root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        StoreError(format!(
                            "sslrootcert={path}: cannot read the CA certificates: {e}"
                        ))
                    })?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(StoreError(format!(
                        "sslrootcert={path} holds no usable CA certificate (PEM expected)"
                    )));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| StoreError(format!("cannot set up certificate checks: {e}")))?;
        Arc::new(Chain {
            inner: webpki,
            check_name: t.mode == SslMode::VerifyFull,
        })
    } else {
        Arc::new(Unverified(provider.clone()))
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

/// The certificate chains to a trusted root; the host name is checked only for
/// `verify-full` (libpq's `verify-ca` accepts a certificate for another name).
#[derive(Debug)]
struct Chain {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Chain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `require` without a root certificate, as libpq: encrypted, the certificate not
/// checked (the handshake signatures still are).
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::{target, SslMode};

    #[test]
    fn sslmode_and_rootcert_are_read_and_the_rest_kept() {
        let t = target("postgres://u@h:5/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x").unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(
            t.url,
            "postgres://u@h:5/db?application_name=x&sslmode=require"
        );
        let t = target("postgres://u@h:5/db").unwrap();
        assert_eq!(
            (t.mode, t.url.as_str()),
            (SslMode::Prefer, "postgres://u@h:5/db?sslmode=prefer")
        );
        let e = target("postgres://h/db?sslmode=allow")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("sslmode=allow") && e.contains("verify-full"),
            "{e}"
        );
    }
}
