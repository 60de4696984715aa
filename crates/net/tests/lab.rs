//! The net layer against real servers: the lab's DNS, HTTP and HTTPS, reached through the same overrides users
//! have (`--resolver`, `--connect-to`, `--ca-file`).
#![allow(clippy::unwrap_used)]

use launchready_findings::facts::{ChainEnd, DnsOutcome, NetErrorKind, Verification};
use launchready_lab::{CertSpec, Handler, Lab, RecordData, Scenario, scenarios};
use launchready_net::{ConnectTo, Net, NetConfig};
use launchready_testkit::lab::{self as testkit, Options};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use url::Url;

/// The lab's nameserver, listeners and CA, as `--resolver`, `--connect-to` and `--ca-file` would give them.
fn options() -> Options {
    Options {
        timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

fn config(lab: &Lab) -> NetConfig {
    testkit::net_config(lab, &options()).unwrap()
}

async fn lab(scenario: Scenario) -> (Lab, Net) {
    testkit::start_net(scenario, &options()).await
}

#[tokio::test]
async fn follows_every_hop_and_records_timings_and_tls_facts() {
    let (_lab, net) = lab(scenarios::demo()).await;
    let (hops, end) = net
        .follow(&Url::parse("http://demo.test/pricing").unwrap(), 10)
        .await;
    assert_eq!(end, ChainEnd::Final);
    let urls: Vec<_> = hops.iter().map(|h| (h.url.as_str(), h.status)).collect();
    assert_eq!(
        urls,
        [
            ("http://demo.test/pricing", Some(301)),
            ("https://demo.test/pricing", Some(301)),
            ("https://www.demo.test/pricing", Some(200)),
        ]
    );
    assert_eq!(
        hops[0].location.as_deref(),
        Some("https://demo.test/pricing")
    );
    assert!(hops[0].tls.is_none());
    let last = &hops[2];
    let tls = last.tls.as_ref().expect("https hop has TLS facts");
    assert_eq!(tls.verification, Verification::Valid);
    assert_eq!(tls.version, "TLSv1.3");
    assert_eq!(tls.alpn.as_deref(), Some("h2"));
    assert_eq!(tls.chain.len(), 2, "leaf and intermediate");
    assert!(tls.chain[0].sans.contains(&"www.demo.test".to_string()));
    assert!(last.timings.connect_ms.is_some() && last.timings.tls_ms.is_some());
    assert!(last.timings.first_byte_ms.is_some());
    assert!(
        last.timings.dns_ms.is_none(),
        "--connect-to to an address needs no lookup"
    );
    let body = last.body.as_deref().expect("an html body is kept");
    assert!(body.to_ascii_lowercase().contains("<html"), "{body}");
}

#[tokio::test]
async fn the_http_client_resolves_through_the_configured_resolver() {
    let mut scenario = scenarios::demo();
    scenario
        .zone_mut("demo.test")
        .unwrap()
        .records
        .push(launchready_lab::Record::new(
            "origin.demo.test",
            60,
            RecordData::A(Ipv4Addr::LOCALHOST),
        ));
    let lab = Lab::start(scenario).await.unwrap();
    // Send https traffic to a *name* only the lab's DNS knows: the client must ask the lab resolver.
    let rule = format!(":443:origin.demo.test:{}", lab.https_addr().port());
    let net = Net::new(NetConfig {
        connect_to: vec![rule.parse::<ConnectTo>().unwrap()],
        ..config(&lab)
    })
    .unwrap();
    let hop = net
        .fetch(&Url::parse("https://www.demo.test/").unwrap())
        .await;
    assert_eq!(hop.status, Some(200), "{:?}", hop.error);
    assert!(hop.timings.dns_ms.is_some());
    assert_eq!(hop.connected_to, Some(lab.https_addr().to_string()));
}

#[tokio::test]
async fn an_expired_certificate_is_recorded_and_the_page_still_read() {
    let mut scenario = scenarios::demo();
    scenario.site_mut("www.demo.test").unwrap().cert = CertSpec::Expired;
    scenario.site_mut("app.demo.test").unwrap().cert = CertSpec::NoIntermediate;
    let (_lab, net) = lab(scenario).await;
    let hop = net
        .fetch(&Url::parse("https://www.demo.test/").unwrap())
        .await;
    assert_eq!(hop.status, Some(200));
    assert_eq!(hop.tls.unwrap().verification, Verification::Expired);
    let hop = net
        .fetch(&Url::parse("https://app.demo.test/login").unwrap())
        .await;
    let tls = hop.tls.unwrap();
    assert_eq!(tls.verification, Verification::UnknownIssuer);
    assert_eq!(tls.chain.len(), 1);
}

#[tokio::test]
async fn host_lookups_follow_cnames_and_tell_missing_from_present() {
    let (_lab, net) = lab(scenarios::demo()).await;
    let www = net.lookup_host("www.demo.test").await;
    assert_eq!(www.outcome, DnsOutcome::Resolved);
    assert_eq!(www.cname_chain, ["demo.test"]);
    assert!(www.addresses.contains(&"127.0.0.1".parse().unwrap()));
    assert!(www.addresses.contains(&"::1".parse().unwrap()));
    assert_eq!(
        net.lookup_host("admin.demo.test").await.outcome,
        DnsOutcome::NxDomain
    );
    net.check_resolvers("demo.test").await.unwrap();
}

#[tokio::test]
async fn a_hanging_server_times_out_by_the_deadline() {
    let mut scenario = scenarios::demo();
    scenario.site_mut("api.demo.test").unwrap().https = Handler::Hang;
    let lab = Lab::start(scenario).await.unwrap();
    let mut cfg = config(&lab);
    cfg.deadline = Some(Instant::now() + Duration::from_millis(500));
    let net = Net::new(cfg).unwrap();
    let hop = net
        .fetch(&Url::parse("https://api.demo.test/").unwrap())
        .await;
    let error = hop.error.expect("a timeout is recorded");
    assert_eq!(error.kind, NetErrorKind::Timeout);
    assert!(hop.status.is_none());
    // After the deadline nothing new starts.
    let later = net
        .fetch(&Url::parse("https://www.demo.test/").unwrap())
        .await;
    assert_eq!(later.error.map(|e| e.kind), Some(NetErrorKind::Timeout));
}

#[tokio::test]
async fn redirect_loops_and_hop_budgets_end_the_chain() {
    let mut scenario = scenarios::demo();
    scenario.site_mut("app.demo.test").unwrap().https =
        Handler::redirect(302, "https://members.demo.test", true);
    scenario.site_mut("members.demo.test").unwrap().https =
        Handler::redirect(302, "https://app.demo.test", true);
    let (_lab, net) = lab(scenario).await;
    let start = Url::parse("https://app.demo.test/").unwrap();
    let (hops, end) = net.follow(&start, 10).await;
    assert_eq!(end, ChainEnd::Loop);
    assert_eq!(hops.len(), 2);
    let (hops, end) = net
        .follow(&Url::parse("http://demo.test/").unwrap(), 2)
        .await;
    assert_eq!(end, ChainEnd::TooManyHops);
    assert_eq!(hops.len(), 2);
}

#[tokio::test]
async fn the_lab_refuses_tls_1_0_and_1_1_offered_alone() {
    let (_lab, net) = lab(scenarios::demo()).await;
    let probes = net.probe_legacy_tls("www.demo.test").await;
    let seen: Vec<_> = probes
        .iter()
        .map(|p| (p.version.as_str(), p.accepted))
        .collect();
    assert_eq!(
        seen,
        [("TLSv1.0", Some(false)), ("TLSv1.1", Some(false))],
        "{probes:?}"
    );
}
