//! Email rules: MX, SPF, DKIM, DMARC, alignment with the sending provider, MTA-STS, TLS-RPT, BIMI, STARTTLS
//! and parked domains. Every verdict is re-derived from the DNS snapshot in the facts by the pure evaluators of
//! `launchready-mail`; an answer the snapshot lacks surfaces as [`Pending`], which gathering uses to know what
//! to ask next and judging reports as `email.incomplete`.

use std::net::IpAddr;

use launchready_findings::facts::{
    EmailFacts, Facts, MailDomainFacts, MtaStsFacts, SmtpFacts, Verification,
};
use launchready_findings::{Finding, Severity, Stage};
use launchready_mail::dkim::{self, KeyType};
use launchready_mail::dmarc::{self, DmarcRecord, Policy};
use launchready_mail::dns::{Answer, Lookup, Pending, Query, QueryType, Rdata};
use launchready_mail::org::{self, AlignMode};
use launchready_mail::{mtasts, spf};
use launchready_manifest::Manifest;

use super::providers;

const RFC7208: &str = "https://www.rfc-editor.org/rfc/rfc7208";
const RFC7489: &str = "https://www.rfc-editor.org/rfc/rfc7489";
const RFC6376: &str = "https://www.rfc-editor.org/rfc/rfc6376";
const RFC8301: &str = "https://www.rfc-editor.org/rfc/rfc8301";
const RFC7505: &str = "https://www.rfc-editor.org/rfc/rfc7505";
const RFC8461: &str = "https://www.rfc-editor.org/rfc/rfc8461";
const RFC8460: &str = "https://www.rfc-editor.org/rfc/rfc8460";
const RFC3207: &str = "https://www.rfc-editor.org/rfc/rfc3207";
const BIMI: &str = "https://bimigroup.org/implementation-guide/";

/// RFC 7208 section 4.6.4.
const MAX_SPF_LOOKUPS: usize = 10;
const MAX_VOID_LOOKUPS: usize = 2;

pub(crate) fn judge(facts: &Facts, manifest: &Manifest) -> Vec<Finding> {
    let Some(email) = &facts.email else {
        return Vec::new();
    };
    judge_email(email, manifest)
}

pub(crate) fn judge_email(email: &EmailFacts, manifest: &Manifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    for domain in &email.domains {
        match judge_domain(&email.dns, domain, manifest, &email.mta_sts, &email.smtp) {
            Ok(found) => findings.extend(found),
            Err(Pending(query)) => findings.push(incomplete(&domain.domain, &query)),
        }
    }
    for problem in &email.incomplete {
        findings.push(
            Finding::new(
                "email.incomplete",
                Stage::Email,
                Severity::Medium,
                problem.split(':').next().unwrap_or_default(),
                "the mail checks stopped before they finished",
            )
            .evidence(problem.clone())
            .remediation("A record set that keeps the checks asking (an include loop, a huge tree) is usually the problem itself; simplify it and audit again.")
            .reference(RFC7208),
        );
    }
    findings
}

fn incomplete(domain: &str, query: &Query) -> Finding {
    Finding::new(
        "email.incomplete",
        Stage::Email,
        Severity::Medium,
        domain,
        format!("the mail checks for {domain} could not finish"),
    )
    .evidence(format!("no answer recorded for {query}"))
    .remediation(
        "Audit again; if it persists, the facts file was saved before the mail checks finished.",
    )
    .reference(RFC7208)
}

/// The domains the mail checks cover: the senders (asked for the manifest's DKIM selectors, then the common
/// providers'), then the parked domains.
pub(crate) fn domains(manifest: &Manifest) -> Vec<MailDomainFacts> {
    let mut selectors: Vec<String> = manifest.email.dkim_selectors.clone();
    for (selector, _) in dkim::COMMON_SELECTORS {
        if !selectors.iter().any(|s| s == selector) {
            selectors.push((*selector).to_string());
        }
    }
    let mut out: Vec<MailDomainFacts> = manifest
        .email
        .senders
        .iter()
        .map(|d| MailDomainFacts {
            domain: d.clone(),
            sending: true,
            dkim_selectors: selectors.clone(),
        })
        .collect();
    out.extend(manifest.email.non_sending.iter().map(|d| MailDomainFacts {
        domain: d.clone(),
        sending: false,
        dkim_selectors: Vec::new(),
    }));
    out
}

/// Questions every domain needs whatever the answers: asked at once before the rules run.
pub(crate) fn fixed_questions(domain: &MailDomainFacts) -> Vec<Query> {
    let d = &domain.domain;
    let mut out = vec![
        Query::new(d, QueryType::Txt),
        Query::new(d, QueryType::Mx),
        Query::new(&format!("_dmarc.{d}"), QueryType::Txt),
    ];
    let org = org::organizational_domain(d);
    if org != *d {
        out.push(Query::new(&format!("_dmarc.{org}"), QueryType::Txt));
    }
    if domain.sending {
        for selector in &domain.dkim_selectors {
            out.push(Query::new(
                &format!("{selector}._domainkey.{d}"),
                QueryType::Txt,
            ));
        }
        for prefix in ["_mta-sts", "_smtp._tls", "default._bimi"] {
            out.push(Query::new(&format!("{prefix}.{d}"), QueryType::Txt));
        }
    }
    out
}

/// Whether `_mta-sts.<domain>` publishes an `STSv1` record, so the policy is worth fetching.
pub(crate) fn announces_mta_sts(dns: &impl Lookup, domain: &str) -> bool {
    dns.get(&format!("_mta-sts.{domain}"), QueryType::Txt)
        .is_ok_and(|a| a.txt().iter().any(|t| t.starts_with("v=STSv1")))
}

