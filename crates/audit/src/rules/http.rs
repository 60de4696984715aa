//! Reachability rules: the landing page must answer 2xx, entry points must not fail or loop, and every
//! subdomain must answer like a working service.

use super::{host_of, https_unavailable, redirect_finding, resolvable};
use launchready_findings::facts::{ChainEnd, ChainFacts, ChainPurpose, Facts};
use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::Manifest;

const RFC9110_STATUS: &str = "https://www.rfc-editor.org/rfc/rfc9110#section-15";

/// The chain, and what ended it: the failed request's error, a redirect without a usable Location, or the
/// hop budget.
pub(crate) fn failure_evidence(chain: &ChainFacts) -> Vec<String> {
    let mut evidence = vec![chain.describe()];
    let last = chain.last();
    if let Some(error) = last.and_then(|h| h.error.as_ref()) {
        evidence.push(format!("{}: {}", error.kind.as_str(), error.message));
    }
    match chain.end {
        ChainEnd::BadRedirect => evidence.push(match last.and_then(|h| h.location.as_deref()) {
            Some(location) => {
                format!("the redirect's Location `{location}` is not a usable http(s) URL")
            }
            None => "the redirect has no Location header".to_string(),
        }),
        ChainEnd::TooManyHops => evidence.push(format!(
            "still redirecting after {} requests",
            chain.hops.len()
        )),
        _ => {}
    }
    evidence
}

pub(crate) fn judge(facts: &Facts, _manifest: &Manifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    for chain in &facts.chains {
        let Some(host) = host_of(&chain.start) else {
            continue;
        };
        if !resolvable(facts, &host) || chain.last().is_some_and(https_unavailable) {
            continue;
        }
        let is_landing = chain.start == facts.canonical_url;
        match (chain.purpose, chain.end) {
            (_, ChainEnd::Loop) => findings.push(
                redirect_finding(
                    chain,
                    "redirect.loop",
                    Severity::Blocker,
                    format!("{} redirects in a loop", chain.start),
                )
                .remediation("Make every redirect point forward to the canonical URL; browsers give up on a loop with ERR_TOO_MANY_REDIRECTS.")
                .reference("https://www.rfc-editor.org/rfc/rfc9110#section-15.4"),
            ),
            (ChainPurpose::EntryPoint, ChainEnd::Failed | ChainEnd::BadRedirect) => {
                findings.push(
                    Finding::new(
                        "http.unreachable",
                        Stage::QuickAudit,
                        Severity::Blocker,
                        &chain.start,
                        format!("{} cannot be loaded", chain.start),
                    )
                    .evidence_lines(failure_evidence(chain))
                    .remediation("Make sure the server (or CDN) for this host is up and answers on ports 80 and 443; visitors typing the domain land here.")
                    .reference(RFC9110_STATUS),
                );
            }
            (ChainPurpose::EntryPoint, ChainEnd::Final) if is_landing => {
                let status = chain.final_status().unwrap_or(0);
                if !(200..300).contains(&status) {
                    findings.push(
                        Finding::new(
                            "http.landing.status",
                            Stage::QuickAudit,
                            Severity::Blocker,
                            &chain.start,
                            format!("the landing page answers {status}, not 2xx"),
                        )
                        .evidence(chain.describe())
                        .remediation("Serve the landing page with 200 at the canonical URL; every paid visitor starts here.")
                        .reference(RFC9110_STATUS),
                    );
                }
            }
            (ChainPurpose::Subdomain, end) => {
                let status = chain.final_status();
                let broken = match end {
                    ChainEnd::Final => status.is_some_and(|s| s >= 500),
                    _ => true,
                };
                if broken {
                    findings.push(
                        Finding::new(
                            "subdomain.broken",
                            Stage::DnsRouting,
                            Severity::High,
                            &chain.start,
                            match status {
                                Some(status) if end == ChainEnd::Final => {
                                    format!("{host} answers {status}")
                                }
                                _ => format!("{host} does not answer"),
                            },
                        )
                        .evidence_lines(failure_evidence(chain))
                        .remediation(format!(
                            "Point {host} at a running service, or remove it from DNS and the manifest if it is not part of the launch."
                        ))
                        .reference(RFC9110_STATUS),
                    );
                }
            }
            _ => {}
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::*;
    use launchready_findings::facts::NetErrorKind;

    #[test]
    fn a_healthy_site_has_no_http_findings() {
        assert!(judge(&site(), &manifest()).is_empty());
    }

    #[test]
    fn landing_page_not_2xx_is_a_blocker() {
        let mut facts = site();
        answer_with(&mut facts, "https://www.demo.test/", 503);
        let findings = judge(&facts, &manifest());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, "http.landing.status");
        assert_eq!(findings[0].severity, Severity::Blocker);
        assert!(findings[0].title.contains("503"));
    }

    #[test]
    fn a_hanging_subdomain_is_broken_with_the_timeout_as_evidence() {
        let mut facts = site();
        fail_with(
            &mut facts,
            "https://api.demo.test/",
            NetErrorKind::Timeout,
            "sent no response within 1.0s",
        );
        let findings = judge(&facts, &manifest());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, "subdomain.broken");
        assert_eq!(findings[0].severity, Severity::High);
        assert!(
            findings[0].evidence.iter().any(|e| e.contains("timeout")),
            "{:?}",
            findings[0].evidence
        );
    }

    #[test]
    fn subdomain_5xx_is_broken_but_401_is_fine() {
        let mut facts = site();
        answer_with(&mut facts, "https://admin.demo.test/", 401);
        answer_with(&mut facts, "https://app.demo.test/", 502);
        let findings = judge(&facts, &manifest());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject, "https://app.demo.test/");
    }

    #[test]
    fn redirect_loops_are_blockers() {
        let mut facts = site();
        let a = "https://demo.test/";
        let b = "https://www.demo.test/x";
        set_chain(
            &mut facts,
            a,
            vec![hop(a, 301, Some(b)), hop(b, 302, Some(a))],
        );
        facts.chains.iter_mut().for_each(|c| {
            if c.start == a {
                c.end = ChainEnd::Loop;
            }
        });
        let findings = judge(&facts, &manifest());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, "redirect.loop");
    }

    #[test]
    fn unresolvable_hosts_are_left_to_the_dns_rules() {
        let mut facts = site();
        host_mut(&mut facts, "admin.demo.test").dns.outcome =
            launchready_findings::facts::DnsOutcome::NxDomain;
        fail_with(
            &mut facts,
            "https://admin.demo.test/",
            NetErrorKind::Dns,
            "NXDOMAIN",
        );
        assert!(judge(&facts, &manifest()).is_empty());
    }

    #[test]
    fn an_unreachable_entry_point_is_a_blocker() {
        let mut facts = site();
        fail_with(
            &mut facts,
            "http://demo.test/",
            NetErrorKind::Refused,
            "127.0.0.1:80 refused the connection",
        );
        let findings = judge(&facts, &manifest());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, "http.unreachable");
        assert!(findings[0].evidence[1].contains("refused"));
    }
}
