//! DNS behaviour of the lab, checked with hickory's stub resolver and raw UDP/TCP queries.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Tcp, Udp};

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hickory_resolver::net::{DnsError, NetError};
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::{RData, RecordType};
use launchready_lab::scenarios::{self, DEMO_DKIM_RECORD, DEMO_SPF_RECORD};
use launchready_lab::{Lab, LabError, Record, RecordData, Scenario, Zone};

async fn demo_lab() -> Lab {
    Lab::start(scenarios::demo()).await.unwrap()
}

fn txt_strings(rdata: &RData) -> Vec<String> {
    match rdata {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
            .collect(),
        other => panic!("expected TXT, got {other:?}"),
    }
}

#[tokio::test]
async fn apex_a_and_aaaa_resolve_to_loopback() {
    let lab = demo_lab().await;
    let resolver = common::resolver(&lab);

    let a = resolver.lookup("demo.test.", RecordType::A).await.unwrap();
    let ips: Vec<_> = a.answers().iter().map(|r| r.data.clone()).collect();
    assert_eq!(ips, vec![RData::A(Ipv4Addr::LOCALHOST.into())]);
    assert_eq!(a.answers()[0].ttl, 300);

    let aaaa = resolver
        .lookup("demo.test.", RecordType::AAAA)
        .await
        .unwrap();
    let ips: Vec<_> = aaaa.answers().iter().map(|r| r.data.clone()).collect();
    assert_eq!(ips, vec![RData::AAAA(Ipv6Addr::LOCALHOST.into())]);
}

#[tokio::test]
async fn www_cname_is_chased_to_the_apex_address() {
    let lab = demo_lab().await;
    let resolver = common::resolver(&lab);

    let lookup = resolver
        .lookup("www.demo.test.", RecordType::A)
        .await
        .unwrap();
    let answers = lookup.answers();
    let cname = answers
        .iter()
        .find(|r| r.record_type() == RecordType::CNAME)
        .expect("CNAME in the answer");
    assert_eq!(cname.name.to_ascii(), "www.demo.test.");
    match &cname.data {
        RData::CNAME(target) => assert_eq!(target.0.to_ascii(), "demo.test."),
        other => panic!("unexpected {other:?}"),
    }
    let a = answers
        .iter()
        .find(|r| r.record_type() == RecordType::A)
        .expect("chased A record in the answer");
    assert_eq!(a.name.to_ascii(), "demo.test.");
    assert_eq!(a.data, RData::A(Ipv4Addr::LOCALHOST.into()));

    // The raw response carries both records in one authoritative answer.
    let raw = common::raw(Udp, lab.dns_addr(), "www.demo.test.", RecordType::A).await;
    assert!(raw.metadata.authoritative);
    assert_eq!(raw.answers.len(), 2);
    assert_eq!(raw.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(raw.answers[1].record_type(), RecordType::A);
}

#[tokio::test]
async fn missing_names_are_nxdomain_and_missing_types_are_nodata() {
    let lab = demo_lab().await;
    let resolver = common::resolver(&lab);

    common::assert_nxdomain(&resolver, "admin.demo.test.", RecordType::A).await;

    common::assert_nxdomain(&resolver, "_dmarc.demo.test.", RecordType::TXT).await;

    // app exists (A) but has no AAAA: NOERROR with an empty answer.
    let nodata = resolver
        .lookup("app.demo.test.", RecordType::AAAA)
        .await
        .unwrap_err();
    assert!(
        nodata.is_no_records_found() && !nodata.is_nx_domain(),
        "{nodata}"
    );

    let raw = common::raw(Udp, lab.dns_addr(), "admin.demo.test.", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NXDomain);
    assert!(raw.metadata.authoritative);
    assert!(
        raw.authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA),
        "negative answers carry the SOA"
    );

    let raw = common::raw(Udp, lab.dns_addr(), "app.demo.test.", RecordType::AAAA).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    assert!(raw.answers.is_empty());
}

