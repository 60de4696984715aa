//! The judging half: pure functions from [`SmokeFacts`] to findings. Every check that passes is reported too, as
//! an info finding with its figures, so a green run still shows what was checked and how fast it answered.

use crate::evidence::{exchange_lines, probe_lines};
use crate::facts::{
    FlowFacts, HomepageFacts, Probe, RouteFacts, SmokeFacts, VersionFacts, WebhookFacts,
};
use launchready_findings::{Finding, Severity, Stage};

const REF_STATUS: &str = "https://www.rfc-editor.org/rfc/rfc9110#section-15";
const REF_WEBHOOK: &str = "https://docs.stripe.com/webhooks#verify-events";
const REF_SPEED: &str = "https://web.dev/articles/ttfb";
const REF_FLOW: &str = "https://hurl.dev/docs/asserting-response.html";
const REF_RELEASE: &str = "https://12factor.net/build-release-run";

/// Every finding a smoke run's facts call for, passes included (as info).
pub fn judge(facts: &SmokeFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(version) = &facts.version {
        findings.extend(version_finding(version));
    }
    if let Some(homepage) = &facts.homepage {
        findings.push(homepage_finding(homepage));
    }
    findings.extend(facts.routes.iter().map(route_finding));
    findings.extend(facts.webhooks.iter().map(webhook_finding));
    findings.extend(facts.flows.iter().map(flow_finding));
    findings
}

fn finding(id: &str, severity: Severity, subject: &str, title: String) -> Finding {
    Finding::new(id, Stage::Deployment, severity, subject, title)
}

fn with_lines(mut finding: Finding, lines: Vec<String>) -> Finding {
    finding.evidence.extend(lines);
    finding
}

fn version_finding(version: &VersionFacts) -> Option<Finding> {
    let served = version.served.as_deref().unwrap_or("nothing readable");
    let status = version.last.final_status();
    match &version.wanted {
        Some(wanted) if version.matched => Some(
            finding(
                "smoke.version.passed",
                Severity::Info,
                &version.url,
                format!("version {wanted} is live"),
            )
            .evidence(format!(
                "served after {} poll(s) in {:.1} s",
                version.polls,
                version.waited_ms as f64 / 1000.0
            )),
        ),
        Some(wanted) => {
            let mut f = finding(
                "smoke.version.not_live",
                Severity::Blocker,
                &version.url,
                format!(
                    "version {wanted} did not go live within {:.0} s; the other checks were skipped",
                    version.timeout_ms as f64 / 1000.0
                ),
            )
            .evidence(format!(
                "{} poll(s) over {:.1} s; last served: {served}",
                version.polls,
                version.waited_ms as f64 / 1000.0
            ))
            .remediation("Check that the deploy finished and that traffic reaches the new release (load balancer, CDN cache of the version endpoint); roll back if it is stuck.")
            .reference(REF_RELEASE);
            f.evidence.extend(probe_lines(&version.last));
            Some(f)
        }
        None if status.is_some_and(|s| (200..300).contains(&s)) => Some(
            finding(
                "smoke.version.passed",
                Severity::Info,
                &version.url,
                format!("the version endpoint serves {served}"),
            ),
        ),
        None => Some(with_lines(
            finding(
                "smoke.version.unreachable",
                Severity::Medium,
                &version.url,
                match status {
                    Some(status) => format!("the version endpoint answers {status}"),
                    None => "the version endpoint does not answer".to_string(),
                },
            )
            .remediation("Serve the deployed version (a git SHA or release number) at the version URL, so a deploy can be confirmed live before it is tested.")
            .reference(REF_RELEASE),
            probe_lines(&version.last),
        )),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn homepage_finding(homepage: &HomepageFacts) -> Finding {
    let broken = homepage
        .samples
        .iter()
        .find(|s| !s.final_status().is_some_and(|st| (200..300).contains(&st)));
    if let Some(sample) = broken {
        let title = match sample.final_status() {
            Some(status) => format!("the homepage answers {status}"),
            None => "the homepage does not load".to_string(),
        };
        return with_lines(
            finding(
                "smoke.homepage.down",
                Severity::Blocker,
                &homepage.url,
                title,
            )
            .remediation(
                "Every visitor lands here first: roll back or fix the deploy before anything else.",
            )
            .reference(REF_STATUS),
            probe_lines(sample),
        );
    }
    let times: Vec<f64> = homepage.samples.iter().map(Probe::total_ms).collect();
    let median_ms = median(times.clone());
    let listed = times
        .iter()
        .map(|t| format!("{t:.0} ms"))
        .collect::<Vec<_>>()
        .join(", ");
    let figures = format!(
        "loads: {listed}; median {median_ms:.0} ms against a budget of {} ms",
        homepage.budget_ms
    );
    if median_ms > homepage.budget_ms as f64 {
        let mut f = finding(
            "smoke.homepage.slow",
            Severity::High,
            &homepage.url,
            format!(
                "the homepage takes {median_ms:.0} ms, over its {} ms budget",
                homepage.budget_ms
            ),
        )
        .evidence(figures)
        .remediation("Find what the new deploy made slower (a query, a cold cache, a missing CDN rule) and fix or roll back; raise `homepage_budget` in [smoke] only if the budget was wrong.")
        .reference(REF_SPEED);
        if let Some(last) = homepage.samples.last().and_then(Probe::last) {
            f.evidence.extend(exchange_lines(last));
        }
        return f;
    }
    finding(
        "smoke.homepage.passed",
        Severity::Info,
        &homepage.url,
        format!("the homepage loads in {median_ms:.0} ms"),
    )
    .evidence(figures)
}

/// The path of a URL, without query, for comparing where a redirect went.
fn path_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.path().to_string())
}

