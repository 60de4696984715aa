//! The email checks against the mail lab: every id fires on the domain built to show it, with the expected
//! severity, and not on `good.test` (which gets everything right) or the parked domain done right.

#![allow(clippy::unwrap_used)]

use launchready_findings::Finding;
use launchready_findings::Severity::{self, Blocker, High, Info, Medium};
use launchready_lab::scenarios;
use launchready_testkit::lab::{Audit, Case, Expected, closed_port};
use std::time::Duration;

/// The mail lab gathers many domains; it gets more time than a single site.
const DEADLINE: Duration = Duration::from_secs(40);

fn mail() -> Case {
    Case::mail().with(|o| o.deadline = DEADLINE)
}

/// The mail lab audited with its own manifest: `expect` fires and nothing matches `forbid`.
async fn check(expect: &[Expected<'_>], forbid: &[&str]) -> Audit {
    mail().check(expect, forbid).await
}

fn email(audit: &Audit) -> Vec<&Finding> {
    audit.matching("email.*").collect()
}

/// The domain has no email finding at all, or none above `ceiling`.
#[track_caller]
fn quiet(audit: &Audit, subject: &str, ceiling: Severity) {
    let loud: Vec<String> = email(audit)
        .into_iter()
        .filter(|f| f.subject == subject && f.severity > ceiling)
        .map(|f| format!("{} {:?}: {}", f.id, f.severity, f.title))
        .collect();
    assert!(loud.is_empty(), "{subject} should be quiet, has {loud:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_good_domain_and_the_good_parked_domain_are_quiet() {
    // A subdomain inherits the organisational DMARC policy and signs through a CNAME'd DKIM key; it only lacks
    // the optional reporting records.
    let audit = check(
        &[],
        &[
            "email.* good.test",
            "email.* parkedok.test",
            "email.dmarc.missing news.good.test",
        ],
    )
    .await;
    quiet(&audit, "news.good.test", Info);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_problems() {
    let expect = [
        ("email.mx.missing", "nomx.test", High),
        ("email.mx.null", "nullmx.test", High),
        ("email.mx.unresolvable", "mxbad.test", High),
        ("email.mx.cname", "mxbad.test", Medium),
        ("email.mx.ip_literal", "mxbad.test", High),
    ];
    let audit = check(&expect, &[]).await;
    let unresolvable = audit.get("email.mx.unresolvable", "mxbad.test");
    assert!(
        unresolvable.title.contains("gone.mxbad.test"),
        "{unresolvable:?}"
    );
    // The CNAME'd MX host still resolves: it is not also reported as unresolvable.
    assert_eq!(
        audit.matching("email.mx.unresolvable").count(),
        1,
        "\n{}",
        audit.listing()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_problems() {
    let expect = [
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
    ];
    // Healthy records are not flagged.
    let forbid = [
        "email.spf.weak_all good.test",
        "email.spf.softfail_all good.test",
        "email.spf.too_long good.test",
    ];
    let audit = check(&expect, &forbid).await;
    let syntax = audit.get("email.spf.syntax", "mxbad.test");
    assert!(
        syntax.evidence.iter().any(|e| e.contains("192.0.2.300")),
        "the offending term is named: {syntax:?}"
    );
    let deep = audit.get("email.spf.too_many_lookups", "spfdeep.test");
    assert!(deep.title.contains("12"), "{}", deep.title);
    let tree = deep.evidence.join("\n");
    assert!(
        tree.contains("include:one.spfdeep.test (6)"),
        "the tree shows each branch's count:\n{tree}"
    );
    assert!(tree.contains("include:two.spfdeep.test (6)"), "\n{tree}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_problems() {
    let expect = [
        ("email.dkim.missing", "nomx.test", High),
        ("email.dkim.key_too_short", "dkim.test", Blocker),
        ("email.dkim.key_1024", "dkim.test", Medium),
        ("email.dkim.testing", "dkim.test", Medium),
        ("email.dkim.revoked", "dkim.test", High),
        ("email.dkim.invalid", "dkim.test", High),
    ];
    let audit = check(&expect, &["email.dkim.missing dkim.test"]).await;
    let tried = audit
        .get("email.dkim.missing", "nomx.test")
        .evidence
        .join(" ");
    for selector in ["s1", "google", "selector1", "k1"] {
        assert!(
            tried.contains(selector),
            "{selector} listed as tried: {tried}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_problems() {
    let expect = [
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
    ];
    // good.test reports to a third party that authorised it.
    check(&expect, &["email.dmarc.rua_unauthorized good.test"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alignment_mta_sts_and_reporting() {
    let expect = [
        ("email.alignment.none", "nomx.test", High),
        ("email.mta_sts.missing", "nomx.test", Info),
        ("email.mta_sts.broken", "spfpass.test", High),
        ("email.mta_sts.mx_mismatch", "spfptr.test", High),
        ("email.tlsrpt.missing", "nomx.test", Info),
        ("email.bimi.missing", "spfpass.test", Info),
    ];
    // BIMI is only suggested once DMARC enforces.
    check(&expect, &["email.bimi.missing nomx.test"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_domains_must_say_no_mail() {
    let expect = [
        ("email.parked.spf", "parked.test", Medium),
        ("email.parked.dmarc", "parked.test", Medium),
        ("email.parked.mx", "parked.test", Medium),
    ];
    // Parked domains are not judged as senders.
    check(
        &expect,
        &[
            "email.spf.missing parked.test",
            "email.dkim.missing parkedok.test",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_defaults_decide_alignment() {
    // Amazon SES bounces through amazonses.com (SPF cannot align), but signs as the customer: the DKIM key at
    // s1 aligns, so DMARC can pass.
    let aligned = mail().manifest_plus("from = \"hello@nullmx.test\"\nprovider = \"Amazon SES\"\n");
    let manifest = aligned.manifest.clone();
    aligned
        .check(&[], &["email.alignment.none nullmx.test"])
        .await;
    // From a provider's own d= domain nothing aligns. Only the From domain is judged for alignment, and a provider
    // is transactional mail: a missing SPF record becomes a blocker.
    let unaligned = Case { manifest, ..mail() }.manifest_plus("dkim_domain = \"amazonses.com\"\n");
    let audit = unaligned
        .check(
            &[("email.spf.missing", "nomx.test", Blocker)],
            &["email.alignment.none nomx.test"],
        )
        .await;
    let evidence = audit
        .get("email.alignment.none", "nullmx.test")
        .evidence
        .join("\n");
    assert!(
        evidence.contains("return-path amazonses.com (not aligned"),
        "{evidence}"
    );
    assert!(
        evidence.contains("d=amazonses.com (not aligned"),
        "{evidence}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_probe_finds_plaintext_and_bad_certificates() {
    let expect = [
        ("email.smtp.no_starttls", "mxbad.test", Medium),
        ("email.smtp.tls_invalid", "spfdeep.test", Medium),
        ("email.smtp.unreachable", "spfvoid.test", Medium),
    ];
    let forbid = [
        "email.smtp.no_starttls good.test",
        "email.smtp.tls_invalid good.test",
    ];
    mail()
        .rule_first(format!("mx.spfvoid.test:25:127.0.0.1:{}", closed_port()))
        .with(|o| o.smtp = true)
        .check(&expect, &forbid)
        .await;
    // Without --smtp nothing connects to port 25.
    check(&[], &["email.smtp.*"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_email_id_is_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md"))
            .unwrap();
    let audit = check(&[], &[]).await;
    for finding in email(&audit) {
        assert!(
            docs.contains(&format!("| `{}` |", finding.id)),
            "{} is not in docs/checks.md",
            finding.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_end_in_findings_not_panics_or_hangs() {
    let expect = [
        ("email.spf.syntax", "nonascii.test", Blocker),
        ("email.dmarc.invalid", "nonascii.test", High),
        ("email.spf.too_long", "fifty.test", Medium),
        ("email.spf.too_many_lookups", "loop.test", Blocker),
        ("email.spf.too_many_lookups", "deep.test", Blocker),
        ("email.dmarc.unknown_tags", "tags.test", Medium),
        ("email.dkim.invalid", "junkkey.test", High),
    ];
    let hostile = Case::new(scenarios::hostile_mail(), scenarios::HOSTILE_MAIL_MANIFEST);
    let audit = Case {
        options: mail().options,
        ..hostile
    }
    .check(&expect, &[])
    .await;
    let looped = audit.get("email.spf.too_many_lookups", "loop.test");
    assert!(looped.title.contains("loop"), "{}", looped.title);
    // The 30-deep chain is walked only until it is clearly over the limit.
    let tree = audit
        .get("email.spf.too_many_lookups", "deep.test")
        .evidence
        .join("\n");
    assert!(tree.contains("d5.deep.test"), "{tree}");
    assert!(!tree.contains("d29.deep.test"), "{tree}");
    let tags = audit.get("email.dmarc.unknown_tags", "tags.test");
    assert!(tags.title.contains("1000"), "{}", tags.title);
    assert!(tags.evidence[0].len() < 200, "evidence stays short");
}
