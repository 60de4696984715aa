//! The SMTP probe against the lab's mail servers: STARTTLS offered with a valid certificate, not offered,
//! offered with an expired certificate, and nobody listening.
#![allow(clippy::unwrap_used)]

use launchready_findings::facts::Verification;
use launchready_lab::{CertSpec, Lab, MailServer, Scenario, Zone};
use launchready_net::Net;
use launchready_testkit::lab::{Options, closed_port, start_net};
use std::net::Ipv4Addr;
use std::time::Duration;

async fn lab() -> (Lab, Net) {
    let scenario = Scenario::new()
        .zone(
            Zone::new("mx.test")
                .a("good", Ipv4Addr::LOCALHOST)
                .a("plain", Ipv4Addr::LOCALHOST)
                .a("expired", Ipv4Addr::LOCALHOST)
                .a("nobody", Ipv4Addr::LOCALHOST),
        )
        .mail_server(MailServer::new("good.mx.test"))
        .mail_server(MailServer::new("plain.mx.test").starttls(false))
        .mail_server(MailServer::new("expired.mx.test").cert(CertSpec::Expired));
    // Port 25 of a host without a lab server goes to a port nothing listens on.
    let options = Options {
        rules_first: vec![format!("nobody.mx.test:25:127.0.0.1:{}", closed_port())],
        timeout: Duration::from_secs(5),
        ..Options::default()
    };
    let (lab, net) = start_net(scenario, &options).await;
    (lab, net)
}

#[tokio::test]
async fn starttls_with_a_valid_certificate_is_recorded() {
    let (lab, net) = lab().await;
    let facts = net.probe_smtp("mx.test", "good.mx.test").await;
    assert_eq!(facts.error, None);
    assert_eq!(
        facts.connected_to,
        Some(lab.smtp_addr("good.mx.test").unwrap().to_string())
    );
    assert!(
        facts
            .banner
            .as_deref()
            .unwrap()
            .starts_with("good.mx.test ESMTP")
    );
    assert_eq!(facts.starttls_offered, Some(true));
    let tls = facts.tls.unwrap();
    assert_eq!(tls.verification, Verification::Valid);
    assert!(tls.version.starts_with("TLSv1."));
    assert!(tls.chain[0].sans.contains(&"good.mx.test".to_string()));
}

#[tokio::test]
async fn a_server_without_starttls_is_recorded_without_tls() {
    let (_lab, net) = lab().await;
    let facts = net.probe_smtp("mx.test", "plain.mx.test").await;
    assert_eq!(facts.error, None);
    assert_eq!(facts.starttls_offered, Some(false));
    assert!(facts.tls.is_none());
}

#[tokio::test]
async fn an_expired_certificate_is_recorded_as_such() {
    let (_lab, net) = lab().await;
    let facts = net.probe_smtp("mx.test", "expired.mx.test").await;
    assert_eq!(facts.starttls_offered, Some(true));
    assert_eq!(facts.tls.unwrap().verification, Verification::Expired);
}

#[tokio::test]
async fn a_closed_port_is_an_error_not_a_hang() {
    let (_lab, net) = lab().await;
    let facts = net.probe_smtp("mx.test", "nobody.mx.test").await;
    assert!(facts.connected_to.is_none());
    assert!(
        facts.error.unwrap().contains("connecting to"),
        "error names the address"
    );
}
