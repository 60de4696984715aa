//! Real clients (DNS resolver, raw DNS, HTTP/1.1, HTTP/2, TLS) pointed at a running lab.

#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::op::{Message, Query};
use hickory_server::proto::rr::{Name, RData, RecordType};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use launchready_lab::Lab;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Generous bound so a loaded 2-core CI box does not produce false failures.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A stub resolver that only knows the lab's DNS server (UDP with TCP fallback, no hosts file,
/// no cache, so every lookup reaches the lab).
pub fn resolver(lab: &Lab) -> TokioResolver {
    resolver_with_timeout(lab, IO_TIMEOUT)
}

/// Like [`resolver`] with a per-query timeout, for tests that expect no answer.
pub fn resolver_with_timeout(lab: &Lab, timeout: Duration) -> TokioResolver {
    let port = lab.dns_addr().port();
    let mut udp = ConnectionConfig::udp();
    udp.port = port;
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = port;
    let ns = NameServerConfig::new(lab.dns_addr().ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_name_servers(vec![ns]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let opts = builder.options_mut();
    opts.use_hosts_file = ResolveHosts::Never;
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = timeout;
    builder.build().unwrap()
}

fn query_bytes(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut msg = Message::query();
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    msg.to_vec().unwrap()
}

/// Which way a raw DNS query travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    /// TCP with the 2-byte length framing, on the same port as UDP.
    Tcp,
}

pub use Transport::{Tcp, Udp};

/// One raw query, returning the full response message (flags, rcode, sections).
pub async fn raw(transport: Transport, addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    raw_within(transport, addr, name, rtype, IO_TIMEOUT)
        .await
        .unwrap_or_else(|| panic!("a {transport:?} answer"))
}

/// One raw query; `None` when no answer arrives within `wait`.
pub async fn raw_within(
    transport: Transport,
    addr: SocketAddr,
    name: &str,
    rtype: RecordType,
    wait: Duration,
) -> Option<Message> {
    let q = query_bytes(name, rtype);
    let answer = match transport {
        Udp => {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.send_to(&q, addr).await.unwrap();
            let mut buf = vec![0u8; 4096];
            let (len, _) = tokio::time::timeout(wait, socket.recv_from(&mut buf))
                .await
                .ok()?
                .unwrap();
            buf.truncate(len);
            buf
        }
        Tcp => {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(&(q.len() as u16).to_be_bytes())
                .await
                .unwrap();
            stream.write_all(&q).await.unwrap();
            let mut len = [0u8; 2];
            tokio::time::timeout(wait, stream.read_exact(&mut len))
                .await
                .ok()?
                .unwrap();
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            stream.read_exact(&mut buf).await.unwrap();
            buf
        }
    };
    Some(Message::from_vec(&answer).unwrap())
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and one header's value.
    #[track_caller]
    pub fn assert(&self, status: u16, name: &str, value: &str) {
        assert_eq!(self.status, status, "status");
        assert_eq!(self.header(name), Some(value), "{name}");
    }

    /// Asserts that none of `names` is among the headers.
    #[track_caller]
    pub fn assert_absent(&self, names: &[&str]) {
        for name in names {
            assert!(self.header(name).is_none(), "{name}");
        }
    }
}

/// HTTP/1.1 GET over an already connected stream (plain or TLS), via hyper's client.
pub async fn get_over<S>(stream: S, host: &str, path: &str) -> Reply
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let mut sender = h1_client(stream).await;
    let resp = sender
        .send_request(get_request(path, Some(host)))
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// `GET http://host/path` through the lab's HTTP port (what `--connect-to :80:...` does).
pub async fn http_get(lab: &Lab, host: &str, path: &str) -> Reply {
    let stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    tokio::time::timeout(IO_TIMEOUT, get_over(stream, host, path))
        .await
        .unwrap()
}

/// `GET https://host/path` through the lab's HTTPS port, verifying against the lab root.
pub async fn https_get(lab: &Lab, host: &str, path: &str) -> Reply {
    let tls = tls_verified(lab, host).await;
    tokio::time::timeout(IO_TIMEOUT, get_over(tls, host, path))
        .await
        .unwrap()
}

/// Root store holding the lab root, parsed from the PEM text clients are given.
pub fn lab_roots(lab: &Lab) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let der = CertificateDer::from_pem_slice(lab.ca_pem().as_bytes()).unwrap();
    roots.add(der).unwrap();
    roots
}

pub fn verifying_config(lab: &Lab) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(lab_roots(lab))
        .with_no_client_auth()
}