#[tokio::test]
async fn names_outside_the_zones_are_refused() {
    let lab = demo_lab().await;
    let raw = common::raw(Udp, lab.dns_addr(), "example.com.", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::Refused);
    assert!(raw.answers.is_empty());
}

#[tokio::test]
async fn mx_txt_dkim_and_caa_records() {
    let lab = demo_lab().await;
    let resolver = common::resolver(&lab);

    let mx = resolver.lookup("demo.test.", RecordType::MX).await.unwrap();
    match &mx.answers()[0].data {
        RData::MX(mx) => {
            assert_eq!(mx.preference, 10);
            assert_eq!(mx.exchange.to_ascii(), "mail.demo.test.");
        }
        other => panic!("unexpected {other:?}"),
    }
    let mail = resolver
        .lookup("mail.demo.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(mail.answers()[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));

    let txt = resolver
        .lookup("demo.test.", RecordType::TXT)
        .await
        .unwrap();
    assert_eq!(
        txt_strings(&txt.answers()[0].data),
        vec![DEMO_SPF_RECORD.to_owned()]
    );

    let dkim = resolver
        .lookup("default._domainkey.demo.test.", RecordType::TXT)
        .await
        .unwrap();
    let chunks = txt_strings(&dkim.answers()[0].data);
    assert!(
        chunks.len() > 1,
        "a 2048-bit DKIM key needs several strings"
    );
    assert!(chunks.iter().all(|c| c.len() <= 255));
    // The demo's key is the shared one, left in testing mode (`t=y`) as one of the demo's flaws.
    assert_eq!(
        chunks.concat(),
        DEMO_DKIM_RECORD.replace("k=rsa;", "k=rsa; t=y;")
    );

    let caa = common::caa_records(&resolver, "demo.test.").await;
    assert_eq!(
        caa[0],
        (false, "issue".to_string(), b"letsencrypt.org".to_vec())
    );
}

#[tokio::test]
async fn soa_and_ns_are_generated_and_tcp_shares_the_port() {
    let lab = demo_lab().await;

    let ns = common::raw(Tcp, lab.dns_addr(), "demo.test.", RecordType::NS).await;
    assert!(ns.metadata.authoritative);
    assert_eq!(
        common::ns_targets(&ns),
        vec!["ns1.demo.test.", "ns2.demo.test."]
    );

    let soa = common::raw(Tcp, lab.dns_addr(), "demo.test.", RecordType::SOA).await;
    assert_eq!(soa.answers.len(), 1);
    assert_eq!(soa.answers[0].record_type(), RecordType::SOA);

    let ns1 = common::raw(Udp, lab.dns_addr(), "ns1.demo.test.", RecordType::A).await;
    assert_eq!(ns1.answers[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));
}

#[tokio::test]
async fn explicit_ns_suppresses_generated_ns_and_long_txt_is_split() {
    let long = "x".repeat(600);
    let scenario = Scenario::new().zone(
        Zone::new("custom.test")
            .ns("@", "ns.elsewhere.test")
            .txt("@", &long)
            .record(Record::new(
                "deep.sub.custom.test",
                60,
                RecordData::A(Ipv4Addr::new(127, 0, 0, 2)),
            )),
    );
    let lab = Lab::start(scenario).await.unwrap();

    let ns = common::raw(Udp, lab.dns_addr(), "custom.test.", RecordType::NS).await;
    assert_eq!(ns.answers.len(), 1);
    let ns1 = common::raw(Udp, lab.dns_addr(), "ns1.custom.test.", RecordType::A).await;
    assert_eq!(ns1.metadata.response_code, ResponseCode::NXDomain);

    let txt = common::raw(Tcp, lab.dns_addr(), "custom.test.", RecordType::TXT).await;
    let chunks = txt_strings(&txt.answers[0].data);
    assert_eq!(
        chunks.iter().map(String::len).collect::<Vec<_>>(),
        vec![255, 255, 90]
    );

    let deep = common::raw(Udp, lab.dns_addr(), "deep.sub.custom.test.", RecordType::A).await;
    assert_eq!(deep.answers[0].ttl, 60);
    // An empty non-terminal exists: NOERROR/NODATA rather than NXDOMAIN.
    let ent = common::raw(Udp, lab.dns_addr(), "sub.custom.test.", RecordType::A).await;
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
}

#[tokio::test]
async fn invalid_zones_are_rejected_at_start() {
    let outside = Scenario::new().zone(Zone::new("a.test").record(Record::new(
        "b.test",
        300,
        RecordData::A(Ipv4Addr::LOCALHOST),
    )));
    assert!(matches!(
        Lab::start(outside).await,
        Err(LabError::InvalidScenario(_))
    ));

    let cname_clash = Scenario::new().zone(
        Zone::new("a.test")
            .a("www", Ipv4Addr::LOCALHOST)
            .cname("www", "a.test"),
    );
    assert!(matches!(
        Lab::start(cname_clash).await,
        Err(LabError::InvalidScenario(_))
    ));

    let two_cnames = Scenario::new().zone(
        Zone::new("a.test")
            .cname("x", "a.test")
            .cname("x", "b.test"),
    );
    assert!(matches!(
        Lab::start(two_cnames).await,
        Err(LabError::InvalidScenario(_))
    ));

    // An exact duplicate is harmless and served once.
    let dup = Scenario::new().zone(
        Zone::new("a.test")
            .a("x", Ipv4Addr::LOCALHOST)
            .a("x", Ipv4Addr::LOCALHOST),
    );
    let lab = Lab::start(dup).await.unwrap();
    let raw = common::raw(Udp, lab.dns_addr(), "x.a.test.", RecordType::A).await;
    assert_eq!(raw.answers.len(), 1);

    let bad_name = Scenario::new().zone(Zone::new("a.test").cname("x", "bad..name"));
    assert!(matches!(
        Lab::start(bad_name).await,
        Err(LabError::InvalidName { .. })
    ));
}

#[tokio::test]
async fn dns_latency_delays_every_answer() {
    let latency = Duration::from_millis(300);
    let lab = Lab::start(scenarios::demo().dns_latency(latency))
        .await
        .unwrap();
    let resolver = common::resolver(&lab);

    let lookup = common::delayed_by(latency, resolver.lookup("app.demo.test.", RecordType::A))
        .await
        .unwrap();
    assert_eq!(
        lookup.answers()[0].data,
        RData::A(Ipv4Addr::LOCALHOST.into())
    );

    // Negative answers are delayed too.
    let raw = common::raw(Udp, lab.dns_addr(), "admin.demo.test.", RecordType::A);
    let raw = common::delayed_by(latency, raw).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NXDomain);
}

