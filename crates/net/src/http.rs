//! The probing HTTP(S) client: one request per hop over a fresh connection, timed phase by phase (DNS, connect,
//! TLS, first byte, total), redirects followed by hand so every hop is a fact. A fresh connection per hop is
//! deliberate: it is what a first-time visitor pays, and it keeps each hop's timings honest.

use crate::Net;
use crate::connect_to::resolve_target;
use crate::tls::{TlsClient, failed_handshake_facts};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use launchready_findings::facts::{ChainEnd, HopFacts, NetError, NetErrorKind, Timings};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::{Position, Url};

/// How much of a text body is kept for content checks.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Milliseconds since `since`, to two decimals: the unit of every phase timing.
pub(crate) fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Connects to the first of `ips` that accepts on `port`, each try bounded by `timeout`; otherwise the last
/// failure, classified.
pub(crate) async fn connect_first(
    ips: Vec<IpAddr>,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), (NetErrorKind, String)> {
    let mut last_error = (NetErrorKind::Io, "no address to connect to".to_string());
    for ip in ips {
        let addr = SocketAddr::new(ip, port);
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok((tcp, addr)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last_error = (
                    NetErrorKind::Refused,
                    format!("{addr} refused the connection"),
                );
            }
            Ok(Err(e)) => last_error = (NetErrorKind::Io, format!("connecting to {addr}: {e}")),
            Err(_) => {
                last_error = (
                    NetErrorKind::Timeout,
                    format!(
                        "connecting to {addr} timed out after {:.1}s",
                        timeout.as_secs_f64()
                    ),
                );
            }
        }
    }
    Err(last_error)
}

/// A request that got no response: a connection cut short is I/O, anything else a protocol error.
pub(crate) fn send_error_kind(error: &hyper::Error) -> NetErrorKind {
    if error.is_incomplete_message() || error.is_canceled() {
        NetErrorKind::Io
    } else {
        NetErrorKind::Protocol
    }
}

/// A response's headers as text, in order, with bytes that are not UTF-8 replaced.
pub(crate) fn header_list(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn net_error(kind: NetErrorKind, message: impl Into<String>) -> NetError {
    NetError {
        kind,
        message: message.into(),
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn is_text(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.starts_with("text/")
            || ct.contains("html")
            || ct.contains("json")
            || ct.contains("xml")
            || ct.contains("javascript")
    })
}

/// How one request differs from the client's defaults.
#[derive(Default, Clone, Copy)]
struct Request<'a> {
    /// Connect to this address of the URL's host instead of what DNS prefers.
    address: Option<IpAddr>,
    user_agent: Option<&'a str>,
}

/// Where and how a hop's request goes, fixed before the first connection attempt.
#[derive(Clone, Copy)]
struct Via<'a> {
    url: &'a Url,
    host: &'a str,
    https: bool,
    target: &'a str,
    target_port: u16,
    user_agent: &'a str,
}

/// A hop's outcome, telling apart an HTTP/2 connection that could not be set up (worth one retry over HTTP/1.1).
enum Exchanged {
    Done(HopFacts),
    H2SetupFailed(HopFacts),
}

/// What a hop knows before the request goes out, and the failure that ends it early.
struct Attempt {
    hop: HopFacts,
    started: Instant,
}

impl Attempt {
    fn fail(mut self, kind: NetErrorKind, message: impl Into<String>) -> HopFacts {
        self.hop.error = Some(net_error(kind, message));
        self.hop.timings.total_ms = ms(self.started);
        self.hop
    }
}

impl Net {
    /// Follows redirects from `start` by hand, at most `max_hops` requests, stopping at a loop.
    pub async fn follow(&self, start: &Url, max_hops: u32) -> (Vec<HopFacts>, ChainEnd) {
        self.follow_as(start, max_hops, None).await
    }

