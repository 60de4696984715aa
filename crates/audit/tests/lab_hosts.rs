//! Checks that reach past the apex and www, end to end against the lab: every subdomain's http → https upgrade
//! and HSTS with severity by the host's exposure, the canonical URL inferred when the manifest names none, a
//! domain that does not exist reported once, and phones sent somewhere computers are not. Each case changes the
//! clean site in one place; the untouched clean site is the negative case for each id.
#![allow(clippy::unwrap_used)]

use launchready_findings::Severity::{Blocker, High, Info, Low, Medium};
use launchready_findings::facts::CanonicalSource;
use launchready_lab::{Handler, Page, Scenario, Site, Zone, scenarios};
use launchready_testkit::lab::{Case, Edit, evidence_mentions};

const MEMBERS: &str = "members.clean.test";
const API: &str = "api.clean.test";
const CANONICAL_LINE: &str = "canonical = \"https://www.clean.test/\"\n";

/// Every id this file is about: the clean site must report none of them.
const IDS: [&str; 7] = [
    "redirect.no_https",
    "hsts.missing",
    "hsts.max_age_short",
    "redirect.canonical_inferred",
    "redirect.canonical_inconsistent",
    "dns.domain.missing",
    "redirect.ua_divergent",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_site_has_none_of_these_findings() {
    let audit = Case::clean().check(&[], &IDS).await;
    assert_eq!(audit.facts.canonical_source, CanonicalSource::Declared);
    // The phone pass covered the entry points and the legacy link, and landed where computers do.
    assert_eq!(audit.facts.mobile_chains.len(), 5, "\n{}", audit.listing());
    let agents = audit.facts.user_agents.as_ref().unwrap();
    assert!(agents.mobile.contains("Mobile") && !agents.desktop.contains("Mobile"));
}

// ---- section: every host, not only the apex and www ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_subdomain_serving_plain_http_is_a_blocker() {
    let case = Case::clean().tweak(|s| {
        s.site_named(MEMBERS).http =
            Handler::pages([("/".to_string(), Page::html(200, "<title>Members</title>"))]);
    });
    let audit = case
        .check(
            &[("redirect.no_https", "http://members.clean.test/", Blocker)],
            &["redirect.no_https http://app.clean.test/"],
        )
        .await;
    evidence_mentions(
        audit.get("redirect.no_https", "http://members.clean.test/"),
        "http://members.clean.test/ [200]",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docs_subdomain_serving_plain_http_is_medium() {
    let docs = "docs.clean.test";
    let case = Case::clean()
        .tweak(|s| {
            s.edit_zone(scenarios::CLEAN_ORIGIN, |z| {
                z.a("docs", std::net::Ipv4Addr::LOCALHOST)
            });
            s.sites.push(
                Site::new(docs)
                    .http(Handler::pages([(
                        "/".to_string(),
                        Page::html(200, "<title>Docs</title>"),
                    )]))
                    .page("/", Page::html(200, "<title>Docs</title>")),
            );
        })
        .manifest_edit(
            "subdomains = [\"app\", \"members\", \"api\", \"admin\"]",
            "subdomains = [\"app\", \"members\", \"api\", \"admin\", \"docs\"]",
        );
    case.check(
        &[
            ("redirect.no_https", "http://docs.clean.test/", Medium),
            // The apex's includeSubDomains covers docs. for visitors who saw the apex first: one step lower.
            ("hsts.missing", docs, Low),
            ("headers.frame.missing", "https://docs.clean.test/", Low),
        ],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subdomains_are_judged_for_hsts_by_exposure() {
    let case = Case::clean().tweak(|s| {
        // members: a short HSTS without includeSubDomains; api: none at all.
        s.set_page(
            MEMBERS,
            "/",
            Page::html(200, "<title>Members</title>")
                .header("strict-transport-security", "max-age=300")
                .header("content-security-policy", "frame-ancestors 'none'"),
        );
        s.set_page(API, "/", Page::json(200, r#"{"status":"ok"}"#));
    });
    let audit = case
        .check(
            &[
                ("hsts.max_age_short", MEMBERS, Medium),
                ("hsts.no_include_subdomains", MEMBERS, Info),
                ("hsts.missing", API, Medium),
            ],
            &["hsts.missing app.clean.test", "headers.frame.missing"],
        )
        .await;
    evidence_mentions(
        audit.get("hsts.missing", API),
        "includeSubDomains, which protects api.clean.test only",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_apex_covering_them_a_login_host_missing_hsts_is_high() {
    let case = Case::clean().tweak(|s| {
        s.set_page(API, "/", Page::json(200, r#"{"status":"ok"}"#));
        // The apex's redirect drops includeSubDomains.
        s.site_named(scenarios::CLEAN_ORIGIN).https = Handler::pages([(
            "/".to_string(),
            Page::html(301, "")
                .header("location", "https://www.clean.test/")
                .header("strict-transport-security", "max-age=31536000"),
        )]);
    });
    case.check(
        &[
            ("hsts.missing", API, High),
            ("hsts.no_include_subdomains", scenarios::CLEAN_ORIGIN, Low),
        ],
        &[],
    )
    .await;
}

// ---- section: the canonical URL inferred ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_canonical_is_inferred_from_the_entry_points() {
    let case = Case::clean().manifest_edit(CANONICAL_LINE, "");
    let audit = case
        .check(
            &[("redirect.canonical_inferred", "clean.test", Info)],
            &["redirect.canonical_inconsistent"],
        )
        .await;
    assert_eq!(audit.facts.canonical_url, "https://www.clean.test/");
    evidence_mentions(
        audit.get("redirect.canonical_inferred", "clean.test"),
        "http://clean.test/ → https://www.clean.test/",
    );
}

/// The site from the report that started this check: every entry point lands on the apex, and nothing says so.
fn apex_canonical(s: &mut Scenario) {
    let landing = match &s.site_named("www.clean.test").https {
        Handler::Pages(pages) => pages.clone(),
        other => panic!("www serves no pages: {other:?}"),
    };
    s.site_named(scenarios::CLEAN_ORIGIN).https = Handler::Pages(landing);
    s.site_named(scenarios::CLEAN_ORIGIN).http =
        Handler::redirect_to_https(scenarios::CLEAN_ORIGIN);
    s.site_named("www.clean.test").https = Handler::redirect(301, "https://clean.test", true);
    s.site_named("www.clean.test").http = Handler::redirect(301, "https://clean.test", true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apex_canonical_site_is_not_inconsistent_when_the_manifest_is_silent() {
    let case = Case::clean()
        .tweak(apex_canonical)
        .manifest_edit(CANONICAL_LINE, "");
    let audit = case
        .check(
            &[("redirect.canonical_inferred", "clean.test", Info)],
            &["redirect.canonical_inconsistent", "redirect.too_many_hops"],
        )
        .await;
    assert_eq!(audit.facts.canonical_url, "https://clean.test/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_canonical_the_site_contradicts_is_still_inconsistent() {
    let case = Case::clean().tweak(apex_canonical);
    case.check(
        &[("redirect.canonical_inconsistent", "clean.test", High)],
        &["redirect.canonical_inferred"],
    )
    .await;
}

// ---- section: a domain that does not exist ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_that_does_not_exist_is_one_blocker() {
    // The lab answers for `test` as the root would: the unregistered name is NXDOMAIN.
    let scenario = scenarios::clean().zone(Zone::new("test"));
    let manifest =
        "[site]\ndomain = \"unregistered.test\"\n[email]\nsenders = [\"unregistered.test\"]\n";
    let audit = Case::new(scenario, manifest).run().await;
    let active: Vec<_> = audit
        .active()
        .map(|f| (f.id.as_str(), f.severity))
        .collect();
    assert_eq!(
        active,
        [("dns.domain.missing", Blocker)],
        "\n{}",
        audit.listing()
    );
    let finding = audit.get("dns.domain.missing", "unregistered.test");
    evidence_mentions(finding, "NXDOMAIN");
    evidence_mentions(finding, "asked: 127.0.0.1");
}

// ---- section: desktop and mobile ----

/// The clean site, with www sending phones to `target` on an m-dot site whose only page is its root.
fn phones_sent_to(target: &'static str) -> Case {
    Case::clean().tweak(move |s| {
        let www = s.site_named("www.clean.test");
        *www = www.clone().mobile_redirect(target);
        s.sites
            .push(Site::new("m.clean.test").page("/", Page::html(200, "<title>m</title>")));
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_sent_to_an_m_dot_site_diverge() {
    let case = phones_sent_to("https://m.clean.test/");
    let audit = case
        .check(
            &[
                ("redirect.ua_divergent", "https://www.clean.test/", Medium),
                ("redirect.ua_divergent", "http://clean.test/", Medium),
                (
                    "redirect.ua_divergent",
                    "https://clean.test/spring-sale",
                    Medium,
                ),
            ],
            &[],
        )
        .await;
    let finding = audit.get("redirect.ua_divergent", "https://www.clean.test/");
    evidence_mentions(finding, "mobile: https://m.clean.test/ [200]");
    evidence_mentions(finding, "desktop: https://www.clean.test/ [200]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_that_land_on_a_404_are_high() {
    let case = phones_sent_to("https://m.clean.test/gone");
    case.check(
        &[("redirect.ua_divergent", "https://www.clean.test/", High)],
        &[],
    )
    .await;
}
