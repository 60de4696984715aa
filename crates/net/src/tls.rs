//! TLS for probing: a certificate verifier that records the verdict instead of aborting the handshake (so an
//! expired certificate becomes a finding and the page behind it is still examined), trust-anchor loading, and
//! turning DER certificates into `CertFacts`.

use launchready_findings::facts::{CertFacts, TlsFacts, Verification};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, Mutex};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::NetError;

/// The Mozilla roots (webpki-roots) plus every certificate in the given PEM files.
pub fn root_store(ca_files: &[impl AsRef<Path>]) -> Result<RootCertStore, NetError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for path in ca_files {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| NetError::CaFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| NetError::CaFile {
                path: path.display().to_string(),
                reason: format!("not valid PEM: {e}"),
            })?;
            roots.add(cert).map_err(|e| NetError::CaFile {
                path: path.display().to_string(),
                reason: format!("not a usable CA certificate: {e}"),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(NetError::CaFile {
                path: path.display().to_string(),
                reason: "contains no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string(),
            });
        }
    }
    Ok(roots)
}

/// Verifies like a browser would, remembers the verdict, and lets the handshake continue either way.
/// Handshake signatures are still checked for real: only the trust decision is deferred to the rules.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Verification>>,
    /// The chain as presented, kept so a handshake that fails later (e.g. on a key too weak to sign with)
    /// still leaves its certificates behind as facts.
    presented: Mutex<Vec<CertificateDer<'static>>>,
}

impl RecordingVerifier {
    pub(crate) fn new(inner: Arc<WebPkiServerVerifier>) -> Self {
        RecordingVerifier {
            inner,
            verdict: Mutex::new(None),
            presented: Mutex::new(Vec::new()),
        }
    }

    /// The certificates the server presented, leaf first; empty if it never got that far.
    pub(crate) fn presented(&self) -> Vec<CertificateDer<'static>> {
        self.presented.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub(crate) fn verdict(&self) -> Verification {
        self.verdict
            .lock()
            .map(|v| v.clone())
            .unwrap_or(None)
            .unwrap_or_else(|| Verification::Other("no certificate was verified".to_string()))
    }
}

