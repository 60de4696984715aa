//! A general HTTP(S) request for scripted journeys: any method, caller-chosen headers and body, the whole
//! response body kept (bounded), phase timings, and optional keep-alive. Like `fetch`, it never follows
//! redirects and honours `--resolver`, `--connect-to`, `--ca-file` and the timeouts. Unlike `fetch`, a TLS
//! certificate the client does not trust fails the request (unless `insecure`): a journey must not log in
//! through a certificate a browser would refuse. HTTP/2 is negotiated by ALPN and carries the authority in
//! `:authority` only (no `Host` header); if an HTTP/2 setup fails, the request is retried once over HTTP/1.1.

use crate::Net;
use crate::connect_to::resolve_target;
use crate::http::{AbortOnDrop, connect_first, header_list, ms, send_error_kind};
use crate::tls::TlsClient;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use launchready_findings::facts::{NetErrorKind, Timings, TlsFacts, Verification};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;
use tokio::sync::Mutex;
use url::{Position, Url};

/// The most of a response body a scripted request keeps; the rest is read and dropped.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One request as the caller means it. Headers are sent as given, in order; `Host`, `User-Agent` and
/// `Accept` are added only when absent (`Host` never on HTTP/2).
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Accept a certificate the client does not trust (curl's `--insecure`).
    pub insecure: bool,
}

/// What came back. Header names are as the server sent them (HTTP/2: lower case).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`.
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was longer than [`MAX_REQUEST_BODY_BYTES`] and was cut.
    pub truncated: bool,
    pub timings: Timings,
    pub connected_to: Option<String>,
    pub tls: Option<TlsFacts>,
    /// The connection was reused from an earlier request of the same session.
    pub reused: bool,
}

/// Why a request got no response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    pub kind: NetErrorKind,
    pub message: String,
    pub timings: Timings,
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

struct Pooled {
    sender: Sender,
    connected_to: Option<String>,
    tls: Option<TlsFacts>,
    _driver: AbortOnDrop<()>,
}

/// Requests that may share connections. With keep-alive off every request opens its own connection (what a
/// first-time visitor pays); with it on, an idle connection to the same scheme, host and port is reused.
pub struct HttpSession<'a> {
    net: &'a Net,
    keep_alive: bool,
    http1_only: bool,
    idle: Mutex<HashMap<String, Vec<Pooled>>>,
}

impl std::fmt::Debug for HttpSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("keep_alive", &self.keep_alive)
            .field("http1_only", &self.http1_only)
            .finish()
    }
}

struct Failing {
    timings: Timings,
    started: Instant,
}

impl Failing {
    fn fail(&self, kind: NetErrorKind, message: impl Into<String>) -> RequestError {
        let mut timings = self.timings.clone();
        timings.total_ms = ms(self.started);
        RequestError {
            kind,
            message: message.into(),
            timings,
        }
    }
}

impl Net {
    /// One request over a fresh connection, no redirect following.
    pub async fn request(&self, request: &HttpRequest) -> Result<HttpResponse, RequestError> {
        self.session(false).send(request).await
    }

    /// A session for several requests; `keep_alive` lets them share connections.
    pub fn session(&self, keep_alive: bool) -> HttpSession<'_> {
        HttpSession {
            net: self,
            keep_alive,
            http1_only: false,
            idle: Mutex::new(HashMap::new()),
        }
    }
}

