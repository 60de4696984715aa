//! DMARC policy records (RFC 7489, with the DMARCbis tags `np`, `psd` and `t`): choosing the record among a
//! name's TXT answers, parsing it, report-destination authorization (RFC 7489 section 7.1) and the
//! policy that applies to a domain or subdomain.

use serde::Serialize;

use crate::org::{self, AlignMode};
use crate::records::{self, NameCase, RecordError, Tag, clip, trim_wsp};

pub use crate::records::Selection;

/// Whether a TXT string is a DMARC record: its first tag is `v=DMARC1`, exactly (the ABNF spells the
/// version case-sensitively), with whitespace allowed around the `=` and before the `;`.
fn is_dmarc(txt: &str) -> bool {
    let first = txt.split(';').next().unwrap_or_default();
    match first.split_once('=') {
        Some((name, value)) => trim_wsp(name) == "v" && trim_wsp(value) == "DMARC1",
        None => false,
    }
}

/// Picks the DMARC record out of a name's TXT records (those at `_dmarc.<domain>`), discarding the others
/// (SPF, verification tokens). RFC 7489 section 6.6.3: several DMARC records mean none applies, exactly like no
/// record.
pub fn select(txts: &[String]) -> Selection {
    records::select_where(txts, is_dmarc)
}

/// RFC 7489 section 7.1: a report destination authorizes reports for another domain by publishing a TXT
/// record that starts with `v=DMARC1` at `<policy-domain>._report._dmarc.<destination>`. Any such record
/// counts, even several.
pub fn authorizes(txts: &[String]) -> bool {
    txts.iter().any(|t| is_dmarc(t))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

/// DMARCbis `psd`: whether the domain publishing the record is a public suffix operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Psd {
    #[serde(rename = "y")]
    Yes,
    #[serde(rename = "n")]
    No,
    /// `psd=u`, the default: the tree walk decides.
    #[serde(rename = "u")]
    Unknown,
}

/// One `rua`/`ruf` destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportUri {
    /// The URI as written, without its `!size` suffix.
    pub uri: String,
    /// Lower case: `mailto`, `https`, …
    pub scheme: String,
    /// For `mailto:` the mailbox (no query); otherwise everything after the scheme's colon.
    pub address: String,
    /// The destination host (the mailbox's domain, or an http(s) URI's host), lower case: the name whose
    /// organizational domain decides whether RFC 7489 section 7.1 authorization is needed.
    pub domain: Option<String>,
    /// The `!size` limit in bytes (`k`, `m`, `g`, `t` are powers of 1024).
    pub size_limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmarcRecord {
    pub policy: Policy,
    pub subdomain_policy: Option<Policy>,
    /// DMARCbis `np`: the policy for subdomains that do not exist.
    pub nonexistent_policy: Option<Policy>,
    pub psd: Option<Psd>,
    /// DMARCbis `t=y`: the domain owner is testing, so receivers apply one step less than `p`.
    pub testing: bool,
    pub adkim: AlignMode,
    pub aspf: AlignMode,
    pub pct: Option<u8>,
    pub rua: Vec<ReportUri>,
    pub ruf: Vec<ReportUri>,
    /// Failure reporting options, normalized (lower case, no whitespace), e.g. `1:d`.
    pub fo: Option<String>,
    /// Failure report formats, normalized like `fo`.
    pub rf: Option<String>,
    /// Aggregate report interval in seconds.
    pub ri: Option<u32>,
    /// Names of tags this parser does not know; receivers ignore them (RFC 7489 section 6.3), but a typo
    /// such as `rue=` lands here.
    pub unknown_tags: Vec<String>,
    /// Tags that DMARCbis removed (`pct`, `rf`, `ri`) and that are present.
    pub obsolete_tags: Vec<&'static str>,
}

