//! SPF record syntax (RFC 7208 sections 4.5, 4.6 and 12): record selection among a name's TXT records and a
//! parser that checks every term up front, so a syntax error anywhere is a permerror even when an earlier
//! term would already have matched.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use serde::Serialize;

use super::macros::{MacroString, Scope};

/// The result a matching directive gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }

    fn from_symbol(c: char) -> Option<Qualifier> {
        match c {
            '+' => Some(Qualifier::Pass),
            '-' => Some(Qualifier::Fail),
            '~' => Some(Qualifier::SoftFail),
            '?' => Some(Qualifier::Neutral),
            _ => None,
        }
    }
}

/// A mechanism with its validated arguments. CIDR lengths are `None` when not written (a full match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Mechanism {
    All,
    Include {
        domain: MacroString,
    },
    A {
        domain: Option<MacroString>,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
    },
    Mx {
        domain: Option<MacroString>,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
    },
    Ptr {
        domain: Option<MacroString>,
    },
    Ip4 {
        network: Ipv4Addr,
        prefix: u8,
    },
    Ip6 {
        network: Ipv6Addr,
        prefix: u8,
    },
    Exists {
        domain: MacroString,
    },
}

impl Mechanism {
    /// Whether evaluating this mechanism queries DNS and so counts against the limit of 10 (section 4.6.4).
    pub fn queries_dns(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. }
        )
    }

    /// The domain-spec argument, if the mechanism takes one and it was given.
    pub fn domain_spec(&self) -> Option<&MacroString> {
        match self {
            Mechanism::Include { domain } | Mechanism::Exists { domain } => Some(domain),
            Mechanism::A { domain, .. }
            | Mechanism::Mx { domain, .. }
            | Mechanism::Ptr { domain } => domain.as_ref(),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::All => "all",
            Mechanism::Include { .. } => "include",
            Mechanism::A { .. } => "a",
            Mechanism::Mx { .. } => "mx",
            Mechanism::Ptr { .. } => "ptr",
            Mechanism::Ip4 { .. } => "ip4",
            Mechanism::Ip6 { .. } => "ip6",
            Mechanism::Exists { .. } => "exists",
        }
    }
}

/// One term of a record with its byte span in the record text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "term", rename_all = "lowercase")]
pub enum Term {
    Directive {
        qualifier: Qualifier,
        mechanism: Mechanism,
        span: Range<usize>,
    },
    Modifier {
        /// Lower case.
        name: String,
        value: String,
        span: Range<usize>,
    },
}

impl Term {
    pub fn span(&self) -> Range<usize> {
        match self {
            Term::Directive { span, .. } | Term::Modifier { span, .. } => span.clone(),
        }
    }
}

/// A parsed `v=spf1` record. `text` is the record as published; spans index into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub text: String,
    pub terms: Vec<Term>,
}

impl Record {
    /// The term's text as written.
    pub fn term_text(&self, term: &Term) -> &str {
        self.text.get(term.span()).unwrap_or_default()
    }

    pub fn directives(&self) -> impl Iterator<Item = (Qualifier, &Mechanism, &Term)> {
        self.terms.iter().filter_map(|t| match t {
            Term::Directive {
                qualifier,
                mechanism,
                ..
            } => Some((*qualifier, mechanism, t)),
            Term::Modifier { .. } => None,
        })
    }

    fn modifier(&self, wanted: &str) -> Option<&str> {
        self.terms.iter().find_map(|t| match t {
            Term::Modifier { name, value, .. } if name == wanted => Some(value.as_str()),
            _ => None,
        })
    }

    /// The `redirect=` target as written.
    pub fn redirect(&self) -> Option<&str> {
        self.modifier("redirect")
    }

    /// The `exp=` target as written.
    pub fn exp(&self) -> Option<&str> {
        self.modifier("exp")
    }
}

/// Why a record is not valid SPF: where, which term, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct SyntaxError {
    /// Byte offset into the record.
    pub position: usize,
    /// The offending term.
    pub term: String,
    pub message: String,
}

pub use crate::records::Selection;

