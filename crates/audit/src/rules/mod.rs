//! Rules: pure functions from the facts snapshot (and the manifest's intent) to findings. Nothing here touches
//! the network or the disk, so every rule is unit-tested with hand-built facts.

mod content;
mod data;
mod dns;
mod edge;
pub(crate) mod email;
mod headers;
mod http;
mod perf;
mod providers;
mod routing;
mod tls;

use launchready_findings::Finding;
use launchready_findings::facts::{DnsOutcome, Facts};
use launchready_manifest::Manifest;

/// Every rule, in roadmap order.
pub fn judge(facts: &Facts, manifest: &Manifest) -> Vec<Finding> {
    // A name that does not exist has one problem; its subdomains, mail and pages would only echo it.
    if let Some(missing) = dns::domain_missing(facts) {
        return vec![missing];
    }
    let mut findings = Vec::new();
    findings.extend(dns::judge(facts, manifest));
    findings.extend(http::judge(facts, manifest));
    findings.extend(routing::judge(facts, manifest));
    findings.extend(content::judge(facts));
    findings.extend(tls::judge(facts));
    findings.extend(headers::judge(facts, manifest));
    findings.extend(perf::judge(facts, manifest.audit.landing_budget));
    findings.extend(edge::judge(facts, manifest));
    findings.extend(email::judge(facts, manifest));
    findings
}

/// Whether DNS said the host exists. HTTP and TLS findings about a host DNS could not resolve would only repeat
/// the DNS finding (and with `--connect-to` they would describe the override's target, not the site).
pub(crate) fn resolvable(facts: &Facts, host: &str) -> bool {
    facts
        .hosts
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(host))
        .is_none_or(|h| h.dns.outcome == DnsOutcome::Resolved)
}

/// A request to an https URL that could not even complete a TLS connection (refused on 443, or the handshake
/// failed): the TLS rules report the host as `tls.no_https`, so other rules leave such chains alone.
pub(crate) fn https_unavailable(hop: &launchready_findings::facts::HopFacts) -> bool {
    use launchready_findings::facts::NetErrorKind;
    hop.url.starts_with("https://")
        && hop.error.as_ref().is_some_and(|e| {
            hop.status.is_none() && matches!(e.kind, NetErrorKind::Tls | NetErrorKind::Refused)
        })
}

/// A routing finding about where a redirect chain goes: its subject is where the chain starts, its first
/// evidence line the chain as it was followed.
pub(crate) fn redirect_finding(
    chain: &launchready_findings::facts::ChainFacts,
    id: &str,
    severity: launchready_findings::Severity,
    title: impl Into<String>,
) -> Finding {
    Finding::new(
        id,
        launchready_findings::Stage::DnsRouting,
        severity,
        &chain.start,
        title,
    )
    .evidence(chain.describe())
}

/// How much a host's protection matters, which sets the severity of the per-host checks (HSTS, the http →
/// https upgrade, framing, cookies): docs/checks.md, "Severity by host role".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exposure {
    /// A subdomain that only serves public pages (docs., blog., status.).
    Ordinary,
    /// A subdomain that carries sign-ins, sessions or payments: a sensitive label (app., members., admin.,
    /// api., …), a login/signup/checkout/member route in the manifest, or a response that sets a cookie.
    Sensitive,
    /// The apex or www: the landing page every visitor and campaign link reaches.
    Key,
}

/// Labels that conventionally name a host where members sign in or their data flows.
const SENSITIVE_LABELS: &[&str] = &[
    "app",
    "members",
    "member",
    "admin",
    "api",
    "account",
    "accounts",
    "auth",
    "login",
    "sso",
    "dashboard",
    "portal",
    "my",
    "billing",
    "checkout",
    "pay",
    "secure",
    "id",
];

pub(crate) fn exposure(facts: &Facts, manifest: &Manifest, host: &str) -> Exposure {
    use launchready_findings::facts::HostRole;
    use launchready_manifest::RouteKind;
    let role = facts
        .hosts
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(host))
        .map(|h| h.role);
    if matches!(role, Some(HostRole::Apex | HostRole::Www)) {
        return Exposure::Key;
    }
    let label = host
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let sensitive_route = manifest.routes.iter().any(|r| {
        r.host.eq_ignore_ascii_case(host)
            && matches!(
                r.kind,
                RouteKind::Login | RouteKind::Signup | RouteKind::Checkout | RouteKind::Member
            )
    });
    let sets_cookie = facts
        .chains
        .iter()
        .flat_map(|c| c.hops.iter())
        .filter(|hop| host_of(&hop.url).is_some_and(|h| h.eq_ignore_ascii_case(host)))
        .any(|hop| hop.header("set-cookie").is_some());
    if SENSITIVE_LABELS.contains(&label.as_str()) || sensitive_route || sets_cookie {
        Exposure::Sensitive
    } else {
        Exposure::Ordinary
    }
}

/// The host part of a URL string.
pub(crate) fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
    })
}

#[cfg(test)]
pub(crate) mod fixtures;
