//! Hand-written responses: `Dribble` (one byte per second) and `HugeHeader` (a multi-megabyte
//! header), over plain HTTP and TLS, their HTTP/1.1-only ALPN, and that their writers stop when
//! the client disconnects or the lab is dropped.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use launchready_lab::{Handler, Lab, Scenario, Site};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const TEN_MIB: usize = 10 * 1024 * 1024;

fn scenario() -> Scenario {
    Scenario::new()
        .site(Site::new("drip.test").on_both(Handler::dribble(200, "hello")))
        .site(Site::new("fat.test").on_both(Handler::huge_header(200, TEN_MIB)))
        // No allocation of this size ever happens: the padding comes from a small static buffer.
        .site(Site::new("endless.test").http(Handler::huge_header(200, 1 << 30)))
        .site(Site::new("one-mib.test").http(Handler::huge_header(200, 1024 * 1024)))
        .site(Site::new("normal.test"))
}

async fn tls_with_alpn(
    lab: &Lab,
    host: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut config = common::verifying_config(lab);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let stream = TcpStream::connect(lab.https_addr()).await.unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(host.to_owned()).unwrap(), stream)
        .await
        .unwrap()
}

/// Reads from `stream` for 2.5 s and asserts that what arrived trickled in at about one byte per
/// second and spells the start of the dribbled response.
async fn assert_dribbles<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) {
    let started = Instant::now();
    let mut reads = Vec::new();
    common::read_for(stream, usize::MAX, Duration::from_millis(2500), &mut reads).await;
    let bytes: Vec<u8> = reads.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(
        (2..=4).contains(&bytes.len()),
        "expected 2-4 bytes in ~2.5 s, got {:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(b"HTTP/1.1 200 OK\r\n".starts_with(&bytes), "{bytes:?}");
    assert!(
        reads.iter().all(|(_, b)| b.len() == 1),
        "one byte per write: {reads:?}"
    );
    assert!(
        reads[0].0 - started < Duration::from_millis(900),
        "first byte late"
    );
    for pair in reads.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= Duration::from_millis(700) && gap <= Duration::from_millis(2000),
            "gap {gap:?}"
        );
    }
}

#[tokio::test]
async fn dribble_sends_one_byte_per_second_and_stops_when_the_client_leaves() {
    let lab = Lab::start(scenario()).await.unwrap();
    let mut stream = common::raw_get(&lab, "drip.test").await;
    assert_dribbles(&mut stream).await;
    assert_eq!(lab.slow_writers(), 1);
    assert_eq!(lab.requests_served(), 1);

    // The writer stops, and the lab is still serving normally afterwards.
    common::assert_writer_released(&lab, stream, "the writer").await;
}