/// The domain's MX host names, leaving out a null MX and IP literals.
pub(crate) fn mx_hosts(dns: &impl Lookup, domain: &str) -> Vec<String> {
    let Ok(answer) = dns.get(domain, QueryType::Mx) else {
        return Vec::new();
    };
    exchanges(answer)
        .into_iter()
        .filter(|e| !e.is_empty() && e.parse::<IpAddr>().is_err())
        .collect()
}

fn exchanges(answer: &Answer) -> Vec<String> {
    answer
        .rdata()
        .iter()
        .filter_map(|r| match r {
            Rdata::Mx { exchange, .. } => Some(exchange.clone()),
            _ => None,
        })
        .collect()
}

/// Every finding for one domain, or the first answer still missing.
pub(crate) fn judge_domain(
    dns: &impl Lookup,
    domain: &MailDomainFacts,
    manifest: &Manifest,
    mta_sts: &[MtaStsFacts],
    smtp: &[SmtpFacts],
) -> Result<Vec<Finding>, Pending> {
    let d = domain.domain.as_str();
    let mut findings = Vec::new();
    if domain.sending {
        findings.extend(mx(dns, d)?);
        let spf_record = spf_checks(dns, d, manifest.email.transactional(), &mut findings)?;
        let dkim = dkim_checks(dns, domain, &manifest.email.dkim_selectors, &mut findings)?;
        let dmarc = dmarc_checks(dns, d, &mut findings)?;
        findings.extend(alignment(
            dns,
            d,
            manifest,
            spf_record.is_some(),
            &dkim,
            dmarc.as_ref(),
        )?);
        findings.extend(mta_sts_checks(dns, d, mta_sts)?);
        findings.extend(reporting_checks(dns, d, dmarc.as_ref())?);
        findings.extend(smtp_checks(d, smtp));
    } else {
        findings.extend(parked(dns, d)?);
    }
    Ok(findings)
}

// ---- MX ----

fn mx(dns: &impl Lookup, d: &str) -> Result<Vec<Finding>, Pending> {
    let mut findings = Vec::new();
    let answer = dns.get(d, QueryType::Mx)?;
    match answer {
        Answer::TempError { .. } => return Ok(findings),
        Answer::NoData | Answer::NxDomain => {
            findings.push(
                Finding::new("email.mx.missing", Stage::Email, Severity::High, d, format!("{d} sends mail but has no MX record"))
                    .evidence(format!("MX {d}: no records"))
                    .remediation("Publish an MX record pointing at your mailbox provider, so replies and bounces reach you.")
                    .reference("https://www.rfc-editor.org/rfc/rfc5321#section-5.1"),
            );
            return Ok(findings);
        }
        Answer::Records { .. } => {}
    }
    let hosts = exchanges(answer);
    if hosts.iter().any(String::is_empty) {
        findings.push(
            Finding::new("email.mx.null", Stage::Email, Severity::High, d, format!("{d} sends mail but publishes a null MX"))
                .evidence(format!("MX {d}: 0 . (\"accepts no mail\", RFC 7505)"))
                .remediation("Remove the null MX from a domain that sends: replies bounce and many receivers reject mail from domains that accept none.")
                .reference(RFC7505),
        );
    }
    for host in hosts.iter().filter(|h| !h.is_empty()) {
        if host.parse::<IpAddr>().is_ok() {
            findings.push(
                Finding::new("email.mx.ip_literal", Stage::Email, Severity::High, d, format!("an MX of {d} is an IP address, not a host name"))
                    .evidence(format!("MX {d}: {host}"))
                    .remediation("Point the MX at a host name that has A/AAAA records; an address written as a name does not resolve.")
                    .reference("https://www.rfc-editor.org/rfc/rfc5321#section-5.1"),
            );
            continue;
        }
        let v4 = dns.get(host, QueryType::A)?;
        let v6 = dns.get(host, QueryType::Aaaa)?;
        if let Some(chain) = [v4, v6].into_iter().find_map(|a| match a {
            Answer::Records { cname_chain, .. } if !cname_chain.is_empty() => Some(cname_chain),
            _ => None,
        }) {
            findings.push(
                Finding::new("email.mx.cname", Stage::Email, Severity::Medium, d, format!("the MX host {host} is a CNAME"))
                    .evidence(format!("{host} → {}", chain.join(" → ")))
                    .remediation("Point the MX at the canonical host name; RFC 2181 forbids MX targets that are aliases and some senders refuse them.")
                    .reference("https://www.rfc-editor.org/rfc/rfc2181#section-10.3"),
            );
        }
        if v4.is_void() && v6.is_void() {
            findings.push(
                Finding::new("email.mx.unresolvable", Stage::Email, Severity::High, d, format!("the MX host {host} does not resolve"))
                    .evidence(format!("A/AAAA {host}: {}", answer_text(v4)))
                    .remediation("Fix the MX host's address records or point the MX at a host that exists; mail for the domain queues and bounces.")
                    .reference("https://www.rfc-editor.org/rfc/rfc5321#section-5.1"),
            );
        }
    }
    Ok(findings)
}

fn answer_text(answer: &Answer) -> String {
    match answer {
        Answer::Records { records, .. } => format!("{} records", records.len()),
        Answer::NoData => "no records (NODATA)".to_string(),
        Answer::NxDomain => "the name does not exist (NXDOMAIN)".to_string(),
        Answer::TempError { reason } => format!("lookup failed: {reason}"),
    }
}

