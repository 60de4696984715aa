//! The lab PKI: a root CA and an intermediate made with rcgen, per-host leaves (including the
//! deliberately broken kinds in [`CertSpec`]) and the SNI-based rustls certificate resolver.

use std::collections::HashMap;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::rand_core::OsRng;
use rsa::sha2::Sha256;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{ServerConfig, SignatureAlgorithm, SignatureScheme};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer,
};
use time::{Duration, OffsetDateTime};

use crate::LabError;
use crate::scenario::{CertSpec, normalize_name};

/// Name on the leaf served when the client sends no SNI or an unknown one; `.invalid` can never
/// collide with a real or scenario host.
pub const DEFAULT_HOST: &str = "lab.invalid";

/// Size of the `WeakRsa` leaf key; ring (rcgen's and rustls' crypto here) refuses anything under
/// 2048 bits, so these keys come from the `rsa` crate.
const WEAK_RSA_BITS: usize = 1024;

/// The padding extension of `Huge` leaves: an arc under IANA's enterprise number 32473, reserved
/// for documentation (RFC 5612), so it can never mean anything to a client.
const PADDING_EXTENSION_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 32473, 1];

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
            CertSpec::Valid
            | CertSpec::NoIntermediate
            | CertSpec::SelfSigned
            | CertSpec::WeakRsa
            | CertSpec::LongChain(_)
            | CertSpec::Huge { .. } => (
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
            CertSpec::WeakRsa => {
                params.use_authority_key_identifier_extension = true;
                let weak = WeakRsaKey::generate()?;
                let leaf = params.signed_by(&weak, &self.intermediate)?;
                // rustls' own key loading would hand the key to ring and be refused, so the
                // certified key is assembled around our signer instead.
                let certified = CertifiedKey::new(
                    vec![leaf.der().clone(), self.intermediate_der.clone()],
                    Arc::new(weak),
                );
                certified.keys_match()?;
                return Ok(Arc::new(certified));
            }
            CertSpec::LongChain(extra) => {
                params.use_authority_key_identifier_extension = true;
                let mut chain = vec![params.signed_by(&key, &self.intermediate)?.der().clone()];
                // The real intermediate first so the chain still verifies; the copies only
                // make the certificate message longer.
                chain.extend(std::iter::repeat_n(self.intermediate_der.clone(), *extra));
                chain
            }
            CertSpec::Huge { bytes } => {
                params.use_authority_key_identifier_extension = true;
                let plain = params.signed_by(&key, &self.intermediate)?.der().len();
                // Signing twice keeps the result within a few bytes of `bytes` without
                // predicting DER length headers: the first pass measures everything else.
                let filler = bytes.saturating_sub(plain + PADDING_OVERHEAD);
                params.custom_extensions.push(padding_extension(filler));
                vec![
                    params.signed_by(&key, &self.intermediate)?.der().clone(),
                    self.intermediate_der.clone(),
                ]
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
        if matches!(spec, CertSpec::Huge { .. }) {
            // `from_der` checks that key and leaf match by parsing the leaf with webpki, which
            // rejects any DER value of 64 KiB or more; the key is ours, so skip the check.
            let signing = self.provider.key_provider.load_private_key(private)?;
            return Ok(Arc::new(CertifiedKey::new(chain, signing)));
        }
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

/// DER bytes a padding extension adds besides its filler, for fillers of 64 KiB to 16 MiB:
/// the extension SEQUENCE header (4), the OID (11), the extnValue OCTET STRING header (5) and
/// the inner OCTET STRING header (5), plus the extensions list growing a length byte or two.
const PADDING_OVERHEAD: usize = 27;

/// A non-critical private extension whose value is an OCTET STRING of `filler` bytes: well-formed
/// DER, so parsers skip it instead of rejecting the certificate.
fn padding_extension(filler: usize) -> CustomExtension {
    let mut content = Vec::with_capacity(filler + 6);
    content.push(0x04);
    push_der_length(&mut content, filler);
    content.resize(content.len() + filler, b'x');
    CustomExtension::from_oid_content(PADDING_EXTENSION_OID, content)
}

fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// A 1024-bit RSA key that rcgen can certify (as a public key) and rustls can sign with (through
/// the `rsa` crate), both of which ring would refuse.
struct WeakRsaKey {
    private: RsaPrivateKey,
    /// PKCS#1 RSAPublicKey, what rcgen puts in the certificate's subjectPublicKey.
    pkcs1: Vec<u8>,
    /// The full SubjectPublicKeyInfo, for rustls' key/certificate consistency check.
    spki: Vec<u8>,
}

impl std::fmt::Debug for WeakRsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The derived Debug of the private key would print its primes.
        f.debug_struct("WeakRsaKey")
            .field("bits", &WEAK_RSA_BITS)
            .finish_non_exhaustive()
    }
}

