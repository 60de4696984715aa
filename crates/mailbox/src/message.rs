//! One received email as a flow step sees it (headers, the decoded text, who it was for), the
//! `mailbox://ADDRESS?subject=&from=` question, and the HTTP-shaped answer a flow's asserts read.

use mail_parser::{HeaderValue, MessageParser, PartType};
use std::sync::LazyLock;
use url::Url;

/// A received message, parsed once when it arrives.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Arrival order within its source (sink sequence or IMAP UID); the newest has the highest.
    pub seq: u64,
    /// The envelope's recipients (SMTP `RCPT TO`), when known.
    pub envelope_to: Vec<String>,
    /// The From header's address.
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Every header in order, values decoded (encoded words undone) and unfolded.
    pub headers: Vec<(String, String)>,
    /// The text part with its transfer encoding and charset undone, or the HTML part as text (links
    /// listed after it) when there is no text part.
    pub text: String,
    /// Addresses the message was written to (To, Cc, Delivered-To, X-Original-To headers).
    header_to: Vec<String>,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a parseable email message")]
pub struct UnparseableMail;

static HREF: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r#"(?i)href\s*=\s*["']([^"']+)["']"#).ok());

impl Mail {
    /// Parses a raw RFC 5322 message.
    pub fn parse(seq: u64, raw: &[u8], envelope_to: Vec<String>) -> Result<Mail, UnparseableMail> {
        let message = MessageParser::default().parse(raw).ok_or(UnparseableMail)?;
        let mut headers = Vec::new();
        let mut header_to = Vec::new();
        for header in message.headers() {
            let name = header.name().to_string();
            let value = match header.value() {
                HeaderValue::Text(text) => text.to_string(),
                _ => {
                    let start = header.offset_start as usize;
                    let end = (header.offset_end as usize).min(raw.len());
                    unfold(&String::from_utf8_lossy(
                        raw.get(start..end).unwrap_or_default(),
                    ))
                }
            };
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "to" | "cc" | "delivered-to" | "x-original-to"
            ) {
                header_to.extend(addresses(header.value(), &value));
            }
            headers.push((name, value));
        }
        let from = message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string);
        // With no text part, mail-parser offers the HTML part as the text body.
        let text = match message.text_part(0).map(|p| &p.body) {
            Some(PartType::Html(_)) => html_as_text(&message),
            _ => message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        };
        Ok(Mail {
            seq,
            envelope_to,
            from,
            subject: message.subject().map(str::to_string),
            headers,
            text,
            header_to,
        })
    }

    /// Whether the message was for `address` (envelope or headers; case-insensitive).
    pub fn is_for(&self, address: &str) -> bool {
        self.envelope_to
            .iter()
            .chain(&self.header_to)
            .any(|a| a.eq_ignore_ascii_case(address))
    }
}

fn html_as_text(message: &mail_parser::Message<'_>) -> String {
    let mut text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    // Converting HTML to text drops link targets, and a flow usually wants exactly those.
    if let (Some(html), Some(href)) = (message.body_html(0), HREF.as_ref()) {
        let links: Vec<&str> = href
            .captures_iter(&html)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str())
            .collect();
        if !links.is_empty() {
            text.push_str("\n\nLinks:\n");
            for link in links {
                text.push_str(&link.replace("&amp;", "&"));
                text.push('\n');
            }
        }
    }
    text
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn addresses(value: &HeaderValue<'_>, text: &str) -> Vec<String> {
    match value {
        HeaderValue::Address(address) => address
            .iter()
            .filter_map(|a| a.address())
            .map(str::to_string)
            .collect(),
        _ => {
            let t = text.trim().trim_start_matches('<').trim_end_matches('>');
            if t.contains('@') {
                vec![t.to_string()]
            } else {
                Vec::new()
            }
        }
    }
}

/// What a `mailbox://` step asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub address: String,
    /// Substring of the subject, case-insensitive.
    pub subject: Option<String>,
    /// Substring of the sender's address, case-insensitive.
    pub from: Option<String>,
}

