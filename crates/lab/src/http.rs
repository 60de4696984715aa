//! The lab's HTTP and HTTPS servers: hyper (HTTP/1.1 and HTTP/2) behind plain TCP or rustls,
//! routing each request to a scenario site by Host (or SNI) and replaying its scripted behaviour.
//!
//! Most behaviour is an ordinary hyper response. `Dribble` and `HugeHeader` need to control the
//! bytes on the wire, which hyper does not allow, so for HTTP/1 requests the connection is taken
//! back from hyper (see [`SharedIo`]) and the response is written by hand.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName, HeaderValue, LOCATION};
use http::uri::Authority;
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, Sleep};
use tokio_rustls::LazyConfigAcceptor;

use crate::LabError;
use crate::scenario::{Handler, Page, Site, normalize_name};

const HTML: &str = "text/html; charset=utf-8";
/// Pace of `Dribble`: one byte per tick.
const DRIBBLE_INTERVAL: Duration = Duration::from_secs(1);
/// How long a finished hand-written response keeps reading after its FIN: closing the socket
/// while the client is still sending makes the kernel reset the connection, which can discard
/// response bytes the client has not read yet.
const LINGER: Duration = Duration::from_secs(30);
/// `HugeHeader` writes its padding from this one static buffer, so a 10 MiB header costs no
/// more memory per connection than a 10-byte one.
static PADDING: [u8; 16 * 1024] = [b'x'; 16 * 1024];

type LabBody = UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

/// State shared by every connection of both listeners.
pub(crate) struct Shared {
    sites: HashMap<String, CompiledSite>,
    latency: Duration,
    pub(crate) served: AtomicU64,
    /// Hand-written (`Dribble`/`HugeHeader`) responses still being written.
    pub(crate) slow_writers: AtomicUsize,
    /// Never sent on; its sender lives in the `Lab`, so `changed()` resolves exactly when the
    /// lab is dropped. `Hang` and the slow writers wait on it, which stops HTTP/2 stream tasks
    /// (spawned outside our JoinSets by hyper's executor) from outliving the lab.
    shutdown: watch::Receiver<()>,
}

impl Shared {
    pub(crate) fn new(
        sites: &[Site],
        latency: Duration,
        shutdown: watch::Receiver<()>,
    ) -> Result<Self, LabError> {
        let mut compiled = HashMap::new();
        for site in sites {
            let host = normalize_name(&site.host);
            let entry = CompiledSite {
                http: compile_handler(&host, &site.http)?,
                https: compile_handler(&host, &site.https)?,
                https_http1_only: site.https.needs_http1(),
            };
            if compiled.insert(host.clone(), entry).is_some() {
                return Err(LabError::InvalidScenario(format!(
                    "site {host} defined twice"
                )));
            }
        }
        Ok(Self {
            sites: compiled,
            latency,
            served: AtomicU64::new(0),
            slow_writers: AtomicUsize::new(0),
            shutdown,
        })
    }

    /// Resolves when the lab is dropped.
    fn lab_dropped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut shutdown = self.shutdown.clone();
        async move {
            // The sender is never used, so this only returns once it is dropped.
            let _ = shutdown.changed().await;
        }
    }
}

/// The two TLS configurations: the normal one offers `h2` and `http/1.1`; sites whose HTTPS
/// handler writes raw HTTP/1.1 get one offering only `http/1.1`, chosen by SNI.
#[derive(Clone)]
pub(crate) struct TlsConfigs {
    any_version: Arc<ServerConfig>,
    http1_only: Arc<ServerConfig>,
}

impl TlsConfigs {
    /// `config` is the full configuration (certificate resolver, ALPN `h2` and `http/1.1`); the
    /// HTTP/1.1-only one differs in ALPN alone.
    pub(crate) fn new(config: ServerConfig) -> Self {
        let mut http1_only = config.clone();
        http1_only.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            any_version: Arc::new(config),
            http1_only: Arc::new(http1_only),
        }
    }
}

/// A site with statuses and headers validated up front, so serving a response cannot fail.
struct CompiledSite {
    http: CompiledHandler,
    https: CompiledHandler,
    https_http1_only: bool,
}

enum CompiledHandler {
    Redirect {
        status: StatusCode,
        to: String,
        preserve_path: bool,
    },
    Pages(HashMap<String, CompiledPage>),
    Hang,
    Close,
    Dribble {
        status: StatusCode,
        body: Bytes,
    },
    HugeHeader {
        status: StatusCode,
        header_bytes: usize,
    },
    RedirectCounter {
        status: StatusCode,
        limit: u32,
    },
}

