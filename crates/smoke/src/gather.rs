//! The network half of a smoke run. Requests go through launchready's network layer (so `--resolver`,
//! `--connect-to`, `--ca-file` and the timeouts apply), each over a fresh connection as a first-time visitor's
//! would, redirects followed by hand so every hop is recorded. Nothing here judges: a failed request is a fact.

use crate::evidence::Redactor;
use crate::facts::{
    FailedStep, FlowFacts, HomepageFacts, Probe, RouteFacts, SmokeFacts, VersionFacts, WebhookFacts,
};
use crate::rules::{served_version, version_matches};
use launchready_flow::{Engine, FlowFile, Status, Variables};
use launchready_manifest::{Manifest, RouteKind};
use launchready_net::{HttpRequest, Net};
use std::time::{Duration, Instant};
use url::Url;

/// How a smoke run behaves, from the command line.
#[derive(Debug, Clone)]
pub struct GatherOptions {
    /// Loads of the homepage; the median is held against the budget.
    pub samples: usize,
    /// Redirects followed from each route.
    pub max_hops: u32,
    /// `--wait-for-version`: poll the version endpoint until it serves this.
    pub wait_for_version: Option<String>,
    /// How long to wait for the version before giving up.
    pub wait_timeout: Duration,
    pub poll_interval: Duration,
    /// When the run started (RFC 3339), for the report.
    pub generated_at: String,
}

impl Default for GatherOptions {
    fn default() -> Self {
        GatherOptions {
            samples: 3,
            max_hops: 10,
            wait_for_version: None,
            wait_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
            generated_at: String::new(),
        }
    }
}

/// A `[[flow]]` read and checked before anything is sent, with the engine it runs on (its own, so a `mailbox://`
/// backend made for it sees only the mail sent since).
#[derive(Debug)]
pub struct NamedFlow<'a> {
    pub name: String,
    pub file: FlowFile,
    pub engine: Engine<'a>,
}

/// The payload posted to webhooks: what a provider's event looks like, without its signature.
const WEBHOOK_PAYLOAD: &str = r#"{"id":"evt_launchready_smoke","type":"payment.succeeded","data":{"object":{"id":"pay_launchready_smoke","amount":100,"currency":"usd"}},"livemode":false}"#;

/// What a browser asks for when it opens a page.
const ACCEPT_HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// Runs the whole smoke test. `flows` are the journeys with their engines (the caller registers extra backends
/// such as `mailbox://`); `vars` are their starting variables; `redactor` hides secrets in what is recorded.
pub async fn gather(
    manifest: &Manifest,
    net: &Net,
    flows: &[NamedFlow<'_>],
    vars: &Variables,
    redactor: &Redactor,
    options: &GatherOptions,
) -> SmokeFacts {
    let mut facts = SmokeFacts {
        target: manifest.apex().to_string(),
        generated_at: options.generated_at.clone(),
        ..SmokeFacts::default()
    };
    if let Some(url) = &manifest.smoke.version_url {
        let version = poll_version(net, redactor, url, options).await;
        let live = version.wanted.is_none() || version.matched;
        facts.version = Some(version);
        // Testing the previous deploy would only say the previous deploy works.
        if !live {
            return facts;
        }
    }
    let canonical = &manifest.site.canonical_url;
    let mut samples = Vec::new();
    for _ in 0..options.samples.max(1) {
        samples.push(follow(net, redactor, get(canonical), options.max_hops).await);
    }
    facts.homepage = Some(HomepageFacts {
        url: canonical.to_string(),
        budget_ms: u64::try_from(manifest.smoke.homepage_budget.as_millis()).unwrap_or(u64::MAX),
        samples,
    });

    let login_urls: Vec<String> = manifest
        .routes
        .iter()
        .filter(|r| r.kind == RouteKind::Login)
        .map(|r| format!("https://{}{}", r.host, r.path))
        .collect();
    let mut route_probes = Vec::new();
    let mut webhook_targets = Vec::new();
    if let Some(url) = &manifest.smoke.webhook {
        webhook_targets.push((url.clone(), "[smoke] webhook".to_string()));
    }
    for route in &manifest.routes {
        let Ok(url) = Url::parse(&format!("https://{}{}", route.host, route.path)) else {
            continue;
        };
        if route.kind == RouteKind::Webhook {
            if !webhook_targets.iter().any(|(u, _)| *u == url) {
                webhook_targets.push((url, format!("route {}", route.name)));
            }
            continue;
        }
        let login_urls = &login_urls;
        route_probes.push(async move {
            let probe = follow(net, redactor, get(&url), options.max_hops).await;
            RouteFacts {
                name: route.name.clone(),
                kind: route.kind.as_str().to_string(),
                critical: route.critical,
                expect_status: route.expect_status,
                url: url.to_string(),
                login_urls: login_urls.clone(),
                probe,
            }
        });
    }
    let webhook_probes = webhook_targets.into_iter().map(|(url, source)| async move {
        let request = HttpRequest {
            method: "POST".to_string(),
            url: url.clone(),
            headers: vec![("content-type".to_string(), "application/json".to_string())],
            body: WEBHOOK_PAYLOAD.as_bytes().to_vec(),
            insecure: false,
        };
        // A payment provider does not follow redirects, so neither does the probe.
        let probe = follow(net, redactor, request, 0).await;
        WebhookFacts {
            url: url.to_string(),
            source,
            probe,
        }
    });
    let (routes, webhooks) = futures::join!(
        futures::future::join_all(route_probes),
        futures::future::join_all(webhook_probes)
    );
    facts.routes = routes;
    facts.webhooks = webhooks;

    for flow in flows {
        facts.flows.push(run_flow(flow, vars, redactor).await);
    }
    facts
}

fn get(url: &Url) -> HttpRequest {
    HttpRequest {
        method: "GET".to_string(),
        url: url.clone(),
        headers: vec![("accept".to_string(), ACCEPT_HTML.to_string())],
        body: Vec::new(),
        insecure: false,
    }
}

/// Sends `request` and follows up to `max_hops` redirects (as GETs after a 301/302/303, as browsers do).
async fn follow(net: &Net, redactor: &Redactor, mut request: HttpRequest, max_hops: u32) -> Probe {
    let (probe, _) = follow_with_body(net, redactor, &mut request, max_hops).await;
    probe
}

/// [`follow`], also returning the final response's whole body (the version endpoint is read in full).
async fn follow_with_body(
    net: &Net,
    redactor: &Redactor,
    request: &mut HttpRequest,
    max_hops: u32,
) -> (Probe, Vec<u8>) {
    let mut probe = Probe::default();
    let mut hops = 0;
    loop {
        let response = match net.request(request).await {
            Ok(response) => response,
            Err(error) => {
                probe.error = Some(format!(
                    "{} {}: {} ({})",
                    request.method,
                    redactor.text(request.url.as_str()),
                    redactor.text(&error.message),
                    error.kind.as_str()
                ));
                return (probe, Vec::new());
            }
        };
        let exchange = redactor.exchange(request, &response);
        let redirect = exchange.is_redirect();
        probe.exchanges.push(exchange);
        if !redirect || max_hops == 0 {
            return (probe, response.body);
        }
        if hops >= max_hops {
            probe.error = Some(format!("more than {max_hops} redirects"));
            return (probe, Vec::new());
        }
        let location = response
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.clone());
        let Some(next) = location.and_then(|l| request.url.join(&l).ok()) else {
            probe.error = Some(format!(
                "a {} redirect without a usable Location",
                response.status
            ));
            return (probe, Vec::new());
        };
        if matches!(response.status, 301..=303) && request.method != "HEAD" {
            request.method = "GET".to_string();
            request.body.clear();
            request
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        }
        request.url = next;
        hops += 1;
    }
}