impl HttpSession<'_> {
    /// With `on`, every connection offers only `http/1.1` in ALPN (as curl's `--http1.1`); plain http is
    /// HTTP/1.1 either way.
    #[must_use]
    pub fn http1_only(mut self, on: bool) -> Self {
        self.http1_only = on;
        self
    }

    /// Sends one request and reads the whole response (bounded by [`MAX_REQUEST_BODY_BYTES`]).
    pub async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, RequestError> {
        let net = self.net;
        let _permit = net.limit.acquire().await;
        let mut failing = Failing {
            timings: Timings::default(),
            started: Instant::now(),
        };
        if net.past_deadline() {
            return Err(failing.fail(NetErrorKind::Timeout, "the deadline was reached first"));
        }
        let url = &request.url;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(failing.fail(
                    NetErrorKind::Protocol,
                    format!("unsupported scheme `{other}` (only http and https)"),
                ));
            }
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(failing.fail(NetErrorKind::Protocol, format!("{url} has no host")));
        };
        let host = host.trim_matches(['[', ']']).to_string();
        let key = format!("{}://{}:{}", url.scheme(), host, port);

        let pooled = if self.keep_alive {
            self.take_idle(&key).await
        } else {
            None
        };
        let (mut conn, reused) = match pooled {
            Some(conn) => (conn, true),
            None => (
                self.connect(&mut failing, &host, port, https, request.insecure, false)
                    .await?,
                false,
            ),
        };
        let mut outcome = self.exchange(&mut failing, &mut conn, request, &host).await;
        // An HTTP/2 setup or stream failure on a fresh connection: try once more over HTTP/1.1.
        if outcome.is_err() && matches!(conn.sender, Sender::H2(_)) && !reused {
            let mut retry = self
                .connect(&mut failing, &host, port, https, request.insecure, true)
                .await?;
            outcome = self
                .exchange(&mut failing, &mut retry, request, &host)
                .await;
            conn = retry;
        }
        // A reused connection the server closed meanwhile: one fresh attempt.
        if outcome.is_err() && reused {
            let mut fresh = self
                .connect(&mut failing, &host, port, https, request.insecure, false)
                .await?;
            outcome = self
                .exchange(&mut failing, &mut fresh, request, &host)
                .await;
            conn = fresh;
        }
        let mut response = outcome?;
        response.reused = reused;
        response.connected_to = conn.connected_to.clone();
        response.tls = conn.tls.clone();
        response.timings.total_ms = ms(failing.started);
        let closing = response.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection") && v.to_ascii_lowercase().contains("close")
        });
        if self.keep_alive && !closing {
            self.idle.lock().await.entry(key).or_default().push(conn);
        }
        Ok(response)
    }

    async fn take_idle(&self, key: &str) -> Option<Pooled> {
        let mut idle = self.idle.lock().await;
        let list = idle.get_mut(key)?;
        // An idle connection is ready at once or not at all; the bound only guards against a stuck one.
        let wait = self.net.op_timeout().min(std::time::Duration::from_secs(1));
        while let Some(mut conn) = list.pop() {
            let ready = match &mut conn.sender {
                Sender::H1(s) => {
                    !s.is_closed()
                        && matches!(tokio::time::timeout(wait, s.ready()).await, Ok(Ok(())))
                }
                Sender::H2(s) => {
                    !s.is_closed()
                        && matches!(tokio::time::timeout(wait, s.ready()).await, Ok(Ok(())))
                }
            };
            if ready {
                return Some(conn);
            }
        }
        None
    }

    async fn connect(
        &self,
        failing: &mut Failing,
        host: &str,
        port: u16,
        https: bool,
        insecure: bool,
        force_h1: bool,
    ) -> Result<Pooled, RequestError> {
        let net = self.net;
        let (target, target_port) = resolve_target(&net.config.connect_to, host, port);
        let ips = if let Ok(ip) = target.parse::<IpAddr>() {
            vec![ip]
        } else if target.eq_ignore_ascii_case("localhost") {
            // What every browser and curl do without asking DNS (RFC 6761).
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]
        } else {
            let dns_started = Instant::now();
            let resolved = net.resolve_ips(&target).await;
            failing.timings.dns_ms = Some(ms(dns_started));
            match resolved {
                Ok(ips) if !ips.is_empty() => ips,
                Ok(_) => {
                    return Err(
                        failing.fail(NetErrorKind::Dns, format!("{target} has no addresses"))
                    );
                }
                Err(message) => return Err(failing.fail(NetErrorKind::Dns, message)),
            }
        };
        let connect_started = Instant::now();
        let connected = connect_first(ips, target_port, net.op_timeout()).await;
        failing.timings.connect_ms = Some(ms(connect_started));
        let (tcp, addr) = connected.map_err(|(kind, message)| failing.fail(kind, message))?;
        let _ = tcp.set_nodelay(true);
        let timeout = net.op_timeout();
        if !https {
            let (sender, driver) =
                handshake(failing, TokioIo::new(tcp), false, host, timeout).await?;
            return Ok(Pooled {
                sender,
                connected_to: Some(addr.to_string()),
                tls: None,
                _driver: driver,
            });
        }

        let tls_started = Instant::now();
        let alpn: &[&[u8]] = if force_h1 || self.http1_only {
            &[b"http/1.1"]
        } else {
            &[b"h2", b"http/1.1"]
        };
        let client = TlsClient::new(&net.webpki, host, alpn)
            .map_err(|message| failing.fail(NetErrorKind::Tls, message))?;
        let tls = tokio::time::timeout(timeout, client.connect(tcp)).await;
        failing.timings.tls_ms = Some(ms(tls_started));
        let tls = match tls {
            Err(_) => {
                return Err(failing.fail(
                    NetErrorKind::Timeout,
                    format!("TLS handshake with {host} timed out"),
                ));
            }
            Ok(Err(e)) => {
                return Err(failing.fail(
                    NetErrorKind::Tls,
                    format!("TLS handshake with {host} failed: {e}"),
                ));
            }
            Ok(Ok(tls)) => tls,
        };
        let facts = client.facts(tls.get_ref().1);
        if !insecure && facts.verification != Verification::Valid {
            return Err(failing.fail(
                NetErrorKind::Tls,
                format!(
                    "the certificate of {host} is not trusted ({:?}); pass --ca-file for a private CA",
                    facts.verification
                ),
            ));
        }
        let h2 = facts.alpn.as_deref() == Some("h2");
        let (sender, driver) = handshake(failing, TokioIo::new(tls), h2, host, timeout).await?;
        Ok(Pooled {
            sender,
            connected_to: Some(addr.to_string()),
            tls: Some(facts),
            _driver: driver,
        })
    }

    async fn exchange(
        &self,
        failing: &mut Failing,
        conn: &mut Pooled,
        request: &HttpRequest,
        host: &str,
    ) -> Result<HttpResponse, RequestError> {
        let net = self.net;
        let url = &request.url;
        let h2 = matches!(conn.sender, Sender::H2(_));
        let method = http::Method::from_bytes(request.method.as_bytes()).map_err(|e| {
            failing.fail(
                NetErrorKind::Protocol,
                format!("invalid method `{}`: {e}", request.method),
            )
        })?;
        let target = if h2 {
            url[..Position::AfterQuery].to_string()
        } else {
            url[Position::BeforePath..Position::AfterQuery].to_string()
        };
        let mut builder = http::Request::builder().method(method).uri(target);
        let has = |name: &str| {
            request
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !h2 && !has("host") {
            builder = builder.header(
                http::header::HOST,
                &url[Position::BeforeHost..Position::AfterPort],
            );
        }
        for (name, value) in &request.headers {
            // HTTP/2 names the authority in `:authority`; a Host header there is a protocol error.
            if h2 && name.eq_ignore_ascii_case("host") {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !has("user-agent") {
            builder = builder.header(http::header::USER_AGENT, &net.config.user_agent);
        }
        if !has("accept") {
            builder = builder.header(http::header::ACCEPT, "*/*");
        }
        let http_request = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| {
                failing.fail(
                    NetErrorKind::Protocol,
                    format!("cannot build a request for {url}: {e}"),
                )
            })?;
        let timeout = net.op_timeout();
        let sent = Instant::now();
        let result = match &mut conn.sender {
            Sender::H1(s) => tokio::time::timeout(timeout, s.send_request(http_request)).await,
            Sender::H2(s) => tokio::time::timeout(timeout, s.send_request(http_request)).await,
        };
        let response = match result {
            Err(_) => {
                return Err(failing.fail(
                    NetErrorKind::Timeout,
                    format!(
                        "{host} sent no response within {:.1}s",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Ok(Err(e)) => {
                return Err(failing.fail(
                    send_error_kind(&e),
                    format!("{host} did not answer properly: {e}"),
                ));
            }
            Ok(Ok(response)) => response,
        };
        let mut timings = failing.timings.clone();
        timings.first_byte_ms = Some(ms(sent));
        let version = match response.version() {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2",
            http::Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        }
        .to_string();
        let status = response.status().as_u16();
        let headers = header_list(response.headers());
        let mut body = response.into_body();
        let mut kept = Vec::new();
        let mut truncated = false;
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| e.to_string())?;
                if let Ok(data) = frame.into_data() {
                    let room = MAX_REQUEST_BODY_BYTES.saturating_sub(kept.len());
                    if data.len() > room {
                        truncated = true;
                    }
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Ok::<(), String>(())
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                return Err(failing.fail(
                    NetErrorKind::Io,
                    format!("reading the body from {host}: {message}"),
                ));
            }
            Err(_) => {
                return Err(failing.fail(
                    NetErrorKind::Timeout,
                    format!("the body from {host} did not finish in time"),
                ));
            }
        }
        Ok(HttpResponse {
            version,
            status,
            headers,
            body: kept,
            truncated,
            timings,
            connected_to: None,
            tls: None,
            reused: false,
        })
    }
}

/// The HTTP/1.1 or HTTP/2 handshake over an established stream, within `timeout`; the connection's driver runs
/// until the returned guard drops.
async fn handshake<IO>(
    failing: &Failing,
    io: TokioIo<IO>,
    h2: bool,
    host: &str,
    timeout: std::time::Duration,
) -> Result<(Sender, AbortOnDrop<()>), RequestError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (label, result) = if h2 {
        let handshake = hyper::client::conn::http2::handshake(TokioExecutor::new(), io);
        let result = tokio::time::timeout(timeout, handshake)
            .await
            .map(|r| r.map(|(sender, conn)| (Sender::H2(sender), drive(conn))));
        ("HTTP/2", result)
    } else {
        let handshake = hyper::client::conn::http1::handshake(io);
        let result = tokio::time::timeout(timeout, handshake)
            .await
            .map(|r| r.map(|(sender, conn)| (Sender::H1(sender), drive(conn))));
        ("HTTP", result)
    };
    match result {
        Ok(Ok(pair)) => Ok(pair),
        Ok(Err(e)) => Err(failing.fail(
            NetErrorKind::Protocol,
            format!("{label} setup with {host} failed: {e}"),
        )),
        Err(_) => Err(failing.fail(
            NetErrorKind::Timeout,
            format!("{label} setup with {host} timed out"),
        )),
    }
}

/// Runs a connection's driver until the guard drops.
fn drive<F>(conn: F) -> AbortOnDrop<()>
where
    F: std::future::Future + Send + 'static,
{
    AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }))
}
