//! SPF macro strings (RFC 7208 section 7): parsing with the letters each context allows, and expansion,
//! including the `p` macro's PTR validation (which may need DNS, hence `Pending`) and the 253-character
//! truncation of expanded domain names.

use std::net::IpAddr;

use serde::Serialize;

use crate::dns::{Lookup, Pending};

/// Where a macro string appears: `c`, `r` and `t` are only allowed in explanation text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Domain,
    Explanation,
}

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MacroItem {
    Literal {
        text: String,
    },
    /// `%%`, `%_` or `%-`, already turned into what they stand for.
    Escape {
        text: &'static str,
    },
    /// `%{letter digits r delimiters}`; `letter` is lower case, `upper` says it was written upper case
    /// (URL-escape the result).
    Expand {
        letter: char,
        upper: bool,
        digits: Option<usize>,
        reverse: bool,
        delimiters: String,
    },
}

/// A parsed macro string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MacroString {
    pub source: String,
    pub items: Vec<MacroItem>,
}

/// What macros expand to for one evaluation. `domain` is the domain whose record is being evaluated.
#[derive(Debug, Clone)]
pub struct MacroContext<'a> {
    pub sender: &'a str,
    pub local_part: &'a str,
    pub sender_domain: &'a str,
    pub domain: &'a str,
    pub ip: IpAddr,
    pub helo: &'a str,
    pub receiver: &'a str,
    pub timestamp: u64,
}

impl MacroString {
    pub fn parse(text: &str, scope: Scope) -> Result<MacroString, String> {
        let mut items = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            let visible = ('\x21'..='\x7e').contains(&c);
            // Explanation text may contain spaces; domain-specs and modifier values are split on them.
            if c != '%' {
                if visible || (scope == Scope::Explanation && c == ' ') {
                    literal.push(c);
                    continue;
                }
                return Err(format!(
                    "invalid character {c:?} at offset {at} in \"{}\"",
                    text.escape_debug()
                ));
            }
            let escape = match chars.next().map(|(_, c)| c) {
                Some('%') => "%",
                Some('_') => " ",
                Some('-') => "%20",
                Some('{') => {
                    let rest = &text[at + 2..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("unterminated macro in \"{text}\""));
                    };
                    let body = &rest[..end];
                    let close = at + 2 + end;
                    while chars.next_if(|(i, _)| *i <= close).is_some() {}
                    if !literal.is_empty() {
                        items.push(MacroItem::Literal {
                            text: std::mem::take(&mut literal),
                        });
                    }
                    items.push(parse_expand(body, scope)?);
                    continue;
                }
                _ => {
                    return Err(format!(
                        "\"%\" must be followed by {{, %, _ or - in \"{text}\""
                    ));
                }
            };
            if !literal.is_empty() {
                items.push(MacroItem::Literal {
                    text: std::mem::take(&mut literal),
                });
            }
            items.push(MacroItem::Escape { text: escape });
        }
        if !literal.is_empty() {
            items.push(MacroItem::Literal { text: literal });
        }
        Ok(MacroString {
            source: text.to_owned(),
            items,
        })
    }

    pub fn has_macros(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, MacroItem::Expand { .. }))
    }

    pub(crate) fn ends_with_macro(&self) -> bool {
        !matches!(self.items.last(), Some(MacroItem::Literal { .. }) | None)
    }

    pub(crate) fn trailing_literal(&self) -> &str {
        match self.items.last() {
            Some(MacroItem::Literal { text }) => text,
            _ => "",
        }
    }

    /// Expands the string. Only the `p` macro consults `dns`.
    pub fn expand(&self, ctx: &MacroContext<'_>, dns: &impl Lookup) -> Result<String, Pending> {
        let mut out = String::new();
        for item in &self.items {
            match item {
                MacroItem::Literal { text } => out.push_str(text),
                MacroItem::Escape { text } => out.push_str(text),
                MacroItem::Expand {
                    letter,
                    upper,
                    digits,
                    reverse,
                    delimiters,
                } => {
                    let value = letter_value(*letter, ctx, dns)?;
                    let value = transform(&value, *digits, *reverse, delimiters);
                    if *upper {
                        out.push_str(&url_escape(&value));
                    } else {
                        out.push_str(&value);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Expands a domain-spec: the result, truncated from the left at label boundaries to 253 characters
    /// (section 7.3), without a trailing dot.
    pub fn expand_domain(
        &self,
        ctx: &MacroContext<'_>,
        dns: &impl Lookup,
    ) -> Result<String, Pending> {
        let expanded = self.expand(ctx, dns)?;
        Ok(truncate_domain(&expanded))
    }
}

pub(crate) fn truncate_domain(name: &str) -> String {
    let mut name = name.strip_suffix('.').unwrap_or(name);
    while name.len() > 253 {
        match name.split_once('.') {
            Some((_, rest)) => name = rest,
            None => break,
        }
    }
    name.to_owned()
}

fn parse_expand(body: &str, scope: Scope) -> Result<MacroItem, String> {
    let mut chars = body.chars();
    let letter = chars.next().ok_or_else(|| "empty macro %{}".to_owned())?;
    let lower = letter.to_ascii_lowercase();
    let allowed = match scope {
        Scope::Domain => "slodiphv",
        Scope::Explanation => "slodiphvcrt",
    };
    if !letter.is_ascii_alphabetic() || !allowed.contains(lower) {
        return Err(format!("macro letter {letter:?} is not allowed here"));
    }
    let rest = chars.as_str();
    let digit_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digit_text, rest) = rest.split_at(digit_len);
    let digits = if digit_text.is_empty() {
        None
    } else {
        match digit_text.parse::<usize>() {
            Ok(0) | Err(_) => return Err(format!("invalid macro transformer in %{{{body}}}")),
            Ok(n) => Some(n),
        }
    };
    let (reverse, delimiters) = match rest.strip_prefix(['r', 'R']) {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if !delimiters.chars().all(|c| ".-+,/_=".contains(c)) {
        return Err(format!("invalid macro delimiter in %{{{body}}}"));
    }
    Ok(MacroItem::Expand {
        letter: lower,
        upper: letter.is_ascii_uppercase(),
        digits,
        reverse,
        delimiters: delimiters.to_owned(),
    })
}

fn letter_value(
    letter: char,
    ctx: &MacroContext<'_>,
    dns: &impl Lookup,
) -> Result<String, Pending> {
    Ok(match letter {
        's' => ctx.sender.to_owned(),
        'l' => ctx.local_part.to_owned(),
        'o' => ctx.sender_domain.to_owned(),
        'd' => ctx.domain.to_owned(),
        'h' => ctx.helo.to_owned(),
        'i' => dotted_ip(ctx.ip),
        'c' => ctx.ip.to_string(),
        'v' => match ctx.ip {
            IpAddr::V4(_) => "in-addr".to_owned(),
            IpAddr::V6(_) => "ip6".to_owned(),
        },
        'r' => ctx.receiver.to_owned(),
        't' => ctx.timestamp.to_string(),
        'p' => super::eval::validated_name(dns, ctx.ip, ctx.domain)?
            .unwrap_or_else(|| "unknown".into()),
        _ => String::new(),
    })
}

/// The `i` macro: dotted quad, or 32 dot-separated nibbles for IPv6.
pub(crate) fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 0xf])
            .map(|n| format!("{n:x}"))
            .collect::<Vec<_>>()
            .join("."),
    }
}

