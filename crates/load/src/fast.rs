//! The HTTP/1.1 fast path for flows that need no engine work per request: every entry's request is the same
//! bytes each iteration (no captures, no per-iteration variables or functions, no body, no options), and the
//! only check is the status line. Such a flow runs through the flow engine until one iteration shows how the
//! engine reached the server (the address it connected to, and HTTP/1.1 rather than HTTP/2); after that, each
//! virtual user writes the pre-serialised request on its own keep-alive connection and parses the response with
//! `httparse`, in its own task, with no connection task beside it. Anything the fast path does not model
//! (HTTP/2, redirects to follow, body or header asserts, captures, CSV rows) keeps the whole flow on the engine.

use crate::stats::{ErrorKind, StepSample};
use hurl_core::ast::{Entry, ExprKind, StatusValue, Template, TemplateElement, VersionValue};
use launchready_flow::{CookieJar, FlowFile, FlowResult, RunOptions, Variables};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Position, Url};

/// Headers a response may carry before it is refused as malformed.
const MAX_HEADERS: usize = 128;
/// The largest status line and header block accepted, like common servers' limits on requests.
const MAX_HEAD_BYTES: usize = 1024 * 1024;

/// One entry, ready to send.
#[derive(Debug)]
pub struct FastEntry {
    /// The step id the aggregator knows this entry by.
    pub step: usize,
    url: Url,
    head: bool,
    /// Request line, headers and the blank line; a Cookie header goes before the blank line when a jar has one.
    request: Vec<u8>,
    /// `HTTP 200` in the file; `None` for `HTTP *` or no response section.
    expected: Option<u16>,
}

/// What the fast path learnt from the engine: where the server is.
#[derive(Debug)]
struct Armed {
    addr: SocketAddr,
}

/// A flow that qualifies for the fast path, armed once the engine has reached its server over HTTP/1.1.
#[derive(Debug)]
pub struct FastFlow {
    pub entries: Vec<FastEntry>,
    https: bool,
    server_name: Option<ServerName<'static>>,
    cookies: bool,
    armed: OnceLock<Armed>,
}

/// Renders a template from the run's variables; `None` when it needs anything that changes per iteration.
fn render_static(
    template: &Template,
    vars: &Variables,
    per_iteration: &[String],
) -> Option<String> {
    let mut out = String::new();
    for element in &template.elements {
        match element {
            TemplateElement::String { value, .. } => out.push_str(value),
            TemplateElement::Placeholder(p) => match &p.expr.kind {
                ExprKind::Variable(v) if !per_iteration.contains(&v.name) => {
                    let value = vars.get(&v.name)?;
                    if matches!(
                        value,
                        launchready_flow::Value::List(_)
                            | launchready_flow::Value::Object(_)
                            | launchready_flow::Value::Nodeset(_)
                            | launchready_flow::Value::Bytes(_)
                            | launchready_flow::Value::Unit
                    ) {
                        return None;
                    }
                    out.push_str(&value.render());
                }
                _ => return None,
            },
        }
    }
    Some(out)
}

