//! Running a flow: each entry's request is built from the file and the variables, sent through the backend for
//! its URL scheme (http/https on launchready's network layer; others, such as `mailbox://`, plugged in by the
//! caller), redirects followed by hand when asked, cookies kept in a per-run jar, then captures and asserts
//! evaluated. Everything that happened is returned as data ([`FlowResult`]); renderers only read it.

use crate::eval::{
    QueryContext, eval_filters, eval_predicate, eval_query, json_text, multiline_text, number_value,
};
use crate::parse::{FlowError, FlowFile};
use crate::result::{AssertOutcome, CaptureOutcome, EntryResult, Exchange, FlowResult, Status};
use crate::value::Value;
use crate::vars::{EvalError, Variables, eval_expr, render};
use base64::Engine as _;
use futures::future::BoxFuture;
use hurl_core::ast::{
    Body, Bytes, CountOption, DurationOption, Entry, MultipartParam, OptionKind, Placeholder,
    StatusValue, TemplateElement, VariableValue, VersionValue,
};
use hurl_core::types::{Count, DurationUnit};
use launchready_net::{HttpRequest, HttpResponse, HttpSession, Net, RequestError};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};
use url::Url;

/// Where requests of one URL scheme go. `http` and `https` are built in; a `mailbox://` backend (or any other)
/// implements this and is registered with [`Engine::with_backend`] — the engine does not change.
pub trait Backend: Send + Sync {
    /// Answers one request. A backend that polls (a mailbox) answers 404 while nothing is there, so
    /// `[Options] retry` waits. A backend bounds its own network operations with a timeout.
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
    ) -> BoxFuture<'a, Result<HttpResponse, RequestError>>;
}

/// Behaviour of a run, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Follow redirects for every entry (`--location`).
    pub follow_location: bool,
    /// `None`: no limit (`--max-redirs -1`).
    pub max_redirects: Option<usize>,
    /// Extra attempts after a failure (`--retry`); `None`: no limit.
    pub retry: Option<usize>,
    pub retry_interval: Duration,
    /// Headers added to every request (`--header`).
    pub headers: Vec<(String, String)>,
    pub cookie_store: bool,
    pub insecure: bool,
    /// Share connections between requests of a run.
    pub keep_alive: bool,
    /// Go on with the next entry after a failed one.
    pub continue_on_error: bool,
    /// Offer only HTTP/1.1, never HTTP/2 (`--http1.1`).
    pub http1_only: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            follow_location: false,
            max_redirects: Some(50),
            retry: Some(0),
            retry_interval: Duration::from_millis(1000),
            headers: Vec::new(),
            cookie_store: true,
            insecure: false,
            keep_alive: true,
            continue_on_error: false,
            http1_only: false,
        }
    }
}

/// Runs flow files. Built once per run with the network layer and any extra backends.
pub struct Engine<'a> {
    http: HttpSession<'a>,
    /// For entries whose `[Options] http1.1: true` asks for HTTP/1.1 in a run that offers HTTP/2.
    http1: HttpSession<'a>,
    backends: HashMap<String, Box<dyn Backend + 'a>>,
    refusals: HashMap<String, String>,
    options: RunOptions,
}

