//! The DNS and routing rules end to end: the real audit (gather + judge) against the in-process lab's DNS, HTTP
//! and HTTPS servers, no mocks. A healthy lab site must stay quiet; each flawed variant changes one thing from
//! `scenarios::clean()` and must fire exactly the finding id that describes it. Bad input (broken redirects,
//! huge headers, dribbling servers, truncated DNS) must end in a finding within the deadline, never a hang.
#![allow(clippy::unwrap_used)]

use launchready_findings::Finding;
use launchready_findings::Severity::{self, Blocker, High, Info, Medium};
use launchready_findings::facts::{ChainEnd, DnsOutcome};
use launchready_lab::{CertSpec, Handler, Page, Record, RecordData, Scenario, Zone, scenarios};
use launchready_testkit::lab::{
    Audit, Case, DEADLINE, Edit, Expected, closed_port, evidence_mentions, has_ipv6_loopback, moved,
};
use launchready_testkit::watchdog;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The per-operation network timeout unless a case asks for another.
const OP_TIMEOUT: Duration = Duration::from_secs(2);
const ORIGIN: &str = scenarios::CLEAN_ORIGIN;
const MEMBERS: &str = "members.clean.test";
const API: &str = "api.clean.test";
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

/// What `scenarios::clean()` reports as shipped (it publishes no AAAA records); left out when comparing a
/// variant's findings with what it is expected to add.
const BASELINE: [Expected<'static>; 2] = [
    ("dns.aaaa.missing", "clean.test", Info),
    ("dns.aaaa.missing", "www.clean.test", Info),
];

/// The clean site and its manifest, audited with this file's timeout.
fn case() -> Case {
    Case::clean().timeout(OP_TIMEOUT)
}

/// The clean site with one change.
fn clean(tweak: impl FnOnce(&mut Scenario)) -> Case {
    case().tweak(tweak)
}

/// The clean site with what `scenarios::clean()` lacks to be quiet: IPv6 (AAAA ::1) on the apex and www, served
/// by the lab's IPv6 listener.
fn healthy() -> Case {
    clean(|s| {
        s.edit_zone(ORIGIN, |z| {
            z.aaaa("@", Ipv6Addr::LOCALHOST)
                .aaaa("www", Ipv6Addr::LOCALHOST)
        })
    })
}

/// Audits and expects exactly `expected` among the findings of these families, beyond the [`BASELINE`]: the
/// first entry is the case's own finding, any others are consequences the same change cannot avoid. Returns the
/// audit for further checks.
async fn fires(case: Case, expected: &[Expected<'_>]) -> Audit {
    let audit = case.run().await;
    audit.check_exactly(&PREFIXES, &BASELINE, expected);
    audit
}

/// A broken api subdomain is reported on both of its entry points.
const API_BROKEN: [Expected<'static>; 2] = [
    ("subdomain.broken", "https://api.clean.test/", High),
    ("subdomain.broken", "http://api.clean.test/", High),
];

/// [`fires`] for a case that breaks the api subdomain; returns the finding about its https entry point.
async fn api_breaks(case: Case) -> Finding {
    let audit = fires(case, &API_BROKEN).await;
    audit.get(API_BROKEN[0].0, API_BROKEN[0].1).clone()
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
    let audit = healthy().run().await;
    assert!(audit.ipv6);
    assert_eq!(audit.in_families(&PREFIXES), [], "\n{}", audit.listing());
}

/// `scenarios::clean()` as shipped publishes no AAAA record at all: the only findings of these families it gets
/// are the informational `dns.aaaa.missing` on the apex and www, the [`BASELINE`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_scenario_only_lacks_ipv6() {
    let audit = case().run().await;
    assert_eq!(
        audit.in_families(&PREFIXES),
        BASELINE,
        "\n{}",
        audit.listing()
    );
}

