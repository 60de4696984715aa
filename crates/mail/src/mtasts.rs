//! MTA-STS (RFC 8461): the `_mta-sts` TXT record and the policy file served at
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt`, with the MX coverage check senders apply; plus the
//! two neighbouring TXT records an audit reads with it, TLS-RPT (`_smtp._tls`, RFC 8460) and BIMI
//! (`default._bimi`).

use serde::Serialize;

use crate::records::{self, NameCase, Tag, clip, trim_wsp};

pub use crate::records::RecordError;

fn err(tag: &Tag<'_>, message: impl Into<String>) -> RecordError {
    RecordError::new(tag.value_position, tag.name, message)
}

/// Tags of a TXT record whose first tag must be `v=<version>` exactly (RFC 8461, RFC 8460 and BIMI all
/// spell the version case-sensitively).
fn versioned<'a>(txt: &'a str, version: &str) -> Result<Vec<Tag<'a>>, RecordError> {
    let tags = records::tag_list(txt, NameCase::Sensitive)?;
    match tags.first() {
        None => Err(RecordError::new(
            0,
            "v",
            format!("empty record (expected `v={version}; …`)"),
        )),
        Some(first) if first.name != "v" => Err(RecordError::new(
            first.position,
            first.name,
            format!("the record must start with `v={version}`"),
        )),
        Some(first) if first.value != version => Err(err(
            first,
            format!("version must be `{version}`, found `{}`", clip(first.value)),
        )),
        Some(_) => Ok(tags),
    }
}

/// The `_mta-sts.<domain>` TXT record: its `id` changes whenever the policy does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsTxt {
    pub id: String,
}

/// Parses `v=STSv1; id=…` (RFC 8461 section 3.1). Extension tags are ignored.
pub fn parse_sts_txt(txt: &str) -> Result<StsTxt, RecordError> {
    let tags = versioned(txt, "STSv1")?;
    let Some(id) = tags.iter().find(|t| t.name == "id") else {
        return Err(RecordError::new(
            txt.len(),
            "id",
            "the required `id` tag is missing",
        ));
    };
    if id.value.is_empty()
        || id.value.len() > 32
        || !id.value.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(err(
            id,
            format!(
                "`{}` is not a policy id (1 to 32 letters and digits)",
                clip(id.value)
            ),
        ));
    }
    Ok(StsTxt {
        id: id.value.to_owned(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StsMode {
    Enforce,
    Testing,
    None,
}

/// A parsed policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsPolicy {
    pub mode: StsMode,
    /// Seconds senders may cache the policy.
    pub max_age: u32,
    /// MX patterns, lower case, a trailing dot dropped (senders compare names without one): host names
    /// or `*.` wildcards.
    pub mx: Vec<String>,
    /// Keys RFC 8461 does not define; senders ignore them.
    pub unknown_keys: Vec<String>,
}

/// A policy file that does not parse; senders then treat the domain as having no usable policy. `line` is
/// 1-based, or 0 for a problem with the file as a whole (its size, a missing field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid MTA-STS policy: {message}{}", line_suffix(*.line))]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}

/// RFC 8461 section 3.3 caps policy bodies at 64 KiB; senders stop reading there.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// RFC 8461 section 3.2: `max_age` is at most 31557600 seconds (about a year).
pub const MAX_MAX_AGE: u32 = 31_557_600;

/// Parses a policy file: `key: value` lines ending in LF or CRLF (RFC 8461 section 3.2).
pub fn parse_policy(body: &str) -> Result<StsPolicy, PolicyError> {
    let fail = |line: usize, message: String| PolicyError { line, message };
    if body.len() > MAX_POLICY_BYTES {
        return Err(fail(
            0,
            format!(
                "the policy is {} bytes; senders read at most {MAX_POLICY_BYTES}",
                body.len()
            ),
        ));
    }
    let mut version = false;
    let mut mode = None;
    let mut max_age = None;
    let mut mx = Vec::new();
    let mut unknown_keys = Vec::new();
    for (index, raw) in body.split('\n').enumerate() {
        let n = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        // The ABNF has no blank lines, but a trailing newline (or a stray empty line) harms no sender.
        if trim_wsp(line).is_empty() {
            continue;
        }
        if let Some(c) = line
            .chars()
            .find(|&c| !c.is_ascii() || (c.is_ascii_control() && c != '\t'))
        {
            return Err(fail(n, format!("unexpected character {c:?}")));
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(fail(
                n,
                format!("expected `key: value`, found `{}`", clip(line)),
            ));
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(fail(n, format!("`{}` is not a field name", clip(key))));
        }
        let value = trim_wsp(value);
        let duplicate = |seen: bool| {
            if seen {
                Err(fail(n, format!("`{key}` appears more than once")))
            } else {
                Ok(())
            }
        };
        match key {
            "version" => {
                duplicate(version)?;
                if value != "STSv1" {
                    return Err(fail(
                        n,
                        format!("version must be `STSv1`, found `{}`", clip(value)),
                    ));
                }
                version = true;
            }
            "mode" => {
                duplicate(mode.is_some())?;
                mode = Some(match value {
                    "enforce" => StsMode::Enforce,
                    "testing" => StsMode::Testing,
                    "none" => StsMode::None,
                    _ => {
                        return Err(fail(
                            n,
                            format!(
                                "mode `{}` is not one of enforce, testing or none",
                                clip(value)
                            ),
                        ));
                    }
                });
            }
            "max_age" => {
                duplicate(max_age.is_some())?;
                let parsed = (!value.is_empty()
                    && value.len() <= 10
                    && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<u64>().ok())
                .flatten();
                match parsed {
                    Some(secs) if secs <= u64::from(MAX_MAX_AGE) => {
                        max_age = u32::try_from(secs).ok();
                    }
                    Some(_) => {
                        return Err(fail(
                            n,
                            format!("max_age {value} is more than {MAX_MAX_AGE} seconds"),
                        ));
                    }
                    None => {
                        return Err(fail(
                            n,
                            format!("max_age `{}` is not a whole number of seconds", clip(value)),
                        ));
                    }
                }
            }
            "mx" => {
                let pattern = value.strip_suffix('.').unwrap_or(value);
                if !valid_mx_pattern(pattern) {
                    return Err(fail(
                        n,
                        format!("mx `{}` is not a host name or `*.` wildcard", clip(value)),
                    ));
                }
                mx.push(pattern.to_ascii_lowercase());
            }
            _ => unknown_keys.push(key.to_owned()),
        }
    }
    if !version {
        return Err(fail(
            0,
            "the required `version: STSv1` line is missing".into(),
        ));
    }
    let Some(mode) = mode else {
        return Err(fail(0, "the required `mode` line is missing".into()));
    };
    let Some(max_age) = max_age else {
        return Err(fail(0, "the required `max_age` line is missing".into()));
    };
    if mx.is_empty() && mode != StsMode::None {
        return Err(fail(
            0,
            "no `mx` line: a policy in enforce or testing mode must list its MX hosts".into(),
        ));
    }
    Ok(StsPolicy {
        mode,
        max_age,
        mx,
        unknown_keys,
    })
}

/// `["*."] Domain`: letters, digits and hyphens in dot-separated labels; at least two labels after a
/// wildcard so `*.com` cannot cover a whole TLD.
fn valid_mx_pattern(pattern: &str) -> bool {
    let (wild, host) = match pattern.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    labels_ok && (!wild || host.contains('.'))
}

impl StsPolicy {
    /// RFC 8461 section 4.1: whether an MX host matches one of the policy's patterns. A wildcard stands
    /// for exactly one leftmost label: `*.example.com` covers `mx1.example.com`, not `example.com` nor
    /// `a.b.example.com`.
    pub fn covers(&self, mx_host: &str) -> bool {
        let host = mx_host.trim_end_matches('.').to_ascii_lowercase();
        self.mx
            .iter()
            .any(|pattern| match pattern.strip_prefix('*') {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|label| !label.is_empty() && !label.contains('.')),
                None => *pattern == host,
            })
    }

    /// The hosts no pattern covers, in the order given: mail to them fails under `mode: enforce`.
    pub fn uncovered<'a>(&self, hosts: &'a [String]) -> Vec<&'a str> {
        hosts
            .iter()
            .filter(|h| !self.covers(h))
            .map(String::as_str)
            .collect()
    }
}

/// The `_smtp._tls.<domain>` TXT record (RFC 8460 section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsRpt {
    /// Where reports go: `mailto:` or `https:` URIs, as written.
    pub rua: Vec<String>,
}

/// Parses `v=TLSRPTv1; rua=…`. Extension tags are ignored.
pub fn parse_tlsrpt(txt: &str) -> Result<TlsRpt, RecordError> {
    let tags = versioned(txt, "TLSRPTv1")?;
    let Some(rua) = tags.iter().find(|t| t.name == "rua") else {
        return Err(RecordError::new(
            txt.len(),
            "rua",
            "the required `rua` tag is missing",
        ));
    };
    let mut uris = Vec::new();
    for uri in records::list_items(rua.value, ',') {
        let lower = uri.to_ascii_lowercase();
        let ok = if let Some(mailbox) = lower.strip_prefix("mailto:") {
            mailbox
                .split('?')
                .next()
                .and_then(|m| m.rsplit_once('@'))
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        } else if let Some(rest) = lower.strip_prefix("https://") {
            !rest.is_empty()
        } else {
            false
        };
        if !ok || uri.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(err(
                rua,
                format!(
                    "`{}` is not a `mailto:` or `https://` report URI",
                    clip(uri)
                ),
            ));
        }
        uris.push(uri.to_owned());
    }
    Ok(TlsRpt { rua: uris })
}