    /// [`Net::follow`] with another `User-Agent` than the configured one (a mobile browser's, say).
    pub async fn follow_as(
        &self,
        start: &Url,
        max_hops: u32,
        user_agent: Option<&str>,
    ) -> (Vec<HopFacts>, ChainEnd) {
        let mut hops = Vec::new();
        let mut seen = HashSet::new();
        let mut current = start.clone();
        loop {
            if hops.len() >= max_hops.max(1) as usize {
                return (hops, ChainEnd::TooManyHops);
            }
            seen.insert(current.to_string());
            let hop = self
                .fetch_inner(
                    &current,
                    Request {
                        user_agent,
                        ..Request::default()
                    },
                )
                .await;
            let next = match (hop.status, &hop.location) {
                (None, _) => {
                    hops.push(hop);
                    return (hops, ChainEnd::Failed);
                }
                (Some(status), location) if is_redirect(status) => location.clone(),
                (Some(_), _) => {
                    hops.push(hop);
                    return (hops, ChainEnd::Final);
                }
            };
            hops.push(hop);
            let Some(next) = next.and_then(|l| Url::parse(&l).ok()) else {
                return (hops, ChainEnd::BadRedirect);
            };
            if seen.contains(next.as_str()) {
                return (hops, ChainEnd::Loop);
            }
            current = next;
        }
    }

    /// One GET, no redirect following. Never fails: problems are recorded in `HopFacts::error`.
    pub async fn fetch(&self, url: &Url) -> HopFacts {
        self.fetch_inner(url, Request::default()).await
    }

    /// One GET sent to a given address of the URL's host (e.g. its IPv6 address) instead of whatever DNS
    /// prefers. `--connect-to` rules apply with the address as the host, so `[::1]:443:[::1]:8443` moves it.
    pub async fn fetch_at(&self, url: &Url, address: IpAddr) -> HopFacts {
        self.fetch_inner(
            url,
            Request {
                address: Some(address),
                ..Request::default()
            },
        )
        .await
    }