/// TLS handshake with SNI = `server_name`; the error is the rustls error when there is one.
pub async fn tls_connect(
    lab: &Lab,
    server_name: &str,
    config: ClientConfig,
) -> Result<TlsStream<TcpStream>, std::io::Error> {
    let stream = TcpStream::connect(lab.https_addr()).await?;
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    tokio::time::timeout(
        IO_TIMEOUT,
        TlsConnector::from(Arc::new(config)).connect(name, stream),
    )
    .await
    .unwrap()
}

pub fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A completed handshake with `host` by a client verifying against the lab root.
pub async fn tls_verified(lab: &Lab, host: &str) -> TlsStream<TcpStream> {
    tls_connect(lab, host, verifying_config(lab))
        .await
        .unwrap_or_else(|e| panic!("{host}: {e}"))
}

/// The rustls error a verifying client's handshake with `host` fails with.
pub async fn handshake_error(lab: &Lab, host: &str) -> rustls::Error {
    handshake_error_with(lab, host, verifying_config(lab)).await
}

/// The rustls error the handshake of a client with `config` fails with.
pub async fn handshake_error_with(lab: &Lab, host: &str, config: ClientConfig) -> rustls::Error {
    let err = tls_connect(lab, host, config)
        .await
        .expect_err("handshake should fail");
    rustls_error(&err)
        .cloned()
        .unwrap_or_else(|| panic!("not a rustls error: {err}"))
}

/// The certificate chain `host` sends, leaf first, whether or not it verifies.
pub async fn chain_of(lab: &Lab, host: &str) -> Vec<CertificateDer<'static>> {
    let recorder = RecordingVerifier::new();
    tls_connect(lab, host, recorder.config()).await.unwrap();
    recorder.last_chain()
}

/// A browser-like verifier trusting only the lab root, to check chains at chosen instants.
pub fn lab_verifier(lab: &Lab) -> Arc<WebPkiServerVerifier> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(lab_roots(lab)), provider())
        .build()
        .unwrap()
}

/// Whether `verifier` accepts `chain` for `host` at `at`.
pub fn verify_at(
    verifier: &WebPkiServerVerifier,
    chain: &[CertificateDer<'static>],
    host: &str,
    at: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let name = ServerName::try_from(host.to_owned()).unwrap();
    verifier.verify_server_cert(&chain[0], &chain[1..], &name, &[], at)
}

/// The instant `days` days from now.
pub fn days_from_now(days: u64) -> UnixTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    UnixTime::since_unix_epoch(now + Duration::from_secs(days * 86_400))
}

/// How a recording client checks handshake signatures.
pub trait SignatureCheck: std::fmt::Debug + Send + Sync {
    /// Checks `dss` over `message` with `cert`'s key, by TLS 1.3's rules when `tls13`.
    fn verify(
        &self,
        tls13: bool,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error>;

    fn schemes(&self) -> Vec<SignatureScheme>;
}

/// Signatures checked as rustls does by default, with ring.
#[derive(Debug)]
pub struct RingSignatures(Arc<CryptoProvider>);

impl SignatureCheck for RingSignatures {
    fn verify(
        &self,
        tls13: bool,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        if tls13 {
            verify_tls13_signature(message, cert, dss, algorithms)
        } else {
            verify_tls12_signature(message, cert, dss, algorithms)
        }
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Accepts any certificate but remembers the chain the server sent, to inspect what the lab
/// puts on the wire independently of whether it verifies. Handshake signatures are checked by
/// `signatures` (ring unless a test brings its own).
#[derive(Debug)]
pub struct RecordingVerifier {
    pub chains: Mutex<Vec<Vec<CertificateDer<'static>>>>,
    signatures: Box<dyn SignatureCheck>,
}

impl RecordingVerifier {
    pub fn new() -> Arc<Self> {
        Self::with_signatures(RingSignatures(provider()))
    }

    pub fn with_signatures(signatures: impl SignatureCheck + 'static) -> Arc<Self> {
        Arc::new(Self {
            chains: Mutex::new(Vec::new()),
            signatures: Box::new(signatures),
        })
    }

    pub fn config(self: &Arc<Self>) -> ClientConfig {
        self.config_for(rustls::DEFAULT_VERSIONS)
    }

    /// A client offering only `versions`.
    pub fn config_for(
        self: &Arc<Self>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> ClientConfig {
        ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth()
    }

    pub fn last_chain(&self) -> Vec<CertificateDer<'static>> {
        self.chains.lock().unwrap().last().cloned().unwrap()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        self.chains.lock().unwrap().push(chain);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify(false, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify(true, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// Sends raw bytes to the HTTP port and returns everything read until the server closes.
pub async fn raw_http(lab: &Lab, request: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(lab.http_addr()).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut out))
        .await
        .map_err(std::io::Error::other)??;
    Ok(out)
}

pub fn h2_executor() -> TokioExecutor {
    TokioExecutor::new()
}

/// Sends raw bytes over any stream and returns everything read until the server closes (or
/// resets, or [`IO_TIMEOUT`] passes: whatever arrived by then is returned).
pub async fn raw_exchange<S>(mut stream: S, request: &str) -> Vec<u8>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// The response head (up to and excluding the blank line) of raw HTTP/1.1 bytes.
pub fn response_head(bytes: &[u8]) -> &str {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    std::str::from_utf8(&bytes[..end]).unwrap()
}

/// Header lines of a raw response head, names lowercased, values verbatim.
pub fn head_headers(head: &str) -> Vec<(String, String)> {
    head.split("\r\n")
        .skip(1)
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim_start().to_owned())
        })
        .collect()
}

/// Reads from `stream` into `out` until `wanted` bytes have arrived or `wait` has passed,
/// recording when each read completed.
pub async fn read_for<S>(
    stream: &mut S,
    wanted: usize,
    wait: Duration,
    out: &mut Vec<(std::time::Instant, Vec<u8>)>,
) where
    S: tokio::io::AsyncRead + Unpin,
{
    let deadline = tokio::time::Instant::now() + wait;
    let mut total: usize = out.iter().map(|(_, b)| b.len()).sum();
    let mut buf = [0u8; 1024];
    while total < wanted {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                out.push((std::time::Instant::now(), buf[..n].to_vec()));
                total += n;
            }
            _ => return,
        }
    }
}

