//! The lab's HTTP and HTTPS servers: hyper (HTTP/1.1 and HTTP/2) behind plain TCP or rustls,
//! routing each request to a scenario site by Host (or SNI) and replaying its scripted behaviour.
//!
//! Most behaviour is an ordinary hyper response. `Dribble` and `HugeHeader` need to control the
//! bytes on the wire, which hyper does not allow, so for HTTP/1 requests the connection is taken
//! back from hyper (see [`SharedIo`]) and the response is written by hand. `GarbageTls` and
//! `StallTls` act before there is any HTTP: right after the ClientHello, in the accept loop.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    AGE, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName, HeaderValue, LOCATION,
    SERVER, SET_COOKIE,
};
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
use crate::scenario::{EdgeKind, Handler, Page, Site, normalize_name};

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
/// What a `GarbageTls` site sends instead of a ServerHello: a plain-HTTP server answering on the
/// TLS port, the commonest way a real port 443 speaks something other than TLS.
const GARBAGE_TLS: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// How an HTML `HugeBody` starts, so it is recognisably a page before the filler.
const HUGE_BODY_PREFIX: &[u8] = b"<!doctype html>\n<title>Huge</title>\n<p>";
/// The point of presence named in `cf-ray` values.
const CLOUDFLARE_POP: &str = "AMS";

type LabBody = UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Scheme {
    Http,
    Https,
}

/// State shared by every connection of both listeners.
pub(crate) struct Shared {
    sites: HashMap<String, CompiledSite>,
    latency: Duration,
    pub(crate) served: AtomicU64,
    /// Hand-written (`Dribble`/`HugeHeader`) responses still being written and `HugeBody`
    /// bodies still streaming.
    pub(crate) slow_writers: AtomicUsize,
    /// `cf-ray` values are a per-lab random seed mixed with this counter, so they differ per
    /// response and per lab like real ones without pulling in a random number generator.
    ray_seed: u64,
    rays: AtomicU64,
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
                edge: site.edge.map(|kind| EdgeCache {
                    kind,
                    cached: Mutex::new(HashMap::new()),
                }),
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
            ray_seed: RandomState::new().hash_one("cf-ray"),
            rays: AtomicU64::new(0),
            shutdown,
        })
    }

    /// A fresh `cf-ray` identifier: 16 hex digits (splitmix64 of seed and counter) and a POP.
    fn next_ray(&self) -> String {
        let n = self.rays.fetch_add(1, Ordering::Relaxed);
        let mut z = self
            .ray_seed
            .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        format!("{:016x}-{CLOUDFLARE_POP}", z ^ (z >> 31))
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
    edge: Option<EdgeCache>,
}

/// A site's CDN and what its simulated cache holds.
struct EdgeCache {
    kind: EdgeKind,
    /// When each (scheme, path and query) was first served cacheably, i.e. entered the cache.
    cached: Mutex<HashMap<(Scheme, String), Instant>>,
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
    GarbageTls,
    StallTls,
    HugeBody {
        status: StatusCode,
        content_type: HeaderValue,
        bytes: usize,
    },
}

