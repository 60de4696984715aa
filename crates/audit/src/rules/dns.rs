//! DNS rules: every configured host must resolve.

use super::data::{caa_domains_for, takeover_provider};
use super::{host_of, resolvable};
use launchready_findings::facts::{DnsOutcome, Facts, HostFacts, HostRole};
use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::Manifest;
use std::net::IpAddr;

const RFC1034: &str = "https://www.rfc-editor.org/rfc/rfc1034";
const RFC8659: &str = "https://www.rfc-editor.org/rfc/rfc8659";

pub(crate) fn judge(facts: &Facts, manifest: &Manifest) -> Vec<Finding> {
    let mut findings = resolution(facts);
    findings.extend(cnames(facts));
    findings.extend(zone(facts));
    findings.extend(caa(facts));
    findings.extend(addresses(facts, manifest.audit.intranet));
    findings.extend(ipv6(facts));
    findings
}

fn ipv6(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for host in &facts.hosts {
        let Some(probe) = &host.ipv6_probe else {
            continue;
        };
        if probe.status.is_some() {
            continue;
        }
        let v6: Vec<String> = host
            .dns
            .addresses
            .iter()
            .filter(|ip| ip.is_ipv6())
            .map(IpAddr::to_string)
            .collect();
        let mut finding = Finding::new(
            "dns.aaaa.unreachable",
            Stage::DnsRouting,
            Severity::High,
            &host.name,
            format!("{} publishes an IPv6 address that does not serve the site", host.name),
        )
        .evidence(format!("AAAA {}", v6.join(", ")))
        .remediation("Fix the server behind the AAAA record or remove the record; browsers try IPv6 first and visitors on IPv6 networks fail or wait.")
        .reference("https://www.rfc-editor.org/rfc/rfc6555");
        if let Some(error) = &probe.error {
            finding = finding.evidence(format!(
                "https over IPv6 ({}): {}: {}",
                probe.connected_to.as_deref().unwrap_or("no connection"),
                error.kind.as_str(),
                error.message
            ));
        }
        findings.push(finding);
    }
    findings
}

/// The domain itself is not in DNS: the apex has no records and the zone answers no NS (NXDOMAIN, or no
/// delegation). Everything else about such a name would only repeat this, so it is the audit's one finding.
pub(crate) fn domain_missing(facts: &Facts) -> Option<Finding> {
    let apex = facts.hosts.iter().find(|h| h.name == facts.domain)?;
    let apex_missing = matches!(apex.dns.outcome, DnsOutcome::NxDomain | DnsOutcome::NoData);
    let ns = facts.zone.ns_outcome.as_ref()?;
    let undelegated = matches!(ns, DnsOutcome::NxDomain | DnsOutcome::NoData);
    if !(apex_missing && undelegated) {
        return None;
    }
    let resolvers = if facts.resolvers.is_empty() {
        "the system resolver".to_string()
    } else {
        facts.resolvers.join(", ")
    };
    let (title, cause) = if *ns == DnsOutcome::NxDomain {
        (
            format!("{} does not exist in DNS", facts.domain),
            "the name is not registered, has expired or is on hold, or its registration has no nameservers",
        )
    } else {
        (
            format!("{} has no nameservers (no NS delegation)", facts.domain),
            "the registrar does not delegate the domain to a DNS provider, or the zone was deleted there",
        )
    };
    let describe = |outcome: &DnsOutcome| match outcome {
        DnsOutcome::NxDomain => "NXDOMAIN".to_string(),
        DnsOutcome::NoData => "no records (NODATA)".to_string(),
        other => format!("{other:?}"),
    };
    Some(
        Finding::new("dns.domain.missing", Stage::DnsRouting, Severity::Blocker, &facts.domain, title)
            .evidence(format!("{} A/AAAA: {}", facts.domain, describe(&apex.dns.outcome)))
            .evidence(format!("{} NS: {}", facts.domain, describe(ns)))
            .evidence(format!("asked: {resolvers}"))
            .evidence(format!("likely cause: {cause}"))
            .remediation(format!(
                "Check {} at your registrar: registered, paid, not expired or on hold, and its nameservers set to your DNS provider's (`whois {}` shows both). Nothing else can be checked until the name resolves.",
                facts.domain, facts.domain
            ))
            .reference("https://www.rfc-editor.org/rfc/rfc8020"),
    )
}

