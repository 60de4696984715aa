//! `mailbox://ADDRESS` for launchready flows: the step that reads the link out of a confirmation or reset
//! email. It answers 200 with the newest message to ADDRESS received since the flow started (headers = the
//! mail's headers, body = its decoded text part, or its HTML part as text), 404 while none has arrived (so the
//! step's `retry` waits), and filters with `?subject=` and `?from=`.
//!
//! Mail comes from an in-process SMTP sink ([`SmtpSink`], `[mailbox] smtp_listen`) or a real test inbox over
//! IMAP ([`ImapConfig`], `[mailbox] imap`). [`MailboxBackend`] plugs either into the flow engine as the
//! `mailbox` scheme; [`MailboxRun`] builds it from the manifest's `[mailbox]` table.

mod imap;
mod message;
mod setup;
mod sink;

pub use imap::{DEFAULT_TIMEOUT, ImapConfig};
pub use message::{Answer, Mail, Query, QueryError, UnparseableMail};
pub use setup::{MailboxRun, Reach};
pub use sink::{MAX_KEPT, SmtpSink, Store};

use base64::Engine as _;
use futures::future::BoxFuture;
use launchready_findings::facts::{NetErrorKind, Timings};
use launchready_net::{HttpRequest, HttpResponse, RequestError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Why the mailbox could not be read (as opposed to "no message yet", which is a 404 answer).
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("{0}")]
    Config(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {server}: {message}")]
    Tls { server: String, message: String },
    #[error("{0}")]
    Imap(String),
    #[error("{what}: no answer within {after:?}")]
    Timeout { what: String, after: Duration },
}

impl MailboxError {
    fn kind(&self) -> NetErrorKind {
        match self {
            MailboxError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                NetErrorKind::Refused
            }
            MailboxError::Io { .. } | MailboxError::Config(_) => NetErrorKind::Io,
            MailboxError::Tls { .. } => NetErrorKind::Tls,
            MailboxError::Imap(_) => NetErrorKind::Protocol,
            MailboxError::Timeout { .. } => NetErrorKind::Timeout,
        }
    }
}

enum Source {
    Sink { store: Arc<Store>, since: u64 },
    Imap { config: ImapConfig, since: u32 },
}

/// The `mailbox` scheme for the flow engine. "Since the flow started" is fixed when the backend is made.
pub struct MailboxBackend {
    source: Source,
}

impl std::fmt::Debug for MailboxBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Sink { since, .. } => write!(f, "MailboxBackend(sink since #{since})"),
            Source::Imap { config, since } => {
                write!(f, "MailboxBackend({config:?} since UID {since})")
            }
        }
    }
}

impl MailboxBackend {
    /// Reads the sink's messages from now on.
    pub fn sink(store: Arc<Store>) -> MailboxBackend {
        let since = store.mark();
        MailboxBackend {
            source: Source::Sink { store, since },
        }
    }

    /// Logs in once to learn where "now" is in the folder, then reads messages from there on.
    pub async fn imap(config: ImapConfig) -> Result<MailboxBackend, MailboxError> {
        let since = imap::mark(&config).await?;
        Ok(MailboxBackend {
            source: Source::Imap { config, since },
        })
    }

    /// Answers one `mailbox://` URL.
    pub async fn lookup(&self, url: &Url) -> Result<Answer, MailboxError> {
        let query = match Query::from_url(url) {
            Ok(query) => query,
            Err(e) => return Ok(Answer::bad_request(e.to_string())),
        };
        let mails = match &self.source {
            Source::Sink { store, since } => store.since(*since),
            Source::Imap { config, since } => imap::since(config, *since).await?,
        };
        Ok(match query.newest(&mails) {
            Some(mail) => Answer::found(mail),
            None => Answer::not_found(&query, mails.len()),
        })
    }

    fn server(&self) -> String {
        match &self.source {
            Source::Sink { .. } => "smtp sink".to_string(),
            Source::Imap { config, .. } => format!("{}:{}", config.host, config.port),
        }
    }
}

