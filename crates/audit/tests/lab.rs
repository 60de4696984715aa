//! The DNS and routing rules end to end: the real audit (gather + judge) against the in-process lab's DNS, HTTP
//! and HTTPS servers, no mocks. A healthy lab site must stay quiet; each flawed variant changes one thing from
//! `scenarios::clean()` and must fire exactly the finding id that describes it. Bad input (broken redirects,
//! huge headers, dribbling servers, truncated DNS) must end in a finding within the deadline, never a hang.
#![allow(clippy::unwrap_used)]

use launchready_audit::{GatherOptions, gather_checked};
use launchready_findings::Severity::{self, Blocker, High, Info, Medium};
use launchready_findings::facts::{ChainEnd, ChainFacts, DnsOutcome, Facts};
use launchready_findings::{Finding, Report};
use launchready_lab::{
    CertSpec, Handler, Lab, Page, Record, RecordData, Scenario, Site, Zone, scenarios,
};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Every audit (lab start included) must finish within this, so a hang fails the test instead of stalling it.
const DEADLINE: Duration = Duration::from_secs(30);
/// The per-operation network timeout unless a case asks for another.
const OP_TIMEOUT: Duration = Duration::from_secs(2);
const ORIGIN: &str = scenarios::CLEAN_ORIGIN;
const CLEAN: &str = scenarios::CLEAN_MANIFEST;
/// The finding families this file is about.
const PREFIXES: [&str; 8] = [
    "dns.",
    "redirect.",
    "route.",
    "subdomain.",
    "legacy_link.",
    "content.",
    "http.",
    "tls.",
];

// ---- running an audit ----

/// What a run adds to the scenario and the manifest.
#[derive(Default)]
struct Options {
    /// `--connect-to` rules placed before the lab's own (the first matching rule wins).
    rules_first: Vec<String>,
    /// The per-operation timeout; [`OP_TIMEOUT`] when `None`.
    timeout: Option<Duration>,
    /// `--links` URLs.
    links: Vec<&'static str>,
}

/// One finished audit: the facts it gathered and the report judged from them.
struct Audit {
    facts: Facts,
    report: Report,
    /// Whether the lab had an IPv6 listener (the machine has IPv6 loopback).
    ipv6: bool,
}

impl Audit {
    fn active(&self) -> impl Iterator<Item = &Finding> {
        self.report
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none())
    }

    /// Every active finding, one per line, for failure messages.
    fn listing(&self) -> String {
        let lines: Vec<String> = self
            .active()
            .map(|f| {
                format!(
                    "  {} {} {:?}: {} {:?}",
                    f.id, f.subject, f.severity, f.title, f.evidence
                )
            })
            .collect();
        if lines.is_empty() {
            "  (no active findings)".to_string()
        } else {
            lines.join("\n")
        }
    }

    fn find(&self, id: &str, subject: &str) -> Option<&Finding> {
        self.active().find(|f| f.id == id && f.subject == subject)
    }

    /// The active finding `id` about `subject`.
    fn get(&self, id: &str, subject: &str) -> &Finding {
        self.find(id, subject).unwrap_or_else(|| {
            panic!(
                "expected {id} about {subject}; active findings:\n{}",
                self.listing()
            )
        })
    }

    /// The active finding `id` about `subject`, which must have `severity`.
    fn expect(&self, id: &str, subject: &str, severity: Severity) -> &Finding {
        let finding = self.get(id, subject);
        assert_eq!(
            finding.severity,
            severity,
            "{id} about {subject} has the wrong severity; active findings:\n{}",
            self.listing()
        );
        finding
    }

    /// Active findings of the families this file covers, as `(id, subject, severity)`.
    fn routing_findings(&self) -> Vec<Expected<'_>> {
        self.active()
            .filter(|f| PREFIXES.iter().any(|p| f.id.starts_with(p)))
            .map(|f| (f.id.as_str(), f.subject.as_str(), f.severity))
            .collect()
    }

    fn chain(&self, start: &str) -> &ChainFacts {
        self.facts
            .chains
            .iter()
            .find(|c| c.start == start)
            .unwrap_or_else(|| panic!("no chain starts at {start}"))
    }

    fn hop_urls(&self, start: &str) -> Vec<&str> {
        self.chain(start)
            .hops
            .iter()
            .map(|h| h.url.as_str())
            .collect()
    }
}

async fn audit(scenario: Scenario, manifest: &str) -> Audit {
    audit_with(scenario, manifest, Options::default()).await
}

/// Starts the lab, points the net layer at it (resolver, connect-to, CA file) and runs the real audit.
async fn audit_with(scenario: Scenario, manifest: &str, options: Options) -> Audit {
    tokio::time::timeout(DEADLINE, run_audit(scenario, manifest, options))
        .await
        .unwrap_or_else(|_| panic!("the audit did not finish within {DEADLINE:?}"))
}

