//! What is checked, planned from the manifest, and how one check runs. The plan is pure: the landing page (the
//! canonical URL), every `[[route]]`, every `[[flow]]` journey, the certificate of every host, and DNS drift
//! against `[monitor] dns_snapshot` when one is saved. When the manifest lists no login, checkout or member route,
//! the roadmap's pages are checked at `/login`, `/checkout` and `/members` on the canonical host, so the four
//! pages are covered with no extra configuration.
//!
//! A journey's run also records each step (`flow:NAME#STEP`, named as `load` names steps: a `# step: NAME`
//! comment above the entry, else `METHOD /path` as written), so a slow login POST can be alerted on by itself.

use crate::redact;
use launchready_flow::{Engine, EntryResult, FlowFile, RunOptions, Variables};
use launchready_manifest::{Manifest, RouteKind};
use launchready_net::Net;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

/// The id of the landing-page check; other checks depend on it.
pub const LANDING: &str = "landing";
/// Between a journey's id and a step's name: `flow:login#POST /login`.
pub const STEP_SEPARATOR: char = '#';

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
    /// Live DNS compared with a saved snapshot: up while nothing drifted.
    Dns { domain: String, snapshot: PathBuf },
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
            CheckKind::Dns { domain, snapshot } => {
                format!("DNS of {domain} against {}", snapshot.display())
            }
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
            CheckKind::Tls { .. } | CheckKind::Dns { .. } => false,
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
    if let Some(path) = &manifest.monitor.dns_snapshot {
        let snapshot = match manifest.source.as_deref().and_then(std::path::Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.clone(),
        };
        let domain = manifest.apex().to_string();
        checks.push(Check {
            id: format!("dns:{domain}"),
            kind: CheckKind::Dns { domain, snapshot },
            critical: false,
            parents: Vec::new(),
        });
    }
    checks
}

/// One step of a journey, recorded as its own result after each run of the journey (it is never scheduled by
/// itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `flow:NAME#STEP`.
    pub id: String,
    /// `POST /login`, or the `# step:` name; a repeated name gets ` (2)`, ` (3)`, … in file order.
    pub name: String,
    /// The path as written in the file (`{{base_url}}/login?next=/` → `/login`).
    pub path: String,
    /// 1-based position in the file, as the flow engine numbers entries.
    pub entry: usize,
}

/// A step's check id.
pub fn step_id(journey: &str, step: &str) -> String {
    format!("{journey}{STEP_SEPARATOR}{step}")
}

/// The steps of journey `journey` (its check id), one per entry of the file.
pub fn steps(journey: &str, flow: &FlowFile) -> Vec<Step> {
    let names = launchready_load::plan::step_names(flow);
    let mut seen: HashMap<String, usize> = HashMap::new();
    names
        .into_iter()
        .zip(&flow.ast.entries)
        .enumerate()
        .map(|(i, (name, entry))| {
            let url = entry.request.url.to_string();
            let name = plainer_name(name, &entry.request.method.to_string(), &url);
            let count = seen.entry(name.clone()).or_default();
            *count += 1;
            let name = if *count == 1 {
                name
            } else {
                format!("{name} ({count})")
            };
            Step {
                id: step_id(journey, &name),
                name,
                path: template_path(&url),
                entry: i + 1,
            }
        })
        .collect()
}

/// `load` names a step by its path, which says nothing for a URL that is one variable (`GET {{confirm_link}}`)
/// or is not HTTP (`GET mailbox://{{email}}`): those are named as written (variable names, never values).
fn plainer_name(name: String, method: &str, url: &str) -> String {
    if name != format!("{method} {}", template_path(url)) {
        return name;
    }
    let written = url.split('?').next().unwrap_or(url);
    let one_variable =
        url.starts_with("{{") && url.ends_with("}}") && url.matches("{{").count() == 1;
    let other_scheme = url.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.contains("{{")
            && !scheme.eq_ignore_ascii_case("http")
            && !scheme.eq_ignore_ascii_case("https")
    });
    if one_variable || other_scheme {
        format!("{method} {written}")
    } else {
        name
    }
}

