//! Evidence a failure carries, and what it must never carry. Exchanges are recorded with `Authorization`,
//! `Cookie` and `Set-Cookie` values hidden (the flow engine's rule), the body cut to its first KiB, and every
//! secret value — those given with `--secret`, and anything the secrets scanner recognises as a credential —
//! replaced by `***` before it reaches the facts. Rules then print exchanges as evidence lines.

use crate::facts::{Exchange, Probe};
use launchready_net::{HttpRequest, HttpResponse};
use launchready_secrets::rules::RuleSet;

/// Redacts secrets from what is recorded. Built once per run.
pub struct Redactor {
    secrets: Vec<String>,
    rules: RuleSet,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    /// `secrets`: values that must never be shown (the run's `--secret` values).
    pub fn new(secrets: &[String]) -> Self {
        let mut secrets: Vec<String> = secrets.iter().filter(|s| !s.is_empty()).cloned().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor {
            secrets,
            rules: RuleSet::builtin(),
        }
    }

    /// `text` with every known secret value and every credential the scanner finds replaced by `***`.
    pub fn text(&self, text: &str) -> String {
        let mut found: Vec<String> = self
            .rules
            .scan("smoke-response", text.as_bytes())
            .into_iter()
            .map(|m| m.secret)
            .filter(|s| !s.is_empty())
            .collect();
        found.extend(self.secrets.iter().cloned());
        found.sort_by_key(|s| std::cmp::Reverse(s.len()));
        found.dedup();
        launchready_flow::redact(text, &found)
    }

    /// One request and its response as recorded in the facts.
    pub fn exchange(&self, request: &HttpRequest, response: &HttpResponse) -> Exchange {
        self.flow_exchange(&launchready_flow::Exchange::new(request, response))
    }

    /// An exchange from a journey's result, redacted the same way.
    pub fn flow_exchange(&self, exchange: &launchready_flow::Exchange) -> Exchange {
        let headers = |list: &[(String, String)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.clone(), self.text(v)))
                .collect()
        };
        Exchange {
            method: exchange.method.clone(),
            url: self.text(&exchange.url),
            request_headers: headers(&exchange.request_headers),
            version: exchange.version.clone(),
            status: exchange.status,
            response_headers: headers(&exchange.response_headers),
            body_excerpt: self.text(&exchange.body_excerpt),
            body_bytes: exchange.body_bytes,
            total_ms: exchange.timings.total_ms,
        }
    }
}

fn pairs(list: &[(String, String)]) -> String {
    if list.is_empty() {
        return "(none)".to_string();
    }
    list.iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An exchange as evidence lines: request, status, headers and the start of the body (whitespace folded, so
/// each line stays one line).
pub(crate) fn exchange_lines(exchange: &Exchange) -> Vec<String> {
    let body = exchange
        .body_excerpt
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let body = if body.is_empty() {
        "(empty)".to_string()
    } else if exchange.body_bytes > exchange.body_excerpt.len() {
        format!(
            "{body} … (first {} of {} bytes)",
            exchange.body_excerpt.len(),
            exchange.body_bytes
        )
    } else {
        body
    };
    vec![
        format!("request: {} {}", exchange.method, exchange.url),
        format!("request headers: {}", pairs(&exchange.request_headers)),
        format!(
            "response: {} {} in {:.0} ms",
            exchange.version, exchange.status, exchange.total_ms
        ),
        format!("response headers: {}", pairs(&exchange.response_headers)),
        format!("body: {body}"),
    ]
}

/// The hops of a probe, one line each, then the last exchange in full (or why there was no answer).
pub(crate) fn probe_lines(probe: &Probe) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    if probe.exchanges.len() > 1 {
        for exchange in &probe.exchanges {
            let to = exchange
                .header("location")
                .map(|l| format!(" → {l}"))
                .unwrap_or_default();
            lines.push(format!(
                "hop: {} {} → {}{to} ({:.0} ms)",
                exchange.method, exchange.url, exchange.status, exchange.total_ms
            ));
        }
    }
    if let Some(last) = probe.last() {
        lines.extend(exchange_lines(last));
    }
    if let Some(error) = &probe.error {
        lines.push(format!("error: {error}"));
    }
    lines
}
