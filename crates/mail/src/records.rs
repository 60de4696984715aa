//! The `tag=value` list syntax (RFC 6376 section 3.2) shared by DKIM key, DMARC, MTA-STS, TLS-RPT and BIMI
//! TXT records, and the positioned error those records report.

use std::collections::HashSet;

use serde::Serialize;

/// Which of a name's TXT records is the one record of a kind: several of them mean none applies, exactly like
/// no record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "records", rename_all = "snake_case")]
pub enum Selection {
    None,
    One(String),
    Multiple(Vec<String>),
}

impl Selection {
    /// The record that applies, if exactly one does.
    pub fn record(&self) -> Option<&str> {
        match self {
            Selection::One(record) => Some(record),
            _ => None,
        }
    }
}

/// Picks the records `is_record` recognises among a name's TXT records.
pub fn select_where(txts: &[String], is_record: impl Fn(&str) -> bool) -> Selection {
    let mut found: Vec<String> = txts.iter().filter(|t| is_record(t)).cloned().collect();
    match found.len() {
        0 => Selection::None,
        1 => Selection::One(found.remove(0)),
        _ => Selection::Multiple(found),
    }
}

/// A record that does not parse. `position` is the byte offset in the record where the problem starts
/// (records are ASCII, so it is also the character offset); `tag` is the tag involved, empty when none is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({})", at(.tag, *.position))]
pub struct RecordError {
    pub position: usize,
    pub tag: String,
    pub message: String,
}

impl RecordError {
    pub fn new(position: usize, tag: &str, message: impl Into<String>) -> RecordError {
        RecordError {
            position,
            tag: clip(tag),
            message: message.into(),
        }
    }
}

/// Where an error is, for Display: "tag `p` at byte 12" or "at byte 12".
pub(crate) fn at(tag: &str, position: usize) -> String {
    if tag.is_empty() {
        format!("at byte {position}")
    } else {
        format!("tag `{tag}` at byte {position}")
    }
}

/// Text quoted from a record in an error, cut short so a hostile 10 MB record cannot make a 10 MB message.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 64;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX).collect();
        short.push('…');
        short
    }
}

/// One `name=value` pair, with surrounding whitespace removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// Byte offset of the name in the record.
    pub position: usize,
    /// Byte offset of the value in the record.
    pub value_position: usize,
}

/// Whether tag names that differ only in case are the same tag (DMARC receivers treat them so; DKIM
/// says names are case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCase {
    Sensitive,
    Insensitive,
}

/// RFC 6376's FWS and WSP: the whitespace allowed around names, `=` and values.
pub(crate) fn is_wsp(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

pub(crate) fn trim_wsp(s: &str) -> &str {
    s.trim_matches(is_wsp)
}

/// Splits a record into its tags. Non-ASCII and control characters, a spec without `=`, a malformed name
/// and a repeated name (RFC 6376 section 3.2: the whole list is then invalid) are errors. Empty specs
/// (`;;`, a trailing `;`) are skipped: the ABNF allows only a trailing one, but published records often
/// carry more and receivers accept them.
pub fn tag_list(record: &str, case: NameCase) -> Result<Vec<Tag<'_>>, RecordError> {
    if let Some((i, c)) = record
        .char_indices()
        .find(|&(_, c)| !c.is_ascii() || (c.is_ascii_control() && !is_wsp(c)))
    {
        let what = if c.is_ascii() {
            "control character"
        } else {
            "non-ASCII character"
        };
        return Err(RecordError::new(
            i,
            "",
            format!("{what} {c:?} (records are ASCII)"),
        ));
    }
    let mut tags = Vec::new();
    let mut seen = HashSet::new();
    let mut start = 0;
    for spec in record.split(';') {
        let spec_start = start;
        start += spec.len() + 1;
        let leading = spec.len() - spec.trim_start_matches(is_wsp).len();
        let body = trim_wsp(spec);
        if body.is_empty() {
            continue;
        }
        let position = spec_start + leading;
        let Some(eq) = body.find('=') else {
            return Err(RecordError::new(
                position,
                body,
                format!("expected `tag=value`, found `{}`", clip(body)),
            ));
        };
        let name = body[..eq].trim_end_matches(is_wsp);
        check_name(name, position)?;
        let raw_value = &body[eq + 1..];
        let value = raw_value.trim_start_matches(is_wsp);
        let value_position = position + eq + 1 + (raw_value.len() - value.len());
        let key = match case {
            NameCase::Sensitive => name.to_owned(),
            NameCase::Insensitive => name.to_ascii_lowercase(),
        };
        if !seen.insert(key) {
            return Err(RecordError::new(
                position,
                name,
                "tag appears more than once (the whole record is invalid)",
            ));
        }
        tags.push(Tag {
            name,
            value,
            position,
            value_position,
        });
    }
    Ok(tags)
}