#[tokio::test]
async fn dribble_over_tls_negotiates_http1_only() {
    let lab = Lab::start(scenario()).await.unwrap();

    // A client preferring h2 is steered to http/1.1 for the dribbling site...
    let mut tls = tls_with_alpn(&lab, "drip.test", &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    // ...while a normal site on the same listener still offers h2.
    let normal = tls_with_alpn(&lab, "normal.test", &[b"h2", b"http/1.1"]).await;
    assert_eq!(normal.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    tls.write_all(common::raw_request("drip.test").as_bytes())
        .await
        .unwrap();
    assert_dribbles(&mut tls).await;

    drop(tls);
    assert!(common::eventually(|| lab.slow_writers() == 0).await);
}

#[tokio::test]
async fn dribble_over_prior_knowledge_h2_streams_the_body_slowly() {
    let lab = Lab::start(scenario()).await.unwrap();
    let stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    let mut sender = common::h2_client(stream).await;
    let req = common::get_request("http://drip.test/", None);
    let started = Instant::now();
    let resp = tokio::time::timeout(Duration::from_secs(1), sender.send_request(req))
        .await
        .expect("HTTP/2 headers are not dribbled")
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "5");

    let mut body = resp.into_body();
    let mut got = Vec::new();
    while got.len() < 2 {
        let frame = tokio::time::timeout(
            common::IO_TIMEOUT,
            http_body_util::BodyExt::frame(&mut body),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
        let data = frame.into_data().unwrap();
        assert_eq!(data.len(), 1);
        got.push((started.elapsed(), data));
    }
    assert_eq!(&got[0].1[..], b"h");
    assert_eq!(&got[1].1[..], b"e");
    assert!(got[1].0 - got[0].0 >= Duration::from_millis(800), "{got:?}");
}

/// A raw response head with a huge header, read without buffering the padding: the bytes up
/// to and including `x-padding: `, the number of padding bytes, and the rest of the head.
struct HugeHead {
    prefix: String,
    padding: usize,
    rest: String,
}

async fn read_huge_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> HugeHead {
    const MARKER: &[u8] = b"x-padding: ";
    let mut prefix: Option<Vec<u8>> = None;
    let mut pending = Vec::new();
    let mut padding = 0usize;
    let mut in_padding = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::time::timeout(common::IO_TIMEOUT, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed inside the head");
        let mut chunk = &buf[..n];
        if prefix.is_none() {
            pending.extend_from_slice(chunk);
            let Some(at) = pending.windows(MARKER.len()).position(|w| w == MARKER) else {
                continue;
            };
            let end = at + MARKER.len();
            let after = pending.split_off(end);
            prefix = Some(std::mem::replace(&mut pending, after));
            in_padding = true;
            let leftover = std::mem::take(&mut pending);
            chunk = &[];
            padding += leftover.iter().take_while(|b| **b == b'x').count();
            if padding < leftover.len() {
                in_padding = false;
                pending = leftover[padding..].to_vec();
            }
        }
        if in_padding {
            let xs = chunk.iter().take_while(|b| **b == b'x').count();
            padding += xs;
            if xs < chunk.len() {
                in_padding = false;
                pending.extend_from_slice(&chunk[xs..]);
            }
        } else {
            pending.extend_from_slice(chunk);
        }
        if let (false, Some(end)) = (
            in_padding,
            pending.windows(4).position(|w| w == b"\r\n\r\n"),
        ) {
            return HugeHead {
                prefix: String::from_utf8(prefix.unwrap()).unwrap(),
                padding,
                rest: String::from_utf8(pending[..end].to_vec()).unwrap(),
            };
        }
    }
}

fn assert_huge_head(head: &HugeHead) {
    assert_eq!(head.prefix, "HTTP/1.1 200 OK\r\nx-padding: ");
    assert_eq!(head.padding, TEN_MIB);
    assert!(head.rest.starts_with("\r\n"), "{:?}", head.rest);
    assert!(
        head.rest.contains("\r\ncontent-length: 0"),
        "{:?}",
        head.rest
    );
}

#[tokio::test]
async fn huge_header_arrives_whole_over_http_and_https() {
    let lab = Lab::start(scenario()).await.unwrap();

    let mut plain = common::raw_get(&lab, "fat.test").await;
    assert_huge_head(&read_huge_head(&mut plain).await);

    let mut tls = tls_with_alpn(&lab, "fat.test", &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls.write_all(common::raw_request("fat.test").as_bytes())
        .await
        .unwrap();
    assert_huge_head(&read_huge_head(&mut tls).await);

    // A stock client refuses a head this large, which is the point of the scenario.
    let stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    let mut sender = common::h1_client(stream).await;
    let req = common::get_request("/", Some("fat.test"));
    let result = tokio::time::timeout(common::IO_TIMEOUT, sender.send_request(req))
        .await
        .unwrap();
    assert!(
        result.is_err(),
        "hyper accepted a 10 MiB header: {result:?}"
    );
}

#[tokio::test]
async fn huge_header_writer_stops_when_the_client_disconnects() {
    let lab = Lab::start(scenario()).await.unwrap();
    let mut stream = common::raw_get(&lab, "endless.test").await;
    let mut buf = vec![0u8; 64 * 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\nx-padding: x"));
    assert!(common::eventually(|| lab.slow_writers() == 1).await);

    common::assert_writer_released(&lab, stream, "the 1 GiB writer").await;
}

#[tokio::test]
async fn dropping_the_lab_stops_dribble_and_huge_header_writers() {
    let lab = Lab::start(scenario()).await.unwrap();

    let mut drip = common::raw_get(&lab, "drip.test").await;
    let mut one = [0u8; 1];
    drip.read_exact(&mut one).await.unwrap();

    let mut fat = common::raw_get(&lab, "endless.test").await;
    let mut buf = vec![0u8; 64 * 1024];
    let n = fat.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(common::eventually(|| lab.slow_writers() == 2).await);

    drop(lab);

    // Both connections end (EOF or reset) instead of trickling on: the dribble long before its
    // ~90 remaining bytes, the huge header far short of 1 GiB.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(3), drip.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "dribble still open 3 s after drop");
    assert!(rest.len() <= 3, "dribble kept writing: {rest:?}");

    let mut total = 0usize;
    let ended = tokio::time::timeout(common::IO_TIMEOUT, async {
        loop {
            match fat.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "huge header still open after drop");
    assert!(total < 64 * 1024 * 1024, "read {total} bytes after drop");
}

/// An HTTP/2 request cannot be answered with hand-written HTTP/1.1 bytes, so it gets the same
/// header through hyper (which holds it in memory; fine for the sizes tests use).
#[tokio::test]
async fn huge_header_over_prior_knowledge_h2_goes_through_hyper() {
    let lab = Lab::start(scenario()).await.unwrap();
    let stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(common::h2_executor())
        .max_header_list_size(4 * 1024 * 1024)
        .handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = common::get_request("http://one-mib.test/", None);
    let resp = tokio::time::timeout(common::IO_TIMEOUT, sender.send_request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let padding = resp.headers()["x-padding"].as_bytes();
    assert_eq!(padding.len(), 1024 * 1024);
    assert!(padding.iter().all(|b| *b == b'x'));
    assert_eq!(lab.slow_writers(), 0, "no hand-written response on HTTP/2");
}