async fn run_audit(scenario: Scenario, manifest: &str, options: Options) -> Audit {
    let lab = Lab::start(scenario).await.unwrap();
    let manifest = Manifest::parse(manifest, Path::new("launchready.toml")).unwrap();
    let connect_to = options
        .rules_first
        .iter()
        .cloned()
        .chain(lab.connect_to_args())
        .map(|rule| rule.parse::<ConnectTo>().unwrap())
        .collect();
    let net = Net::new(NetConfig {
        resolvers: vec![lab.dns_addr()],
        connect_to,
        ca_files: vec![lab.ca_file().to_path_buf()],
        timeout: options.timeout.unwrap_or(OP_TIMEOUT),
        ..NetConfig::default()
    })
    .unwrap();
    let gather = GatherOptions {
        links: options
            .links
            .iter()
            .map(|link| Url::parse(link).unwrap())
            .collect(),
        ..GatherOptions::default()
    };
    let facts = gather_checked(&manifest, &net, &gather).await.unwrap();
    let report = launchready_audit::report(&facts, &manifest);
    Audit {
        facts,
        report,
        ipv6: lab.https6_addr().is_some(),
    }
}

/// A finding as the tests name it: id, subject, severity.
type Expected<'a> = (&'a str, &'a str, Severity);

/// What `scenarios::clean()` reports as shipped (it publishes no AAAA records); left out when comparing a
/// variant's findings with what it is expected to add.
const BASELINE: [Expected<'static>; 2] = [
    ("dns.aaaa.missing", "clean.test", Info),
    ("dns.aaaa.missing", "www.clean.test", Info),
];

/// Audits and expects exactly `expected` among the findings of these families, beyond the [`BASELINE`]: the
/// first entry is the case's own finding, any others are consequences the same change cannot avoid. Returns the
/// audit for further checks.
async fn fires(scenario: Scenario, manifest: &str, expected: &[Expected<'_>]) -> Audit {
    fires_with(scenario, manifest, Options::default(), expected).await
}

async fn fires_with(
    scenario: Scenario,
    manifest: &str,
    options: Options,
    expected: &[Expected<'_>],
) -> Audit {
    let audit = audit_with(scenario, manifest, options).await;
    for (id, subject, severity) in expected {
        audit.expect(id, subject, *severity);
    }
    let by_name = |a: &Expected<'_>, b: &Expected<'_>| (a.0, a.1).cmp(&(b.0, b.1));
    let mut found: Vec<Expected<'_>> = audit
        .routing_findings()
        .into_iter()
        .filter(|f| expected.contains(f) || !BASELINE.contains(f))
        .collect();
    found.sort_by(by_name);
    let mut wanted = expected.to_vec();
    wanted.sort_by(by_name);
    assert_eq!(
        found,
        wanted,
        "the change must produce exactly the expected findings; active findings:\n{}",
        audit.listing()
    );
    audit
}

fn evidence_mentions(finding: &Finding, text: &str) {
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.to_ascii_lowercase().contains(&text.to_ascii_lowercase())),
        "{} evidence does not mention {text:?}: {:?}",
        finding.id,
        finding.evidence
    );
}

// ---- scenario tweaks ----

/// `scenarios::clean()` with one change.
fn clean_with(tweak: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut scenario = scenarios::clean();
    tweak(&mut scenario);
    scenario
}

/// The clean site with what `scenarios::clean()` lacks to be quiet: IPv6 (AAAA ::1) on the apex and www, served
/// by the lab's IPv6 listener.
fn healthy() -> Scenario {
    clean_with(|s| {
        edit_zone(s, |z| {
            z.aaaa("@", Ipv6Addr::LOCALHOST)
                .aaaa("www", Ipv6Addr::LOCALHOST)
        })
    })
}

/// Whether this machine has IPv6 loopback (the lab then has an IPv6 listener).
fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

fn zone(s: &mut Scenario) -> &mut Zone {
    s.zone_mut(ORIGIN).unwrap()
}

/// Rebuilds the clean zone through its builder methods.
fn edit_zone(s: &mut Scenario, edit: impl FnOnce(Zone) -> Zone) {
    let zone = zone(s);
    let old = std::mem::replace(zone, Zone::new(ORIGIN));
    *zone = edit(old);
}

/// Drops the records at `name` (relative to the origin) whose data matches.
fn remove_records(s: &mut Scenario, name: &str, matches: impl Fn(&RecordData) -> bool) {
    let zone = zone(s);
    let name = zone.qualify(name);
    zone.records
        .retain(|r| !(r.name == name && matches(&r.data)));
}

fn site<'a>(s: &'a mut Scenario, host: &str) -> &'a mut Site {
    s.site_mut(host).unwrap_or_else(|| panic!("no site {host}"))
}

/// Adds or replaces an HTTPS page of `host`.
fn set_page(s: &mut Scenario, host: &str, path: &str, page: Page) {
    let site = site(s, host);
    site.https = std::mem::replace(&mut site.https, Handler::Close).with_page(path, page);
}

/// Adds or replaces a plain-HTTP page of `host`.
fn set_http_page(s: &mut Scenario, host: &str, path: &str, page: Page) {
    let site = site(s, host);
    site.http = std::mem::replace(&mut site.http, Handler::Close).with_page(path, page);
}