/// The `default._bimi.<domain>` TXT record. Both fields empty is a declination record: the domain says it
/// has no logo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bimi {
    /// `l=`: the SVG logo's https URL.
    pub location: Option<String>,
    /// `a=`: the https URL of the Verified Mark Certificate.
    pub authority: Option<String>,
}

/// Parses `v=BIMI1; l=…; a=…`. Extension tags are ignored.
pub fn parse_bimi(txt: &str) -> Result<Bimi, RecordError> {
    let tags = versioned(txt, "BIMI1")?;
    let https = |name: &str| -> Result<Option<String>, RecordError> {
        let Some(tag) = tags.iter().find(|t| t.name == name) else {
            return Ok(None);
        };
        if tag.value.is_empty() {
            return Ok(None);
        }
        let is_https = tag
            .value
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            && tag.value.len() > 8
            && !tag.value.bytes().any(|b| b.is_ascii_whitespace());
        if is_https {
            Ok(Some(tag.value.to_owned()))
        } else {
            Err(err(
                tag,
                format!("`{}` is not an https:// URL", clip(tag.value)),
            ))
        }
    };
    Ok(Bimi {
        location: https("l")?,
        authority: https("a")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_err(body: &str) -> PolicyError {
        parse_policy(body).expect_err(&format!("{body:?} parsed"))
    }

    #[test]
    fn sts_txt() {
        assert_eq!(
            parse_sts_txt("v=STSv1; id=20240101T000000").unwrap().id,
            "20240101T000000"
        );
        assert_eq!(parse_sts_txt("v=STSv1;id=a;ext=1;").unwrap().id, "a");
        let e = parse_sts_txt("v=STSv1").unwrap_err();
        assert_eq!((e.tag.as_str(), e.position), ("id", 7));
        for bad in ["", "id=1; v=STSv1", "v=STSv2; id=1", "v=stsv1; id=1"] {
            assert!(!parse_sts_txt(bad).unwrap_err().tag.is_empty(), "{bad}");
        }
        for bad_id in ["", "a-b", &"a".repeat(33), "a b"] {
            let e = parse_sts_txt(&format!("v=STSv1; id={bad_id}")).unwrap_err();
            assert_eq!(e.tag, "id", "{bad_id}");
        }
        assert!(parse_sts_txt(&format!("v=STSv1; id={}", "a".repeat(32))).is_ok());
        assert!(parse_sts_txt("v=STSv1; id=1; id=2").is_err());
    }

    #[test]
    fn policy_with_crlf_and_lf() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Backup.Example.com.\r\nmax_age: 604800\r\n",
        )
        .unwrap();
        assert_eq!(
            p,
            StsPolicy {
                mode: StsMode::Enforce,
                max_age: 604_800,
                mx: vec!["mail.example.com".into(), "*.backup.example.com".into()],
                unknown_keys: vec![],
            }
        );
        let p =
            parse_policy("version:STSv1\nmode:\ttesting\nmx: a.example\nmax_age: 0\nfoo_bar: x")
                .unwrap();
        assert_eq!((p.mode, p.max_age), (StsMode::Testing, 0));
        assert_eq!(p.unknown_keys, vec!["foo_bar"]);
    }

    #[test]
    fn mode_none_needs_no_mx() {
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert_eq!((p.mode, p.mx.len()), (StsMode::None, 0));
        let e = policy_err("version: STSv1\nmode: enforce\nmax_age: 86400\n");
        assert_eq!(e.line, 0);
        assert!(e.message.contains("no `mx`"));
    }

    #[test]
    fn policy_errors_name_the_line() {
        let ok = "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n";
        assert!(parse_policy(ok).is_ok());
        let cases: &[(&str, usize, &str)] = &[
            ("version: STSv2\n", 1, "STSv1"),
            ("version: STSv1\nversion: STSv1\n", 2, "more than once"),
            ("version: STSv1\nmode: Enforce\n", 2, "mode"),
            (
                "version: STSv1\nmode: enforce\nmode: none\n",
                3,
                "more than once",
            ),
            ("version: STSv1\nmax_age: 31557601\n", 2, "more than"),
            ("version: STSv1\nmax_age: 99999999999\n", 2, "whole number"),
            ("version: STSv1\nmax_age: -1\n", 2, "whole number"),
            ("version: STSv1\nmax_age:\n", 2, "whole number"),
            (
                "version: STSv1\nmax_age: 1\nmax_age: 2\n",
                3,
                "more than once",
            ),
            ("version: STSv1\nmx: -bad.example\n", 2, "mx"),
            ("version: STSv1\nmx: *.com\n", 2, "mx"),
            ("version: STSv1\nmx: a.*.example\n", 2, "mx"),
            ("version: STSv1\nmx: \n", 2, "mx"),
            ("version: STSv1\nmx: mail.exämple.com\n", 2, "character"),
            ("version: STSv1\njunk\n", 2, "key: value"),
            ("version: STSv1\nmy key: x\n", 2, "field name"),
            ("version: STSv1\n: x\n", 2, "field name"),
            ("mode: enforce\nmx: a.example\nmax_age: 1\n", 0, "version"),
            ("version: STSv1\nmx: a.example\nmax_age: 1\n", 0, "mode"),
            (
                "version: STSv1\nmode: enforce\nmx: a.example\n",
                0,
                "max_age",
            ),
            ("", 0, "version"),
        ];
        for (body, line, needle) in cases {
            let e = policy_err(body);
            assert_eq!(e.line, *line, "{body:?}: {e}");
            assert!(e.message.contains(needle), "{body:?}: {e}");
        }
        assert_eq!(
            policy_err("version: STSv2").to_string(),
            "invalid MTA-STS policy: version must be `STSv1`, found `STSv2` (line 1)"
        );
        assert_eq!(
            policy_err("").to_string(),
            "invalid MTA-STS policy: the required `version: STSv1` line is missing"
        );
    }

    #[test]
    fn policy_size_limit() {
        let mut body = "version: STSv1\nmode: none\nmax_age: 1\n".to_owned();
        body.push_str(&"x: y\n".repeat(MAX_POLICY_BYTES / 5));
        assert!(body.len() > MAX_POLICY_BYTES);
        let e = policy_err(&body);
        assert_eq!(e.line, 0);
        assert!(e.message.contains("bytes"));
        let cut = body[..MAX_POLICY_BYTES].rfind('\n').unwrap() + 1;
        let fits = &body[..cut];
        assert!(parse_policy(fits).is_ok());
    }

    #[test]
    fn wildcard_matching() {
        let p = parse_policy(
            "version: STSv1\nmode: enforce\nmax_age: 1\nmx: mail.example.com\nmx: *.mx.example.net\n",
        )
        .unwrap();
        assert!(p.covers("mail.example.com"));
        assert!(p.covers("MAIL.example.com."));
        assert!(!p.covers("other.example.com"));
        assert!(p.covers("a.mx.example.net"));
        assert!(!p.covers("mx.example.net"));
        assert!(!p.covers("a.b.mx.example.net"));
        assert!(!p.covers(".mx.example.net"));
        assert!(!p.covers("amx.example.net"));
        assert!(!p.covers(""));
        let hosts = vec![
            "mail.example.com".to_owned(),
            "x.mx.example.net".to_owned(),
            "backup.example.org".to_owned(),
        ];
        assert_eq!(p.uncovered(&hosts), vec!["backup.example.org"]);
        assert!(p.uncovered(&[]).is_empty());
    }

    #[test]
    fn tlsrpt() {
        let r =
            parse_tlsrpt("v=TLSRPTv1; rua=mailto:tls@example.com, https://reports.example.net/tls")
                .unwrap();
        assert_eq!(
            r.rua,
            vec!["mailto:tls@example.com", "https://reports.example.net/tls"]
        );
        assert_eq!(
            parse_tlsrpt("v=TLSRPTv1;rua=MAILTO:a@b.c;x=1")
                .unwrap()
                .rua
                .len(),
            1
        );
        let e = parse_tlsrpt("v=TLSRPTv1").unwrap_err();
        assert_eq!(e.tag, "rua");
        for bad in [
            "rua=",
            "rua=ftp://x",
            "rua=http://insecure.example",
            "rua=mailto:example.com",
            "rua=https://",
            "rua=mailto:a@b.c,",
        ] {
            let e = parse_tlsrpt(&format!("v=TLSRPTv1; {bad}")).unwrap_err();
            assert_eq!((e.tag.as_str(), e.position), ("rua", 16), "{bad}");
        }
        assert_eq!(
            parse_tlsrpt("v=TLSRPTv2; rua=mailto:a@b.c")
                .unwrap_err()
                .tag,
            "v"
        );
        assert_eq!(
            parse_tlsrpt("rua=mailto:a@b.c; v=TLSRPTv1")
                .unwrap_err()
                .tag,
            "rua"
        );
    }

    #[test]
    fn bimi() {
        let b =
            parse_bimi("v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem")
                .unwrap();
        assert_eq!(b.location.as_deref(), Some("https://example.com/logo.svg"));
        assert_eq!(b.authority.as_deref(), Some("https://example.com/vmc.pem"));
        assert_eq!(
            parse_bimi("v=BIMI1; l=; a=;").unwrap(),
            Bimi {
                location: None,
                authority: None
            }
        );
        assert_eq!(
            parse_bimi("v=BIMI1; l=HTTPS://x.example/l.svg; avp=brand")
                .unwrap()
                .authority,
            None
        );
        let e = parse_bimi("v=BIMI1; l=http://example.com/logo.svg").unwrap_err();
        assert_eq!((e.tag.as_str(), e.position), ("l", 11));
        assert_eq!(parse_bimi("v=BIMI1; a=https://").unwrap_err().tag, "a");
        assert_eq!(parse_bimi("v=BIMI2; l=").unwrap_err().tag, "v");
        assert!(parse_bimi("").unwrap_err().message.contains("empty record"));
        assert!(parse_bimi("v=BIMI1; l=x; l=y").is_err());
    }

    #[test]
    fn serializes() {
        let p = parse_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n").unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap()["mode"], "enforce");
        let e = serde_json::to_value(policy_err("junk")).unwrap();
        assert_eq!(e["line"], 1);
    }

    #[test]
    fn hostile_inputs_end_quickly() {
        // Hostile input must never make parsing hang or go quadratic: past the limit the test fails.
        let limit = std::time::Duration::from_secs(20);
        launchready_testkit::watchdog::finish_within(
            limit,
            "the hostile MTA-STS, TLS-RPT and BIMI records",
            || {
                let huge = "a".repeat(10 * 1024 * 1024);
                assert!(parse_policy(&huge).is_err());
                assert!(parse_sts_txt(&huge).is_err());
                assert!(parse_tlsrpt(&format!("v=TLSRPTv1; rua={huge}")).is_err());
                assert!(parse_bimi(&format!("v=BIMI1; l=https://{huge}")).is_ok());
                let many_lines = "mx: a.example\n".repeat(4000);
                let p = parse_policy(&format!(
                    "version: STSv1\nmode: enforce\nmax_age: 1\n{many_lines}"
                ))
                .unwrap();
                let hosts: Vec<String> = (0..1000).map(|i| format!("h{i}.example")).collect();
                assert_eq!(p.uncovered(&hosts).len(), 1000);
                let many_tags: String = (0..1000).map(|i| format!("x{i}=y;")).collect();
                assert!(parse_sts_txt(&format!("v=STSv1;{many_tags}id=1")).is_ok());
                let mut noise = crate::records::Noise(0xdead_beef_cafe_f00d);
                let alphabet = b"version:STSv1\nmode:enforce\r\nmx*.ample_age0123 \t;=\xc3\xa9";
                for _ in 0..2000 {
                    let text = noise.text(alphabet, 80);
                    let _ = parse_policy(&text);
                    let _ = parse_sts_txt(&text);
                    let _ = parse_tlsrpt(&text);
                    let _ = parse_bimi(&text);
                }
            },
        );
    }
}
