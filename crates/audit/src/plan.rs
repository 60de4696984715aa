//! What an audit probes, derived from the manifest alone (pure, so the probe list is unit-tested without a
//! network): every host to resolve and every URL whose redirect chain to follow.

use launchready_findings::facts::{ChainPurpose, HostRole};
use launchready_manifest::Manifest;
use url::Url;

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedHost {
    pub name: String,
    pub role: HostRole,
    pub expected_destination: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChain {
    pub start: Url,
    pub purpose: ChainPurpose,
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub hosts: Vec<PlannedHost>,
    pub chains: Vec<PlannedChain>,
    pub max_hops: u32,
}

fn root_url(scheme: &str, host: &str) -> Option<Url> {
    Url::parse(&format!("{scheme}://{host}/")).ok()
}

/// The apex, www and each subdomain to resolve; http and https on each of them, the canonical URL, every route
/// and every legacy link to follow. A URL is followed once per purpose.
pub fn plan(manifest: &Manifest, links: &[Url]) -> Plan {
    let apex = manifest.apex().to_string();
    let www = manifest.www();
    let mut hosts = vec![
        PlannedHost {
            name: apex.clone(),
            role: HostRole::Apex,
            expected_destination: None,
        },
        PlannedHost {
            name: www.clone(),
            role: HostRole::Www,
            expected_destination: None,
        },
    ];
    for sub in &manifest.site.subdomains {
        if hosts.iter().any(|h| h.name == sub.host) {
            continue;
        }
        hosts.push(PlannedHost {
            name: sub.host.clone(),
            role: HostRole::Subdomain,
            expected_destination: sub.destination.as_ref().map(|u| u.to_string()),
        });
    }

    let mut chains: Vec<PlannedChain> = Vec::new();
    let mut add = |start: Option<Url>, purpose: ChainPurpose, label: Option<String>| {
        // The same URL can matter twice (a route at a subdomain's root, a legacy link from an entry point):
        // each purpose gets its own chain, so each rule sees the chain it judges.
        if let Some(start) = start
            && !chains
                .iter()
                .any(|c| c.start == start && c.purpose == purpose && c.label == label)
        {
            chains.push(PlannedChain {
                start,
                purpose,
                label,
            });
        }
    };
    add(
        Some(manifest.site.canonical_url.clone()),
        ChainPurpose::EntryPoint,
        None,
    );
    for host in [&apex, &www] {
        for scheme in ["http", "https"] {
            add(root_url(scheme, host), ChainPurpose::EntryPoint, None);
        }
    }
    for sub in hosts.iter().filter(|h| h.role == HostRole::Subdomain) {
        for scheme in ["https", "http"] {
            add(root_url(scheme, &sub.name), ChainPurpose::Subdomain, None);
        }
    }
    let scheme = manifest.site.canonical_url.scheme().to_string();
    for route in &manifest.routes {
        let url = Url::parse(&format!("{scheme}://{}{}", route.host, route.path)).ok();
        add(url, ChainPurpose::Route, Some(route.name.clone()));
    }
    for link in &manifest.legacy_links {
        add(
            Some(link.from.clone()),
            ChainPurpose::LegacyLink,
            Some(link.to.to_string()),
        );
    }
    for link in links {
        add(Some(link.clone()), ChainPurpose::LegacyLink, None);
    }
    Plan {
        hosts,
        chains,
        max_hops: manifest.audit.max_hops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plan_covers_apex_www_and_four_subdomains_over_both_schemes() {
        let manifest = Manifest::for_domain("demo.test").unwrap();
        let plan = plan(&manifest, &[]);
        let names: Vec<_> = plan.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "demo.test",
                "www.demo.test",
                "app.demo.test",
                "members.demo.test",
                "api.demo.test",
                "admin.demo.test"
            ]
        );
        let starts: Vec<_> = plan.chains.iter().map(|c| c.start.as_str()).collect();
        assert_eq!(starts[0], "https://www.demo.test/");
        assert!(starts.contains(&"http://demo.test/"));
        assert!(starts.contains(&"http://www.demo.test/"));
        assert!(starts.contains(&"https://demo.test/"));
        assert!(starts.contains(&"http://admin.demo.test/"));
        // The canonical URL is also an entry point: it is planned once.
        assert_eq!(
            starts
                .iter()
                .filter(|s| **s == "https://www.demo.test/")
                .count(),
            1
        );
        assert_eq!(plan.chains.len(), 4 + 8);
    }
}