async fn poll_version(
    net: &Net,
    redactor: &Redactor,
    url: &Url,
    options: &GatherOptions,
) -> VersionFacts {
    let started = Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        let mut request = get(url);
        request.headers = vec![(
            "accept".to_string(),
            "application/json, text/plain;q=0.9, */*;q=0.1".to_string(),
        )];
        let (probe, body) = follow_with_body(net, redactor, &mut request, 5).await;
        let ok = probe
            .final_status()
            .is_some_and(|s| (200..300).contains(&s));
        let text = String::from_utf8_lossy(&body);
        let served = ok.then(|| served_version(&text)).flatten();
        let matched = match &options.wait_for_version {
            Some(wanted) => ok && version_matches(&text, wanted),
            None => false,
        };
        let waited = started.elapsed();
        let done = options.wait_for_version.is_none()
            || matched
            || waited + options.poll_interval > options.wait_timeout;
        if done {
            return VersionFacts {
                url: url.to_string(),
                wanted: options.wait_for_version.clone(),
                served: served.map(|s| redactor.text(&s)),
                matched,
                polls,
                waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                timeout_ms: u64::try_from(options.wait_timeout.as_millis()).unwrap_or(u64::MAX),
                last: probe,
            };
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}

async fn run_flow(flow: &NamedFlow<'_>, vars: &Variables, redactor: &Redactor) -> FlowFacts {
    // Like `launchready flow`, each journey starts from the command line's variables and an empty cookie jar.
    let mut run_vars = vars.clone();
    let mut result = flow.engine.run(&flow.file, &mut run_vars).await;
    result.redact();
    let could_not_run = result.transport_failed();
    let failed_step = result
        .entries
        .iter()
        .find(|e| e.status == Status::Failed)
        .map(|entry| FailedStep {
            index: entry.index,
            line: entry.line,
            method: entry.method.clone(),
            url: redactor.text(&entry.url),
            message: redactor.text(&entry.first_failure().unwrap_or_default()),
            exchange: entry.exchanges.last().map(|e| redactor.flow_exchange(e)),
        });
    FlowFacts {
        name: flow.name.clone(),
        file: flow.file.path.display().to_string(),
        passed: result.passed(),
        could_not_run,
        steps: result.entries.len(),
        duration_ms: result.duration_ms,
        failed_step,
    }
}
