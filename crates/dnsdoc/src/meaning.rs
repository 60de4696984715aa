//! What a record-set change means for the site, in the words a founder would use: "www no longer points at the
//! CDN", "SPF lost include:mailgun.org — mail from Mailgun will fail". Pure functions of the change and the two
//! snapshots; each table names what it recognises.

use crate::diff::{Change, ChangeKind};
use crate::{Snapshot, normalize_name};

/// CDN and edge-platform hostnames a CNAME points into, with the service's name.
const CDN_SUFFIXES: &[(&str, &str)] = &[
    ("cdn.cloudflare.net", "Cloudflare"),
    ("cloudfront.net", "Amazon CloudFront"),
    ("fastly.net", "Fastly"),
    ("fastlylb.net", "Fastly"),
    ("akamaiedge.net", "Akamai"),
    ("edgekey.net", "Akamai"),
    ("edgesuite.net", "Akamai"),
    ("azureedge.net", "Azure CDN"),
    ("azurefd.net", "Azure Front Door"),
    ("b-cdn.net", "Bunny CDN"),
    ("vercel-dns.com", "Vercel"),
    ("netlify.app", "Netlify"),
    ("netlifyglobalcdn.com", "Netlify"),
];

/// SPF includes of the common sending services (their documented include domains).
const SPF_PROVIDERS: &[(&str, &str)] = &[
    ("mailgun.org", "Mailgun"),
    ("_spf.google.com", "Google Workspace"),
    ("spf.protection.outlook.com", "Microsoft 365"),
    ("sendgrid.net", "SendGrid"),
    ("amazonses.com", "Amazon SES"),
    ("servers.mcsv.net", "Mailchimp"),
    ("spf.mandrillapp.com", "Mandrill"),
    ("mail.zendesk.com", "Zendesk"),
    ("_spf.salesforce.com", "Salesforce"),
    ("spf.brevo.com", "Brevo"),
    ("spf.sendinblue.com", "Brevo (Sendinblue)"),
    ("spf.mtasv.net", "Postmark"),
    ("_spf.mx.cloudflare.net", "Cloudflare Email Routing"),
    ("zoho.com", "Zoho Mail"),
    ("spf.messagingengine.com", "Fastmail"),
    ("_spf.resend.com", "Resend"),
    ("amazonses.com", "Amazon SES"),
];

/// CAA issuer domains and their certificate authorities.
const CAS: &[(&str, &str)] = &[
    ("letsencrypt.org", "Let's Encrypt"),
    ("pki.goog", "Google Trust Services"),
    ("digicert.com", "DigiCert"),
    ("sectigo.com", "Sectigo"),
    ("amazon.com", "Amazon"),
    ("amazontrust.com", "Amazon"),
    ("globalsign.com", "GlobalSign"),
    ("ssl.com", "SSL.com"),
    ("zerossl.com", "ZeroSSL"),
    ("comodoca.com", "Sectigo (Comodo)"),
];

