//! The snapshot as a BIND master file (RFC 1035 §5) and back. The writer puts the SOA first, writes every name
//! relative to `$ORIGIN`, quotes every character-string, and marks Cloudflare-proxied records the way
//! Cloudflare's own export does (`; cf_tags=cf-proxied:true`), so the file loads in `named-checkzone` and in the
//! providers' zone-file import. The reader takes that output and ordinary hand-written zone files.

use crate::{Coverage, Rec, SNAPSHOT_SCHEMA_VERSION, Snapshot, Source, normalize_name, relative};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The header line that says the file lists the whole zone (a transfer or a provider export), read back by
/// [`parse`].
const COMPLETE_MARK: &str = "; coverage: complete";

/// The master file for `snapshot`.
pub fn write(snapshot: &Snapshot) -> String {
    let origin = &snapshot.domain;
    let mut out = String::new();
    let _ = writeln!(out, "; DNS snapshot of {origin}, written by launchready");
    let _ = writeln!(out, "; taken: {}", snapshot.taken_at);
    let _ = writeln!(out, "; from: {}", snapshot.taken_from);
    let _ = writeln!(out, "; sources:");
    for source in &snapshot.sources {
        let _ = writeln!(
            out,
            ";   {} {}: {}{}",
            source.kind,
            source.detail,
            if source.ok { "" } else { "failed: " },
            one_line(&source.outcome)
        );
    }
    if snapshot.coverage.complete {
        let _ = writeln!(out, "{COMPLETE_MARK}");
    } else {
        let _ = writeln!(
            out,
            "; coverage: {} names asked about one by one (no zone transfer): names nobody listed are not here",
            snapshot.coverage.names.len()
        );
    }
    if !snapshot.unseen.is_empty() {
        let _ = writeln!(out, "; could not see:");
        for item in &snapshot.unseen {
            let _ = writeln!(out, ";   - {}", one_line(item));
        }
    }
    if let Some(provider) = &snapshot.provider {
        let _ = writeln!(
            out,
            "; {} zone {}: SSL mode {}, {} page rule(s) (details in the JSON sidecar)",
            provider.provider,
            provider.zone_id,
            provider.ssl_mode.as_deref().unwrap_or("unknown"),
            provider.page_rules.len()
        );
    }
    let _ = writeln!(out, "$ORIGIN {origin}.");
    let soa = snapshot.records.iter().find(|r| r.rtype == "SOA");
    let default_ttl = soa.map_or(300, |r| r.ttl);
    let _ = writeln!(out, "$TTL {default_ttl}");
    match soa {
        Some(soa) => {
            let _ = writeln!(out, "@ {} IN SOA {}", soa.ttl, soa.data);
        }
        // A zone file without an SOA does not load anywhere; a marked placeholder keeps the rest usable.
        None => {
            let _ = writeln!(
                out,
                "; the SOA was not seen: a placeholder follows so the file loads\n@ 300 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 300"
            );
        }
    }
    for rec in snapshot.records.iter().filter(|r| r.rtype != "SOA") {
        let _ = write!(
            out,
            "{} {} IN {} {}",
            relative(&rec.name, origin),
            rec.ttl,
            rec.rtype,
            rec.data
        );
        if rec.proxied == Some(true) {
            out.push_str(" ; cf_tags=cf-proxied:true");
        }
        out.push('\n');
    }
    out
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// A master-file syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// A quoted string, escapes decoded to bytes.
    Quoted(Vec<u8>),
}

/// One logical line (parentheses joined), its first physical line number, whether it began with blank space
/// (the previous owner), its trailing comment.
struct Logical {
    line: usize,
    indented: bool,
    tokens: Vec<Token>,
    comment: String,
}

