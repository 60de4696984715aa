//! The clean scenario end to end: a launch-ready site with none of the demo's flaws, checked
//! through real clients.

#![allow(clippy::unwrap_used)]

mod common;

use common::Udp;

use hickory_server::proto::rr::RecordType;
use launchready_lab::{Lab, scenarios};

const CANONICAL: &str = "https://www.clean.test/";

#[tokio::test]
async fn every_entry_point_reaches_the_canonical_url_in_one_hop() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let entries = [
        "http://clean.test/",
        "https://clean.test/",
        "http://www.clean.test/",
    ];
    common::assert_one_hop_to(&lab, &entries, CANONICAL).await;
    common::assert_hops(&lab, CANONICAL, &[(200, CANONICAL)]).await;
    // Absolute Locations with the trailing slash, exactly.
    let r = common::http_get(&lab, "clean.test", "/").await;
    assert_eq!(r.header("location"), Some(CANONICAL));
}

#[tokio::test]
async fn landing_page_is_canonical_and_loads_only_https_assets() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let page = common::https_get(&lab, "www.clean.test", "/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(r#"<link rel="canonical" href="https://www.clean.test/">"#)
    );
    assert!(!page.body.contains("http://www."), "no plain-HTTP links");

    let assets: Vec<&str> = page
        .body
        .split(r#"src=""#)
        .skip(1)
        .chain(page.body.split(r#"rel="stylesheet" href=""#).skip(1))
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(assets.len(), 2, "{assets:?}");
    for asset in assets {
        assert!(asset.starts_with("https://www.clean.test/"), "{asset}");
        let path = asset.trim_start_matches("https://www.clean.test");
        let r = common::https_get(&lab, "www.clean.test", path).await;
        assert_eq!(r.status, 200, "{asset}");
    }
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
}

#[tokio::test]
async fn subdomains_answer_over_https_and_upgrade_plain_http() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let hosts = [
        ("app.clean.test", 200),
        ("members.clean.test", 200),
        ("api.clean.test", 200),
        ("admin.clean.test", 401),
    ];
    common::assert_https_and_upgrade(&lab, &hosts).await;
    let admin = common::https_get(&lab, "admin.clean.test", "/").await;
    assert!(
        admin
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );

    let login = common::https_get(&lab, "app.clean.test", "/login").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains(r#"type="password""#));
    assert_eq!(login.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn legacy_link_is_one_redirect_to_pricing() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let froms = [
        "https://clean.test/spring-sale",
        "http://clean.test/spring-sale",
    ];
    common::assert_one_hop_to(&lab, &froms, "https://www.clean.test/pricing").await;
}

#[tokio::test]
async fn every_certificate_verifies_against_the_lab_root() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    for host in scenarios::CLEAN_HOSTS {
        common::tls_verified(&lab, host).await;
    }
}

#[tokio::test]
async fn dns_has_ns_caa_mail_records_and_every_host() {
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let resolver = common::resolver(&lab);

    for host in [
        "", "www.", "app.", "members.", "api.", "admin.", "ns1.", "ns2.",
    ] {
        let name = format!("{host}clean.test.");
        assert_eq!(
            common::assert_loopback(&resolver, &name).await,
            300,
            "{name}"
        );
    }

    let ns = common::raw(Udp, lab.dns_addr(), "clean.test.", RecordType::NS).await;
    assert_eq!(
        common::ns_targets(&ns),
        vec!["ns1.clean.test.", "ns2.clean.test."]
    );

    let issue = (false, "issue".to_string(), b"launchready.lab".to_vec());
    assert_eq!(common::caa_records(&resolver, "clean.test.").await, [issue]);

    common::assert_mail_records(&resolver, "clean.test").await;
}

#[test]
fn clean_manifest_describes_the_clean_site() {
    let m = scenarios::CLEAN_MANIFEST;
    common::assert_contains_all(
        m,
        &[
            "[site]\ndomain = \"clean.test\"\ncanonical = \"https://www.clean.test/\"\n",
            "subdomains = [\"app\", \"members\", \"api\", \"admin\"]\n",
            "[[route]]\nname = \"login\"\nhost = \"app.clean.test\"\npath = \"/login\"\nkind = \"login\"\ncritical = true\n",
            "[[legacy_link]]\nfrom = \"https://clean.test/spring-sale\"\nto = \"https://www.clean.test/pricing\"\n",
        ],
    );
    assert!(
        !m.contains("[[ignore]]"),
        "a clean launch needs no exceptions"
    );
}