/// Whether a TXT record is an SPF record: exactly `v=spf1`, or `v=spf1` followed by a space.
pub fn is_spf(txt: &str) -> bool {
    let bytes = txt.as_bytes();
    bytes.len() >= 6
        && bytes[..6].eq_ignore_ascii_case(b"v=spf1")
        && (bytes.len() == 6 || bytes[6] == b' ')
}

/// Picks the SPF record among a name's TXT records (each already joined from its strings); section 4.5.
pub fn select(txts: &[String]) -> Selection {
    crate::records::select_where(txts, is_spf)
}

/// Parses a whole record, version included.
pub fn parse(record: &str) -> Result<Record, SyntaxError> {
    if let Some((position, _)) = record
        .char_indices()
        .find(|(_, c)| !c.is_ascii() || *c == char::REPLACEMENT_CHARACTER)
    {
        let term = term_at(record, position);
        return Err(SyntaxError {
            position,
            term,
            message: "non-ASCII character".to_owned(),
        });
    }
    if !is_spf(record) {
        return Err(SyntaxError {
            position: 0,
            term: term_at(record, 0),
            message: "record does not start with \"v=spf1\"".to_owned(),
        });
    }
    let mut terms = Vec::new();
    let mut seen_redirect = false;
    let mut seen_exp = false;
    let mut start = 6;
    for piece in record[6..].split(' ') {
        let span = start..start + piece.len();
        start = span.end + 1;
        if piece.is_empty() {
            continue;
        }
        let term = parse_term(piece, span.clone()).map_err(|message| SyntaxError {
            position: span.start,
            term: piece.to_owned(),
            message,
        })?;
        if let Term::Modifier { name, .. } = &term {
            let seen = match name.as_str() {
                "redirect" => Some(&mut seen_redirect),
                "exp" => Some(&mut seen_exp),
                _ => None,
            };
            if let Some(seen) = seen {
                if *seen {
                    return Err(SyntaxError {
                        position: span.start,
                        term: piece.to_owned(),
                        message: format!("second {name}= modifier"),
                    });
                }
                *seen = true;
            }
        }
        terms.push(term);
    }
    Ok(Record {
        text: record.to_owned(),
        terms,
    })
}

fn term_at(record: &str, position: usize) -> String {
    let start = record[..position].rfind(' ').map_or(0, |i| i + 1);
    let end = record[position..]
        .find(' ')
        .map_or(record.len(), |i| position + i);
    record[start..end].to_owned()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn parse_term(piece: &str, span: Range<usize>) -> Result<Term, String> {
    let first = piece.chars().next().unwrap_or(' ');
    let qualifier = Qualifier::from_symbol(first);
    let body = if qualifier.is_some() {
        &piece[1..]
    } else {
        piece
    };
    let name_len = body.find(|c| !is_name_char(c)).unwrap_or(body.len());
    let (name, rest) = body.split_at(name_len);
    if qualifier.is_none() && rest.starts_with('=') {
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(format!("invalid modifier name \"{name}\""));
        }
        let name = name.to_ascii_lowercase();
        let value = &rest[1..];
        match name.as_str() {
            "redirect" | "exp" => {
                domain_spec(value, Scope::Domain)
                    .map_err(|e| format!("{name}= needs a domain: {e}"))?;
            }
            _ => {
                MacroString::parse(value, Scope::Domain)?;
            }
        }
        return Ok(Term::Modifier {
            name,
            value: value.to_owned(),
            span,
        });
    }
    let mechanism = parse_mechanism(&name.to_ascii_lowercase(), name, rest)?;
    Ok(Term::Directive {
        qualifier: qualifier.unwrap_or(Qualifier::Pass),
        mechanism,
        span,
    })
}

