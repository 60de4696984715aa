//! DNS rules: every configured host must resolve.

use launchready_findings::facts::{DnsOutcome, Facts, HostRole};
use launchready_findings::{Finding, Severity, Stage};

const RFC1034: &str = "https://www.rfc-editor.org/rfc/rfc1034";

pub(crate) fn judge(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for host in &facts.hosts {
        let severity = match host.role {
            HostRole::Apex | HostRole::Www => Severity::Blocker,
            HostRole::Subdomain => Severity::High,
        };
        let answer = match &host.dns.outcome {
            DnsOutcome::Resolved => continue,
            DnsOutcome::NxDomain => Some("NXDOMAIN: the name does not exist"),
            DnsOutcome::NoData => Some("NODATA: the name exists but has no A or AAAA record"),
            _ => None,
        };
        let resolvers = if facts.resolvers.is_empty() {
            "the system resolver".to_string()
        } else {
            facts.resolvers.join(", ")
        };
        let finding = match answer {
            Some(answer) => Finding::new(
                "dns.host.missing",
                Stage::DnsRouting,
                severity,
                &host.name,
                format!("{} does not resolve to any address", host.name),
            )
            .evidence(format!("{answer} (asked {resolvers})"))
            .remediation(format!(
                "Add an A/AAAA or CNAME record for {} at your DNS provider, pointing at the server or platform that serves it.",
                host.name
            )),
            None => {
                let detail = match &host.dns.outcome {
                    DnsOutcome::ServFail => "SERVFAIL: the nameserver failed to answer".to_string(),
                    DnsOutcome::Timeout => "no answer before the timeout".to_string(),
                    DnsOutcome::Error(message) => message.clone(),
                    _ => "lookup failed".to_string(),
                };
                Finding::new(
                    "dns.host.error",
                    Stage::DnsRouting,
                    Severity::High,
                    &host.name,
                    format!("looking up {} failed", host.name),
                )
                .evidence(format!("{detail} (asked {resolvers})"))
                .remediation(
                    "Check that the domain's nameservers are up and authoritative for the zone (dig +trace); a broken delegation makes the site vanish for some visitors.",
                )
            }
        };
        findings.push(finding.reference(RFC1034));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::*;

    #[test]
    fn missing_apex_is_a_blocker_and_missing_subdomain_is_high() {
        let mut facts = site();
        host_mut(&mut facts, "demo.test").dns.outcome = DnsOutcome::NxDomain;
        host_mut(&mut facts, "admin.demo.test").dns.outcome = DnsOutcome::NoData;
        let findings = judge(&facts);
        let missing: Vec<_> = findings
            .iter()
            .filter(|f| f.id == "dns.host.missing")
            .map(|f| (f.subject.as_str(), f.severity))
            .collect();
        assert_eq!(
            missing,
            [
                ("demo.test", Severity::Blocker),
                ("admin.demo.test", Severity::High)
            ]
        );
    }

    #[test]
    fn servfail_and_timeouts_are_lookup_errors() {
        let mut facts = site();
        host_mut(&mut facts, "api.demo.test").dns.outcome = DnsOutcome::ServFail;
        host_mut(&mut facts, "app.demo.test").dns.outcome = DnsOutcome::Timeout;
        let findings = judge(&facts);
        assert_eq!(findings.len(), 2);
        assert!(
            findings
                .iter()
                .all(|f| f.id == "dns.host.error" && f.severity == Severity::High)
        );
        let api = findings
            .iter()
            .find(|f| f.subject == "api.demo.test")
            .unwrap();
        assert!(api.evidence[0].contains("SERVFAIL"), "{:?}", api.evidence);
    }

    #[test]
    fn a_resolving_site_has_no_dns_findings() {
        assert!(judge(&site()).is_empty());
    }
}
