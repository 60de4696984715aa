//! TLS rules: every host that serves https must present a certificate a browser accepts, for the right name,
//! valid now and not about to expire.

use super::{host_of, https_unavailable, resolvable};
use launchready_findings::facts::{ChainFacts, Facts, TlsFacts, Verification};
use launchready_findings::{Finding, Severity, Stage};
use launchready_net::tls::name_covers;

const RFC5280_VALIDITY: &str = "https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5";
const RFC6125: &str = "https://www.rfc-editor.org/rfc/rfc6125";
const DAY: i64 = 86_400;

/// The first TLS handshake seen for each host, in the order hosts appear in the chains.
fn handshakes(facts: &Facts) -> Vec<(String, &TlsFacts)> {
    let mut seen: Vec<(String, &TlsFacts)> = Vec::new();
    for hop in facts.chains.iter().flat_map(|c| c.hops.iter()) {
        let (Some(tls), Some(host)) = (&hop.tls, host_of(&hop.url)) else {
            continue;
        };
        if !seen.iter().any(|(h, _)| *h == host) {
            seen.push((host, tls));
        }
    }
    seen
}

/// https chains whose very first request could not complete a handshake (or was refused on 443): whether the
/// handshake itself failed (a server answers on 443 but no client can finish, e.g. an oversized or weak
/// certificate), and the evidence line.
fn no_https(chain: &ChainFacts) -> Option<(bool, String)> {
    if !chain.start.starts_with("https://") || chain.hops.len() != 1 {
        return None;
    }
    let hop = chain.last()?;
    let error = hop.error.as_ref()?;
    https_unavailable(hop).then(|| {
        (
            error.kind == launchready_findings::facts::NetErrorKind::Tls,
            format!("{}: {}", error.kind.as_str(), error.message),
        )
    })
}

pub(crate) fn judge(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for chain in &facts.chains {
        let Some(host) = host_of(&chain.start) else {
            continue;
        };
        if !resolvable(facts, &host) {
            continue;
        }
        if let Some((handshake_failed, evidence)) = no_https(chain) {
            // Port 443 answering but no handshake completing is a different fix from no HTTPS at all.
            let title = if handshake_failed {
                format!("HTTPS on {host} fails at the TLS handshake")
            } else {
                format!("{host} does not serve HTTPS")
            };
            findings.push(
                Finding::new("tls.no_https", Stage::EdgeCaching, Severity::Blocker, &host, title)
                    .evidence(evidence)
                    .remediation("Enable HTTPS for this host (a free certificate from your host, CDN or Let's Encrypt) and make sure port 443 answers.")
                    .reference("https://developer.mozilla.org/en-US/docs/Web/Security/Transport_Layer_Security"),
            );
        }
    }
    for host in facts.hosts.iter().filter(|h| resolvable(facts, &h.name)) {
        let accepted: Vec<&str> = host
            .legacy_tls
            .iter()
            .filter(|l| l.accepted == Some(true))
            .map(|l| l.version.as_str())
            .collect();
        if !accepted.is_empty() {
            findings.push(
                Finding::new("tls.legacy_protocol", Stage::EdgeCaching, Severity::Medium, &host.name, format!("{} still accepts {}", host.name, accepted.join(" and ")))
                    .evidence(host.legacy_tls.iter().map(|l| format!("{}: {}", l.version, l.detail)).collect::<Vec<_>>().join("; "))
                    .remediation("Turn off TLS 1.0 and 1.1 (allow TLS 1.2 and 1.3 only); they are deprecated (RFC 8996) and PCI DSS forbids them for card data.")
                    .reference("https://www.rfc-editor.org/rfc/rfc8996"),
            );
        }
    }
    for (host, tls) in handshakes(facts) {
        if !resolvable(facts, &host) {
            continue;
        }
        findings.extend(judge_certificate(facts.gathered_at_unix, &host, tls));
    }
    findings
}