impl DmarcRecord {
    fn empty(policy: Policy) -> DmarcRecord {
        DmarcRecord {
            policy,
            subdomain_policy: None,
            nonexistent_policy: None,
            psd: None,
            testing: false,
            adkim: AlignMode::Relaxed,
            aspf: AlignMode::Relaxed,
            pct: None,
            rua: Vec::new(),
            ruf: Vec::new(),
            fo: None,
            rf: None,
            ri: None,
            unknown_tags: Vec::new(),
            obsolete_tags: Vec::new(),
        }
    }
}

/// A DMARC record that does not parse.
///
/// RFC 7489 section 6.6.3: a record whose `p` is missing or invalid (or whose `sp` is invalid) but that
/// has a valid `rua` is acted on as if it said `p=none`, so reports still flow. Such an error carries that
/// record in `lenient`; every other error means receivers apply no DMARC at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid DMARC record: {message} ({})", records::at(.tag, *.position))]
pub struct DmarcError {
    pub position: usize,
    pub tag: String,
    pub message: String,
    pub lenient: Option<Box<DmarcRecord>>,
}

impl From<RecordError> for DmarcError {
    fn from(e: RecordError) -> DmarcError {
        DmarcError {
            position: e.position,
            tag: e.tag,
            message: e.message,
            lenient: None,
        }
    }
}

fn err(tag: &Tag<'_>, message: impl Into<String>) -> RecordError {
    RecordError::new(tag.value_position, tag.name, message)
}

/// Parses a DMARC record (one TXT record, its strings already joined).
pub fn parse(record: &str) -> Result<DmarcRecord, DmarcError> {
    // Tag names are matched without regard to case, as receivers do; keyword values likewise.
    let tags = records::tag_list(record, NameCase::Insensitive)?;
    let Some(first) = tags.first() else {
        return Err(RecordError::new(0, "v", "empty record (expected `v=DMARC1; p=…`)").into());
    };
    if !first.name.eq_ignore_ascii_case("v") {
        return Err(RecordError::new(
            first.position,
            first.name,
            "a DMARC record must start with `v=DMARC1`",
        )
        .into());
    }
    if first.value != "DMARC1" {
        return Err(err(
            first,
            format!("version must be `DMARC1`, found `{}`", clip(first.value)),
        )
        .into());
    }

    let mut out = DmarcRecord::empty(Policy::None);
    let mut policy = None;
    // A bad `p` or `sp` is not fatal on its own (see DmarcError), so it waits until the rest is read.
    let mut policy_problem: Option<RecordError> = None;
    for tag in &tags[1..] {
        let value = tag.value;
        match tag.name.to_ascii_lowercase().as_str() {
            // The tag-list parser already rejects a repeated name; this keeps the match total.
            "v" => {
                return Err(
                    RecordError::new(tag.position, tag.name, "`v` must appear once").into(),
                );
            }
            "p" => match parse_policy(tag) {
                Ok(p) => policy = Some(p),
                Err(e) => {
                    policy_problem.get_or_insert(e);
                }
            },
            "sp" => match parse_policy(tag) {
                Ok(p) => out.subdomain_policy = Some(p),
                Err(e) => {
                    policy_problem.get_or_insert(e);
                }
            },
            "np" => out.nonexistent_policy = Some(parse_policy(tag)?),
            "psd" => {
                out.psd = Some(match keyword(value).as_str() {
                    "y" => Psd::Yes,
                    "n" => Psd::No,
                    "u" => Psd::Unknown,
                    _ => return Err(bad_keyword(tag, "y, n or u").into()),
                })
            }
            "t" => {
                out.testing = match keyword(value).as_str() {
                    "y" => true,
                    "n" => false,
                    _ => return Err(bad_keyword(tag, "y or n").into()),
                }
            }
            "adkim" => out.adkim = parse_align(tag)?,
            "aspf" => out.aspf = parse_align(tag)?,
            "pct" => {
                out.obsolete_tags.push("pct");
                out.pct = Some(parse_pct(tag)?);
            }
            "rua" => out.rua = parse_uris(tag)?,
            "ruf" => out.ruf = parse_uris(tag)?,
            "fo" => out.fo = Some(parse_fo(tag)?),
            "rf" => {
                out.obsolete_tags.push("rf");
                out.rf = Some(parse_rf(tag)?);
            }
            "ri" => {
                out.obsolete_tags.push("ri");
                out.ri = Some(parse_ri(tag)?);
            }
            _ => out.unknown_tags.push(tag.name.to_owned()),
        }
    }

    let policy_problem = policy_problem.or_else(|| {
        policy
            .is_none()
            .then(|| RecordError::new(record.len(), "p", "the required `p` tag is missing"))
    });
    match policy_problem {
        None => {
            out.policy = policy.unwrap_or(Policy::None);
            Ok(out)
        }
        Some(problem) => {
            let lenient = (!out.rua.is_empty()).then(|| {
                // What a receiver acts on: p=none, and an invalid sp dropped in favour of p.
                let mut lenient = out.clone();
                lenient.policy = Policy::None;
                if problem.tag.eq_ignore_ascii_case("sp") {
                    lenient.policy = policy.unwrap_or(Policy::None);
                    lenient.subdomain_policy = None;
                }
                Box::new(lenient)
            });
            Err(DmarcError {
                lenient,
                ..problem.into()
            })
        }
    }
}

