//! Routing rules: how visitors travel from what they type or click to the page that serves them. Hop budgets,
//! canonical consistency, https upgrades and downgrades, temporary redirects, routes and legacy links.

use super::{Exposure, exposure, host_of, redirect_finding, resolvable};
use launchready_findings::facts::{
    CanonicalSource, ChainEnd, ChainFacts, ChainPurpose, Facts, HostRole,
};
use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::{Manifest, RouteKind};

const RFC9110_REDIRECT: &str = "https://www.rfc-editor.org/rfc/rfc9110#section-15.4";
const MDN_REDIRECTS: &str = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Redirections";

/// Redirects taken before the chain ended (the final response is not a hop of its own).
fn redirects(chain: &ChainFacts) -> usize {
    chain.hops.len().saturating_sub(1)
}

fn final_url(chain: &ChainFacts) -> Option<&str> {
    (chain.end == ChainEnd::Final)
        .then(|| chain.last().map(|h| h.url.as_str()))
        .flatten()
}

/// URLs compared as a visitor would: scheme and host case-insensitively, an empty path as "/".
fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn role_of(facts: &Facts, host: &str) -> Option<HostRole> {
    facts.hosts.iter().find(|h| h.name == host).map(|h| h.role)
}

/// Chains about hosts DNS could resolve (the DNS rules own the rest).
fn live_chains(facts: &Facts) -> impl Iterator<Item = (&ChainFacts, String)> {
    facts.chains.iter().filter_map(|chain| {
        let host = host_of(&chain.start)?;
        resolvable(facts, &host).then_some((chain, host))
    })
}

pub(crate) fn judge(facts: &Facts, manifest: &Manifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    entry_points(facts, &mut findings);
    subdomain_upgrades(facts, manifest, &mut findings);
    canonical_consistency(facts, &mut findings);
    mobile_divergence(facts, &mut findings);
    downgrades(facts, &mut findings);
    routes(facts, manifest, &mut findings);
    subdomain_destinations(facts, &mut findings);
    legacy_links(facts, manifest, &mut findings);
    findings
}

fn entry_points(facts: &Facts, findings: &mut Vec<Finding>) {
    for (chain, host) in live_chains(facts).filter(|(c, _)| c.purpose == ChainPurpose::EntryPoint) {
        let first = chain.hops.first();
        let http_entry = chain.start.starts_with("http://");
        let key_host = matches!(role_of(facts, &host), Some(HostRole::Apex | HostRole::Www));
        let severity = if key_host {
            Severity::High
        } else {
            Severity::Medium
        };
        if chain.end == ChainEnd::TooManyHops {
            findings.push(
                redirect_finding(
                    chain,
                    "redirect.too_many_hops",
                    Severity::Blocker,
                    format!("{} was still redirecting after {} hops", chain.start, chain.hops.len()),
                )
                .remediation("Redirect every entry point straight to the canonical URL; browsers give up after about 20 hops and every hop costs a round trip.")
                .reference(MDN_REDIRECTS),
            );
            continue;
        }
        if chain.end != ChainEnd::Final {
            continue;
        }
        // An http entry point that answers with content never upgrades the visitor to https.
        if http_entry
            && let Some(first) = first
            && first.status.is_some_and(|s| (200..300).contains(&s))
        {
            findings.push(
                redirect_finding(
                    chain,
                    "redirect.no_https",
                    Severity::Blocker,
                    format!("{} serves the page over plain http instead of redirecting to https", chain.start),
                )
                .remediation("Answer every http:// request with a 301 to the https:// canonical URL (most hosts and CDNs have an \"Always use HTTPS\" switch).")
                .reference("https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/TLS#http_redirections"),
            );
            continue;
        }
        if redirects(chain) > 1 {
            findings.push(
                redirect_finding(
                    chain,
                    "redirect.too_many_hops",
                    severity,
                    format!("{} takes {} redirects to reach {}", chain.start, redirects(chain), final_url(chain).unwrap_or("the page")),
                )
                .remediation("Redirect straight to the canonical URL in one hop; each extra hop adds a round trip (and a TLS handshake) before the first paint.")
                .reference(MDN_REDIRECTS),
            );
        }
        let temporary: Vec<u16> = chain
            .hops
            .iter()
            .filter_map(|h| h.status)
            .filter(|s| matches!(s, 302 | 303 | 307))
            .collect();
        if !temporary.is_empty() {
            findings.push(
                redirect_finding(
                    chain,
                    "redirect.temporary",
                    Severity::Medium,
                    format!("{} is canonicalised with a temporary redirect ({})", chain.start, join(&temporary)),
                )
                .remediation("Use 301 or 308 for canonical redirects so browsers and search engines remember them; 302/307 are re-requested every time.")
                .reference(RFC9110_REDIRECT),
            );
        }
        if http_entry
            && let (Some(first), Some(second)) = (chain.hops.first(), chain.hops.get(1))
            && second.url.starts_with("http://")
            && host_of(&second.url).is_some_and(|h| h != host)
        {
            findings.push(
                Finding::new(
                    "redirect.cross_host_before_https",
                    Stage::DnsRouting,
                    Severity::Medium,
                    &first.url,
                    format!("{} moves to another host before upgrading to https", first.url),
                )
                .evidence(chain.describe())
                .remediation("Upgrade to https on the same host first (or go straight to the https canonical URL); HSTS preload requires it, and the plain-http hop can be intercepted.")
                .reference("https://hstspreload.org/#submission-requirements"),
            );
        }
    }
}