/// Whether one entry needs nothing per iteration beyond a status check, and its request bytes if so.
fn fast_entry(
    entry: &Entry,
    step: usize,
    vars: &Variables,
    per_iteration: &[String],
    options: &RunOptions,
    user_agent: &str,
) -> Option<FastEntry> {
    let request = &entry.request;
    let method = request.method.to_string();
    if !matches!(method.as_str(), "GET" | "HEAD")
        || request.body.is_some()
        || !request.sections.is_empty()
    {
        return None;
    }
    let expected = match &entry.response {
        None => None,
        Some(response) => {
            if !response.headers.is_empty()
                || !response.sections.is_empty()
                || response.body.is_some()
                || !matches!(
                    response.version.value,
                    VersionValue::VersionAny | VersionValue::Version11
                )
            {
                return None;
            }
            match response.status.value {
                StatusValue::Any => None,
                StatusValue::Specific(code) => Some(u16::try_from(code).ok()?),
            }
        }
    };
    let url = Url::parse(render_static(&request.url, vars, per_iteration)?.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.host_str().is_none()
    {
        return None;
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for header in &request.headers {
        headers.push((
            render_static(&header.key, vars, per_iteration)?,
            render_static(&header.value, vars, per_iteration)?,
        ));
    }
    headers.extend(options.headers.iter().cloned());
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    // Whatever would make the engine add or hide something (credentials, cookies) stays on the engine.
    if has("authorization") || has("cookie") || has("content-length") || has("transfer-encoding") {
        return None;
    }
    // The same header block the network layer sends over HTTP/1.1: Host, the flow's headers, then User-Agent
    // and Accept unless given.
    let mut prefix = Vec::with_capacity(256);
    prefix.extend_from_slice(method.as_bytes());
    prefix.push(b' ');
    prefix.extend_from_slice(url[Position::BeforePath..Position::AfterQuery].as_bytes());
    prefix.extend_from_slice(b" HTTP/1.1\r\n");
    let mut line = |name: &str, value: &str| {
        prefix.extend_from_slice(name.as_bytes());
        prefix.extend_from_slice(b": ");
        prefix.extend_from_slice(value.as_bytes());
        prefix.extend_from_slice(b"\r\n");
    };
    if !has("host") {
        line("host", &url[Position::BeforeHost..Position::AfterPort]);
    }
    for (name, value) in &headers {
        if name.bytes().any(|b| b <= b' ' || b == b':' || b >= 0x7f)
            || value.bytes().any(|b| b == b'\r' || b == b'\n')
        {
            return None;
        }
        line(name, value);
    }
    if !has("user-agent") {
        line("user-agent", user_agent);
    }
    if !has("accept") {
        line("accept", "*/*");
    }
    prefix.extend_from_slice(b"\r\n");
    Some(FastEntry {
        step,
        head: method == "HEAD",
        url,
        request: prefix,
        expected,
    })
}

impl FastFlow {
    /// The fast form of `file`, or `None` when any entry needs the engine. `per_iteration` names the variables
    /// that change between iterations (CSV columns).
    pub fn of(
        file: &FlowFile,
        steps: &[usize],
        vars: &Variables,
        per_iteration: &[String],
        options: &RunOptions,
        user_agent: &str,
    ) -> Option<FastFlow> {
        if options.follow_location
            || options.insecure
            || !options.keep_alive
            || options.continue_on_error
            || options.retry != Some(0)
            || file.ast.entries.is_empty()
        {
            return None;
        }
        let mut entries = Vec::new();
        for (i, entry) in file.ast.entries.iter().enumerate() {
            entries.push(fast_entry(
                entry,
                *steps.get(i)?,
                vars,
                per_iteration,
                options,
                user_agent,
            )?);
        }
        // One server per flow: the address the engine reached is then the address of every entry.
        let first = &entries[0].url;
        let same = |u: &Url| {
            u.scheme() == first.scheme()
                && u.host_str() == first.host_str()
                && u.port_or_known_default() == first.port_or_known_default()
        };
        if !entries.iter().all(|e| same(&e.url)) {
            return None;
        }
        let https = first.scheme() == "https";
        let server_name = if https {
            let host = first.host_str()?.trim_matches(['[', ']']).to_string();
            Some(ServerName::try_from(host).ok()?)
        } else {
            None
        };
        Some(FastFlow {
            entries,
            https,
            server_name,
            cookies: options.cookie_store,
            armed: OnceLock::new(),
        })
    }

    pub fn https(&self) -> bool {
        self.https
    }

    pub fn is_armed(&self) -> bool {
        self.armed.get().is_some()
    }

    /// Arms the fast path from an engine iteration that went through: every request over HTTP/1.1 to one
    /// address, none redirected.
    pub fn arm_from(&self, result: &FlowResult) {
        if self.is_armed() || !result.passed() || result.entries.len() != self.entries.len() {
            return;
        }
        let mut addr = None;
        for entry in &result.entries {
            let [exchange] = entry.exchanges.as_slice() else {
                return;
            };
            if exchange.version != "HTTP/1.1" {
                return;
            }
            let Some(to) = exchange
                .connected_to
                .as_deref()
                .and_then(|a| a.parse::<SocketAddr>().ok())
            else {
                return;
            };
            if addr.is_some_and(|a| a != to) {
                return;
            }
            addr = Some(to);
        }
        if let Some(addr) = addr {
            let _ = self.armed.set(Armed { addr });
        }
    }
}

/// TLS for the fast path: the same trust as the network layer (Mozilla roots plus `--ca-file`), HTTP/1.1 only.
pub fn tls_config(ca_files: &[std::path::PathBuf]) -> Result<Arc<rustls::ClientConfig>, String> {
    let roots = launchready_net::tls::root_store(ca_files).map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }
}

/// Bytes read from a connection and not consumed yet.
struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    fn new() -> ReadBuf {
        ReadBuf {
            data: vec![0; 8192],
            start: 0,
            end: 0,
        }
    }

    fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more; `Ok(0)` is the end of the stream.
    async fn fill(&mut self, stream: &mut Stream) -> std::io::Result<usize> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let grown = (self.data.len() * 2).min(MAX_HEAD_BYTES.max(self.data.len()));
                if grown == self.data.len() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a response head or chunk line longer than 1 MiB",
                    ));
                }
                self.data.resize(grown, 0);
            }
        }
        let n = stream.read(&mut self.data[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}

/// A virtual user's kept connection to one flow's server.
pub struct Conn {
    stream: Stream,
    buf: ReadBuf,
}

/// Why a fast request got no response, as load reports count it.
#[derive(Debug)]
pub struct FastError {
    pub kind: ErrorKind,
    /// Nothing of a response arrived on a kept connection: the server may have closed it while idle.
    stale: bool,
}

fn io_error(stale: bool) -> impl Fn(std::io::Error) -> FastError {
    move |e| FastError {
        kind: if e.kind() == std::io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            ErrorKind::Io
        },
        stale: stale
            && matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            ),
    }
}