// ---- SPF ----

/// Runs the SPF checks; returns the record when the domain has exactly one.
fn spf_checks(
    dns: &impl Lookup,
    d: &str,
    transactional: bool,
    findings: &mut Vec<Finding>,
) -> Result<Option<String>, Pending> {
    let answer = dns.get(d, QueryType::Txt)?;
    if let Answer::TempError { reason } = answer {
        findings.push(spf_dns_error(d, d, reason));
        return Ok(None);
    }
    let record = match spf::select(&answer.txt()) {
        spf::Selection::None => {
            let severity = if transactional {
                Severity::Blocker
            } else {
                Severity::High
            };
            findings.push(
                Finding::new("email.spf.missing", Stage::Email, severity, d, format!("{d} has no SPF record"))
                    .evidence(format!("TXT {d}: no v=spf1 record"))
                    .remediation("Publish one TXT record such as `v=spf1 include:<your provider> -all` listing every service that sends as you.")
                    .reference(RFC7208),
            );
            return Ok(None);
        }
        spf::Selection::Multiple(records) => {
            let mut finding = Finding::new("email.spf.multiple", Stage::Email, Severity::Blocker, d, format!("{d} publishes {} SPF records", records.len()))
                .remediation("Merge them into one record: with several, every receiver returns permerror and SPF fails for all mail.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-4.5");
            for r in &records {
                finding = finding.evidence(format!("TXT {d}: {r}"));
            }
            findings.push(finding);
            return Ok(None);
        }
        spf::Selection::One(record) => record,
    };

    let analysis = spf::analyze(dns, d)?;
    let tree = analysis.render_tree();
    let mut stack = vec![&analysis.root];
    let mut ptr_terms = Vec::new();
    while let Some(node) = stack.pop() {
        stack.extend(node.children.iter());
        let subject = node.domain.as_str();
        match &node.state {
            spf::NodeState::Syntax(error) => findings.push(
                Finding::new("email.spf.syntax", Stage::Email, Severity::Blocker, d, format!("the SPF record of {subject} does not parse"))
                    .evidence(format!("TXT {subject}: {}", node.records.first().map(String::as_str).unwrap_or_default()))
                    .evidence(error.to_string())
                    .remediation(format!("Fix `{}`: receivers return permerror for the whole record, so SPF fails for all your mail.", error.term))
                    .reference("https://www.rfc-editor.org/rfc/rfc7208#section-12"),
            ),
            spf::NodeState::NoRecord if !std::ptr::eq(node, &analysis.root) => findings.push(
                Finding::new("email.spf.include_missing", Stage::Email, Severity::Blocker, d, format!("the SPF include {subject} has no SPF record"))
                    .evidence(format!("TXT {subject}: no v=spf1 record"))
                    .tree(&tree)
                    .remediation("Fix the provider's name or remove the term: an include of a name without SPF makes the whole check a permerror.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7208#section-5.2"),
            ),
            spf::NodeState::Multiple if !std::ptr::eq(node, &analysis.root) => findings.push(
                Finding::new("email.spf.multiple", Stage::Email, Severity::Blocker, d, format!("the SPF include {subject} publishes several SPF records"))
                    .evidence(format!("TXT {subject}: {}", node.records.join(" | ")))
                    .remediation("Ask the owner of the included name to merge its records, or stop including it.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7208#section-4.5"),
            ),
            spf::NodeState::TempError(reason) => findings.push(spf_dns_error(d, subject, reason)),
            _ => {}
        }
        if node.ptr_used {
            ptr_terms.push(subject.to_string());
        }
        if node.longest_string > 255 || node.record_len > 512 {
            findings.push(
                Finding::new("email.spf.too_long", Stage::Email, Severity::Medium, d, format!("the SPF record of {subject} is too long"))
                    .evidence(format!("{} bytes, longest string {} characters", node.record_len, node.longest_string))
                    .remediation("Keep each TXT string within 255 characters and the record within 512 bytes: move senders into includes or drop unused ones.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7208#section-3.4"),
            );
        }
    }

    let looped = has_state(&analysis.root, |s| matches!(s, spf::NodeState::Loop));
    if analysis.total_lookups > MAX_SPF_LOOKUPS || looped {
        let title = if looped {
            format!("the SPF record of {d} includes itself in a loop")
        } else {
            format!(
                "The SPF record of {d} needs {} DNS lookups (at most 10 are allowed)",
                analysis.total_lookups
            )
        };
        findings.push(
            Finding::new("email.spf.too_many_lookups", Stage::Email, Severity::Blocker, d, title)
                .tree(&tree)
                .remediation("Receivers stop at 10 DNS-querying terms and return permerror: remove unused providers, replace `a`/`mx` with `ip4`/`ip6`, or flatten includes.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-4.6.4"),
        );
    }
    if analysis.total_void_lookups > MAX_VOID_LOOKUPS {
        let mut names = Vec::new();
        collect_void(&analysis.root, &mut names);
        findings.push(
            Finding::new("email.spf.void_lookups", Stage::Email, Severity::High, d, format!("the SPF record of {d} points at {} names that do not exist", analysis.total_void_lookups))
                .evidence(format!("void lookups: {}", names.join(", ")))
                .remediation("Remove terms for names that are gone: after two empty answers receivers stop with permerror.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-4.6.4"),
        );
    }
    if !ptr_terms.is_empty() {
        findings.push(
            Finding::new("email.spf.ptr", Stage::Email, Severity::Medium, d, format!("the SPF record of {d} uses the deprecated `ptr` mechanism"))
                .evidence(format!("ptr used in: {}", ptr_terms.join(", ")))
                .remediation("Replace `ptr` with `ip4`/`ip6` or an include: it is slow, unreliable and some receivers skip it.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-5.5"),
        );
    }
    if let spf::NodeState::Parsed = analysis.root.state {
        findings.extend(all_qualifier(d, &record, &analysis.root));
    }
    Ok(Some(record))
}