/// A subdomain whose http:// root ends on a page served over plain http: nothing upgrades its visitors.
fn subdomain_upgrades(facts: &Facts, manifest: &Manifest, findings: &mut Vec<Finding>) {
    for (chain, host) in live_chains(facts)
        .filter(|(c, _)| c.purpose == ChainPurpose::Subdomain && c.start.starts_with("http://"))
    {
        let Some(last) = chain.last().filter(|_| chain.end == ChainEnd::Final) else {
            continue;
        };
        if !(last.url.starts_with("http://")
            && last.status.is_some_and(|s| (200..300).contains(&s)))
        {
            continue;
        }
        let severity = match exposure(facts, manifest, &host) {
            Exposure::Ordinary => Severity::Medium,
            Exposure::Sensitive | Exposure::Key => Severity::Blocker,
        };
        findings.push(
            redirect_finding(
                chain,
                "redirect.no_https",
                severity,
                format!("{} serves the page over plain http instead of redirecting to https", chain.start),
            )
            .remediation(format!("Answer every http:// request to {host} with a 301 to its https:// URL; sign-ins and session cookies on plain http can be read by anyone on the network."))
            .reference("https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/TLS#http_redirections"),
        );
    }
}

/// Where a chain ended, as compared between a desktop and a phone: the final URL and status, or how it failed.
fn outcome(chain: &ChainFacts) -> String {
    match (chain.end, chain.last()) {
        (ChainEnd::Final, Some(last)) => {
            format!("{} [{}]", last.url, last.status.unwrap_or_default())
        }
        (end, _) => format!("{} ({end:?})", chain.describe()),
    }
}

