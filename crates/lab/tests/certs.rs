//! Certificates that are valid but unusual: a 1024-bit RSA leaf, a chain padded with 50 extra
//! certificates and a leaf of tens of kilobytes to a megabyte, each met by real rustls clients.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use launchready_lab::{CertSpec, Lab, Scenario, Site};
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

const MIB: usize = 1024 * 1024;

fn scenario() -> Scenario {
    Scenario::new()
        .site(Site::new("weak.test").cert(CertSpec::WeakRsa))
        .site(Site::new("long.test").cert(CertSpec::LongChain(50)))
        .site(Site::new("big.test").cert(CertSpec::Huge { bytes: 40_000 }))
        .site(Site::new("huge.test").cert(CertSpec::Huge { bytes: MIB }))
        .site(Site::new("valid.test"))
}

/// Handshake signatures of RSA keys of any size, checked with the `rsa` crate instead of ring (which stops at
/// 2048 bits), each scheme checked remembered.
#[derive(Debug, Clone, Default)]
struct AnyRsa {
    checked: Arc<Mutex<Vec<SignatureScheme>>>,
    /// Offer only PKCS#1 v1.5, which TLS 1.2 allows, to exercise that signer too.
    pkcs1_only: bool,
}

impl common::SignatureCheck for AnyRsa {
    fn verify(
        &self,
        _tls13: bool,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let (_, parsed) = X509Certificate::from_der(cert).unwrap();
        let key = rsa::RsaPublicKey::from_public_key_der(parsed.public_key().raw).unwrap();
        let bad = |e: rsa::signature::Error| rustls::Error::General(e.to_string());
        match dss.scheme {
            SignatureScheme::RSA_PSS_SHA256 => {
                let sig = rsa::pss::Signature::try_from(dss.signature()).map_err(bad)?;
                rsa::pss::VerifyingKey::<Sha256>::new(key)
                    .verify(message, &sig)
                    .map_err(bad)?;
            }
            SignatureScheme::RSA_PKCS1_SHA256 => {
                let sig = rsa::pkcs1v15::Signature::try_from(dss.signature()).map_err(bad)?;
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                    .verify(message, &sig)
                    .map_err(bad)?;
            }
            other => panic!("unexpected scheme {other:?}"),
        }
        self.checked.lock().unwrap().push(dss.scheme);
        Ok(HandshakeSignatureValid::assertion())
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        if self.pkcs1_only {
            vec![SignatureScheme::RSA_PKCS1_SHA256]
        } else {
            vec![
                SignatureScheme::RSA_PSS_SHA256,
                SignatureScheme::RSA_PKCS1_SHA256,
            ]
        }
    }
}

#[tokio::test]
async fn weak_rsa_leaf_is_1024_bits_and_signs_handshakes_with_it() {
    let lab = Lab::start(scenario()).await.unwrap();

    for tls12_only in [false, true] {
        // A client that accepts RSA keys of any size: it records the chain, trusts it, and checks
        // handshake signatures itself.
        let signatures = AnyRsa {
            pkcs1_only: tls12_only,
            ..AnyRsa::default()
        };
        let client = common::RecordingVerifier::with_signatures(signatures.clone());
        let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let tls = common::tls_connect(&lab, "weak.test", client.config_for(versions))
            .await
            .unwrap();
        // The connection is usable, not just handshaken.
        let reply = common::get_over(tls, "weak.test", "/").await;
        assert_eq!(reply.status, 200);
        let expected = if tls12_only {
            SignatureScheme::RSA_PKCS1_SHA256
        } else {
            SignatureScheme::RSA_PSS_SHA256
        };
        assert_eq!(*signatures.checked.lock().unwrap(), vec![expected]);

        let chain = client.last_chain();
        assert_eq!(chain.len(), 2, "leaf + intermediate");
        let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
        match leaf.public_key().parsed().unwrap() {
            PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 1024),
            other => panic!("not RSA: {other:?}"),
        }
        // The chain itself is sound: only the key is weak.
        common::verify_at(
            &common::lab_verifier(&lab),
            &chain,
            "weak.test",
            UnixTime::now(),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn webpki_refuses_the_weak_rsa_handshake_signature_after_seeing_the_chain() {
    let lab = Lab::start(scenario()).await.unwrap();

    // Like the project's client: record the chain, delegate signatures to webpki (ring).
    let recorder = common::RecordingVerifier::new();
    // ring verifies RSA signatures from 2048 bits only.
    let err = common::handshake_error_with(&lab, "weak.test", recorder.config()).await;
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::BadSignature)
        ),
        "{err:?}"
    );
    assert_eq!(recorder.last_chain().len(), 2, "the chain was seen first");

    // A browser-like verifying client fails the same way.
    common::handshake_error(&lab, "weak.test").await;

    // Other sites of the same lab are unaffected.
    common::tls_verified(&lab, "valid.test").await;
}

#[tokio::test]
async fn long_chain_sends_fifty_extra_certificates_and_still_verifies() {
    let lab = Lab::start(scenario()).await.unwrap();

    let chain = common::chain_of(&lab, "long.test").await;
    assert_eq!(chain.len(), 51, "leaf + 50");
    assert!(chain[1..].iter().all(|c| c == &chain[1]));
    assert_ne!(&chain[1], lab.ca_der(), "the root is not sent");

    assert_eq!(common::https_get(&lab, "long.test", "/").await.status, 200);
}

#[tokio::test]
async fn a_40_kb_leaf_arrives_whole_and_verifies() {
    let lab = Lab::start(scenario()).await.unwrap();

    let chain = common::chain_of(&lab, "big.test").await;
    assert_eq!(chain.len(), 2);
    let len = chain[0].len();
    assert!((39_900..=40_100).contains(&len), "leaf is {len} bytes");
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    assert!(leaf.extensions().iter().any(|e| !e.critical
        && e.oid.to_id_string() == "1.3.6.1.4.1.32473.1"
        && e.value.len() > 39_000));

    assert_eq!(common::https_get(&lab, "big.test", "/").await.status, 200);
}

#[tokio::test]
async fn a_one_mib_leaf_is_sent_but_rustls_clients_refuse_it() {
    let lab = Lab::start(scenario()).await.unwrap();

    // rustls caps handshake messages at 64 KiB.
    let config = common::RecordingVerifier::new().config();
    assert_eq!(
        common::handshake_error_with(&lab, "huge.test", config).await,
        rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge)
    );

    // On the wire: a raw ClientHello gets over a mebibyte back (the certificate message).
    let config = Arc::new(common::verifying_config(&lab));
    let mut hello = Vec::new();
    rustls::ClientConnection::new(config, ServerName::try_from("huge.test").unwrap())
        .unwrap()
        .write_tls(&mut hello)
        .unwrap();
    let mut stream = TcpStream::connect(lab.https_addr()).await.unwrap();
    stream.write_all(&hello).await.unwrap();
    let mut received = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + common::IO_TIMEOUT;
    while received <= MIB {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => received += n,
            other => panic!("stopped after {received} bytes: {other:?}"),
        }
    }
}
