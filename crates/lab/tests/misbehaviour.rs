//! TLS-level misbehaviour (`GarbageTls`, `StallTls`) and `HugeBody`, met by real clients: rustls,
//! hyper over HTTP/1.1 and HTTP/2, and raw sockets to see the bytes on the wire.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use http::{Response, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use launchready_lab::{Handler, Lab, Scenario, Site};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;
const GARBAGE: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

fn scenario() -> Scenario {
    Scenario::new()
        .site(Site::new("garbage.test").on_both(Handler::GarbageTls))
        .site(Site::new("stall.test").on_both(Handler::StallTls))
        .site(
            Site::new("big.test")
                .http(Handler::huge_body(
                    200,
                    "text/html; charset=utf-8",
                    50 * MIB,
                ))
                .https(Handler::huge_body(200, "text/html; charset=utf-8", 4 * MIB)),
        )
        // No allocation of this size ever happens: the body comes from a small static buffer.
        .site(Site::new("endless.test").on_both(Handler::huge_body(200, "text/html", 1 << 30)))
        .site(Site::new("blob.test").http(Handler::huge_body(503, "application/octet-stream", 10)))
        .site(Site::new("tiny.test").http(Handler::huge_body(200, "text/html", 5)))
        .site(Site::new("normal.test"))
}

/// The bytes of a real rustls ClientHello for `host`.
fn client_hello(lab: &Lab, host: &str) -> Vec<u8> {
    let config = Arc::new(common::verifying_config(lab));
    let mut hello = Vec::new();
    rustls::ClientConnection::new(config, ServerName::try_from(host.to_owned()).unwrap())
        .unwrap()
        .write_tls(&mut hello)
        .unwrap();
    hello
}

/// Counts a body frame by frame (never holding it whole) and keeps its first bytes.
async fn count_body(response: Response<Incoming>) -> (usize, Vec<u8>) {
    let mut body = response.into_body();
    let (mut total, mut start) = (0, Vec::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            if start.len() < 64 {
                start.extend_from_slice(&data[..data.len().min(64)]);
            }
            total += data.len();
        }
    }
    (total, start)
}

#[tokio::test]
async fn garbage_tls_answers_the_client_hello_with_plain_http_bytes() {
    let lab = Lab::start(scenario()).await.unwrap();

    // No ServerHello: `H` (0x48) is no TLS record type.
    assert_eq!(
        common::handshake_error(&lab, "garbage.test").await,
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
    );

    // The ClientHello is read, then exactly the garbage comes back and the server closes.
    let mut stream = TcpStream::connect(lab.https_addr()).await.unwrap();
    stream
        .write_all(&client_hello(&lab, "garbage.test"))
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(common::IO_TIMEOUT, stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, GARBAGE);

    // Plain HTTP to the same site: closed without an answer, like `Close`.
    let out = common::raw_http(&lab, &common::raw_request("garbage.test"))
        .await
        .unwrap();
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
    assert_eq!(lab.requests_served(), 0);

    // Other sites of the same listener are unaffected.
    let tls = common::tls_verified(&lab, "normal.test").await;
    assert_eq!(common::get_over(tls, "normal.test", "/").await.status, 200);
}

#[tokio::test]
async fn stall_tls_never_answers_and_lets_go_when_the_lab_drops() {
    let lab = Lab::start(scenario()).await.unwrap();

    let stream = TcpStream::connect(lab.https_addr()).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(common::verifying_config(&lab)));
    let handshake = tokio::time::timeout(
        Duration::from_millis(700),
        connector.connect(ServerName::try_from("stall.test").unwrap(), stream),
    )
    .await;
    assert!(handshake.is_err(), "the handshake should still be waiting");

    // Plain HTTP to the same site hangs like `Hang`.
    let mut plain = common::raw_get(&lab, "stall.test").await;
    let mut buf = [0u8; 1024];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), plain.read(&mut buf))
            .await
            .is_err()
    );

    let mut raw = TcpStream::connect(lab.https_addr()).await.unwrap();
    raw.write_all(&client_hello(&lab, "stall.test"))
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), raw.read(&mut buf))
            .await
            .is_err(),
        "no byte comes back"
    );

    drop(lab);
    // Both connections end within 3 s of the drop, or the test fails.
    let ended = async {
        for stream in [&mut raw, &mut plain] {
            let read = stream.read(&mut buf).await;
            assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        }
    };
    tokio::time::timeout(Duration::from_secs(3), ended)
        .await
        .expect("the connections end when the lab is dropped");
}