fn has_state(node: &spf::Node, pred: impl Fn(&spf::NodeState) -> bool + Copy) -> bool {
    pred(&node.state) || node.children.iter().any(|c| has_state(c, pred))
}

fn collect_void(node: &spf::Node, out: &mut Vec<String>) {
    out.extend(node.void_lookups.iter().cloned());
    for child in &node.children {
        collect_void(child, out);
    }
}

fn spf_dns_error(d: &str, name: &str, reason: &str) -> Finding {
    Finding::new("email.spf.dns_error", Stage::Email, Severity::High, d, format!("the SPF lookup for {name} failed"))
        .evidence(format!("TXT {name}: {reason}"))
        .remediation("Fix the nameservers that failed: receivers return temperror and defer your mail while they do.")
        .reference("https://www.rfc-editor.org/rfc/rfc7208#section-2.6.6")
}

fn all_qualifier(d: &str, record: &str, root: &spf::Node) -> Vec<Finding> {
    let evidence = format!("TXT {d}: {record}");
    match (root.all, root.redirect.is_some()) {
        (Some(spf::Qualifier::Pass), _) => vec![
            Finding::new("email.spf.pass_all", Stage::Email, Severity::Blocker, d, format!("the SPF record of {d} lets anyone send as {d}"))
                .evidence(evidence)
                .remediation("End the record with `-all` (or `~all` while rolling out): `+all` authorises every server on the internet.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-5.1"),
        ],
        (Some(spf::Qualifier::Neutral), _) | (None, false) => vec![
            Finding::new("email.spf.weak_all", Stage::Email, Severity::High, d, format!("the SPF record of {d} does not reject unlisted senders"))
                .evidence(evidence)
                .remediation("End the record with `-all`: with `?all` or no `all`, forged mail gets a neutral result that protects nothing.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-8.2"),
        ],
        (Some(spf::Qualifier::SoftFail), _) => vec![
            Finding::new("email.spf.softfail_all", Stage::Email, Severity::Info, d, format!("the SPF record of {d} ends in ~all"))
                .evidence(evidence)
                .remediation("Fine while rolling out; switch to `-all` once every service that sends as you is listed.")
                .reference("https://www.rfc-editor.org/rfc/rfc7208#section-8.5"),
        ],
        _ => Vec::new(),
    }
}

// ---- DKIM ----

/// Which selectors hold a usable key.
#[derive(Debug, Default)]
struct DkimState {
    usable: Vec<String>,
}

