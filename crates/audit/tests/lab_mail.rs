//! The email checks against the mail lab: every id fires on the domain built to show it, with the expected
//! severity, and not on `good.test` (which gets everything right) or the parked domain done right.

#![allow(clippy::unwrap_used)]

use launchready_audit::{GatherOptions, gather_checked};
use launchready_findings::{Finding, Report, Severity};
use launchready_lab::{Lab, Scenario, scenarios};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use std::path::Path;
use std::time::Duration;

use Severity::{Blocker, High, Info, Medium};

const DEADLINE: Duration = Duration::from_secs(40);

async fn audit_with(
    scenario: Scenario,
    manifest: &str,
    rules_first: &[String],
    smtp: bool,
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
        let options = GatherOptions {
            landing_samples: 0,
            smtp,
            ..GatherOptions::default()
        };
        let facts = gather_checked(&manifest, &net, &options).await.unwrap();
        launchready_audit::report(&facts, &manifest)
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the audit finished within the deadline")
}

async fn mail_audit() -> Report {
    audit_with(scenarios::mail(), scenarios::MAIL_MANIFEST, &[], false).await
}

fn email(report: &Report) -> Vec<&Finding> {
    report
        .active()
        .filter(|f| f.id.starts_with("email."))
        .collect()
}

fn listing(report: &Report) -> String {
    email(report)
        .iter()
        .map(|f| format!("  {} {} {:?}: {}\n", f.id, f.subject, f.severity, f.title))
        .collect()
}

fn find<'a>(report: &'a Report, id: &str, subject: &str) -> Option<&'a Finding> {
    report.active().find(|f| f.id == id && f.subject == subject)
}

#[track_caller]
fn expect(report: &Report, cases: &[(&str, &str, Severity)]) {
    let missing: Vec<String> = cases
        .iter()
        .filter(|(id, subject, severity)| {
            find(report, id, subject).is_none_or(|f| f.severity != *severity)
        })
        .map(|(id, subject, severity)| format!("{id} on {subject} ({severity:?})"))
        .collect();
    assert!(
        missing.is_empty(),
        "missing: {missing:?}\nemail findings:\n{}",
        listing(report)
    );
}

