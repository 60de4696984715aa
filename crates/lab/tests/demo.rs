//! The demo scenario end to end: every deliberate flaw is observable through real clients.

#![allow(clippy::unwrap_used)]

mod common;

use hickory_server::proto::rr::RecordType;
use launchready_lab::{Lab, scenarios};

#[tokio::test]
async fn http_apex_reaches_canonical_www_in_two_hops() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    common::assert_hops(
        &lab,
        "http://demo.test/pricing",
        &[
            (301, "http://demo.test/pricing"),
            (301, "https://demo.test/pricing"),
            (200, "https://www.demo.test/pricing"),
        ],
    )
    .await;
    let pricing = common::https_get(&lab, "www.demo.test", "/pricing").await;
    assert!(pricing.body.contains("Pricing"));

    let www = common::http_get(&lab, "www.demo.test", "/pricing").await;
    assert_eq!(
        www.header("location"),
        Some("https://www.demo.test/pricing")
    );
}

#[tokio::test]
async fn app_members_and_api_sites() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    for host in ["app.demo.test", "members.demo.test", "api.demo.test"] {
        let r = common::http_get(&lab, host, "/x").await;
        assert_eq!(r.status, 301, "{host}");
        assert_eq!(
            r.header("location"),
            Some(format!("https://{host}/x").as_str())
        );
    }

    let root = common::https_get(&lab, "app.demo.test", "/").await;
    root.assert(302, "location", "https://app.demo.test/login");
    let login = common::https_get(&lab, "app.demo.test", "/login").await;
    assert!(login.body.contains("<form") && login.body.contains("type=\"password\""));
    let signup = common::https_get(&lab, "app.demo.test", "/signup").await;
    assert!(signup.body.contains("<form"));

    let members = common::https_get(&lab, "members.demo.test", "/").await;
    assert_eq!(members.status, 200);

    let health = common::https_get(&lab, "api.demo.test", "/health").await;
    health.assert(200, "content-type", "application/json");
}

#[tokio::test]
async fn members_certificate_expires_within_ten_days() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    let verifier = common::lab_verifier(&lab);
    let valid = async |host: &str, days: u64| {
        let chain = common::chain_of(&lab, host).await;
        common::verify_at(&verifier, &chain, host, common::days_from_now(days)).is_ok()
    };
    assert!(valid("members.demo.test", 8).await);
    assert!(!valid("members.demo.test", 10).await);
    // The other demo hosts have the normal 90-day validity.
    assert!(valid("app.demo.test", 60).await);
}

#[tokio::test]
async fn header_flaws_leaks_short_hsts_loose_cookie_and_cacheable_login() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    let landing = common::https_get(&lab, "www.demo.test", "/").await;
    landing.assert(200, "server", "nginx/1.18.0");
    assert_eq!(landing.header("x-powered-by"), Some("PHP/8.1.2"));
    assert_eq!(
        landing.header("strict-transport-security"),
        Some("max-age=300")
    );
    landing.assert_absent(&[
        "content-security-policy",
        "x-frame-options",
        "cf-ray",
        "cf-cache-status",
    ]);

    let login = common::https_get(&lab, "app.demo.test", "/login").await;
    assert_eq!(login.status, 200);
    let cookies: Vec<&str> = login
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, vec!["sid=abc123; Path=/"]);
    assert_eq!(login.header("cache-control"), Some("public, max-age=600"));

    let css = common::https_get(&lab, "www.demo.test", "/assets/site.css").await;
    assert_eq!(css.header("cache-control"), Some("no-cache"));

    // The other pages are as before.
    let pricing = common::https_get(&lab, "www.demo.test", "/pricing").await;
    assert!(pricing.header("server").is_none());
    assert!(pricing.header("strict-transport-security").is_none());
}

#[tokio::test]
async fn every_demo_site_name_resolves_except_admin() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    let resolver = common::resolver(&lab);
    for host in [
        "demo.test.",
        "www.demo.test.",
        "app.demo.test.",
        "members.demo.test.",
        "api.demo.test.",
    ] {
        let ips = resolver.lookup_ip(host).await.unwrap();
        assert!(ips.iter().any(|ip| ip.is_loopback()), "{host}");
    }
    common::assert_nxdomain(&resolver, "admin.demo.test.", RecordType::A).await;
}

#[tokio::test]
async fn routing_flaws_downgrade_two_hop_legacy_link_and_dead_links() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    // A legacy link that arrives, but in two hops with relative Locations.
    let r = common::https_get(&lab, "www.demo.test", "/spring-sale").await;
    assert_eq!(r.header("location"), Some("/promo"));

    let journeys: [(&str, &[(u16, &str)]); 4] = [
        // An HTTPS page that sends the visitor to plain HTTP, which then upgrades again.
        (
            "https://www.demo.test/old-pricing",
            &[
                (302, "https://www.demo.test/old-pricing"),
                (301, "http://www.demo.test/pricing"),
                (200, "https://www.demo.test/pricing"),
            ],
        ),
        (
            "https://www.demo.test/spring-sale",
            &[
                (301, "https://www.demo.test/spring-sale"),
                (301, "https://www.demo.test/promo"),
                (200, "https://www.demo.test/pricing"),
            ],
        ),
        // A legacy link and a critical route that are simply gone.
        (
            "https://www.demo.test/black-friday",
            &[(404, "https://www.demo.test/black-friday")],
        ),
        (
            "https://app.demo.test/checkout",
            &[(404, "https://app.demo.test/checkout")],
        ),
    ];
    for (url, hops) in journeys {
        common::assert_hops(&lab, url, hops).await;
    }
}

#[tokio::test]
async fn landing_page_has_mixed_content_and_a_disagreeing_canonical() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    let landing = common::follow(&lab, "http://demo.test/", 5).await;
    assert_eq!(
        landing.last().unwrap(),
        &(200, "https://www.demo.test/".to_owned())
    );
    let page = common::https_get(&lab, "www.demo.test", "/").await;
    assert!(
        page.body
            .contains(r#"<img src="http://www.demo.test/hero.jpg""#)
    );
    assert!(
        page.body
            .contains(r#"<link rel="canonical" href="https://demo.test/">"#)
    );
}

#[test]
fn demo_manifest_lists_the_new_legacy_links_and_checkout_route() {
    let m = scenarios::DEMO_MANIFEST;
    for block in [
        "[[legacy_link]]\nfrom = \"https://www.demo.test/spring-sale\"\nto = \"https://www.demo.test/pricing\"\n",
        "[[legacy_link]]\nfrom = \"https://www.demo.test/black-friday\"\nto = \"https://www.demo.test/pricing\"\n",
        "[[route]]\nname = \"checkout\"\nhost = \"app.demo.test\"\npath = \"/checkout\"\nkind = \"checkout\"\ncritical = true\n",
        "[[route]]\nname = \"login\"\n",
        "[[ignore]]\nid = \"tls.cert.expiring\"\nsubject = \"api.demo.test\"\n",
    ] {
        assert!(m.contains(block), "missing {block:?}");
    }
}