/// The name `table` gives the domain `host` is, or is under.
fn by_suffix(table: &[(&str, &'static str)], host: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(suffix, _)| host == *suffix || host.ends_with(&format!(".{suffix}")))
        .map(|(_, name)| *name)
}

fn provider_of(include: &str) -> String {
    let include = include.to_ascii_lowercase();
    by_suffix(SPF_PROVIDERS, &include)
        .map_or_else(|| format!("servers listed by {include}"), str::to_string)
}

fn cdn_of(target: &str) -> Option<&'static str> {
    by_suffix(CDN_SUFFIXES, &normalize_name(target))
}

/// Mail-policy records whose change means one thing whatever they held: (name prefix, when removed, when
/// changed).
const MAIL_POLICY_RECORDS: [(&str, &str, Option<&str>); 2] = [
    (
        "_mta-sts.",
        "MTA-STS record removed: sending servers stop enforcing TLS for your mail",
        Some("MTA-STS id changed: senders fetch the policy again"),
    ),
    (
        "_smtp._tls.",
        "TLS-RPT record removed: you stop receiving reports of failed TLS deliveries",
        None,
    ),
];

/// `www`, `the apex (example.com)`, `app.example.com`.
fn host_label(name: &str, domain: &str) -> String {
    if name == domain {
        format!("the apex ({domain})")
    } else if name == format!("www.{domain}") {
        "www".to_string()
    } else {
        name.to_string()
    }
}

fn seconds(ttl: u32) -> String {
    match ttl {
        t if t >= 86_400 && t % 86_400 == 0 => format!("{} day(s)", t / 86_400),
        t if t >= 3600 && t % 3600 == 0 => format!("{} hour(s)", t / 3600),
        t if t >= 60 && t % 60 == 0 => format!("{} minute(s)", t / 60),
        t => format!("{t} seconds"),
    }
}

fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| v.trim_end_matches('.'))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The meanings of one change; empty when there is nothing to say beyond the change itself.
pub fn explain(change: &Change, before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let domain = &after.domain;
    let mut out = match change.rtype.as_str() {
        "A" | "AAAA" | "CNAME" | "ALIAS" | "ANAME" if !change.name.contains('_') => {
            address(change, before, after, domain)
        }
        "MX" => mx(change),
        "TXT" => txt(change),
        "NS" => ns(change, domain),
        "CAA" => caa(change),
        "SOA" => soa(change),
        _ => Vec::new(),
    };
    if let (Some(old), Some(new)) = (change.ttl_before, change.ttl_after)
        && old != new
    {
        let label = host_label(&change.name, domain);
        out.push(if new > old {
            format!(
                "TTL of {label} {} raised from {old}s to {new}s: the next change there takes up to {} to reach everyone",
                change.rtype,
                seconds(new)
            )
        } else {
            format!(
                "TTL of {label} {} lowered from {old}s to {new}s: changes there reach everyone within {}",
                change.rtype,
                seconds(new)
            )
        });
    }
    out
}

fn has_address(snapshot: &Snapshot, name: &str) -> bool {
    snapshot
        .records
        .iter()
        .any(|r| r.name == name && matches!(r.rtype.as_str(), "A" | "AAAA" | "CNAME" | "ALIAS"))
}

fn was_proxied(snapshot: &Snapshot, name: &str) -> bool {
    snapshot
        .records
        .iter()
        .any(|r| r.name == name && r.proxied == Some(true))
}

fn address(change: &Change, before: &Snapshot, after: &Snapshot, domain: &str) -> Vec<String> {
    let label = host_label(&change.name, domain);
    let mut out = Vec::new();
    let old_cdn = change
        .removed
        .iter()
        .find_map(|v| cdn_of(v))
        .or_else(|| was_proxied(before, &change.name).then_some("Cloudflare"));
    let new_cdn = change
        .added
        .iter()
        .chain(change.kept.iter())
        .find_map(|v| cdn_of(v))
        .or_else(|| was_proxied(after, &change.name).then_some("Cloudflare"));
    match change.kind {
        ChangeKind::Removed if !has_address(after, &change.name) => {
            out.push(format!(
                "{label} no longer resolves: visitors and links to it get an error"
            ));
        }
        ChangeKind::Removed if change.rtype == "AAAA" => {
            out.push(format!(
                "{label} no longer has an IPv6 address: IPv6 visitors fall back to IPv4"
            ));
        }
        ChangeKind::Added if !has_address(before, &change.name) => {
            out.push(format!("{label} now resolves to {}", list(&change.added)));
        }
        ChangeKind::Added if change.rtype == "AAAA" => {
            out.push(format!(
                "{label} now has an IPv6 address ({}): it must serve the same site as IPv4",
                list(&change.added)
            ));
        }
        _ => {}
    }
    if let Some(cdn) = old_cdn
        && new_cdn.is_none()
        && matches!(change.kind, ChangeKind::Changed | ChangeKind::Removed)
        && (has_address(after, &change.name) || change.kind == ChangeKind::Changed)
    {
        out.push(format!(
            "{label} no longer points at the CDN ({cdn}): visitors reach the server directly, without its cache and protection"
        ));
    } else if let (Some(cdn), None) = (new_cdn, old_cdn)
        && change.kind != ChangeKind::Removed
    {
        out.push(format!("{label} now points at the CDN ({cdn})"));
    }
    if change.kind == ChangeKind::Changed && !change.removed.is_empty() && !change.added.is_empty()
    {
        out.push(format!(
            "{label} now points at {} instead of {}: visitors reach a different server",
            list(&change.added),
            list(&change.removed)
        ));
    }
    out
}