fn dkim_checks(
    dns: &impl Lookup,
    domain: &MailDomainFacts,
    configured: &[String],
    findings: &mut Vec<Finding>,
) -> Result<DkimState, Pending> {
    let d = domain.domain.as_str();
    let mut state = DkimState::default();
    for selector in &domain.dkim_selectors {
        let name = format!("{selector}._domainkey.{d}");
        let answer = dns.get(&name, QueryType::Txt)?;
        let Some(text) = answer.txt().into_iter().find(|t| t.contains("p=")) else {
            continue;
        };
        let via = match answer {
            Answer::Records { cname_chain, .. } if !cname_chain.is_empty() => {
                format!(" (via {})", cname_chain.join(" → "))
            }
            _ => String::new(),
        };
        let evidence = format!("TXT {name}{via}: {}", shorten(&text, 120));
        let key = match dkim::parse_key_record(&text) {
            Ok(key) => key,
            Err(error) => {
                findings.push(
                    Finding::new("email.dkim.invalid", Stage::Email, Severity::High, d, format!("the DKIM key at selector `{selector}` does not parse"))
                        .evidence(evidence)
                        .evidence(error.to_string())
                        .remediation("Copy the DKIM record again from your provider: signatures made with this selector cannot be verified.")
                        .reference("https://www.rfc-editor.org/rfc/rfc6376#section-3.6.1"),
                );
                continue;
            }
        };
        if key.revoked {
            if configured.contains(selector) {
                findings.push(
                    Finding::new("email.dkim.revoked", Stage::Email, Severity::High, d, format!("the DKIM selector `{selector}` is revoked (empty p=)"))
                        .evidence(evidence)
                        .remediation("Sign with a live selector, or publish the key again: mail signed with a revoked key fails DKIM.")
                        .reference("https://www.rfc-editor.org/rfc/rfc6376#section-3.6.1"),
                );
            }
            continue;
        }
        if key.testing {
            findings.push(
                Finding::new("email.dkim.testing", Stage::Email, Severity::Medium, d, format!("the DKIM key at `{selector}` is in testing mode (t=y)"))
                    .evidence(evidence.clone())
                    .remediation("Remove `t=y` once signing works: receivers may treat signatures from a key in testing mode as absent.")
                    .reference("https://www.rfc-editor.org/rfc/rfc6376#section-3.6.1"),
            );
        }
        if key.key_type == KeyType::Rsa {
            match key.bits {
                Some(bits) if bits < 1024 => {
                    findings.push(
                        Finding::new("email.dkim.key_too_short", Stage::Email, Severity::Blocker, d, format!("the DKIM key at `{selector}` is only {bits}-bit RSA"))
                            .evidence(evidence)
                            .remediation("Rotate to a 2048-bit key now: receivers ignore signatures from keys under 1024 bits, and such keys can be factored.")
                            .reference(RFC8301),
                    );
                    continue;
                }
                Some(1024) => findings.push(
                    Finding::new(
                        "email.dkim.key_1024",
                        Stage::Email,
                        Severity::Medium,
                        d,
                        format!("the DKIM key at `{selector}` is 1024-bit RSA"),
                    )
                    .evidence(evidence)
                    .remediation("Rotate to a 2048-bit key at your provider when convenient.")
                    .reference(RFC8301),
                ),
                _ => {}
            }
        }
        state.usable.push(selector.clone());
    }
    if state.usable.is_empty()
        && !findings
            .iter()
            .any(|f| f.id.starts_with("email.dkim.") && f.subject == d)
    {
        findings.push(
            Finding::new("email.dkim.missing", Stage::Email, Severity::High, d, format!("no DKIM key found for {d}"))
                .evidence(format!("selectors tried: {}", domain.dkim_selectors.join(", ")))
                .remediation("DKIM selectors cannot be listed, so add your provider's selector to `[email] dkim_selectors` in launchready.toml; if none exists yet, set up DKIM signing at the provider and publish its record.")
                .reference(RFC6376),
        );
    }
    Ok(state)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

// ---- DMARC ----

/// The record that governs a domain, and where it was found.
struct Governing {
    record: DmarcRecord,
    /// Found at the organisational domain rather than the domain itself.
    inherited: bool,
}

/// Finds the DMARC record for `d` (its own, else its organisational domain's) without judging it.
fn find_dmarc(
    dns: &impl Lookup,
    d: &str,
) -> Result<(Option<(String, dmarc::Selection)>, bool), Pending> {
    let own = format!("_dmarc.{d}");
    let answer = dns.get(&own, QueryType::Txt)?;
    let selection = dmarc::select(&answer.txt());
    if selection != dmarc::Selection::None {
        return Ok((Some((own, selection)), false));
    }
    let org = org::organizational_domain(d);
    if org == d {
        return Ok((None, false));
    }
    let name = format!("_dmarc.{org}");
    let selection = dmarc::select(&dns.get(&name, QueryType::Txt)?.txt());
    if selection == dmarc::Selection::None {
        return Ok((None, true));
    }
    Ok((Some((name, selection)), true))
}

fn dmarc_checks(
    dns: &impl Lookup,
    d: &str,
    findings: &mut Vec<Finding>,
) -> Result<Option<Governing>, Pending> {
    let (found, _) = find_dmarc(dns, d)?;
    let Some((name, selection)) = found else {
        let org = org::organizational_domain(d);
        let mut finding = Finding::new("email.dmarc.missing", Stage::Email, Severity::High, d, format!("{d} has no DMARC policy"))
            .evidence(format!("TXT _dmarc.{d}: no v=DMARC1 record"))
            .remediation("Publish `v=DMARC1; p=none; rua=mailto:<you>` at _dmarc, read the reports for a few weeks, then move to `p=quarantine` and `p=reject`.")
            .reference(RFC7489);
        if org != d {
            finding = finding.evidence(format!(
                "TXT _dmarc.{org} (organisational domain): no v=DMARC1 record"
            ));
        }
        findings.push(finding);
        return Ok(None);
    };
    let inherited = name != format!("_dmarc.{d}");
    let record_text = match selection {
        dmarc::Selection::One(text) => text,
        dmarc::Selection::Multiple(records) => {
            let mut finding = Finding::new(
                "email.dmarc.multiple",
                Stage::Email,
                Severity::High,
                d,
                format!("{name} holds {} DMARC records", records.len()),
            )
            .remediation("Keep exactly one: with several, receivers apply none.")
            .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.6.3");
            for r in &records {
                finding = finding.evidence(format!("TXT {name}: {r}"));
            }
            findings.push(finding);
            return Ok(None);
        }
        dmarc::Selection::None => return Ok(None),
    };
    let evidence = format!("TXT {name}: {record_text}");
    let record = match dmarc::parse(&record_text) {
        Ok(record) => record,
        Err(error) => {
            findings.push(
                Finding::new("email.dmarc.invalid", Stage::Email, Severity::High, d, format!("the DMARC record at {name} is invalid"))
                    .evidence(evidence)
                    .evidence(error.to_string())
                    .remediation("Fix the tag shown; receivers ignore an invalid record (or, with a valid rua, treat it as p=none).")
                    .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.3"),
            );
            return Ok(None);
        }
    };
    let policy = dmarc::effective_policy(&record, inherited);
    if policy == Policy::None {
        let severity = if record.rua.is_empty() {
            Severity::High
        } else {
            Severity::Medium
        };
        findings.push(
            Finding::new("email.dmarc.monitor_only", Stage::Email, severity, d, format!("the DMARC policy for {d} only monitors (p=none)"))
                .evidence(evidence.clone())
                .remediation(if record.rua.is_empty() {
                    "p=none without reports protects nothing and tells you nothing: add rua, then move to p=quarantine and p=reject."
                } else {
                    "Spoofed mail is still delivered: once the aggregate reports show only your own senders, move to p=quarantine, then p=reject."
                })
                .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.3"),
        );
    }
    // The remaining checks judge the record itself; a subdomain that inherits it leaves them to the record's
    // own domain.
    if !inherited {
        if let Some(pct) = record.pct.filter(|p| *p < 100) {
            findings.push(
                Finding::new("email.dmarc.pct", Stage::Email, Severity::Medium, d, format!("the DMARC policy for {d} applies to only {pct}% of mail"))
                    .evidence(evidence.clone())
                    .remediation("Raise pct to 100 (or remove it): the rest of the mail gets the next weaker policy. DMARCbis drops pct; use t=y while testing.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.3"),
            );
        }
        if record.policy != Policy::None && record.subdomain_policy == Some(Policy::None) {
            findings.push(
                Finding::new("email.dmarc.sp_none", Stage::Email, Severity::Medium, d, format!("the DMARC policy for {d} leaves subdomains unprotected (sp=none)"))
                    .evidence(evidence.clone())
                    .remediation("Set sp=quarantine or sp=reject, or remove sp so subdomains inherit p: attackers spoof any subdomain otherwise.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.3"),
            );
        }
        if record.rua.is_empty() {
            findings.push(
                Finding::new("email.dmarc.no_rua", Stage::Email, Severity::Medium, d, format!("the DMARC record for {d} asks for no aggregate reports"))
                    .evidence(evidence.clone())
                    .remediation("Add rua=mailto:<address>: the reports show who sends as you, which you need before enforcing.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7489#section-7.2"),
            );
        }
        for uri in record.rua.iter().chain(&record.ruf) {
            let Some(auth) = dmarc::report_authorization_name(d, uri) else {
                continue;
            };
            let answer = dns.get(&auth, QueryType::Txt)?;
            if !dmarc::authorizes(&answer.txt()) {
                findings.push(
                    Finding::new("email.dmarc.rua_unauthorized", Stage::Email, Severity::Medium, d, format!("the DMARC report address {} has not agreed to receive reports for {d}", uri.address))
                        .evidence(evidence.clone())
                        .evidence(format!("TXT {auth}: {}", answer_text(answer)))
                        .remediation(format!("Ask the report processor to publish `v=DMARC1` at {auth}, or send reports to an address under {d}: receivers drop reports to unauthorised destinations."))
                        .reference("https://www.rfc-editor.org/rfc/rfc7489#section-7.1"),
                );
            }
        }
        if !record.unknown_tags.is_empty() {
            const SHOWN: usize = 10;
            let mut shown: Vec<&str> = record
                .unknown_tags
                .iter()
                .take(SHOWN)
                .map(String::as_str)
                .collect();
            if record.unknown_tags.len() > SHOWN {
                shown.push("…");
            }
            findings.push(
                Finding::new("email.dmarc.unknown_tags", Stage::Email, Severity::Medium, d, format!("the DMARC record for {d} has {} tags receivers do not know", record.unknown_tags.len()))
                    .evidence(format!("unknown: {}", shown.join(", ")))
                    .remediation("Receivers ignore unknown tags, so a misspelt one (`rau` for `rua`, `sp ` with a stray space) silently does nothing: fix or remove them.")
                    .reference("https://www.rfc-editor.org/rfc/rfc7489#section-6.3"),
            );
        }
        if !record.obsolete_tags.is_empty() {
            findings.push(
                Finding::new(
                    "email.dmarc.obsolete_tags",
                    Stage::Email,
                    Severity::Info,
                    d,
                    format!("the DMARC record for {d} uses tags DMARCbis removed"),
                )
                .evidence(evidence.clone())
                .evidence(format!("obsolete: {}", record.obsolete_tags.join(", ")))
                .remediation("Remove pct, rf and ri; use t=y instead of pct for a trial period.")
                .reference("https://datatracker.ietf.org/doc/draft-ietf-dmarc-dmarcbis/"),
            );
        }
    }
    Ok(Some(Governing { record, inherited }))
}

// ---- Alignment ----

fn alignment(
    dns: &impl Lookup,
    d: &str,
    manifest: &Manifest,
    has_spf: bool,
    dkim: &DkimState,
    dmarc: Option<&Governing>,
) -> Result<Vec<Finding>, Pending> {
    let email = &manifest.email;
    if email.from.as_deref().is_some_and(|from| from != d) {
        return Ok(Vec::new());
    }
    let provider = email.provider.as_deref().and_then(providers::find);
    let return_path = email
        .return_path
        .clone()
        .or_else(|| provider.map(|p| p.return_path_for(d)))
        .unwrap_or_else(|| d.to_string());
    let dkim_domain = email.dkim_domain.clone().unwrap_or_else(|| d.to_string());
    let (aspf, adkim) = dmarc
        .map(|g| (g.record.aspf, g.record.adkim))
        .unwrap_or((AlignMode::Relaxed, AlignMode::Relaxed));

    let spf_aligned = org::aligned(d, &return_path, aspf);
    let return_path_has_spf = if return_path == d {
        has_spf
    } else {
        let answer = dns.get(&return_path, QueryType::Txt)?;
        matches!(spf::select(&answer.txt()), spf::Selection::One(_))
    };
    let dkim_aligned = org::aligned(d, &dkim_domain, adkim);
    let signs_as_customer = provider.is_none_or(|p| p.signs_as_customer);
    let dkim_key = dkim_domain == d && !dkim.usable.is_empty() && signs_as_customer;

    if (spf_aligned && return_path_has_spf) || (dkim_aligned && dkim_key) {
        return Ok(Vec::new());
    }
    let mode = |m: AlignMode| match m {
        AlignMode::Relaxed => "relaxed",
        AlignMode::Strict => "strict",
    };
    let mut finding = Finding::new("email.alignment.none", Stage::Email, Severity::High, d, format!("mail from {d} cannot pass DMARC: neither SPF nor DKIM aligns"))
        .evidence(format!(
            "SPF: return-path {return_path} ({}{}, aspf={})",
            if spf_aligned { "aligned" } else { "not aligned" },
            if return_path_has_spf { "" } else { ", no SPF record" },
            mode(aspf)
        ))
        .evidence(format!(
            "DKIM: d={dkim_domain} ({}{}, adkim={})",
            if dkim_aligned { "aligned" } else { "not aligned" },
            if dkim_key { "" } else { ", no usable key found" },
            mode(adkim)
        ))
        .remediation("Set up a custom return-path (bounce) domain under your domain at the provider, or DKIM signing with d= your domain, and publish the records it gives you.")
        .reference("https://www.rfc-editor.org/rfc/rfc7489#section-3.1");
    if let Some(p) = provider {
        finding = finding.evidence(format!("provider defaults: {}", p.guide));
    }
    Ok(vec![finding])
}

// ---- MTA-STS, TLS-RPT, BIMI ----

fn mta_sts_checks(
    dns: &impl Lookup,
    d: &str,
    fetched: &[MtaStsFacts],
) -> Result<Vec<Finding>, Pending> {
    let name = format!("_mta-sts.{d}");
    let answer = dns.get(&name, QueryType::Txt)?;
    let Some(txt) = answer.txt().into_iter().find(|t| t.starts_with("v=STSv1")) else {
        return Ok(vec![
            Finding::new("email.mta_sts.missing", Stage::Email, Severity::Info, d, format!("{d} publishes no MTA-STS policy"))
                .evidence(format!("TXT {name}: no v=STSv1 record"))
                .remediation("Publish an MTA-STS record and policy so senders insist on TLS when delivering to you; start with mode: testing.")
                .reference(RFC8461),
        ]);
    };
    let broken = |why: String| {
        Finding::new("email.mta_sts.broken", Stage::Email, Severity::High, d, format!("the MTA-STS policy of {d} is announced but unusable"))
            .evidence(format!("TXT {name}: {txt}"))
            .evidence(why)
            .remediation(format!("Serve a valid policy at https://mta-sts.{d}/.well-known/mta-sts.txt with a valid certificate, or remove the _mta-sts record: senders that enforce it may refuse to deliver."))
            .reference(RFC8461)
    };
    if let Err(error) = mtasts::parse_sts_txt(&txt) {
        return Ok(vec![broken(format!("the record does not parse: {error}"))]);
    }
    let Some(fetch) = fetched.iter().find(|f| f.domain == d) else {
        return Ok(vec![broken("the policy was not fetched".to_string())]);
    };
    let hop = &fetch.fetch;
    if let Some(error) = &hop.error {
        return Ok(vec![broken(format!("{}: {}", hop.url, error.message))]);
    }
    if hop.status != Some(200) {
        return Ok(vec![broken(format!(
            "{} answered {}",
            hop.url,
            hop.status
                .map_or_else(|| "nothing".to_string(), |s| s.to_string())
        ))]);
    }
    if let Some(tls) = &hop.tls
        && tls.verification != Verification::Valid
    {
        return Ok(vec![broken(format!(
            "{}: certificate {:?}",
            hop.url, tls.verification
        ))]);
    }
    let body = hop.body.as_deref().unwrap_or_default();
    let policy = match mtasts::parse_policy(body) {
        Ok(policy) => policy,
        Err(error) => return Ok(vec![broken(format!("the policy does not parse: {error}"))]),
    };
    if policy.mode == mtasts::StsMode::None {
        return Ok(Vec::new());
    }
    let hosts = mx_hosts(dns, d);
    let uncovered = policy.uncovered(&hosts);
    if uncovered.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![
        Finding::new("email.mta_sts.mx_mismatch", Stage::Email, Severity::High, d, format!("the MTA-STS policy of {d} does not cover all its MX hosts"))
            .evidence(format!("policy mx: {}", policy.mx.join(", ")))
            .evidence(format!("not covered: {}", uncovered.join(", ")))
            .remediation("List every MX host (or a wildcard that covers them) in the policy: in enforce mode senders refuse to deliver to the others.")
            .reference("https://www.rfc-editor.org/rfc/rfc8461#section-4.1"),
    ])
}

