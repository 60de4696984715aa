//! The fixed demo.test report every integration test renders: one finding per interesting shape (a blocker, a
//! high, a medium that can wait, an info, a suppressed one) and a DNS map with probed hosts (a redirect chain of
//! several hops, a 2-hop one, a single 200), an unreachable host whose paths time out, and an unresolvable host with
//! no paths. Every host that answered TLS carries a summary of it: the apex an RSA Let's Encrypt certificate over
//! TLS 1.2, www an edge's EC certificate over TLS 1.3 with h2, members the expired certificate the blocker is about;
//! the unresolvable host has none.

#![allow(dead_code)]

use launchready_findings::{
    DnsMapEntry, Finding, MapHop, MapPath, Report, Severity, Stage, Suppression, TlsSummary,
};
use launchready_report::{Format, RenderOptions, render};

pub fn demo_report() -> Report {
    let expired = Finding::new(
        "tls.cert.expired",
        Stage::QuickAudit,
        Severity::Blocker,
        "members.demo.test",
        "The TLS certificate has expired",
    )
    .evidence("notAfter 2025-12-01T00:00:00Z, 31 days before the audit")
    .evidence("issuer CN=Demo Issuing CA 1, O=Demo Trust")
    .remediation("Renew the certificate and deploy it to every endpoint serving members.demo.test, then enable auto-renewal.")
    .reference("https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5");

    let missing = Finding::new(
        "dns.host.missing",
        Stage::DnsRouting,
        Severity::High,
        "admin.demo.test",
        "A host listed in the manifest does not resolve",
    )
    .evidence("A admin.demo.test: NXDOMAIN")
    .evidence("AAAA admin.demo.test: NXDOMAIN")
    .remediation("Add an A/AAAA or CNAME record for admin.demo.test, or remove the host from launchready.toml.")
    .reference("https://www.rfc-editor.org/rfc/rfc1034#section-3.6");

    let hops = Finding::new(
        "redirect.too_many_hops",
        Stage::DnsRouting,
        Severity::Medium,
        "http://demo.test/",
        "The entry point takes 3 redirects to reach the canonical URL",
    )
    .evidence("301 http://demo.test/ -> https://demo.test/")
    .evidence("301 https://demo.test/ -> http://www.demo.test/")
    .evidence("301 http://www.demo.test/ -> https://www.demo.test/")
    .remediation("Redirect http://demo.test/ straight to https://www.demo.test/ in a single hop.")
    .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Redirections");

    let ttl = Finding::new(
        "dns.ttl.long",
        Stage::DnsRouting,
        Severity::Info,
        "demo.test",
        "The apex A record has a one-day TTL",
    )
    .evidence("A demo.test 192.0.2.10 TTL 86400")
    .remediation("Lower the TTL to 300 seconds a day before launch so a bad record can be corrected quickly.")
    .reference("https://www.rfc-editor.org/rfc/rfc1035#section-3.2.1");

    let mut dmarc = Finding::new(
        "email.dmarc.missing",
        Stage::Email,
        Severity::Medium,
        "_dmarc.demo.test",
        "No DMARC policy is published",
    )
    .evidence("TXT _dmarc.demo.test: NXDOMAIN")
    .remediation(
        "Publish a DMARC record, starting with p=none and a rua address to collect reports.",
    )
    .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.1");
    dmarc.suppressed = Some(Suppression {
        reason: "Mail is sent from the agency's domain until March; tracked in OPS-42".to_string(),
    });

    // Entry points https first, then http, as the audit lists them. The apex's http path is the three-redirect
    // chain the medium finding is about; members.demo.test times out; admin.demo.test never resolved, so it has
    // no paths at all.
    let dns_map = vec![
        DnsMapEntry {
            host: "demo.test".to_string(),
            role: "apex".to_string(),
            records: vec!["A 192.0.2.10".to_string()],
            final_url: Some("https://www.demo.test/".to_string()),
            final_status: Some(200),
            paths: vec![
                path(
                    "final",
                    &[
                        ("https://demo.test/", Some(301)),
                        ("http://www.demo.test/", Some(301)),
                        ("https://www.demo.test/", Some(200)),
                    ],
                ),
                path(
                    "final",
                    &[
                        ("http://demo.test/", Some(301)),
                        ("https://demo.test/", Some(301)),
                        ("http://www.demo.test/", Some(301)),
                        ("https://www.demo.test/", Some(200)),
                    ],
                ),
            ],
            tls: Some(tls(
                "TLSv1.2",
                Some("http/1.1"),
                "C=US, O=Let's Encrypt, CN=R11",
                &["demo.test", "www.demo.test"],
                "2026-02-14T08:12:45Z",
                "RSA 2048",
                "valid",
            )),
        },
        DnsMapEntry {
            host: "www.demo.test".to_string(),
            role: "www".to_string(),
            records: vec![
                "CNAME demo-site.edge.example.".to_string(),
                "A 192.0.2.20".to_string(),
            ],
            final_url: Some("https://www.demo.test/".to_string()),
            final_status: Some(200),
            paths: vec![
                path("final", &[("https://www.demo.test/", Some(200))]),
                path(
                    "final",
                    &[
                        ("http://www.demo.test/", Some(301)),
                        ("https://www.demo.test/", Some(200)),
                    ],
                ),
            ],
            tls: Some(tls(
                "TLSv1.3",
                Some("h2"),
                "C=US, O=Google Trust Services, CN=WE1",
                &["demo.test", "*.demo.test"],
                "2026-03-02T10:41:07Z",
                "EC 256",
                "valid",
            )),
        },
        DnsMapEntry {
            host: "members.demo.test".to_string(),
            role: "subdomain".to_string(),
            records: vec!["A 192.0.2.30".to_string()],
            final_url: Some("https://members.demo.test/".to_string()),
            final_status: None,
            paths: vec![
                path("failed", &[("https://members.demo.test/", None)]),
                path(
                    "failed",
                    &[
                        ("http://members.demo.test/", Some(301)),
                        ("https://members.demo.test/", None),
                    ],
                ),
            ],
            // The handshake completed (the audit records the certificate whatever its verdict); the page then
            // never answered.
            tls: Some(tls(
                "TLSv1.3",
                None,
                "CN=Demo Issuing CA 1, O=Demo Trust",
                &["members.demo.test"],
                "2025-12-01T00:00:00Z",
                "EC 384",
                "expired",
            )),
        },
        DnsMapEntry {
            host: "admin.demo.test".to_string(),
            role: "subdomain".to_string(),
            records: vec![],
            final_url: None,
            final_status: None,
            paths: vec![],
            tls: None,
        },
    ];

    let mut report = Report::new(
        "demo.test",
        "2026-01-01T00:00:00Z",
        vec![ttl, dmarc, hops, missing, expired],
        dns_map,
    );
    // Pinned so that a release bump does not churn every snapshot.
    report.tool.version = "0.0.0-test".to_string();
    report
}