fn https_pages<'a>(s: &'a mut Scenario, host: &str) -> &'a mut Vec<(String, Page)> {
    match &mut site(s, host).https {
        Handler::Pages(pages) => pages,
        other => panic!("{host} does not serve pages over https: {other:?}"),
    }
}

fn remove_page(s: &mut Scenario, host: &str, path: &str) {
    https_pages(s, host).retain(|(p, _)| p != path);
}

/// Rewrites the body of an HTTPS page; `from` must occur in it.
fn replace_in_page(s: &mut Scenario, host: &str, path: &str, from: &str, to: &str) {
    let page = https_pages(s, host)
        .iter_mut()
        .find(|(p, _)| p == path)
        .map(|(_, page)| page)
        .unwrap_or_else(|| panic!("no page {path} on {host}"));
    assert!(page.body.contains(from), "{host}{path} has no {from:?}");
    page.body = page.body.replace(from, to);
}

/// A redirect page (any status) to `location`, taken verbatim.
fn moved(status: u16, location: &str) -> Page {
    Page::html(status, "").header("location", location)
}

/// `CLEAN_MANIFEST` with one edit; `from` must occur in it.
fn clean_manifest_with(from: &str, to: &str) -> String {
    assert!(CLEAN.contains(from), "the clean manifest has no {from:?}");
    CLEAN.replacen(from, to, 1)
}

/// `CLEAN_MANIFEST` with tables appended.
fn clean_manifest_plus(extra: &str) -> String {
    format!("{CLEAN}\n{extra}")
}

/// A loopback port nothing listens on (bound, read, released).
fn closed_port() -> u16 {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.local_addr().unwrap().port()
}

// ---- negative: a healthy site is quiet ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_site_has_no_dns_or_routing_findings() {
    if !has_ipv6_loopback() {
        println!(
            "skipped: no IPv6 loopback, so the lab cannot serve the AAAA records a quiet site needs"
        );
        return;
    }
    let audit = audit(healthy(), CLEAN).await;
    assert!(audit.ipv6);
    assert_eq!(audit.routing_findings(), [], "\n{}", audit.listing());
}

/// `scenarios::clean()` as shipped publishes no AAAA record at all: the only findings of these families it gets
/// are the informational `dns.aaaa.missing` on the apex and www, the [`BASELINE`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_scenario_only_lacks_ipv6() {
    let audit = audit(scenarios::clean(), CLEAN).await;
    assert_eq!(audit.routing_findings(), BASELINE, "\n{}", audit.listing());
}