/// The name a PTR query for `ip` goes to.
pub(crate) fn reverse_name(ip: IpAddr) -> String {
    let dotted = dotted_ip(ip);
    let mut parts: Vec<&str> = dotted.split('.').collect();
    parts.reverse();
    let suffix = match ip {
        IpAddr::V4(_) => "in-addr.arpa",
        IpAddr::V6(_) => "ip6.arpa",
    };
    format!("{}.{suffix}", parts.join("."))
}

fn transform(value: &str, digits: Option<usize>, reverse: bool, delimiters: &str) -> String {
    let delimiters = if delimiters.is_empty() {
        "."
    } else {
        delimiters
    };
    let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
    if reverse {
        parts.reverse();
    }
    if let Some(n) = digits
        && n < parts.len()
    {
        parts.drain(..parts.len() - n);
    }
    parts.join(".")
}

/// RFC 3986 escaping of everything outside the unreserved set, as upper-case macro letters ask.
fn url_escape(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dns::Snapshot;

    fn ctx(ip: &str) -> MacroContext<'static> {
        MacroContext {
            sender: "strong-bad@email.example.com",
            local_part: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: ip.parse().unwrap(),
            helo: "mx.example.org",
            receiver: "unknown",
            timestamp: 0,
        }
    }

    fn expand(text: &str, ip: &str) -> String {
        MacroString::parse(text, Scope::Explanation)
            .unwrap()
            .expand(&ctx(ip), &Snapshot::new())
            .unwrap()
    }

    #[test]
    fn rfc_7208_section_7_4_examples() {
        let v4 = "192.0.2.3";
        assert_eq!(expand("%{s}", v4), "strong-bad@email.example.com");
        assert_eq!(expand("%{o}", v4), "email.example.com");
        assert_eq!(expand("%{d}", v4), "email.example.com");
        assert_eq!(expand("%{d4}", v4), "email.example.com");
        assert_eq!(expand("%{d3}", v4), "email.example.com");
        assert_eq!(expand("%{d2}", v4), "example.com");
        assert_eq!(expand("%{d1}", v4), "com");
        assert_eq!(expand("%{dr}", v4), "com.example.email");
        assert_eq!(expand("%{d2r}", v4), "example.email");
        assert_eq!(expand("%{l}", v4), "strong-bad");
        assert_eq!(expand("%{l-}", v4), "strong.bad");
        assert_eq!(expand("%{lr}", v4), "strong-bad");
        assert_eq!(expand("%{lr-}", v4), "bad.strong");
        assert_eq!(expand("%{l1r-}", v4), "strong");
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", v4),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            expand("%{lr-}.lp._spf.%{d2}", v4),
            "bad.strong.lp._spf.example.com"
        );
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        assert_eq!(expand("%%%_%-", v4), "% %20");
        assert_eq!(expand("%{L}", v4), "strong-bad");
        assert_eq!(expand("%{S}", v4), "strong-bad%40email.example.com");
    }

    #[test]
    fn rejects_bad_macros() {
        for bad in ["%{a}", "%{d0}", "%", "%x", "%{d", "%{l2r+-*}"] {
            assert!(
                MacroString::parse(bad, Scope::Explanation).is_err(),
                "{bad}"
            );
        }
        assert!(MacroString::parse("%{c}", Scope::Domain).is_err());
        assert!(MacroString::parse("%{c}", Scope::Explanation).is_ok());
    }

    #[test]
    fn long_domains_lose_labels_on_the_left() {
        let long = format!("{}.example.com", "label.".repeat(60));
        let cut = truncate_domain(&long);
        assert!(cut.len() <= 253 && cut.ends_with(".example.com") && cut.starts_with("label."));
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
    }
}
