//! What is checked, planned from the manifest, and how one check runs. The plan is pure: the landing page (the
//! canonical URL), every `[[route]]`, every `[[flow]]` journey and the certificate of every host. When the manifest
//! lists no login, checkout or member route, the roadmap's pages are checked at `/login`, `/checkout` and
//! `/members` on the canonical host, so the four pages are covered with no extra configuration.

use crate::redact;
use launchready_flow::{Engine, FlowFile, RunOptions, Variables};
use launchready_manifest::{Manifest, RouteKind};
use launchready_net::Net;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use url::Url;

/// The id of the landing-page check; other checks depend on it.
pub const LANDING: &str = "landing";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckKind {
    /// One GET, no redirect following; up when the status is the expected one (member and checkout pages may
    /// send an anonymous visitor to log in instead).
    Http {
        url: Url,
        expect_status: u16,
        route_kind: RouteKind,
    },
    /// A whole journey through the flow engine.
    Flow { name: String, file: PathBuf },
    /// The certificate a host serves: up while it verifies; its expiry is recorded.
    Tls { host: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Stable: `landing`, `route:NAME`, `flow:NAME`, `tls:HOST`.
    pub id: String,
    pub kind: CheckKind,
    /// A critical route or a journey: the roadmap's latency and error-rate alerts apply.
    pub critical: bool,
    /// Checks whose outage explains this one's (alerts fold into theirs).
    pub parents: Vec<String>,
}

impl Check {
    /// What the check is about, for the dashboard.
    pub fn target(&self) -> String {
        match &self.kind {
            CheckKind::Http { url, .. } => format!("GET {url}"),
            CheckKind::Flow { file, .. } => format!("journey {}", file.display()),
            CheckKind::Tls { host } => format!("certificate of {host}"),
        }
    }

    pub fn is_checkout(&self) -> bool {
        match &self.kind {
            CheckKind::Http { route_kind, .. } => *route_kind == RouteKind::Checkout,
            CheckKind::Flow { name, file } => {
                name.contains("checkout")
                    || name.contains("payment")
                    || file.to_string_lossy().contains("payment")
                    || file.to_string_lossy().contains("checkout")
            }
            CheckKind::Tls { .. } => false,
        }
    }
}

/// Every check the manifest implies.
pub fn plan(manifest: &Manifest) -> Vec<Check> {
    let canonical = manifest.site.canonical_url.clone();
    let mut checks = vec![Check {
        id: LANDING.to_string(),
        kind: CheckKind::Http {
            url: canonical.clone(),
            expect_status: 200,
            route_kind: RouteKind::Landing,
        },
        critical: true,
        parents: Vec::new(),
    }];
    let landing = || vec![LANDING.to_string()];
    let mut hosts = vec![manifest.canonical_host().to_string()];
    for route in &manifest.routes {
        let Ok(url) = Url::parse(&format!("https://{}{}", route.host, route.path)) else {
            continue;
        };
        if !hosts.contains(&route.host) {
            hosts.push(route.host.clone());
        }
        checks.push(Check {
            id: format!("route:{}", route.name),
            kind: CheckKind::Http {
                url,
                expect_status: route.expect_status,
                route_kind: route.kind,
            },
            critical: route.critical,
            parents: landing(),
        });
    }
    for (kind, path) in [
        (RouteKind::Login, "/login"),
        (RouteKind::Checkout, "/checkout"),
        (RouteKind::Member, "/members"),
    ] {
        if manifest.routes.iter().any(|r| r.kind == kind) {
            continue;
        }
        let Ok(url) = canonical.join(path) else {
            continue;
        };
        checks.push(Check {
            id: format!("route:{kind}"),
            kind: CheckKind::Http {
                url,
                expect_status: 200,
                route_kind: kind,
            },
            critical: true,
            parents: landing(),
        });
    }
    for flow in &manifest.flows {
        checks.push(Check {
            id: format!("flow:{}", flow.name),
            kind: CheckKind::Flow {
                name: flow.name.clone(),
                file: manifest.flow_path(flow),
            },
            critical: true,
            parents: landing(),
        });
    }
    for host in hosts {
        checks.push(Check {
            id: format!("tls:{host}"),
            kind: CheckKind::Tls { host },
            critical: false,
            parents: Vec::new(),
        });
    }
    checks
}

/// One run of one check, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub at_ms: i64,
    pub check: String,
    /// The failing step of a journey (`entry 3 (line 12): POST https://…/checkout`), else empty.
    pub step: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub duration_ms: f64,
    /// Phase timings as JSON (`dns_ms`, `connect_ms`, `tls_ms`, `first_byte_ms`, `total_ms`).
    pub timings: serde_json::Value,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub context: Option<String>,
    pub cert_expires_at_ms: Option<i64>,
}

impl CheckResult {
    fn new(check: &str, at_ms: i64) -> CheckResult {
        CheckResult {
            at_ms,
            check: check.to_string(),
            step: String::new(),
            ok: true,
            status: None,
            duration_ms: 0.0,
            timings: serde_json::Value::Null,
            error_kind: None,
            error: None,
            context: None,
            cert_expires_at_ms: None,
        }
    }

    pub fn sample(&self) -> crate::alert::Sample {
        crate::alert::Sample {
            at_ms: self.at_ms,
            ok: self.ok,
            duration_ms: self.duration_ms,
            cert_expires_at_ms: self.cert_expires_at_ms,
            error: self.error.clone(),
            context: self.context.clone(),
        }
    }
}