/// Whether the host's failed lookup went through a CNAME whose target is gone.
fn dangling(host: &HostFacts) -> Option<&str> {
    matches!(host.dns.outcome, DnsOutcome::NxDomain | DnsOutcome::NoData)
        .then(|| host.dns.cname_chain.last().map(String::as_str))
        .flatten()
}

fn resolution(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for host in &facts.hosts {
        if let Some(target) = dangling(host) {
            let provider = takeover_provider(target);
            let severity = if provider.is_some() {
                Severity::Blocker
            } else {
                Severity::High
            };
            let mut finding = Finding::new(
                "dns.cname.dangling",
                Stage::DnsRouting,
                severity,
                &host.name,
                format!("{} points (CNAME) at {target}, which does not exist", host.name),
            )
            .evidence(format!("{} → {}", host.name, host.dns.cname_chain.join(" → ")))
            .remediation(format!(
                "Remove the CNAME for {} or recreate {target}; a dangling CNAME at a hosting service lets anyone who claims that name serve content on your domain.",
                host.name
            ))
            .reference("https://developer.mozilla.org/en-US/docs/Web/Security/Subdomain_takeovers");
            if let Some(provider) = provider {
                finding = finding.evidence(format!(
                    "{target} is on {provider}, where unclaimed names can be taken over"
                ));
            }
            findings.push(finding);
            continue;
        }
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

fn cnames(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(target) = &facts.zone.apex_cname {
        findings.push(
            Finding::new("dns.cname.apex", Stage::DnsRouting, Severity::High, &facts.domain, format!("the apex {} is a CNAME", facts.domain))
                .evidence(format!("{} CNAME {target}, beside the SOA and NS records every apex has", facts.domain))
                .remediation("Replace the apex CNAME with A/AAAA records, or your provider's ALIAS/ANAME/flattening; a CNAME cannot coexist with other records, so MX and TXT at the apex break.")
                .reference("https://www.rfc-editor.org/rfc/rfc1912#section-2.4"),
        );
    }
    for host in facts.hosts.iter().filter(|h| h.dns.cname_chain.len() > 2) {
        findings.push(
            Finding::new(
                "dns.cname.long_chain",
                Stage::DnsRouting,
                Severity::Medium,
                &host.name,
                format!("{} resolves through {} CNAMEs", host.name, host.dns.cname_chain.len()),
            )
            .evidence(format!("{} → {}", host.name, host.dns.cname_chain.join(" → ")))
            .remediation("Point the record closer to its final target; every link is another lookup and another provider that can break.")
            .reference(RFC1034),
        );
    }
    findings
}

fn zone(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let zone = &facts.zone;
    if zone.ns_outcome == Some(DnsOutcome::Resolved) && zone.ns.len() < 2 {
        findings.push(
            Finding::new("dns.ns.single", Stage::DnsRouting, Severity::Medium, &facts.domain, format!("{} has {} nameserver(s)", facts.domain, zone.ns.len()))
                .evidence(format!("NS: {}", zone.ns.join(", ")))
                .remediation("Delegate to at least two nameservers (your DNS provider gives you several); one outage otherwise takes the whole domain down.")
                .reference("https://www.rfc-editor.org/rfc/rfc2182#section-5"),
        );
    }
    let answering: Vec<_> = zone
        .nameservers
        .iter()
        .filter(|ns| ns.serial.is_some())
        .collect();
    let mut serials: Vec<u32> = answering.iter().filter_map(|ns| ns.serial).collect();
    serials.sort_unstable();
    serials.dedup();
    if serials.len() > 1 {
        findings.push(
            Finding::new(
                "dns.ns.inconsistent",
                Stage::DnsRouting,
                Severity::High,
                &facts.domain,
                format!("the nameservers of {} hand out different versions of the zone", facts.domain),
            )
            .evidence_lines(answering.iter().map(|ns| {
                format!(
                    "{} ({}): SOA serial {}",
                    ns.name,
                    ns.address.as_deref().unwrap_or("?"),
                    ns.serial.unwrap_or_default()
                )
            }))
            .remediation("Make every nameserver serve the same zone (check zone transfers or the provider's sync); visitors get different answers depending on which server they ask.")
            .reference("https://www.rfc-editor.org/rfc/rfc1034#section-4.3.5"),
        );
    }
    for ns in zone
        .nameservers
        .iter()
        .filter(|ns| ns.error.is_some() || !ns.authoritative)
    {
        let problem = ns
            .error
            .clone()
            .unwrap_or_else(|| "answered without the authoritative (AA) flag".to_string());
        findings.push(
            Finding::new(
                "dns.ns.not_authoritative",
                Stage::DnsRouting,
                Severity::High,
                &ns.name,
                format!("nameserver {} does not answer authoritatively for {}", ns.name, facts.domain),
            )
            .evidence(format!("{} ({}): {problem}", ns.name, ns.address.as_deref().unwrap_or("no address")))
            .remediation("Remove the nameserver from the delegation (at the registrar and in the zone's NS set) or configure the zone on it; resolvers that pick it fail.")
            .reference("https://www.rfc-editor.org/rfc/rfc1034#section-4.2"),
        );
    }
    if !zone.wildcard_addresses.is_empty() {
        findings.push(
            Finding::new("dns.wildcard", Stage::DnsRouting, Severity::Info, &facts.domain, format!("*.{} answers for any name", facts.domain))
                .evidence(format!(
                    "{} → {}",
                    zone.wildcard_probe.as_deref().unwrap_or("a random name"),
                    zone.wildcard_addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
                ))
                .remediation("Make sure the wildcard is intended: typos and forgotten subdomains resolve instead of failing, which hides mistakes.")
                .reference("https://www.rfc-editor.org/rfc/rfc4592"),
        );
    }
    for host in facts
        .hosts
        .iter()
        .filter(|h| matches!(h.role, HostRole::Apex | HostRole::Www))
    {
        if host.dns.outcome == DnsOutcome::Resolved && host.dns.ttl.is_some_and(|ttl| ttl > 3600) {
            findings.push(
                Finding::new("dns.ttl.long", Stage::DnsRouting, Severity::Info, &host.name, format!("{} has a TTL of {} s", host.name, host.dns.ttl.unwrap_or_default()))
                    .remediation("Lower the TTL to 300 a day before any cutover, so a mistake can be undone in minutes instead of hours.")
                    .reference(RFC1034),
            );
        }
        if host.dns.outcome == DnsOutcome::Resolved
            && !host.dns.addresses.iter().any(IpAddr::is_ipv6)
        {
            findings.push(
                Finding::new("dns.aaaa.missing", Stage::DnsRouting, Severity::Info, &host.name, format!("{} has no IPv6 (AAAA) address", host.name))
                    .remediation("Add AAAA records if your host or CDN supports IPv6; most mobile visitors reach sites over IPv6 first.")
                    .reference("https://www.rfc-editor.org/rfc/rfc3596"),
            );
        }
    }
    findings
}

/// The CAA records that govern `host` and the name that holds them: its own, else the closest ancestor's
/// (RFC 8659 §3).
fn relevant_caa<'a>(facts: &'a Facts, host: &'a str) -> (&'a str, &'a [String]) {
    let mut name = host;
    loop {
        if let Some(records) = facts.hosts.iter().find(|h| h.name == name).map(|h| &h.caa)
            && !records.is_empty()
        {
            return (name, records);
        }
        match name.split_once('.') {
            Some((_, parent)) if name != facts.domain => name = parent,
            _ => return (host, &[]),
        }
    }
}

/// The `issue` (or `issuewild`) values of a CAA set: the CA domains it permits.
fn permitted(records: &[String], wildcard: bool) -> Vec<String> {
    let parsed: Vec<(String, String)> = records
        .iter()
        .filter_map(|r| {
            let mut parts = r.splitn(3, ' ');
            let (_, tag, value) = (parts.next()?, parts.next()?, parts.next()?);
            let domain = value
                .trim_matches('"')
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            Some((tag.to_ascii_lowercase(), domain))
        })
        .collect();
    let wild: Vec<String> = parsed
        .iter()
        .filter(|(t, _)| t == "issuewild")
        .map(|(_, d)| d.clone())
        .collect();
    if wildcard && !wild.is_empty() {
        return wild;
    }
    parsed
        .into_iter()
        .filter(|(t, _)| t == "issue")
        .map(|(_, d)| d)
        .collect()
}

fn caa(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    if relevant_caa(facts, &facts.domain).1.is_empty() {
        findings.push(
            Finding::new("dns.caa.missing", Stage::DnsRouting, Severity::Info, &facts.domain, format!("{} has no CAA record", facts.domain))
                .remediation("Publish a CAA record naming the CA you use (e.g. `0 issue \"letsencrypt.org\"`), so no other CA will issue certificates for your domain.")
                .reference(RFC8659),
        );
    }
    // One finding per CAA set and issuing CA, naming every host it blocks: the fix is one record.
    let mut blocked: Vec<(&str, &[String], String, Vec<String>)> = Vec::new();
    let mut seen = Vec::new();
    for hop in facts.chains.iter().flat_map(|c| c.hops.iter()) {
        let (Some(tls), Some(host)) = (&hop.tls, host_of(&hop.url)) else {
            continue;
        };
        if seen.contains(&host)
            || !facts.hosts.iter().any(|h| h.name == host)
            || !resolvable(facts, &host)
        {
            continue;
        }
        seen.push(host.clone());
        let Some(leaf) = tls.chain.first() else {
            continue;
        };
        let Some(host_name) = facts
            .hosts
            .iter()
            .find(|h| h.name == host)
            .map(|h| h.name.as_str())
        else {
            continue;
        };
        let (owner, records) = relevant_caa(facts, host_name);
        let issue_tags = records.iter().any(|r| r.contains(" issue"));
        let Some(ca_domains) = caa_domains_for(&leaf.issuer) else {
            continue;
        };
        let wildcard = leaf.sans.iter().any(|s| s.starts_with("*."));
        if !issue_tags
            || permitted(records, wildcard)
                .iter()
                .any(|d| ca_domains.contains(&d.as_str()))
        {
            continue;
        }
        match blocked
            .iter_mut()
            .find(|(o, _, issuer, _)| *o == owner && *issuer == leaf.issuer)
        {
            Some(entry) => entry.3.push(host),
            None => blocked.push((owner, records, leaf.issuer.clone(), vec![host])),
        }
    }
    for (owner, records, issuer, hosts) in blocked {
        let ca_domain = caa_domains_for(&issuer)
            .and_then(|d| d.first().copied())
            .unwrap_or_default();
        findings.push(
            Finding::new(
                "dns.caa.mismatch",
                Stage::DnsRouting,
                Severity::High,
                owner,
                format!("the CAA record at {owner} does not permit the CA that issued the certificates of {}", hosts.join(", ")),
            )
            .evidence(format!("certificate issuer: {issuer}"))
            .evidence(format!("CAA at {owner}: {}", records.join("; ")))
            .remediation(format!(
                "Add `0 issue \"{ca_domain}\"` to the CAA records at {owner} (or move to a permitted CA); renewal fails when the CA checks CAA."
            ))
            .reference(RFC8659),
        );
    }
    findings
}

/// Addresses that cannot be reached from the public internet.
fn private_range(ip: &IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private (RFC 1918)")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || a == 0 {
                Some("unspecified")
            } else if a == 100 && (64..128).contains(&b) {
                Some("carrier-grade NAT (RFC 6598)")
            } else if (a, b, c) == (192, 0, 2)
                || (a, b, c) == (198, 51, 100)
                || (a, b, c) == (203, 0, 113)
            {
                Some("documentation (RFC 5737)")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if first & 0xfe00 == 0xfc00 {
                Some("unique local (RFC 4193)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("documentation (RFC 3849)")
            } else {
                None
            }
        }
    }
}

