//! The edge-protection and caching checks (HSTS, security headers, cookies, private caching, compression, CDN
//! and origin, static assets, landing speed, certificate quality) against the real lab: each id fires on a site
//! changed in one place, and not on the clean site.

#![allow(clippy::unwrap_used)]

use launchready_audit::RateLimitProbe;
use launchready_findings::Severity::{self, Blocker, High, Info, Low, Medium};
use launchready_lab::{CertSpec, Handler, Page, Scenario};
use launchready_testkit::lab::{Audit, Case, Edit, check, closed_port};
use std::time::Duration;

const WWW: &str = "https://www.clean.test/";
const MEMBERS: &str = "members.clean.test";
const ACCOUNT: &str = "https://app.clean.test/account";

/// The clean site with `page` as www's landing page.
fn www_landing(page: Page) -> impl FnOnce(&mut Scenario) {
    move |s| s.set_page("www.clean.test", "/", page)
}

/// The clean site with `cert` on members.clean.test.
fn members_cert(cert: CertSpec) -> impl FnOnce(&mut Scenario) {
    move |s| s.site_named(MEMBERS).cert = cert
}

/// The clean site with `handler` answering members.clean.test over https.
fn members_https(handler: Handler) -> impl FnOnce(&mut Scenario) {
    move |s| s.site_named(MEMBERS).https = handler
}