#[derive(Clone)]
struct CompiledPage {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    delay: Duration,
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
        Handler::GarbageTls => CompiledHandler::GarbageTls,
        Handler::StallTls => CompiledHandler::StallTls,
        Handler::HugeBody {
            status,
            content_type,
            bytes,
        } => CompiledHandler::HugeBody {
            status: parse_status(host, *status)?,
            content_type: HeaderValue::from_str(content_type).map_err(|e| {
                LabError::InvalidScenario(format!("{host}: content type {content_type:?}: {e}"))
            })?,
            bytes: *bytes,
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
        delay: page.delay,
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
                    let site = sni.as_deref().and_then(|host| shared.sites.get(host));
                    match site.map(|site| &site.https) {
                        Some(CompiledHandler::GarbageTls) => {
                            return answer_with_garbage(start.io, &shared).await;
                        }
                        Some(CompiledHandler::StallTls) => {
                            return stall(start.io, &shared).await;
                        }
                        _ => {}
                    }
                    let http1_only = site.is_some_and(|site| site.https_http1_only);
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

/// `GarbageTls`: the non-TLS bytes instead of a ServerHello, then FIN. Keeps reading until the
/// client leaves (or [`LINGER`]) so the close cannot turn into a reset that discards the bytes.
async fn answer_with_garbage<S>(stream: S, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        if writer.write_all(GARBAGE_TLS).await.is_ok() {
            let _ = writer.shutdown().await;
            tokio::time::sleep(LINGER).await;
        }
    };
    tokio::select! {
        _ = write => {}
        _ = drain(&mut reader) => {}
        _ = shared.lab_dropped() => {}
    }
}

/// `StallTls`: the ClientHello has been read; nothing is ever sent back.
async fn stall<S>(mut stream: S, shared: &Shared)
where
    S: AsyncRead + Unpin,
{
    tokio::select! {
        _ = drain(&mut stream) => {}
        _ = shared.lab_dropped() => {}
    }
}

/// Reads and discards until the peer closes or the connection fails.
async fn drain<R: AsyncRead + Unpin>(reader: &mut R) {
    let mut buf = [0u8; 4096];
    while let Ok(1..) = reader.read(&mut buf).await {}
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

/// Counts a `HugeBody` for [`crate::Lab::slow_writers`] while hyper holds it; the body is dropped
/// when its stream ends, fails or is reset.
struct StreamingGuard(Arc<Shared>);

impl StreamingGuard {
    fn new(shared: Arc<Shared>) -> Self {
        shared.slow_writers.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for StreamingGuard {
    fn drop(&mut self) {
        self.0.slow_writers.fetch_sub(1, Ordering::Relaxed);
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
    tokio::select! {
        _ = write => {}
        _ = drain(&mut reader) => {}
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
    let cache_key = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
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
                // The TLS-level handlers already acted on their own connections; a request that
                // still reaches them (plain HTTP, or another host's TLS connection) gets their
                // nearest HTTP equivalent.
                CompiledHandler::Hang | CompiledHandler::StallTls => {
                    ctx.shared.lab_dropped().await;
                    return Err(NoAnswer);
                }
                CompiledHandler::Close | CompiledHandler::GarbageTls => {
                    let _ = ctx.commands.send(Command::Close);
                    return Err(NoAnswer);
                }
                CompiledHandler::Redirect {
                    status,
                    to,
                    preserve_path,
                } => Answer::Hyper(redirect(*status, to, *preserve_path, &req)),
                CompiledHandler::Pages(pages) => match pages.get(req.uri().path()) {
                    Some(page) => {
                        if !page.delay.is_zero() {
                            tokio::time::sleep(page.delay).await;
                        }
                        Answer::Hyper(page_response(page.clone()))
                    }
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
                CompiledHandler::HugeBody {
                    status,
                    content_type,
                    bytes,
                } => Answer::Hyper(huge_body(
                    *status,
                    content_type.clone(),
                    *bytes,
                    &ctx.shared,
                )),
            }
        }
    };
    let answer = match (answer, site.and_then(|site| site.edge.as_ref())) {
        (Answer::Hyper(mut response), Some(edge)) => {
            add_edge_headers(&ctx.shared, edge, (ctx.scheme, cache_key), &mut response);
            Answer::Hyper(response)
        }
        (answer, _) => answer,
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

/// `HugeBody`: headers at once, then the body streamed from static buffers.
fn huge_body(
    status: StatusCode,
    content_type: HeaderValue,
    bytes: usize,
    shared: &Arc<Shared>,
) -> Response<LabBody> {
    let html = content_type
        .to_str()
        .is_ok_and(|ct| ct.to_ascii_lowercase().contains("html"));
    let prefix = if html { HUGE_BODY_PREFIX } else { &[] };
    let mut response = Response::new(
        StreamedBody {
            left: bytes,
            prefix: &prefix[..prefix.len().min(bytes)],
            lab_dropped: Box::pin(shared.lab_dropped()),
            _guard: StreamingGuard::new(shared.clone()),
        }
        .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes));
    response
}

/// `left` bytes: `prefix` first, then filler from [`PADDING`], one buffer-sized frame at a time,
/// so hyper only ever holds one chunk and back-pressure from a slow reader stops the stream.
struct StreamedBody {
    left: usize,
    prefix: &'static [u8],
    lab_dropped: Pin<Box<dyn Future<Output = ()> + Send>>,
    _guard: StreamingGuard,
}

impl Body for StreamedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        // HTTP/2 streams run as tasks hyper spawned outside the lab's JoinSets; failing the
        // body is what ends them when the lab goes away.
        if self.lab_dropped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(std::io::Error::other("the lab was dropped"))));
        }
        let chunk: &'static [u8] = if self.prefix.is_empty() {
            &PADDING[..self.left.min(PADDING.len())]
        } else {
            std::mem::take(&mut self.prefix)
        };
        self.left -= chunk.len();
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left as u64)
    }
}

