//! The lab's HTTP and HTTPS servers: hyper (HTTP/1.1 and HTTP/2) behind plain TCP or rustls,
//! routing each request to a scenario site by Host (or SNI) and replaying its scripted behaviour.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue, LOCATION};
use http::uri::Authority;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::LabError;
use crate::scenario::{Handler, Page, Site, normalize_name};

const HTML: &str = "text/html; charset=utf-8";

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
    /// Never sent on; its sender lives in the `Lab`, so `changed()` resolves exactly when the
    /// lab is dropped. `Hang` waits on it, which stops HTTP/2 stream tasks (spawned outside our
    /// JoinSets by hyper's executor) from outliving the lab.
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
            shutdown,
        })
    }
}

/// A site with statuses and headers validated up front, so serving a response cannot fail.
struct CompiledSite {
    http: CompiledHandler,
    https: CompiledHandler,
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
/// so aborting the accept task also tears down every open connection.
pub(crate) async fn serve_http(listener: TcpListener, shared: Arc<Shared>) {
    accept_loop(listener, shared, None).await
}

pub(crate) async fn serve_https(listener: TcpListener, shared: Arc<Shared>, acceptor: TlsAcceptor) {
    accept_loop(listener, shared, Some(acceptor)).await
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
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
                Some(acceptor) => {
                    // Handshake failures are expected (clients rejecting broken certs).
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let sni = stream.get_ref().1.server_name().map(normalize_name);
                    serve_connection(stream, shared, Scheme::Https, sni).await
                }
            }
        });
    }
}

async fn serve_connection<S>(stream: S, shared: Arc<Shared>, scheme: Scheme, sni: Option<String>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let close = Arc::new(Notify::new());
    let ctx = Arc::new(ConnCtx {
        shared,
        scheme,
        sni,
        close: close.clone(),
    });
    let service = service_fn(move |req| respond(req, ctx.clone()));
    // The auto builder sniffs the HTTP/2 preface, so h2 (negotiated by ALPN or prior knowledge)
    // and HTTP/1.1 share one code path.
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // `Close`: dropping the connection future drops the socket without a response.
        _ = close.notified() => {}
    }
}

struct ConnCtx {
    shared: Arc<Shared>,
    scheme: Scheme,
    sni: Option<String>,
    close: Arc<Notify>,
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

async fn respond(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
) -> Result<Response<Full<Bytes>>, NoAnswer> {
    let host = request_host(&req).or_else(|| ctx.sni.clone());
    let site = host.as_deref().and_then(|h| ctx.shared.sites.get(h));

    let response = match site {
        None => misdirected(host.as_deref()),
        Some(site) => {
            let handler = match ctx.scheme {
                Scheme::Http => &site.http,
                Scheme::Https => &site.https,
            };
            match handler {
                CompiledHandler::Hang => {
                    let mut shutdown = ctx.shared.shutdown.clone();
                    // Resolves only when the lab is dropped (the sender is never used).
                    let _ = shutdown.changed().await;
                    return Err(NoAnswer);
                }
                CompiledHandler::Close => {
                    ctx.close.notify_one();
                    return Err(NoAnswer);
                }
                CompiledHandler::Redirect {
                    status,
                    to,
                    preserve_path,
                } => redirect(*status, to, *preserve_path, &req),
                CompiledHandler::Pages(pages) => match pages.get(req.uri().path()) {
                    Some(page) => page_response(page.clone()),
                    None => not_found(req.uri().path()),
                },
            }
        }
    };

    if !ctx.shared.latency.is_zero() {
        tokio::time::sleep(ctx.shared.latency).await;
    }
    ctx.shared.served.fetch_add(1, Ordering::Relaxed);
    Ok(response)
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
) -> Response<Full<Bytes>> {
    let target = if preserve_path {
        let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        // A base given as "https://host/" must not produce "https://host//path".
        format!("{}{path}", to.trim_end_matches('/'))
    } else {
        to.to_owned()
    };
    let location = HeaderValue::from_str(&target).unwrap_or_else(|_| HeaderValue::from_static("/"));
    let body = format!(
        "<!doctype html>\n<title>Moved</title>\n<p>Moved to <a href=\"{}\">{}</a>.</p>\n",
        escape(&target),
        escape(&target)
    );
    let mut response = html(status, body);
    response.headers_mut().insert(LOCATION, location);
    response
}

fn page_response(page: CompiledPage) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(page.body));
    *response.status_mut() = page.status;
    *response.headers_mut() = page.headers;
    response
}

fn not_found(path: &str) -> Response<Full<Bytes>> {
    html(
        StatusCode::NOT_FOUND,
        format!(
            "<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>{} does not exist.</p>\n",
            escape(path)
        ),
    )
}

fn misdirected(host: Option<&str>) -> Response<Full<Bytes>> {
    html(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "<!doctype html>\n<title>421 Misdirected Request</title>\n<p>This lab serves no site named {}.</p>\n",
            escape(host.unwrap_or("(none)"))
        ),
    )
}

fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
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