// ---- DNS ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_host_missing_on_a_subdomain_is_high() {
    // The HTTP and TLS rules leave the unresolvable host to the DNS finding.
    let case = clean(|s| s.zone_named(ORIGIN).remove_name("members"));
    let audit = fires(case, &[("dns.host.missing", MEMBERS, High)]).await;
    evidence_mentions(audit.get("dns.host.missing", MEMBERS), "NXDOMAIN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_host_missing_on_www_is_a_blocker() {
    // www no longer resolves, so it is not judged for IPv6 either.
    let case = clean(|s| s.zone_named(ORIGIN).remove_name("www"));
    let expected = [
        ("dns.host.missing", "www.clean.test", Blocker),
        ("dns.aaaa.missing", "clean.test", Info),
    ];
    fires(case, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_host_error_on_servfail() {
    let case = Case::new(
        scenarios::clean().dns_servfail(API),
        scenarios::CLEAN_MANIFEST,
    );
    let audit = fires(case.timeout(OP_TIMEOUT), &[("dns.host.error", API, High)]).await;
    evidence_mentions(audit.get("dns.host.error", API), "SERVFAIL");
}

/// `members` becomes a CNAME to `target`.
fn members_cname(target: &str) -> impl FnOnce(&mut Scenario) + '_ {
    move |s| {
        s.zone_named(ORIGIN).remove_name("members");
        s.edit_zone(ORIGIN, |z| z.cname("members", target));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_dangling_inside_the_zone_is_high() {
    let case = clean(members_cname("old-members.clean.test"));
    let audit = fires(case, &[("dns.cname.dangling", MEMBERS, High)]).await;
    let finding = audit.get("dns.cname.dangling", MEMBERS);
    evidence_mentions(finding, "members.clean.test → old-members.clean.test");
}

/// A CNAME to an unclaimed GitHub Pages name. The lab also serves an (empty) `github.io` zone, standing in for
/// the public internet, so the target is NXDOMAIN as a recursive resolver would report it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_dangling_at_a_takeover_prone_host_is_a_blocker() {
    let mut case = clean(members_cname("clean-members.github.io"));
    case.scenario = case.scenario.zone(Zone::new("github.io"));
    let audit = fires(case, &[("dns.cname.dangling", MEMBERS, Blocker)]).await;
    evidence_mentions(audit.get("dns.cname.dangling", MEMBERS), "GitHub Pages");
}

/// Without a `github.io` zone the lab, an authoritative-only server, answers REFUSED for the CNAME's target.
/// The audit cannot tell whether the target exists, so it reports a failed lookup (with the CNAME in the facts),
/// not a dangling CNAME.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cname_whose_target_is_refused_is_a_lookup_error() {
    let case = clean(members_cname("clean-members.github.io"));
    let audit = fires(case, &[("dns.host.error", MEMBERS, High)]).await;
    evidence_mentions(audit.get("dns.host.error", MEMBERS), "refused");
    assert_eq!(
        audit.host(MEMBERS).dns.cname_chain,
        ["clean-members.github.io"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_long_chain() {
    let case = clean(|s| {
        members_cname("hop1.clean.test")(s);
        s.edit_zone(ORIGIN, |z| {
            z.cname("hop1", "hop2.clean.test")
                .cname("hop2", "app.clean.test")
        });
    });
    let audit = fires(case, &[("dns.cname.long_chain", MEMBERS, Medium)]).await;
    evidence_mentions(
        audit.get("dns.cname.long_chain", MEMBERS),
        "members.clean.test → hop1.clean.test → hop2.clean.test → app.clean.test",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ns_single() {
    // The lab generates ns1/ns2 only for a zone without NS at the apex: keep exactly one.
    let case = clean(|s| {
        s.remove_records(ORIGIN, "@", |d| matches!(d, RecordData::Ns(_)));
        s.edit_zone(ORIGIN, |z| z.ns("@", "ns1.clean.test"));
    });
    let audit = fires(case, &[("dns.ns.single", "clean.test", Medium)]).await;
    assert_eq!(audit.facts.zone.ns, ["ns1.clean.test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ns_inconsistent() {
    // A second lab stands for ns2, serving a newer copy of the zone.
    let newer = clean(|s| s.zone_named(ORIGIN).serial = 2).scenario;
    let ns2 = watchdog::within(
        DEADLINE,
        "starting the ns2 lab",
        launchready_lab::Lab::start(newer),
    )
    .await
    .unwrap();
    let rule = format!("ns2.clean.test:53:127.0.0.1:{}", ns2.dns_addr().port());
    let audit = fires(
        case().rule_first(rule),
        &[("dns.ns.inconsistent", "clean.test", High)],
    )
    .await;
    let finding = audit.get("dns.ns.inconsistent", "clean.test");
    for text in [
        "ns1.clean.test",
        "SOA serial 1",
        "ns2.clean.test",
        "SOA serial 2",
    ] {
        evidence_mentions(finding, text);
    }
    drop(ns2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ns_not_authoritative_when_a_nameserver_does_not_answer() {
    let port = closed_port();
    let case = case().rule_first(format!("ns2.clean.test:53:127.0.0.1:{port}"));
    let audit = fires(
        case,
        &[("dns.ns.not_authoritative", "ns2.clean.test", High)],
    )
    .await;
    evidence_mentions(
        audit.get("dns.ns.not_authoritative", "ns2.clean.test"),
        &format!("ns2.clean.test (127.0.0.1:{port})"),
    );
}

fn without_caa(s: &mut Scenario) {
    s.remove_records(ORIGIN, "@", |d| matches!(d, RecordData::Caa { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_caa_missing() {
    fires(
        clean(without_caa),
        &[("dns.caa.missing", "clean.test", Info)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_caa_mismatch() {
    // The lab CA is "Launchready Lab"; a CAA naming only Let's Encrypt forbids it.
    let case = clean(|s| {
        without_caa(s);
        s.edit_zone(ORIGIN, |z| z.caa("@", false, "issue", "letsencrypt.org"));
    });
    let audit = fires(case, &[("dns.caa.mismatch", "clean.test", High)]).await;
    let finding = audit.get("dns.caa.mismatch", "clean.test");
    evidence_mentions(finding, "Launchready Lab");
    evidence_mentions(finding, "letsencrypt.org");
}

/// `scenarios::clean()` itself has no AAAA records; subdomains are not judged for IPv6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_aaaa_missing_on_apex_and_www() {
    fires(case(), &BASELINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_aaaa_unreachable() {
    if !has_ipv6_loopback() {
        println!("skipped: no IPv6 loopback, so the lab has no IPv6 listener");
        return;
    }
    let case = healthy().tweak(|s| s.site_named("www.clean.test").ipv6 = false);
    let audit = fires(case, &[("dns.aaaa.unreachable", "www.clean.test", High)]).await;
    assert!(audit.ipv6);
    evidence_mentions(
        audit.get("dns.aaaa.unreachable", "www.clean.test"),
        "AAAA ::1",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_address_private_without_intranet() {
    let case = case().manifest_edit("intranet = true", "intranet = false");
    let expected: Vec<Expected<'_>> = scenarios::CLEAN_HOSTS
        .iter()
        .map(|h| ("dns.address.private", *h, High))
        .collect();
    let audit = fires(case, &expected).await;
    assert_eq!(
        audit.get("dns.address.private", "clean.test").evidence,
        ["127.0.0.1 (loopback)"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_ttl_long_on_the_apex() {
    let case = clean(|s| {
        s.remove_records(ORIGIN, "@", |d| matches!(d, RecordData::A(_)));
        s.edit_zone(ORIGIN, |z| {
            z.add_ttl("@", 86_400, RecordData::A(Ipv4Addr::LOCALHOST))
        });
    });
    fires(case, &[("dns.ttl.long", "clean.test", Info)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_wildcard() {
    let wildcard = Record::new("*.clean.test", 300, RecordData::A(Ipv4Addr::LOCALHOST));
    let case = clean(|s| s.zone_named(ORIGIN).records.push(wildcard));
    let audit = fires(case, &[("dns.wildcard", "clean.test", Info)]).await;
    evidence_mentions(audit.get("dns.wildcard", "clean.test"), "127.0.0.1");
}

// ---- redirects ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loop() {
    let case = clean(|s| {
        s.set_page(
            "app.clean.test",
            "/",
            moved(301, "https://app.clean.test/home"),
        );
        s.set_page(
            "app.clean.test",
            "/home",
            moved(301, "https://app.clean.test/"),
        );
    });
    // http://app upgrades into the same loop.
    let expected = [
        ("redirect.loop", "https://app.clean.test/", Blocker),
        ("redirect.loop", "http://app.clean.test/", Blocker),
    ];
    let audit = fires(case, &expected).await;
    assert_eq!(audit.chain("https://app.clean.test/").end, ChainEnd::Loop);
    assert_eq!(
        audit.hop_urls("https://app.clean.test/"),
        ["https://app.clean.test/", "https://app.clean.test/home"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_too_many_hops_on_an_entry_point() {
    // http://clean.test upgrades on its own host first, then moves to www: two redirects.
    let case = clean(|s| s.site_named(ORIGIN).http = Handler::redirect_to_https(ORIGIN));
    let audit = fires(
        case,
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
    let case = clean(|s| s.site_named(ORIGIN).https = Handler::redirect_counter(301, 1000))
        .manifest_edit("intranet = true", "intranet = true\nmax_hops = 10");
    // The counter answers 404 for every other path, the apex's legacy link included.
    let expected = [
        ("redirect.too_many_hops", "https://clean.test/", Blocker),
        ("legacy_link.broken", "https://clean.test/spring-sale", High),
    ];
    let audit = fires(case, &expected).await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.end, ChainEnd::TooManyHops);
    assert_eq!(chain.hops.len(), 10);
    assert_eq!(chain.hops[9].url, "https://clean.test/hop/9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_canonical_inconsistent() {
    let apex = Page::html(200, "<!doctype html><title>apex</title>");
    let case = clean(|s| s.set_page(ORIGIN, "/", apex));
    let audit = fires(
        case,
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
    let case = clean(|s| s.set_page(ORIGIN, "/", moved(301, "http://www.clean.test/")));
    // www's plain-http side upgrades again, which makes it two redirects.
    let expected = [
        ("redirect.https_downgrade", "https://clean.test/", High),
        ("redirect.too_many_hops", "https://clean.test/", High),
    ];
    let audit = fires(case, &expected).await;
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
    let plain = Page::html(200, "<!doctype html><title>plain</title>");
    let case = clean(|s| s.set_http_page("www.clean.test", "/", plain));
    // Ending on http://www also leaves the canonical URL.
    let expected = [
        ("redirect.no_https", "http://www.clean.test/", Blocker),
        ("redirect.canonical_inconsistent", "clean.test", High),
    ];
    fires(case, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_temporary() {
    let case = clean(|s| s.set_page(ORIGIN, "/", moved(302, "https://www.clean.test/")));
    fires(
        case,
        &[("redirect.temporary", "https://clean.test/", Medium)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_cross_host_before_https() {
    let case = clean(|s| s.set_http_page(ORIGIN, "/", moved(301, "http://www.clean.test/")));
    // http://apex → http://www → https://www is also two redirects.
    let expected = [
        (
            "redirect.cross_host_before_https",
            "http://clean.test/",
            Medium,
        ),
        ("redirect.too_many_hops", "http://clean.test/", High),
    ];
    let audit = fires(case, &expected).await;
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
    let case = clean(|s| s.remove_page("app.clean.test", "/login"));
    fires(
        case,
        &[("route.not_found", "https://app.clean.test/login", Blocker)],
    )
    .await;
}

/// The clean manifest with one more `[[route]]`.
fn with_route(name: &str, host: &str, path: &str, kind: &str) -> Case {
    case().manifest_plus(&format!(
        "[[route]]\nname = \"{name}\"\nhost = \"{host}\"\npath = \"{path}\"\nkind = \"{kind}\"\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_not_found_on_another_route_is_high() {
    let case = with_route("blog", "www.clean.test", "/blog", "other");
    fires(
        case,
        &[("route.not_found", "https://www.clean.test/blog", High)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_unexpected_status() {
    let case = clean(|s| s.set_page("app.clean.test", "/login", Page::html(500, "<h1>oops</h1>")));
    fires(
        case,
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
    let case = with_route("admin-home", "admin.clean.test", "/", "member");
    fires(
        case,
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
    let login = "https://app.clean.test/login";
    let audit = clean(|s| s.set_page("app.clean.test", "/login", Page::html(301, "")))
        .run()
        .await;
    assert_eq!(audit.chain(login).end, ChainEnd::BadRedirect);
    let finding = audit.get("route.unreachable", login);
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
    let case = clean(|s| s.set_page(API, "/", Page::json(503, r#"{"status":"down"}"#)));
    let finding = api_breaks(case).await;
    assert!(finding.title.contains("503"), "{}", finding.title);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subdomain_broken_when_it_hangs() {
    let case = clean(|s| s.site_named(API).https = Handler::Hang);
    evidence_mentions(
        &api_breaks(case.timeout(Duration::from_secs(1))).await,
        "timeout",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subdomain_wrong_destination() {
    let case = case().manifest_edit(
        r#"subdomains = ["app", "members", "api", "admin"]"#,
        r#"subdomains = ["app", { name = "members", destination = "https://app.clean.test/login" }, "api", "admin"]"#,
    );
    let audit = fires(case, &[("subdomain.wrong_destination", MEMBERS, High)]).await;
    let finding = audit.get("subdomain.wrong_destination", MEMBERS);
    assert!(
        finding.title.contains("https://members.clean.test/"),
        "{}",
        finding.title
    );
}

// ---- legacy links ----

const SPRING_SALE: &str = "https://clean.test/spring-sale";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_broken() {
    let case = clean(|s| s.remove_page(ORIGIN, "/spring-sale"));
    let audit = fires(case, &[("legacy_link.broken", SPRING_SALE, High)]).await;
    let finding = audit.get("legacy_link.broken", SPRING_SALE);
    assert!(finding.title.contains("404"), "{}", finding.title);
}

/// The apex's `/spring-sale` legacy link answers with `page`.
fn spring_sale(page: Page) -> Case {
    clean(|s| s.set_page(ORIGIN, "/spring-sale", page))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_wrong_target() {
    let case = spring_sale(moved(301, "https://www.clean.test/"));
    fires(case, &[("legacy_link.wrong_target", SPRING_SALE, High)]).await;
}

/// A legacy link whose old URL is also an entry point is planned once, as the entry point, so where it lands is
/// never compared with its `to`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_link_from_an_entry_point_is_judged() {
    let case = case().manifest_plus(
        "[[legacy_link]]\nfrom = \"http://clean.test/\"\nto = \"https://www.clean.test/pricing\"\n",
    );
    fires(
        case,
        &[("legacy_link.wrong_target", "http://clean.test/", High)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_multi_hop() {
    // Via the apex's own /pricing, which redirects again to www.
    let case = spring_sale(moved(301, "https://clean.test/pricing"));
    fires(case, &[("legacy_link.multi_hop", SPRING_SALE, Medium)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_link_temporary() {
    let case = spring_sale(moved(302, "https://www.clean.test/pricing"));
    fires(case, &[("legacy_link.temporary", SPRING_SALE, Medium)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_links_file_entry_that_404s_is_broken() {
    // The second link lands on a page in one permanent hop: fine.
    let case = case().links(&[
        "https://www.clean.test/black-friday",
        "https://clean.test/pricing",
    ]);
    fires(
        case,
        &[(
            "legacy_link.broken",
            "https://www.clean.test/black-friday",
            High,
        )],
    )
    .await;
}

// ---- landing page content and reachability ----

/// www's landing page with `from` rewritten to `to`.
fn www_landing(from: &'static str, to: &'static str) -> Case {
    clean(move |s| s.replace_in_page("www.clean.test", "/", from, to))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_mixed() {
    let case = www_landing(
        r#"src="https://www.clean.test/assets/hero.svg""#,
        r#"src="http://www.clean.test/assets/hero.svg""#,
    );
    let audit = fires(case, &[("content.mixed", "https://www.clean.test/", High)]).await;
    assert_eq!(
        audit
            .get("content.mixed", "https://www.clean.test/")
            .evidence,
        [r#"<img src="http://www.clean.test/assets/hero.svg">"#]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_canonical_mismatch() {
    let case = www_landing(
        r#"<link rel="canonical" href="https://www.clean.test/">"#,
        r#"<link rel="canonical" href="https://clean.test/">"#,
    );
    fires(
        case,
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
    let case = clean(|s| {
        s.set_page(
            "www.clean.test",
            "/",
            Page::html(500, "<h1>Internal error</h1>"),
        )
    });
    fires(
        case,
        &[("http.landing.status", "https://www.clean.test/", Blocker)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_unreachable_when_an_entry_point_closes_the_connection() {
    let case = clean(|s| s.site_named(ORIGIN).http = Handler::Close);
    fires(case, &[("http.unreachable", "http://clean.test/", Blocker)]).await;
}

// ---- certificates ----

/// members.clean.test serves `cert`, which must fire `id` about it.
async fn members_cert(cert: CertSpec, id: &str, severity: Severity) -> Audit {
    let case = clean(|s| s.site_named(MEMBERS).cert = cert);
    fires(case, &[(id, MEMBERS, severity)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_expired() {
    members_cert(CertSpec::Expired, "tls.cert.expired", Blocker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_hostname_mismatch() {
    let cert = CertSpec::WrongHost("other.clean.test".to_string());
    members_cert(cert, "tls.cert.hostname_mismatch", Blocker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_untrusted() {
    members_cert(CertSpec::SelfSigned, "tls.cert.untrusted", Blocker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_expiring() {
    let audit = members_cert(CertSpec::ExpiresInDays(9), "tls.cert.expiring", High).await;
    let finding = audit.get("tls.cert.expiring", MEMBERS);
    assert!(finding.title.contains("days"), "{}", finding.title);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_not_yet_valid() {
    members_cert(CertSpec::NotYetValid, "tls.cert.not_yet_valid", Blocker).await;
}

/// Port 443 of one host refuses connections: the host does not serve HTTPS at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_no_https_when_443_refuses() {
    let case = case().rule_first(format!(
        "members.clean.test:443:127.0.0.1:{}",
        closed_port()
    ));
    let audit = fires(case, &[("tls.no_https", MEMBERS, Blocker)]).await;
    evidence_mentions(audit.get("tls.no_https", MEMBERS), "refused");
}

// ---- bad input: every case ends within the deadline as a finding or a clear fact ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_location_is_followed_against_the_current_url() {
    let app = "https://app.clean.test/";
    let audit = fires(
        clean(|s| s.set_page("app.clean.test", "/", moved(301, "login?from=root"))),
        &[],
    )
    .await;
    let chain = audit.chain(app);
    assert_eq!(chain.end, ChainEnd::Final, "{}", chain.describe());
    assert_eq!(
        audit.hop_urls(app),
        [app, "https://app.clean.test/login?from=root"]
    );
    assert_eq!(chain.final_status(), Some(200));
}

/// The apex's landing page answers with `page`, which makes `https://clean.test/` unreachable.
async fn apex_unreachable(page: Page, end: ChainEnd) -> Audit {
    let case = clean(|s| s.set_page(ORIGIN, "/", page));
    let audit = fires(
        case,
        &[("http.unreachable", "https://clean.test/", Blocker)],
    )
    .await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.end, end, "{}", chain.describe());
    audit
}

/// `javascript:` parses as a URL, so the chain follows it and the next request fails on its scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_location_makes_the_entry_point_unreachable() {
    let audit = apex_unreachable(moved(301, "javascript:alert(1)"), ChainEnd::Failed).await;
    evidence_mentions(
        audit.get("http.unreachable", "https://clean.test/"),
        "unsupported scheme `javascript`",
    );
}

/// A Location that is not a URL ends the chain as a bad redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_location_makes_the_entry_point_unreachable() {
    let audit = apex_unreachable(moved(301, "http://exa mple.com/"), ChainEnd::BadRedirect).await;
    let location = &audit.chain("https://clean.test/").hops[0].location;
    assert_eq!(location.as_deref(), Some("http://exa mple.com/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_without_location_makes_the_entry_point_unreachable() {
    let audit = apex_unreachable(Page::html(301, ""), ChainEnd::BadRedirect).await;
    let chain = audit.chain("https://clean.test/");
    assert_eq!(chain.hops.len(), 1);
    assert_eq!(chain.hops[0].location, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_header_breaks_the_subdomain_with_a_protocol_error() {
    let case = clean(|s| s.site_named(API).https = Handler::huge_header(200, 10 * 1024 * 1024));
    evidence_mentions(&api_breaks(case).await, "protocol error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dribbling_subdomain_is_broken_by_the_timeout() {
    let case = clean(|s| s.site_named(API).https = Handler::dribble(200, "{\"status\":\"ok\"}"));
    evidence_mentions(
        &api_breaks(case.timeout(Duration::from_secs(2))).await,
        "timeout",
    );
}

/// Every UDP answer is truncated: the audit must retry over TCP and see the same site as over UDP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_udp_answers_are_retried_over_tcp() {
    let case = Case::new(
        scenarios::clean().dns_truncate_udp(true),
        scenarios::CLEAN_MANIFEST,
    );
    let audit = fires(case.timeout(OP_TIMEOUT), &[]).await;
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
