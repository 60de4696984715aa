//! The lab PKI: a root CA and an intermediate made with rcgen, per-host leaves (including the
//! deliberately broken kinds in [`CertSpec`]) and the SNI-based rustls certificate resolver.

use std::collections::HashMap;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::LabError;
use crate::scenario::{CertSpec, normalize_name};

/// Name on the leaf served when the client sends no SNI or an unknown one; `.invalid` can never
/// collide with a real or scenario host.
pub const DEFAULT_HOST: &str = "lab.invalid";

/// The root (trusted by clients through the CA file) and the intermediate that signs leaves.
pub(crate) struct LabCa {
    pub(crate) root_pem: String,
    pub(crate) root_der: CertificateDer<'static>,
    intermediate_der: CertificateDer<'static>,
    intermediate: Issuer<'static, KeyPair>,
    provider: Arc<CryptoProvider>,
}

impl LabCa {
    pub(crate) fn new() -> Result<Self, LabError> {
        let now = OffsetDateTime::now_utc();

        let mut root_params = ca_params("Launchready Lab Root CA", BasicConstraints::Unconstrained);
        root_params.not_before = now - Duration::days(1);
        root_params.not_after = now + Duration::days(3650);
        let root_key = KeyPair::generate()?;
        let root_cert = root_params.self_signed(&root_key)?;
        let root = Issuer::new(root_params, root_key);

        // Constrained(0): the intermediate may only sign leaves, like a real issuing CA.
        let mut int_params = ca_params(
            "Launchready Lab Intermediate CA",
            BasicConstraints::Constrained(0),
        );
        int_params.not_before = now - Duration::days(1);
        int_params.not_after = now + Duration::days(1825);
        int_params.use_authority_key_identifier_extension = true;
        let int_key = KeyPair::generate()?;
        let int_cert = int_params.signed_by(&int_key, &root)?;

        Ok(Self {
            root_pem: root_cert.pem(),
            root_der: root_cert.der().clone(),
            intermediate_der: int_cert.der().clone(),
            intermediate: Issuer::new(int_params, int_key),
            // Explicit provider: other crates in a build may enable aws-lc-rs too, which would
            // make rustls' process-default provider ambiguous.
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// The chain and key a site presents for `host` under `spec`.
    pub(crate) fn certified_key(
        &self,
        host: &str,
        spec: &CertSpec,
    ) -> Result<Arc<CertifiedKey>, LabError> {
        let now = OffsetDateTime::now_utc();
        let host = normalize_name(host);
        let key = KeyPair::generate()?;

        let (names, not_before, not_after) = match spec {
            CertSpec::Valid | CertSpec::NoIntermediate | CertSpec::SelfSigned => (
                vec![host.clone()],
                now - Duration::days(1),
                now + Duration::days(90),
            ),
            CertSpec::ExpiresInDays(days) => {
                // One hour of slack so a client checking a moment later still counts `days`
                // whole days left instead of `days - 1`.
                let not_after = now + Duration::days(*days) + Duration::hours(1);
                let not_before = (now - Duration::days(1)).min(not_after - Duration::days(90));
                (vec![host.clone()], not_before, not_after)
            }
            CertSpec::Expired => (
                vec![host.clone()],
                now - Duration::days(120),
                now - Duration::days(30),
            ),
            CertSpec::NotYetValid => (
                vec![host.clone()],
                now + Duration::days(30),
                now + Duration::days(120),
            ),
            CertSpec::WrongHost(other) => (
                vec![normalize_name(other)],
                now - Duration::days(1),
                now + Duration::days(90),
            ),
        };

        let mut params = CertificateParams::new(names.clone())?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.join(","));
        params.not_before = not_before;
        params.not_after = not_after;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];

        let chain = match spec {
            CertSpec::SelfSigned => vec![params.self_signed(&key)?.der().clone()],
            CertSpec::NoIntermediate => {
                params.use_authority_key_identifier_extension = true;
                vec![params.signed_by(&key, &self.intermediate)?.der().clone()]
            }
            _ => {
                params.use_authority_key_identifier_extension = true;
                vec![
                    params.signed_by(&key, &self.intermediate)?.der().clone(),
                    self.intermediate_der.clone(),
                ]
            }
        };

        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok(Arc::new(CertifiedKey::from_der(
            chain,
            private,
            &self.provider,
        )?))
    }

    /// A server config presenting `certs` by SNI, offering h2 and http/1.1.
    pub(crate) fn server_config(
        &self,
        certs: HashMap<String, Arc<CertifiedKey>>,
    ) -> Result<ServerConfig, LabError> {
        let resolver = SniResolver {
            default: self.certified_key(DEFAULT_HOST, &CertSpec::Valid)?,
            by_host: certs,
        };
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn ca_params(common_name: &str, constraints: BasicConstraints) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Launchready Lab");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Picks the site's certificate by exact SNI match, falling back to the `lab.invalid` leaf so
/// that clients without SNI still complete a handshake (and then fail name verification).
#[derive(Debug)]
struct SniResolver {
    by_host: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = client_hello
            .server_name()
            .and_then(|sni| self.by_host.get(&normalize_name(sni)))
            .unwrap_or(&self.default);
        Some(chosen.clone())
    }
}