fn reporting_checks(
    dns: &impl Lookup,
    d: &str,
    dmarc: Option<&Governing>,
) -> Result<Vec<Finding>, Pending> {
    let mut findings = Vec::new();
    let tlsrpt = format!("_smtp._tls.{d}");
    let answer = dns.get(&tlsrpt, QueryType::Txt)?;
    if !answer.txt().iter().any(|t| mtasts::parse_tlsrpt(t).is_ok()) {
        findings.push(
            Finding::new("email.tlsrpt.missing", Stage::Email, Severity::Info, d, format!("{d} asks for no TLS delivery reports (TLS-RPT)"))
                .evidence(format!("TXT {tlsrpt}: no valid v=TLSRPTv1 record"))
                .remediation("Publish `v=TLSRPTv1; rua=mailto:<address>` to hear when senders cannot reach you over TLS.")
                .reference(RFC8460),
        );
    }
    // BIMI only works on top of an enforcing DMARC policy; suggesting it earlier is noise.
    let enforcing =
        dmarc.is_some_and(|g| dmarc::effective_policy(&g.record, g.inherited) != Policy::None);
    if enforcing {
        let bimi = format!("default._bimi.{d}");
        let answer = dns.get(&bimi, QueryType::Txt)?;
        if !answer.txt().iter().any(|t| mtasts::parse_bimi(t).is_ok()) {
            findings.push(
                Finding::new("email.bimi.missing", Stage::Email, Severity::Info, d, format!("{d} publishes no BIMI record"))
                    .evidence(format!("TXT {bimi}: no valid v=BIMI1 record"))
                    .remediation("Optional: publish `v=BIMI1; l=<https URL of an SVG logo>` to show your logo in supporting inboxes.")
                    .reference(BIMI),
            );
        }
    }
    Ok(findings)
}

