//! A real test inbox over IMAP (`[mailbox] imap = "imaps://user@host"`): each look-up logs in over TLS, reads
//! the messages that arrived since the flow started (UIDs from the folder's UIDNEXT at start on) and logs out.

use crate::MailboxError;
use crate::message::Mail;
use futures::TryStreamExt;
use rustls::RootCertStore;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use url::Url;

/// The default bound on one whole IMAP look-up (connect, TLS, login, fetch, logout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the test inbox is and how to log in.
#[derive(Clone)]
pub struct ImapConfig {
    /// The server's name, checked against its certificate.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub folder: String,
    /// Connect here instead of resolving `host` (what `--connect-to` does for HTTP).
    pub connect_addr: Option<SocketAddr>,
    /// Extra trusted roots (PEM), as `--ca-file` gives them; the public web roots are always trusted.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("folder", &self.folder)
            .field("connect_addr", &self.connect_addr)
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    /// Reads `imaps://USER@HOST[:PORT][/FOLDER]` (USER percent-encoded when it holds an `@`).
    pub fn from_url(url: &str, password: String) -> Result<ImapConfig, MailboxError> {
        let bad = |reason: &str| MailboxError::Config(format!("imap = {url:?}: {reason}"));
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if parsed.scheme() != "imaps" {
            return Err(bad(
                "only imaps:// is supported (a test inbox is read over TLS)",
            ));
        }
        let user = percent_encoding::percent_decode_str(parsed.username())
            .decode_utf8_lossy()
            .into_owned();
        if user.is_empty() {
            return Err(bad("no user (imaps://USER@HOST)"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host (imaps://USER@HOST)"))?;
        let folder = parsed.path().trim_start_matches('/');
        Ok(ImapConfig {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: parsed.port().unwrap_or(993),
            user,
            password,
            folder: if folder.is_empty() {
                "INBOX".to_string()
            } else {
                percent_encoding::percent_decode_str(folder)
                    .decode_utf8_lossy()
                    .into_owned()
            },
            connect_addr: None,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }
}

type Session = async_imap::Session<TlsStream<TcpStream>>;

/// The UID the next message delivered to the folder will get: "since now" is every UID at or above it.
pub async fn mark(config: &ImapConfig) -> Result<u32, MailboxError> {
    bounded(config, async {
        let mut session = login(config).await?;
        let mailbox = session
            .examine(&config.folder)
            .await
            .map_err(|e| imap_error(config, "EXAMINE", e))?;
        let _ = session.logout().await;
        Ok(mailbox.uid_next.unwrap_or(1))
    })
    .await
}

/// Every message in the folder with a UID at or above `since`.
pub async fn since(config: &ImapConfig, since: u32) -> Result<Vec<Mail>, MailboxError> {
    bounded(config, async {
        let mut session = login(config).await?;
        session
            .examine(&config.folder)
            .await
            .map_err(|e| imap_error(config, "EXAMINE", e))?;
        let mut mails = Vec::new();
        {
            let fetches = session
                .uid_fetch(format!("{since}:*"), "(UID RFC822)")
                .await
                .map_err(|e| imap_error(config, "UID FETCH", e))?;
            let fetches: Vec<_> = fetches
                .try_collect()
                .await
                .map_err(|e| imap_error(config, "UID FETCH", e))?;
            for fetch in fetches {
                // `N:*` always includes the newest message, even when its UID is below N.
                let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) else {
                    continue;
                };
                if uid < since {
                    continue;
                }
                if let Ok(mail) = Mail::parse(u64::from(uid), body, Vec::new()) {
                    mails.push(mail);
                }
            }
        }
        let _ = session.logout().await;
        Ok(mails)
    })
    .await
}

async fn bounded<T>(
    config: &ImapConfig,
    work: impl Future<Output = Result<T, MailboxError>>,
) -> Result<T, MailboxError> {
    tokio::time::timeout(config.timeout, work)
        .await
        .map_err(|_| MailboxError::Timeout {
            what: format!("IMAP {}:{}", config.host, config.port),
            after: config.timeout,
        })?
}

async fn login(config: &ImapConfig) -> Result<Session, MailboxError> {
    let server = format!("{}:{}", config.host, config.port);
    let io = |e: std::io::Error| MailboxError::Io {
        context: format!("IMAP {server}"),
        source: e,
    };
    let tcp = match config.connect_addr {
        Some(addr) => TcpStream::connect(addr).await,
        None => TcpStream::connect((config.host.as_str(), config.port)).await,
    }
    .map_err(io)?;
    let name = ServerName::try_from(config.host.clone())
        .map_err(|e| MailboxError::Config(format!("IMAP host {:?}: {e}", config.host)))?;
    let tls = TlsConnector::from(Arc::new(tls_config(config)?))
        .connect(name, tcp)
        .await
        .map_err(|e| MailboxError::Tls {
            server: server.clone(),
            message: e.to_string(),
        })?;
    let mut client = async_imap::Client::new(tls);
    let greeting = client.read_response().await.map_err(io)?;
    if greeting.is_none() {
        return Err(MailboxError::Imap(format!(
            "{server}: closed the connection before greeting"
        )));
    }
    client
        .login(&config.user, &config.password)
        .await
        .map_err(|(e, _)| imap_error(config, "LOGIN", e))
}

fn tls_config(config: &ImapConfig) -> Result<rustls::ClientConfig, MailboxError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|e| MailboxError::Io {
            context: format!("reading CA file {}", path.display()),
            source: e,
        })?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| MailboxError::Io {
                context: format!("reading CA file {}", path.display()),
                source: e,
            })?;
            roots
                .add(cert)
                .map_err(|e| MailboxError::Config(format!("CA file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailboxError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn imap_error(config: &ImapConfig, command: &str, e: async_imap::error::Error) -> MailboxError {
    MailboxError::Imap(format!("{}:{} {command}: {e}", config.host, config.port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let c = ImapConfig::from_url(
            "imaps://launch%40example.test@imap.example.test",
            "pw".into(),
        )
        .expect("config");
        assert_eq!(c.user, "launch@example.test");
        assert_eq!(c.host, "imap.example.test");
        assert_eq!(c.port, 993);
        assert_eq!(c.folder, "INBOX");
        assert!(!format!("{c:?}").contains("pw"));
        let c =
            ImapConfig::from_url("imaps://u@127.0.0.1:1993/Tests", String::new()).expect("config");
        assert_eq!((c.port, c.folder.as_str()), (1993, "Tests"));
        for bad in ["imap://u@h", "imaps://h", "not a url"] {
            assert!(
                matches!(
                    ImapConfig::from_url(bad, String::new()),
                    Err(MailboxError::Config(_))
                ),
                "{bad}"
            );
        }
    }
}