impl std::fmt::Debug for Engine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("schemes", &self.backends.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The options one entry runs with: the run's, overridden by its `[Options]`.
#[derive(Debug, Clone)]
struct EntryOptions {
    follow: bool,
    trusted: bool,
    max_redirects: Option<usize>,
    retry: Option<usize>,
    retry_interval: Duration,
    delay: Duration,
    skip: bool,
    insecure: bool,
    http1: bool,
    user: Option<String>,
    headers: Vec<(String, String)>,
}

/// An entry failure and whether it is the network's (could not run) or the flow's (an assert).
struct Failure {
    message: String,
    transport: bool,
    kind: Option<launchready_findings::facts::NetErrorKind>,
}

impl<'a> Engine<'a> {
    pub fn new(net: &'a Net, options: RunOptions) -> Self {
        let mut refusals = HashMap::new();
        refusals.insert(
            "mailbox".to_string(),
            "mailbox:// needs [mailbox] in launchready.toml".to_string(),
        );
        Engine {
            http: net
                .session(options.keep_alive)
                .http1_only(options.http1_only),
            http1: net.session(options.keep_alive).http1_only(true),
            backends: HashMap::new(),
            refusals,
            options,
        }
    }

    /// Routes `scheme://` URLs to `backend`.
    pub fn with_backend(mut self, scheme: &str, backend: Box<dyn Backend + 'a>) -> Self {
        self.refusals.remove(scheme);
        self.backends.insert(scheme.to_string(), backend);
        self
    }

    /// Refuses, before anything is sent, a file whose URLs name a scheme with no backend.
    pub fn check(&self, file: &FlowFile) -> Result<(), FlowError> {
        for entry in &file.ast.entries {
            let url = &entry.request.url;
            let Some(TemplateElement::String { value, .. }) = url.elements.first() else {
                continue;
            };
            let Some((scheme, _)) = value.split_once("://") else {
                continue;
            };
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "http" || scheme == "https" || self.backends.contains_key(&scheme) {
                continue;
            }
            let hint = self
                .refusals
                .get(&scheme)
                .cloned()
                .unwrap_or_else(|| "only http:// and https:// are built in".to_string());
            return Err(FlowError::Unsupported {
                path: file.path.display().to_string(),
                line: url.source_info.start.line,
                column: url.source_info.start.column,
                feature: format!("{scheme}://"),
                hint: format!(" ({hint})"),
            });
        }
        Ok(())
    }

    /// Runs every entry of `file` with `vars` (captures are added to it).
    pub async fn run(&self, file: &FlowFile, vars: &mut Variables) -> FlowResult {
        let started = Instant::now();
        let mut jar = CookieJar::default();
        let mut entries = Vec::new();
        let dir = file.dir();
        for (index, entry) in file.ast.entries.iter().enumerate() {
            let line = entry.source_info().start.line;
            let options = match self.entry_options(entry, vars) {
                Ok(options) => options,
                Err(e) => {
                    entries.push(EntryResult::failed(
                        index + 1,
                        line,
                        eval_message(&e),
                        false,
                    ));
                    break;
                }
            };
            if options.skip {
                entries.push(EntryResult::skipped(index + 1, line));
                continue;
            }
            if !options.delay.is_zero() {
                tokio::time::sleep(options.delay).await;
            }
            let mut attempt = 0usize;
            let result = loop {
                attempt += 1;
                let result = self
                    .run_entry(index + 1, entry, &options, vars, &mut jar, &dir)
                    .await;
                let retries_left = match options.retry {
                    None => true,
                    Some(n) => attempt <= n,
                };
                if result.status != Status::Failed || !retries_left {
                    break result;
                }
                tokio::time::sleep(options.retry_interval).await;
            };
            let mut result = result;
            result.attempts = attempt;
            let failed = result.status == Status::Failed;
            entries.push(result);
            if failed && !self.options.continue_on_error {
                break;
            }
        }
        // Asserts are labelled with their own line of the file, as written.
        let lines: Vec<&str> = file.source.lines().collect();
        for entry in &mut entries {
            for assert in &mut entry.asserts {
                if assert.label.starts_with("line ")
                    && let Some(text) = lines.get(assert.line.wrapping_sub(1))
                {
                    assert.label = text.trim().to_string();
                }
            }
        }
        let mut result = FlowResult {
            file: file.path.display().to_string(),
            entries,
            duration_ms: started.elapsed().as_millis() as u64,
            secrets: Vec::new(),
        };
        result.secrets = vars.secret_values().to_vec();
        result.redact();
        result
    }

    fn entry_options(
        &self,
        entry: &Entry,
        vars: &mut Variables,
    ) -> Result<EntryOptions, EvalError> {
        let mut o = EntryOptions {
            follow: self.options.follow_location,
            trusted: false,
            max_redirects: self.options.max_redirects,
            retry: self.options.retry,
            retry_interval: self.options.retry_interval,
            delay: Duration::ZERO,
            skip: false,
            insecure: self.options.insecure,
            http1: self.options.http1_only,
            user: None,
            headers: Vec::new(),
        };
        for option in entry.request.options() {
            match &option.kind {
                OptionKind::FollowLocation(b) => o.follow = boolean(b, vars)?,
                OptionKind::FollowLocationTrusted(b) => {
                    o.trusted = boolean(b, vars)?;
                    o.follow = o.follow || o.trusted;
                }
                OptionKind::MaxRedirect(c) => o.max_redirects = count(c, vars)?,
                OptionKind::Retry(c) => o.retry = count(c, vars)?,
                OptionKind::RetryInterval(d) => {
                    o.retry_interval = duration(d, vars, DurationUnit::MilliSecond)?
                }
                OptionKind::Delay(d) => o.delay = duration(d, vars, DurationUnit::MilliSecond)?,
                OptionKind::Skip(b) => o.skip = boolean(b, vars)?,
                OptionKind::Insecure(b) => o.insecure = boolean(b, vars)?,
                OptionKind::Http11(b) => o.http1 = boolean(b, vars)?,
                OptionKind::User(t) => o.user = Some(render(t, vars)?),
                OptionKind::Header(t) => {
                    let text = render(t, vars)?;
                    if let Some((name, value)) = text.split_once(':') {
                        o.headers
                            .push((name.trim().to_string(), value.trim().to_string()));
                    }
                }
                OptionKind::Variable(definition) => {
                    let value = match &definition.value {
                        VariableValue::Null => Value::Null,
                        VariableValue::Bool(b) => Value::Bool(*b),
                        VariableValue::Number(n) => number_value(n),
                        VariableValue::String(t) => Value::String(render(t, vars)?),
                    };
                    vars.set(&definition.name, value);
                }
                _ => {}
            }
        }
        Ok(o)
    }

    async fn run_entry(
        &self,
        index: usize,
        entry: &Entry,
        options: &EntryOptions,
        vars: &mut Variables,
        jar: &mut CookieJar,
        dir: &Path,
    ) -> EntryResult {
        let line = entry.source_info().start.line;
        let started = Instant::now();
        let built = match build_request(entry, options, &self.options.headers, vars, dir) {
            Ok(built) => built,
            Err(e) => return EntryResult::failed(index, line, eval_message(&e), false),
        };
        let mut result = EntryResult::new(index, line, &built.request);
        // Follow redirects by hand so each hop is recorded and the jar sees every Set-Cookie.
        let mut request = built.request.clone();
        let mut redirects = Vec::new();
        let response = loop {
            let mut sent = request.clone();
            if let Some(cookie) = merge_cookies(jar.header_for(&sent.url), &built.cookies) {
                sent.headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case("cookie"));
                sent.headers.push(("Cookie".to_string(), cookie));
            }
            let outcome = self.send(&sent, options.http1).await;
            let response = match outcome {
                Ok(response) => response,
                Err(failure) => {
                    result.error_kind = failure.kind;
                    result.fail(failure.message, failure.transport);
                    result.duration_ms = started.elapsed().as_millis() as u64;
                    return result;
                }
            };
            if self.options.cookie_store {
                for (name, value) in &response.headers {
                    if name.eq_ignore_ascii_case("set-cookie") {
                        jar.store(&sent.url, value);
                    }
                }
            }
            result.exchanges.push(Exchange::new(&sent, &response));
            let location = response
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.clone());
            let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
            match (options.follow && redirect, location) {
                (true, Some(location)) => {
                    let Ok(next) = sent.url.join(&location) else {
                        result.fail(format!("cannot follow the redirect to `{location}`"), false);
                        return result;
                    };
                    if options
                        .max_redirects
                        .is_some_and(|max| redirects.len() >= max)
                    {
                        result.fail(
                            format!(
                                "too many redirects (more than {})",
                                options.max_redirects.unwrap_or(0)
                            ),
                            false,
                        );
                        return result;
                    }
                    redirects.push((sent.url.to_string(), response.status, next.to_string()));
                    let host_changed = next.host_str() != request.url.host_str()
                        || next.port_or_known_default() != request.url.port_or_known_default();
                    if host_changed && !options.trusted {
                        request
                            .headers
                            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
                    }
                    let to_get = match response.status {
                        301 | 302 => request.method == "POST",
                        303 => request.method != "HEAD",
                        _ => false,
                    };
                    if to_get {
                        request.method = "GET".to_string();
                        request.body.clear();
                        request.headers.retain(|(n, _)| {
                            !n.eq_ignore_ascii_case("content-type")
                                && !n.eq_ignore_ascii_case("content-length")
                        });
                    }
                    request.url = next;
                }
                _ => break response,
            }
        };
        let ctx = QueryContext {
            url: request.url.to_string(),
            version: response.version.clone(),
            status: response.status,
            headers: response.headers.clone(),
            body: decode_body(&response.headers, &response.body),
            duration_ms: started.elapsed().as_millis() as u64,
            redirects,
            ip: response
                .connected_to
                .as_deref()
                .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.ip().to_string()),
        };
        result.duration_ms = ctx.duration_ms;
        check_response(entry, &ctx, vars, dir, &mut result);
        result
    }

    async fn send(&self, request: &HttpRequest, http1: bool) -> Result<HttpResponse, Failure> {
        let scheme = request.url.scheme();
        let outcome = match scheme {
            "http" | "https" if http1 => self.http1.send(request).await,
            "http" | "https" => self.http.send(request).await,
            other => match self.backends.get(other) {
                Some(backend) => backend.send(request).await,
                None => {
                    let hint = self
                        .refusals
                        .get(other)
                        .cloned()
                        .unwrap_or_else(|| format!("no backend for {other}://"));
                    return Err(Failure {
                        message: hint,
                        transport: false,
                        kind: None,
                    });
                }
            },
        };
        outcome.map_err(|e| Failure {
            message: format!("{} {}: {}", request.method, request.url, e.message),
            transport: true,
            kind: Some(e.kind),
        })
    }
}