/// The clean site with `/account` on app as a route of `kind`, answering `page`.
async fn account(kind: &str, page: Page) -> Audit {
    Case::clean()
        .tweak(|s| s.set_page("app.clean.test", "/account", page))
        .manifest_plus(&format!(
            "[[route]]\nname = \"account\"\nhost = \"app.clean.test\"\npath = \"/account\"\nkind = \"{kind}\"\n"
        ))
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_site_is_quiet_in_these_families_but_has_no_cdn() {
    let audit = check(|_| {}, &[("edge.not_proxied", "clean.test", Medium)], &[]).await;
    let families = [
        "hsts.", "headers.", "cookie.", "cache.", "perf.", "tls.", "edge.",
    ];
    let loud: Vec<_> = audit
        .in_families(&families)
        .into_iter()
        .filter(|(id, _, severity)| *severity > Severity::Info && *id != "edge.not_proxied")
        .map(|(id, subject, _)| format!("{id} {subject}"))
        .collect();
    assert!(loud.is_empty(), "{loud:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_landing_page_lacks_hsts_and_every_security_header_and_leaks_versions() {
    let bare = Page::html(200, "<!doctype html><title>x</title>").header("server", "nginx/1.18.0");
    let expect = [
        ("hsts.missing", "www.clean.test", High),
        ("headers.csp.missing", WWW, Medium),
        ("headers.frame.missing", WWW, Medium),
        ("headers.xcto.missing", WWW, Low),
        ("headers.referrer.missing", WWW, Low),
        ("headers.version_leak", "www.clean.test", Low),
    ];
    check(www_landing(bare), &expect, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_hsts_without_subdomains() {
    let page =
        Page::html(200, "<!doctype html>").header("strict-transport-security", "max-age=300");
    let expect = [
        ("hsts.max_age_short", "www.clean.test", Medium),
        ("hsts.no_include_subdomains", "www.clean.test", Low),
    ];
    check(www_landing(page), &expect, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_without_flags_and_member_pages_in_shared_caches() {
    let page = Page::html(200, "<h1>account</h1>");
    let flagless = page
        .clone()
        .header("set-cookie", "sid=abc123; Path=/")
        .header("cache-control", "public, max-age=600");
    account("member", flagless).await.check(
        &[
            ("cookie.secure.missing", ACCOUNT, High),
            ("cookie.httponly.missing", ACCOUNT, Medium),
            ("cookie.samesite.missing", ACCOUNT, Medium),
            ("cache.private.cacheable", ACCOUNT, Blocker),
        ],
        &[],
    );
    let unmarked = account("member", page.clone()).await;
    unmarked.check(&[("cache.private.unmarked", ACCOUNT, High)], &[]);
    let good = page
        .header("set-cookie", "sid=abc; Secure; HttpOnly; SameSite=Lax")
        .header("cache-control", "private, no-store");
    let forbid = [format!("cookie.* {ACCOUNT}"), format!("cache.* {ACCOUNT}")];
    let forbid: Vec<&str> = forbid.iter().map(String::as_str).collect();
    account("member", good).await.check(&[], &forbid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_uncompressed_page_and_uncached_assets() {
    let body = format!(
        "<!doctype html><link rel=\"stylesheet\" href=\"/slow.css\">{}",
        "<p>launch</p>".repeat(200)
    );
    let tweak = |s: &mut Scenario| {
        s.set_page("www.clean.test", "/", Page::html(200, body));
        let css = Page::css("body{}").header("cache-control", "no-cache");
        s.set_page("www.clean.test", "/slow.css", css);
    };
    let expect = [
        ("perf.uncompressed", WWW, Medium),
        ("cache.static.uncached", WWW, Medium),
    ];
    check(tweak, &expect, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_landing_page_is_high() {
    Case::clean()
        .tweak(|s| s.http_latency = Duration::from_millis(300))
        .manifest_edit("landing_budget = \"3s\"", "landing_budget = \"500ms\"")
        .check(&[("perf.landing.slow", WWW, High)], &[])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_answers_directly_is_exposed() {
    let expect = [
        ("edge.origin_exposed", "127.0.0.1", High),
        ("edge.not_proxied", "clean.test", High),
    ];
    Case::clean()
        .manifest_plus("[edge]\nrequired = true\norigin = \"127.0.0.1\"\n")
        .check(&expect, &[])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_only_speaks_http_is_flexible_ssl() {
    // The origin's port 443 refuses; its port 80 serves the page instead of redirecting.
    let origin = Page::html(200, "<h1>origin</h1>");
    Case::clean()
        .tweak(|s| s.set_http_page("www.clean.test", "/", origin))
        .manifest_plus("[edge]\norigin = \"127.0.0.2\"\n")
        .rule_first(format!("127.0.0.2:443:127.0.0.1:{}", closed_port()))
        .check(
            &[("edge.flexible_ssl", "127.0.0.2", High)],
            &["edge.origin_exposed"],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_its_intermediate_has_an_incomplete_chain() {
    let expect = [("tls.chain.incomplete", MEMBERS, High)];
    check(
        members_cert(CertSpec::NoIntermediate),
        &expect,
        &["tls.cert.untrusted"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_behind_cloudflare_is_detected_and_not_reported_as_unproxied() {
    let audit = Case::edge()
        .check(
            &[("edge.provider", "www.edge.test", Info)],
            &["edge.not_proxied"],
        )
        .await;
    assert!(
        audit.matching("edge.provider").any(|f| f
            .evidence
            .iter()
            .any(|e| e.contains("cloudflare") || e.contains("cf-ray"))),
        "{}",
        audit.listing()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_rsa_key_is_reported_even_though_the_handshake_cannot_complete() {
    let expect = [
        ("tls.key.weak", MEMBERS, High),
        ("tls.no_https", MEMBERS, Blocker),
    ];
    check(members_cert(CertSpec::WeakRsa), &expect, &[]).await;
}

// ---- bad input: each ends as a finding within the deadline ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_a_server_hello_means_no_https() {
    let expect = [("tls.no_https", MEMBERS, Blocker)];
    check(members_https(Handler::GarbageTls), &expect, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_times_out_as_a_broken_subdomain() {
    let members = "https://members.clean.test/";
    let expect = [("subdomain.broken", members, High)];
    let audit = check(members_https(Handler::StallTls), &expect, &[]).await;
    let finding = audit.get("subdomain.broken", members);
    assert!(
        finding.evidence.iter().any(|e| e.contains("timed out")),
        "{:?}",
        finding.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_certificates_in_the_chain_are_read() {
    let audit = check(members_cert(CertSpec::LongChain(50)), &[], &[]).await;
    assert!(
        !audit
            .active()
            .any(|f| f.subject == MEMBERS && f.severity >= Severity::High),
        "{}",
        audit.listing()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_certificate_is_a_failed_handshake_not_a_hang() {
    let huge = CertSpec::Huge { bytes: 1024 * 1024 };
    check(
        members_cert(huge),
        &[("tls.no_https", MEMBERS, Blocker)],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_megabyte_landing_page_is_read_as_a_bounded_prefix() {
    let huge = Handler::HugeBody {
        status: 200,
        content_type: "text/html; charset=utf-8".to_string(),
        bytes: 50 * 1024 * 1024,
    };
    // The landing page still answered 200: no landing or reachability finding, and the audit did not read 50 MB.
    let forbid = ["http.landing.status", "http.unreachable"];
    check(
        |s| s.site_named("www.clean.test").https = huge,
        &[],
        &forbid,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_takes_any_burst_has_no_rate_limit_and_a_429_counts_as_one() {
    let probe = |case: Case| {
        case.with(|o| {
            o.rate_limit = Some(RateLimitProbe {
                requests: 10,
                window: Duration::from_millis(500),
            })
        })
    };
    let login = "https://app.clean.test/login";
    let audit = probe(Case::clean())
        .check(&[("edge.no_rate_limit", login, Medium)], &[])
        .await;
    let finding = audit.matching("edge.no_rate_limit").next().unwrap();
    assert!(
        finding.evidence[0].contains("10 × 200"),
        "{:?}",
        finding.evidence
    );

    let slow_down = Page::html(429, "slow down").header("retry-after", "10");
    probe(Case::clean().tweak(|s| s.set_page("app.clean.test", "/login", slow_down)))
        .check(&[], &["edge.no_rate_limit"])
        .await;

    // Without the opt-in nothing is sent and nothing is reported.
    check(|_| {}, &[], &["edge.no_rate_limit"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_over_plain_http_is_noted_and_preload_readiness_is_reported() {
    let upgrade = Page::new(301, "")
        .header("location", "https://www.clean.test/")
        .header("strict-transport-security", "max-age=31536000");
    let audit = check(
        |s| s.set_http_page("www.clean.test", "/", upgrade),
        &[("hsts.over_http", "www.clean.test", Info)],
        &[],
    )
    .await;
    let preload = audit.matching("hsts.preload").next().unwrap();
    assert!(
        preload.title.contains("not ready"),
        "clean sends no preload directive: {}",
        preload.title
    );

    // The demo upgrades plain http with redirects that carry no HSTS.
    Case::demo().check(&[], &["hsts.over_http"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_that_misses_the_edge_cache_twice_is_noted_and_a_caching_edge_is_not() {
    let body = "<!doctype html><link rel=\"stylesheet\" href=\"/miss.css\">";
    let tweak = |s: &mut Scenario| {
        s.set_page("www.clean.test", "/", Page::html(200, body));
        let css = Page::css("body{}")
            .header("cache-control", "public, max-age=31536000")
            .header("x-cache", "MISS from edge");
        s.set_page("www.clean.test", "/miss.css", css);
    };
    check(tweak, &[("cache.static.miss", WWW, Info)], &[]).await;
    // The Cloudflare-like edge answers MISS, then HIT.
    let forbid = ["cache.static.miss", "cache.static.uncached"];
    Case::edge().check(&[], &forbid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_landing_page_is_not_slow() {
    Case::clean()
        .manifest_edit("landing_budget = \"3s\"", "landing_budget = \"500ms\"")
        .check(&[], &["perf.landing.slow"])
        .await;
}