/// Whether `probe` was sent to a login page: one of the manifest's login routes, or a path that says so.
fn redirected_to_login(probe: &Probe, login_urls: &[String]) -> bool {
    let login_paths: Vec<String> = login_urls.iter().filter_map(|u| path_of(u)).collect();
    probe.exchanges.iter().filter(|e| e.is_redirect()).any(|e| {
        let Some(target) = e
            .header("location")
            .and_then(|l| url::Url::parse(&e.url).ok()?.join(l).ok())
        else {
            return false;
        };
        let path = target.path().to_ascii_lowercase();
        login_paths.iter().any(|p| p.eq_ignore_ascii_case(&path))
            || ["login", "log-in", "signin", "sign-in", "sign_in"]
                .iter()
                .any(|word| path.contains(word))
    })
}

/// Pages an anonymous visitor may be sent to log in from: the member area, and a checkout that needs an account.
fn behind_login(kind: &str) -> bool {
    matches!(kind, "member" | "checkout")
}

fn route_finding(route: &RouteFacts) -> Finding {
    let severity = if route.critical {
        Severity::Blocker
    } else {
        Severity::High
    };
    let status = route.probe.final_status();
    let to_login =
        behind_login(&route.kind) && redirected_to_login(&route.probe, &route.login_urls);
    if to_login || status == Some(route.expect_status) {
        let how = if to_login {
            "sends anonymous visitors to log in".to_string()
        } else {
            format!("answers {}", route.expect_status)
        };
        return finding(
            "smoke.route.passed",
            Severity::Info,
            &route.url,
            format!("the {} route ({}) {how}", route.name, route.kind),
        )
        .evidence(format!("{:.0} ms", route.probe.total_ms()));
    }
    let expected = if behind_login(&route.kind) {
        format!("{} or a redirect to the login page", route.expect_status)
    } else {
        route.expect_status.to_string()
    };
    let (id, title) = match status {
        None => (
            "smoke.route.unreachable",
            format!("the {} route ({}) does not load", route.name, route.kind),
        ),
        Some(s) if s >= 500 => (
            "smoke.route.server_error",
            format!(
                "the {} route ({}) fails with {s}, expected {expected}",
                route.name, route.kind
            ),
        ),
        Some(s) => (
            "smoke.route.unexpected_status",
            format!(
                "the {} route ({}) answers {s}, expected {expected}",
                route.name, route.kind
            ),
        ),
    };
    with_lines(
        finding(id, severity, &route.url, title)
            .remediation(format!(
                "The {} page broke in this deploy: check the application's logs for the request shown, then fix or roll back.",
                route.kind
            ))
            .reference(REF_STATUS),
        probe_lines(&route.probe),
    )
}