fn judge_certificate(now: i64, host: &str, tls: &TlsFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(leaf) = tls.chain.first() else {
        return findings;
    };
    let facts_line = format!(
        "served certificate: subject {}, issuer {}, valid {} to {}, names [{}], {} via {}",
        leaf.subject,
        leaf.issuer,
        leaf.not_before,
        leaf.not_after,
        leaf.sans.join(", "),
        tls.version,
        tls.alpn.as_deref().unwrap_or("no ALPN")
    );
    let blocker = |id: &str, title: String, fix: &str, reference: &str| {
        Finding::new(id, Stage::EdgeCaching, Severity::Blocker, host, title)
            .evidence(facts_line.clone())
            .remediation(fix)
            .reference(reference)
    };
    if leaf.not_after_unix < now {
        findings.push(blocker(
            "tls.cert.expired",
            format!("the certificate for {host} expired on {}", leaf.not_after),
            "Renew the certificate now and automate renewal (ACME); browsers show a full-page warning until then.",
            RFC5280_VALIDITY,
        ));
    } else if leaf.not_before_unix > now {
        findings.push(blocker(
            "tls.cert.not_yet_valid",
            format!("the certificate for {host} is not valid until {}", leaf.not_before),
            "Check the server's clock and the certificate's start date; reissue it if it was post-dated.",
            RFC5280_VALIDITY,
        ));
    } else {
        let days_left = (leaf.not_after_unix - now) / DAY;
        let severity = match days_left {
            d if d < 14 => Some(Severity::High),
            d if d < 30 => Some(Severity::Medium),
            _ => None,
        };
        if let Some(severity) = severity {
            findings.push(
                Finding::new(
                    "tls.cert.expiring",
                    Stage::EdgeCaching,
                    severity,
                    host,
                    format!("the certificate for {host} expires in {days_left} days"),
                )
                .evidence(facts_line.clone())
                .remediation("Renew before launch and confirm automatic renewal works; an expiry during launch week takes the site down.")
                .reference(RFC5280_VALIDITY),
            );
        }
    }
    if !leaf.sans.iter().any(|name| name_covers(name, host)) {
        findings.push(blocker(
            "tls.cert.hostname_mismatch",
            format!("the certificate served for {host} does not name it"),
            "Issue a certificate whose subject alternative names include this host (a wildcard covers one label only).",
            RFC6125,
        ));
    }
    // A lone leaf from a CA the client does not know is, far more often than not, a server that forgot its
    // intermediate: browsers with that intermediate cached work, fresh ones and most API clients fail.
    let incomplete = tls.verification == Verification::UnknownIssuer
        && tls.chain.len() == 1
        && !leaf.self_signed;
    if incomplete {
        findings.push(
            Finding::new("tls.chain.incomplete", Stage::EdgeCaching, Severity::High, host, format!("{host} does not send its intermediate certificate"))
                .evidence(facts_line.clone())
                .evidence(format!("the server sent 1 certificate, issued by {}", leaf.issuer))
                .remediation("Serve the full chain (your CA's fullchain.pem, not cert.pem); clients that have not cached the intermediate reject the site.")
                .reference("https://www.rfc-editor.org/rfc/rfc8446#section-4.4.2"),
        );
    }
    if let Some(bits) = weak_key(&leaf.key) {
        findings.push(
            Finding::new("tls.key.weak", Stage::EdgeCaching, Severity::High, host, format!("the certificate for {host} uses a weak {} key", leaf.key))
                .evidence(facts_line.clone())
                .remediation(format!("Reissue with RSA 2048+ or ECDSA P-256; {bits}-bit keys are below what browsers and CAs accept."))
                .reference("https://cabforum.org/working-groups/server/baseline-requirements/requirements/"),
        );
    }
    if leaf
        .signature_algorithm
        .to_ascii_lowercase()
        .contains("sha1")
    {
        findings.push(
            Finding::new("tls.sig.sha1", Stage::EdgeCaching, Severity::High, host, format!("the certificate for {host} is signed with SHA-1"))
                .evidence(format!("signature algorithm: {}", leaf.signature_algorithm))
                .remediation("Reissue the certificate (any current CA signs with SHA-256); browsers reject SHA-1 signatures.")
                .reference("https://www.rfc-editor.org/rfc/rfc9155"),
        );
    }
    // `Expired` with a leaf inside its dates means a certificate further up the chain has expired (a stale
    // intermediate left in the bundle): every browser rejects the chain, and the leaf rules above are silent.
    let leaf_in_dates = leaf.not_after_unix >= now && leaf.not_before_unix <= now;
    let expired_above = (tls.verification == Verification::Expired && leaf_in_dates).then(|| {
        let stale: Vec<String> = tls
            .chain
            .iter()
            .skip(1)
            .filter(|cert| cert.not_after_unix < now)
            .map(|cert| format!("{} (expired {})", cert.subject, cert.not_after))
            .collect();
        if stale.is_empty() {
            "a certificate above the leaf in the chain has expired".to_string()
        } else {
            format!("expired intermediate in the chain: {}", stale.join(", "))
        }
    });
    let untrusted = match &tls.verification {
        Verification::UnknownIssuer if !incomplete => {
            Some("issued by an unknown CA, or self-signed".to_string())
        }
        Verification::Other(reason) => Some(reason.clone()),
        Verification::Expired => expired_above,
        _ => None,
    };
    if let Some(reason) = untrusted {
        findings.push(
            blocker(
                "tls.cert.untrusted",
                format!("browsers do not trust the certificate for {host}"),
                "Serve a certificate from a public CA together with its full intermediate chain.",
                "https://www.rfc-editor.org/rfc/rfc5280#section-6",
            )
            .evidence(format!("verification: {reason}")),
        );
    }
    findings
}

