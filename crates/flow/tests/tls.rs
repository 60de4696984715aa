//! Flows over HTTPS against an in-process server with a private certificate: refused unless the CA is trusted
//! (`ca_files`, as `--ca-file` sets it) or `insecure`; HTTP/2 negotiated by ALPN carries no `Host` header;
//! `--http1.1` (the run's `http1_only`, or a file's `[Options] http1.1: true`) keeps a server that offers HTTP/2
//! on HTTP/1.1.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use launchready_flow::{Engine, FlowResult, RunOptions, Variables, exit, exit_code, render};
use launchready_net::{Net, NetConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const WATCHDOG: Duration = Duration::from_secs(30);

/// Answers with the protocol version and whether a Host header came, so the flow can assert on both.
async fn handle(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let body = format!(
        "version={:?} host_header={}",
        request.version(),
        request.headers().contains_key(hyper::header::HOST)
    );
    Ok(Response::new(Full::new(Bytes::from(body))))
}

struct TlsServer {
    addr: SocketAddr,
    ca_pem: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_server(alpn: &[&[u8]]) -> TlsServer {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, cert.pem()).expect("write the CA");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), hyper::service::service_fn(handle))
                    .await;
            });
        }
    });
    TlsServer {
        addr,
        ca_pem,
        _dir: dir,
        task,
    }
}

async fn run(flow: &str, ca_files: Vec<PathBuf>, insecure: bool) -> FlowResult {
    run_with(
        flow,
        ca_files,
        RunOptions {
            insecure,
            ..RunOptions::default()
        },
    )
    .await
}

async fn run_with(flow: &str, ca_files: Vec<PathBuf>, options: RunOptions) -> FlowResult {
    let net = Net::new(NetConfig {
        resolvers: vec!["127.0.0.1:9".parse().expect("address")],
        ca_files,
        timeout: Duration::from_secs(5),
        ..NetConfig::default()
    })
    .expect("net");
    let file = launchready_flow::parse(Path::new("tls.hurl"), flow).expect("parses");
    let engine = Engine::new(&net, options);
    tokio::time::timeout(WATCHDOG, engine.run(&file, &mut Variables::new()))
        .await
        .expect("finished before the watchdog")
}

#[tokio::test]
async fn a_private_certificate_needs_its_ca_and_http2_sends_no_host_header() {
    let server = tls_server(&[b"h2", b"http/1.1"]).await;
    let flow = format!(
        "GET https://{}/\nHTTP/2 200\n[Asserts]\nbody == \"version=HTTP/2.0 host_header=false\"\n",
        server.addr
    );

    let untrusted = run(&flow, Vec::new(), false).await;
    assert_eq!(
        exit_code(std::slice::from_ref(&untrusted)),
        exit::COULD_NOT_RUN
    );
    let error = untrusted.entries[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("not trusted"), "{error}");

    let trusted = run(&flow, vec![server.ca_pem.clone()], false).await;
    assert!(
        trusted.passed(),
        "{}",
        render::text(std::slice::from_ref(&trusted))
    );
    assert!(trusted.entries[0].exchanges[0].timings.tls_ms.is_some());

    let insecure = run(&flow, Vec::new(), true).await;
    assert!(
        insecure.passed(),
        "{}",
        render::text(std::slice::from_ref(&insecure))
    );
}

#[tokio::test]
async fn a_server_without_http2_is_spoken_to_in_http11_with_a_host_header() {
    let server = tls_server(&[b"http/1.1"]).await;
    let flow = format!(
        "GET https://{}/\nHTTP/1.1 200\n[Asserts]\nbody == \"version=HTTP/1.1 host_header=true\"\n",
        server.addr
    );
    let result = run(&flow, vec![server.ca_pem.clone()], false).await;
    assert!(
        result.passed(),
        "{}",
        render::text(std::slice::from_ref(&result))
    );
}

#[tokio::test]
async fn http1_only_keeps_a_server_that_offers_http2_on_http11() {
    let server = tls_server(&[b"h2", b"http/1.1"]).await;
    let ca = vec![server.ca_pem.clone()];
    let h1 = format!(
        "GET https://{}/\nHTTP/1.1 200\n[Asserts]\nbody == \"version=HTTP/1.1 host_header=true\"\n",
        server.addr
    );
    let h2 = format!(
        "GET https://{}/\nHTTP/2 200\n[Asserts]\nbody == \"version=HTTP/2.0 host_header=false\"\n",
        server.addr
    );

    // The same server, the same flow: HTTP/2 by default, HTTP/1.1 with the run's option.
    let default = run_with(&h2, ca.clone(), RunOptions::default()).await;
    assert!(
        default.passed(),
        "{}",
        render::text(std::slice::from_ref(&default))
    );
    assert_eq!(default.entries[0].exchanges[0].version, "HTTP/2");
    let forced = run_with(
        &h1,
        ca.clone(),
        RunOptions {
            http1_only: true,
            ..RunOptions::default()
        },
    )
    .await;
    assert!(
        forced.passed(),
        "{}",
        render::text(std::slice::from_ref(&forced))
    );
    assert_eq!(forced.entries[0].exchanges[0].version, "HTTP/1.1");

    // Per entry, as Hurl's `[Options] http1.1: true`; the next entry of the same run is back on HTTP/2.
    let per_entry = format!(
        "GET https://{addr}/\n[Options]\nhttp1.1: true\nHTTP/1.1 200\n[Asserts]\nbody == \"version=HTTP/1.1 host_header=true\"\n\n{h2}",
        addr = server.addr
    );
    let mixed = run_with(&per_entry, ca, RunOptions::default()).await;
    assert!(
        mixed.passed(),
        "{}",
        render::text(std::slice::from_ref(&mixed))
    );
    let versions: Vec<&str> = mixed
        .entries
        .iter()
        .map(|e| e.exchanges[0].version.as_str())
        .collect();
    assert_eq!(versions, ["HTTP/1.1", "HTTP/2"]);
}
