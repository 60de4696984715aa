//! The mail lab: one small zone per way a domain's email authentication goes wrong, and one domain
//! (`good.test`) that gets everything right, so every email check has a domain that trips it and one that
//! does not. Audited with [`MAIL_MANIFEST`], which lists them all as senders or parked domains.

use std::net::Ipv4Addr;

use crate::scenario::{CertSpec, Handler, MailServer, Page, Scenario, Site, Zone};
use crate::scenarios::DEMO_DKIM_RECORD;

/// A 1024-bit RSA key: accepted by receivers, but below the 2048 bits now recommended.
pub const DKIM_1024_RECORD: &str = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCnL7cMxRDGwttFRlRBvFssYpKsdaQxLFd6p1YxWrK0gTyWov+SnU4SuqdFONS7ssNTTG+IzNG7Y2dN4lyzMNt2KtXXZyj2pETMzXaChn+xdIQfm3UQ2PI3s0qUGhxe97kTjQSSj4NBWCzZ80FxtBslKXoomNnVHKpCXKPIqq8z3wIDAQAB";

/// A 512-bit RSA key: factorable by anyone with a few hours of cloud time.
pub const DKIM_512_RECORD: &str = "v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAM9okQdSpqQ1YLgbmifp6iEKAXIzCBcniGLxCPioj8QrjK04iNE2/H3DazVIBdnClVUAlGHJdSkgX+zdGxwNW0UCAwEAAQ==";

/// `good.test`'s MTA-STS policy: enforcing, covering its one MX.
pub const GOOD_MTA_STS_POLICY: &str =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.good.test\r\nmax_age: 604800\r\n";

/// The manifest the mail lab is audited with.
pub const MAIL_MANIFEST: &str = r#"# The mail lab: every sender domain shows one family of flaws; good.test shows none.
[site]
domain = "good.test"
subdomains = []

[audit]
intranet = true

[email]
senders = [
  "good.test", "news.good.test", "nomx.test", "nullmx.test", "mxbad.test", "spfdeep.test",
  "spfvoid.test", "spfpass.test", "spfptr.test", "dkim.test",
]
non_sending = ["parked.test", "parkedok.test"]
dkim_selectors = ["s1", "legacy", "tiny", "trial", "old", "junk"]
"#;

/// Every mail zone, the MTA-STS policy sites, and the MX hosts' SMTP servers.
pub fn mail() -> Scenario {
    // The `test` zone itself makes the lab answer NXDOMAIN, as the real DNS would, for names no mail zone
    // holds (tools that walk up the tree looking for DMARC records ask for `_dmarc.test`).
    let mut scenario = Scenario::new().zone(Zone::new("test"));
    for zone in [
        good(),
        reports(),
        provider(),
        nomx(),
        nullmx(),
        mxbad(),
        spfdeep(),
        spfvoid(),
        spfpass(),
        spfptr(),
        dkim(),
        parked(),
        parkedok(),
    ] {
        scenario = scenario.zone(zone);
    }
    scenario
        .site(Site::new("mta-sts.good.test").https(Handler::pages([(
            "/.well-known/mta-sts.txt".to_owned(),
            Page::new(200, GOOD_MTA_STS_POLICY).header("content-type", "text/plain"),
        )])))
        // Flaw: the policy names MX hosts that are not spfptr.test's.
        .site(
            Site::new("mta-sts.spfptr.test").https(Handler::pages([(
                "/.well-known/mta-sts.txt".to_owned(),
                Page::new(
                    200,
                    "version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.test\r\nmax_age: 86400\r\n",
                )
                .header("content-type", "text/plain"),
            )])),
        )
        .mail_server(MailServer::new("mx.good.test"))
        .mail_server(MailServer::new("mx.news.good.test"))
        // Flaw: STARTTLS is not offered.
        .mail_server(MailServer::new("host.mxbad.test").starttls(false))
        // Flaw: STARTTLS with an expired certificate.
        .mail_server(MailServer::new("mx.spfdeep.test").cert(CertSpec::Expired))
}

/// Everything right: MX with STARTTLS, SPF through a provider include, a 2048-bit DKIM key, an enforcing
/// DMARC policy reporting to an authorised third party, MTA-STS, TLS-RPT and BIMI.
fn good() -> Zone {
    Zone::new("good.test")
        .mx("@", 10, "mx.good.test")
        .a("mx", Ipv4Addr::LOCALHOST)
        .txt("@", "v=spf1 mx include:_spf.provider.test -all")
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt(
            "_dmarc",
            "v=DMARC1; p=reject; rua=mailto:dmarc@good.test,mailto:agg@reports.test",
        )
        .txt("_mta-sts", "v=STSv1; id=20261101T000000")
        .a("mta-sts", Ipv4Addr::LOCALHOST)
        .txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:tlsrpt@good.test")
        .txt("default._bimi", "v=BIMI1; l=https://good.test/logo.svg; a=")
        // A subdomain that sends on its own: inherits the organisational DMARC policy.
        .mx("news", 10, "mx.news.good.test")
        .a("mx.news", Ipv4Addr::LOCALHOST)
        .txt("news", "v=spf1 mx -all")
        .cname("s1._domainkey.news", "s1._domainkey.good.test")
}