fn addresses(facts: &Facts, intranet: bool) -> Vec<Finding> {
    if intranet {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for host in &facts.hosts {
        let bad: Vec<String> = host
            .dns
            .addresses
            .iter()
            .filter_map(|ip| private_range(ip).map(|kind| format!("{ip} ({kind})")))
            .collect();
        if bad.is_empty() {
            continue;
        }
        findings.push(
            Finding::new(
                "dns.address.private",
                Stage::DnsRouting,
                Severity::High,
                &host.name,
                format!("{} resolves to an address the internet cannot reach", host.name),
            )
            .evidence_lines(bad)
            .remediation("Publish the public address of the server or CDN; if this is a staging or intranet audit, set `intranet = true` under [audit] (or pass --intranet).")
            .reference("https://www.rfc-editor.org/rfc/rfc6890"),
        );
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
        let findings = judge(&facts, &manifest());
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
    fn a_domain_that_does_not_exist_is_one_blocker_and_nothing_else() {
        let mut facts = site();
        for host in &mut facts.hosts {
            host.dns.outcome = DnsOutcome::NxDomain;
            host.dns.addresses.clear();
        }
        facts.zone.ns_outcome = Some(DnsOutcome::NxDomain);
        facts.zone.ns.clear();
        for chain in &mut facts.chains {
            chain.hops = vec![failed(
                &chain.start,
                launchready_findings::facts::NetErrorKind::Dns,
                "NXDOMAIN",
            )];
            chain.end = launchready_findings::facts::ChainEnd::Failed;
        }
        let findings = crate::rules::judge(&facts, &manifest());
        let ids: Vec<_> = findings
            .iter()
            .map(|f| (f.id.as_str(), f.severity))
            .collect();
        assert_eq!(ids, [("dns.domain.missing", Severity::Blocker)]);
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.contains("127.0.0.1:53"))
        );
        // No delegation at all reads differently.
        facts.zone.ns_outcome = Some(DnsOutcome::NoData);
        let findings = crate::rules::judge(&facts, &manifest());
        assert!(
            findings[0].title.contains("no nameservers"),
            "{}",
            findings[0].title
        );
        // An apex without addresses in a delegated zone is an ordinary missing host.
        facts.zone.ns_outcome = Some(DnsOutcome::Resolved);
        facts.zone.ns = vec!["ns1.demo.test".to_string()];
        let findings = crate::rules::judge(&facts, &manifest());
        assert!(findings.iter().all(|f| f.id != "dns.domain.missing"));
        assert!(findings.iter().any(|f| f.id == "dns.host.missing"));
    }

    #[test]
    fn servfail_and_timeouts_are_lookup_errors() {
        let mut facts = site();
        host_mut(&mut facts, "api.demo.test").dns.outcome = DnsOutcome::ServFail;
        host_mut(&mut facts, "app.demo.test").dns.outcome = DnsOutcome::Timeout;
        let findings = judge(&facts, &manifest());
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
        assert!(judge(&site(), &manifest()).is_empty());
    }

    #[test]
    fn dangling_cnames_are_high_and_blockers_on_takeover_prone_hosts() {
        let mut facts = site();
        let app = host_mut(&mut facts, "app.demo.test");
        app.dns.outcome = DnsOutcome::NxDomain;
        app.dns.cname_chain = vec!["old-app.herokudns.example".to_string()];
        let api = host_mut(&mut facts, "api.demo.test");
        api.dns.outcome = DnsOutcome::NxDomain;
        api.dns.cname_chain = vec!["demo-api.github.io".to_string()];
        let findings = judge(&facts, &manifest());
        assert_eq!(
            ids(&findings),
            [
                ("dns.cname.dangling", "app.demo.test", Severity::High),
                ("dns.cname.dangling", "api.demo.test", Severity::Blocker)
            ]
        );
        assert!(
            findings[1]
                .evidence
                .iter()
                .any(|e| e.contains("GitHub Pages"))
        );
    }

    #[test]
    fn apex_cnames_long_chains_single_ns_and_wildcards() {
        let mut facts = site();
        facts.zone.apex_cname = Some("lb.host.example".to_string());
        facts.zone.ns = vec!["ns1.demo.test".to_string()];
        facts.zone.wildcard_addresses = vec!["93.184.215.14".parse().unwrap()];
        host_mut(&mut facts, "members.demo.test").dns.cname_chain =
            vec!["a.x".into(), "b.x".into(), "c.x".into()];
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [
                ("dns.cname.apex", "demo.test", Severity::High),
                (
                    "dns.cname.long_chain",
                    "members.demo.test",
                    Severity::Medium
                ),
                ("dns.ns.single", "demo.test", Severity::Medium),
                ("dns.wildcard", "demo.test", Severity::Info),
            ]
        );
    }

    #[test]
    fn long_ttls_and_missing_ipv6_on_apex_and_www_are_info() {
        let mut facts = site();
        host_mut(&mut facts, "demo.test").dns.ttl = Some(86_400);
        host_mut(&mut facts, "www.demo.test")
            .dns
            .addresses
            .retain(|ip| ip.is_ipv4());
        host_mut(&mut facts, "app.demo.test")
            .dns
            .addresses
            .retain(|ip| ip.is_ipv4());
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [
                ("dns.ttl.long", "demo.test", Severity::Info),
                ("dns.aaaa.missing", "www.demo.test", Severity::Info)
            ]
        );
    }

    #[test]
    fn caa_missing_is_info_and_a_caa_that_excludes_the_serving_ca_is_high() {
        let mut facts = site();
        host_mut(&mut facts, "demo.test").caa.clear();
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [("dns.caa.missing", "demo.test", Severity::Info)]
        );
        host_mut(&mut facts, "demo.test").caa = vec!["0 issue \"letsencrypt.org\"".to_string()];
        host_mut(&mut facts, "api.demo.test").caa =
            vec!["0 issue \"launchready.lab; validationmethods=dns-01\"".to_string()];
        let findings = judge(&facts, &manifest());
        let mismatched: Vec<_> = findings
            .iter()
            .filter(|f| f.id == "dns.caa.mismatch")
            .collect();
        // Every host but api (which has its own CAA permitting the lab CA) inherits the apex's letsencrypt-only
        // CAA: one finding, at the apex, naming the five hosts.
        assert_eq!(mismatched.len(), 1, "{mismatched:?}");
        assert_eq!(mismatched[0].subject, "demo.test");
        let title = &mismatched[0].title;
        assert!(
            title.contains("www.demo.test") && !title.contains("api.demo.test"),
            "{title}"
        );
    }

    #[test]
    fn private_addresses_are_high_unless_the_audit_is_an_intranet_one() {
        let mut facts = site();
        host_mut(&mut facts, "admin.demo.test").dns.addresses =
            vec!["10.1.2.3".parse().unwrap(), "fe80::1".parse().unwrap()];
        host_mut(&mut facts, "api.demo.test").dns.addresses = vec!["198.51.100.7".parse().unwrap()];
        let findings = judge(&facts, &manifest());
        assert_eq!(
            ids(&findings),
            [
                ("dns.address.private", "api.demo.test", Severity::High),
                ("dns.address.private", "admin.demo.test", Severity::High)
            ]
        );
        assert_eq!(
            findings[1].evidence,
            ["10.1.2.3 (private (RFC 1918))", "fe80::1 (link-local)"]
        );
        let mut intranet = manifest();
        intranet.audit.intranet = true;
        assert!(judge(&facts, &intranet).is_empty());
    }

    #[test]
    fn nameservers_that_disagree_or_do_not_answer_authoritatively_are_high() {
        let mut facts = site();
        facts.zone.nameservers[1].serial = Some(2026010101);
        let mut third = facts.zone.nameservers[0].clone();
        third.name = "ns3.old-dns.example".to_string();
        third.serial = None;
        third.error = Some("no answer before the timeout".to_string());
        facts.zone.nameservers.push(third);
        let mut fourth = facts.zone.nameservers[0].clone();
        fourth.name = "ns4.old-dns.example".to_string();
        fourth.authoritative = false;
        facts.zone.nameservers.push(fourth);
        let findings = judge(&facts, &manifest());
        assert_eq!(
            ids(&findings),
            [
                ("dns.ns.inconsistent", "demo.test", Severity::High),
                (
                    "dns.ns.not_authoritative",
                    "ns3.old-dns.example",
                    Severity::High
                ),
                (
                    "dns.ns.not_authoritative",
                    "ns4.old-dns.example",
                    Severity::High
                ),
            ]
        );
        assert_eq!(findings[0].evidence.len(), 3);
    }

    #[test]
    fn an_aaaa_that_does_not_serve_the_site_is_high() {
        use launchready_findings::facts::{HopFacts, NetError, NetErrorKind, Timings};
        let mut facts = site();
        let probe = |status: Option<u16>| HopFacts {
            url: "https://www.demo.test/".to_string(),
            connected_to: Some("[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443".to_string()),
            status,
            location: None,
            headers: Vec::new(),
            timings: Timings::default(),
            tls: None,
            error: status.is_none().then(|| NetError {
                kind: NetErrorKind::Refused,
                message: "refused".to_string(),
            }),
            body: None,
            protocol: None,
            fallback: None,
        };
        host_mut(&mut facts, "www.demo.test").ipv6_probe = Some(probe(None));
        host_mut(&mut facts, "demo.test").ipv6_probe = Some(probe(Some(200)));
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [("dns.aaaa.unreachable", "www.demo.test", Severity::High)]
        );
    }
}
