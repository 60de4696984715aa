//! The edge scenario end to end: a healthy site behind a Cloudflare-like CDN (edge headers, a
//! cache that misses once and then hits, bypassed private pages) and its plain-HTTP origin.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use launchready_lab::{Lab, scenarios};

const CANONICAL: &str = "https://www.edge.test/";
const EDGE_HOSTS: [&str; 6] = [
    "edge.test",
    "www.edge.test",
    "app.edge.test",
    "members.edge.test",
    "api.edge.test",
    "admin.edge.test",
];

fn assert_ray(reply: &common::Reply) -> String {
    let ray = reply.header("cf-ray").expect("a cf-ray header");
    let (hex, pop) = ray.split_once('-').unwrap();
    assert_eq!(pop, "AMS", "{ray}");
    assert_eq!(hex.len(), 16, "{ray}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{ray}"
    );
    ray.to_owned()
}

#[tokio::test]
async fn every_entry_point_reaches_www_in_one_hop() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    let entries = [
        "http://edge.test/",
        "https://edge.test/",
        "http://www.edge.test/",
    ];
    common::assert_one_hop_to(&lab, &entries, CANONICAL).await;
    common::assert_one_hop_to(
        &lab,
        &["https://edge.test/login"],
        "https://www.edge.test/login",
    )
    .await;
    let apex = common::https_get(&lab, "edge.test", "/").await;
    assert_eq!(apex.header("location"), Some(CANONICAL));
    assert_eq!(apex.header("server"), Some("cloudflare"));
    assert_eq!(
        apex.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
}

#[tokio::test]
async fn every_response_through_the_edge_carries_cloudflare_headers() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    let mut rays = HashSet::new();
    for host in EDGE_HOSTS {
        for reply in [
            common::https_get(&lab, host, "/").await,
            common::http_get(&lab, host, "/").await,
            common::https_get(&lab, host, "/no-such-page").await,
        ] {
            assert_eq!(reply.header("server"), Some("cloudflare"), "{host}");
            assert!(reply.header("cf-cache-status").is_some(), "{host}");
            assert!(rays.insert(assert_ray(&reply)), "a ray repeated");
        }
    }
}

#[tokio::test]
async fn landing_page_has_every_protective_header() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    let page = common::https_get(&lab, "www.edge.test", "/").await;
    assert_eq!(page.status, 200);
    for (name, value) in [
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains; preload",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ] {
        assert_eq!(page.header(name), Some(value), "{name}");
    }
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors"), "{csp}");
    assert!(page.header("x-powered-by").is_none());
    assert!(
        page.body
            .contains(r#"<link rel="canonical" href="https://www.edge.test/">"#)
    );
    assert!(!page.body.contains("http://"), "no plain-HTTP links");
}