/// Polls `condition` every 20 ms until it holds or [`IO_TIMEOUT`] passes.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

/// Asserts the `(status, url)` hops [`follow`] takes from `url` (at most five redirects).
pub async fn assert_hops(lab: &Lab, url: &str, expected: &[(u16, &str)]) {
    let hops = follow(lab, url, 5).await;
    let hops: Vec<(u16, &str)> = hops
        .iter()
        .map(|(status, url)| (*status, url.as_str()))
        .collect();
    assert_eq!(hops, expected, "the hops from {url}");
}

/// Follows redirects from `url` through the lab (resolving relative Locations against the
/// current URL's origin), returning every (status, URL) visited, the final response last.
pub async fn follow(lab: &Lab, url: &str, max_hops: usize) -> Vec<(u16, String)> {
    let mut url = url.to_owned();
    let mut visited = Vec::new();
    for _ in 0..=max_hops {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let reply = match scheme {
            "http" => http_get(lab, host, path).await,
            "https" => https_get(lab, host, path).await,
            other => panic!("unexpected scheme {other}"),
        };
        visited.push((reply.status.as_u16(), url.clone()));
        if !reply.status.is_redirection() {
            return visited;
        }
        let location = reply.header("location").unwrap();
        url = if location.starts_with('/') {
            format!("{scheme}://{host}{location}")
        } else {
            location.to_owned()
        };
    }
    panic!("more than {max_hops} hops from {visited:?}");
}

/// The NS targets in a DNS answer, sorted.
pub fn ns_targets(answer: &Message) -> Vec<String> {
    let mut targets: Vec<String> = answer
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::NS(ns) => ns.0.to_ascii(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    targets.sort();
    targets
}

/// Asserts that `name` has an A record for 127.0.0.1 and returns its TTL.
pub async fn assert_loopback(resolver: &TokioResolver, name: &str) -> u32 {
    let a = resolver.lookup(name, RecordType::A).await.unwrap();
    assert_eq!(
        a.answers()[0].data,
        RData::A(Ipv4Addr::LOCALHOST.into()),
        "{name}"
    );
    a.answers()[0].ttl
}

/// Asserts that the first TXT record of each name starts with its prefix.
pub async fn assert_txt_prefixes(resolver: &TokioResolver, expected: &[(&str, &str)]) {
    for (name, prefix) in expected {
        let txt = resolver.lookup(*name, RecordType::TXT).await.unwrap();
        let RData::TXT(txt) = &txt.answers()[0].data else {
            panic!("not TXT");
        };
        let text: Vec<u8> = txt.txt_data.iter().flat_map(|c| c.to_vec()).collect();
        assert!(text.starts_with(prefix.as_bytes()), "{name}");
    }
}

/// Asserts that `name` does not exist: the lookup fails with NXDOMAIN.
pub async fn assert_nxdomain(resolver: &TokioResolver, name: &str, rtype: RecordType) {
    let err = resolver.lookup(name, rtype).await.unwrap_err();
    assert!(err.is_nx_domain(), "{name} should be NXDOMAIN: {err}");
}

/// Asserts the records of a domain that sends mail: SPF at the apex, DMARC, and DKIM under selector `s1`.
pub async fn assert_mail_records(resolver: &TokioResolver, domain: &str) {
    let names = [
        format!("{domain}."),
        format!("_dmarc.{domain}."),
        format!("s1._domainkey.{domain}."),
    ];
    let prefixes = ["v=spf1 ", "v=DMARC1; p=reject", "v=DKIM1; "];
    let expected: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(prefixes).collect();
    assert_txt_prefixes(resolver, &expected).await;
}

/// Asserts that `text` contains every part.
#[track_caller]
pub fn assert_contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?}");
    }
}