/// Why a `mailbox://` URL cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(
        "{url}: a mailbox URL is mailbox://ADDRESS (for example mailbox://launch@example.test)"
    )]
    NoAddress { url: String },
    #[error("{url}: unknown parameter {name:?} (mailbox URLs take subject= and from=)")]
    UnknownParameter { url: String, name: String },
}

impl Query {
    pub fn from_url(url: &Url) -> Result<Query, QueryError> {
        let user = percent_encoding::percent_decode_str(url.username())
            .decode_utf8_lossy()
            .into_owned();
        let host = url.host_str().unwrap_or_default();
        if user.is_empty() || host.is_empty() {
            return Err(QueryError::NoAddress {
                url: url.to_string(),
            });
        }
        let mut query = Query {
            address: format!("{user}@{host}"),
            subject: None,
            from: None,
        };
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "subject" => query.subject = Some(value.into_owned()),
                "from" => query.from = Some(value.into_owned()),
                _ => {
                    return Err(QueryError::UnknownParameter {
                        url: url.to_string(),
                        name: name.into_owned(),
                    });
                }
            }
        }
        Ok(query)
    }

    pub fn matches(&self, mail: &Mail) -> bool {
        mail.is_for(&self.address)
            && contains(mail.subject.as_deref(), self.subject.as_deref())
            && contains(mail.from.as_deref(), self.from.as_deref())
    }

    /// The newest matching message.
    pub fn newest<'m>(&self, mails: impl IntoIterator<Item = &'m Mail>) -> Option<&'m Mail> {
        mails
            .into_iter()
            .filter(|m| self.matches(m))
            .max_by_key(|m| m.seq)
    }
}

fn contains(value: Option<&str>, wanted: Option<&str>) -> bool {
    match wanted {
        None => true,
        Some(w) => value.is_some_and(|v| v.to_lowercase().contains(&w.to_lowercase())),
    }
}

