//! Which HTTP version carries each hop, and what the client does when a server's HTTP/2 fails: the lab refuses
//! an HTTP/2 request with a `Host` header beside `:authority` (as nginx does), and a server that offers h2 but
//! breaks it must still be read over HTTP/1.1, as a browser would.
#![allow(clippy::unwrap_used)]

use launchready_lab::{Lab, Page, Site, scenarios};
use launchready_net::{Net, NetConfig};
use launchready_testkit::lab::Options;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// A `Net` pointed at the lab, as `--resolver`, `--connect-to` and `--ca-file` would point it.
fn net_for(lab: &Lab) -> Net {
    let options = Options {
        timeout: Duration::from_secs(5),
        ..Options::default()
    };
    launchready_testkit::lab::net_for(lab, &options).unwrap()
}

#[tokio::test]
async fn https_hops_use_http2_without_a_duplicate_host_header() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let net = net_for(&lab);
    let hop = net
        .fetch(&Url::parse("https://www.clean.test/").unwrap())
        .await;
    assert_eq!(hop.status, Some(200), "{hop:?}");
    assert_eq!(hop.protocol.as_deref(), Some("HTTP/2"));
    assert_eq!(hop.fallback, None);
    let plain = net
        .fetch(&Url::parse("http://www.clean.test/").unwrap())
        .await;
    assert_eq!(plain.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(plain.status, Some(301), "{plain:?}");
}

#[tokio::test]
async fn a_phone_user_agent_is_followed_where_the_site_sends_phones() {
    let mut scenario = scenarios::clean();
    let site = scenario.site_mut("www.clean.test").unwrap();
    *site = site.clone().mobile_redirect("https://m.clean.test/");
    scenario
        .sites
        .push(Site::new("m.clean.test").page("/", Page::html(200, "<title>m</title>")));
    let lab = Lab::start(scenario).await.unwrap();
    let net = net_for(&lab);
    let start = Url::parse("https://www.clean.test/").unwrap();
    let (desktop, _) = net.follow(&start, 5).await;
    assert_eq!(desktop.len(), 1, "{desktop:?}");
    let phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    let (mobile, _) = net.follow_as(&start, 5, Some(phone)).await;
    let urls: Vec<_> = mobile.iter().map(|h| h.url.as_str()).collect();
    assert_eq!(urls, ["https://www.clean.test/", "https://m.clean.test/"]);
}

/// A TLS server that offers h2 in ALPN but answers an h2 connection with HTTP/1.1 bytes, and serves HTTP/1.1
/// properly when that is what was negotiated.
async fn broken_h2_server() -> (std::net::SocketAddr, tempfile::NamedTempFile) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["broken.test".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let mut ca = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut ca, cert.pem().as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                if !h2 {
                    let mut buf = vec![0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                }
                let body = "fine over http/1.1";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, ca)
}

#[tokio::test]
async fn a_broken_http2_server_is_read_over_http1_and_the_hop_says_so() {
    let (addr, ca) = broken_h2_server().await;
    let net = Net::new(NetConfig {
        connect_to: vec![format!("broken.test:443:{addr}").parse().unwrap()],
        ca_files: vec![ca.path().to_path_buf()],
        timeout: Duration::from_secs(5),
        ..NetConfig::default()
    })
    .unwrap();
    let hop = net
        .fetch(&Url::parse("https://broken.test/").unwrap())
        .await;
    assert_eq!(hop.status, Some(200), "{hop:?}");
    assert_eq!(hop.protocol.as_deref(), Some("HTTP/1.1"));
    let reason = hop.fallback.as_deref().unwrap_or_default();
    assert!(reason.contains("broken.test"), "{reason:?}");
    assert_eq!(hop.body.as_deref(), Some("fine over http/1.1"));
}

/// Real servers send a Location with raw UTF-8 (`/prix-été`) as readily as percent-encoded; browsers follow it.
#[tokio::test]
async fn a_raw_utf8_location_is_followed_as_browsers_do() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let mut response = b"HTTP/1.1 301 Moved Permanently\r\nLocation: /prix-".to_vec();
            response.extend_from_slice("été".as_bytes());
            response.extend_from_slice(b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tcp.write_all(&response).await;
        }
    });
    let net = Net::new(NetConfig {
        connect_to: vec![format!("utf8.test:80:{addr}").parse().unwrap()],
        timeout: Duration::from_secs(5),
        ..NetConfig::default()
    })
    .unwrap();
    let hop = net.fetch(&Url::parse("http://utf8.test/").unwrap()).await;
    assert_eq!(hop.status, Some(301), "{hop:?}");
    assert_eq!(
        hop.location.as_deref(),
        Some("http://utf8.test/prix-%C3%A9t%C3%A9")
    );
}