/// Entry points and legacy links that take a phone somewhere else than a computer: m-dot sites, app-store
/// bounces, mobile-only 404s. A phone that ends on an error or never arrives is worse than a different page.
fn mobile_divergence(facts: &Facts, findings: &mut Vec<Finding>) {
    for mobile in &facts.mobile_chains {
        let Some(host) = host_of(&mobile.start).filter(|h| resolvable(facts, h)) else {
            continue;
        };
        let Some(desktop) = facts.chains.iter().find(|c| {
            c.start == mobile.start && c.purpose == mobile.purpose && c.label == mobile.label
        }) else {
            continue;
        };
        // Only a desktop visit that works is a reference; failures are other rules' findings.
        let Some(desktop_end) = final_url(desktop).filter(|_| {
            desktop
                .final_status()
                .is_some_and(|s| (200..300).contains(&s))
        }) else {
            continue;
        };
        let mobile_ok = mobile.end == ChainEnd::Final
            && mobile
                .final_status()
                .is_some_and(|s| (200..300).contains(&s));
        let same = mobile_ok && final_url(mobile).is_some_and(|end| same_url(end, desktop_end));
        if same {
            continue;
        }
        let severity = if mobile_ok {
            Severity::Medium
        } else {
            Severity::High
        };
        let what = if mobile_ok {
            format!("phones land on {}", final_url(mobile).unwrap_or_default())
        } else {
            "phones do not reach a working page".to_string()
        };
        let mut finding = Finding::new(
            "redirect.ua_divergent",
            Stage::DnsRouting,
            severity,
            &mobile.start,
            format!("{}: computers land on {desktop_end}, {what}", mobile.start),
        )
        .evidence(format!("desktop: {}", outcome(desktop)))
        .evidence(format!("mobile: {}", outcome(mobile)))
        .remediation(format!("Serve phones the same destination as computers (check User-Agent rules at {host}, its CDN and any m-dot or app-store redirect), or make the mobile destination work; paid traffic is mostly mobile."))
        .reference("https://developers.google.com/search/docs/crawling-indexing/mobile/mobile-sites-mobile-first-indexing");
        if let Some(agents) = &facts.user_agents {
            finding = finding.evidence(format!("mobile User-Agent: {}", agents.mobile));
        }
        findings.push(finding);
    }
}