/// The key size when it is below what browsers accept: RSA under 2048 bits, EC under 256.
fn weak_key(key: &str) -> Option<usize> {
    let (kind, bits) = key.split_once(' ')?;
    let bits: usize = bits.parse().ok()?;
    match kind {
        "RSA" if bits < 2048 => Some(bits),
        "EC" if bits < 256 => Some(bits),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{NOW, fail_with, ids, site};
    use launchready_findings::facts::NetErrorKind;

    fn with_cert(facts: &mut Facts, host: &str, f: impl Fn(&mut TlsFacts)) {
        for hop in facts.chains.iter_mut().flat_map(|c| c.hops.iter_mut()) {
            if hop.url.starts_with(&format!("https://{host}/"))
                && let Some(tls) = hop.tls.as_mut()
            {
                f(tls);
            }
        }
    }

    #[test]
    fn healthy_certificates_have_no_findings() {
        assert!(judge(&site()).is_empty());
    }

    #[test]
    fn expired_and_expiring_certificates() {
        let mut facts = site();
        with_cert(&mut facts, "members.demo.test", |tls| {
            tls.chain[0].not_after_unix = NOW - DAY;
            tls.verification = Verification::Expired;
        });
        with_cert(&mut facts, "app.demo.test", |tls| {
            tls.chain[0].not_after_unix = NOW + 9 * DAY + 60
        });
        with_cert(&mut facts, "api.demo.test", |tls| {
            tls.chain[0].not_after_unix = NOW + 20 * DAY + 60
        });
        let findings = judge(&facts);
        assert_eq!(
            ids(&findings),
            [
                ("tls.cert.expiring", "app.demo.test", Severity::High),
                ("tls.cert.expired", "members.demo.test", Severity::Blocker),
                ("tls.cert.expiring", "api.demo.test", Severity::Medium),
            ]
        );
        assert!(findings[0].title.contains("9 days"));
    }

    #[test]
    fn a_chain_through_an_expired_intermediate_is_untrusted() {
        let mut facts = site();
        with_cert(&mut facts, "admin.demo.test", |tls| {
            tls.chain[1].not_after_unix = NOW - DAY;
            tls.chain[1].not_after = "2027-01-14T08:00:00Z".to_string();
            tls.verification = Verification::Expired;
        });
        let findings = judge(&facts);
        assert_eq!(
            ids(&findings),
            [("tls.cert.untrusted", "admin.demo.test", Severity::Blocker)]
        );
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.contains("expired intermediate in the chain: O=Launchready Lab, CN=Launchready Lab Intermediate CA (expired 2027-01-14T08:00:00Z)")),
            "{:?}",
            findings[0].evidence
        );
    }

    #[test]
    fn wrong_name_and_unknown_issuer() {
        let mut facts = site();
        with_cert(&mut facts, "api.demo.test", |tls| {
            tls.chain[0].sans = vec!["*.other.test".to_string()];
            tls.verification = Verification::HostnameMismatch;
        });
        with_cert(&mut facts, "admin.demo.test", |tls| {
            tls.verification = Verification::UnknownIssuer
        });
        let findings = judge(&facts);
        assert_eq!(
            ids(&findings),
            [
                (
                    "tls.cert.hostname_mismatch",
                    "api.demo.test",
                    Severity::Blocker
                ),
                ("tls.cert.untrusted", "admin.demo.test", Severity::Blocker),
            ]
        );
    }

    #[test]
    fn not_yet_valid() {
        let mut facts = site();
        with_cert(&mut facts, "www.demo.test", |tls| {
            tls.chain[0].not_before_unix = NOW + DAY
        });
        assert_eq!(
            ids(&judge(&facts)),
            [("tls.cert.not_yet_valid", "www.demo.test", Severity::Blocker)]
        );
    }

    #[test]
    fn a_failed_handshake_means_no_https() {
        let mut facts = site();
        fail_with(
            &mut facts,
            "https://app.demo.test/",
            NetErrorKind::Tls,
            "received corrupt message",
        );
        let findings = judge(&facts);
        assert_eq!(
            ids(&findings),
            [("tls.no_https", "app.demo.test", Severity::Blocker)]
        );
        assert_eq!(
            findings[0].title,
            "HTTPS on app.demo.test fails at the TLS handshake"
        );
        // A refused port 443 is no HTTPS at all.
        fail_with(
            &mut facts,
            "https://app.demo.test/",
            NetErrorKind::Refused,
            "127.0.0.1:443 refused the connection",
        );
        let findings = judge(&facts);
        assert_eq!(findings[0].title, "app.demo.test does not serve HTTPS");
    }

    #[test]
    fn accepting_tls_1_0_is_a_legacy_protocol() {
        use launchready_findings::facts::LegacyTlsFacts;
        let mut facts = site();
        let legacy = |version: &str, accepted: Option<bool>| LegacyTlsFacts {
            version: version.to_string(),
            accepted,
            detail: "probe".to_string(),
        };
        facts.hosts[0].legacy_tls = vec![
            legacy("TLSv1.0", Some(true)),
            legacy("TLSv1.1", Some(false)),
        ];
        facts.hosts[1].legacy_tls = vec![legacy("TLSv1.0", None), legacy("TLSv1.1", Some(false))];
        let findings = judge(&facts);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].id, "tls.legacy_protocol");
        assert_eq!(findings[0].subject, "demo.test");
        assert_eq!(findings[0].severity, Severity::Medium);
        assert!(findings[0].title.contains("TLSv1.0") && !findings[0].title.contains("TLSv1.1"));
    }
}