/// A DMARC report processor that accepts reports for good.test (RFC 7489 section 7.1).
fn reports() -> Zone {
    Zone::new("reports.test").txt("good.test._report._dmarc", "v=DMARC1")
}

/// A sending provider's SPF include.
fn provider() -> Zone {
    Zone::new("provider.test").txt("_spf", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")
}

/// Flaws: no MX, no SPF, no DKIM, no DMARC anywhere, no MTA-STS, TLS-RPT or BIMI.
fn nomx() -> Zone {
    Zone::new("nomx.test").a("@", Ipv4Addr::LOCALHOST)
}

/// Flaws: a sender with a null MX (it can never receive bounces or replies), two SPF records, two DMARC
/// records.
fn nullmx() -> Zone {
    Zone::new("nullmx.test")
        .mx("@", 0, ".")
        .txt("@", "v=spf1 -all")
        .txt("@", "v=spf1 ip4:192.0.2.1 -all")
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt("_dmarc", "v=DMARC1; p=reject")
        .txt("_dmarc", "v=DMARC1; p=none")
}

/// Flaws: MX hosts that do not resolve, that are CNAMEs, and that are IP literals; an SPF syntax error; a
/// DMARC record with an invalid policy.
fn mxbad() -> Zone {
    Zone::new("mxbad.test")
        .mx("@", 10, "gone.mxbad.test")
        .mx("@", 20, "alias.mxbad.test")
        .mx("@", 30, "192.0.2.25")
        .mx("@", 40, "host.mxbad.test")
        .cname("alias", "host.mxbad.test")
        .a("host", Ipv4Addr::LOCALHOST)
        .txt("@", "v=spf1 ip4:192.0.2.300 -all")
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt("_dmarc", "v=DMARC1; p=maybe")
}

/// Flaws: twelve DNS-querying SPF terms through two includes; DMARC only monitors, and only half the mail.
fn spfdeep() -> Zone {
    let mut zone = Zone::new("spfdeep.test")
        .mx("@", 10, "mx.spfdeep.test")
        .a("mx", Ipv4Addr::LOCALHOST)
        .txt(
            "@",
            "v=spf1 include:one.spfdeep.test include:two.spfdeep.test -all",
        )
        .txt(
            "one",
            "v=spf1 a:h1.spfdeep.test a:h2.spfdeep.test a:h3.spfdeep.test a:h4.spfdeep.test a:h5.spfdeep.test -all",
        )
        .txt(
            "two",
            "v=spf1 mx a:h6.spfdeep.test a:h7.spfdeep.test a:h8.spfdeep.test exists:h9.spfdeep.test -all",
        )
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt(
            "_dmarc",
            "v=DMARC1; p=none; pct=50; rua=mailto:dmarc@spfdeep.test",
        );
    for n in 1..=9 {
        zone = zone.a(&format!("h{n}"), Ipv4Addr::new(192, 0, 2, n));
    }
    zone
}

/// Flaws: three void lookups, an include of a name without SPF, `?all`; DMARC `p=none` without reports.
fn spfvoid() -> Zone {
    Zone::new("spfvoid.test")
        .mx("@", 10, "mx.spfvoid.test")
        .a("mx", Ipv4Addr::LOCALHOST)
        .txt(
            "@",
            "v=spf1 a:nx1.spfvoid.test a:nx2.spfvoid.test mx:nx3.spfvoid.test include:noinc.spfvoid.test ?all",
        )
        .txt("noinc", "google-site-verification=abc123")
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt("_dmarc", "v=DMARC1; p=none")
}

/// Flaws: `+all`; DMARC leaves subdomains unprotected, reports to a destination that has not agreed, and
/// carries tags DMARCbis dropped; an MTA-STS record whose policy host does not exist.
fn spfpass() -> Zone {
    Zone::new("spfpass.test")
        .mx("@", 10, "mx.spfpass.test")
        .a("mx", Ipv4Addr::LOCALHOST)
        .txt("@", "v=spf1 +all")
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt(
            "_dmarc",
            "v=DMARC1; p=reject; sp=none; rua=mailto:reports@elsewhere.test; ri=3600; rf=afrf",
        )
        .txt("_mta-sts", "v=STSv1; id=1")
}

/// Flaws: the deprecated `ptr` mechanism, `~all`, a record over 512 bytes; an MTA-STS policy that does not
/// cover the MX.
fn spfptr() -> Zone {
    let mut record = String::from("v=spf1 ptr");
    for n in 0..40 {
        record.push_str(&format!(" ip4:198.51.100.{n}"));
    }
    record.push_str(" ~all");
    Zone::new("spfptr.test")
        .mx("@", 10, "mx.spfptr.test")
        .a("mx", Ipv4Addr::LOCALHOST)
        .txt("@", &record)
        .txt("s1._domainkey", DEMO_DKIM_RECORD)
        .txt(
            "_dmarc",
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@spfptr.test",
        )
        .txt("_mta-sts", "v=STSv1; id=2")
        .a("mta-sts", Ipv4Addr::LOCALHOST)
}

/// DKIM flaws, one per selector: a 512-bit key, a 1024-bit key, a key in testing mode, a revoked key and a
/// key that is random base64. No `s1`, so nothing healthy hides them.
fn dkim() -> Zone {
    Zone::new("dkim.test")
        .mx("@", 10, "mx.dkim.test")
        .a("mx", Ipv4Addr::LOCALHOST)
        .txt("@", "v=spf1 mx -all")
        .txt("tiny._domainkey", DKIM_512_RECORD)
        .txt("legacy._domainkey", DKIM_1024_RECORD)
        .txt(
            "trial._domainkey",
            &DEMO_DKIM_RECORD.replace("v=DKIM1; k=rsa;", "v=DKIM1; k=rsa; t=y;"),
        )
        .txt("old._domainkey", "v=DKIM1; k=rsa; p=")
        .txt(
            "junk._domainkey",
            "v=DKIM1; k=rsa; p=q8Hs0dPlYhQ2aVbXm4TnR7cKe9JfWuLz3gNiEo5SyB1tA6vM=",
        )
        .txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:dmarc@dkim.test")
}

/// A parked domain that says nothing: anyone can send as it.
fn parked() -> Zone {
    Zone::new("parked.test").a("@", Ipv4Addr::LOCALHOST)
}

/// A parked domain done right: null MX, `v=spf1 -all`, DMARC `p=reject`.
fn parkedok() -> Zone {
    Zone::new("parkedok.test")
        .mx("@", 0, ".")
        .txt("@", "v=spf1 -all")
        .txt("_dmarc", "v=DMARC1; p=reject;")
}

/// The manifest the hostile mail zones are audited with.
pub const HOSTILE_MAIL_MANIFEST: &str = r#"# Hostile mail records: each must end in a finding, quickly.
[site]
domain = "nonascii.test"
subdomains = []

[audit]
intranet = true

[email]
senders = ["nonascii.test", "fifty.test", "loop.test", "deep.test", "tags.test", "junkkey.test"]
dkim_selectors = ["s1"]
"#;

/// Records built to break parsers and walkers: non-ASCII text, a record in 50 strings, an include loop, an
/// include chain 30 deep, a DMARC record with 1,000 tags, and a DKIM key of random base64.
pub fn hostile_mail() -> Scenario {
    let base = |origin: &str| {
        Zone::new(origin)
            .mx("@", 10, &format!("mx.{origin}"))
            .a("mx", Ipv4Addr::LOCALHOST)
            .txt("s1._domainkey", DEMO_DKIM_RECORD)
    };
    let dmarc = "v=DMARC1; p=reject; rua=mailto:dmarc@example.test";

    let fifty: Vec<String> = std::iter::once("v=spf1".to_owned())
        .chain((1..50).map(|n| format!(" ip4:198.51.100.{n}")))
        .collect();
    let fifty_refs: Vec<&str> = fifty.iter().map(String::as_str).collect();

    let mut deep = base("deep.test")
        .txt("@", "v=spf1 include:d1.deep.test -all")
        .txt("_dmarc", dmarc);
    for n in 1..30 {
        deep = deep.txt(
            &format!("d{n}"),
            &format!("v=spf1 include:d{}.deep.test -all", n + 1),
        );
    }
    deep = deep.txt("d30", "v=spf1 -all");

    let mut tags = String::from("v=DMARC1; p=reject; rua=mailto:dmarc@tags.test");
    for n in 0..1000 {
        tags.push_str(&format!("; x{n}=y"));
    }

    Scenario::new()
        .zone(Zone::new("test"))
        .zone(
            base("nonascii.test")
                // The "minus" is U+2212, pasted from a word processor.
                .txt("@", "v=spf1 ip4:192.0.2.1 \u{2212}all")
                .txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:dmarc@nonascii.test; ruf=mailto:é@nonascii.test"),
        )
        .zone(
            base("fifty.test")
                .txt_strings("@", &fifty_refs)
                .txt("_dmarc", dmarc),
        )
        .zone(
            base("loop.test")
                .txt("@", "v=spf1 include:a.loop.test -all")
                .txt("a", "v=spf1 include:b.loop.test -all")
                .txt("b", "v=spf1 include:loop.test -all")
                .txt("_dmarc", dmarc),
        )
        .zone(deep)
        .zone(
            base("tags.test")
                .txt("@", "v=spf1 mx -all")
                .txt("_dmarc", &tags),
        )
        .zone(
            Zone::new("junkkey.test")
                .mx("@", 10, "mx.junkkey.test")
                .a("mx", Ipv4Addr::LOCALHOST)
                .txt("@", "v=spf1 mx -all")
                .txt("_dmarc", dmarc)
                .txt(
                    "s1._domainkey",
                    "v=DKIM1; k=rsa; p=3q2+7w==Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHh5enp5eHh5enp5eHh5enp5eHh5enp5",
                ),
        )
}
