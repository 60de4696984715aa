//! Hand-built facts for rule tests: a healthy demo.test that each test breaks in one place.

use launchready_findings::facts::*;

pub const NOW: i64 = 1_800_000_000;
pub const DAY: i64 = 86_400;

pub fn cert(names: &[&str], not_after_days: i64) -> CertFacts {
    CertFacts {
        subject: format!("CN={}", names[0]),
        issuer: "O=Launchready Lab, CN=Launchready Lab Intermediate CA".to_string(),
        sans: names.iter().map(|n| n.to_string()).collect(),
        not_before: "2026-01-01T00:00:00Z".to_string(),
        not_after: "2027-01-01T00:00:00Z".to_string(),
        not_before_unix: NOW - 30 * DAY,
        not_after_unix: NOW + not_after_days * DAY,
        key: "EC 256".to_string(),
        signature_algorithm: "ecdsa-with-SHA256".to_string(),
        self_signed: false,
    }
}

fn intermediate() -> CertFacts {
    let mut ca = cert(&["Launchready Lab Intermediate CA"], 3650);
    ca.subject = "O=Launchready Lab, CN=Launchready Lab Intermediate CA".to_string();
    ca.issuer = "O=Launchready Lab, CN=Launchready Lab Root CA".to_string();
    ca.sans.clear();
    ca
}

pub fn hop(url: &str, status: u16, location: Option<&str>) -> HopFacts {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string();
    HopFacts {
        url: url.to_string(),
        connected_to: Some("127.0.0.1:443".to_string()),
        status: Some(status),
        location: location.map(str::to_string),
        headers: Vec::new(),
        timings: Timings::default(),
        tls: url.starts_with("https://").then(|| TlsFacts {
            version: "TLSv1.3".to_string(),
            alpn: Some("h2".to_string()),
            chain: vec![cert(&[&host], 80), intermediate()],
            verification: Verification::Valid,
        }),
        error: None,
        body: None,
        protocol: None,
        fallback: None,
    }
}

/// Hops written as a path, `URL STATUS URL STATUS … [URL]`: each hop's Location is the URL after it, and a
/// trailing URL is a Location no hop follows.
pub fn path(spec: &str) -> Vec<HopFacts> {
    let words: Vec<&str> = spec.split_whitespace().collect();
    words
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| {
            let status = pair[1]
                .parse()
                .unwrap_or_else(|_| panic!("`{}` in `{spec}` is not a status", pair[1]));
            hop(pair[0], status, words.get(2 * i + 2).copied())
        })
        .collect()
}

/// Findings as `(id, subject, severity)`, the form rule tests compare with.
pub fn ids(
    findings: &[launchready_findings::Finding],
) -> Vec<(&str, &str, launchready_findings::Severity)> {
    findings
        .iter()
        .map(|f| (f.id.as_str(), f.subject.as_str(), f.severity))
        .collect()
}

/// Findings as `id subject Severity` lines, the form rule tests compare with.
pub fn listing(findings: &[launchready_findings::Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} {} {:?}\n", f.id, f.subject, f.severity))
        .collect()
}

/// Asserts that `findings` are exactly `expect`, one `id subject Severity` per line (indentation and blank
/// lines ignored), showing both listings when they differ.
pub fn check(findings: &[launchready_findings::Finding], expect: &str) {
    let expect: String = expect
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(listing(findings), expect);
}

pub fn failed(url: &str, kind: NetErrorKind, message: &str) -> HopFacts {
    let mut hop = hop(url, 0, None);
    hop.status = None;
    hop.tls = None;
    hop.error = Some(NetError {
        kind,
        message: message.to_string(),
    });
    hop
}

fn chain(start: &str, purpose: ChainPurpose, hops: Vec<HopFacts>) -> ChainFacts {
    let end = match hops.last() {
        Some(h) if h.status.is_none() => ChainEnd::Failed,
        _ => ChainEnd::Final,
    };
    ChainFacts {
        start: start.to_string(),
        purpose,
        label: None,
        hops,
        end,
    }
}