#[derive(Clone)]
struct CompiledPage {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

fn compile_handler(host: &str, handler: &Handler) -> Result<CompiledHandler, LabError> {
    Ok(match handler {
        Handler::Redirect {
            status,
            to,
            preserve_path,
        } => {
            let status = parse_status(host, *status)?;
            // Validated here so the Location header built per request can only fail on the
            // appended path, which comes from an already-valid request URI.
            HeaderValue::from_str(to).map_err(|e| {
                LabError::InvalidScenario(format!("{host}: redirect target {to:?}: {e}"))
            })?;
            CompiledHandler::Redirect {
                status,
                to: to.clone(),
                preserve_path: *preserve_path,
            }
        }
        Handler::Pages(pages) => {
            let mut map = HashMap::new();
            for (path, page) in pages {
                map.insert(path.clone(), compile_page(host, page)?);
            }
            CompiledHandler::Pages(map)
        }
        Handler::Hang => CompiledHandler::Hang,
        Handler::Close => CompiledHandler::Close,
        Handler::Dribble { status, body } => CompiledHandler::Dribble {
            status: parse_status(host, *status)?,
            body: Bytes::from(body.clone()),
        },
        Handler::HugeHeader {
            status,
            header_bytes,
        } => CompiledHandler::HugeHeader {
            status: parse_status(host, *status)?,
            header_bytes: *header_bytes,
        },
        Handler::RedirectCounter { status, limit } => CompiledHandler::RedirectCounter {
            status: parse_status(host, *status)?,
            limit: *limit,
        },
    })
}

fn compile_page(host: &str, page: &Page) -> Result<CompiledPage, LabError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &page.headers {
        let name = HeaderName::from_str(name)
            .map_err(|e| LabError::InvalidScenario(format!("{host}: header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| {
            LabError::InvalidScenario(format!("{host}: header value {value:?}: {e}"))
        })?;
        headers.append(name, value);
    }
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    }
    Ok(CompiledPage {
        status: parse_status(host, page.status)?,
        headers,
        body: Bytes::from(page.body.clone()),
    })
}

fn parse_status(host: &str, status: u16) -> Result<StatusCode, LabError> {
    StatusCode::from_u16(status)
        .map_err(|e| LabError::InvalidScenario(format!("{host}: status {status}: {e}")))
}

/// Accepts connections until aborted. Connection tasks live in a JoinSet owned by this future,
/// so aborting the accept task also tears down every open connection (including hand-written
/// responses, which run inside the connection task).
pub(crate) async fn serve_http(listener: TcpListener, shared: Arc<Shared>) {
    accept_loop(listener, shared, None).await
}

pub(crate) async fn serve_https(listener: TcpListener, shared: Arc<Shared>, tls: TlsConfigs) {
    accept_loop(listener, shared, Some(Arc::new(tls))).await
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<Arc<TlsConfigs>>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = listener.accept().await;
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Typically fd exhaustion; back off instead of spinning, and keep serving.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let shared = shared.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => serve_connection(stream, shared, Scheme::Http, None).await,
                Some(configs) => {
                    // The ClientHello is read first so the ALPN offer can depend on the site.
                    // Handshake failures are expected (clients rejecting broken certs).
                    let acceptor =
                        LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
                    let Ok(start) = acceptor.await else {
                        return;
                    };
                    let sni = start.client_hello().server_name().map(normalize_name);
                    let http1_only = sni
                        .as_deref()
                        .and_then(|host| shared.sites.get(host))
                        .is_some_and(|site| site.https_http1_only);
                    let config = if http1_only {
                        configs.http1_only.clone()
                    } else {
                        configs.any_version.clone()
                    };
                    let Ok(stream) = start.into_stream(config).await else {
                        return;
                    };
                    serve_connection(stream, shared, Scheme::Https, sni).await
                }
            }
        });
    }
}

/// What a request handler asks of its connection, outside of hyper's request/response model.
enum Command {
    /// Drop the connection without answering.
    Close,
    /// Take the stream back from hyper and write this response by hand.
    Raw(RawResponse),
}

enum RawResponse {
    /// The complete response, written one byte per tick.
    Dribble(Bytes),
    /// `head`, then `padding` bytes of header value, then `tail`.
    HugeHeader {
        head: Bytes,
        padding: usize,
        tail: Bytes,
    },
}