#[tokio::test]
async fn huge_body_streams_fifty_mib_over_http1() {
    let lab = Lab::start(scenario()).await.unwrap();
    let stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    let mut sender = common::h1_client(stream).await;
    let req = common::get_request("/", Some("big.test"));
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-length"],
        (50 * MIB).to_string().as_str()
    );
    let (total, start) = tokio::time::timeout(Duration::from_secs(60), count_body(response))
        .await
        .unwrap();
    assert_eq!(total, 50 * MIB);
    assert!(start.starts_with(b"<!doctype html>\n<title>Huge</title>\n<p>xxxx"));
    assert_eq!(lab.requests_served(), 1);
    assert!(common::eventually(|| lab.slow_writers() == 0).await);
}

#[tokio::test]
async fn huge_body_streams_over_h2_and_small_sizes_are_exact() {
    let lab = Lab::start(scenario()).await.unwrap();

    let mut config = common::verifying_config(&lab);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = common::tls_connect(&lab, "big.test", config).await.unwrap();
    let mut sender = common::h2_client(tls).await;
    let req = common::get_request("https://big.test/", None);
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let (total, start) = tokio::time::timeout(Duration::from_secs(60), count_body(response))
        .await
        .unwrap();
    assert_eq!(total, 4 * MIB);
    assert!(start.starts_with(b"<!doctype html>"));

    // Non-HTML bodies are filler only; bodies shorter than the HTML prefix are cut.
    let blob = common::http_get(&lab, "blob.test", "/").await;
    assert_eq!(blob.status, 503);
    assert_eq!(
        blob.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(blob.body, "xxxxxxxxxx");
    let tiny = common::http_get(&lab, "tiny.test", "/").await;
    assert_eq!(tiny.body, "<!doc");
}

#[tokio::test]
async fn huge_body_stops_when_the_client_leaves() {
    let lab = Lab::start(scenario()).await.unwrap();
    let mut stream = common::raw_get(&lab, "endless.test").await;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < MIB {
        total += stream.read(&mut buf).await.unwrap();
    }
    assert_eq!(lab.slow_writers(), 1);
    common::assert_writer_released(&lab, stream, "the 1 GiB body").await;
}

#[tokio::test]
async fn dropping_the_lab_ends_huge_bodies_on_h2_streams() {
    let lab = Lab::start(scenario()).await.unwrap();
    let mut config = common::verifying_config(&lab);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = common::tls_connect(&lab, "endless.test", config)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(common::h2_executor(), TokioIo::new(tls))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let req = common::get_request("https://endless.test/", None);
    let response = sender.send_request(req).await.unwrap();
    let mut body = response.into_body();
    let mut total = 0;
    while total < MIB {
        total += body
            .frame()
            .await
            .unwrap()
            .unwrap()
            .into_data()
            .unwrap()
            .len();
    }
    assert!(common::eventually(|| lab.slow_writers() == 1).await);

    drop(lab);
    // The stream fails (or the connection ends) long before a gibibyte.
    let ended = tokio::time::timeout(common::IO_TIMEOUT, async {
        while let Some(Ok(frame)) = body.frame().await {
            total += frame.into_data().map_or(0, |d| d.len());
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the body still streams after the lab dropped"
    );
    assert!(total < 256 * MIB, "read {total} bytes");
    drop(sender);
    let _ = tokio::time::timeout(common::IO_TIMEOUT, conn).await;
}