fn lex(text: &str) -> Result<Vec<Logical>, ParseError> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut depth = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let logical = current.get_or_insert_with(|| Logical {
            line: number,
            indented: raw.starts_with([' ', '\t']),
            tokens: Vec::new(),
            comment: String::new(),
        });
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b' ' | b'\t' => i += 1,
                b';' => {
                    logical.comment.push_str(&raw[i + 1..]);
                    break;
                }
                b'(' => {
                    depth += 1;
                    i += 1;
                }
                b')' => {
                    depth = depth.checked_sub(1).ok_or_else(|| ParseError {
                        line: number,
                        message: "`)` without `(`".to_string(),
                    })?;
                    i += 1;
                }
                b'"' => {
                    let mut value = Vec::new();
                    i += 1;
                    loop {
                        let Some(&b) = bytes.get(i) else {
                            return Err(ParseError {
                                line: number,
                                message: "unterminated quoted string".to_string(),
                            });
                        };
                        match b {
                            b'"' => {
                                i += 1;
                                break;
                            }
                            b'\\' => {
                                let (byte, used) =
                                    escape(&bytes[i + 1..]).ok_or_else(|| ParseError {
                                        line: number,
                                        message: "bad escape in quoted string".to_string(),
                                    })?;
                                value.push(byte);
                                i += 1 + used;
                            }
                            _ => {
                                value.push(b);
                                i += 1;
                            }
                        }
                    }
                    logical.tokens.push(Token::Quoted(value));
                }
                _ => {
                    let start = i;
                    while i < bytes.len()
                        && !matches!(bytes[i], b' ' | b'\t' | b';' | b'(' | b')' | b'"')
                    {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    let end = i.min(bytes.len());
                    logical
                        .tokens
                        .push(Token::Word(raw[start..end].to_string()));
                }
            }
        }
        if depth == 0
            && let Some(done) = current.take()
            && (!done.tokens.is_empty() || !done.comment.is_empty())
        {
            out.push(done);
        }
    }
    if depth > 0 {
        return Err(ParseError {
            line: text.lines().count(),
            message: "`(` never closed".to_string(),
        });
    }
    Ok(out)
}

/// `\DDD` or `\X` after the backslash: the byte and how many input bytes it used.
fn escape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        let text = std::str::from_utf8(digits).ok()?;
        let value: u16 = text.parse().ok()?;
        return u8::try_from(value).ok().map(|b| (b, 3));
    }
    Some((first, 1))
}

/// A master-file quoted string: `"` and `\` escaped, anything outside printable ASCII as `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// TXT data as written (`"a" "b"`) → its strings, joined as the record's text.
pub fn txt_strings(data: &str) -> Vec<String> {
    let Ok(lines) = lex(data) else {
        return vec![data.to_string()];
    };
    let bytes: Vec<u8> = lines
        .iter()
        .flat_map(|l| l.tokens.iter())
        .flat_map(|t| match t {
            Token::Quoted(b) => b.clone(),
            Token::Word(w) => w.as_bytes().to_vec(),
        })
        .collect();
    vec![String::from_utf8_lossy(&bytes).into_owned()]
}

/// TXT presentation for character-strings given as bytes.
pub fn txt_data<'a>(strings: impl IntoIterator<Item = &'a [u8]>) -> String {
    let parts: Vec<String> = strings.into_iter().map(quote).collect();
    if parts.is_empty() {
        quote(b"")
    } else {
        parts.join(" ")
    }
}