async fn serve_connection<S>(stream: S, shared: Arc<Shared>, scheme: Scheme, sni: Option<String>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (commands_tx, mut commands) = mpsc::unbounded_channel();
    let ctx = Arc::new(ConnCtx {
        shared: shared.clone(),
        scheme,
        sni,
        commands: commands_tx,
    });
    let service = service_fn(move |req| respond(req, ctx.clone()));
    let stream = Arc::new(Mutex::new(stream));
    // The auto builder sniffs the HTTP/2 preface, so h2 (negotiated by ALPN or prior knowledge)
    // and HTTP/1.1 share one code path.
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(SharedIo(stream.clone())), service);
    // The service (and so a command sender) lives inside `connection`, so `recv` cannot report
    // a closed channel while this select is running.
    let command = tokio::select! {
        _ = connection => None,
        Some(command) = commands.recv() => Some(command),
    };
    // Leaving `select!` dropped hyper's connection and with it hyper's handle on the stream.
    match command {
        None | Some(Command::Close) => {}
        Some(Command::Raw(raw)) => {
            if let Ok(stream) = Arc::try_unwrap(stream) {
                let stream = stream.into_inner().unwrap_or_else(PoisonError::into_inner);
                write_raw(stream, raw, &shared).await;
            }
        }
    }
}

/// The connection's stream, shared between hyper and [`serve_connection`] so the latter can take
/// it back after dropping hyper's connection. Only one side uses it at a time, so the lock is
/// never contended.
struct SharedIo<S>(Arc<Mutex<S>>);

impl<S> SharedIo<S> {
    fn with<R>(&self, f: impl FnOnce(Pin<&mut S>) -> R) -> R
    where
        S: Unpin,
    {
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(Pin::new(&mut *guard))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SharedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SharedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.with(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_shutdown(cx))
    }
}

/// Counts a hand-written response for [`crate::Lab::slow_writers`] while it is alive, including
/// when its task is aborted.
struct SlowWriterGuard<'a>(&'a AtomicUsize);

impl<'a> SlowWriterGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for SlowWriterGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Writes `raw` while reading (and discarding) whatever the client sends, so a client that
/// disconnects is noticed at once even while the writer sleeps between bytes. Ends when the
/// response is written and the client has gone (or after [`LINGER`]), when the client
/// disconnects, or when the lab is dropped.
async fn write_raw<S>(stream: S, raw: RawResponse, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    let _guard = SlowWriterGuard::new(&shared.slow_writers);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        let written = match &raw {
            RawResponse::Dribble(bytes) => dribble(&mut writer, bytes).await,
            RawResponse::HugeHeader {
                head,
                padding,
                tail,
            } => huge_header(&mut writer, head, *padding, tail).await,
        };
        if written.is_ok() {
            let _ = writer.shutdown().await;
            tokio::time::sleep(LINGER).await;
        }
    };
    let drain = async {
        let mut buf = [0u8; 4096];
        while let Ok(1..) = reader.read(&mut buf).await {}
    };
    tokio::select! {
        _ = write => {}
        _ = drain => {}
        _ = shared.lab_dropped() => {}
    }
}

async fn dribble<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    let mut tick = tokio::time::interval(DRIBBLE_INTERVAL);
    // After a stall, keep the one-byte-per-interval pace instead of catching up in a burst.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for byte in bytes.chunks(1) {
        tick.tick().await;
        writer.write_all(byte).await?;
        // TLS buffers plaintext until flushed; each byte must leave on its own.
        writer.flush().await?;
    }
    Ok(())
}

async fn huge_header<W: AsyncWrite + Unpin>(
    writer: &mut W,
    head: &[u8],
    padding: usize,
    tail: &[u8],
) -> std::io::Result<()> {
    writer.write_all(head).await?;
    let mut left = padding;
    while left > 0 {
        let n = left.min(PADDING.len());
        writer.write_all(&PADDING[..n]).await?;
        left -= n;
    }
    writer.write_all(tail).await?;
    writer.flush().await
}

fn status_line(status: StatusCode) -> String {
    format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    )
}

fn raw_dribble(status: StatusCode, body: &Bytes) -> RawResponse {
    let head = format!(
        "{}content-type: {HTML}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status_line(status),
        body.len()
    );
    let mut bytes = Vec::with_capacity(head.len() + body.len());
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(body);
    RawResponse::Dribble(Bytes::from(bytes))
}

fn raw_huge_header(status: StatusCode, header_bytes: usize) -> RawResponse {
    RawResponse::HugeHeader {
        head: Bytes::from(format!("{}x-padding: ", status_line(status))),
        padding: header_bytes,
        tail: Bytes::from(format!(
            "\r\ncontent-type: {HTML}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )),
    }
}

struct ConnCtx {
    shared: Arc<Shared>,
    scheme: Scheme,
    sni: Option<String>,
    commands: mpsc::UnboundedSender<Command>,
}

/// Returned to hyper for `Close`/`Hang`, which makes it abandon the request without answering.
#[derive(Debug)]
struct NoAnswer;

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the scenario scripts no answer for this request")
    }
}