fn classify(error: &rustls::Error) -> Verification {
    match error {
        rustls::Error::InvalidCertificate(cert_error) => match cert_error {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                Verification::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                Verification::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Verification::HostnameMismatch
            }
            CertificateError::UnknownIssuer => Verification::UnknownIssuer,
            other => Verification::Other(format!("{other:?}")),
        },
        other => Verification::Other(other.to_string()),
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(_) => Verification::Valid,
            Err(error) => classify(&error),
        };
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        if let Ok(mut presented) = self.presented.lock() {
            *presented = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A client config that records the trust verdict instead of failing on it, offering `alpn` in order.
pub(crate) fn client_config(
    verifier: Arc<RecordingVerifier>,
    alpn: &[&[u8]],
) -> Result<rustls::ClientConfig, String> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .dangerous()
    .with_custom_certificate_verifier(verifier)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// A TLS client for one host: its recording verifier (whose verdict and presented chain are facts whether or not
/// the handshake completes), the connector offering `alpn`, and the host as a server name.
pub(crate) struct TlsClient {
    pub(crate) verifier: Arc<RecordingVerifier>,
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl TlsClient {
    pub(crate) fn new(
        webpki: &Arc<WebPkiServerVerifier>,
        host: &str,
        alpn: &[&[u8]],
    ) -> Result<TlsClient, String> {
        let verifier = Arc::new(RecordingVerifier::new(webpki.clone()));
        let config = client_config(verifier.clone(), alpn)?;
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("`{host}` cannot be a TLS server name: {e}"))?;
        Ok(TlsClient {
            verifier,
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// The handshake over `io`; the caller bounds it in time.
    pub(crate) async fn connect<IO>(
        &self,
        io: IO,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<IO>>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        self.connector.connect(self.name.clone(), io).await
    }

    /// The facts of the completed handshake `session`.
    pub(crate) fn facts(&self, session: &rustls::ClientConnection) -> TlsFacts {
        session_facts(session, &self.verifier)
    }
}

/// The facts of a completed handshake: version, ALPN, the presented chain and the recorded verdict.
pub(crate) fn session_facts(
    session: &rustls::ClientConnection,
    verifier: &RecordingVerifier,
) -> TlsFacts {
    TlsFacts {
        version: session
            .protocol_version()
            .and_then(|v| v.as_str())
            .map(|v| v.replace("TLSv1_", "TLSv1."))
            .unwrap_or_else(|| "unknown".to_string()),
        alpn: session
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        chain: session
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .filter_map(|der| cert_facts(der))
            .collect(),
        verification: verifier.verdict(),
    }
}

/// What a handshake that failed after the server sent its certificates still tells.
pub(crate) fn failed_handshake_facts(verifier: &RecordingVerifier) -> Option<TlsFacts> {
    let presented = verifier.presented();
    if presented.is_empty() {
        return None;
    }
    Some(TlsFacts {
        version: "handshake failed".to_string(),
        alpn: None,
        chain: presented.iter().filter_map(|der| cert_facts(der)).collect(),
        verification: verifier.verdict(),
    })
}

/// Reads what a report needs from one DER certificate; `None` if it does not parse.
pub fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some(dns.to_string()),
                    GeneralName::IPAddress(bytes) => ip_from_bytes(bytes),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let key = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(point)) => format!("EC {}", point.key_size()),
        Ok(PublicKey::DSA(_)) => "DSA".to_string(),
        _ => algorithm_name(&cert.public_key().algorithm.algorithm),
    };
    let validity = cert.validity();
    Some(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        not_before_unix: validity.not_before.timestamp(),
        not_after_unix: validity.not_after.timestamp(),
        key,
        signature_algorithm: algorithm_name(&cert.signature_algorithm.algorithm),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

/// Signature algorithms x509-parser's registry has no name for, named as RFC 3279/5758 do, so the rules (which
/// look for `sha1` in the name) see them. A real OpenSSL signs ECDSA-with-SHA1 leaves on request.
const EXTRA_ALGORITHMS: &[(&str, &str)] = &[
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10040.4.3", "dsa-with-SHA1"),
    ("1.3.14.3.2.29", "sha1WithRSASignature"),
];

fn algorithm_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    let id = oid.to_id_string();
    if let Some((_, name)) = EXTRA_ALGORITHMS.iter().find(|(known, _)| *known == id) {
        return name.to_string();
    }
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or(id)
}

fn ip_from_bytes(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// Unix seconds as RFC 3339 UTC; out-of-range values (which no real certificate has) print as the number.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Whether a certificate name (possibly a `*.` wildcard, which covers exactly one label) covers `host`.
pub fn name_covers(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(name_covers("*.demo.test", "app.demo.test"));
        assert!(!name_covers("*.demo.test", "demo.test"));
        assert!(!name_covers("*.demo.test", "a.b.demo.test"));
        assert!(name_covers("WWW.demo.test.", "www.demo.test"));
        assert!(!name_covers("www.demo.test", "demo.test"));
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_missing_ca_file_names_the_path() {
        let err = root_store(&["/nonexistent/ca.pem"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_rejected() {
        let dir = std::env::temp_dir().join(format!("lr-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = root_store(&[&path]).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}

#[cfg(test)]
mod algorithm_tests {
    use super::*;
    use x509_parser::der_parser::oid::Oid;

    #[test]
    fn sha1_signatures_are_named_whatever_the_key_type() {
        let ecdsa_sha1 = Oid::from(&[1, 2, 840, 10045, 4, 1]).unwrap();
        assert_eq!(algorithm_name(&ecdsa_sha1), "ecdsa-with-SHA1");
        let rsa_sha1 = Oid::from(&[1, 2, 840, 113549, 1, 1, 5]).unwrap();
        assert!(
            algorithm_name(&rsa_sha1)
                .to_ascii_lowercase()
                .contains("sha1")
        );
        let ecdsa_sha256 = Oid::from(&[1, 2, 840, 10045, 4, 3, 2]).unwrap();
        assert!(
            !algorithm_name(&ecdsa_sha256)
                .to_ascii_lowercase()
                .contains("sha1")
        );
    }
}