/// Reads a master file into a snapshot: `$ORIGIN` (or the SOA owner) is the domain; the header lines this
/// writer adds come back as metadata.
pub fn parse(text: &str) -> Result<Snapshot, ParseError> {
    let mut origin: Option<String> = None;
    let mut default_ttl: Option<u32> = None;
    let mut last_owner: Option<String> = None;
    let mut last_ttl: Option<u32> = None;
    let mut records = Vec::new();
    let mut taken_at = String::new();
    let mut taken_from = String::new();
    let mut complete = false;
    for logical in lex(text)? {
        let line = logical.line;
        let err = |message: String| ParseError { line, message };
        if logical.tokens.is_empty() {
            let comment = logical.comment.trim();
            if let Some(when) = comment.strip_prefix("taken:") {
                taken_at = when.trim().to_string();
            } else if let Some(from) = comment.strip_prefix("from:") {
                taken_from = from.trim().to_string();
            } else if format!("; {comment}") == COMPLETE_MARK {
                complete = true;
            }
            continue;
        }
        let words: Vec<&Token> = logical.tokens.iter().collect();
        if let Some(Token::Word(first)) = words.first()
            && first.starts_with('$')
        {
            let arg = match words.get(1) {
                Some(Token::Word(w)) => w.clone(),
                _ => return Err(err(format!("{first} needs an argument"))),
            };
            match first.to_ascii_uppercase().as_str() {
                "$ORIGIN" => origin = Some(absolute(&arg, origin.as_deref())),
                "$TTL" => {
                    default_ttl =
                        Some(parse_ttl(&arg).ok_or_else(|| err(format!("bad $TTL `{arg}`")))?)
                }
                "$INCLUDE" => {
                    return Err(err("$INCLUDE is not supported: inline the file".to_string()));
                }
                other => return Err(err(format!("unknown directive {other}"))),
            }
            continue;
        }
        let mut rest = words.as_slice();
        let owner = if logical.indented {
            last_owner
                .clone()
                .ok_or_else(|| err("a record without an owner name".to_string()))?
        } else {
            let Some((Token::Word(name), tail)) = rest.split_first() else {
                return Err(err("expected an owner name".to_string()));
            };
            rest = tail;
            absolute(name, origin.as_deref())
        };
        let mut ttl = None;
        let mut rtype = None;
        while let Some((Token::Word(word), tail)) = rest.split_first() {
            rest = tail;
            if ttl.is_none()
                && let Some(value) = parse_ttl(word)
                && word.starts_with(|c: char| c.is_ascii_digit())
            {
                ttl = Some(value);
            } else if word.eq_ignore_ascii_case("IN") {
                continue;
            } else {
                rtype = Some(word.to_ascii_uppercase());
                break;
            }
        }
        let rtype = rtype.ok_or_else(|| err("expected a record type".to_string()))?;
        let ttl = ttl
            .or(default_ttl)
            .or(last_ttl)
            .ok_or_else(|| err("no TTL and no $TTL before it".to_string()))?;
        let owner_name = normalize_name(&owner);
        if origin.is_none() && rtype == "SOA" {
            origin = Some(owner.clone());
        }
        let data = canonical_rdata(&rtype, rest, origin.as_deref()).map_err(err)?;
        let mut rec = Rec::new(&owner_name, ttl, &rtype, data);
        if logical.comment.contains("cf-proxied:true") {
            rec.proxied = Some(true);
        }
        records.push(rec);
        last_owner = Some(owner);
        last_ttl = Some(ttl);
    }
    let domain = origin.map(|o| normalize_name(&o)).ok_or(ParseError {
        line: 1,
        message: "no $ORIGIN and no SOA: cannot tell which zone this is".to_string(),
    })?;
    let mut names: Vec<String> = records.iter().map(|r: &Rec| r.name.clone()).collect();
    names.sort();
    names.dedup();
    let mut snapshot = Snapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        domain,
        taken_at,
        taken_from,
        sources: vec![Source {
            kind: "file".to_string(),
            detail: "zone file".to_string(),
            ok: true,
            outcome: format!("{} records", records.len()),
        }],
        unseen: Vec::new(),
        coverage: Coverage {
            complete,
            names: if complete { Vec::new() } else { names },
        },
        records,
        provider: None,
    };
    snapshot.normalize();
    Ok(snapshot)
}

/// `3600`, `1h`, `1d2h`, `1w` as seconds.
fn parse_ttl(word: &str) -> Option<u32> {
    if let Ok(n) = word.parse::<u32>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut number: u64 = 0;
    let mut digits = false;
    for c in word.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(u64::from(d))?;
            digits = true;
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        if !digits {
            return None;
        }
        total = total.checked_add(number.checked_mul(unit)?)?;
        number = 0;
        digits = false;
    }
    if digits {
        return None;
    }
    u32::try_from(total).ok()
}

/// A name made absolute against the origin, with its trailing dot.
fn absolute(name: &str, origin: Option<&str>) -> String {
    let origin = origin.map(|o| o.trim_end_matches('.')).unwrap_or_default();
    if name == "@" {
        return format!("{origin}.");
    }
    if name.ends_with('.') {
        return name.to_ascii_lowercase();
    }
    if origin.is_empty() {
        format!("{}.", name.to_ascii_lowercase())
    } else {
        format!("{}.{origin}.", name.to_ascii_lowercase())
    }
}

