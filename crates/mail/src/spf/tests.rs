//! `check_host()` and `analyze()` over hand-built DNS snapshots.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::dns::{Answer, QueryType, Rdata, Snapshot, resolve};
use std::net::IpAddr;

fn txt(s: &str) -> Answer {
    Answer::records(vec![Rdata::Txt(vec![s.to_owned()])])
}

fn a(ips: &[&str]) -> Answer {
    Answer::records(ip_records(ips))
}

fn ip_records(ips: &[&str]) -> Vec<Rdata> {
    ips.iter()
        .map(|ip| match ip.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => Rdata::A(v4),
            IpAddr::V6(v6) => Rdata::Aaaa(v6),
        })
        .collect()
}

fn mx(hosts: &[&str]) -> Answer {
    Answer::records(mx_records(hosts))
}

fn mx_records(hosts: &[&str]) -> Vec<Rdata> {
    hosts
        .iter()
        .enumerate()
        .map(|(i, h)| Rdata::Mx {
            preference: u16::try_from(i).unwrap(),
            exchange: (*h).to_owned(),
        })
        .collect()
}

/// A snapshot from zone-like lines, `NAME TYPE DATA`: TXT takes the rest of the line as one string; A, AAAA, MX
/// (preference by position) and PTR take one address or name per word. Lines of the same name and type are one
/// answer with several records.
fn zone(text: &str) -> Snapshot {
    let mut answers: Vec<(&str, QueryType, Vec<Rdata>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, ' ');
        let (name, kind, data) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or_default(),
        );
        let (qtype, records) = match kind {
            "TXT" => (QueryType::Txt, vec![Rdata::Txt(vec![data.to_owned()])]),
            "A" | "AAAA" => {
                let ips: Vec<&str> = data.split_whitespace().collect();
                let qtype = if kind == "A" {
                    QueryType::A
                } else {
                    QueryType::Aaaa
                };
                (qtype, ip_records(&ips))
            }
            "MX" => {
                let hosts: Vec<&str> = data.split_whitespace().collect();
                (QueryType::Mx, mx_records(&hosts))
            }
            "PTR" => (
                QueryType::Ptr,
                data.split_whitespace()
                    .map(|name| Rdata::Ptr(name.to_owned()))
                    .collect(),
            ),
            other => panic!("unknown type {other} in `{line}`"),
        };
        match answers
            .iter_mut()
            .find(|(n, t, _)| *n == name && *t == qtype)
        {
            Some((_, _, existing)) => existing.extend(records),
            None => answers.push((name, qtype, records)),
        }
    }
    answers
        .into_iter()
        .fold(Snapshot::new(), |snap, (name, qtype, records)| {
            snap.with(name, qtype, Answer::records(records))
        })
}

/// Runs `check_host` over `snap`; every question it asks that `snap` does not hold gets NXDOMAIN.
fn check(snap: &Snapshot, ip: &str, domain: &str) -> Verdict {
    let mut snap = snap.clone();
    let ip: IpAddr = ip.parse().unwrap();
    let sender = format!("user@{domain}");
    futures::executor::block_on(resolve(
        &mut snap,
        |s| check_host(s, ip, domain, &sender, "helo.example.org"),
        |_| async { Answer::NxDomain },
    ))
    .unwrap()
}

fn analyzed(snap: &Snapshot, domain: &str) -> Analysis {
    let mut snap = snap.clone();
    futures::executor::block_on(resolve(
        &mut snap,
        |s| analyze(s, domain),
        |_| async { Answer::NxDomain },
    ))
    .unwrap()
}

#[test]
fn pending_until_the_record_is_known() {
    let snap = Snapshot::new();
    let pending = check_host(
        &snap,
        "192.0.2.1".parse().unwrap(),
        "example.com",
        "a@example.com",
        "h.example.com",
    );
    assert_eq!(
        pending,
        Err(crate::dns::Pending(crate::dns::Query::new(
            "example.com",
            QueryType::Txt
        )))
    );
}