fn parse_mechanism(lower: &str, name: &str, rest: &str) -> Result<Mechanism, String> {
    let no_args = |m: Mechanism| {
        if rest.is_empty() {
            Ok(m)
        } else {
            Err(format!("\"{name}\" takes no arguments"))
        }
    };
    let required = |what: &str| -> Result<MacroString, String> {
        let Some(spec) = rest.strip_prefix(':') else {
            return Err(format!("\"{what}\" needs \":\" and a domain"));
        };
        domain_spec(spec, Scope::Domain)
    };
    match lower {
        "all" => no_args(Mechanism::All),
        "include" => Ok(Mechanism::Include {
            domain: required("include")?,
        }),
        "exists" => Ok(Mechanism::Exists {
            domain: required("exists")?,
        }),
        "ptr" => match rest.strip_prefix(':') {
            Some(spec) => Ok(Mechanism::Ptr {
                domain: Some(domain_spec(spec, Scope::Domain)?),
            }),
            None if rest.is_empty() => Ok(Mechanism::Ptr { domain: None }),
            None => Err("\"ptr\" takes only \":\" and a domain".to_owned()),
        },
        "a" | "mx" => {
            let (domain, cidr4, cidr6) = if let Some(arg) = rest.strip_prefix(':') {
                let (spec, cidr4, cidr6) = split_dual_cidr(arg)?;
                (Some(domain_spec(spec, Scope::Domain)?), cidr4, cidr6)
            } else if rest.is_empty() || rest.starts_with('/') {
                let (spec, cidr4, cidr6) = split_dual_cidr(rest)?;
                if !spec.is_empty() {
                    return Err(format!("invalid CIDR length \"{rest}\""));
                }
                (None, cidr4, cidr6)
            } else {
                return Err(format!("unknown mechanism \"{name}{rest}\""));
            };
            Ok(if lower == "a" {
                Mechanism::A {
                    domain,
                    cidr4,
                    cidr6,
                }
            } else {
                Mechanism::Mx {
                    domain,
                    cidr4,
                    cidr6,
                }
            })
        }
        "ip4" => {
            let (network, prefix) = network::<Ipv4Addr>(rest, "ip4", "IPv4", 32)?;
            Ok(Mechanism::Ip4 { network, prefix })
        }
        "ip6" => {
            let (network, prefix) = network::<Ipv6Addr>(rest, "ip6", "IPv6", 128)?;
            Ok(Mechanism::Ip6 { network, prefix })
        }
        _ => Err(format!("unknown mechanism \"{name}\"")),
    }
}

/// Splits `spec[/n][//m]` from the right; what is left may contain `/` itself (a domain-spec may).
fn split_dual_cidr(arg: &str) -> Result<(&str, Option<u8>, Option<u8>), String> {
    let mut rest = arg;
    let cidr6 = take_cidr(&mut rest, "//", 128)?;
    let cidr4 = take_cidr(&mut rest, "/", 32)?;
    Ok((rest, cidr4, cidr6))
}

/// Takes a trailing `<sep><digits>` off `rest` when there is one.
fn take_cidr(rest: &mut &str, sep: &str, max: u8) -> Result<Option<u8>, String> {
    let Some(i) = rest.rfind(sep) else {
        return Ok(None);
    };
    let digits = &rest[i + sep.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let length = cidr(digits, max)?;
    *rest = &rest[..i];
    Ok(Some(length))
}

/// The `:address/len` argument of `ip4`/`ip6`; without a length the network is the one address.
fn network<A: std::str::FromStr>(
    rest: &str,
    name: &str,
    family: &str,
    max: u8,
) -> Result<(A, u8), String> {
    let arg = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("\"{name}\" needs \":\" and a network"))?;
    let (addr, prefix) = match arg.split_once('/') {
        Some((addr, len)) => (addr, cidr(len, max)?),
        None => (arg, max),
    };
    let network = addr
        .parse::<A>()
        .map_err(|_| format!("invalid {family} address \"{addr}\""))?;
    Ok((network, prefix))
}

/// A CIDR length: digits without leading zeros, at most `max`.
fn cidr(digits: &str, max: u8) -> Result<u8, String> {
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    match digits.parse::<u8>() {
        Ok(n) if valid && n <= max => Ok(n),
        _ => Err(format!("invalid CIDR length \"/{digits}\" (0 to {max})")),
    }
}