/// Follows each entry point and asserts it reaches `canonical` in one 301, and that `canonical` itself answers.
pub async fn assert_one_hop_to(lab: &Lab, entries: &[&str], canonical: &str) {
    for entry in entries {
        assert_eq!(
            follow(lab, entry, 3).await,
            vec![(301, entry.to_string()), (200, canonical.to_owned())],
            "{entry}"
        );
    }
}

/// Asserts that each host answers `/` over HTTPS with its status and upgrades plain HTTP with a 301 to the same
/// URL over HTTPS; returns the HTTPS replies.
pub async fn assert_https_and_upgrade(lab: &Lab, hosts: &[(&str, u16)]) -> Vec<Reply> {
    let mut replies = Vec::new();
    for (host, status) in hosts {
        let https = https_get(lab, host, "/").await;
        assert_eq!(https.status, *status, "{host}");
        let http = http_get(lab, host, "/").await;
        assert_eq!(http.status, 301, "{host}");
        assert_eq!(
            http.header("location"),
            Some(format!("https://{host}/").as_str())
        );
        replies.push(https);
    }
    replies
}

/// Drops the `client` of a slow response, then asserts that its writer stops (or fails naming `what` kept
/// going) and that the lab still serves `normal.test`, which upgrades to HTTPS.
pub async fn assert_writer_released<C>(lab: &Lab, client: C, what: &str) {
    drop(client);
    assert!(
        eventually(|| lab.slow_writers() == 0).await,
        "{what} kept going after the client left"
    );
    assert_eq!(http_get(lab, "normal.test", "/").await.status, 301);
}

/// An HTTP/2 client on `stream` (TLS with `h2` negotiated, or plain TCP with prior knowledge); its connection
/// runs on a spawned task.
pub async fn h2_client<S>(stream: S) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http2::handshake(h2_executor(), TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// An HTTP/1.1 client on `stream`; its connection runs on a spawned task.
pub async fn h1_client<S>(stream: S) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// `GET uri` with no body, and a Host header when `host` is given (HTTP/1.1 origin-form requests need one).
pub fn get_request(uri: &str, host: Option<&str>) -> Request<Empty<Bytes>> {
    let request = Request::get(uri);
    let request = match host {
        Some(host) => request.header(http::header::HOST, host),
        None => request,
    };
    request.body(Empty::<Bytes>::new()).unwrap()
}

/// A plain connection to the lab's HTTP port on which `GET / HTTP/1.1` for `host` (with
/// `Connection: close`) has been sent, raw, for tests that read the answer byte by byte.
pub async fn raw_get(lab: &Lab, host: &str) -> TcpStream {
    let mut stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    stream
        .write_all(raw_request(host).as_bytes())
        .await
        .unwrap();
    stream
}

/// `GET / HTTP/1.1` for `host` with `Connection: close`, as raw text.
pub fn raw_request(host: &str) -> String {
    format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// Awaits `answer`, asserting it took at least `latency`: injected delays are a floor no scheduler can undercut.
pub async fn delayed_by<T>(latency: Duration, answer: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let output = answer.await;
    assert!(
        started.elapsed() >= latency,
        "answered after {:?}, before the {latency:?} delay",
        started.elapsed()
    );
    output
}

/// The CAA records of `name` as (critical, tag, value).
pub async fn caa_records(resolver: &TokioResolver, name: &str) -> Vec<(bool, String, Vec<u8>)> {
    let caa = resolver.lookup(name, RecordType::CAA).await.unwrap();
    caa.answers()
        .iter()
        .map(|r| match &r.data {
            RData::CAA(caa) => (caa.issuer_critical, caa.tag.to_string(), caa.value.to_vec()),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}