    async fn fetch_inner(&self, url: &Url, request: Request<'_>) -> HopFacts {
        let _permit = self.limit.acquire().await;
        let attempt = Attempt {
            hop: HopFacts {
                url: url.to_string(),
                connected_to: None,
                status: None,
                location: None,
                headers: Vec::new(),
                timings: Timings::default(),
                tls: None,
                error: None,
                body: None,
                protocol: None,
                fallback: None,
            },
            started: Instant::now(),
        };
        if self.past_deadline() {
            return attempt.fail(
                NetErrorKind::Timeout,
                "the audit deadline was reached first",
            );
        }
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return attempt.fail(
                    NetErrorKind::Protocol,
                    format!("unsupported scheme `{other}` (only http and https)"),
                );
            }
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return attempt.fail(NetErrorKind::Protocol, "the URL has no host");
        };
        let host = host.trim_matches(['[', ']']).to_string();
        let (target, target_port) = match request.address {
            Some(address) => resolve_target(&self.config.connect_to, &address.to_string(), port),
            None => resolve_target(&self.config.connect_to, &host, port),
        };
        let user_agent = request.user_agent.unwrap_or(&self.config.user_agent);
        let via = Via {
            url,
            host: &host,
            https,
            target: &target,
            target_port,
            user_agent,
        };
        match self.fetch_via(attempt, &via, true).await {
            Exchanged::Done(hop) => hop,
            // A browser whose HTTP/2 connection fails at setup tries again over HTTP/1.1; so do we, and the hop
            // says so. Timings restart with the new connection.
            Exchanged::H2SetupFailed(first) => {
                let reason = first
                    .error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .unwrap_or_default();
                let retry = Attempt {
                    hop: HopFacts {
                        error: None,
                        tls: None,
                        connected_to: None,
                        timings: Timings::default(),
                        ..first
                    },
                    started: Instant::now(),
                };
                match self.fetch_via(retry, &via, false).await {
                    Exchanged::Done(mut hop) | Exchanged::H2SetupFailed(mut hop) => {
                        hop.fallback = Some(reason);
                        hop
                    }
                }
            }
        }
    }

    async fn fetch_via(&self, mut attempt: Attempt, via: &Via<'_>, offer_h2: bool) -> Exchanged {
        let Via {
            url,
            host,
            https,
            target,
            target_port,
            user_agent,
        } = *via;
        let ips = match target.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                let dns_started = Instant::now();
                let resolved = self.resolve_ips(target).await;
                attempt.hop.timings.dns_ms = Some(ms(dns_started));
                match resolved {
                    Ok(ips) if !ips.is_empty() => ips,
                    Ok(_) => {
                        return Exchanged::Done(
                            attempt.fail(NetErrorKind::Dns, format!("{target} has no addresses")),
                        );
                    }
                    Err(message) => {
                        return Exchanged::Done(attempt.fail(NetErrorKind::Dns, message));
                    }
                }
            }
        };

        let connect_started = Instant::now();
        let connected = connect_first(ips, target_port, self.op_timeout()).await;
        attempt.hop.timings.connect_ms = Some(ms(connect_started));
        let tcp = match connected {
            Ok((tcp, addr)) => {
                attempt.hop.connected_to = Some(addr.to_string());
                tcp
            }
            Err((kind, message)) => return Exchanged::Done(attempt.fail(kind, message)),
        };
        // Head-of-line latency matters more than throughput for single small requests.
        let _ = tcp.set_nodelay(true);

        if !https {
            return self
                .exchange(attempt, url, host, user_agent, tcp, false)
                .await;
        }

        let tls_started = Instant::now();
        let alpn: &[&[u8]] = if offer_h2 {
            &[b"h2", b"http/1.1"]
        } else {
            &[b"http/1.1"]
        };
        let client = match TlsClient::new(&self.webpki, host, alpn) {
            Ok(client) => client,
            Err(message) => return Exchanged::Done(attempt.fail(NetErrorKind::Tls, message)),
        };
        let handshake = tokio::time::timeout(self.op_timeout(), client.connect(tcp)).await;
        attempt.hop.timings.tls_ms = Some(ms(tls_started));
        let tls = match handshake {
            Err(_) => {
                return Exchanged::Done(attempt.fail(
                    NetErrorKind::Timeout,
                    format!(
                        "TLS handshake with {host} timed out after {:.1}s",
                        self.op_timeout().as_secs_f64()
                    ),
                ));
            }
            Ok(Err(e)) => {
                attempt.hop.tls = failed_handshake_facts(&client.verifier);
                return Exchanged::Done(attempt.fail(
                    NetErrorKind::Tls,
                    format!("TLS handshake with {host} failed: {e}"),
                ));
            }
            Ok(Ok(tls)) => tls,
        };
        let facts = client.facts(tls.get_ref().1);
        let h2 = facts.alpn.as_deref() == Some("h2");
        attempt.hop.tls = Some(facts);
        self.exchange(attempt, url, host, user_agent, tls, h2).await
    }

    /// Sends the request over an established stream and records the response.
    async fn exchange<S>(
        &self,
        mut attempt: Attempt,
        url: &Url,
        host: &str,
        user_agent: &str,
        stream: S,
        h2: bool,
    ) -> Exchanged
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let authority = &url[Position::BeforeHost..Position::AfterPort];
        // HTTP/2 carries the host in `:authority`, taken from the absolute URI; a `Host` header beside it is a
        // duplicate that servers may refuse (RFC 9113 §8.3.1; nginx answers 400). HTTP/1.1 needs `Host`.
        let builder = if h2 {
            http::Request::get(url[..Position::AfterQuery].to_string())
                .version(http::Version::HTTP_2)
        } else {
            http::Request::get(url[Position::BeforePath..Position::AfterQuery].to_string())
                .header(http::header::HOST, authority)
        };
        attempt.hop.protocol = Some(if h2 { "HTTP/2" } else { "HTTP/1.1" }.to_string());
        let request = match builder
            .header(http::header::USER_AGENT, user_agent)
            .header(
                http::header::ACCEPT,
                "text/html,application/xhtml+xml,*/*;q=0.8",
            )
            // Ask for compression like a browser does, so the facts show what visitors actually get.
            .header(http::header::ACCEPT_ENCODING, "gzip, deflate, br")
            .body(Empty::<Bytes>::new())
        {
            Ok(request) => request,
            Err(e) => {
                return Exchanged::Done(attempt.fail(
                    NetErrorKind::Protocol,
                    format!("cannot build a request for {url}: {e}"),
                ));
            }
        };
        let io = TokioIo::new(stream);
        let sent = Instant::now();
        let timeout = self.op_timeout();
        let response = if h2 {
            let handshake = hyper::client::conn::http2::handshake(TokioExecutor::new(), io);
            match tokio::time::timeout(timeout, handshake).await {
                Ok(Ok((mut sender, conn))) => {
                    let driver = AbortOnDrop(tokio::spawn(conn));
                    let result = tokio::time::timeout(timeout, sender.send_request(request)).await;
                    (result, driver)
                }
                Ok(Err(e)) => {
                    return Exchanged::H2SetupFailed(attempt.fail(
                        NetErrorKind::Protocol,
                        format!("HTTP/2 setup with {host} failed: {e}"),
                    ));
                }
                Err(_) => {
                    return Exchanged::Done(attempt.fail(
                        NetErrorKind::Timeout,
                        format!("HTTP/2 setup with {host} timed out"),
                    ));
                }
            }
        } else {
            match hyper::client::conn::http1::handshake(io).await {
                Ok((mut sender, conn)) => {
                    let driver = AbortOnDrop(tokio::spawn(conn));
                    let result = tokio::time::timeout(timeout, sender.send_request(request)).await;
                    (result, driver)
                }
                Err(e) => {
                    return Exchanged::Done(attempt.fail(
                        NetErrorKind::Protocol,
                        format!("HTTP setup with {host} failed: {e}"),
                    ));
                }
            }
        };
        let (result, _driver) = response;
        let response = match result {
            Err(_) => {
                return Exchanged::Done(attempt.fail(
                    NetErrorKind::Timeout,
                    format!(
                        "{host} accepted the connection but sent no response within {:.1}s",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Ok(Err(e)) => {
                let hop = attempt.fail(
                    send_error_kind(&e),
                    format!("{host} did not answer properly: {e}"),
                );
                // An HTTP/2 stream refused before any response (GOAWAY, HTTP_1_1_REQUIRED, a reset) is a
                // setup failure to a browser, which then retries over HTTP/1.1.
                return if h2 {
                    Exchanged::H2SetupFailed(hop)
                } else {
                    Exchanged::Done(hop)
                };
            }
            Ok(Ok(response)) => response,
        };
        attempt.hop.timings.first_byte_ms = Some(ms(sent));
        let status = response.status().as_u16();
        attempt.hop.status = Some(status);
        attempt.hop.headers = header_list(response.headers());
        // Browsers read Location's bytes as UTF-8 (servers send raw `é` as readily as `%C3%A9`); `to_str` would
        // refuse any byte outside visible ASCII and lose the redirect. `Url::join` percent-encodes the rest.
        attempt.hop.location = response
            .headers()
            .get(http::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .map(|location| {
                url.join(&location)
                    .map(|u| u.to_string())
                    .unwrap_or(location)
            });
        let keep_body = !is_redirect(status) && is_text(attempt.hop.header("content-type"));
        let mut body = response.into_body();
        let mut kept = Vec::new();
        let read_body = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| e.to_string())?;
                if let Ok(data) = frame.into_data() {
                    if keep_body && kept.len() < MAX_BODY_BYTES {
                        let room = MAX_BODY_BYTES - kept.len();
                        kept.extend_from_slice(&data[..data.len().min(room)]);
                    }
                    if kept.len() >= MAX_BODY_BYTES {
                        break;
                    }
                }
            }
            Ok::<(), String>(())
        };
        match tokio::time::timeout(self.op_timeout(), read_body).await {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                attempt.hop.error = Some(net_error(
                    NetErrorKind::Io,
                    format!("reading the body: {message}"),
                ));
            }
            Err(_) => {
                attempt.hop.error = Some(net_error(
                    NetErrorKind::Timeout,
                    "the body did not finish in time",
                ));
            }
        }
        if keep_body {
            let decoded = decode(attempt.hop.header("content-encoding"), &kept);
            attempt.hop.body = Some(String::from_utf8_lossy(&decoded).into_owned());
        }
        attempt.hop.timings.total_ms = ms(attempt.started);
        Exchanged::Done(attempt.hop)
    }
}

/// Undoes `Content-Encoding` on the kept prefix of a body. The prefix may end mid-stream, so whatever decodes
/// before the cut is kept; output is bounded so a compression bomb cannot grow it.
fn decode(encoding: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    const MAX_DECODED: u64 = 4 * MAX_BODY_BYTES as u64;
    let encoding = encoding.unwrap_or_default().trim().to_ascii_lowercase();
    let mut out = Vec::new();
    // A truncated stream errors at its end; what decoded before that is still the page's start.
    let _ = match encoding.as_str() {
        "gzip" | "x-gzip" => flate2::read::GzDecoder::new(bytes)
            .take(MAX_DECODED)
            .read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(bytes)
            .take(MAX_DECODED)
            .read_to_end(&mut out),
        "br" => brotli_decompressor::Decompressor::new(bytes, 4096)
            .take(MAX_DECODED)
            .read_to_end(&mut out),
        _ => return bytes.to_vec(),
    };
    out
}

/// Stops a connection driver when the hop (or a kept connection) is done, so no task outlives its probe.
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