/// A domain-spec: a macro-string ending in a macro or in `.toplabel` (section 7.1).
pub(crate) fn domain_spec(spec: &str, scope: Scope) -> Result<MacroString, String> {
    if spec.is_empty() {
        return Err("empty domain".to_owned());
    }
    let parsed = MacroString::parse(spec, scope)?;
    if !parsed.ends_with_macro() {
        let literal = parsed.trailing_literal();
        let trimmed = literal.strip_suffix('.').unwrap_or(literal);
        let valid = trimmed
            .rsplit_once('.')
            .is_some_and(|(_, top)| is_toplabel(top));
        if !valid {
            return Err(format!(
                "\"{spec}\" does not end in a valid top-level label"
            ));
        }
    }
    Ok(parsed)
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
pub(crate) fn is_toplabel(label: &str) -> bool {
    let bytes = label.as_bytes();
    if bytes.is_empty()
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return false;
    }
    if bytes.contains(&b'-') {
        bytes[0].is_ascii_alphanumeric() && bytes[bytes.len() - 1].is_ascii_alphanumeric()
    } else {
        bytes.iter().any(u8::is_ascii_alphabetic)
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.symbol())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn err(record: &str) -> SyntaxError {
        parse(record).unwrap_err()
    }

    #[test]
    fn parses_every_mechanism_with_spans() {
        let text = "v=spf1 +a mx:mail.example.com/24//64 -ptr ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 include:_spf.example.net exists:%{i}.bl.example.org all redirect=x.example.com exp=e.example.com foo=bar";
        let record = parse(text).unwrap();
        assert_eq!(record.terms.len(), 11);
        assert_eq!(record.term_text(&record.terms[0]), "+a");
        assert!(matches!(
            &record.terms[1],
            Term::Directive { qualifier: Qualifier::Pass, mechanism: Mechanism::Mx { domain: Some(_), cidr4: Some(24), cidr6: Some(64) }, span } if *span == (10..36)
        ));
        assert!(matches!(
            record.terms[3],
            Term::Directive {
                qualifier: Qualifier::SoftFail,
                mechanism: Mechanism::Ip4 { prefix: 24, .. },
                ..
            }
        ));
        assert_eq!(record.redirect(), Some("x.example.com"));
        assert_eq!(record.exp(), Some("e.example.com"));
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = err("v=spf1 a -all foo");
        assert_eq!(e.position, 14);
        assert_eq!(e.term, "foo");
        assert_eq!(e.to_string(), "unknown mechanism \"foo\" at position 14");
        assert_eq!(
            err("v=spf1 redirect=a.example redirect=b.example").position,
            26
        );
        assert_eq!(err("v=spf1 a:example.com \u{96}all").position, 21);
        for bad in [
            "v=spf1 -all.",
            "v=spf1 -all:foo",
            "v=spf1 ip4:1.2.3.4/33",
            "v=spf1 ip4:1.2.3.4/032",
            "v=spf1 ip4:1.2.3",
            "v=spf1 ip4:1.2.3.4//32",
            "v=spf1 ip6:::1/129",
            "v=spf1 a/24/64",
            "v=spf1 a:museum",
            "v=spf1 a:abc.123",
            "v=spf1 a:example.-com",
            "v=spf1 a:",
            "v=spf1 ptr/0",
            "v=spf1 include:x.example.com/24",
            "v=spf1 exists",
            "v=spf1 1up=foo",
            "v=spf1 =all",
            "v=spf1 foo=%abc",
            "v=spf1 exp=",
            "v=spf1 redirect:x.example.com",
            "v=spf1 a:%{r}.example.com",
            "v=spf1 a:ctrl.example.com\rptr",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accepts_odd_but_valid_records() {
        for good in [
            "v=spf1",
            "v=spf1 a  -all ",
            "V=SpF1 ~all",
            "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 a:foo:bar/baz.example.com",
            "v=spf1 a:foo.example.xn--zckzah",
            "v=spf1 a//0 mx/0",
            "v=spf1 default=+",
            "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn selects_the_one_spf_record() {
        let s = |v: &[&str]| select(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["v=spf10", "hello"]), Selection::None);
        assert_eq!(s(&["v=spf1mx"]), Selection::None);
        assert_eq!(
            s(&["V=spf1 -all", "x"]),
            Selection::One("V=spf1 -all".into())
        );
        assert!(matches!(s(&["v=spf1", "v=spf1 -all"]), Selection::Multiple(v) if v.len() == 2));
    }
}