#[test]
fn main_paths() {
    let snap = zone(
        "example.com TXT v=spf1 ip4:192.0.2.0/24 a:web.example.com mx include:_spf.mailer.test -all exp=why.example.com
         web.example.com A 198.51.100.7
         example.com MX mail.example.com
         mail.example.com A 203.0.113.9
         _spf.mailer.test TXT v=spf1 ip6:2001:db8::/32 ~all
         why.example.com TXT %{i} is not allowed to send for %{d}",
    );
    let v = check(&snap, "192.0.2.55", "example.com");
    assert_eq!(
        (v.result, v.mechanism.as_deref()),
        (SpfResult::Pass, Some("ip4:192.0.2.0/24"))
    );
    let fail = check(&snap, "203.0.113.10", "example.com");
    assert_eq!(fail.result, SpfResult::Fail);
    assert_eq!(
        fail.explanation.as_deref(),
        Some("203.0.113.10 is not allowed to send for example.com")
    );
    for (ip, domain, expected) in [
        ("198.51.100.7", "example.com", SpfResult::Pass),
        ("203.0.113.9", "example.com", SpfResult::Pass),
        ("2001:db8::1", "example.com", SpfResult::Pass),
        // IPv4-mapped IPv6 clients are IPv4 clients.
        ("::ffff:192.0.2.1", "example.com", SpfResult::Pass),
        ("192.0.2.1", "nothing.example.com", SpfResult::None),
        ("192.0.2.1", "[192.0.2.1]", SpfResult::None),
        ("192.0.2.1", "localhost", SpfResult::None),
    ] {
        assert_eq!(
            check(&snap, ip, domain).result,
            expected,
            "{ip} for {domain}"
        );
    }
}

#[test]
fn errors_and_limits() {
    let mut snap = zone(
        "syntax.test TXT v=spf1 ip4:192.0.2.1 -all moo
         two.test TXT v=spf1 -all
         two.test TXT v=spf1 +all
         inc-none.test TXT v=spf1 include:nothing.test -all
         redir-none.test TXT v=spf1 redirect=nothing.test
         voids.test TXT v=spf1 a:n1.test a:n2.test a:n3.test ?all
         loop.test TXT v=spf1 include:loop.test
         redir.test TXT v=spf1 ip4:10.0.0.1 redirect=target.test exp=x.test
         target.test TXT v=spf1 -all
         nullmx.test TXT v=spf1 mx -all",
    )
    .with(
        "temp.test",
        QueryType::Txt,
        Answer::TempError {
            reason: "timeout".into(),
        },
    )
    .with("nullmx.test", QueryType::Mx, mx(&[""]))
    .with(
        "split.test",
        QueryType::Txt,
        Answer::records(vec![Rdata::Txt(vec![
            "v=spf1 ip4:".into(),
            "192.0.2.5 -all".into(),
        ])]),
    );
    let r = |snap: &Snapshot, d: &str| check(snap, "192.0.2.5", d).result;
    for (domain, expected) in [
        ("temp.test", SpfResult::TempError),
        ("syntax.test", SpfResult::PermError),
        ("two.test", SpfResult::PermError),
        ("inc-none.test", SpfResult::PermError),
        ("redir-none.test", SpfResult::PermError),
        ("voids.test", SpfResult::PermError),
        ("loop.test", SpfResult::PermError),
        ("nullmx.test", SpfResult::Fail),
        ("split.test", SpfResult::Pass),
    ] {
        assert_eq!(r(&snap, domain), expected, "{domain}");
    }
    let redirected = check(&snap, "192.0.2.5", "redir.test");
    assert_eq!(
        (redirected.result, redirected.explanation),
        (SpfResult::Fail, None)
    );

    // Eleven `a` terms: the eleventh is over the limit even though every one is answered.
    let many = format!("v=spf1 {} -all", ["a:h.test"; 11].join(" "));
    snap.insert(
        crate::dns::Query::new("many.test", QueryType::Txt),
        txt(&many),
    );
    snap.insert(
        crate::dns::Query::new("h.test", QueryType::A),
        a(&["10.9.9.9"]),
    );
    assert_eq!(r(&snap, "many.test"), SpfResult::PermError);
}