/// Adds what the site's CDN adds to a response on its way out, and plays its cache.
fn add_edge_headers(
    shared: &Shared,
    edge: &EdgeCache,
    key: (Scheme, String),
    response: &mut Response<LabBody>,
) {
    match edge.kind {
        EdgeKind::Cloudflare => {
            let headers = response.headers_mut();
            let (status, age) = if bypasses_shared_cache(headers) {
                ("BYPASS", None)
            } else {
                let mut cached = edge.cached.lock().unwrap_or_else(PoisonError::into_inner);
                match cached.get(&key) {
                    Some(since) => ("HIT", Some(since.elapsed().as_secs())),
                    None => {
                        cached.insert(key, Instant::now());
                        ("MISS", None)
                    }
                }
            };
            headers.insert(SERVER, HeaderValue::from_static("cloudflare"));
            if let Ok(ray) = HeaderValue::from_str(&shared.next_ray()) {
                headers.insert("cf-ray", ray);
            }
            headers.insert("cf-cache-status", HeaderValue::from_static(status));
            if let Some(age) = age {
                headers.insert(AGE, HeaderValue::from(age));
            }
        }
    }
}

/// Whether the origin's headers keep a shared cache from storing the response: a cookie, or
/// `no-store`, `no-cache`, `private` or `max-age=0` (Cloudflare then reports `BYPASS`).
fn bypasses_shared_cache(headers: &HeaderMap) -> bool {
    if headers.contains_key(SET_COOKIE) {
        return true;
    }
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|directive| directive.trim().to_ascii_lowercase().replace(' ', ""))
        .any(|directive| {
            matches!(
                directive.as_str(),
                "no-store" | "no-cache" | "private" | "max-age=0"
            ) || directive.starts_with("private=")
                || directive.starts_with("no-cache=")
        })
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
    fn shared_cache_bypass_follows_cache_control_and_cookies() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(*name, HeaderValue::from_static(value));
            }
            map
        };
        assert!(!bypasses_shared_cache(&headers(&[])));
        assert!(!bypasses_shared_cache(&headers(&[(
            "cache-control",
            "public, max-age=31536000, immutable"
        )])));
        assert!(bypasses_shared_cache(&headers(&[(
            "cache-control",
            "no-store"
        )])));
        assert!(bypasses_shared_cache(&headers(&[(
            "cache-control",
            "Private, Max-Age=60"
        )])));
        assert!(bypasses_shared_cache(&headers(&[(
            "cache-control",
            "max-age = 0"
        )])));
        assert!(bypasses_shared_cache(&headers(&[("set-cookie", "a=b")])));
    }

    #[test]
    fn rays_look_like_cloudflares_and_differ() {
        let (_tx, rx) = watch::channel(());
        let shared = Shared::new(&[], Duration::ZERO, rx).unwrap();
        let (a, b) = (shared.next_ray(), shared.next_ray());
        assert_ne!(a, b);
        for ray in [a, b] {
            let (hex, pop) = ray.split_once('-').unwrap();
            assert_eq!(pop, "AMS");
            assert_eq!(hex.len(), 16);
            assert!(
                hex.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
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