#[tokio::test]
async fn assets_miss_once_then_hit_and_login_bypasses_the_cache() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();

    for (path, content_type) in [
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/app.js", "text/javascript; charset=utf-8"),
    ] {
        let first = common::https_get(&lab, "www.edge.test", path).await;
        assert_eq!(first.status, 200, "{path}");
        assert_eq!(first.header("content-type"), Some(content_type));
        assert_eq!(
            first.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(first.header("cf-cache-status"), Some("MISS"), "{path}");
        assert!(first.header("age").is_none());
        for _ in 0..2 {
            let again = common::https_get(&lab, "www.edge.test", path).await;
            assert_eq!(again.header("cf-cache-status"), Some("HIT"), "{path}");
            assert!(again.header("age").unwrap().parse::<u64>().is_ok());
            assert_eq!(again.body, first.body);
        }
    }
    // Counted per path and query: a new query string is a new cache entry.
    let busted = common::https_get(&lab, "www.edge.test", "/assets/app.css?v=2").await;
    assert_eq!(busted.header("cf-cache-status"), Some("MISS"));

    for _ in 0..2 {
        let login = common::https_get(&lab, "www.edge.test", "/login").await;
        assert_eq!(login.status, 200);
        assert!(login.body.contains(r#"type="password""#));
        assert_eq!(login.header("cache-control"), Some("no-store"));
        assert_eq!(
            login.header("set-cookie"),
            Some("session=abc; Secure; HttpOnly; SameSite=Lax")
        );
        assert_eq!(login.header("cf-cache-status"), Some("BYPASS"));
        assert_eq!(login.header("x-frame-options"), Some("DENY"));
    }

    // Each lab starts with a cold cache.
    let fresh = Lab::start(scenarios::edge()).await.unwrap();
    let cold = common::https_get(&fresh, "www.edge.test", "/assets/app.css").await;
    assert_eq!(cold.header("cf-cache-status"), Some("MISS"));
}

#[tokio::test]
async fn text_responses_stay_under_a_kibibyte() {
    // The lab does not compress; bigger text would be an (unintended) perf.uncompressed flaw.
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    for (host, path) in [
        ("www.edge.test", "/"),
        ("www.edge.test", "/login"),
        ("www.edge.test", "/assets/app.css"),
        ("www.edge.test", "/assets/app.js"),
        ("app.edge.test", "/"),
        ("app.edge.test", "/login"),
        ("members.edge.test", "/"),
        ("admin.edge.test", "/"),
    ] {
        let reply = common::https_get(&lab, host, path).await;
        assert!(
            reply.body.len() < 1024,
            "{host}{path}: {}",
            reply.body.len()
        );
    }
}

#[tokio::test]
async fn origin_serves_plain_http_without_edge_headers_and_no_https() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    let www = common::https_get(&lab, "www.edge.test", "/").await;
    let origin = common::http_get(&lab, "origin.edge.test", "/").await;
    assert_eq!(origin.status, 200, "no redirect to https");
    assert_eq!(origin.body, www.body, "the same landing page");
    origin.assert_absent(&[
        "server",
        "cf-ray",
        "cf-cache-status",
        "strict-transport-security",
    ]);

    // HTTPS on the origin: the connection is closed without an answer.
    let tls = common::tls_verified(&lab, "origin.edge.test").await;
    let out = common::raw_exchange(
        tls,
        "GET / HTTP/1.1\r\nHost: origin.edge.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn subdomains_answer_over_https_and_upgrade_plain_http() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    let hosts = [
        ("app.edge.test", 200),
        ("members.edge.test", 200),
        ("api.edge.test", 200),
        ("admin.edge.test", 401),
    ];
    for (host, _) in hosts {
        common::tls_verified(&lab, host).await;
    }
    let replies = common::assert_https_and_upgrade(&lab, &hosts).await;
    for ((host, _), https) in hosts.iter().zip(&replies) {
        assert_eq!(
            https.header("strict-transport-security"),
            Some("max-age=31536000; includeSubDomains"),
            "{host}"
        );
    }
    let login = common::https_get(&lab, "app.edge.test", "/login").await;
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_eq!(login.header("cf-cache-status"), Some("BYPASS"));
}

#[tokio::test]
async fn dns_has_every_host_and_the_mail_records() {
    let lab = Lab::start(scenarios::edge()).await.unwrap();
    let resolver = common::resolver(&lab);
    let names =
        EDGE_HOSTS
            .iter()
            .copied()
            .chain(["origin.edge.test", "ns1.edge.test", "mail.edge.test"]);
    for name in names {
        common::assert_loopback(&resolver, &format!("{name}.")).await;
    }
    common::assert_mail_records(&resolver, "edge.test").await;
}

#[test]
fn edge_manifest_describes_the_edge_site() {
    let m = scenarios::EDGE_MANIFEST;
    common::assert_contains_all(
        m,
        &[
            "[site]\ndomain = \"edge.test\"\ncanonical = \"https://www.edge.test/\"\n",
            "subdomains = [\"app\", \"members\", \"api\", \"admin\"]\n",
            "[audit]\n",
            "intranet = true\n",
            "[[route]]\nname = \"login\"\nhost = \"www.edge.test\"\npath = \"/login\"\nkind = \"login\"\n",
        ],
    );
    assert!(!m.contains("[[ignore]]"));
    assert_eq!(scenarios::EDGE_ORIGIN, "edge.test");
}