/// What a journey needs besides the network: its parsed file, variables and the mailbox, when configured.
#[derive(Debug, Clone, Default)]
pub struct FlowContext {
    pub vars: Variables,
    pub mailbox: Option<std::sync::Arc<launchready_mailbox::Store>>,
}

/// Runs one check now. Never fails: a check that cannot run is a down result with its reason.
pub async fn run(
    check: &Check,
    net: &Net,
    flows: &std::collections::HashMap<String, FlowFile>,
    context: &FlowContext,
    at_ms: i64,
) -> CheckResult {
    let mut result = CheckResult::new(&check.id, at_ms);
    match &check.kind {
        CheckKind::Http {
            url,
            expect_status,
            route_kind,
        } => {
            let hop = net.fetch(url).await;
            result.status = hop.status;
            result.duration_ms = hop.timings.total_ms;
            result.timings = serde_json::to_value(&hop.timings).unwrap_or_default();
            let to_login = hop.status.is_some_and(|s| (300..400).contains(&s))
                && hop.location.as_deref().is_some_and(|l| l.contains("login"));
            let ok = match hop.status {
                Some(status) if status == *expect_status => true,
                Some(_) => {
                    to_login && matches!(route_kind, RouteKind::Member | RouteKind::Checkout)
                }
                None => false,
            };
            if !ok {
                result.ok = false;
                result.step = format!("GET {url}");
                match &hop.error {
                    Some(error) => {
                        result.error_kind = Some(error.kind.as_str().to_string());
                        result.error = Some(redact::text(&format!("GET {url}: {}", error.message)));
                    }
                    None => {
                        result.error_kind = Some("status".into());
                        result.error = Some(redact::text(&format!(
                            "GET {url}: HTTP {} (expected {expect_status})",
                            hop.status.unwrap_or_default()
                        )));
                    }
                }
                result.context = Some(redact::context(
                    &format!("GET {url}"),
                    hop.status,
                    &hop.headers,
                    hop.body.as_deref().unwrap_or_default().as_bytes(),
                ));
            }
        }
        CheckKind::Tls { host } => {
            let Ok(url) = Url::parse(&format!("https://{host}/")) else {
                result.ok = false;
                result.error = Some(format!("`{host}` is not a host name"));
                return result;
            };
            let hop = net.fetch(&url).await;
            result.duration_ms = hop.timings.tls_ms.unwrap_or(hop.timings.total_ms);
            result.timings = serde_json::to_value(&hop.timings).unwrap_or_default();
            match &hop.tls {
                Some(tls) => {
                    result.cert_expires_at_ms = tls.chain.first().map(|c| c.not_after_unix * 1000);
                    if tls.verification != launchready_findings::facts::Verification::Valid {
                        result.ok = false;
                        result.error_kind = Some("tls".into());
                        result.error = Some(format!(
                            "certificate of {host} does not verify: {:?}",
                            tls.verification
                        ));
                    }
                }
                None => {
                    result.ok = false;
                    result.error_kind = Some(
                        hop.error
                            .as_ref()
                            .map_or("tls", |e| e.kind.as_str())
                            .to_string(),
                    );
                    result.error = Some(redact::text(&format!(
                        "no TLS session with {host}: {}",
                        hop.error.as_ref().map_or("", |e| e.message.as_str())
                    )));
                }
            }
        }
        CheckKind::Flow { file, .. } => {
            let Some(flow) = flows.get(&check.id) else {
                result.ok = false;
                result.error_kind = Some("file".into());
                result.error = Some(format!("journey {} was not loaded", file.display()));
                return result;
            };
            let mut engine = Engine::new(net, RunOptions::default());
            if let Some(store) = &context.mailbox {
                engine = engine.with_backend(
                    "mailbox",
                    Box::new(launchready_mailbox::MailboxBackend::sink(store.clone())),
                );
            }
            let mut vars = context.vars.clone();
            let mut outcome = engine.run(flow, &mut vars).await;
            outcome.redact();
            result.duration_ms = outcome.duration_ms as f64;
            let timings: Vec<_> = outcome
                .entries
                .iter()
                .flat_map(|e| e.exchanges.iter().map(|x| x.timings.clone()))
                .collect();
            result.timings = serde_json::to_value(&timings).unwrap_or_default();
            if let Some(entry) = outcome
                .entries
                .iter()
                .find(|e| e.status == launchready_flow::Status::Failed)
            {
                result.ok = false;
                result.step = redact::text(&format!(
                    "entry {} (line {}): {} {}",
                    entry.index, entry.line, entry.method, entry.url
                ));
                result.error_kind = Some(match entry.error_kind {
                    Some(kind) => kind.as_str().to_string(),
                    None if entry.transport_error => "network".into(),
                    None => "assert".into(),
                });
                result.error = entry
                    .first_failure()
                    .map(|f| redact::text(&format!("{}: {f}", result.step)));
                if let Some(exchange) = entry.exchanges.last() {
                    result.status = Some(exchange.status);
                    result.context = Some(redact::context(
                        &format!("{} {}", exchange.method, exchange.url),
                        Some(exchange.status),
                        &exchange.response_headers,
                        exchange.body_excerpt.as_bytes(),
                    ));
                }
            }
        }
    }
    result
}