impl FastError {
    /// An error that says nothing about a kept connection's staleness: retrying would not help.
    fn fresh(kind: ErrorKind) -> FastError {
        FastError { kind, stale: false }
    }
}

fn malformed() -> FastError {
    FastError::fresh(ErrorKind::Io)
}

/// One response as far as load statistics need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Bytes of the status line, headers and body as they came on the wire.
    pub received: u64,
    /// The connection may carry another request.
    pub keep_alive: bool,
}

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads one response for a request (`head`: a HEAD request, whose response has no body).
async fn read_response(
    stream: &mut Stream,
    buf: &mut ReadBuf,
    head: bool,
    mut cookies: Option<(&Url, &mut Option<CookieJar>)>,
) -> Result<Answer, FastError> {
    let mut received = 0u64;
    let mut any = !buf.filled().is_empty();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(buf.filled()).map_err(|_| malformed())?;
        let httparse::Status::Complete(head_len) = parsed else {
            let n = buf.fill(stream).await.map_err(io_error(!any))?;
            if n == 0 {
                return Err(FastError {
                    kind: ErrorKind::Io,
                    stale: !any,
                });
            }
            any = true;
            continue;
        };
        let status = response.code.ok_or_else(malformed)?;
        let http10 = response.version == Some(0);
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut other_coding = false;
        let mut close = http10;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(malformed)?;
                if length.is_some_and(|l| l != value) {
                    return Err(malformed());
                }
                length = Some(value);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                let last = value.rsplit(',').next().map(str::trim).unwrap_or("");
                chunked = last == "chunked";
                other_coding = !chunked;
            } else if h.name.eq_ignore_ascii_case("set-cookie")
                && status >= 200
                && let Some((url, jar)) = cookies.as_mut()
            {
                jar.get_or_insert_with(CookieJar::default)
                    .store(url, &String::from_utf8_lossy(h.value));
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in String::from_utf8_lossy(h.value).split(',') {
                    let token = token.trim();
                    if token.eq_ignore_ascii_case("close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                        close = false;
                    }
                }
            }
        }
        buf.consume(head_len);
        received += head_len as u64;
        if (100..200).contains(&status) {
            if status == 101 {
                return Err(malformed());
            }
            // An interim response (100 Continue, 103 Early Hints): the final one follows.
            continue;
        }
        let framing = if head || status == 204 || status == 304 {
            Framing::None
        } else if chunked {
            Framing::Chunked
        } else if other_coding {
            Framing::UntilClose
        } else if let Some(length) = length {
            Framing::Length(length)
        } else {
            Framing::UntilClose
        };
        received += read_body(stream, buf, framing).await?;
        return Ok(Answer {
            status,
            received,
            keep_alive: !close && framing != Framing::UntilClose,
        });
    }
}