fn keyword(value: &str) -> String {
    value.to_ascii_lowercase()
}

fn bad_keyword(tag: &Tag<'_>, expected: &str) -> RecordError {
    if tag.value.is_empty() {
        err(tag, format!("empty value (expected {expected})"))
    } else {
        err(
            tag,
            format!("`{}` is not one of {expected}", clip(tag.value)),
        )
    }
}

fn parse_policy(tag: &Tag<'_>) -> Result<Policy, RecordError> {
    match keyword(tag.value).as_str() {
        "none" => Ok(Policy::None),
        "quarantine" => Ok(Policy::Quarantine),
        "reject" => Ok(Policy::Reject),
        _ => Err(bad_keyword(tag, "none, quarantine or reject")),
    }
}

fn parse_align(tag: &Tag<'_>) -> Result<AlignMode, RecordError> {
    match keyword(tag.value).as_str() {
        "r" => Ok(AlignMode::Relaxed),
        "s" => Ok(AlignMode::Strict),
        _ => Err(bad_keyword(tag, "r or s")),
    }
}

/// ABNF `1*3DIGIT`, and a percentage.
fn parse_pct(tag: &Tag<'_>) -> Result<u8, RecordError> {
    let v = tag.value;
    if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(
            tag,
            format!("`{}` is not a whole number from 0 to 100", clip(v)),
        ));
    }
    match v.parse::<u8>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => Err(err(tag, format!("{v} is more than 100"))),
    }
}

fn parse_ri(tag: &Tag<'_>) -> Result<u32, RecordError> {
    let v = tag.value;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(
            tag,
            format!("`{}` is not a whole number of seconds", clip(v)),
        ));
    }
    v.parse::<u32>()
        .map_err(|_| err(tag, format!("`{}` is too large", clip(v))))
}

/// `fo`: colon-separated options from `0`, `1`, `d`, `s`.
fn parse_fo(tag: &Tag<'_>) -> Result<String, RecordError> {
    let mut items = Vec::new();
    for item in records::list_items(tag.value, ':') {
        let item = item.to_ascii_lowercase();
        if !matches!(item.as_str(), "0" | "1" | "d" | "s") {
            return Err(err(
                tag,
                format!(
                    "failure option `{}` is not one of 0, 1, d or s",
                    clip(&item)
                ),
            ));
        }
        items.push(item);
    }
    Ok(items.join(":"))
}

/// `rf`: colon-separated format keywords (only `afrf` is registered, but others are syntactically fine).
fn parse_rf(tag: &Tag<'_>) -> Result<String, RecordError> {
    let mut items = Vec::new();
    for item in records::list_items(tag.value, ':') {
        if item.is_empty() || !item.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err(
                tag,
                format!("report format `{}` is not a keyword", clip(item)),
            ));
        }
        items.push(item.to_ascii_lowercase());
    }
    Ok(items.join(":"))
}