/// A path from its hops, each a URL and its status; a hop without a status timed out.
pub fn path(end: &str, hops: &[(&str, Option<u16>)]) -> MapPath {
    let hops = hops
        .iter()
        .map(|&(url, status)| {
            MapHop::new(url, status, status.is_none().then(|| "timeout".to_string()))
        })
        .collect();
    MapPath::from_hops(end, hops)
}

/// A TLS summary: session version and ALPN, then the leaf certificate's issuer, names, expiry and key, and the
/// verification verdict.
pub fn tls(
    version: &str,
    alpn: Option<&str>,
    issuer: &str,
    sans: &[&str],
    not_after: &str,
    key: &str,
    verification: &str,
) -> TlsSummary {
    TlsSummary {
        version: version.to_string(),
        alpn: alpn.map(str::to_string),
        issuer: issuer.to_string(),
        sans: sans.iter().map(|name| name.to_string()).collect(),
        not_after: not_after.to_string(),
        key: key.to_string(),
        verification: verification.to_string(),
    }
}

pub fn plain() -> RenderOptions {
    RenderOptions {
        color: false,
        fail_on: Severity::High,
    }
}

/// The demo report rendered in `format` without colour, failing on high.
pub fn demo(format: Format) -> String {
    render(&demo_report(), format, &plain())
}