/// Reads and drops the next `length` bytes; a connection that ends before them is an error.
async fn skip(stream: &mut Stream, buf: &mut ReadBuf, length: u64) -> Result<(), FastError> {
    let mut left = length;
    while left > 0 {
        if buf.filled().is_empty() && buf.fill(stream).await.map_err(io_error(false))? == 0 {
            return Err(FastError::fresh(ErrorKind::Io));
        }
        let take = (buf.filled().len() as u64).min(left);
        buf.consume(take as usize);
        left -= take;
    }
    Ok(())
}

/// Reads and drops a body; returns its size on the wire.
async fn read_body(
    stream: &mut Stream,
    buf: &mut ReadBuf,
    framing: Framing,
) -> Result<u64, FastError> {
    let eof = || FastError::fresh(ErrorKind::Io);
    let mut wire = 0u64;
    match framing {
        Framing::None => {}
        Framing::Length(length) => {
            skip(stream, buf, length).await?;
            wire += length;
        }
        Framing::UntilClose => loop {
            let have = buf.filled().len();
            wire += have as u64;
            buf.consume(have);
            if buf.fill(stream).await.map_err(io_error(false))? == 0 {
                break;
            }
        },
        Framing::Chunked => loop {
            let (line, size) = loop {
                match httparse::parse_chunk_size(buf.filled()) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Ok(httparse::Status::Partial) => {
                        if buf.fill(stream).await.map_err(io_error(false))? == 0 {
                            return Err(eof());
                        }
                    }
                    Err(_) => return Err(malformed()),
                }
            };
            buf.consume(line);
            wire += line as u64;
            if size == 0 {
                // Trailer fields, then the empty line.
                loop {
                    let filled = buf.filled();
                    if let Some(end) = filled.windows(2).position(|w| w == b"\r\n") {
                        buf.consume(end + 2);
                        wire += end as u64 + 2;
                        if end == 0 {
                            return Ok(wire);
                        }
                    } else if buf.fill(stream).await.map_err(io_error(false))? == 0 {
                        return Err(eof());
                    }
                }
            }
            // The chunk's data, then its CRLF.
            skip(stream, buf, size).await?;
            wire += size;
            while buf.filled().len() < 2 {
                if buf.fill(stream).await.map_err(io_error(false))? == 0 {
                    return Err(eof());
                }
            }
            if &buf.filled()[..2] != b"\r\n" {
                return Err(malformed());
            }
            buf.consume(2);
            wire += 2;
        },
    }
    Ok(wire)
}

/// The network side the fast path needs from the run.
pub struct Env {
    pub net: &'static launchready_net::Net,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Env {
    fn timeout(&self) -> Duration {
        self.net.op_timeout()
    }
}

/// Awaits one step of opening a connection within the network timeout; a step that fails counts as `kind`.
async fn within<T, E>(
    env: &Env,
    kind: ErrorKind,
    step: impl Future<Output = Result<T, E>>,
) -> Result<T, FastError> {
    match tokio::time::timeout(env.timeout(), step).await {
        Err(_) => Err(FastError::fresh(ErrorKind::Timeout)),
        Ok(Err(_)) => Err(FastError::fresh(kind)),
        Ok(Ok(done)) => Ok(done),
    }
}