fn parse_uris(tag: &Tag<'_>) -> Result<Vec<ReportUri>, RecordError> {
    records::list_items(tag.value, ',')
        .map(|item| parse_uri(item).map_err(|m| err(tag, m)))
        .collect()
}

/// One `dmarc-uri`: a URI with an optional `!<digits>[kmgt]` size limit.
fn parse_uri(item: &str) -> Result<ReportUri, String> {
    if item.is_empty() {
        return Err("empty URI in the list".to_owned());
    }
    let (uri, size_limit) = match item.rsplit_once('!') {
        Some((uri, size)) => (uri, Some(parse_size(size)?)),
        None => (item, None),
    };
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(format!(
            "`{}` is not a URI (expected `mailto:…`)",
            clip(uri)
        ));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(format!("`{}` is not a URI scheme", clip(scheme)));
    }
    if uri.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(format!("URI `{}` contains whitespace", clip(uri)));
    }
    let scheme = scheme.to_ascii_lowercase();
    let (address, domain) = match scheme.as_str() {
        "mailto" => {
            let address = rest.split('?').next().unwrap_or_default();
            let domain = match address.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && valid_host(domain) => {
                    org::normalize(domain)
                }
                _ => {
                    return Err(format!(
                        "`{}` is not a mailbox (expected `mailto:local@domain`)",
                        clip(uri)
                    ));
                }
            };
            (address.to_owned(), Some(domain))
        }
        "http" | "https" => (rest.to_owned(), url_host(rest).map(org::normalize)),
        _ => (rest.to_owned(), None),
    };
    Ok(ReportUri {
        uri: uri.to_owned(),
        scheme,
        address,
        domain,
        size_limit,
    })
}

/// `1*DIGIT [ "k" / "m" / "g" / "t" ]`, in bytes.
fn parse_size(size: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "`!{}` is not a size limit (digits, then k, m, g or t)",
            clip(size)
        )
    };
    let (digits, shift) = match size.as_bytes().last().map(u8::to_ascii_lowercase) {
        Some(b'k') => (&size[..size.len() - 1], 10),
        Some(b'm') => (&size[..size.len() - 1], 20),
        Some(b'g') => (&size[..size.len() - 1], 30),
        Some(b't') => (&size[..size.len() - 1], 40),
        _ => (size, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("size limit `!{}` is too large", clip(size)))
}

/// The host of `//[userinfo@]host[:port]/…`.
fn url_host(rest: &str) -> Option<&str> {
    let authority = rest.strip_prefix("//")?.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = host_port.split(':').next()?;
    valid_host(host).then_some(host)
}

fn valid_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// RFC 7489 section 7.1: the name to query when a report destination is outside the policy domain's
/// organization, `<policy-domain>._report._dmarc.<destination-host>`; `None` when no authorization is
/// needed (same organizational domain) or the URI has no destination host.
pub fn report_authorization_name(policy_domain: &str, uri: &ReportUri) -> Option<String> {
    let destination = uri.domain.as_deref()?;
    if org::same_org(policy_domain, destination) {
        return None;
    }
    Some(format!(
        "{}._report._dmarc.{}",
        org::normalize(policy_domain),
        org::normalize(destination)
    ))
}

/// The policy a receiver applies to mail from the domain the record was found for (`is_subdomain` false)
/// or from a subdomain that found it as its organizational domain's record: `sp` if given, else `p`.
/// `pct` and `t` are left to the caller: they sample or soften the policy, they do not change it.
pub fn effective_policy(record: &DmarcRecord, is_subdomain: bool) -> Policy {
    if is_subdomain {
        record.subdomain_policy.unwrap_or(record.policy)
    } else {
        record.policy
    }
}

