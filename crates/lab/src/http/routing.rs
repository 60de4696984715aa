//! Virtual hosts and routing: each site's handlers compiled once (so serving cannot fail), the
//! request's host chosen from its authority, Host header or SNI, and the ordinary answers —
//! pages, redirects, redirect counters, 404 and 421.

use std::collections::HashMap;
use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue, LOCATION};
use http::uri::Authority;
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::conn::{Command, ConnCtx};
use super::edge::{EdgeCache, add_edge_headers};
use super::misbehave::{
    RawResponse, dribble_h2, huge_body, huge_header_h2, raw_dribble, raw_huge_header,
};
use super::{HTML, LabBody, Scheme};
use crate::LabError;
use crate::scenario::{Handler, Page, normalize_name};

/// A site with statuses and headers validated up front, so serving a response cannot fail.
pub(super) struct CompiledSite {
    pub(super) http: CompiledHandler,
    pub(super) https: CompiledHandler,
    pub(super) https_http1_only: bool,
    pub(super) edge: Option<EdgeCache>,
    pub(super) mobile_redirect: Option<HeaderValue>,
}

pub(super) enum CompiledHandler {
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
pub(super) struct CompiledPage {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    delay: Duration,
}

pub(super) fn compile_handler(host: &str, handler: &Handler) -> Result<CompiledHandler, LabError> {
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

/// Returned to hyper for `Close`/`Hang`, which makes it abandon the request without answering.
#[derive(Debug)]
pub(super) struct NoAnswer;

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

pub(super) async fn respond(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
) -> Result<Response<LabBody>, NoAnswer> {
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
        // RFC 9113 §8.3.1 lets a server refuse an HTTP/2 request whose `Host` header repeats `:authority`, and
        // nginx does; the lab is as strict, so a client that sends both cannot pass here and fail in the field.
        _ if !http1 && req.headers().contains_key(HOST) => Answer::Hyper(duplicate_host()),
        None => Answer::Hyper(misdirected(host.as_deref())),
        Some(site) if site.mobile_redirect.is_some() && is_mobile(&req) => {
            let mut response = Response::new(full(Bytes::new()));
            *response.status_mut() = StatusCode::FOUND;
            if let Some(location) = site.mobile_redirect.clone() {
                response.headers_mut().insert(LOCATION, location);
            }
            Answer::Hyper(response)
        }
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

/// Whether the User-Agent is a phone's, by the tokens mobile browsers send (the test `map $http_user_agent`
/// rules commonly use).
fn is_mobile(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| {
            ["Mobile", "Android", "iPhone"]
                .iter()
                .any(|t| ua.contains(t))
        })
}

/// nginx's answer to an HTTP/2 request with a `Host` header beside `:authority`.
fn duplicate_host() -> Response<LabBody> {
    let mut response = Response::new(full(Bytes::from_static(
        b"400 Bad Request: client sent duplicate host header\n",
    )));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
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

pub(super) fn full(body: Bytes) -> LabBody {
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

pub(super) fn html(status: StatusCode, body: String) -> Response<LabBody> {
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