#[test]
fn ptr_and_p_macro_use_validated_names() {
    let snap = zone(
        "ptr.test TXT v=spf1 ptr:good.test -all exp=e.ptr.test
         e.ptr.test TXT connect from %{p}
         5.2.0.192.in-addr.arpa PTR mx.bad.test mx.good.test.
         mx.good.test A 192.0.2.5
         mx.bad.test A 192.0.2.99",
    );
    assert_eq!(
        check(&snap, "192.0.2.5", "ptr.test").result,
        SpfResult::Pass
    );
    let fail = check(&snap, "192.0.2.6", "ptr.test");
    assert_eq!(fail.result, SpfResult::Fail);
    assert_eq!(fail.explanation.as_deref(), Some("connect from unknown"));
}

#[test]
fn analysis_counts_lookups_and_renders_a_tree() {
    let snap = zone(
        "example.com TXT v=spf1 include:_spf.mailer.test mx a:gone.example.com exists:%{i}.bl.test -all
         _spf.mailer.test TXT v=spf1 include:deeper.test ~all
         deeper.test TXT v=spf1 ip4:192.0.2.0/24 ptr -all
         example.com MX mx.example.com",
    );
    let analysis = analyzed(&snap, "example.com");
    assert_eq!(analysis.total_lookups, 6);
    assert_eq!(analysis.root.lookups, 4);
    assert_eq!(
        analysis.root.void_lookups,
        vec!["gone.example.com".to_owned()]
    );
    assert_eq!(
        analysis.root.macro_terms,
        vec!["exists:%{i}.bl.test".to_owned()]
    );
    assert_eq!(analysis.root.all, Some(Qualifier::Fail));
    assert!(analysis.root.children[0].children[0].ptr_used);
    assert_eq!(
        analysis.render_tree(),
        "example.com (6 lookups)\n\
         ├─ include:_spf.mailer.test (3)\n\
         │  └─ include:deeper.test (2)\n\
         │     └─ ptr (1)\n\
         ├─ mx (1)\n\
         ├─ a:gone.example.com (1) [void]\n\
         └─ exists:%{i}.bl.test (1)\n"
    );
}

#[test]
fn analysis_survives_loops_deep_chains_and_bad_records() {
    let mut snap = zone(
        "loop.test TXT v=spf1 include:other.test -all
         other.test TXT v=spf1 include:loop.test -all",
    );
    let looped = analyzed(&snap, "loop.test");
    assert_eq!(looped.root.children[0].children[0].state, NodeState::Loop);

    for i in 0..30 {
        snap.insert(
            crate::dns::Query::new(&format!("d{i}.test"), QueryType::Txt),
            txt(&format!("v=spf1 include:d{}.test -all", i + 1)),
        );
    }
    let deep = analyzed(&snap, "d0.test");
    let nodes = deep.root.walk();
    assert!(nodes.len() < 25, "{}", nodes.len());
    assert!(nodes.iter().any(|n| n.state == NodeState::NotFollowed));
    assert!(deep.total_lookups > MAX_DNS_TERMS);

    let snap = zone(
        "bad.test TXT v=spf1 a -all foo
         two.test TXT v=spf1 -all
         two.test TXT v=spf1 +all",
    )
    .with(
        "long.test",
        QueryType::Txt,
        Answer::records(vec![Rdata::Txt(vec![
            format!("v=spf1 {}", "ip4:192.0.2.1 ".repeat(20)),
            "-all".into(),
        ])]),
    );
    match analyzed(&snap, "bad.test").root.state {
        NodeState::Syntax(e) => assert_eq!((e.position, e.term.as_str()), (14, "foo")),
        other => panic!("{other:?}"),
    }
    let two = analyzed(&snap, "two.test");
    assert_eq!(
        (two.root.state.clone(), two.root.records.len()),
        (NodeState::Multiple, 2)
    );
    let long = analyzed(&snap, "long.test");
    assert_eq!(long.root.longest_string, 287);
    assert_eq!(long.root.record_len, 291);
    assert_eq!(analyzed(&snap, "none.test").root.state, NodeState::NoRecord);
}