async fn connect(flow: &FastFlow, addr: SocketAddr, env: &Env) -> Result<Conn, FastError> {
    let tcp = within(env, ErrorKind::Connect, TcpStream::connect(addr)).await?;
    let _ = tcp.set_nodelay(true);
    let stream = match (&flow.server_name, &env.tls) {
        (Some(name), Some(config)) if flow.https => {
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let tls = within(env, ErrorKind::Tls, connector.connect(name.clone(), tcp)).await?;
            Stream::Tls(Box::new(tls))
        }
        (None, _) => Stream::Plain(tcp),
        _ => return Err(FastError::fresh(ErrorKind::Tls)),
    };
    Ok(Conn {
        stream,
        buf: ReadBuf::new(),
    })
}

/// Sends `request` on `conn` (opened first when there is none) and reads the answer. A kept connection the
/// server closed while it was idle is replaced once, as the network layer does.
async fn exchange(
    flow: &FastFlow,
    conn: &mut Option<Conn>,
    request: &[u8],
    entry: &FastEntry,
    env: &Env,
    mut jar: Option<&mut Option<CookieJar>>,
) -> Result<Answer, FastError> {
    let addr = flow.armed.get().map(|a| a.addr).ok_or_else(malformed)?;
    for attempt in 0..2 {
        let reused = conn.is_some();
        let c = match conn {
            Some(c) => c,
            None => conn.insert(connect(flow, addr, env).await?),
        };
        let outcome = async {
            c.stream.write_all(request).await.map_err(io_error(true))?;
            let cookies = jar.as_deref_mut().map(|j| (&entry.url, j));
            read_response(&mut c.stream, &mut c.buf, entry.head, cookies).await
        }
        .await;
        match outcome {
            Ok(answer) => {
                if !answer.keep_alive {
                    *conn = None;
                }
                return Ok(answer);
            }
            Err(e) => {
                *conn = None;
                if !(e.stale && reused && attempt == 0) {
                    return Err(e);
                }
            }
        }
    }
    Err(malformed())
}

/// One iteration on the fast path, as the samples the aggregator folds.
pub struct FastIteration {
    pub latency: Duration,
    pub failed: bool,
    pub answered: bool,
}