impl WeakRsaKey {
    fn generate() -> Result<Self, LabError> {
        let weak = |e: &dyn std::fmt::Display| LabError::WeakKey(e.to_string());
        let private = RsaPrivateKey::new(&mut OsRng, WEAK_RSA_BITS).map_err(|e| weak(&e))?;
        let public = RsaPublicKey::from(&private);
        let pkcs1 = public.to_pkcs1_der().map_err(|e| weak(&e))?.into_vec();
        let spki = public.to_public_key_der().map_err(|e| weak(&e))?.into_vec();
        Ok(Self {
            private,
            pkcs1,
            spki,
        })
    }
}

impl PublicKeyData for WeakRsaKey {
    fn der_bytes(&self) -> &[u8] {
        &self.pkcs1
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        // Only its key-type OIDs are used here (rsaEncryption with NULL parameters); the leaf
        // itself is signed by the intermediate's algorithm.
        &rcgen::PKCS_RSA_SHA256
    }
}

impl SigningKey for WeakRsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        // TLS 1.3 clients only offer PSS for RSA (rustls filters the list by version before
        // asking); TLS 1.2 clients may prefer PKCS#1 v1.5.
        [
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PKCS1_SHA256,
        ]
        .into_iter()
        .find(|scheme| offered.contains(scheme))
        .map(|scheme| {
            Box::new(WeakRsaSigner {
                private: self.private.clone(),
                scheme,
            }) as Box<dyn Signer>
        })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

struct WeakRsaSigner {
    private: RsaPrivateKey,
    scheme: SignatureScheme,
}

impl std::fmt::Debug for WeakRsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakRsaSigner")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Signer for WeakRsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let failed = |e: rsa::signature::Error| rustls::Error::General(e.to_string());
        if self.scheme == SignatureScheme::RSA_PSS_SHA256 {
            // Salt length = digest length, what TLS requires of rsa_pss_rsae_sha256.
            rsa::pss::BlindedSigningKey::<Sha256>::new(self.private.clone())
                .try_sign_with_rng(&mut OsRng, message)
                .map(|sig| sig.to_vec())
                .map_err(failed)
        } else {
            rsa::pkcs1v15::SigningKey::<Sha256>::new(self.private.clone())
                .try_sign(message)
                .map(|sig| sig.to_vec())
                .map_err(failed)
        }
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_leaves_come_within_a_few_bytes_of_the_requested_size() {
        let ca = LabCa::new().unwrap();
        for bytes in [2_000, 40_000, 1024 * 1024] {
            let key = ca
                .certified_key("huge.test", &CertSpec::Huge { bytes })
                .unwrap();
            let len = key.cert[0].len();
            assert!(len.abs_diff(bytes) <= 16, "asked {bytes}, got {len}");
            assert_eq!(key.cert.len(), 2);
        }
        // Smaller than a plain leaf: no padding at all.
        let key = ca
            .certified_key("huge.test", &CertSpec::Huge { bytes: 0 })
            .unwrap();
        assert!(key.cert[0].len() < 1000);
    }

    #[test]
    fn der_lengths_use_the_shortest_form() {
        for (len, expected) in [
            (0usize, vec![0x00]),
            (0x7f, vec![0x7f]),
            (0x80, vec![0x81, 0x80]),
            (0x1234, vec![0x82, 0x12, 0x34]),
            (0x10_0000, vec![0x83, 0x10, 0x00, 0x00]),
        ] {
            let mut out = Vec::new();
            push_der_length(&mut out, len);
            assert_eq!(out, expected, "{len}");
        }
    }

    #[test]
    fn long_chain_repeats_the_intermediate() {
        let ca = LabCa::new().unwrap();
        let key = ca
            .certified_key("long.test", &CertSpec::LongChain(3))
            .unwrap();
        assert_eq!(key.cert.len(), 4);
        assert!(key.cert[1..].iter().all(|c| c == &ca.intermediate_der));
        let alone = ca
            .certified_key("long.test", &CertSpec::LongChain(0))
            .unwrap();
        assert_eq!(alone.cert.len(), 1);
    }
}