/// A mailbox answer in HTTP terms: 200 with the message, or 404 with why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The answer for `mail`: its headers, except that the body is handed out as decoded UTF-8 text, so
    /// the message's own Content-Type and Content-Transfer-Encoding are replaced.
    pub fn found(mail: &Mail) -> Answer {
        let mut headers: Vec<(String, String)> = mail
            .headers
            .iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("content-type")
                    && !n.eq_ignore_ascii_case("content-transfer-encoding")
            })
            .cloned()
            .collect();
        headers.push((
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        ));
        Answer {
            status: 200,
            headers,
            body: mail.text.clone(),
        }
    }

    pub fn not_found(query: &Query, received: usize) -> Answer {
        let mut wanted = format!("no message to {}", query.address);
        if let Some(s) = &query.subject {
            wanted.push_str(&format!(" with subject containing {s:?}"));
        }
        if let Some(f) = &query.from {
            wanted.push_str(&format!(" from {f:?}"));
        }
        Answer {
            status: 404,
            headers: vec![(
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            )],
            body: format!(
                "{wanted} since the flow started ({received} message(s) received since then)\n"
            ),
        }
    }

    pub fn bad_request(message: String) -> Answer {
        Answer {
            status: 400,
            headers: vec![(
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            )],
            body: format!("{message}\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QP: &[u8] = b"From: App <noreply@app.example.test>\r\n\
To: launch+42@example.test\r\n\
Subject: =?utf-8?q?Confirm_your_caf=C3=A9_account?=\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Caf=E9 ouvert. Open https://app.example.test/confirm?token=3Dabc=\r\n\
def to confirm.\r\n";

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn quoted_printable_latin1_and_encoded_subject_are_decoded() {
        let mail = Mail::parse(1, QP, vec![]).expect("parses");
        assert_eq!(mail.subject.as_deref(), Some("Confirm your café account"));
        assert_eq!(mail.from.as_deref(), Some("noreply@app.example.test"));
        assert!(mail.text.contains("Café ouvert."), "{}", mail.text);
        assert!(
            mail.text
                .contains("https://app.example.test/confirm?token=abcdef to confirm"),
            "{}",
            mail.text
        );
        assert!(mail.is_for("LAUNCH+42@example.test"));
        assert!(!mail.is_for("launch@example.test"));
    }

    #[test]
    fn base64_html_only_mail_is_text_with_its_links() {
        let raw = b"From: a@b.test\r\nTo: x@y.test\r\nSubject: Reset\r\nContent-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\
PHA+UmVzZXQgPGEgaHJlZj0iaHR0cHM6Ly9hLnRlc3QvcmVzZXQ/dD0xJmFtcDt1PTIiPmhlcmU8L2E+PC9wPg==\r\n";
        let mail = Mail::parse(1, raw, vec![]).expect("parses");
        assert!(mail.text.contains("Reset"), "{}", mail.text);
        assert!(
            mail.text.contains("https://a.test/reset?t=1&u=2"),
            "{}",
            mail.text
        );
        assert!(!mail.text.contains("<a"), "{}", mail.text);
    }

    #[test]
    fn multipart_alternative_prefers_the_text_part() {
        let raw = b"From: a@b.test\r\nTo: x@y.test\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
plain version\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--b1--\r\n";
        let mail = Mail::parse(1, raw, vec![]).expect("parses");
        assert_eq!(mail.text.trim(), "plain version");
        let answer = Answer::found(&mail);
        assert_eq!(answer.status, 200);
        let content_types: Vec<&str> = answer
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(content_types, ["text/plain; charset=utf-8"]);
        assert!(
            answer
                .headers
                .iter()
                .any(|(n, v)| n == "Subject" && v == "Hi")
        );
    }

    #[test]
    fn query_reads_address_and_filters() {
        let q = Query::from_url(&url(
            "mailbox://launch+42@example.test?subject=Reset&from=app",
        ))
        .expect("query");
        assert_eq!(q.address, "launch+42@example.test");
        assert_eq!(q.subject.as_deref(), Some("Reset"));
        assert_eq!(q.from.as_deref(), Some("app"));
        let q = Query::from_url(&url("mailbox://a%2Bb@example.test")).expect("query");
        assert_eq!(q.address, "a+b@example.test");
        assert!(matches!(
            Query::from_url(&url("mailbox://example.test")),
            Err(QueryError::NoAddress { .. })
        ));
        assert!(matches!(
            Query::from_url(&url("mailbox://a@example.test?subjet=x")),
            Err(QueryError::UnknownParameter { name, .. }) if name == "subjet"
        ));
    }

    #[test]
    fn newest_matching_message_wins_and_filters_apply() {
        let mk = |seq, subject: &str, from: &str| {
            let raw =
                format!("From: {from}\r\nTo: m@x.test\r\nSubject: {subject}\r\n\r\nbody {seq}\r\n");
            Mail::parse(seq, raw.as_bytes(), vec![]).expect("parses")
        };
        let mails = [
            mk(1, "Confirm your account", "app@x.test"),
            mk(2, "Reset your password", "app@x.test"),
            mk(3, "Newsletter", "news@x.test"),
        ];
        let q = |s: &str| Query::from_url(&url(s)).expect("query");
        assert_eq!(
            q("mailbox://m@x.test").newest(&mails).map(|m| m.seq),
            Some(3)
        );
        assert_eq!(
            q("mailbox://m@x.test?subject=confirm")
                .newest(&mails)
                .map(|m| m.seq),
            Some(1)
        );
        assert_eq!(
            q("mailbox://m@x.test?from=app")
                .newest(&mails)
                .map(|m| m.seq),
            Some(2)
        );
        assert!(q("mailbox://other@x.test").newest(&mails).is_none());
        let answer = Answer::not_found(&q("mailbox://other@x.test?subject=Reset"), 3);
        assert_eq!(answer.status, 404);
        assert!(answer.body.contains("other@x.test"), "{}", answer.body);
    }
}