// ---- DNS ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_host_missing_on_a_subdomain_is_high() {
    let scenario = clean_with(|s| zone(s).remove_name("members"));
    // The HTTP and TLS rules leave the unresolvable host to the DNS finding.
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.host.missing", "members.clean.test", High)],
    )
    .await;
    evidence_mentions(
        audit.get("dns.host.missing", "members.clean.test"),
        "NXDOMAIN",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_host_missing_on_www_is_a_blocker() {
    let scenario = clean_with(|s| zone(s).remove_name("www"));
    // www no longer resolves, so it is not judged for IPv6 either.
    fires(
        scenario,
        CLEAN,
        &[
            ("dns.host.missing", "www.clean.test", Blocker),
            ("dns.aaaa.missing", "clean.test", Info),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_host_error_on_servfail() {
    let scenario = scenarios::clean().dns_servfail("api.clean.test");
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.host.error", "api.clean.test", High)],
    )
    .await;
    evidence_mentions(audit.get("dns.host.error", "api.clean.test"), "SERVFAIL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_dangling_inside_the_zone_is_high() {
    let scenario = clean_with(|s| {
        zone(s).remove_name("members");
        edit_zone(s, |z| z.cname("members", "old-members.clean.test"));
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.cname.dangling", "members.clean.test", High)],
    )
    .await;
    evidence_mentions(
        audit.get("dns.cname.dangling", "members.clean.test"),
        "members.clean.test → old-members.clean.test",
    );
}

/// A CNAME to an unclaimed GitHub Pages name. The lab also serves an (empty) `github.io` zone, standing in for
/// the public internet, so the target is NXDOMAIN as a recursive resolver would report it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_dangling_at_a_takeover_prone_host_is_a_blocker() {
    let scenario = clean_with(|s| {
        zone(s).remove_name("members");
        edit_zone(s, |z| z.cname("members", "clean-members.github.io"));
    })
    .zone(Zone::new("github.io"));
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.cname.dangling", "members.clean.test", Blocker)],
    )
    .await;
    evidence_mentions(
        audit.get("dns.cname.dangling", "members.clean.test"),
        "GitHub Pages",
    );
}

/// Without a `github.io` zone the lab, an authoritative-only server, answers REFUSED for the CNAME's target.
/// The audit cannot tell whether the target exists, so it reports a failed lookup (with the CNAME in the facts),
/// not a dangling CNAME.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cname_whose_target_is_refused_is_a_lookup_error() {
    let scenario = clean_with(|s| {
        zone(s).remove_name("members");
        edit_zone(s, |z| z.cname("members", "clean-members.github.io"));
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.host.error", "members.clean.test", High)],
    )
    .await;
    evidence_mentions(audit.get("dns.host.error", "members.clean.test"), "refused");
    let members = audit
        .facts
        .hosts
        .iter()
        .find(|h| h.name == "members.clean.test")
        .unwrap();
    assert_eq!(members.dns.cname_chain, ["clean-members.github.io"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_long_chain() {
    let scenario = clean_with(|s| {
        zone(s).remove_name("members");
        edit_zone(s, |z| {
            z.cname("members", "hop1.clean.test")
                .cname("hop1", "hop2.clean.test")
                .cname("hop2", "app.clean.test")
        });
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.cname.long_chain", "members.clean.test", Medium)],
    )
    .await;
    evidence_mentions(
        audit.get("dns.cname.long_chain", "members.clean.test"),
        "members.clean.test → hop1.clean.test → hop2.clean.test → app.clean.test",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ns_single() {
    // The lab generates ns1/ns2 only for a zone without NS at the apex: keep exactly one.
    let scenario = clean_with(|s| {
        remove_records(s, "@", |d| matches!(d, RecordData::Ns(_)));
        edit_zone(s, |z| z.ns("@", "ns1.clean.test"));
    });
    let audit = fires(scenario, CLEAN, &[("dns.ns.single", "clean.test", Medium)]).await;
    assert_eq!(audit.facts.zone.ns, ["ns1.clean.test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ns_inconsistent() {
    // A second lab stands for ns2, serving a newer copy of the zone.
    let newer = clean_with(|s| zone(s).serial = 2);
    let ns2 = tokio::time::timeout(DEADLINE, Lab::start(newer))
        .await
        .unwrap()
        .unwrap();
    let options = Options {
        rules_first: vec![format!(
            "ns2.clean.test:53:127.0.0.1:{}",
            ns2.dns_addr().port()
        )],
        ..Options::default()
    };
    let audit = fires_with(
        scenarios::clean(),
        CLEAN,
        options,
        &[("dns.ns.inconsistent", "clean.test", High)],
    )
    .await;
    let finding = audit.get("dns.ns.inconsistent", "clean.test");
    evidence_mentions(finding, "ns1.clean.test");
    evidence_mentions(finding, "SOA serial 1");
    evidence_mentions(finding, "ns2.clean.test");
    evidence_mentions(finding, "SOA serial 2");
    drop(ns2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ns_not_authoritative_when_a_nameserver_does_not_answer() {
    let port = closed_port();
    let options = Options {
        rules_first: vec![format!("ns2.clean.test:53:127.0.0.1:{port}")],
        ..Options::default()
    };
    let audit = fires_with(
        scenarios::clean(),
        CLEAN,
        options,
        &[("dns.ns.not_authoritative", "ns2.clean.test", High)],
    )
    .await;
    evidence_mentions(
        audit.get("dns.ns.not_authoritative", "ns2.clean.test"),
        &format!("ns2.clean.test (127.0.0.1:{port})"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_caa_missing() {
    let scenario = clean_with(|s| remove_records(s, "@", |d| matches!(d, RecordData::Caa { .. })));
    fires(scenario, CLEAN, &[("dns.caa.missing", "clean.test", Info)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_caa_mismatch() {
    // The lab CA is "Launchready Lab"; a CAA naming only Let's Encrypt forbids it.
    let scenario = clean_with(|s| {
        remove_records(s, "@", |d| matches!(d, RecordData::Caa { .. }));
        edit_zone(s, |z| z.caa("@", false, "issue", "letsencrypt.org"));
    });
    let audit = fires(scenario, CLEAN, &[("dns.caa.mismatch", "clean.test", High)]).await;
    let finding = audit.get("dns.caa.mismatch", "clean.test");
    evidence_mentions(finding, "Launchready Lab");
    evidence_mentions(finding, "letsencrypt.org");
}

/// `scenarios::clean()` itself has no AAAA records; subdomains are not judged for IPv6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_aaaa_missing_on_apex_and_www() {
    fires(scenarios::clean(), CLEAN, &BASELINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_aaaa_unreachable() {
    if !has_ipv6_loopback() {
        println!("skipped: no IPv6 loopback, so the lab has no IPv6 listener");
        return;
    }
    let mut scenario = healthy();
    site(&mut scenario, "www.clean.test").ipv6 = false;
    let audit = fires(
        scenario,
        CLEAN,
        &[("dns.aaaa.unreachable", "www.clean.test", High)],
    )
    .await;
    assert!(audit.ipv6);
    evidence_mentions(
        audit.get("dns.aaaa.unreachable", "www.clean.test"),
        "AAAA ::1",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_address_private_without_intranet() {
    let manifest = clean_manifest_with("intranet = true", "intranet = false");
    let audit = fires(
        scenarios::clean(),
        &manifest,
        &[
            ("dns.address.private", "clean.test", High),
            ("dns.address.private", "www.clean.test", High),
            ("dns.address.private", "app.clean.test", High),
            ("dns.address.private", "members.clean.test", High),
            ("dns.address.private", "api.clean.test", High),
            ("dns.address.private", "admin.clean.test", High),
        ],
    )
    .await;
    assert_eq!(
        audit.get("dns.address.private", "clean.test").evidence,
        ["127.0.0.1 (loopback)"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ttl_long_on_the_apex() {
    let scenario = clean_with(|s| {
        remove_records(s, "@", |d| matches!(d, RecordData::A(_)));
        edit_zone(s, |z| {
            z.add_ttl("@", 86_400, RecordData::A(Ipv4Addr::LOCALHOST))
        });
    });
    fires(scenario, CLEAN, &[("dns.ttl.long", "clean.test", Info)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_wildcard() {
    let scenario = clean_with(|s| {
        zone(s).records.push(Record::new(
            "*.clean.test",
            300,
            RecordData::A(Ipv4Addr::LOCALHOST),
        ))
    });
    let audit = fires(scenario, CLEAN, &[("dns.wildcard", "clean.test", Info)]).await;
    evidence_mentions(audit.get("dns.wildcard", "clean.test"), "127.0.0.1");
}

// ---- redirects ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loop() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            "app.clean.test",
            "/",
            moved(301, "https://app.clean.test/home"),
        );
        set_page(
            s,
            "app.clean.test",
            "/home",
            moved(301, "https://app.clean.test/"),
        );
    });
    // http://app upgrades into the same loop.
    let audit = fires(
        scenario,
        CLEAN,
        &[
            ("redirect.loop", "https://app.clean.test/", Blocker),
            ("redirect.loop", "http://app.clean.test/", Blocker),
        ],
    )
    .await;
    assert_eq!(audit.chain("https://app.clean.test/").end, ChainEnd::Loop);
    assert_eq!(
        audit.hop_urls("https://app.clean.test/"),
        ["https://app.clean.test/", "https://app.clean.test/home"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_too_many_hops_on_an_entry_point() {
    // http://clean.test upgrades on its own host first, then moves to www: two redirects.
    let scenario = clean_with(|s| site(s, ORIGIN).http = Handler::redirect_to_https(ORIGIN));
    let audit = fires(
        scenario,
        CLEAN,
        &[("redirect.too_many_hops", "http://clean.test/", High)],
    )
    .await;
    assert_eq!(
        audit.hop_urls("http://clean.test/"),
        [
            "http://clean.test/",
            "https://clean.test/",
            "https://www.clean.test/"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_too_many_hops_is_a_blocker_when_the_budget_runs_out() {
    // 1,000 hops behind https://clean.test/; the audit gives up after max_hops requests.
    let scenario = clean_with(|s| site(s, ORIGIN).https = Handler::redirect_counter(301, 1000));
    let manifest = clean_manifest_with("intranet = true", "intranet = true\nmax_hops = 10");
    // The counter answers 404 for every other path, the apex's legacy link included.
    let audit = fires(
        scenario,
        &manifest,
        &[
            ("redirect.too_many_hops", "https://clean.test/", Blocker),
            ("legacy_link.broken", "https://clean.test/spring-sale", High),
        ],
    )
    .await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.end, ChainEnd::TooManyHops);
    assert_eq!(chain.hops.len(), 10);
    assert_eq!(chain.hops[9].url, "https://clean.test/hop/9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_canonical_inconsistent() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            ORIGIN,
            "/",
            Page::html(200, "<!doctype html><title>apex</title>"),
        )
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[("redirect.canonical_inconsistent", "clean.test", High)],
    )
    .await;
    evidence_mentions(
        audit.get("redirect.canonical_inconsistent", "clean.test"),
        "https://clean.test/ → https://clean.test/",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_https_downgrade() {
    let scenario = clean_with(|s| set_page(s, ORIGIN, "/", moved(301, "http://www.clean.test/")));
    // www's plain-http side upgrades again, which makes it two redirects.
    let audit = fires(
        scenario,
        CLEAN,
        &[
            ("redirect.https_downgrade", "https://clean.test/", High),
            ("redirect.too_many_hops", "https://clean.test/", High),
        ],
    )
    .await;
    assert_eq!(
        audit.hop_urls("https://clean.test/"),
        [
            "https://clean.test/",
            "http://www.clean.test/",
            "https://www.clean.test/"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_no_https() {
    let scenario = clean_with(|s| {
        set_http_page(
            s,
            "www.clean.test",
            "/",
            Page::html(200, "<!doctype html><title>plain</title>"),
        )
    });
    // Ending on http://www also leaves the canonical URL.
    fires(
        scenario,
        CLEAN,
        &[
            ("redirect.no_https", "http://www.clean.test/", Blocker),
            ("redirect.canonical_inconsistent", "clean.test", High),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_temporary() {
    let scenario = clean_with(|s| set_page(s, ORIGIN, "/", moved(302, "https://www.clean.test/")));
    fires(
        scenario,
        CLEAN,
        &[("redirect.temporary", "https://clean.test/", Medium)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_cross_host_before_https() {
    let scenario =
        clean_with(|s| set_http_page(s, ORIGIN, "/", moved(301, "http://www.clean.test/")));
    // http://apex → http://www → https://www is also two redirects.
    let audit = fires(
        scenario,
        CLEAN,
        &[
            (
                "redirect.cross_host_before_https",
                "http://clean.test/",
                Medium,
            ),
            ("redirect.too_many_hops", "http://clean.test/", High),
        ],
    )
    .await;
    assert_eq!(
        audit.hop_urls("http://clean.test/"),
        [
            "http://clean.test/",
            "http://www.clean.test/",
            "https://www.clean.test/"
        ]
    );
}

// ---- routes and subdomains ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_not_found_on_a_critical_route_is_a_blocker() {
    let scenario = clean_with(|s| remove_page(s, "app.clean.test", "/login"));
    fires(
        scenario,
        CLEAN,
        &[("route.not_found", "https://app.clean.test/login", Blocker)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_not_found_on_another_route_is_high() {
    let manifest = clean_manifest_plus(
        "[[route]]\nname = \"blog\"\nhost = \"www.clean.test\"\npath = \"/blog\"\nkind = \"other\"\n",
    );
    fires(
        scenarios::clean(),
        &manifest,
        &[("route.not_found", "https://www.clean.test/blog", High)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_unexpected_status() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            "app.clean.test",
            "/login",
            Page::html(500, "<h1>oops</h1>"),
        )
    });
    fires(
        scenario,
        CLEAN,
        &[(
            "route.unexpected_status",
            "https://app.clean.test/login",
            High,
        )],
    )
    .await;
}

/// A route whose URL is also a subdomain's root (here `https://admin.clean.test/`, which answers 401) is
/// planned once, as the subdomain chain, so the route's `expect_status` is never compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_at_a_subdomain_root_is_judged() {
    let manifest = clean_manifest_plus(
        "[[route]]\nname = \"admin-home\"\nhost = \"admin.clean.test\"\npath = \"/\"\nkind = \"member\"\n",
    );
    fires(
        scenarios::clean(),
        &manifest,
        &[(
            "route.unexpected_status",
            "https://admin.clean.test/",
            Medium,
        )],
    )
    .await;
}

/// A critical route whose redirect has no Location does not load; it must not pass silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_route_that_does_not_load_is_reported() {
    let scenario = clean_with(|s| set_page(s, "app.clean.test", "/login", Page::html(301, "")));
    let audit = audit(scenario, CLEAN).await;
    assert_eq!(
        audit.chain("https://app.clean.test/login").end,
        ChainEnd::BadRedirect
    );
    let finding = audit
        .active()
        .find(|f| f.id == "route.unreachable" && f.subject == "https://app.clean.test/login")
        .unwrap_or_else(|| {
            panic!(
                "no route.unreachable; active findings:\n{}",
                audit.listing()
            )
        });
    assert_eq!(finding.severity, Blocker, "the login route is critical");
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.contains("no Location header")),
        "{:?}",
        finding.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subdomain_broken_on_5xx() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            "api.clean.test",
            "/",
            Page::json(503, r#"{"status":"down"}"#),
        )
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[
            ("subdomain.broken", "https://api.clean.test/", High),
            ("subdomain.broken", "http://api.clean.test/", High),
        ],
    )
    .await;
    let finding = audit.get("subdomain.broken", "https://api.clean.test/");
    assert!(finding.title.contains("503"), "{}", finding.title);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subdomain_broken_when_it_hangs() {
    let scenario = clean_with(|s| site(s, "api.clean.test").https = Handler::Hang);
    let options = Options {
        timeout: Some(Duration::from_secs(1)),
        ..Options::default()
    };
    let audit = fires_with(
        scenario,
        CLEAN,
        options,
        &[
            ("subdomain.broken", "https://api.clean.test/", High),
            ("subdomain.broken", "http://api.clean.test/", High),
        ],
    )
    .await;
    evidence_mentions(
        audit.get("subdomain.broken", "https://api.clean.test/"),
        "timeout",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subdomain_wrong_destination() {
    let manifest = clean_manifest_with(
        r#"subdomains = ["app", "members", "api", "admin"]"#,
        r#"subdomains = ["app", { name = "members", destination = "https://app.clean.test/login" }, "api", "admin"]"#,
    );
    let audit = fires(
        scenarios::clean(),
        &manifest,
        &[("subdomain.wrong_destination", "members.clean.test", High)],
    )
    .await;
    let finding = audit.get("subdomain.wrong_destination", "members.clean.test");
    assert!(
        finding.title.contains("https://members.clean.test/"),
        "{}",
        finding.title
    );
}

// ---- legacy links ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_broken() {
    let scenario = clean_with(|s| remove_page(s, ORIGIN, "/spring-sale"));
    let audit = fires(
        scenario,
        CLEAN,
        &[("legacy_link.broken", "https://clean.test/spring-sale", High)],
    )
    .await;
    let finding = audit.get("legacy_link.broken", "https://clean.test/spring-sale");
    assert!(finding.title.contains("404"), "{}", finding.title);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_wrong_target() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            ORIGIN,
            "/spring-sale",
            moved(301, "https://www.clean.test/"),
        )
    });
    fires(
        scenario,
        CLEAN,
        &[(
            "legacy_link.wrong_target",
            "https://clean.test/spring-sale",
            High,
        )],
    )
    .await;
}

/// A legacy link whose old URL is also an entry point is planned once, as the entry point, so where it lands is
/// never compared with its `to`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_link_from_an_entry_point_is_judged() {
    let manifest = clean_manifest_plus(
        "[[legacy_link]]\nfrom = \"http://clean.test/\"\nto = \"https://www.clean.test/pricing\"\n",
    );
    fires(
        scenarios::clean(),
        &manifest,
        &[("legacy_link.wrong_target", "http://clean.test/", High)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_multi_hop() {
    // Via the apex's own /pricing, which redirects again to www.
    let scenario = clean_with(|s| {
        set_page(
            s,
            ORIGIN,
            "/spring-sale",
            moved(301, "https://clean.test/pricing"),
        )
    });
    fires(
        scenario,
        CLEAN,
        &[(
            "legacy_link.multi_hop",
            "https://clean.test/spring-sale",
            Medium,
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_temporary() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            ORIGIN,
            "/spring-sale",
            moved(302, "https://www.clean.test/pricing"),
        )
    });
    fires(
        scenario,
        CLEAN,
        &[(
            "legacy_link.temporary",
            "https://clean.test/spring-sale",
            Medium,
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_links_file_entry_that_404s_is_broken() {
    let options = Options {
        links: vec![
            "https://www.clean.test/black-friday",
            // Lands on a page in one permanent hop: fine.
            "https://clean.test/pricing",
        ],
        ..Options::default()
    };
    fires_with(
        scenarios::clean(),
        CLEAN,
        options,
        &[(
            "legacy_link.broken",
            "https://www.clean.test/black-friday",
            High,
        )],
    )
    .await;
}

// ---- landing page content and reachability ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_mixed() {
    let scenario = clean_with(|s| {
        replace_in_page(
            s,
            "www.clean.test",
            "/",
            r#"src="https://www.clean.test/assets/hero.svg""#,
            r#"src="http://www.clean.test/assets/hero.svg""#,
        )
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[("content.mixed", "https://www.clean.test/", High)],
    )
    .await;
    assert_eq!(
        audit
            .get("content.mixed", "https://www.clean.test/")
            .evidence,
        [r#"<img src="http://www.clean.test/assets/hero.svg">"#]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_canonical_mismatch() {
    let scenario = clean_with(|s| {
        replace_in_page(
            s,
            "www.clean.test",
            "/",
            r#"<link rel="canonical" href="https://www.clean.test/">"#,
            r#"<link rel="canonical" href="https://clean.test/">"#,
        )
    });
    fires(
        scenario,
        CLEAN,
        &[(
            "content.canonical_mismatch",
            "https://www.clean.test/",
            Medium,
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_landing_status() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            "www.clean.test",
            "/",
            Page::html(500, "<h1>Internal error</h1>"),
        )
    });
    fires(
        scenario,
        CLEAN,
        &[("http.landing.status", "https://www.clean.test/", Blocker)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_unreachable_when_an_entry_point_closes_the_connection() {
    let scenario = clean_with(|s| site(s, ORIGIN).http = Handler::Close);
    fires(
        scenario,
        CLEAN,
        &[("http.unreachable", "http://clean.test/", Blocker)],
    )
    .await;
}

// ---- certificates ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_expired() {
    let scenario = clean_with(|s| site(s, "members.clean.test").cert = CertSpec::Expired);
    fires(
        scenario,
        CLEAN,
        &[("tls.cert.expired", "members.clean.test", Blocker)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_hostname_mismatch() {
    let scenario = clean_with(|s| {
        site(s, "members.clean.test").cert = CertSpec::WrongHost("other.clean.test".to_string())
    });
    fires(
        scenario,
        CLEAN,
        &[("tls.cert.hostname_mismatch", "members.clean.test", Blocker)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_untrusted() {
    let scenario = clean_with(|s| site(s, "members.clean.test").cert = CertSpec::SelfSigned);
    fires(
        scenario,
        CLEAN,
        &[("tls.cert.untrusted", "members.clean.test", Blocker)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_expiring() {
    let scenario = clean_with(|s| site(s, "members.clean.test").cert = CertSpec::ExpiresInDays(9));
    let audit = fires(
        scenario,
        CLEAN,
        &[("tls.cert.expiring", "members.clean.test", High)],
    )
    .await;
    let finding = audit.get("tls.cert.expiring", "members.clean.test");
    assert!(finding.title.contains("days"), "{}", finding.title);
}

// ---- bad input: every case ends within the deadline as a finding or a clear fact ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_location_is_followed_against_the_current_url() {
    let scenario =
        clean_with(|s| set_page(s, "app.clean.test", "/", moved(301, "login?from=root")));
    let audit = fires(scenario, CLEAN, &[]).await;
    let chain = audit.chain("https://app.clean.test/");
    assert_eq!(chain.end, ChainEnd::Final, "{}", chain.describe());
    assert_eq!(
        audit.hop_urls("https://app.clean.test/"),
        [
            "https://app.clean.test/",
            "https://app.clean.test/login?from=root"
        ]
    );
    assert_eq!(chain.final_status(), Some(200));
}

/// `javascript:` parses as a URL, so the chain follows it and the next request fails on its scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_location_makes_the_entry_point_unreachable() {
    let scenario = clean_with(|s| set_page(s, ORIGIN, "/", moved(301, "javascript:alert(1)")));
    let audit = fires(
        scenario,
        CLEAN,
        &[("http.unreachable", "https://clean.test/", Blocker)],
    )
    .await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.end, ChainEnd::Failed, "{}", chain.describe());
    evidence_mentions(
        audit.get("http.unreachable", "https://clean.test/"),
        "unsupported scheme `javascript`",
    );
}

/// A Location that is not a URL ends the chain as a bad redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_location_makes_the_entry_point_unreachable() {
    let scenario = clean_with(|s| set_page(s, ORIGIN, "/", moved(301, "http://exa mple.com/")));
    let audit = fires(
        scenario,
        CLEAN,
        &[("http.unreachable", "https://clean.test/", Blocker)],
    )
    .await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.end, ChainEnd::BadRedirect, "{}", chain.describe());
    assert_eq!(
        chain.hops[0].location.as_deref(),
        Some("http://exa mple.com/")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_without_location_makes_the_entry_point_unreachable() {
    let scenario = clean_with(|s| set_page(s, ORIGIN, "/", Page::html(301, "")));
    let audit = fires(
        scenario,
        CLEAN,
        &[("http.unreachable", "https://clean.test/", Blocker)],
    )
    .await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.end, ChainEnd::BadRedirect, "{}", chain.describe());
    assert_eq!(chain.hops.len(), 1);
    assert_eq!(chain.hops[0].location, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_header_breaks_the_subdomain_with_a_protocol_error() {
    let scenario = clean_with(|s| {
        site(s, "api.clean.test").https = Handler::huge_header(200, 10 * 1024 * 1024)
    });
    let audit = fires(
        scenario,
        CLEAN,
        &[
            ("subdomain.broken", "https://api.clean.test/", High),
            ("subdomain.broken", "http://api.clean.test/", High),
        ],
    )
    .await;
    evidence_mentions(
        audit.get("subdomain.broken", "https://api.clean.test/"),
        "protocol error",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dribbling_subdomain_is_broken_by_the_timeout() {
    let scenario = clean_with(|s| {
        site(s, "api.clean.test").https = Handler::dribble(200, "{\"status\":\"ok\"}")
    });
    let options = Options {
        timeout: Some(Duration::from_secs(2)),
        ..Options::default()
    };
    let audit = fires_with(
        scenario,
        CLEAN,
        options,
        &[
            ("subdomain.broken", "https://api.clean.test/", High),
            ("subdomain.broken", "http://api.clean.test/", High),
        ],
    )
    .await;
    evidence_mentions(
        audit.get("subdomain.broken", "https://api.clean.test/"),
        "timeout",
    );
}

/// Every UDP answer is truncated: the audit must retry over TCP and see the same site as over UDP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_udp_answers_are_retried_over_tcp() {
    let audit = fires(scenarios::clean().dns_truncate_udp(true), CLEAN, &[]).await;
    for host in &audit.facts.hosts {
        assert_eq!(
            host.dns.outcome,
            DnsOutcome::Resolved,
            "{}: {:?}",
            host.name,
            host.dns
        );
    }
    let zone = &audit.facts.zone;
    assert_eq!(zone.ns, ["ns1.clean.test", "ns2.clean.test"]);
    assert!(
        zone.nameservers
            .iter()
            .all(|ns| ns.serial == Some(1) && ns.authoritative),
        "{:?}",
        zone.nameservers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_not_yet_valid() {
    let scenario = clean_with(|s| site(s, "members.clean.test").cert = CertSpec::NotYetValid);
    fires(
        scenario,
        CLEAN,
        &[("tls.cert.not_yet_valid", "members.clean.test", Blocker)],
    )
    .await;
}

/// Port 443 of one host refuses connections: the host does not serve HTTPS at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_no_https_when_443_refuses() {
    let port = closed_port();
    let options = Options {
        rules_first: vec![format!("members.clean.test:443:127.0.0.1:{port}")],
        ..Options::default()
    };
    let audit = fires_with(
        scenarios::clean(),
        CLEAN,
        options,
        &[("tls.no_https", "members.clean.test", Blocker)],
    )
    .await;
    evidence_mentions(audit.get("tls.no_https", "members.clean.test"), "refused");
}