fn webhook_finding(webhook: &WebhookFacts) -> Finding {
    let subject = &webhook.url;
    let lines = probe_lines(&webhook.probe);
    let sent = "sent: a POST with a JSON payment event and no signature header";
    let (id, severity, title, fix) = match webhook.probe.final_status() {
        None => (
            "smoke.webhook.unreachable",
            Severity::Blocker,
            "the payment webhook does not answer".to_string(),
            "Payment confirmations will be lost: make the webhook endpoint reachable from the internet.",
        ),
        Some(s) if (200..300).contains(&s) => (
            "smoke.webhook.accepts_unsigned",
            Severity::Blocker,
            format!("the payment webhook accepts an unsigned payload ({s})"),
            "Anyone can forge a payment: verify the provider's signature (HMAC of the raw body with the endpoint secret) and answer 400 or 401 when it is missing or wrong.",
        ),
        Some(s) if (300..400).contains(&s) => (
            "smoke.webhook.redirects",
            Severity::High,
            format!("the payment webhook redirects ({s})"),
            "Payment providers do not follow redirects: register the final URL with the provider, or serve the webhook without a redirect.",
        ),
        Some(s @ (404 | 405 | 410)) => (
            "smoke.webhook.missing",
            Severity::Blocker,
            format!("the payment webhook is not deployed ({s} to a POST)"),
            "Deploy the webhook handler at this URL (or fix `webhook` in [smoke]); until then payments are not confirmed.",
        ),
        Some(s) if s >= 500 => (
            "smoke.webhook.server_error",
            Severity::High,
            format!("the payment webhook fails with {s} on an unsigned payload"),
            "Check the signature before parsing the event and answer 400 or 401 when it is missing; a crash here may also crash on real deliveries.",
        ),
        Some(s) => {
            return finding(
                "smoke.webhook.passed",
                Severity::Info,
                subject,
                format!("the payment webhook refuses an unsigned payload ({s})"),
            )
            .evidence(sent)
            .evidence(format!("{:.0} ms", webhook.probe.total_ms()));
        }
    };
    let mut f = finding(id, severity, subject, title)
        .evidence(format!("from {}", webhook.source))
        .evidence(sent)
        .remediation(fix)
        .reference(REF_WEBHOOK);
    f.evidence.extend(lines);
    f
}

fn flow_finding(flow: &FlowFacts) -> Finding {
    if flow.passed {
        return finding(
            "smoke.flow.passed",
            Severity::Info,
            &flow.file,
            format!("the {} journey passes", flow.name),
        )
        .evidence(format!("{} steps in {} ms", flow.steps, flow.duration_ms));
    }
    let id = if flow.could_not_run {
        "smoke.flow.could_not_run"
    } else {
        "smoke.flow.failed"
    };
    let title = match &flow.failed_step {
        Some(step) => format!(
            "the {} journey fails at step {} ({} {})",
            flow.name, step.index, step.method, step.url
        ),
        None => format!("the {} journey fails", flow.name),
    };
    let mut f = finding(id, Severity::Blocker, &flow.file, title)
        .remediation("Members cannot complete this journey on the new deploy: fix the step shown or roll back.")
        .reference(REF_FLOW);
    if let Some(step) = &flow.failed_step {
        f.evidence
            .push(format!("{}:{}: {}", flow.file, step.line, step.message));
        if let Some(exchange) = &step.exchange {
            f.evidence.extend(exchange_lines(exchange));
        }
    }
    f
}

/// Keys a version endpoint's JSON most often names its version with, in order of preference.
const VERSION_KEYS: [&str; 8] = [
    "version", "release", "commit", "git_sha", "sha", "revision", "build", "tag",
];

/// What a version endpoint says it serves, as far as it can be read: a JSON document's version field, else the
/// first line of the text.
pub(crate) fn served_version(body: &str) -> Option<String> {
    let text = body.trim();
    if text.is_empty() {
        return None;
    }
    let cut = |s: &str| s.chars().take(120).collect::<String>();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        let named = VERSION_KEYS.iter().find_map(|key| match json.get(key) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
        return Some(cut(&named.unwrap_or_else(|| json.to_string())));
    }
    text.lines().next().map(cut)
}

/// Whether a version endpoint's body says it serves `wanted`: the whole body, a JSON value anywhere in the
/// document, or one word of the text. A short git SHA (7+ hex digits) also matches the full SHA it starts.
pub fn version_matches(body: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return false;
    }
    let is_sha = wanted.len() >= 7 && wanted.chars().all(|c| c.is_ascii_hexdigit());
    let same = |candidate: &str| {
        candidate == wanted
            || (is_sha
                && candidate.len() > wanted.len()
                && candidate.chars().all(|c| c.is_ascii_hexdigit())
                && candidate
                    .get(..wanted.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(wanted)))
    };
    let text = body.trim();
    if same(text) {
        return true;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        return json_has(&json, &same, 0);
    }
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '<' | '>' | '=' | '(' | ')')
    })
    .map(|word| word.trim_end_matches(['.', ':']))
    .any(same)
}

fn json_has(value: &serde_json::Value, same: &dyn Fn(&str) -> bool, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    match value {
        serde_json::Value::String(s) => same(s),
        serde_json::Value::Number(n) => same(&n.to_string()),
        serde_json::Value::Array(items) => items.iter().any(|v| json_has(v, same, depth + 1)),
        serde_json::Value::Object(map) => map.values().any(|v| json_has(v, same, depth + 1)),
        _ => false,
    }
}