/// Documents hickory's CNAME handling, which auditors built on the lab will observe: in-zone
/// chains are chased inside one answer, a chain leaving the zone stops at the last in-zone CNAME
/// (the client's resolver follows it), and a dangling in-zone CNAME is answered NOERROR with just
/// the CNAME (BIND would say NXDOMAIN), the resolver then reporting NXDOMAIN for the target.
#[tokio::test]
async fn cname_chains_within_and_across_zones() {
    let scenario = Scenario::new()
        .zone(
            Zone::new("a.test")
                .cname("x", "y.b.test")
                .cname("chain", "x.a.test")
                .cname("dangling", "nope.a.test"),
        )
        .zone(Zone::new("b.test").a("y", Ipv4Addr::new(127, 0, 0, 9)));
    let lab = Lab::start(scenario).await.unwrap();

    let raw = common::raw(Udp, lab.dns_addr(), "chain.a.test.", RecordType::A).await;
    let types: Vec<_> = raw.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, vec![RecordType::CNAME, RecordType::CNAME]);
    assert_eq!(raw.answers[1].name.to_ascii(), "x.a.test.");

    let resolver = common::resolver(&lab);
    let lookup = resolver
        .lookup("chain.a.test.", RecordType::A)
        .await
        .unwrap();
    let last = lookup.answers().last().unwrap();
    assert_eq!(last.name.to_ascii(), "y.b.test.");
    assert_eq!(last.data, RData::A(Ipv4Addr::new(127, 0, 0, 9).into()));

    let raw = common::raw(Udp, lab.dns_addr(), "dangling.a.test.", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    assert_eq!(raw.answers.len(), 1);
    common::assert_nxdomain(&resolver, "dangling.a.test.", RecordType::A).await;
}