impl std::error::Error for NoAnswer {}

/// How a request is answered once the handler has decided.
enum Answer {
    Hyper(Response<LabBody>),
    Raw(RawResponse),
}

async fn respond(req: Request<Incoming>, ctx: Arc<ConnCtx>) -> Result<Response<LabBody>, NoAnswer> {
    let host = request_host(&req).or_else(|| ctx.sni.clone());
    let site = host.as_deref().and_then(|h| ctx.shared.sites.get(h));
    // Hand-written bytes are HTTP/1.1; an HTTP/2 connection gets hyper's closest equivalent.
    let http1 = req.version() != Version::HTTP_2;

    let answer = match site {
        None => Answer::Hyper(misdirected(host.as_deref())),
        Some(site) => {
            let handler = match ctx.scheme {
                Scheme::Http => &site.http,
                Scheme::Https => &site.https,
            };
            match handler {
                CompiledHandler::Hang => {
                    ctx.shared.lab_dropped().await;
                    return Err(NoAnswer);
                }
                CompiledHandler::Close => {
                    let _ = ctx.commands.send(Command::Close);
                    return Err(NoAnswer);
                }
                CompiledHandler::Redirect {
                    status,
                    to,
                    preserve_path,
                } => Answer::Hyper(redirect(*status, to, *preserve_path, &req)),
                CompiledHandler::Pages(pages) => match pages.get(req.uri().path()) {
                    Some(page) => Answer::Hyper(page_response(page.clone())),
                    None => Answer::Hyper(not_found(req.uri().path())),
                },
                CompiledHandler::RedirectCounter { status, limit } => {
                    Answer::Hyper(redirect_counter(*status, *limit, req.uri().path()))
                }
                CompiledHandler::Dribble { status, body } if http1 => {
                    Answer::Raw(raw_dribble(*status, body))
                }
                CompiledHandler::Dribble { status, body } => {
                    Answer::Hyper(dribble_h2(*status, body.clone(), &ctx.shared))
                }
                CompiledHandler::HugeHeader {
                    status,
                    header_bytes,
                } if http1 => Answer::Raw(raw_huge_header(*status, *header_bytes)),
                CompiledHandler::HugeHeader {
                    status,
                    header_bytes,
                } => Answer::Hyper(huge_header_h2(*status, *header_bytes)),
            }
        }
    };

    if !ctx.shared.latency.is_zero() {
        tokio::time::sleep(ctx.shared.latency).await;
    }
    ctx.shared.served.fetch_add(1, Ordering::Relaxed);
    match answer {
        Answer::Hyper(response) => Ok(response),
        Answer::Raw(raw) => {
            let _ = ctx.commands.send(Command::Raw(raw));
            // `serve_connection` drops hyper's connection (and this future) on receiving the
            // command; answering hyper instead would race it for the stream.
            std::future::pending().await
        }
    }
}

/// The request's target host without port: the URI authority (HTTP/2 `:authority`, HTTP/1
/// absolute-form) wins over the Host header, as RFC 9112 requires.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    if let Some(host) = req.uri().host() {
        return Some(normalize_name(host));
    }
    let raw = req.headers().get(HOST)?.to_str().ok()?;
    let authority = Authority::from_str(raw).ok()?;
    Some(normalize_name(authority.host()))
}

fn redirect(
    status: StatusCode,
    to: &str,
    preserve_path: bool,
    req: &Request<Incoming>,
) -> Response<LabBody> {
    let target = if preserve_path {
        let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        // A base given as "https://host/" must not produce "https://host//path".
        format!("{}{path}", to.trim_end_matches('/'))
    } else {
        to.to_owned()
    };
    let location = HeaderValue::from_str(&target).unwrap_or_else(|_| HeaderValue::from_static("/"));
    moved(status, location, &target)
}

fn moved(status: StatusCode, location: HeaderValue, target: &str) -> Response<LabBody> {
    let body = format!(
        "<!doctype html>\n<title>Moved</title>\n<p>Moved to <a href=\"{}\">{}</a>.</p>\n",
        escape(target),
        escape(target)
    );
    let mut response = html(status, body);
    response.headers_mut().insert(LOCATION, location);
    response
}