/// The path of a URL as written, templates and all (`{{base_url}}/login?next=/` → `/login`).
fn template_path(url: &str) -> String {
    let rest = if let Some((_, after)) = url.split_once("://") {
        after.find('/').map_or("/", |i| &after[i..])
    } else if url.starts_with("{{")
        && let Some(end) = url.find("}}")
    {
        &url[end + 2..]
    } else {
        url
    };
    match rest.split(['?', '#']).next() {
        Some(path) if !path.is_empty() => path.to_string(),
        _ => "/".to_string(),
    }
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
    /// A passing result of `check` at `at_ms` with nothing measured yet: no status, duration, timings or error.
    pub fn new(check: &str, at_ms: i64) -> CheckResult {
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

/// What a journey needs besides the network: its variables and the SMTP sink's mail, when configured.
/// [`JourneyContext`] is the same with an IMAP inbox as a second mail source.
#[derive(Debug, Clone, Default)]
pub struct FlowContext {
    pub vars: Variables,
    pub mailbox: Option<std::sync::Arc<launchready_mailbox::Store>>,
}

/// Where a journey's `mailbox://` steps read mail: the in-process SMTP sink or a test inbox over IMAP.
#[derive(Debug, Clone)]
pub enum JourneyMailbox {
    Sink(Arc<launchready_mailbox::Store>),
    /// Each run logs in afresh, so only mail that arrives during the run counts.
    Imap(launchready_mailbox::ImapConfig),
}

impl JourneyMailbox {
    /// The source a started `[mailbox]` stands for (keep the `MailboxRun` alive: it owns the sink).
    pub fn from_run(run: &launchready_mailbox::MailboxRun) -> JourneyMailbox {
        match run {
            launchready_mailbox::MailboxRun::Sink(sink) => JourneyMailbox::Sink(sink.store()),
            launchready_mailbox::MailboxRun::Imap(config) => JourneyMailbox::Imap(config.clone()),
        }
    }

    async fn backend(
        &self,
    ) -> Result<launchready_mailbox::MailboxBackend, launchready_mailbox::MailboxError> {
        match self {
            JourneyMailbox::Sink(store) => {
                Ok(launchready_mailbox::MailboxBackend::sink(store.clone()))
            }
            JourneyMailbox::Imap(config) => {
                launchready_mailbox::MailboxBackend::imap(config.clone()).await
            }
        }
    }
}

/// What a journey needs besides the network: its variables and where its mail is read.
#[derive(Debug, Clone, Default)]
pub struct JourneyContext {
    pub vars: Variables,
    pub mailbox: Option<JourneyMailbox>,
}

impl From<&FlowContext> for JourneyContext {
    fn from(context: &FlowContext) -> JourneyContext {
        JourneyContext {
            vars: context.vars.clone(),
            mailbox: context.mailbox.clone().map(JourneyMailbox::Sink),
        }
    }
}

/// Runs one check now and returns its result (for a journey, without the per-step results: see
/// [`run_with_steps`]). Never fails: a check that cannot run is a down result with its reason.
pub async fn run(
    check: &Check,
    net: &Net,
    flows: &HashMap<String, FlowFile>,
    context: &FlowContext,
    at_ms: i64,
) -> CheckResult {
    let mut results =
        run_with_steps(check, net, flows, &JourneyContext::from(context), at_ms).await;
    if results.is_empty() {
        CheckResult::new(&check.id, at_ms)
    } else {
        results.swap_remove(0)
    }
}

/// Runs one check now: its result first, then, for a journey, one result per step that ran (`flow:NAME#STEP`,
/// with `step` set to the step's name, its status, duration and timings; a failed step has its error and
/// context). Steps after a failure did not run and have no result. Never fails.
pub async fn run_with_steps(
    check: &Check,
    net: &Net,
    flows: &HashMap<String, FlowFile>,
    context: &JourneyContext,
    at_ms: i64,
) -> Vec<CheckResult> {
    let mut result = CheckResult::new(&check.id, at_ms);
    match &check.kind {
        CheckKind::Dns { snapshot, .. } => {
            return vec![crate::drift::run(&check.id, net, snapshot, at_ms).await];
        }
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
                return vec![result];
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
                return vec![result];
            };
            let mut engine = Engine::new(net, RunOptions::default());
            if let Some(mailbox) = &context.mailbox {
                match mailbox.backend().await {
                    Ok(backend) => engine = engine.with_backend("mailbox", Box::new(backend)),
                    Err(error) => {
                        result.ok = false;
                        result.step = "mailbox".into();
                        result.error_kind = Some("mailbox".into());
                        result.error = Some(redact::text(&format!(
                            "the journey's mailbox cannot be read: {error}"
                        )));
                        return vec![result];
                    }
                }
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
                fail_with(&mut result, entry);
            }
            let mut all = vec![result];
            let steps = steps(&check.id, flow);
            for entry in &outcome.entries {
                if entry.status == launchready_flow::Status::Skipped {
                    continue;
                }
                let Some(step) = steps.get(entry.index.wrapping_sub(1)) else {
                    continue;
                };
                let mut one = CheckResult::new(&step.id, at_ms);
                one.step = step.name.clone();
                one.duration_ms = entry.duration_ms as f64;
                one.status = entry.exchanges.last().map(|x| x.status);
                let timings: Vec<_> = entry.exchanges.iter().map(|x| &x.timings).collect();
                one.timings = serde_json::to_value(&timings).unwrap_or_default();
                if entry.status == launchready_flow::Status::Failed {
                    one.ok = false;
                    fail_with(&mut one, entry);
                }
                all.push(one);
            }
            return all;
        }
    }
    vec![result]
}

/// A failed entry's error kind, first failure and redacted context, on `result` (whose `step` is already set).
fn fail_with(result: &mut CheckResult, entry: &EntryResult) {
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