/// DMARCbis: the policy for a subdomain that does not exist: `np`, else `sp`, else `p`.
pub fn nonexistent_policy(record: &DmarcRecord) -> Policy {
    record
        .nonexistent_policy
        .or(record.subdomain_policy)
        .unwrap_or(record.policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn err_of(record: &str) -> DmarcError {
        parse(record).expect_err(&format!("{record:?} parsed"))
    }

    #[test]
    fn select_finds_exactly_one() {
        assert_eq!(select(&[]), Selection::None);
        assert_eq!(
            select(&s(&["v=spf1 -all", "google-site-verification=x"])),
            Selection::None
        );
        let one = select(&s(&["v=spf1 -all", "v = DMARC1 ; p=none"]));
        assert_eq!(one, Selection::One("v = DMARC1 ; p=none".into()));
        assert_eq!(one.record(), Some("v = DMARC1 ; p=none"));
        assert_eq!(
            select(&s(&["v=DMARC1; p=none", "v=DMARC1; p=reject"])),
            Selection::Multiple(s(&["v=DMARC1; p=none", "v=DMARC1; p=reject"]))
        );
        assert!(select(&s(&["v=DMARC1; p=none", "x"])).record().is_some());
        assert_eq!(Selection::Multiple(vec![]).record(), None);
    }

    #[test]
    fn select_is_exact_about_the_version() {
        for not in [
            "v=dmarc1; p=none",
            "v=DMARC1x; p=none",
            "p=none; v=DMARC1",
            "vv=DMARC1",
            "v DMARC1",
            "",
        ] {
            assert_eq!(select(&s(&[not])), Selection::None, "{not}");
        }
        assert!(select(&s(&["v=DMARC1"])).record().is_some());
        assert!(select(&s(&["\tv=DMARC1\t;p=none"])).record().is_some());
    }

    #[test]
    fn selection_serializes_with_a_kind() {
        let json = serde_json::to_string(&Selection::One("v=DMARC1".into())).unwrap();
        assert_eq!(json, r#"{"kind":"one","records":"v=DMARC1"}"#);
    }

    #[test]
    fn minimal_record_gets_defaults() {
        let r = parse("v=DMARC1; p=reject").unwrap();
        assert_eq!(r, DmarcRecord::empty(Policy::Reject));
        assert_eq!(r.adkim, AlignMode::Relaxed);
        assert!(!r.testing);
    }

    #[test]
    fn full_record() {
        let r = parse(
            "v=DMARC1; p=Quarantine; sp=reject; np=reject; psd=n; t=y; adkim=s; aspf=r; pct=50; \
             rua=mailto:dmarc@example.com,mailto:agg@reports.example.net!10m; \
             ruf=mailto:forensic@example.com!512; fo=1 : D; rf=AFRF; ri=3600; foo=bar",
        )
        .unwrap();
        assert_eq!(r.policy, Policy::Quarantine);
        assert_eq!(r.subdomain_policy, Some(Policy::Reject));
        assert_eq!(r.nonexistent_policy, Some(Policy::Reject));
        assert_eq!(r.psd, Some(Psd::No));
        assert!(r.testing);
        assert_eq!((r.adkim, r.aspf), (AlignMode::Strict, AlignMode::Relaxed));
        assert_eq!(r.pct, Some(50));
        assert_eq!(r.rua.len(), 2);
        assert_eq!(
            r.rua[1],
            ReportUri {
                uri: "mailto:agg@reports.example.net".into(),
                scheme: "mailto".into(),
                address: "agg@reports.example.net".into(),
                domain: Some("reports.example.net".into()),
                size_limit: Some(10 * 1024 * 1024),
            }
        );
        assert_eq!(r.ruf[0].size_limit, Some(512));
        assert_eq!(r.fo.as_deref(), Some("1:d"));
        assert_eq!(r.rf.as_deref(), Some("afrf"));
        assert_eq!(r.ri, Some(3600));
        assert_eq!(r.unknown_tags, vec!["foo".to_owned()]);
        assert_eq!(r.obsolete_tags, vec!["pct", "rf", "ri"]);
    }

    #[test]
    fn psd_and_t_values() {
        assert_eq!(parse("v=DMARC1;p=none;psd=y").unwrap().psd, Some(Psd::Yes));
        assert_eq!(
            parse("v=DMARC1;p=none;psd=U").unwrap().psd,
            Some(Psd::Unknown)
        );
        assert!(!parse("v=DMARC1;p=none;t=n").unwrap().testing);
        assert_eq!(err_of("v=DMARC1;p=none;psd=x").tag, "psd");
        assert_eq!(err_of("v=DMARC1;p=none;t=yes").tag, "t");
        assert!(err_of("v=DMARC1;p=none;t=").message.contains("empty value"));
    }

    #[test]
    fn tag_names_and_keywords_ignore_case() {
        let r = parse("v=DMARC1; P=REJECT; ADKIM=S").unwrap();
        assert_eq!((r.policy, r.adkim), (Policy::Reject, AlignMode::Strict));
        assert!(parse("V=DMARC1; p=none").is_ok());
    }

    #[test]
    fn version_must_come_first_and_be_exact() {
        let e = err_of("p=none; v=DMARC1");
        assert_eq!((e.position, e.tag.as_str()), (0, "p"));
        assert!(e.message.contains("must start with"));
        let e = err_of("v=DMARC2; p=none");
        assert_eq!((e.position, e.tag.as_str()), (2, "v"));
        assert_eq!(
            e.to_string(),
            "invalid DMARC record: version must be `DMARC1`, found `DMARC2` (tag `v` at byte 2)"
        );
        assert!(err_of("").message.contains("empty record"));
        assert!(err_of("  ;  ").message.contains("empty record"));
        assert!(
            err_of("v=DMARC1; p=none; v=DMARC1")
                .message
                .contains("more than once")
        );
    }

    #[test]
    fn duplicates_are_fatal() {
        let e = err_of("v=DMARC1; p=none; p=reject");
        assert_eq!((e.position, e.tag.as_str()), (18, "p"));
        assert!(e.lenient.is_none());
        assert_eq!(
            err_of("v=DMARC1; p=none; rua=mailto:a@b.c; RUA=mailto:a@b.c").tag,
            "RUA"
        );
    }

    #[test]
    fn missing_or_bad_p_without_rua_is_fatal() {
        let e = err_of("v=DMARC1");
        assert_eq!((e.tag.as_str(), e.position), ("p", 8));
        assert!(e.message.contains("missing"));
        assert!(e.lenient.is_none());
        let e = err_of("v=DMARC1; p=rejct");
        assert_eq!((e.tag.as_str(), e.position), ("p", 12));
        assert!(
            e.message
                .contains("`rejct` is not one of none, quarantine or reject")
        );
        assert!(e.lenient.is_none());
        assert!(err_of("v=DMARC1; p=").message.contains("empty value"));
    }

    #[test]
    fn bad_p_with_rua_is_lenient_p_none() {
        let e = err_of("v=DMARC1; p=rejct; sp=reject; rua=mailto:d@example.com");
        let lenient = e.lenient.expect("lenient record");
        assert_eq!(lenient.policy, Policy::None);
        assert_eq!(lenient.subdomain_policy, Some(Policy::Reject));
        assert_eq!(lenient.rua.len(), 1);

        let e = err_of("v=DMARC1; rua=mailto:d@example.com");
        assert_eq!(e.lenient.map(|r| r.policy), Some(Policy::None));

        // An invalid sp with a valid p: receivers keep p and drop sp.
        let e = err_of("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com");
        assert_eq!(e.tag, "sp");
        let lenient = e.lenient.expect("lenient record");
        assert_eq!(
            (lenient.policy, lenient.subdomain_policy),
            (Policy::Reject, None)
        );

        // Another fatal error wins over the lenient reading.
        let e = err_of("v=DMARC1; p=bogus; rua=mailto:d@example.com; adkim=x");
        assert_eq!(e.tag, "adkim");
        assert!(e.lenient.is_none());
    }

    #[test]
    fn np_alignment_pct_ri_errors() {
        assert_eq!(err_of("v=DMARC1;p=none;np=maybe").tag, "np");
        assert_eq!(err_of("v=DMARC1;p=none;aspf=relaxed").tag, "aspf");
        for bad in ["101", "1000", "-1", "5.5", "", "abc"] {
            let e = err_of(&format!("v=DMARC1;p=none;pct={bad}"));
            assert_eq!(e.tag, "pct", "{bad}");
        }
        assert_eq!(parse("v=DMARC1;p=none;pct=0").unwrap().pct, Some(0));
        assert_eq!(parse("v=DMARC1;p=none;pct=100").unwrap().pct, Some(100));
        assert_eq!(parse("v=DMARC1;p=none;pct=007").unwrap().pct, Some(7));
        assert!(
            err_of("v=DMARC1;p=none;ri=99999999999")
                .message
                .contains("too large")
        );
        assert!(
            err_of("v=DMARC1;p=none;ri=1h")
                .message
                .contains("whole number")
        );
        assert!(
            err_of("v=DMARC1;p=none;fo=2")
                .message
                .contains("failure option")
        );
        assert!(
            err_of("v=DMARC1;p=none;fo=")
                .message
                .contains("failure option")
        );
        assert!(
            err_of("v=DMARC1;p=none;rf=afrf:")
                .message
                .contains("report format")
        );
    }

    #[test]
    fn report_uri_forms() {
        let r = parse(
            "v=DMARC1;p=none;rua=MAILTO:Reports@Example.COM?subject=x!5K, https://user@Collector.example.org:8443/dmarc!1t, \
             foo:bar",
        )
        .unwrap();
        assert_eq!(r.rua[0].scheme, "mailto");
        assert_eq!(r.rua[0].address, "Reports@Example.COM");
        assert_eq!(r.rua[0].domain.as_deref(), Some("example.com"));
        assert_eq!(r.rua[0].size_limit, Some(5 * 1024));
        assert_eq!(r.rua[1].scheme, "https");
        assert_eq!(r.rua[1].domain.as_deref(), Some("collector.example.org"));
        assert_eq!(r.rua[1].size_limit, Some(1u64 << 40));
        assert_eq!(
            (r.rua[2].scheme.as_str(), r.rua[2].domain.as_ref()),
            ("foo", None)
        );
    }

    #[test]
    fn report_uri_errors() {
        for bad in [
            "rua=dmarc@example.com",
            "rua=mailto:example.com",
            "rua=mailto:@example.com",
            "rua=mailto:a@",
            "rua=mailto:a@exa mple.com",
            "rua=mailto:a@b.c,",
            "rua=mailto:a@b.c,,mailto:d@e.f",
            "rua=mailto:a@b.c!",
            "rua=mailto:a@b.c!10x",
            "rua=mailto:a@b.c!k",
            "rua=mailto:a@b.c!99999999999999999999",
            "rua=mailto:a@b.c!99999999999999t",
            "rua=1mailto:a@b.c",
            "ruf=",
        ] {
            let e = err_of(&format!("v=DMARC1; p=none; {bad}"));
            assert!(e.tag == "rua" || e.tag == "ruf", "{bad}: {e}");
            assert_eq!(e.position, 18 + 4, "{bad}");
        }
    }

    #[test]
    fn authorization_names() {
        let r = parse("v=DMARC1;p=none;rua=mailto:a@example.com,mailto:b@mail.example.com,mailto:c@vendor.example.net,foo:x").unwrap();
        assert_eq!(report_authorization_name("example.com", &r.rua[0]), None);
        assert_eq!(report_authorization_name("example.com", &r.rua[1]), None);
        assert_eq!(
            report_authorization_name("Sub.Example.com.", &r.rua[0]),
            None
        );
        assert_eq!(
            report_authorization_name("Example.COM", &r.rua[2]).as_deref(),
            Some("example.com._report._dmarc.vendor.example.net")
        );
        assert_eq!(report_authorization_name("example.com", &r.rua[3]), None);
        assert!(authorizes(&s(&["v=DMARC1"])));
        assert!(authorizes(&s(&["x", "v=DMARC1;", "v=DMARC1; p=none"])));
        assert!(!authorizes(&s(&["v=spf1", "v=DMARC2"])));
        assert!(!authorizes(&[]));
    }

    #[test]
    fn effective_policies() {
        let r = parse("v=DMARC1; p=reject").unwrap();
        assert_eq!(effective_policy(&r, false), Policy::Reject);
        assert_eq!(effective_policy(&r, true), Policy::Reject);
        assert_eq!(nonexistent_policy(&r), Policy::Reject);
        let r = parse("v=DMARC1; p=reject; sp=none").unwrap();
        assert_eq!(effective_policy(&r, false), Policy::Reject);
        assert_eq!(effective_policy(&r, true), Policy::None);
        assert_eq!(nonexistent_policy(&r), Policy::None);
        let r = parse("v=DMARC1; p=none; sp=quarantine; np=reject").unwrap();
        assert_eq!(nonexistent_policy(&r), Policy::Reject);
    }

    #[test]
    fn non_ascii_is_rejected() {
        let e = err_of("v=DMARC1; p=none; rua=mailto:d@exämple.com");
        assert!(e.message.contains("non-ASCII"));
        assert!(err_of("v=DMARC1; p=\u{fffd}").message.contains("non-ASCII"));
    }

    #[test]
    fn serializes() {
        let r = parse("v=DMARC1; p=reject; psd=y; rua=mailto:a@b.example").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["policy"], "reject");
        assert_eq!(json["psd"], "y");
        assert_eq!(json["adkim"], "relaxed");
        assert_eq!(json["rua"][0]["domain"], "b.example");
        let e = serde_json::to_value(err_of("v=DMARC1")).unwrap();
        assert_eq!(e["tag"], "p");
    }

    #[test]
    fn hostile_inputs_end_quickly() {
        // Hostile input must never make parsing hang or go quadratic: past the limit the test fails.
        let limit = std::time::Duration::from_secs(20);
        launchready_testkit::watchdog::finish_within(limit, "the hostile DMARC records", || {
            let many: String = (0..1000).map(|i| format!("x{i}=y;")).collect();
            let r = parse(&format!("v=DMARC1;p=none;{many}")).unwrap();
            assert_eq!(r.unknown_tags.len(), 1000);
            let dup = format!("v=DMARC1;p=none;{}", "rua=mailto:a@b.c;".repeat(1000));
            assert!(parse(&dup).is_err());
            let uris = vec!["mailto:a@b.example"; 100_000].join(",");
            assert_eq!(
                parse(&format!("v=DMARC1;p=none;rua={uris}"))
                    .unwrap()
                    .rua
                    .len(),
                100_000
            );
            let huge = format!("v=DMARC1; p=none; x={}", "a".repeat(10 * 1024 * 1024));
            assert!(parse(&huge).is_ok());
            let huge_bad = format!("v=DMARC1; p={}", "a".repeat(10 * 1024 * 1024));
            assert!(err_of(&huge_bad).to_string().len() < 300);
            assert!(parse(&";".repeat(1_000_000)).is_err());
            assert!(parse(&"=".repeat(1_000_000)).is_err());
            assert!(parse(&"!".repeat(1_000_000)).is_err());
            let _ = select(&[huge.clone(), "é".repeat(1000)]);
            let mut noise = crate::records::Noise(0x2545_f491_4f6c_dd1d);
            let alphabet = b"v=DMARC1;p:none,!@mailto. \t\r\nrsk0\xc3\xa9";
            for _ in 0..2000 {
                let text = noise.text(alphabet, 64);
                let _ = parse(&format!("v=DMARC1;{text}"));
                let _ = parse(&text);
                let _ = select(&[text.to_string()]);
            }
        });
    }
}