/// Undoes `Content-Encoding` (gzip, deflate, br, in the order applied) as Hurl does before reading a body; a
/// body that does not decode is kept as it came.
fn decode_body(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let encodings: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|e| e.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|e| !e.is_empty() && e != "identity")
        .collect();
    let mut data = body.to_vec();
    for encoding in encodings.iter().rev() {
        let mut out = Vec::new();
        let decoded = match encoding.as_str() {
            "gzip" | "x-gzip" => {
                flate2::read::GzDecoder::new(data.as_slice()).read_to_end(&mut out)
            }
            "deflate" => flate2::read::ZlibDecoder::new(data.as_slice()).read_to_end(&mut out),
            "br" => {
                brotli_decompressor::Decompressor::new(data.as_slice(), 4096).read_to_end(&mut out)
            }
            _ => return body.to_vec(),
        };
        if decoded.is_err() {
            return body.to_vec();
        }
        data = out;
    }
    data
}

fn eval_message(e: &EvalError) -> String {
    format!(
        "line {}:{}: {}",
        e.source_info.start.line, e.source_info.start.column, e.message
    )
}

fn placeholder_value(p: &Placeholder, vars: &Variables) -> Result<Value, EvalError> {
    eval_expr(&p.expr, vars)
}

fn boolean(option: &hurl_core::ast::BooleanOption, vars: &Variables) -> Result<bool, EvalError> {
    match option {
        hurl_core::ast::BooleanOption::Literal(b) => Ok(*b),
        hurl_core::ast::BooleanOption::Placeholder(p) => match placeholder_value(p, vars)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::new(
                p.expr.source_info,
                format!("expected a boolean, got {}", other.repr()),
            )),
        },
    }
}