fn host(name: &str, role: HostRole) -> HostFacts {
    HostFacts {
        name: name.to_string(),
        role,
        expected_destination: None,
        dns: DnsFacts {
            outcome: DnsOutcome::Resolved,
            cname_chain: Vec::new(),
            // Public-looking addresses: the fixture is a site on the internet, not the lab.
            addresses: vec![
                "93.184.215.14".parse().expect("ip"),
                "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
                    .parse()
                    .expect("ip"),
            ],
            ttl: Some(300),
            elapsed_ms: 1,
        },
        caa: if role == HostRole::Apex {
            vec!["0 issue \"launchready.lab\"".to_string()]
        } else {
            Vec::new()
        },
        legacy_tls: Vec::new(),
        ipv6_probe: None,
    }
}

/// A healthy site: every host resolves, every entry point reaches https://www.demo.test/ in one hop.
pub fn site() -> Facts {
    let www = "https://www.demo.test/";
    let mut chains = vec![chain(
        www,
        ChainPurpose::EntryPoint,
        vec![hop(www, 200, None)],
    )];
    for start in [
        "http://demo.test/",
        "https://demo.test/",
        "http://www.demo.test/",
    ] {
        chains.push(chain(
            start,
            ChainPurpose::EntryPoint,
            vec![hop(start, 301, Some(www)), hop(www, 200, None)],
        ));
    }
    let mut hosts = vec![
        host("demo.test", HostRole::Apex),
        host("www.demo.test", HostRole::Www),
    ];
    for sub in ["app", "members", "api", "admin"] {
        let name = format!("{sub}.demo.test");
        let https = format!("https://{name}/");
        let http = format!("http://{name}/");
        chains.push(chain(
            &https,
            ChainPurpose::Subdomain,
            vec![hop(&https, 200, None)],
        ));
        chains.push(chain(
            &http,
            ChainPurpose::Subdomain,
            vec![hop(&http, 301, Some(&https)), hop(&https, 200, None)],
        ));
        hosts.push(host(&name, HostRole::Subdomain));
    }
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        domain: "demo.test".to_string(),
        canonical_url: www.to_string(),
        canonical_source: launchready_findings::facts::CanonicalSource::Declared,
        user_agents: None,
        gathered_at: "2027-01-15T08:00:00Z".to_string(),
        gathered_at_unix: NOW,
        resolvers: vec!["127.0.0.1:53".to_string()],
        hosts,
        chains,
        mobile_chains: Vec::new(),
        zone: ZoneFacts {
            ns: vec!["ns1.demo.test".to_string(), "ns2.demo.test".to_string()],
            ns_outcome: Some(DnsOutcome::Resolved),
            apex_cname: None,
            wildcard_probe: Some("lr-wildcard-0.demo.test".to_string()),
            wildcard_addresses: Vec::new(),
            nameservers: ["ns1.demo.test", "ns2.demo.test"]
                .iter()
                .map(|name| NameServerFacts {
                    name: name.to_string(),
                    address: Some("198.18.0.53:53".to_string()),
                    serial: Some(2026112501),
                    authoritative: true,
                    error: None,
                    looked_up: true,
                })
                .collect(),
        },
        origin: None,
        landing: None,
        rate_limit: Vec::new(),
        email: None,
        critical_path_round_trips: 2,
    }
}

pub fn host_mut<'a>(facts: &'a mut Facts, name: &str) -> &'a mut HostFacts {
    facts
        .hosts
        .iter_mut()
        .find(|h| h.name == name)
        .expect("fixture host")
}

/// Replaces the hops of the chain that starts at `start`.
pub fn set_chain(facts: &mut Facts, start: &str, hops: Vec<HopFacts>) {
    let purpose = facts
        .chains
        .iter()
        .find(|c| c.start == start)
        .map(|c| c.purpose)
        .expect("fixture chain");
    facts.chains.retain(|c| c.start != start);
    facts.chains.push(chain(start, purpose, hops));
}

/// Makes the chain that starts at `url` one request, answered with `status`.
pub fn answer_with(facts: &mut Facts, url: &str, status: u16) {
    set_chain(facts, url, vec![hop(url, status, None)]);
}

/// Makes the chain that starts at `url` one request, failed with `kind` and `message`.
pub fn fail_with(facts: &mut Facts, url: &str, kind: NetErrorKind, message: &str) {
    set_chain(facts, url, vec![failed(url, kind, message)]);
}

pub fn manifest() -> launchready_manifest::Manifest {
    launchready_manifest::Manifest::for_domain("demo.test").expect("demo.test is valid")
}