// ---- SMTP (--smtp) ----

fn smtp_checks(d: &str, smtp: &[SmtpFacts]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for probe in smtp.iter().filter(|p| p.domain == d) {
        let host = &probe.host;
        let at = probe.connected_to.as_deref().unwrap_or("no connection");
        if let Some(tls) = &probe.tls {
            if tls.verification != Verification::Valid {
                findings.push(
                    Finding::new("email.smtp.tls_invalid", Stage::Email, Severity::Medium, d, format!("the certificate of MX {host} is not valid"))
                        .evidence(format!("{host} ({at}): STARTTLS {} with certificate {:?}", tls.version, tls.verification))
                        .remediation("Install a valid certificate for the MX host name: senders enforcing MTA-STS or DANE refuse to deliver.")
                        .reference(RFC8461),
                );
            }
        } else if probe.starttls_offered == Some(false) {
            findings.push(
                Finding::new("email.smtp.no_starttls", Stage::Email, Severity::Medium, d, format!("MX {host} does not offer STARTTLS"))
                    .evidence(format!("{host} ({at}): EHLO reply without STARTTLS"))
                    .remediation("Enable STARTTLS on the mail server: mail to you travels in plaintext otherwise.")
                    .reference(RFC3207),
            );
        } else if let Some(error) = &probe.error {
            findings.push(
                Finding::new("email.smtp.unreachable", Stage::Email, Severity::Medium, d, format!("MX {host} could not be checked on port 25"))
                    .evidence(format!("{host} ({at}): {error}"))
                    .remediation("Check that the mail server accepts connections on port 25 (many networks block outbound port 25: run --smtp from a server).")
                    .reference("https://www.rfc-editor.org/rfc/rfc5321"),
            );
        }
    }
    findings
}