/// Runs one iteration of an armed flow on the VU's connection, pushing one step sample per entry sent.
pub async fn iterate(
    flow: &FastFlow,
    conn: &mut Option<Conn>,
    env: &Env,
    delay: Duration,
    steps: &mut Vec<StepSample>,
) -> FastIteration {
    let started = Instant::now();
    let mut failed = false;
    let mut answered = false;
    // A fresh jar per iteration, as the engine keeps one per run: only flows of several entries need one.
    let mut jar: Option<CookieJar> = None;
    let keep_cookies = flow.cookies && flow.entries.len() > 1;
    let mut with_cookie = Vec::new();
    for entry in &flow.entries {
        let cookie = jar.as_ref().and_then(|j| j.header_for(&entry.url));
        let bytes: &[u8] = match &cookie {
            None => &entry.request,
            Some(cookie) => {
                with_cookie.clear();
                with_cookie.extend_from_slice(&entry.request[..entry.request.len() - 2]);
                with_cookie.extend_from_slice(b"cookie: ");
                with_cookie.extend_from_slice(cookie.as_bytes());
                with_cookie.extend_from_slice(b"\r\n\r\n");
                &with_cookie
            }
        };
        let sent_at = Instant::now();
        let outcome = tokio::time::timeout(
            env.timeout(),
            exchange(
                flow,
                conn,
                bytes,
                entry,
                env,
                keep_cookies.then_some(&mut jar),
            ),
        )
        .await;
        let latency = sent_at.elapsed();
        let sent = bytes.len() as u64;
        let (status, error, received) = match outcome {
            Err(_) => {
                *conn = None;
                (None, Some(ErrorKind::Timeout), 0)
            }
            Ok(Err(e)) => (None, Some(e.kind), 0),
            Ok(Ok(answer)) => {
                answered = true;
                let error = if answer.status >= 500 {
                    Some(ErrorKind::ServerError)
                } else if entry.expected.is_some_and(|e| e != answer.status) {
                    Some(ErrorKind::AssertFailed)
                } else {
                    None
                };
                (Some(answer.status), error, answer.received)
            }
        };
        let stop = status.is_none() || entry.expected.is_some_and(|e| Some(e) != status);
        steps.push(StepSample {
            step: entry.step,
            latency,
            delay,
            status,
            error,
            sent,
            received,
        });
        if stop {
            failed = true;
            break;
        }
    }
    FastIteration {
        latency: started.elapsed(),
        failed,
        answered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// Serves `responses` in order on one connection, and returns what it read.
    async fn answers(responses: Vec<&'static [u8]>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut scratch = [0u8; 4096];
            for r in responses {
                let _ = socket.read(&mut scratch).await;
                // Written in two parts so the reader sees a split head or body.
                let cut = r.len() / 2;
                socket.write_all(&r[..cut]).await.expect("write");
                socket.flush().await.expect("flush");
                tokio::time::sleep(Duration::from_millis(5)).await;
                socket.write_all(&r[cut..]).await.expect("write");
            }
        });
        (addr, task)
    }

    /// Sends one GET to a server that answers `raw`, and reads the response.
    async fn answer_to_one_get(raw: &'static [u8]) -> Result<Answer, FastError> {
        let (addr, server) = answers(vec![raw]).await;
        let mut stream = Stream::Plain(TcpStream::connect(addr).await.expect("connect"));
        let mut buf = ReadBuf::new();
        stream
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        let (answer, served) =
            tokio::join!(read_response(&mut stream, &mut buf, false, None), server);
        served.expect("the server wrote its answer");
        answer
    }

    #[tokio::test]
    async fn framing_of_every_kind_is_read_to_the_byte() {
        let cases: Vec<(&'static [u8], bool, Answer)> = vec![
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                false,
                Answer {
                    status: 200,
                    received: 43,
                    keep_alive: true,
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nEtag: 1\r\n\r\n",
                false,
                Answer {
                    status: 200,
                    received: 81,
                    keep_alive: true,
                },
            ),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
                false,
                Answer {
                    status: 204,
                    received: 71,
                    keep_alive: true,
                },
            ),
            (
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
                false,
                Answer {
                    status: 304,
                    received: 49,
                    keep_alive: true,
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
                true,
                Answer {
                    status: 200,
                    received: 41,
                    keep_alive: true,
                },
            ),
        ];
        let (addr, server) = answers(cases.iter().map(|c| c.0).collect()).await;
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut stream = Stream::Plain(tcp);
        let mut buf = ReadBuf::new();
        for (raw, head, expected) in &cases {
            stream
                .write_all(b"GET / HTTP/1.1\r\n\r\n")
                .await
                .expect("write");
            let answer = read_response(&mut stream, &mut buf, *head, None)
                .await
                .expect("a response");
            assert_eq!(answer, *expected, "{}", String::from_utf8_lossy(raw));
            assert!(buf.filled().is_empty(), "nothing left over");
        }
        server.await.expect("server");
    }

    #[tokio::test]
    async fn close_and_until_close_bodies_end_the_connection() {
        for (raw, status, received) in [
            (
                &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..],
                200u16,
                59u64,
            ),
            (&b"HTTP/1.0 200 OK\r\n\r\nuntil the end"[..], 200, 32),
            (
                &b"HTTP/1.1 404 Not Found\r\nConnection: keep-alive, close\r\n\r\nno length"[..],
                404,
                66,
            ),
        ] {
            let answer = answer_to_one_get(raw).await.expect("a response");
            assert_eq!(answer.status, status);
            assert_eq!(
                answer.received,
                received,
                "{}",
                String::from_utf8_lossy(raw)
            );
            assert!(!answer.keep_alive, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[tokio::test]
    async fn a_truncated_or_malformed_response_is_an_error() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"[..],
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"[..],
            &b"NOT HTTP\r\n\r\n"[..],
        ] {
            let answer = answer_to_one_get(raw).await;
            assert!(answer.is_err(), "{}", String::from_utf8_lossy(raw));
        }
    }
}