fn count(option: &CountOption, vars: &Variables) -> Result<Option<usize>, EvalError> {
    match option {
        CountOption::Literal(Count::Finite(n)) => Ok(Some(*n)),
        CountOption::Literal(Count::Infinite) => Ok(None),
        CountOption::Placeholder(p) => match placeholder_value(p, vars)? {
            Value::Integer(-1) => Ok(None),
            Value::Integer(n) if n >= 0 => Ok(Some(n as usize)),
            other => Err(EvalError::new(
                p.expr.source_info,
                format!("expected a count, got {}", other.repr()),
            )),
        },
    }
}

fn duration(
    option: &DurationOption,
    vars: &Variables,
    default: DurationUnit,
) -> Result<Duration, EvalError> {
    match option {
        DurationOption::Literal(d) => {
            let n = d.value.as_u64();
            Ok(match d.unit.unwrap_or(default) {
                DurationUnit::MilliSecond => Duration::from_millis(n),
                DurationUnit::Second => Duration::from_secs(n),
                DurationUnit::Minute => Duration::from_secs(n * 60),
                DurationUnit::Hour => Duration::from_secs(n * 3600),
            })
        }
        DurationOption::Placeholder(p) => match placeholder_value(p, vars)? {
            Value::Integer(n) if n >= 0 => Ok(Duration::from_millis(n as u64)),
            other => Err(EvalError::new(
                p.expr.source_info,
                format!("expected a duration, got {}", other.repr()),
            )),
        },
    }
}

