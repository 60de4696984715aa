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
    let mut findings = Vec::new();
    findings.extend(dns::judge(facts, manifest));
    findings.extend(http::judge(facts, manifest));
    findings.extend(routing::judge(facts, manifest));
    findings.extend(content::judge(facts));
    findings.extend(tls::judge(facts));
    findings.extend(headers::judge(facts, manifest));
    findings.extend(perf::judge(facts));
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

/// The host part of a URL string.
pub(crate) fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
    })
}

#[cfg(test)]
pub(crate) mod fixtures;