/// The domain has no email finding at all, or none above `ceiling`.
#[track_caller]
fn quiet(report: &Report, subject: &str, ceiling: Severity) {
    let loud: Vec<String> = email(report)
        .into_iter()
        .filter(|f| f.subject == subject && f.severity > ceiling)
        .map(|f| format!("{} {:?}: {}", f.id, f.severity, f.title))
        .collect();
    assert!(loud.is_empty(), "{subject} should be quiet, has {loud:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_good_domain_and_the_good_parked_domain_are_quiet() {
    let report = mail_audit().await;
    let good: Vec<_> = email(&report)
        .into_iter()
        .filter(|f| f.subject == "good.test" || f.subject == "parkedok.test")
        .map(|f| f.id.clone())
        .collect();
    assert_eq!(good, Vec::<String>::new(), "\n{}", listing(&report));
    // A subdomain inherits the organisational DMARC policy and signs through a CNAME'd DKIM key; it only lacks
    // the optional reporting records.
    quiet(&report, "news.good.test", Info);
    assert!(find(&report, "email.dmarc.missing", "news.good.test").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_problems() {
    let report = mail_audit().await;
    expect(
        &report,
        &[
            ("email.mx.missing", "nomx.test", High),
            ("email.mx.null", "nullmx.test", High),
            ("email.mx.unresolvable", "mxbad.test", High),
            ("email.mx.cname", "mxbad.test", Medium),
            ("email.mx.ip_literal", "mxbad.test", High),
        ],
    );
    let unresolvable = find(&report, "email.mx.unresolvable", "mxbad.test").unwrap();
    assert!(
        unresolvable.title.contains("gone.mxbad.test"),
        "{unresolvable:?}"
    );
    // The CNAME'd MX host still resolves: it is not also reported as unresolvable.
    assert_eq!(
        report
            .active()
            .filter(|f| f.id == "email.mx.unresolvable")
            .count(),
        1,
        "\n{}",
        listing(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_problems() {
    let report = mail_audit().await;
    expect(
        &report,
        &[
            ("email.spf.missing", "nomx.test", High),
            ("email.spf.multiple", "nullmx.test", Blocker),
            ("email.spf.syntax", "mxbad.test", Blocker),
            ("email.spf.too_many_lookups", "spfdeep.test", Blocker),
            ("email.spf.void_lookups", "spfvoid.test", High),
            ("email.spf.include_missing", "spfvoid.test", Blocker),
            ("email.spf.weak_all", "spfvoid.test", High),
            ("email.spf.pass_all", "spfpass.test", Blocker),
            ("email.spf.ptr", "spfptr.test", Medium),
            ("email.spf.softfail_all", "spfptr.test", Info),
            ("email.spf.too_long", "spfptr.test", Medium),
        ],
    );
    let syntax = find(&report, "email.spf.syntax", "mxbad.test").unwrap();
    assert!(
        syntax.evidence.iter().any(|e| e.contains("192.0.2.300")),
        "the offending term is named: {syntax:?}"
    );
    let deep = find(&report, "email.spf.too_many_lookups", "spfdeep.test").unwrap();
    assert!(deep.title.contains("12"), "{}", deep.title);
    let tree = deep.evidence.join("\n");
    assert!(
        tree.contains("include:one.spfdeep.test (6)"),
        "the tree shows each branch's count:\n{tree}"
    );
    assert!(tree.contains("include:two.spfdeep.test (6)"), "\n{tree}");
    // Healthy records are not flagged.
    for id in [
        "email.spf.weak_all",
        "email.spf.softfail_all",
        "email.spf.too_long",
    ] {
        assert!(find(&report, id, "good.test").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_problems() {
    let report = mail_audit().await;
    expect(
        &report,
        &[
            ("email.dkim.missing", "nomx.test", High),
            ("email.dkim.key_too_short", "dkim.test", Blocker),
            ("email.dkim.key_1024", "dkim.test", Medium),
            ("email.dkim.testing", "dkim.test", Medium),
            ("email.dkim.revoked", "dkim.test", High),
            ("email.dkim.invalid", "dkim.test", High),
        ],
    );
    let missing = find(&report, "email.dkim.missing", "nomx.test").unwrap();
    let tried = missing.evidence.join(" ");
    for selector in ["s1", "google", "selector1", "k1"] {
        assert!(
            tried.contains(selector),
            "{selector} listed as tried: {tried}"
        );
    }
    assert!(find(&report, "email.dkim.missing", "dkim.test").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_problems() {
    let report = mail_audit().await;
    expect(
        &report,
        &[
            ("email.dmarc.missing", "nomx.test", High),
            ("email.dmarc.multiple", "nullmx.test", High),
            ("email.dmarc.invalid", "mxbad.test", High),
            ("email.dmarc.monitor_only", "spfdeep.test", Medium),
            ("email.dmarc.monitor_only", "spfvoid.test", High),
            ("email.dmarc.pct", "spfdeep.test", Medium),
            ("email.dmarc.no_rua", "spfvoid.test", Medium),
            ("email.dmarc.sp_none", "spfpass.test", Medium),
            ("email.dmarc.rua_unauthorized", "spfpass.test", Medium),
            ("email.dmarc.obsolete_tags", "spfpass.test", Info),
        ],
    );
    // good.test reports to a third party that authorised it.
    assert!(find(&report, "email.dmarc.rua_unauthorized", "good.test").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alignment_mta_sts_and_reporting() {
    let report = mail_audit().await;
    expect(
        &report,
        &[
            ("email.alignment.none", "nomx.test", High),
            ("email.mta_sts.missing", "nomx.test", Info),
            ("email.mta_sts.broken", "spfpass.test", High),
            ("email.mta_sts.mx_mismatch", "spfptr.test", High),
            ("email.tlsrpt.missing", "nomx.test", Info),
            ("email.bimi.missing", "spfpass.test", Info),
        ],
    );
    // BIMI is only suggested once DMARC enforces.
    assert!(find(&report, "email.bimi.missing", "nomx.test").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_domains_must_say_no_mail() {
    let report = mail_audit().await;
    expect(
        &report,
        &[
            ("email.parked.spf", "parked.test", Medium),
            ("email.parked.dmarc", "parked.test", Medium),
            ("email.parked.mx", "parked.test", Medium),
        ],
    );
    // Parked domains are not judged as senders.
    assert!(find(&report, "email.spf.missing", "parked.test").is_none());
    assert!(find(&report, "email.dkim.missing", "parkedok.test").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_defaults_decide_alignment() {
    // Amazon SES bounces through amazonses.com (SPF cannot align), but signs as the customer: the DKIM key at
    // s1 aligns, so DMARC can pass.
    let aligned = format!(
        "{}from = \"hello@nullmx.test\"\nprovider = \"Amazon SES\"\n",
        scenarios::MAIL_MANIFEST
    );
    let report = audit_with(scenarios::mail(), &aligned, &[], false).await;
    assert!(
        find(&report, "email.alignment.none", "nullmx.test").is_none(),
        "\n{}",
        listing(&report)
    );
    // From a provider's own d= domain nothing aligns.
    let unaligned = format!("{aligned}dkim_domain = \"amazonses.com\"\n");
    let report = audit_with(scenarios::mail(), &unaligned, &[], false).await;
    let finding = find(&report, "email.alignment.none", "nullmx.test").unwrap();
    let evidence = finding.evidence.join("\n");
    assert!(
        evidence.contains("return-path amazonses.com (not aligned"),
        "{evidence}"
    );
    assert!(
        evidence.contains("d=amazonses.com (not aligned"),
        "{evidence}"
    );
    // Only the From domain is judged for alignment.
    assert!(find(&report, "email.alignment.none", "nomx.test").is_none());
    // A provider is transactional mail: a missing SPF record becomes a blocker.
    assert_eq!(
        find(&report, "email.spf.missing", "nomx.test")
            .unwrap()
            .severity,
        Blocker
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_probe_finds_plaintext_and_bad_certificates() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let rules = [format!("mx.spfvoid.test:25:127.0.0.1:{port}")];
    let report = audit_with(scenarios::mail(), scenarios::MAIL_MANIFEST, &rules, true).await;
    expect(
        &report,
        &[
            ("email.smtp.no_starttls", "mxbad.test", Medium),
            ("email.smtp.tls_invalid", "spfdeep.test", Medium),
            ("email.smtp.unreachable", "spfvoid.test", Medium),
        ],
    );
    assert!(find(&report, "email.smtp.no_starttls", "good.test").is_none());
    assert!(find(&report, "email.smtp.tls_invalid", "good.test").is_none());
    // Without --smtp nothing connects to port 25.
    let quiet = mail_audit().await;
    assert!(
        email(&quiet)
            .iter()
            .all(|f| !f.id.starts_with("email.smtp."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_email_id_is_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md"))
            .unwrap();
    let report = mail_audit().await;
    for finding in email(&report) {
        assert!(
            docs.contains(&format!("| `{}` |", finding.id)),
            "{} is not in docs/checks.md",
            finding.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_end_in_findings_not_panics_or_hangs() {
    let report = audit_with(
        scenarios::hostile_mail(),
        scenarios::HOSTILE_MAIL_MANIFEST,
        &[],
        false,
    )
    .await;
    expect(
        &report,
        &[
            ("email.spf.syntax", "nonascii.test", Blocker),
            ("email.dmarc.invalid", "nonascii.test", High),
            ("email.spf.too_long", "fifty.test", Medium),
            ("email.spf.too_many_lookups", "loop.test", Blocker),
            ("email.spf.too_many_lookups", "deep.test", Blocker),
            ("email.dmarc.unknown_tags", "tags.test", Medium),
            ("email.dkim.invalid", "junkkey.test", High),
        ],
    );
    let looped = find(&report, "email.spf.too_many_lookups", "loop.test").unwrap();
    assert!(looped.title.contains("loop"), "{}", looped.title);
    // The 30-deep chain is walked only until it is clearly over the limit.
    let deep = find(&report, "email.spf.too_many_lookups", "deep.test").unwrap();
    let tree = deep.evidence.join("\n");
    assert!(tree.contains("d5.deep.test"), "{tree}");
    assert!(!tree.contains("d29.deep.test"), "{tree}");
    let tags = find(&report, "email.dmarc.unknown_tags", "tags.test").unwrap();
    assert!(tags.title.contains("1000"), "{}", tags.title);
    assert!(tags.evidence[0].len() < 200, "evidence stays short");
}