/// A request ready to send, and the `[Cookies]` that go with it on every hop.
struct Built {
    request: HttpRequest,
    cookies: Vec<(String, String)>,
}

const QUERY_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn build_request(
    entry: &Entry,
    options: &EntryOptions,
    extra_headers: &[(String, String)],
    vars: &mut Variables,
    dir: &Path,
) -> Result<Built, EvalError> {
    let request = &entry.request;
    let url_text = render(&request.url, vars)?;
    let mut url = Url::parse(url_text.trim()).map_err(|e| {
        EvalError::new(
            request.url.source_info,
            format!("invalid URL `{url_text}`: {e}"),
        )
    })?;
    let params = request.querystring_params();
    if !params.is_empty() {
        let mut query = url.query().map(str::to_string).unwrap_or_default();
        for param in params {
            let key = render(&param.key, vars)?;
            let value = render(&param.value, vars)?;
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&percent_encoding::utf8_percent_encode(&key, QUERY_SET).to_string());
            query.push('=');
            query.push_str(&percent_encoding::utf8_percent_encode(&value, QUERY_SET).to_string());
        }
        url.set_query(Some(&query));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for header in &request.headers {
        headers.push((render(&header.key, vars)?, render(&header.value, vars)?));
    }
    for (name, value) in extra_headers.iter().chain(&options.headers) {
        headers.push((name.clone(), value.clone()));
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };

    // Credentials: [BasicAuth], then [Options] user, then the URL's user:password.
    let mut credentials = None;
    if let Some(kv) = request.basic_auth() {
        credentials = Some(format!(
            "{}:{}",
            render(&kv.key, vars)?,
            render(&kv.value, vars)?
        ));
    } else if let Some(user) = &options.user {
        credentials = Some(user.clone());
    } else if !url.username().is_empty() && matches!(url.scheme(), "http" | "https") {
        // Only http(s) URLs carry credentials; in `mailbox://launch@example.com` the user part is the address.
        let user = percent_encoding::percent_decode_str(url.username())
            .decode_utf8_lossy()
            .into_owned();
        let password = url
            .password()
            .map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        credentials = Some(format!("{user}:{password}"));
    }
    if matches!(url.scheme(), "http" | "https") {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    if let Some(credentials) = credentials
        && !has(&headers, "authorization")
    {
        if let Some((_, password)) = credentials.split_once(':') {
            vars.add_secret_value(password);
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes());
        headers.push(("Authorization".to_string(), format!("Basic {encoded}")));
    }

    // Whatever authenticates the request is redacted from every output, in clear and encoded.
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("authorization") {
            vars.add_secret_value(value.split_once(' ').map_or(value.as_str(), |(_, v)| v));
        }
    }

    let mut cookies = Vec::new();
    for cookie in request.cookies() {
        cookies.push((render(&cookie.name, vars)?, render(&cookie.value, vars)?));
    }

    let mut body = Vec::new();
    let mut content_type = None;
    let form = request.form_params();
    let multipart = request.multipart_form_data();
    if !form.is_empty() {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for param in form {
            serializer.append_pair(&render(&param.key, vars)?, &render(&param.value, vars)?);
        }
        body = serializer.finish().into_bytes();
        content_type = Some("application/x-www-form-urlencoded".to_string());
    } else if !multipart.is_empty() {
        let boundary = format!("------------------------{}", uuid::Uuid::new_v4().simple());
        for param in multipart {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match param {
                MultipartParam::Param(kv) => {
                    let name = render(&kv.key, vars)?;
                    let value = render(&kv.value, vars)?;
                    body.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                            .as_bytes(),
                    );
                    body.extend_from_slice(value.as_bytes());
                }
                MultipartParam::FilenameParam(fp) => {
                    let name = render(&fp.key, vars)?;
                    let filename = render(&fp.value.filename, vars)?;
                    let path = dir.join(&filename);
                    let data = std::fs::read(&path).map_err(|e| {
                        EvalError::new(
                            fp.value.filename.source_info,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?;
                    let part_type = match &fp.value.content_type {
                        Some(t) => render(t, vars)?,
                        None => guess_content_type(&filename).to_string(),
                    };
                    let base = Path::new(&filename)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or(filename.clone());
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"; filename=\"{base}\"\r\nContent-Type: {part_type}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(&data);
                }
            }
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        content_type = Some(format!("multipart/form-data; boundary={boundary}"));
    } else if let Some(spec) = &request.body {
        let (bytes, implied) = body_bytes(spec, vars, dir)?;
        body = bytes;
        content_type = implied.map(str::to_string);
    }
    if let Some(content_type) = content_type
        && !has(&headers, "content-type")
    {
        headers.push(("Content-Type".to_string(), content_type));
    }
    Ok(Built {
        request: HttpRequest {
            method: request.method.to_string(),
            url,
            headers,
            body,
            insecure: options.insecure,
        },
        cookies,
    })
}

fn guess_content_type(filename: &str) -> &'static str {
    let ext = Path::new(filename)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "js" => "text/javascript",
        "css" => "text/css",
        _ => "application/octet-stream",
    }
}

/// A request or expected body's bytes, and the content type its kind implies.
fn body_bytes(
    spec: &Body,
    vars: &Variables,
    dir: &Path,
) -> Result<(Vec<u8>, Option<&'static str>), EvalError> {
    use hurl_core::ast::MultilineStringKind as K;
    Ok(match &spec.value {
        Bytes::Json(json) => (
            json_text(json, vars, true)?.into_bytes(),
            Some("application/json"),
        ),
        Bytes::Xml(xml) => (xml.clone().into_bytes(), Some("application/xml")),
        Bytes::MultilineString(m) => {
            let implied = match m.kind {
                K::Json(_) | K::GraphQl(_) => Some("application/json"),
                K::Xml(_) => Some("application/xml"),
                _ => None,
            };
            (multiline_text(m, vars)?.into_bytes(), implied)
        }
        Bytes::OnelineString(t) => (render(t, vars)?.into_bytes(), None),
        Bytes::Base64(b) => (b.value.clone(), None),
        Bytes::Hex(h) => (h.value.clone(), None),
        Bytes::File(f) => {
            let name = render(&f.filename, vars)?;
            let path = dir.join(&name);
            let data = std::fs::read(&path).map_err(|e| {
                EvalError::new(
                    f.filename.source_info,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            (data, None)
        }
    })
}

/// Implicit asserts (version, status, headers, body), then captures, then explicit asserts.
fn check_response(
    entry: &Entry,
    ctx: &QueryContext,
    vars: &mut Variables,
    dir: &Path,
    result: &mut EntryResult,
) {
    let Some(spec) = &entry.response else {
        result.finish();
        return;
    };
    let version_ok = match spec.version.value {
        VersionValue::VersionAny => true,
        VersionValue::Version1 => ctx.version == "HTTP/1.0",
        VersionValue::Version11 => ctx.version == "HTTP/1.1",
        VersionValue::Version2 => ctx.version == "HTTP/2",
        VersionValue::Version3 => ctx.version == "HTTP/3",
    };
    if !version_ok {
        result.asserts.push(AssertOutcome::failed(
            spec.version.source_info.start.line,
            format!("{}", spec.version.value),
            format!("actual: {}, expected: {}", ctx.version, spec.version.value),
        ));
    }
    if let StatusValue::Specific(expected) = spec.status.value {
        let line = spec.status.source_info.start.line;
        if u64::from(ctx.status) == expected {
            result
                .asserts
                .push(AssertOutcome::passed(line, format!("status == {expected}")));
        } else {
            result.asserts.push(AssertOutcome::failed(
                line,
                format!("status == {expected}"),
                format!("actual: {}, expected: {expected}", ctx.status),
            ));
            // Like Hurl: with the wrong status, captures and further asserts mean nothing.
            result.finish();
            return;
        }
    }
    for header in &spec.headers {
        let line = header.key.source_info.start.line;
        let outcome = (|| -> Result<Result<(), String>, EvalError> {
            let name = render(&header.key, vars)?;
            let expected = render(&header.value, vars)?;
            let actual = ctx.header_values(&name);
            Ok(if actual.iter().any(|v| *v == expected) {
                Ok(())
            } else if actual.is_empty() {
                Err(format!("header `{name}` is missing"))
            } else {
                Err(format!(
                    "header `{name}`: actual: {}, expected: {expected}",
                    actual.join(", ")
                ))
            })
        })();
        push_outcome(result, line, format!("header {}", header.key), outcome);
    }
    if let Some(body) = &spec.body {
        let line = body.space0.source_info.start.line;
        let outcome = (|| -> Result<Result<(), String>, EvalError> {
            Ok(match &body.value {
                Bytes::Base64(_) | Bytes::Hex(_) | Bytes::File(_) => {
                    let (expected, _) = body_bytes(body, vars, dir)?;
                    if expected == ctx.body {
                        Ok(())
                    } else {
                        Err(format!(
                            "body: {} bytes differ from the {} expected",
                            ctx.body.len(),
                            expected.len()
                        ))
                    }
                }
                _ => {
                    let (expected, _) = body_bytes(body, vars, dir)?;
                    let expected = String::from_utf8_lossy(&expected).into_owned();
                    let actual = ctx
                        .text()
                        .map_err(|e| EvalError::new(body.space0.source_info, e))?;
                    if actual == expected {
                        Ok(())
                    } else {
                        Err(format!(
                            "body: actual: {}, expected: {}",
                            clip(&actual),
                            clip(&expected)
                        ))
                    }
                }
            })
        })();
        push_outcome(result, line, "body".to_string(), outcome);
    }
    for capture in spec.captures() {
        let line = capture.name.source_info.start.line;
        let outcome = (|| -> Result<(String, Value), EvalError> {
            let name = render(&capture.name, vars)?;
            let value = eval_query(&capture.query, ctx, vars)?;
            let value = eval_filters(value, &capture.filters, vars)?;
            let value = value.ok_or_else(|| {
                EvalError::new(
                    capture.query.source_info,
                    format!("capture `{name}`: the query matched nothing"),
                )
            })?;
            Ok((name, value))
        })();
        match outcome {
            Ok((name, value)) => {
                if capture.redacted {
                    vars.add_secret_value(&value.render());
                }
                result.captures.push(CaptureOutcome {
                    line,
                    name: name.clone(),
                    value: value.render(),
                });
                vars.set(&name, value);
            }
            Err(e) => {
                result.asserts.push(AssertOutcome::failed(
                    line,
                    format!("capture {}", capture.name),
                    eval_message(&e),
                ));
            }
        }
    }
    for assert in spec.asserts() {
        let line = assert.query.source_info.start.line;
        // Labelled with its own line of the file once the run is over (the engine keeps the source).
        let label = format!("line {line}");
        let outcome = (|| -> Result<Result<(), String>, EvalError> {
            let value = eval_query(&assert.query, ctx, vars)?;
            let value = eval_filters(value, &assert.filters, vars)?;
            eval_predicate(&assert.predicate, value.as_ref(), vars, dir)
        })();
        push_outcome(result, line, label, outcome);
    }
    result.finish();
}

fn clip(text: &str) -> String {
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text.to_string()
    }
}

fn push_outcome(
    result: &mut EntryResult,
    line: usize,
    label: String,
    outcome: Result<Result<(), String>, EvalError>,
) {
    match outcome {
        Ok(Ok(())) => result.asserts.push(AssertOutcome::passed(line, label)),
        Ok(Err(reason)) => result
            .asserts
            .push(AssertOutcome::failed(line, label, reason)),
        Err(e) => result
            .asserts
            .push(AssertOutcome::failed(line, label, eval_message(&e))),
    }
}

fn merge_cookies(jar: Option<String>, extra: &[(String, String)]) -> Option<String> {
    let mut parts: Vec<String> = jar.into_iter().collect();
    parts.extend(extra.iter().map(|(n, v)| format!("{n}={v}")));
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The per-run cookie jar: RFC 6265 storage reduced to what a journey needs (host-only and domain cookies,
/// path prefix, expiry by Max-Age or Expires, Secure only over https).
#[derive(Debug, Default)]
pub struct CookieJar {
    cookies: Vec<StoredCookie>,
}

#[derive(Debug, Clone)]
struct StoredCookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<time::OffsetDateTime>,
}

impl CookieJar {
    /// Stores one `Set-Cookie` received from `url`.
    pub fn store(&mut self, url: &Url, header: &str) {
        let Ok(parsed) = cookie::Cookie::parse(header.to_string()) else {
            return;
        };
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let (domain, host_only) = match parsed.domain() {
            Some(d) => (d.trim_start_matches('.').to_ascii_lowercase(), false),
            None => (host.clone(), true),
        };
        if !(host_only || host == domain || host.ends_with(&format!(".{domain}"))) {
            return;
        }
        let path = match parsed.path() {
            Some(p) if p.starts_with('/') => p.to_string(),
            _ => {
                let p = url.path();
                match p.rfind('/') {
                    Some(0) | None => "/".to_string(),
                    Some(i) => p[..i].to_string(),
                }
            }
        };
        let now = time::OffsetDateTime::now_utc();
        let expires = match parsed.max_age() {
            Some(age) => Some(now + age),
            None => parsed.expires_datetime(),
        };
        self.cookies
            .retain(|c| !(c.name == parsed.name() && c.domain == domain && c.path == path));
        if expires.is_some_and(|e| e <= now) {
            return;
        }
        self.cookies.push(StoredCookie {
            name: parsed.name().to_string(),
            value: parsed.value().to_string(),
            domain,
            host_only,
            path,
            secure: parsed.secure().unwrap_or(false),
            expires,
        });
    }

    /// The `Cookie` header for a request to `url`, if any cookie applies.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let path = url.path();
        let now = time::OffsetDateTime::now_utc();
        let parts: Vec<String> = self
            .cookies
            .iter()
            .filter(|c| {
                let domain_ok = if c.host_only {
                    host == c.domain
                } else {
                    host == c.domain || host.ends_with(&format!(".{}", c.domain))
                };
                let path_ok = path == c.path
                    || (path.starts_with(&c.path)
                        && (c.path.ends_with('/') || path[c.path.len()..].starts_with('/')));
                domain_ok
                    && path_ok
                    && (!c.secure || url.scheme() == "https")
                    && c.expires.is_none_or(|e| e > now)
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a URL")
    }

    #[test]
    fn the_jar_matches_host_path_and_scheme_and_forgets_expired_cookies() {
        let mut jar = CookieJar::default();
        jar.store(
            &url("http://club.test/login"),
            "session=abc; Path=/; HttpOnly",
        );
        jar.store(&url("http://club.test/account/x"), "pref=dark");
        jar.store(&url("https://club.test/"), "tls=1; Secure");
        jar.store(&url("http://club.test/"), "wide=1; Domain=club.test");
        jar.store(&url("http://club.test/"), "evil=1; Domain=other.test");
        assert_eq!(
            jar.header_for(&url("http://club.test/account/y"))
                .as_deref(),
            Some("session=abc; pref=dark; wide=1")
        );
        assert_eq!(
            jar.header_for(&url("https://club.test/")).as_deref(),
            Some("session=abc; tls=1; wide=1")
        );
        assert_eq!(
            jar.header_for(&url("http://www.club.test/")).as_deref(),
            Some("wide=1")
        );
        jar.store(&url("http://club.test/"), "session=; Max-Age=0; Path=/");
        assert_eq!(
            jar.header_for(&url("http://club.test/")).as_deref(),
            Some("wide=1")
        );
    }

    #[test]
    fn compressed_bodies_are_decoded_before_queries_read_them() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"hello").expect("compress");
        let compressed = gz.finish().expect("compress");
        let headers = vec![("Content-Encoding".to_string(), "gzip".to_string())];
        assert_eq!(decode_body(&headers, &compressed), b"hello");
        assert_eq!(decode_body(&headers, b"not gzip"), b"not gzip");
        assert_eq!(decode_body(&[], b"plain"), b"plain");
    }

    #[test]
    fn request_cookies_follow_the_jar() {
        assert_eq!(
            merge_cookies(Some("a=1".into()), &[("b".into(), "2".into())]).as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(merge_cookies(None, &[]), None);
    }
}