fn join(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn canonical_consistency(facts: &Facts, findings: &mut Vec<Finding>) {
    if let CanonicalSource::Inferred { from } = &facts.canonical_source {
        findings.push(
            Finding::new(
                "redirect.canonical_inferred",
                Stage::DnsRouting,
                Severity::Info,
                &facts.domain,
                format!(
                    "canonical URL inferred as {}: every entry point lands there",
                    facts.canonical_url
                ),
            )
            .evidence_lines(from)
            .remediation(format!(
                "Declare it in launchready.toml (`[site] canonical = \"{}\"`) so a later change to the redirects is caught.",
                facts.canonical_url
            ))
            .reference("https://developers.google.com/search/docs/crawling-indexing/consolidate-duplicate-urls"),
        );
    }
    let ends: Vec<(&str, &str)> = live_chains(facts)
        .filter(|(c, _)| c.purpose == ChainPurpose::EntryPoint)
        .filter_map(|(c, _)| final_url(c).map(|end| (c.start.as_str(), end)))
        .collect();
    let off: Vec<&(&str, &str)> = ends
        .iter()
        .filter(|(_, end)| !same_url(end, &facts.canonical_url))
        .collect();
    if off.is_empty() {
        return;
    }
    let mut hosts: Vec<String> = ends.iter().filter_map(|(_, end)| host_of(end)).collect();
    hosts.sort();
    hosts.dedup();
    let title = if hosts.len() > 1 {
        format!("entry points end on different hosts ({})", hosts.join(", "))
    } else {
        format!(
            "entry points do not end on the canonical URL {}",
            facts.canonical_url
        )
    };
    findings.push(
        Finding::new(
            "redirect.canonical_inconsistent",
            Stage::DnsRouting,
            Severity::High,
            &facts.domain,
            title,
        )
        .evidence_lines(ends.iter().map(|(start, end)| format!("{start} → {end}")))
        .remediation(format!(
            "Send every entry point (http and https, apex and www) to {} so visitors, cookies and search engines see one site.",
            facts.canonical_url
        ))
        .reference("https://developers.google.com/search/docs/crawling-indexing/consolidate-duplicate-urls"),
    );
}

fn downgrades(facts: &Facts, findings: &mut Vec<Finding>) {
    for (chain, _) in live_chains(facts) {
        let downgrade = chain
            .hops
            .windows(2)
            .find(|pair| pair[0].url.starts_with("https://") && pair[1].url.starts_with("http://"));
        if let Some(pair) = downgrade {
            findings.push(
                Finding::new(
                    "redirect.https_downgrade",
                    Stage::DnsRouting,
                    Severity::High,
                    &pair[0].url,
                    format!("{} redirects from https down to plain http", pair[0].url),
                )
                .evidence(chain.describe())
                .remediation("Make the redirect target https://; a downgrade exposes the visitor's session to anyone on the network and breaks HSTS.")
                .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Strict-Transport-Security"),
            );
        }
    }
}

fn routes(facts: &Facts, manifest: &Manifest, findings: &mut Vec<Finding>) {
    for (chain, _) in live_chains(facts).filter(|(c, _)| c.purpose == ChainPurpose::Route) {
        let Some(route) = chain
            .label
            .as_deref()
            .and_then(|name| manifest.routes.iter().find(|r| r.name == name))
        else {
            continue;
        };
        let key_route = matches!(route.kind, RouteKind::Login | RouteKind::Checkout);
        if chain.end != ChainEnd::Final {
            findings.push(
                Finding::new(
                    "route.unreachable",
                    Stage::QuickAudit,
                    if route.critical { Severity::Blocker } else { Severity::High },
                    &chain.start,
                    format!("the {} route ({}) does not load", route.name, route.kind),
                )
                .evidence_lines(super::http::failure_evidence(chain))
                .remediation(format!(
                    "Make {} answer (check the server, the redirect's Location and the hop budget); visitors who reach it see an error.",
                    route.path
                ))
                .reference("https://www.rfc-editor.org/rfc/rfc9110#section-15"),
            );
            continue;
        }
        if chain.end == ChainEnd::Final && redirects(chain) > 1 {
            findings.push(
                redirect_finding(
                    chain,
                    "redirect.too_many_hops",
                    if key_route { Severity::High } else { Severity::Medium },
                    format!("the {} route takes {} redirects", route.name, redirects(chain)),
                )
                .remediation("Link to the final URL directly or redirect in one hop; login and checkout lose visitors with every extra round trip.")
                .reference(MDN_REDIRECTS),
            );
        }
        let Some(status) = chain
            .final_status()
            .filter(|_| chain.end == ChainEnd::Final)
        else {
            continue;
        };
        if status == route.expect_status {
            continue;
        }
        let (id, severity) = match (status, route.critical) {
            (404, true) => ("route.not_found", Severity::Blocker),
            (404, false) => ("route.not_found", Severity::High),
            (_, true) => ("route.unexpected_status", Severity::High),
            (_, false) => ("route.unexpected_status", Severity::Medium),
        };
        findings.push(
            Finding::new(
                id,
                Stage::QuickAudit,
                severity,
                &chain.start,
                format!(
                    "the {} route ({}) answers {status}, expected {}",
                    route.name, route.kind, route.expect_status
                ),
            )
            .evidence(chain.describe())
            .remediation(format!(
                "Deploy the {} page at {} (or fix the route in launchready.toml if it moved).",
                route.kind, route.path
            ))
            .reference("https://www.rfc-editor.org/rfc/rfc9110#section-15"),
        );
    }
}

fn subdomain_destinations(facts: &Facts, findings: &mut Vec<Finding>) {
    for host in &facts.hosts {
        let Some(expected) = &host.expected_destination else {
            continue;
        };
        let https_start = format!("https://{}/", host.name);
        let Some(chain) = facts.chains.iter().find(|c| c.start == https_start) else {
            continue;
        };
        if !resolvable(facts, &host.name) || chain.end != ChainEnd::Final {
            continue;
        }
        let landed = chain.last().map(|h| h.url.as_str()).unwrap_or_default();
        if !same_url(landed, expected) {
            findings.push(
                Finding::new(
                    "subdomain.wrong_destination",
                    Stage::DnsRouting,
                    Severity::High,
                    &host.name,
                    format!("{} lands on {landed}, not {expected}", host.name),
                )
                .evidence(chain.describe())
                .remediation(format!("Point {} at the service that serves {expected}, or update the destination in launchready.toml.", host.name))
                .reference(MDN_REDIRECTS),
            );
        }
    }
}

fn legacy_links(facts: &Facts, manifest: &Manifest, findings: &mut Vec<Finding>) {
    for (chain, _) in live_chains(facts).filter(|(c, _)| c.purpose == ChainPurpose::LegacyLink) {
        // A manifest link names where it must land; a --links entry only has to land on a working page.
        let target = chain.label.as_deref().filter(|to| {
            manifest
                .legacy_links
                .iter()
                .any(|l| same_url(l.to.as_str(), to) && same_url(l.from.as_str(), &chain.start))
        });
        let status = chain.final_status();
        let fix = |what: &str| match target {
            Some(to) => format!("{what} Redirect {} to {to} with a single 301.", chain.start),
            None => format!("{what} Redirect it with a single 301 to the page that replaced it."),
        };
        let broken = chain.end != ChainEnd::Final || status.is_some_and(|s| s >= 400);
        if broken {
            findings.push(
                redirect_finding(
                    chain,
                    "legacy_link.broken",
                    Severity::High,
                    match status {
                        Some(s) if chain.end == ChainEnd::Final => {
                            format!("old link {} now answers {s}", chain.start)
                        }
                        _ => format!("old link {} does not load", chain.start),
                    },
                )
                .remediation(fix(
                    "Ads, emails and bookmarks still send paying visitors here.",
                ))
                .reference(MDN_REDIRECTS),
            );
            continue;
        }
        let landed = chain.last().map(|h| h.url.as_str()).unwrap_or_default();
        if let Some(to) = target
            && !same_url(landed, to)
        {
            findings.push(
                redirect_finding(
                    chain,
                    "legacy_link.wrong_target",
                    Severity::High,
                    format!("old link {} lands on {landed}, not {to}", chain.start),
                )
                .remediation(fix("The campaign promised a specific page."))
                .reference(MDN_REDIRECTS),
            );
            continue;
        }
        if redirects(chain) > 1 {
            findings.push(
                redirect_finding(
                    chain,
                    "legacy_link.multi_hop",
                    Severity::Medium,
                    format!(
                        "old link {} takes {} redirects",
                        chain.start,
                        redirects(chain)
                    ),
                )
                .remediation(fix(
                    "Every hop is a round trip before the page starts loading.",
                ))
                .reference(MDN_REDIRECTS),
            );
        } else if chain
            .hops
            .first()
            .and_then(|h| h.status)
            .is_some_and(|s| matches!(s, 302 | 303 | 307))
        {
            findings.push(
                redirect_finding(
                    chain,
                    "legacy_link.temporary",
                    Severity::Medium,
                    format!("old link {} uses a temporary redirect", chain.start),
                )
                .remediation(fix(
                    "A temporary redirect is re-requested every time and passes no search ranking.",
                ))
                .reference(RFC9110_REDIRECT),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{check, listing, manifest, path, set_chain, site};

    /// Adds a chain of `purpose` (labelled, for routes and legacy links) from the hops written as a [`path`].
    fn add_chain(facts: &mut Facts, purpose: ChainPurpose, label: Option<&str>, spec: &str) {
        let hops = path(spec);
        facts.chains.push(ChainFacts {
            start: hops[0].url.clone(),
            purpose,
            label: label.map(str::to_string),
            end: if hops.last().is_some_and(|h| h.status.is_some()) {
                ChainEnd::Final
            } else {
                ChainEnd::Failed
            },
            hops,
        });
    }

    /// Replaces the fixture's chain that starts where `spec` does.
    fn replace_chain(facts: &mut Facts, spec: &str) {
        let hops = path(spec);
        let start = hops[0].url.clone();
        set_chain(facts, &start, hops);
    }

    fn manifest_with(extra: &str) -> Manifest {
        let text = format!("[site]\ndomain = \"demo.test\"\n{extra}");
        Manifest::parse(&text, std::path::Path::new("t.toml")).unwrap()
    }

    #[test]
    fn a_healthy_site_has_no_routing_findings() {
        check(&judge(&site(), &manifest()), "");
    }

    #[test]
    fn two_hops_from_an_entry_point_are_too_many() {
        let mut facts = site();
        replace_chain(
            &mut facts,
            "http://demo.test/ 301 https://demo.test/ 301 https://www.demo.test/ 200",
        );
        check(
            &judge(&facts, &manifest()),
            "redirect.too_many_hops http://demo.test/ High",
        );
    }

    #[test]
    fn entry_points_ending_on_different_hosts_are_inconsistent() {
        let mut facts = site();
        replace_chain(&mut facts, "https://demo.test/ 200");
        let findings = judge(&facts, &manifest());
        check(&findings, "redirect.canonical_inconsistent demo.test High");
        assert!(
            findings[0].title.contains("demo.test, www.demo.test"),
            "{}",
            findings[0].title
        );
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e == "https://demo.test/ → https://demo.test/")
        );
    }

    #[test]
    fn http_content_without_upgrade_is_a_blocker() {
        let mut facts = site();
        replace_chain(&mut facts, "http://www.demo.test/ 200");
        let findings = listing(&judge(&facts, &manifest()));
        assert!(
            findings
                .lines()
                .any(|line| line == "redirect.no_https http://www.demo.test/ Blocker"),
            "{findings}"
        );
    }

    #[test]
    fn a_subdomain_serving_plain_http_is_reported_with_severity_by_exposure() {
        let mut facts = site();
        replace_chain(&mut facts, "http://app.demo.test/ 200");
        facts.hosts.push(facts.hosts[2].clone());
        facts.hosts.last_mut().unwrap().name = "docs.demo.test".to_string();
        add_chain(
            &mut facts,
            ChainPurpose::Subdomain,
            None,
            "http://docs.demo.test/ 301 http://docs.demo.test/start 200",
        );
        // A subdomain that upgrades is fine, even when it then lands on another host.
        add_chain(
            &mut facts,
            ChainPurpose::Subdomain,
            None,
            "http://members.demo.test/ 301 https://www.demo.test/members 200",
        );
        check(
            &judge(&facts, &manifest()),
            "redirect.no_https http://app.demo.test/ Blocker
             redirect.no_https http://docs.demo.test/ Medium",
        );
    }

    #[test]
    fn phones_that_land_elsewhere_or_on_errors_diverge() {
        let mut facts = site();
        let mobile = |spec: &str| {
            let hops = path(spec);
            ChainFacts {
                start: hops[0].url.clone(),
                purpose: ChainPurpose::EntryPoint,
                label: None,
                end: ChainEnd::Final,
                hops,
            }
        };
        facts.mobile_chains = vec![
            // Same destination: quiet.
            mobile("http://demo.test/ 301 https://www.demo.test/ 200"),
            // An m-dot site: another page that works.
            mobile("https://www.demo.test/ 302 https://m.demo.test/ 200"),
            // A mobile-only 404.
            mobile("https://demo.test/ 301 https://www.demo.test/mobile 404"),
        ];
        check(
            &judge(&facts, &manifest()),
            "redirect.ua_divergent https://www.demo.test/ Medium
             redirect.ua_divergent https://demo.test/ High",
        );
    }

    #[test]
    fn an_inferred_canonical_is_noted_and_not_inconsistent() {
        let mut facts = site();
        facts.canonical_source = CanonicalSource::Inferred {
            from: vec!["http://demo.test/ → https://www.demo.test/".to_string()],
        };
        check(
            &judge(&facts, &manifest()),
            "redirect.canonical_inferred demo.test Info",
        );
    }

    #[test]
    fn downgrades_temporary_and_cross_host_redirects() {
        let mut facts = site();
        replace_chain(
            &mut facts,
            "http://demo.test/ 302 http://www.demo.test/ 301 https://www.demo.test/ 200",
        );
        replace_chain(
            &mut facts,
            "https://app.demo.test/ 301 http://app.demo.test/login 301 https://app.demo.test/login 200",
        );
        let found = listing(&judge(&facts, &manifest()));
        for expected in [
            "redirect.too_many_hops http://demo.test/ High",
            "redirect.temporary http://demo.test/ Medium",
            "redirect.cross_host_before_https http://demo.test/ Medium",
            "redirect.https_downgrade https://app.demo.test/ High",
        ] {
            assert!(
                found.lines().any(|line| line == expected),
                "{expected:?} not in {found}"
            );
        }
        assert_eq!(found.lines().count(), 4, "{found}");
    }

    #[test]
    fn the_hop_budget_running_out_is_a_blocker() {
        let mut facts = site();
        replace_chain(
            &mut facts,
            "http://demo.test/ 301 http://demo.test/1 301 http://demo.test/2",
        );
        facts
            .chains
            .iter_mut()
            .filter(|c| c.start == "http://demo.test/")
            .for_each(|c| c.end = ChainEnd::TooManyHops);
        check(
            &judge(&facts, &manifest()),
            "redirect.too_many_hops http://demo.test/ Blocker",
        );
    }

    #[test]
    fn routes_answering_404_are_high_or_blocker_when_critical() {
        let manifest = manifest_with(
            "[[route]]\nname = \"checkout\"\nhost = \"app\"\npath = \"/checkout\"\nkind = \"checkout\"\ncritical = true\n\
             [[route]]\nname = \"blog\"\npath = \"/blog\"\nkind = \"other\"\n\
             [[route]]\nname = \"login\"\nhost = \"app\"\npath = \"/login\"\nkind = \"login\"\n",
        );
        let mut facts = site();
        for (label, spec) in [
            ("checkout", "https://app.demo.test/checkout 404"),
            ("blog", "https://www.demo.test/blog 404"),
            ("login", "https://app.demo.test/login 200"),
        ] {
            add_chain(&mut facts, ChainPurpose::Route, Some(label), spec);
        }
        check(
            &judge(&facts, &manifest),
            "route.not_found https://app.demo.test/checkout Blocker
             route.not_found https://www.demo.test/blog High",
        );
    }

    #[test]
    fn legacy_links_must_land_on_their_target_in_one_permanent_hop() {
        let manifest = manifest_with(
            "[[legacy_link]]\nfrom = \"https://www.demo.test/sale\"\nto = \"https://www.demo.test/pricing\"\n\
             [[legacy_link]]\nfrom = \"https://www.demo.test/bf\"\nto = \"https://www.demo.test/pricing\"\n\
             [[legacy_link]]\nfrom = \"https://www.demo.test/old\"\nto = \"https://www.demo.test/pricing\"\n\
             [[legacy_link]]\nfrom = \"https://www.demo.test/ok\"\nto = \"https://www.demo.test/pricing\"\n\
             [[legacy_link]]\nfrom = \"https://www.demo.test/tmp\"\nto = \"https://www.demo.test/pricing\"\n",
        );
        let pricing = Some("https://www.demo.test/pricing");
        let mut facts = site();
        for (label, spec) in [
            (
                pricing,
                "https://www.demo.test/sale 301 https://www.demo.test/promo 301 https://www.demo.test/pricing 200",
            ),
            (pricing, "https://www.demo.test/bf 404"),
            (
                pricing,
                "https://www.demo.test/old 301 https://www.demo.test/ 200",
            ),
            (
                pricing,
                "https://www.demo.test/ok 308 https://www.demo.test/pricing 200",
            ),
            (
                pricing,
                "https://www.demo.test/tmp 302 https://www.demo.test/pricing 200",
            ),
            // A --links entry has no target: landing on any working page in one hop is enough.
            (
                None,
                "https://www.demo.test/any 301 https://www.demo.test/ 200",
            ),
        ] {
            add_chain(&mut facts, ChainPurpose::LegacyLink, label, spec);
        }
        check(
            &judge(&facts, &manifest),
            "legacy_link.multi_hop https://www.demo.test/sale Medium
             legacy_link.broken https://www.demo.test/bf High
             legacy_link.wrong_target https://www.demo.test/old High
             legacy_link.temporary https://www.demo.test/tmp Medium",
        );
    }

    #[test]
    fn subdomains_must_reach_the_destination_the_manifest_names() {
        let manifest = manifest_with(
            "subdomains = [{ name = \"app\", destination = \"https://app.demo.test/login\" }]\n",
        );
        let mut facts = site();
        facts
            .hosts
            .iter_mut()
            .filter(|h| h.name == "app.demo.test")
            .for_each(|h| {
                h.expected_destination = Some("https://app.demo.test/login".to_string());
            });
        check(
            &judge(&facts, &manifest),
            "subdomain.wrong_destination app.demo.test High",
        );
        replace_chain(
            &mut facts,
            "https://app.demo.test/ 301 https://app.demo.test/login 200",
        );
        check(&judge(&facts, &manifest), "");
    }
}