fn word(token: Option<&&Token>, what: &str) -> Result<String, String> {
    match token {
        Some(Token::Word(w)) => Ok(w.clone()),
        Some(Token::Quoted(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
        None => Err(format!("missing {what}")),
    }
}

fn number<T: std::str::FromStr>(token: Option<&&Token>, what: &str) -> Result<T, String> {
    let text = word(token, what)?;
    text.parse().map_err(|_| format!("bad {what} `{text}`"))
}

/// The presentation form the writer uses, whatever spacing, case and relative names the input had.
fn canonical_rdata(rtype: &str, tokens: &[&Token], origin: Option<&str>) -> Result<String, String> {
    let at = |i: usize| tokens.get(i);
    let name = |i: usize, what: &str| word(at(i), what).map(|w| absolute(&w, origin));
    Ok(match rtype {
        "A" => number::<Ipv4Addr>(at(0), "IPv4 address")?.to_string(),
        "AAAA" => number::<Ipv6Addr>(at(0), "IPv6 address")?.to_string(),
        "CNAME" | "NS" | "PTR" | "DNAME" => name(0, "target name")?,
        "MX" => format!(
            "{} {}",
            number::<u16>(at(0), "MX preference")?,
            name(1, "mail exchanger")?
        ),
        "SRV" => format!(
            "{} {} {} {}",
            number::<u16>(at(0), "SRV priority")?,
            number::<u16>(at(1), "SRV weight")?,
            number::<u16>(at(2), "SRV port")?,
            name(3, "SRV target")?
        ),
        "SOA" => {
            let mut fields = vec![name(0, "SOA mname")?, name(1, "SOA rname")?];
            for (i, what) in ["serial", "refresh", "retry", "expire", "minimum"]
                .iter()
                .enumerate()
            {
                let w = word(at(2 + i), what)?;
                fields.push(
                    parse_ttl(&w)
                        .ok_or_else(|| format!("bad SOA {what} `{w}`"))?
                        .to_string(),
                );
            }
            fields.join(" ")
        }
        "TXT" | "SPF" => {
            let strings: Vec<Vec<u8>> = tokens
                .iter()
                .map(|t| match t {
                    Token::Quoted(b) => b.clone(),
                    Token::Word(w) => w.as_bytes().to_vec(),
                })
                .collect();
            txt_data(strings.iter().map(Vec::as_slice))
        }
        "CAA" => {
            let flags: u8 = number(at(0), "CAA flags")?;
            let tag = word(at(1), "CAA tag")?.to_ascii_lowercase();
            let value = match at(2) {
                Some(Token::Quoted(b)) => b.clone(),
                Some(Token::Word(w)) => w.as_bytes().to_vec(),
                None => return Err("missing CAA value".to_string()),
            };
            format!("{flags} {tag} {}", quote(&value))
        }
        _ => tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => w.clone(),
                Token::Quoted(b) => quote(b),
            })
            .collect::<Vec<_>>()
            .join(" "),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hand_written_zone_files_read_in_canonical_form() {
        let text = "$ORIGIN Example.COM.\n$TTL 1h\n@ IN SOA ns1 hostmaster (\n  2024010101 ; serial\n  3600 600 1w 300 )\n\
                    \tIN NS ns1\nns1 60 A 192.0.2.53\nwww 300 CNAME cdn.example.net.\n@ MX 10 mx\n\
                    @ TXT \"v=spf1 include:mailgun.org\" \" -all\"\n@ CAA 0 issue letsencrypt.org\n\
                    app 1 IN A 192.0.2.1 ; cf_tags=cf-proxied:true\n";
        let snap = parse(text).unwrap();
        assert_eq!(snap.domain, "example.com");
        let data = |name: &str, t: &str| snap.rrset(name, t).next().unwrap().data.clone();
        assert_eq!(
            data("example.com", "SOA"),
            "ns1.example.com. hostmaster.example.com. 2024010101 3600 600 604800 300"
        );
        assert_eq!(data("example.com", "NS"), "ns1.example.com.");
        assert_eq!(data("example.com", "MX"), "10 mx.example.com.");
        assert_eq!(data("www.example.com", "CNAME"), "cdn.example.net.");
        assert_eq!(data("example.com", "CAA"), "0 issue \"letsencrypt.org\"");
        let spf = snap.rrset("example.com", "TXT").next().unwrap();
        assert_eq!(spf.txt_value(), "v=spf1 include:mailgun.org -all");
        assert_eq!(spf.ttl, 3600);
        assert_eq!(
            snap.rrset("app.example.com", "A").next().unwrap().proxied,
            Some(true)
        );
        assert!(!snap.coverage.complete);
    }

    #[test]
    fn written_snapshots_read_back_identically() {
        let text = "$ORIGIN t.test.\n@ 300 IN SOA ns1.t.test. h.t.test. 1 2 3 4 5\n@ 300 IN NS ns1.t.test.\n\
                    ns1 300 IN A 127.0.0.1\nq 60 IN TXT \"say \\\"hi\\\" \\\\ \\195\\169\" \"b\"\n";
        let mut snap = parse(text).unwrap();
        snap.coverage = Coverage {
            complete: true,
            names: Vec::new(),
        };
        let again = parse(&write(&snap)).unwrap();
        assert_eq!(again.records, snap.records);
        assert!(again.coverage.complete);
        assert_eq!(
            snap.rrset("q.t.test", "TXT").next().unwrap().txt_value(),
            "say \"hi\" \\ éb"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("$ORIGIN a.test.\n$TTL 60\n@ IN A not-an-ip\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("not-an-ip"), "{}", err.message);
        assert_eq!(
            parse("@ IN A 192.0.2.1\n").unwrap_err().message,
            "no TTL and no $TTL before it"
        );
        assert!(parse("$ORIGIN a.test.\n@ 60 IN TXT \"open\n").is_err());
    }
}
