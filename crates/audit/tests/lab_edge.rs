//! The edge-protection and caching checks (HSTS, security headers, cookies, private caching, compression, CDN
//! and origin, static assets, landing speed, certificate quality) against the real lab: each id fires on a site
//! changed in one place, and not on the clean site.

#![allow(clippy::unwrap_used)]

use launchready_audit::{GatherOptions, gather_checked};
use launchready_findings::{Report, Severity};
use launchready_lab::{CertSpec, Lab, Page, Scenario, scenarios};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use std::path::Path;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

/// Runs the whole audit against `scenario`, with extra `--connect-to` rules placed before the lab's own.
async fn audit_with(scenario: Scenario, manifest: &str, rules_first: &[String]) -> Report {
    audit_full(scenario, manifest, rules_first, GatherOptions::default()).await
}

async fn audit_full(
    scenario: Scenario,
    manifest: &str,
    rules_first: &[String],
    options: GatherOptions<'_>,
) -> Report {
    let run = async {
        let lab = Lab::start(scenario).await.unwrap();
        let manifest = Manifest::parse(manifest, Path::new("launchready.toml")).unwrap();
        let connect_to = rules_first
            .iter()
            .cloned()
            .chain(lab.connect_to_args())
            .map(|r| r.parse::<ConnectTo>().unwrap())
            .collect();
        let net = Net::new(NetConfig {
            resolvers: vec![lab.dns_addr()],
            connect_to,
            ca_files: vec![lab.ca_file().to_path_buf()],
            timeout: Duration::from_secs(3),
            ..NetConfig::default()
        })
        .unwrap();
        let facts = gather_checked(&manifest, &net, &options).await.unwrap();
        launchready_audit::report(&facts, &manifest)
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the audit finished within the deadline")
}

async fn audit(scenario: Scenario, manifest: &str) -> Report {
    audit_with(scenario, manifest, &[]).await
}

fn has(report: &Report, id: &str, subject: &str, severity: Severity) -> bool {
    report
        .active()
        .any(|f| f.id == id && f.subject == subject && f.severity == severity)
}

fn listing(report: &Report) -> String {
    report
        .active()
        .map(|f| format!("  {} {} {:?}\n", f.id, f.subject, f.severity))
        .collect()
}

#[track_caller]
fn assert_fires(report: &Report, id: &str, subject: &str, severity: Severity) {
    assert!(
        has(report, id, subject, severity),
        "expected {id} on {subject} ({severity:?}); active:\n{}",
        listing(report)
    );
}

/// Replaces the page at `path` on `host`'s https side.
fn set_page(s: &mut Scenario, host: &str, path: &str, page: Page) {
    let site = s.site_mut(host).unwrap();
    site.https =
        std::mem::replace(&mut site.https, launchready_lab::Handler::Close).with_page(path, page);
}

fn set_http_page(s: &mut Scenario, host: &str, path: &str, page: Page) {
    let site = s.site_mut(host).unwrap();
    site.http =
        std::mem::replace(&mut site.http, launchready_lab::Handler::Close).with_page(path, page);
}

fn clean_with(tweak: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut scenario = scenarios::clean();
    tweak(&mut scenario);
    scenario
}

fn with_route(kind: &str) -> String {
    format!(
        "{}\n[[route]]\nname = \"account\"\nhost = \"app.clean.test\"\npath = \"/account\"\nkind = \"{kind}\"\n",
        scenarios::CLEAN_MANIFEST
    )
}

const WWW: &str = "https://www.clean.test/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_site_is_quiet_in_these_families_but_has_no_cdn() {
    let report = audit(scenarios::clean(), scenarios::CLEAN_MANIFEST).await;
    let loud: Vec<_> = report
        .active()
        .filter(|f| {
            [
                "hsts.", "headers.", "cookie.", "cache.", "perf.", "tls.", "edge.",
            ]
            .iter()
            .any(|p| f.id.starts_with(p))
        })
        .filter(|f| f.severity > Severity::Info && f.id != "edge.not_proxied")
        .map(|f| format!("{} {}", f.id, f.subject))
        .collect();
    assert!(loud.is_empty(), "{loud:?}");
    assert_fires(&report, "edge.not_proxied", "clean.test", Severity::Medium);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_landing_page_lacks_hsts_and_every_security_header_and_leaks_versions() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            "www.clean.test",
            "/",
            Page::html(200, "<!doctype html><title>x</title>").header("server", "nginx/1.18.0"),
        )
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(&report, "hsts.missing", "www.clean.test", Severity::High);
    assert_fires(&report, "headers.csp.missing", WWW, Severity::Medium);
    assert_fires(&report, "headers.frame.missing", WWW, Severity::Medium);
    assert_fires(&report, "headers.xcto.missing", WWW, Severity::Low);
    assert_fires(&report, "headers.referrer.missing", WWW, Severity::Low);
    assert_fires(
        &report,
        "headers.version_leak",
        "www.clean.test",
        Severity::Low,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_hsts_without_subdomains() {
    let scenario = clean_with(|s| {
        set_page(
            s,
            "www.clean.test",
            "/",
            Page::html(200, "<!doctype html>").header("strict-transport-security", "max-age=300"),
        )
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(
        &report,
        "hsts.max_age_short",
        "www.clean.test",
        Severity::Medium,
    );
    assert_fires(
        &report,
        "hsts.no_include_subdomains",
        "www.clean.test",
        Severity::Low,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_without_flags_and_member_pages_in_shared_caches() {
    let url = "https://app.clean.test/account";
    let scenario = clean_with(|s| {
        set_page(
            s,
            "app.clean.test",
            "/account",
            Page::html(200, "<h1>account</h1>")
                .header("set-cookie", "sid=abc123; Path=/")
                .header("cache-control", "public, max-age=600"),
        )
    });
    let report = audit(scenario, &with_route("member")).await;
    assert_fires(&report, "cookie.secure.missing", url, Severity::High);
    assert_fires(&report, "cookie.httponly.missing", url, Severity::Medium);
    assert_fires(&report, "cookie.samesite.missing", url, Severity::Medium);
    assert_fires(&report, "cache.private.cacheable", url, Severity::Blocker);

    let unmarked = clean_with(|s| {
        set_page(
            s,
            "app.clean.test",
            "/account",
            Page::html(200, "<h1>account</h1>"),
        )
    });
    let report = audit(unmarked, &with_route("member")).await;
    assert_fires(&report, "cache.private.unmarked", url, Severity::High);

    let good = clean_with(|s| {
        set_page(
            s,
            "app.clean.test",
            "/account",
            Page::html(200, "<h1>account</h1>")
                .header("set-cookie", "sid=abc; Secure; HttpOnly; SameSite=Lax")
                .header("cache-control", "private, no-store"),
        )
    });
    let report = audit(good, &with_route("member")).await;
    assert!(
        !report.active().any(
            |f| f.subject == url && (f.id.starts_with("cookie.") || f.id.starts_with("cache."))
        ),
        "{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_uncompressed_page_and_uncached_assets() {
    let body = format!(
        "<!doctype html><link rel=\"stylesheet\" href=\"/slow.css\">{}",
        "<p>launch</p>".repeat(200)
    );
    let scenario = clean_with(|s| {
        set_page(s, "www.clean.test", "/", Page::html(200, body));
        set_page(
            s,
            "www.clean.test",
            "/slow.css",
            Page::css("body{}").header("cache-control", "no-cache"),
        );
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(&report, "perf.uncompressed", WWW, Severity::Medium);
    assert_fires(&report, "cache.static.uncached", WWW, Severity::Medium);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_landing_page_is_high() {
    let scenario = clean_with(|s| s.http_latency = Duration::from_millis(300));
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(&report, "perf.landing.slow", WWW, Severity::High);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_answers_directly_is_exposed() {
    let manifest = format!(
        "{}\n[edge]\nrequired = true\norigin = \"127.0.0.1\"\n",
        scenarios::CLEAN_MANIFEST
    );
    let report = audit(scenarios::clean(), &manifest).await;
    assert_fires(&report, "edge.origin_exposed", "127.0.0.1", Severity::High);
    assert_fires(&report, "edge.not_proxied", "clean.test", Severity::High);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_only_speaks_http_is_flexible_ssl() {
    // The origin's port 443 refuses; its port 80 serves the page instead of redirecting.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rules = [format!("127.0.0.2:443:127.0.0.1:{closed}")];
    let scenario =
        clean_with(|s| set_http_page(s, "www.clean.test", "/", Page::html(200, "<h1>origin</h1>")));
    let manifest = format!(
        "{}\n[edge]\norigin = \"127.0.0.2\"\n",
        scenarios::CLEAN_MANIFEST
    );
    let report = audit_with(scenario, &manifest, &rules).await;
    assert_fires(&report, "edge.flexible_ssl", "127.0.0.2", Severity::High);
    assert!(
        !report.active().any(|f| f.id == "edge.origin_exposed"),
        "{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_its_intermediate_has_an_incomplete_chain() {
    let scenario =
        clean_with(|s| s.site_mut("members.clean.test").unwrap().cert = CertSpec::NoIntermediate);
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(
        &report,
        "tls.chain.incomplete",
        "members.clean.test",
        Severity::High,
    );
    assert!(
        !report.active().any(|f| f.id == "tls.cert.untrusted"),
        "{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_behind_cloudflare_is_detected_and_not_reported_as_unproxied() {
    let report = audit(scenarios::edge(), scenarios::EDGE_MANIFEST).await;
    assert_fires(&report, "edge.provider", "www.edge.test", Severity::Info);
    assert!(
        report.active().any(|f| f.id == "edge.provider"
            && f.evidence
                .iter()
                .any(|e| e.contains("cloudflare") || e.contains("cf-ray"))),
        "{}",
        listing(&report)
    );
    assert!(
        !report.active().any(|f| f.id == "edge.not_proxied"),
        "{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_rsa_key_is_reported_even_though_the_handshake_cannot_complete() {
    let scenario =
        clean_with(|s| s.site_mut("members.clean.test").unwrap().cert = CertSpec::WeakRsa);
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(
        &report,
        "tls.key.weak",
        "members.clean.test",
        Severity::High,
    );
    assert_fires(
        &report,
        "tls.no_https",
        "members.clean.test",
        Severity::Blocker,
    );
}

// ---- bad input: each ends as a finding within the deadline ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_a_server_hello_means_no_https() {
    let scenario = clean_with(|s| {
        s.site_mut("members.clean.test").unwrap().https = launchready_lab::Handler::GarbageTls
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(
        &report,
        "tls.no_https",
        "members.clean.test",
        Severity::Blocker,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_times_out_as_a_broken_subdomain() {
    let scenario = clean_with(|s| {
        s.site_mut("members.clean.test").unwrap().https = launchready_lab::Handler::StallTls
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(
        &report,
        "subdomain.broken",
        "https://members.clean.test/",
        Severity::High,
    );
    let finding = report
        .active()
        .find(|f| f.id == "subdomain.broken" && f.subject == "https://members.clean.test/")
        .unwrap();
    assert!(
        finding.evidence.iter().any(|e| e.contains("timed out")),
        "{:?}",
        finding.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_certificates_in_the_chain_are_read() {
    let scenario =
        clean_with(|s| s.site_mut("members.clean.test").unwrap().cert = CertSpec::LongChain(50));
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert!(
        !report
            .active()
            .any(|f| f.subject == "members.clean.test" && f.severity >= Severity::High),
        "{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_certificate_is_a_failed_handshake_not_a_hang() {
    let scenario = clean_with(|s| {
        s.site_mut("members.clean.test").unwrap().cert = CertSpec::Huge { bytes: 1024 * 1024 }
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(
        &report,
        "tls.no_https",
        "members.clean.test",
        Severity::Blocker,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_megabyte_landing_page_is_read_as_a_bounded_prefix() {
    let scenario = clean_with(|s| {
        s.site_mut("www.clean.test").unwrap().https = launchready_lab::Handler::HugeBody {
            status: 200,
            content_type: "text/html; charset=utf-8".to_string(),
            bytes: 50 * 1024 * 1024,
        }
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    // The landing page still answered 200: no landing or reachability finding, and the audit did not read 50 MB.
    assert!(
        !report
            .active()
            .any(|f| f.id == "http.landing.status" || f.id == "http.unreachable"),
        "{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_takes_any_burst_has_no_rate_limit_and_a_429_counts_as_one() {
    let probe = || GatherOptions {
        rate_limit: Some(launchready_audit::RateLimitProbe {
            requests: 10,
            window: Duration::from_millis(500),
        }),
        ..GatherOptions::default()
    };
    let url = "https://app.clean.test/login";
    let report = audit_full(scenarios::clean(), scenarios::CLEAN_MANIFEST, &[], probe()).await;
    assert_fires(&report, "edge.no_rate_limit", url, Severity::Medium);
    let finding = report
        .active()
        .find(|f| f.id == "edge.no_rate_limit")
        .unwrap();
    assert!(
        finding.evidence[0].contains("10 × 200"),
        "{:?}",
        finding.evidence
    );

    let limited = clean_with(|s| {
        set_page(
            s,
            "app.clean.test",
            "/login",
            Page::html(429, "slow down").header("retry-after", "10"),
        )
    });
    let report = audit_full(limited, scenarios::CLEAN_MANIFEST, &[], probe()).await;
    assert!(
        !report.active().any(|f| f.id == "edge.no_rate_limit"),
        "{}",
        listing(&report)
    );

    // Without the opt-in nothing is sent and nothing is reported.
    let report = audit(scenarios::clean(), scenarios::CLEAN_MANIFEST).await;
    assert!(!report.active().any(|f| f.id == "edge.no_rate_limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_over_plain_http_is_noted_and_preload_readiness_is_reported() {
    let scenario = clean_with(|s| {
        set_http_page(
            s,
            "www.clean.test",
            "/",
            Page::new(301, "")
                .header("location", "https://www.clean.test/")
                .header("strict-transport-security", "max-age=31536000"),
        )
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(&report, "hsts.over_http", "www.clean.test", Severity::Info);
    let preload = report.active().find(|f| f.id == "hsts.preload").unwrap();
    assert!(
        preload.title.contains("not ready"),
        "clean sends no preload directive: {}",
        preload.title
    );

    // The demo upgrades plain http with redirects that carry no HSTS.
    let clean = audit(scenarios::demo(), scenarios::DEMO_MANIFEST).await;
    assert!(
        !clean.active().any(|f| f.id == "hsts.over_http"),
        "{}",
        listing(&clean)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_that_misses_the_edge_cache_twice_is_noted_and_a_caching_edge_is_not() {
    let body = "<!doctype html><link rel=\"stylesheet\" href=\"/miss.css\">";
    let scenario = clean_with(|s| {
        set_page(s, "www.clean.test", "/", Page::html(200, body));
        set_page(
            s,
            "www.clean.test",
            "/miss.css",
            Page::css("body{}")
                .header("cache-control", "public, max-age=31536000")
                .header("x-cache", "MISS from edge"),
        );
    });
    let report = audit(scenario, scenarios::CLEAN_MANIFEST).await;
    assert_fires(&report, "cache.static.miss", WWW, Severity::Info);
    // The Cloudflare-like edge answers MISS, then HIT.
    let edge = audit(scenarios::edge(), scenarios::EDGE_MANIFEST).await;
    assert!(
        !edge
            .active()
            .any(|f| f.id == "cache.static.miss" || f.id == "cache.static.uncached"),
        "{}",
        listing(&edge)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_landing_page_is_not_slow() {
    let report = audit(scenarios::clean(), scenarios::CLEAN_MANIFEST).await;
    assert!(
        !report.active().any(|f| f.id == "perf.landing.slow"),
        "{}",
        listing(&report)
    );
}
