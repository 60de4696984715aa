//! A run as data: every entry's requests and responses (redirect hops included), captures, assert outcomes and
//! timings. Renderers, the exit code and any later consumer (smoke, load, monitor) read only this.

use crate::vars::redact;
use launchready_findings::facts::{NetErrorKind, Timings};
use launchready_net::{HttpRequest, HttpResponse};
use serde::Serialize;

/// How much of a response body a report keeps.
pub const BODY_EXCERPT_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// An assert or capture failed, or the request could not be built.
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowResult {
    pub file: String,
    pub entries: Vec<EntryResult>,
    pub duration_ms: u64,
    /// The values redacted from this result; never serialised.
    #[serde(skip)]
    pub secrets: Vec<String>,
}

impl FlowResult {
    pub fn passed(&self) -> bool {
        self.entries.iter().all(|e| e.status != Status::Failed)
    }

    /// Whether a failure was the network's (nothing answered) rather than the flow's.
    pub fn transport_failed(&self) -> bool {
        self.entries.iter().any(|e| e.transport_error)
    }

    /// Replaces every secret value, everywhere in the result, with `***`.
    pub fn redact(&mut self) {
        let secrets = self.secrets.clone();
        let r = |s: &mut String| *s = redact(s, &secrets);
        for entry in &mut self.entries {
            if let Some(error) = &mut entry.error {
                r(error);
            }
            r(&mut entry.url);
            for exchange in &mut entry.exchanges {
                r(&mut exchange.url);
                for (_, v) in exchange
                    .request_headers
                    .iter_mut()
                    .chain(exchange.response_headers.iter_mut())
                {
                    r(v);
                }
                r(&mut exchange.body_excerpt);
            }
            for capture in &mut entry.captures {
                r(&mut capture.value);
            }
            for assert in &mut entry.asserts {
                r(&mut assert.label);
                if let Some(reason) = &mut assert.reason {
                    r(reason);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryResult {
    /// 1-based position in the file.
    pub index: usize,
    pub line: usize,
    pub method: String,
    pub url: String,
    pub status: Status,
    /// The request/response pairs, one per redirect hop.
    pub exchanges: Vec<Exchange>,
    pub captures: Vec<CaptureOutcome>,
    pub asserts: Vec<AssertOutcome>,
    /// Why the entry could not complete (no response, an unbuildable request).
    pub error: Option<String>,
    #[serde(skip)]
    pub transport_error: bool,
    /// What kind of network failure it was, when nothing answered (load reports count errors by kind).
    #[serde(skip)]
    pub error_kind: Option<NetErrorKind>,
    pub duration_ms: u64,
    pub attempts: usize,
}

impl EntryResult {
    pub fn new(index: usize, line: usize, request: &HttpRequest) -> Self {
        EntryResult {
            method: request.method.clone(),
            url: request.url.to_string(),
            status: Status::Passed,
            attempts: 1,
            ..Self::skipped(index, line)
        }
    }

    pub fn skipped(index: usize, line: usize) -> Self {
        EntryResult {
            index,
            line,
            method: String::new(),
            url: String::new(),
            status: Status::Skipped,
            exchanges: Vec::new(),
            captures: Vec::new(),
            asserts: Vec::new(),
            error: None,
            transport_error: false,
            error_kind: None,
            duration_ms: 0,
            attempts: 0,
        }
    }

    pub fn failed(index: usize, line: usize, message: String, transport: bool) -> Self {
        let mut entry = Self::skipped(index, line);
        entry.attempts = 1;
        entry.fail(message, transport);
        entry
    }

    pub fn fail(&mut self, message: String, transport: bool) {
        self.status = Status::Failed;
        self.error = Some(message);
        self.transport_error = transport;
    }

    /// Settles the status from the assert outcomes.
    pub fn finish(&mut self) {
        if self.error.is_some() || self.asserts.iter().any(|a| !a.passed) {
            self.status = Status::Failed;
        }
    }

    pub fn first_failure(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        self.asserts.iter().find(|a| !a.passed).map(|a| {
            format!(
                "line {}: {}: {}",
                a.line,
                a.label,
                a.reason.clone().unwrap_or_default()
            )
        })
    }
}

/// One request sent and its response, as a report shows them: `Authorization`, `Cookie` and `Set-Cookie`
/// values hidden, the body cut to its first KiB.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub version: String,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub body_excerpt: String,
    pub body_bytes: usize,
    pub timings: Timings,
    pub connected_to: Option<String>,
    /// The request went over a connection kept from an earlier one, so it paid no DNS, connect or TLS time.
    pub reused_connection: bool,
    /// The request body's size (load reports count bytes sent).
    #[serde(skip)]
    pub request_body_bytes: usize,
}

fn hide(name: &str, value: &str) -> String {
    let sensitive = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ];
    if sensitive.iter().any(|s| name.eq_ignore_ascii_case(s)) {
        match name.to_ascii_lowercase().as_str() {
            "set-cookie" | "cookie" => value
                .split(';')
                .map(|part| match part.split_once('=') {
                    Some((k, _))
                        if name.eq_ignore_ascii_case("cookie") || !part.contains("xpires") =>
                    {
                        format!("{}=***", k.trim())
                    }
                    _ => part.trim().to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} ***"),
                None => "***".to_string(),
            },
        }
    } else {
        value.to_string()
    }
}

impl Exchange {
    pub fn new(request: &HttpRequest, response: &HttpResponse) -> Self {
        let cut = response.body.len().min(BODY_EXCERPT_BYTES);
        Exchange {
            method: request.method.clone(),
            url: request.url.to_string(),
            request_headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), hide(n, v)))
                .collect(),
            version: response.version.clone(),
            status: response.status,
            response_headers: response
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), hide(n, v)))
                .collect(),
            body_excerpt: String::from_utf8_lossy(&response.body[..cut]).into_owned(),
            body_bytes: response.body.len(),
            timings: response.timings.clone(),
            connected_to: response.connected_to.clone(),
            reused_connection: response.reused,
            request_body_bytes: request.body.len(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaptureOutcome {
    pub line: usize,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssertOutcome {
    pub line: usize,
    pub label: String,
    pub passed: bool,
    /// Actual against expected, when it failed.
    pub reason: Option<String>,
}

impl AssertOutcome {
    pub fn passed(line: usize, label: String) -> Self {
        AssertOutcome {
            line,
            label,
            passed: true,
            reason: None,
        }
    }

    pub fn failed(line: usize, label: String, reason: String) -> Self {
        AssertOutcome {
            line,
            label,
            passed: false,
            reason: Some(reason),
        }
    }
}
