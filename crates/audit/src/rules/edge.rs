//! Edge rules: which CDN (if any) answers for the apex and www, and whether the origin behind it can be reached
//! directly or only speaks plain http.

use super::data::{EDGE_SIGNATURES, in_cloudflare};
use super::resolvable;
use launchready_findings::facts::{ChainPurpose, Facts, HopFacts, HostRole};
use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::Manifest;

/// The CDN a response and the host's addresses point to, and why.
fn provider(hop: &HopFacts, addresses: &[std::net::IpAddr]) -> Option<(&'static str, String)> {
    for (name, header, fragment) in EDGE_SIGNATURES {
        if let Some(value) = hop.header(header)
            && (fragment.is_empty() || value.to_ascii_lowercase().contains(fragment))
        {
            return Some((name, format!("{header}: {value}")));
        }
    }
    addresses.iter().find(|ip| in_cloudflare(ip)).map(|ip| {
        (
            "Cloudflare",
            format!("{ip} is in Cloudflare's published ranges"),
        )
    })
}

pub(crate) fn judge(facts: &Facts, manifest: &Manifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut direct = Vec::new();
    for host in facts
        .hosts
        .iter()
        .filter(|h| matches!(h.role, HostRole::Apex | HostRole::Www))
    {
        if !resolvable(facts, &host.name) {
            continue;
        }
        let start = format!("https://{}/", host.name);
        let Some(hop) = facts
            .chains
            .iter()
            .find(|c| c.start == start && c.purpose == ChainPurpose::EntryPoint)
            .and_then(|c| c.hops.first())
            .filter(|h| h.status.is_some())
        else {
            continue;
        };
        match provider(hop, &host.dns.addresses) {
            Some((name, why)) => findings.push(
                Finding::new("edge.provider", Stage::EdgeCaching, Severity::Info, &host.name, format!("{} is served through {name}", host.name))
                    .evidence(why)
                    .remediation("Nothing to fix: this records which edge network answers, for the handover notes.")
                    .reference("https://developer.mozilla.org/en-US/docs/Glossary/CDN"),
            ),
            None => direct.push(host.name.clone()),
        }
    }
    if !direct.is_empty() {
        let severity = if manifest.edge.required {
            Severity::High
        } else {
            Severity::Medium
        };
        findings.push(
            Finding::new(
                "edge.not_proxied",
                Stage::EdgeCaching,
                severity,
                &facts.domain,
                format!("{} {} served without a CDN or proxy in front", direct.join(" and "), if direct.len() > 1 { "are" } else { "is" }),
            )
            .evidence("no CDN response headers (cf-ray, x-amz-cf-id, x-served-by, x-vercel-id, x-nf-request-id, akamai-grn) and no address in a known CDN range")
            .remediation("Put the site behind a CDN (e.g. Cloudflare, proxied) so launch-day traffic, bots and attacks hit the edge, not your server.")
            .reference("https://developers.cloudflare.com/fundamentals/concepts/how-cloudflare-works/"),
        );
    }
    for burst in facts.rate_limit.iter().filter(|b| !b.limited) {
        let answered = burst.statuses.iter().filter(|s| **s != 0).count();
        let mut counts: Vec<(u16, usize)> = Vec::new();
        for status in &burst.statuses {
            match counts.iter_mut().find(|(s, _)| s == status) {
                Some(entry) => entry.1 += 1,
                None => counts.push((*status, 1)),
            }
        }
        let tally = counts
            .iter()
            .map(|(s, n)| {
                if *s == 0 {
                    format!("{n} × failed")
                } else {
                    format!("{n} × {s}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        findings.push(
            Finding::new("edge.no_rate_limit", Stage::EdgeCaching, Severity::Medium, &burst.url, format!("{} accepted a burst of {} requests without any limit", burst.url, burst.statuses.len()))
                .evidence(format!("{} requests in {} ms: {tally} ({answered} answered); no 429, challenge or Retry-After", burst.statuses.len(), burst.window_ms))
                .remediation("Add a rate limit (CDN rule or app middleware) to login, signup and checkout, so credential stuffing and card testing hit a wall.")
                .reference("https://owasp.org/www-community/controls/Blocking_Brute_Force_Attacks"),
        );
    }
    if let Some(origin) = &facts.origin {
        let host = manifest.canonical_host();
        if origin.https.status.is_some() {
            findings.push(
                Finding::new("edge.origin_exposed", Stage::EdgeCaching, Severity::High, &origin.address, format!("the origin {} answers for {host} directly", origin.address))
                    .evidence(format!("https://{host}/ sent to {} → {}", origin.address, origin.https.status.unwrap_or_default()))
                    .remediation("Let the origin accept connections only from the edge (firewall to the CDN's ranges, or an authenticated tunnel); otherwise attackers skip the CDN's protection.")
                    .reference("https://developers.cloudflare.com/fundamentals/concepts/cloudflare-ip-addresses/"),
            );
        }
        let http_content = origin.http.status.is_some_and(|s| (200..300).contains(&s));
        let edge_https = facts.chains.iter().any(|c| {
            c.start == facts.canonical_url
                && c.final_status().is_some_and(|s| (200..300).contains(&s))
        });
        if http_content && origin.https.status.is_none() && edge_https {
            let why = origin
                .https
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.kind.as_str(), e.message))
                .unwrap_or_default();
            findings.push(
                Finding::new("edge.flexible_ssl", Stage::EdgeCaching, Severity::High, &origin.address, format!("the edge serves https, but the origin {} only speaks plain http", origin.address))
                    .evidence(format!("http://{host}/ at the origin → {}", origin.http.status.unwrap_or_default()))
                    .evidence(format!("https://{host}/ at the origin → {why}"))
                    .remediation("Install a certificate on the origin (a free origin certificate works) and set the CDN to Full (strict); traffic between edge and origin is unencrypted today.")
                    .reference("https://developers.cloudflare.com/ssl/origin-configuration/ssl-modes/flexible/"),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{hop, ids, manifest, set_chain, site};
    use launchready_findings::facts::{NetError, NetErrorKind, OriginFacts};

    fn behind_cloudflare() -> Facts {
        let mut facts = site();
        for start in ["https://demo.test/", "https://www.demo.test/"] {
            let mut first = facts
                .chains
                .iter()
                .find(|c| c.start == start)
                .unwrap()
                .hops
                .clone();
            first[0].headers = vec![
                ("server".to_string(), "cloudflare".to_string()),
                ("cf-ray".to_string(), "8a1b-AMS".to_string()),
            ];
            set_chain(&mut facts, start, first);
        }
        facts
    }

    #[test]
    fn cloudflare_is_detected_by_headers_and_by_address() {
        let findings = judge(&behind_cloudflare(), &manifest());
        assert_eq!(
            ids(&findings),
            [
                ("edge.provider", "demo.test", Severity::Info),
                ("edge.provider", "www.demo.test", Severity::Info)
            ]
        );
        let mut facts = site();
        for host in facts.hosts.iter_mut() {
            host.dns.addresses = vec!["104.21.3.4".parse().unwrap()];
        }
        let findings = judge(&facts, &manifest());
        assert!(
            findings.iter().all(|f| f.id == "edge.provider"),
            "{findings:?}"
        );
        assert!(findings[0].evidence[0].contains("Cloudflare's published ranges"));
    }

    #[test]
    fn a_site_without_an_edge_is_not_proxied_and_high_when_required() {
        let findings = judge(&site(), &manifest());
        assert_eq!(
            ids(&findings),
            [("edge.not_proxied", "demo.test", Severity::Medium)]
        );
        let mut required = manifest();
        required.edge.required = true;
        assert_eq!(
            ids(&judge(&site(), &required)),
            [("edge.not_proxied", "demo.test", Severity::High)]
        );
    }

    #[test]
    fn an_origin_that_answers_directly_or_only_over_http() {
        let mut facts = behind_cloudflare();
        let failed = |url: &str| {
            let mut h = hop(url, 0, None);
            h.status = None;
            h.tls = None;
            h.error = Some(NetError {
                kind: NetErrorKind::Refused,
                message: "203.0.113.7:443 refused the connection".to_string(),
            });
            h
        };
        facts.origin = Some(OriginFacts {
            address: "203.0.113.7".to_string(),
            https: hop("https://www.demo.test/", 200, None),
            http: hop("http://www.demo.test/", 301, Some("https://www.demo.test/")),
        });
        assert!(ids(&judge(&facts, &manifest())).contains(&(
            "edge.origin_exposed",
            "203.0.113.7",
            Severity::High
        )));
        facts.origin = Some(OriginFacts {
            address: "203.0.113.7".to_string(),
            https: failed("https://www.demo.test/"),
            http: hop("http://www.demo.test/", 200, None),
        });
        let found = judge(&facts, &manifest());
        assert!(
            ids(&found).contains(&("edge.flexible_ssl", "203.0.113.7", Severity::High)),
            "{found:?}"
        );
        assert!(!ids(&found).iter().any(|f| f.0 == "edge.origin_exposed"));
    }
}
