//! What a smoke run observed, as plain serde data: every request and response it made (redacted), the journeys'
//! outcomes and the version the deploy served. The rules read only this, so they are tested with hand-built
//! facts.

use serde::{Deserialize, Serialize};

/// Everything one smoke run saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SmokeFacts {
    /// The site's apex, as the report names it.
    pub target: String,
    /// When the run started (RFC 3339, UTC).
    pub generated_at: String,
    /// The version endpoint, when the manifest names one.
    pub version: Option<VersionFacts>,
    /// `None` when the checks were skipped (the awaited version never went live).
    pub homepage: Option<HomepageFacts>,
    pub routes: Vec<RouteFacts>,
    pub webhooks: Vec<WebhookFacts>,
    pub flows: Vec<FlowFacts>,
}

/// One request sent and what came back. Header values of `Authorization`, `Cookie` and `Set-Cookie` are hidden
/// and the body is cut to its first KiB with secret values replaced by `***`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    /// `HTTP/1.1` or `HTTP/2`.
    pub version: String,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub body_excerpt: String,
    pub body_bytes: usize,
    pub total_ms: f64,
}

impl Exchange {
    /// The first value of a response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

/// A request and the redirects followed from it (none for a webhook), or why it got no final answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub exchanges: Vec<Exchange>,
    /// The request got no response, a redirect had no usable `Location`, or the hop budget ran out.
    pub error: Option<String>,
}

impl Probe {
    /// The last response, when the probe ended with one.
    pub fn last(&self) -> Option<&Exchange> {
        self.exchanges.last()
    }

    /// The final status, when the probe completed.
    pub fn final_status(&self) -> Option<u16> {
        if self.error.is_some() {
            return None;
        }
        self.last().map(|e| e.status)
    }

    /// Time from the first request to the last response, redirects included.
    pub fn total_ms(&self) -> f64 {
        self.exchanges.iter().map(|e| e.total_ms).sum()
    }
}

/// The homepage (the canonical URL), loaded `samples.len()` times over fresh connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomepageFacts {
    pub url: String,
    pub budget_ms: u64,
    pub samples: Vec<Probe>,
}

/// A `[[route]]` requested anonymously, redirects followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteFacts {
    pub name: String,
    /// The manifest's kind: `login`, `checkout`, `member`, …
    pub kind: String,
    pub critical: bool,
    pub expect_status: u16,
    pub url: String,
    /// The login routes' URLs: an anonymous visitor to a member page may be sent to one of them.
    pub login_urls: Vec<String>,
    pub probe: Probe,
}

/// A webhook sent a payload with no signature, as anyone on the internet could.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookFacts {
    pub url: String,
    /// Where the manifest names it: `[smoke] webhook` or a route's name.
    pub source: String,
    pub probe: Probe,
}

/// The version endpoint: what it served, and for `--wait-for-version` whether the awaited version went live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionFacts {
    pub url: String,
    /// `--wait-for-version`.
    pub wanted: Option<String>,
    /// The version the endpoint served last, as far as it could be read.
    pub served: Option<String>,
    pub matched: bool,
    pub polls: u32,
    pub waited_ms: u64,
    pub timeout_ms: u64,
    /// The last poll.
    pub last: Probe,
}

/// One `[[flow]]` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowFacts {
    pub name: String,
    pub file: String,
    pub passed: bool,
    /// A request got no response (the network's failure, not the journey's).
    pub could_not_run: bool,
    /// Entries run (skipped ones included).
    pub steps: usize,
    pub duration_ms: u64,
    pub failed_step: Option<FailedStep>,
}

/// The step a journey stopped at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedStep {
    /// 1-based position in the file.
    pub index: usize,
    pub line: usize,
    pub method: String,
    pub url: String,
    /// The assert that failed with actual against expected, or why no response came.
    pub message: String,
    /// The step's last request and response.
    pub exchange: Option<Exchange>,
}