impl launchready_flow::Backend for MailboxBackend {
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
    ) -> BoxFuture<'a, Result<HttpResponse, RequestError>> {
        Box::pin(async move {
            let started = Instant::now();
            let elapsed = || Timings {
                total_ms: started.elapsed().as_secs_f64() * 1000.0,
                ..Timings::default()
            };
            if !request.method.eq_ignore_ascii_case("GET") {
                let answer = Answer::bad_request(format!(
                    "{} {}: a mailbox is only read (GET)",
                    request.method, request.url
                ));
                return Ok(response(answer, elapsed(), None));
            }
            let url = address_url(request);
            match self.lookup(&url).await {
                Ok(answer) => Ok(response(answer, elapsed(), Some(self.server()))),
                Err(e) => Err(RequestError {
                    kind: e.kind(),
                    message: e.to_string(),
                    timings: elapsed(),
                }),
            }
        })
    }
}

/// The URL with its address. An engine that reads `user@` in a URL as HTTP credentials moves it into an
/// `Authorization: Basic` header; the address is taken back from there.
fn address_url(request: &HttpRequest) -> Url {
    let mut url = request.url.clone();
    if !url.username().is_empty() {
        return url;
    }
    let user = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .filter_map(|(_, v)| v.strip_prefix("Basic "))
        .filter_map(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .map(|credentials| match credentials.split_once(':') {
            Some((user, _)) => user.to_string(),
            None => credentials,
        })
        .next();
    if let Some(user) = user {
        let _ = url.set_username(&user);
    }
    url
}

fn response(answer: Answer, timings: Timings, connected_to: Option<String>) -> HttpResponse {
    HttpResponse {
        version: "HTTP/1.1".to_string(),
        status: answer.status,
        headers: answer.headers,
        body: answer.body.into_bytes(),
        truncated: false,
        timings,
        connected_to,
        tls: None,
        reused: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "GET".to_string(),
            url: Url::parse(url).expect("url"),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            insecure: false,
        }
    }

    #[test]
    fn the_address_is_read_from_the_url_or_taken_back_from_basic_credentials() {
        let direct = address_url(&request("mailbox://a+b@x.test?subject=Hi", &[]));
        assert_eq!(
            Query::from_url(&direct).expect("query").address,
            "a+b@x.test"
        );
        // "a+b:" in Basic form, as an engine that strips userinfo sends it.
        let moved = address_url(&request(
            "mailbox://x.test?subject=Hi",
            &[("Authorization", "Basic YStiOg==")],
        ));
        let query = Query::from_url(&moved).expect("query");
        assert_eq!(query.address, "a+b@x.test");
        assert_eq!(query.subject.as_deref(), Some("Hi"));
    }

    #[tokio::test]
    async fn a_sink_backend_sees_only_mail_received_after_it_was_made() {
        use launchready_flow::Backend as _;
        let sink = SmtpSink::start("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("sink");
        let store = sink.store();
        let before = MailboxBackend::sink(store.clone());
        let mut stream = tokio::net::TcpStream::connect(sink.addr())
            .await
            .expect("connect");
        crate::sink::tests_support::send_raw(
            &mut stream,
            "m@x.test",
            b"From: app@x.test\r\nTo: m@x.test\r\nSubject: First\r\n\r\none\r\n",
        )
        .await;
        let after = MailboxBackend::sink(store.clone());
        let req = request("mailbox://m@x.test", &[]);
        let seen = before.send(&req).await.expect("answer");
        assert_eq!(seen.status, 200);
        assert_eq!(String::from_utf8_lossy(&seen.body).trim(), "one");
        let unseen = after.send(&req).await.expect("answer");
        assert_eq!(
            unseen.status,
            404,
            "{}",
            String::from_utf8_lossy(&unseen.body)
        );
        let post = HttpRequest {
            method: "POST".to_string(),
            ..req
        };
        assert_eq!(before.send(&post).await.expect("answer").status, 400);
    }
}