/// RFC 6376: `tag-name = ALPHA *ALNUMPUNC`, where ALNUMPUNC is a letter, digit or underscore.
fn check_name(name: &str, position: usize) -> Result<(), RecordError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else if name.is_empty() {
        Err(RecordError::new(position, "", "tag name is empty"))
    } else {
        Err(RecordError::new(
            position,
            name,
            format!("`{}` is not a valid tag name", clip(name)),
        ))
    }
}

/// Splits a list value (`a:b`, `x, y`) on `sep`, trimming whitespace around each item.
pub(crate) fn list_items(value: &str, sep: char) -> impl Iterator<Item = &str> {
    value.split(sep).map(trim_wsp)
}

/// A cheap deterministic noise source for the parsers' robustness tests: the same inputs every run and no extra
/// dependency (xorshift64).
#[cfg(test)]
pub(crate) struct Noise(pub u64);

#[cfg(test)]
impl Noise {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Up to `max_len - 1` bytes drawn from `alphabet`, decoded lossily.
    pub(crate) fn text(&mut self, alphabet: &[u8], max_len: u64) -> String {
        let len = self.0 % max_len;
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `record` gets (names read case-sensitively), checked to mention `needle`.
    fn refused_with(record: &str, needle: &str) -> RecordError {
        let err = tag_list(record, NameCase::Sensitive).unwrap_err();
        assert!(err.message.contains(needle), "{record:?}: {err}");
        err
    }

    #[test]
    fn splits_tags_with_positions_and_whitespace() {
        let tags = tag_list(" v = DMARC1 ;p=none;; ", NameCase::Sensitive).unwrap();
        assert_eq!(
            tags,
            vec![
                Tag {
                    name: "v",
                    value: "DMARC1",
                    position: 1,
                    value_position: 5
                },
                Tag {
                    name: "p",
                    value: "none",
                    position: 13,
                    value_position: 15
                },
            ]
        );
    }

    #[test]
    fn value_may_contain_equals_and_be_empty() {
        let tags = tag_list("p=abc==; s=", NameCase::Sensitive).unwrap();
        assert_eq!(tags[0].value, "abc==");
        assert_eq!(tags[1].value, "");
    }

    #[test]
    fn rejects_bad_specs() {
        let err = tag_list("v=1; junk", NameCase::Sensitive).unwrap_err();
        assert_eq!((err.position, err.tag.as_str()), (5, "junk"));
        assert!(err.to_string().contains("expected `tag=value`"));

        let err = tag_list("v=1; =x", NameCase::Sensitive).unwrap_err();
        assert_eq!(err.message, "tag name is empty");
        assert_eq!(err.to_string(), "tag name is empty (at byte 5)");

        refused_with("1a=x", "not a valid tag name");
        refused_with("a-b=x", "not a valid tag name");
        assert!(tag_list("a_b1=x", NameCase::Sensitive).is_ok());
    }

    #[test]
    fn rejects_non_ascii_and_control_characters() {
        assert_eq!(refused_with("v=DMARC1; p=nöne", "non-ASCII").position, 13);
        refused_with("v=\u{fffd}", "non-ASCII");
        refused_with("v=a\u{0}", "control character");
        assert!(tag_list("v=a;\r\n\tp=b", NameCase::Sensitive).is_ok());
    }

    #[test]
    fn duplicates_depend_on_name_case() {
        assert!(tag_list("p=a; P=b", NameCase::Sensitive).is_ok());
        let err = tag_list("p=a; P=b", NameCase::Insensitive).unwrap_err();
        assert_eq!((err.position, err.tag.as_str()), (5, "P"));
        assert!(err.message.contains("more than once"));
    }

    #[test]
    fn clips_long_quotes() {
        let long = "x".repeat(10_000);
        let err = tag_list(&long, NameCase::Sensitive).unwrap_err();
        assert!(err.to_string().len() < 300);
    }
}