/// `/` is hop 0 and `/hop/N` hop N (canonical decimal only, so each hop has exactly one URL).
fn hop_number(path: &str) -> Option<u32> {
    if path == "/" {
        return Some(0);
    }
    let digits = path.strip_prefix("/hop/")?;
    let n: u32 = digits.parse().ok()?;
    (n.to_string() == digits).then_some(n)
}

fn redirect_counter(status: StatusCode, limit: u32, path: &str) -> Response<LabBody> {
    match hop_number(path) {
        Some(n) if n < limit => {
            let target = format!("/hop/{}", n + 1);
            let location =
                HeaderValue::from_str(&target).unwrap_or_else(|_| HeaderValue::from_static("/"));
            moved(status, location, &target)
        }
        Some(n) if n == limit => html(
            StatusCode::OK,
            format!("<!doctype html>\n<title>Arrived</title>\n<p>Arrived after {n} hops.</p>\n"),
        ),
        _ => not_found(path),
    }
}

/// `Dribble` over HTTP/2: the headers go out at once (hyper writes them as one frame), the body
/// one byte per tick.
fn dribble_h2(status: StatusCode, body: Bytes, shared: &Shared) -> Response<LabBody> {
    let len = body.len();
    let mut response = Response::new(
        DribbleBody {
            rest: body,
            tick: Box::pin(tokio::time::sleep(Duration::ZERO)),
            lab_dropped: Box::pin(shared.lab_dropped()),
        }
        .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// `HugeHeader` over HTTP/2, where hyper must hold the whole value to encode it.
fn huge_header_h2(status: StatusCode, header_bytes: usize) -> Response<LabBody> {
    let mut response = html(status, String::new());
    let padding = HeaderValue::from_maybe_shared(Bytes::from(vec![b'x'; header_bytes]))
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    response.headers_mut().insert("x-padding", padding);
    response
}

/// A body yielding one byte per [`DRIBBLE_INTERVAL`]; it fails once the lab is dropped so the
/// HTTP/2 stream task hyper spawned for it ends too.
struct DribbleBody {
    rest: Bytes,
    tick: Pin<Box<Sleep>>,
    lab_dropped: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Body for DribbleBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if self.lab_dropped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(std::io::Error::other("the lab was dropped"))));
        }
        ready!(self.tick.as_mut().poll(cx));
        self.tick.as_mut().reset(Instant::now() + DRIBBLE_INTERVAL);
        let byte = self.rest.split_to(1);
        Poll::Ready(Some(Ok(Frame::data(byte))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

fn full(body: Bytes) -> LabBody {
    Full::new(body)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn page_response(page: CompiledPage) -> Response<LabBody> {
    let mut response = Response::new(full(page.body));
    *response.status_mut() = page.status;
    *response.headers_mut() = page.headers;
    response
}

fn not_found(path: &str) -> Response<LabBody> {
    html(
        StatusCode::NOT_FOUND,
        format!(
            "<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>{} does not exist.</p>\n",
            escape(path)
        ),
    )
}

fn misdirected(host: Option<&str>) -> Response<LabBody> {
    html(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "<!doctype html>\n<title>421 Misdirected Request</title>\n<p>This lab serves no site named {}.</p>\n",
            escape(host.unwrap_or("(none)"))
        ),
    )
}

fn html(status: StatusCode, body: String) -> Response<LabBody> {
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dribble_bytes_are_a_complete_http1_response() {
        let RawResponse::Dribble(bytes) = raw_dribble(StatusCode::OK, &Bytes::from("hi")) else {
            panic!("expected a dribble");
        };
        assert_eq!(
            &bytes[..],
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
        );
    }

    #[test]
    fn huge_header_parts_frame_one_padding_header() {
        let RawResponse::HugeHeader {
            head,
            padding,
            tail,
        } = raw_huge_header(StatusCode::BAD_GATEWAY, 7)
        else {
            panic!("expected a huge header");
        };
        assert_eq!(&head[..], b"HTTP/1.1 502 Bad Gateway\r\nx-padding: ");
        assert_eq!(padding, 7);
        assert!(tail.starts_with(b"\r\ncontent-type: "));
        assert!(tail.ends_with(b"content-length: 0\r\nconnection: close\r\n\r\n"));
    }

    #[test]
    fn hop_numbers_are_canonical_decimals() {
        assert_eq!(hop_number("/"), Some(0));
        assert_eq!(hop_number("/hop/0"), Some(0));
        assert_eq!(hop_number("/hop/1000"), Some(1000));
        for bad in [
            "/hop/", "/hop/01", "/hop/+1", "/hop/-1", "/hop/1/", "/hops/1", "",
        ] {
            assert_eq!(hop_number(bad), None, "{bad}");
        }
    }
}