#[tokio::test]
async fn truncated_udp_answers_force_a_retry_over_tcp() {
    let lab = Lab::start(scenarios::demo().dns_truncate_udp(true))
        .await
        .unwrap();

    // Every UDP answer, positive or negative, is an empty message with TC set...
    for (name, rtype) in [
        ("app.demo.test.", RecordType::A),
        ("admin.demo.test.", RecordType::A),
        ("demo.test.", RecordType::MX),
    ] {
        let raw = common::raw(Udp, lab.dns_addr(), name, rtype).await;
        assert!(raw.metadata.truncation, "{name} {rtype}");
        assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
        assert!(raw.answers.is_empty() && raw.authorities.is_empty());
        assert_eq!(raw.queries.len(), 1, "the question is echoed");
    }
    // ...while TCP answers normally.
    let tcp = common::raw(Tcp, lab.dns_addr(), "app.demo.test.", RecordType::A).await;
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));

    // A stub resolver (UDP first) still gets the answer by retrying over TCP.
    let resolver = common::resolver(&lab);
    let lookup = resolver
        .lookup("app.demo.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(
        lookup.answers()[0].data,
        RData::A(Ipv4Addr::LOCALHOST.into())
    );
    let www = resolver.lookup_ip("www.demo.test.").await.unwrap();
    assert!(www.iter().any(|ip| ip.is_loopback()));
}

#[tokio::test]
async fn servfail_names_fail_for_every_type_and_protocol() {
    let lab = Lab::start(scenarios::demo().dns_servfail("App.Demo.Test."))
        .await
        .unwrap();

    for rtype in [
        RecordType::A,
        RecordType::AAAA,
        RecordType::MX,
        RecordType::TXT,
    ] {
        let raw = common::raw(Udp, lab.dns_addr(), "app.demo.test.", rtype).await;
        assert_eq!(
            raw.metadata.response_code,
            ResponseCode::ServFail,
            "{rtype}"
        );
        assert!(raw.answers.is_empty());
    }
    let tcp = common::raw(Tcp, lab.dns_addr(), "APP.demo.test.", RecordType::A).await;
    assert_eq!(tcp.metadata.response_code, ResponseCode::ServFail);

    let resolver = common::resolver(&lab);
    let err = resolver
        .lookup("app.demo.test.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))
        ),
        "{err:?}"
    );
    assert!(!err.is_nx_domain());

    // Only the listed name fails; its neighbours and subdomains of it are unaffected.
    let api = resolver
        .lookup("api.demo.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(api.answers()[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));
    let below = common::raw(Udp, lab.dns_addr(), "x.app.demo.test.", RecordType::A).await;
    assert_eq!(below.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn silent_names_never_get_an_answer() {
    let lab = Lab::start(scenarios::demo().dns_silent("api.demo.test"))
        .await
        .unwrap();
    let wait = Duration::from_millis(700);

    assert!(
        common::raw_within(Udp, lab.dns_addr(), "api.demo.test.", RecordType::A, wait)
            .await
            .is_none()
    );
    assert!(
        common::raw_within(Tcp, lab.dns_addr(), "api.demo.test.", RecordType::TXT, wait)
            .await
            .is_none()
    );

    let resolver = common::resolver_with_timeout(&lab, Duration::from_millis(500));
    let started = Instant::now();
    let err = resolver
        .lookup("api.demo.test.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "gave up after {:?}: {err}",
        started.elapsed()
    );
    assert!(matches!(err, NetError::Timeout), "{err:?}");

    // Other names still answer, promptly: within the time the silent one was given.
    let app = resolver.lookup("app.demo.test.", RecordType::A);
    let app = tokio::time::timeout(Duration::from_millis(500), app)
        .await
        .expect("app.demo.test answers within 500 ms")
        .unwrap();
    assert_eq!(app.answers()[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));
}