fn mx(change: &Change) -> Vec<String> {
    let name = &change.name;
    match change.kind {
        ChangeKind::Removed => vec![format!(
            "mail to {name} has no MX any more: senders fall back to the address record or bounce it"
        )],
        ChangeKind::Added => vec![format!(
            "mail for {name} now goes to {}",
            list(&change.added)
        )],
        ChangeKind::Changed => {
            let mut out = Vec::new();
            if !change.added.is_empty() {
                out.push(format!(
                    "mail for {name} now goes to {}{}",
                    list(&change.added),
                    if change.removed.is_empty() {
                        String::new()
                    } else {
                        format!(" instead of {}", list(&change.removed))
                    }
                ));
            } else {
                out.push(format!(
                    "mail for {name} no longer goes to {}",
                    list(&change.removed)
                ));
            }
            out
        }
        ChangeKind::Ttl => Vec::new(),
    }
}

fn txt_values(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| crate::zone::txt_strings(v).concat())
        .collect()
}

fn find_prefixed(values: &[String], prefix: &str) -> Option<String> {
    values
        .iter()
        .find(|v| v.trim_start().to_ascii_lowercase().starts_with(prefix))
        .cloned()
}

fn txt(change: &Change) -> Vec<String> {
    let removed = txt_values(&change.removed);
    let added = txt_values(&change.added);
    let name = &change.name;
    let mut out = Vec::new();
    if let Some(selector) = name
        .split("._domainkey.")
        .next()
        .filter(|_| name.contains("._domainkey."))
    {
        match (removed.is_empty(), added.is_empty()) {
            (false, true) => out.push(format!(
                "DKIM key for selector {selector} removed: mail signed with it fails DKIM (and DMARC, unless SPF aligns)"
            )),
            (false, false) => out.push(format!(
                "DKIM key for selector {selector} replaced: mail still signed with the old key fails DKIM"
            )),
            (true, false) => out.push(format!("DKIM key published for selector {selector}")),
            (true, true) => {}
        }
        return out;
    }
    if name.starts_with("_dmarc.") {
        let policy = |v: &Option<String>| v.as_ref().and_then(|v| tag(v, "p"));
        let old = find_prefixed(&removed, "v=dmarc1");
        let new = find_prefixed(&added, "v=dmarc1");
        match (&old, &new) {
            (Some(_), None) => out.push(format!(
                "DMARC record at {name} removed: receivers get no policy, spoofed mail is judged on its own and reports stop"
            )),
            (None, Some(_)) => out.push(format!("DMARC record published at {name} (p={})", policy(&new).unwrap_or_default())),
            (Some(_), Some(_)) => {
                let (a, b) = (policy(&old).unwrap_or_default(), policy(&new).unwrap_or_default());
                if a != b {
                    let rank = |p: &str| match p { "reject" => 2, "quarantine" => 1, _ => 0 };
                    out.push(if rank(&b) < rank(&a) {
                        format!("DMARC policy weakened from p={a} to p={b}: mail forging your domain is delivered more often")
                    } else {
                        format!("DMARC policy tightened from p={a} to p={b}: check every sender passes first")
                    });
                }
                let (ra, rb) = (old.as_ref().and_then(|v| tag(v, "rua")), new.as_ref().and_then(|v| tag(v, "rua")));
                if ra != rb {
                    out.push(format!(
                        "DMARC reports now go to {} instead of {}",
                        rb.unwrap_or_else(|| "nobody".into()),
                        ra.unwrap_or_else(|| "nobody".into())
                    ));
                }
            }
            (None, None) => {}
        }
        return out;
    }
    if let Some((_, gone, changed)) = MAIL_POLICY_RECORDS
        .iter()
        .find(|(prefix, _, _)| name.starts_with(prefix))
    {
        match change.kind {
            ChangeKind::Removed => out.push((*gone).to_string()),
            ChangeKind::Changed => out.extend(changed.map(str::to_string)),
            ChangeKind::Added | ChangeKind::Ttl => {}
        }
        return out;
    }
    let old_spf = find_prefixed(&removed, "v=spf1");
    let new_spf = find_prefixed(&added, "v=spf1");
    match (&old_spf, &new_spf) {
        (Some(_), None) => {
            let still = txt_values(&change.kept)
                .iter()
                .any(|v| v.to_ascii_lowercase().starts_with("v=spf1"));
            if !still {
                out.push(format!(
                    "SPF record at {name} removed: receivers cannot tell your mail from forgeries, and DMARC fails for SPF"
                ));
            }
        }
        (None, Some(_)) => out.push(format!("SPF record published at {name}")),
        (Some(old), Some(new)) => out.extend(spf_terms(old, new)),
        (None, None) => {}
    }
    for value in &removed {
        let lower = value.to_ascii_lowercase();
        if lower.contains("-verification=")
            || lower.contains("-site-verification")
            || lower.starts_with("ms=")
        {
            let service = value.split(['-', '=']).next().unwrap_or("a service");
            out.push(format!(
                "the domain-verification record for {service} at {name} is gone: the service may stop treating the domain as verified"
            ));
        }
    }
    out
}

