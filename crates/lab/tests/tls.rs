//! The lab PKI as seen by a real rustls client: valid chains verify against the lab root and each
//! deliberately broken certificate fails the way a browser would report it.

#![allow(clippy::unwrap_used)]

mod common;

use launchready_lab::{CertSpec, DEFAULT_HOST, Lab, Scenario, Site};
use rustls::CertificateError::*;
use rustls_pki_types::UnixTime;

fn pki_scenario() -> Scenario {
    Scenario::new()
        .site(Site::new("valid.test"))
        .site(Site::new("expired.test").cert(CertSpec::Expired))
        .site(Site::new("future.test").cert(CertSpec::NotYetValid))
        .site(Site::new("wrong.test").cert(CertSpec::WrongHost("other.test".into())))
        .site(Site::new("self.test").cert(CertSpec::SelfSigned))
        .site(Site::new("nochain.test").cert(CertSpec::NoIntermediate))
        .site(Site::new("soon.test").cert(CertSpec::ExpiresInDays(9)))
}

/// The handshake with `host` fails verification with a certificate error matching the pattern.
macro_rules! fails_with {
    ($lab:expr, $host:expr, $pattern:pat) => {{
        let err = common::handshake_error($lab, $host).await;
        assert!(
            matches!(err, rustls::Error::InvalidCertificate($pattern)),
            "{}: {err:?}",
            $host
        );
    }};
}

#[tokio::test]
async fn valid_site_verifies_with_leaf_and_intermediate() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    let tls = common::tls_verified(&lab, "valid.test").await;
    let chain = tls.get_ref().1.peer_certificates().unwrap();
    assert_eq!(chain.len(), 2, "leaf + intermediate");
    assert_ne!(&chain[1], lab.ca_der(), "the root is not sent");

    let reply = common::get_over(tls, "valid.test", "/").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn expired_certificate_fails_as_expired() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    fails_with!(&lab, "expired.test", Expired | ExpiredContext { .. });
}

#[tokio::test]
async fn not_yet_valid_wrong_host_and_self_signed_fail_distinctly() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    fails_with!(&lab, "future.test", NotValidYet | NotValidYetContext { .. });
    fails_with!(
        &lab,
        "wrong.test",
        NotValidForName | NotValidForNameContext { .. }
    );
    // The wrong-host certificate is otherwise fine: it verifies for the name it was issued to.
    let chain = common::chain_of(&lab, "wrong.test").await;
    let verifier = common::lab_verifier(&lab);
    common::verify_at(&verifier, &chain, "other.test", UnixTime::now()).unwrap();
    fails_with!(&lab, "self.test", UnknownIssuer);
}

#[tokio::test]
async fn no_intermediate_sends_a_one_certificate_chain() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    assert_eq!(common::chain_of(&lab, "nochain.test").await.len(), 1);
    fails_with!(&lab, "nochain.test", UnknownIssuer);
}

#[tokio::test]
async fn expiring_soon_is_valid_now_and_expired_after_the_window() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    let chain = common::chain_of(&lab, "soon.test").await;
    let verifier = common::lab_verifier(&lab);
    let at = |days| common::verify_at(&verifier, &chain, "soon.test", common::days_from_now(days));
    at(0).unwrap();
    at(8).unwrap();
    let err = at(10).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(Expired | ExpiredContext { .. })
        ),
        "{err:?}"
    );

    // And a normal client accepts it today.
    common::tls_verified(&lab, "soon.test").await;
}

#[tokio::test]
async fn unknown_sni_gets_the_default_lab_invalid_certificate() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    common::tls_verified(&lab, DEFAULT_HOST).await;
    fails_with!(
        &lab,
        "unknown.test",
        NotValidForName | NotValidForNameContext { .. }
    );
}

#[tokio::test]
async fn alpn_negotiates_h2_and_serves_http2() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    let mut config = common::verifying_config(&lab);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tls = common::tls_connect(&lab, "valid.test", config)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let mut sender = common::h2_client(tls).await;
    let req = common::get_request("https://valid.test/", None);
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);

    let mut config = common::verifying_config(&lab);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = common::tls_connect(&lab, "valid.test", config)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn ca_file_holds_the_root_pem() {
    let lab = Lab::start(pki_scenario()).await.unwrap();
    let on_disk = std::fs::read_to_string(lab.ca_file()).unwrap();
    assert_eq!(on_disk, lab.ca_pem());
    assert!(on_disk.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(lab.ca_file().starts_with(lab.dir()));
}