// ---- Parked domains ----

fn parked(dns: &impl Lookup, d: &str) -> Result<Vec<Finding>, Pending> {
    let mut findings = Vec::new();
    let txt = dns.get(d, QueryType::Txt)?;
    let spf_ok = match spf::select(&txt.txt()) {
        spf::Selection::One(record) => spf::parse(&record).is_ok_and(|r| {
            let directives: Vec<_> = r.directives().map(|(q, m, _)| (q, m.name())).collect();
            directives == [(spf::Qualifier::Fail, "all")] && r.redirect().is_none()
        }),
        _ => false,
    };
    if !spf_ok && !matches!(txt, Answer::TempError { .. }) {
        findings.push(
            Finding::new("email.parked.spf", Stage::Email, Severity::Medium, d, format!("the parked domain {d} does not forbid sending"))
                .evidence(format!("TXT {d}: {}", spf_text(txt)))
                .remediation("Publish exactly `v=spf1 -all`: anyone can send mail as a parked domain that says nothing.")
                .reference("https://www.m3aawg.org/sites/default/files/m3aawg_parked_domains_bp-2015-12.pdf"),
        );
    }
    let (found, _) = find_dmarc(dns, d)?;
    let reject = found
        .and_then(|(_, selection)| selection.record().map(str::to_owned))
        .and_then(|text| dmarc::parse(&text).ok())
        .is_some_and(|r| r.policy == Policy::Reject);
    if !reject {
        findings.push(
            Finding::new("email.parked.dmarc", Stage::Email, Severity::Medium, d, format!("the parked domain {d} has no DMARC p=reject"))
                .evidence(format!("TXT _dmarc.{d}: {}", answer_text(dns.get(&format!("_dmarc.{d}"), QueryType::Txt)?)))
                .remediation("Publish `v=DMARC1; p=reject;` so receivers reject mail that claims to come from it.")
                .reference(RFC7489),
        );
    }
    let mx = dns.get(d, QueryType::Mx)?;
    let null_only = {
        let hosts = exchanges(mx);
        !hosts.is_empty() && hosts.iter().all(String::is_empty)
    };
    if !null_only && !matches!(mx, Answer::TempError { .. }) {
        findings.push(
            Finding::new(
                "email.parked.mx",
                Stage::Email,
                Severity::Medium,
                d,
                format!("the parked domain {d} has no null MX"),
            )
            .evidence(format!(
                "MX {d}: {}",
                exchanges(mx).join(", ").if_empty("no records")
            ))
            .remediation(
                "Publish `MX 0 .` (RFC 7505) so senders know at once that it accepts no mail.",
            )
            .reference(RFC7505),
        );
    }
    Ok(findings)
}

fn spf_text(answer: &Answer) -> String {
    let records: Vec<String> = answer
        .txt()
        .into_iter()
        .filter(|t| spf::is_spf(t))
        .collect();
    if records.is_empty() {
        "no v=spf1 record".to_string()
    } else {
        records.join(" | ")
    }
}

trait IfEmpty {
    fn if_empty(self, fallback: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, fallback: &str) -> String {
        if self.is_empty() {
            fallback.to_string()
        } else {
            self
        }
    }
}

/// Evidence that spans lines (the SPF include tree), one evidence entry per line so every renderer indents it.
trait TreeEvidence {
    fn tree(self, tree: &str) -> Self;
}

impl TreeEvidence for Finding {
    fn tree(self, tree: &str) -> Finding {
        tree.lines().fold(self, |f, line| f.evidence(line))
    }
}