fn tag(record: &str, name: &str) -> Option<String> {
    record.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_ascii_lowercase())
    })
}

fn spf_terms(old: &str, new: &str) -> Vec<String> {
    let terms = |r: &str| -> Vec<String> {
        r.split_whitespace()
            .skip(1)
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let (a, b) = (terms(old), terms(new));
    let mut out = Vec::new();
    for term in a.iter().filter(|t| !b.contains(t)) {
        let bare = term.trim_start_matches(['+', '~', '?']);
        if let Some(domain) = bare.strip_prefix("include:") {
            out.push(format!(
                "SPF lost include:{domain} — mail from {} will fail SPF",
                provider_of(domain)
            ));
        } else if let Some(net) = bare
            .strip_prefix("ip4:")
            .or_else(|| bare.strip_prefix("ip6:"))
        {
            out.push(format!(
                "SPF lost {bare} — mail sent from {net} will fail SPF"
            ));
        } else if bare == "mx" || bare == "a" {
            out.push(format!(
                "SPF lost `{bare}` — your own {} servers no longer pass SPF",
                if bare == "mx" { "mail" } else { "web" }
            ));
        }
    }
    for term in b.iter().filter(|t| !a.contains(t)) {
        if let Some(domain) = term
            .trim_start_matches(['+', '~', '?'])
            .strip_prefix("include:")
        {
            out.push(format!(
                "SPF now includes {domain}: {} may send as you",
                provider_of(domain)
            ));
        }
    }
    let all = |t: &[String]| t.iter().find(|t| t.ends_with("all")).cloned();
    let (old_all, new_all) = (all(&a), all(&b));
    if old_all != new_all {
        let word = |t: &Option<String>| match t.as_deref() {
            Some("-all") => "fail",
            Some("~all") => "soft-fail",
            Some("?all") | None => "neutral",
            _ => "pass",
        };
        out.push(format!(
            "SPF for everyone else went from {} to {}{}",
            word(&old_all),
            word(&new_all),
            if word(&new_all) == "pass" {
                ": anyone may now send as your domain"
            } else {
                ""
            }
        ));
    }
    if out.is_empty() {
        out.push("SPF record changed".to_string());
    }
    out
}

fn ns(change: &Change, domain: &str) -> Vec<String> {
    if change.name != domain {
        return vec![format!("delegation of {} changed", change.name)];
    }
    match change.kind {
        ChangeKind::Ttl => Vec::new(),
        ChangeKind::Removed => vec![
            "the zone lists no nameservers any more: the whole domain stops resolving".to_string(),
        ],
        _ if !change.removed.is_empty() => vec![format!(
            "the zone's nameservers changed ({} → {}): if the new servers lack any record, the site and mail go dark for that part",
            list(&change.removed),
            list(&change.added)
        )],
        _ => vec![format!("nameservers added: {}", list(&change.added))],
    }
}

fn ca_of(value: &str) -> Option<(String, String)> {
    let mut parts = value.splitn(3, ' ');
    let _flags = parts.next()?;
    let tag = parts.next()?.to_string();
    let issuer = crate::zone::txt_strings(parts.next()?).concat();
    let domain = issuer
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Some((tag, domain))
}

fn ca_name(domain: &str) -> String {
    CAS.iter()
        .find(|(d, _)| *d == domain)
        .map_or_else(|| domain.to_string(), |(_, n)| (*n).to_string())
}

fn caa(change: &Change) -> Vec<String> {
    if change.kind == ChangeKind::Removed {
        return vec![format!(
            "CAA records at {} removed: any certificate authority may issue for it",
            change.name
        )];
    }
    let mut out = Vec::new();
    for (tag, domain) in change.removed.iter().filter_map(|v| ca_of(v)) {
        if tag == "issue" || tag == "issuewild" {
            out.push(format!(
                "CAA no longer allows {} ({tag}): its next certificate renewal for {} will be refused",
                ca_name(&domain),
                change.name
            ));
        }
    }
    for (tag, domain) in change.added.iter().filter_map(|v| ca_of(v)) {
        if tag == "issue" || tag == "issuewild" {
            out.push(format!("CAA now allows {} ({tag})", ca_name(&domain)));
        }
    }
    out
}

fn soa(change: &Change) -> Vec<String> {
    let field = |v: &[String], i: usize| {
        v.first()
            .and_then(|s| s.split_whitespace().nth(i).map(str::to_string))
    };
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (field(&change.removed, 2), field(&change.added, 2))
        && a != b
    {
        out.push(format!("zone serial {a} → {b}: the zone was edited"));
    }
    if let (Some(a), Some(b)) = (field(&change.removed, 6), field(&change.added, 6))
        && a != b
    {
        out.push(format!(
            "negative-caching TTL {a}s → {b}s: a name that did not exist stays unknown that long"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt_change(kind: ChangeKind, name: &str) -> Change {
        Change {
            kind,
            name: name.to_string(),
            rtype: "TXT".to_string(),
            removed: vec!["\"v=STSv1; id=1\"".to_string()],
            added: Vec::new(),
            kept: Vec::new(),
            ttl_before: Some(300),
            ttl_after: None,
            meanings: Vec::new(),
        }
    }

    #[test]
    fn mail_policy_records_mean_what_their_removal_or_change_does() {
        let cases: &[(ChangeKind, &str, &[&str])] = &[
            (
                ChangeKind::Removed,
                "_mta-sts.shop.test",
                &["MTA-STS record removed: sending servers stop enforcing TLS for your mail"],
            ),
            (
                ChangeKind::Changed,
                "_mta-sts.shop.test",
                &["MTA-STS id changed: senders fetch the policy again"],
            ),
            (ChangeKind::Ttl, "_mta-sts.shop.test", &[]),
            (
                ChangeKind::Removed,
                "_smtp._tls.shop.test",
                &["TLS-RPT record removed: you stop receiving reports of failed TLS deliveries"],
            ),
            (ChangeKind::Changed, "_smtp._tls.shop.test", &[]),
        ];
        for (kind, name, expected) in cases {
            assert_eq!(txt(&txt_change(*kind, name)), *expected, "{kind:?} {name}");
        }
    }

    #[test]
    fn providers_and_cdns_are_named_by_domain_suffix() {
        assert_eq!(cdn_of("shop.b-cdn.net."), Some("Bunny CDN"));
        assert_eq!(cdn_of("b-cdn.net"), Some("Bunny CDN"));
        assert_eq!(cdn_of("notb-cdn.net"), None);
        assert_eq!(provider_of("_spf.GOOGLE.com"), "Google Workspace");
        assert_eq!(
            provider_of("spf.example.net"),
            "servers listed by spf.example.net"
        );
    }
}
