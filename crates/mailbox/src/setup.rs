//! From the manifest's `[mailbox]` to a backend for one run: the SMTP sink is started (and kept for the run), the
//! IMAP inbox gets its password from the named environment variable and honours the run's `--connect-to` and
//! `--ca-file`. A command needs only [`MailboxRun::start`] and [`MailboxRun::backend`].

use crate::{ImapConfig, MailboxBackend, MailboxError, SmtpSink};
use launchready_manifest::Mailbox;
use launchready_net::ConnectTo;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// What the run's network settings say about reaching the inbox.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub connect_to: Vec<ConnectTo>,
    pub ca_files: Vec<PathBuf>,
}

/// A mailbox source for the length of a run.
#[derive(Debug)]
pub enum MailboxRun {
    Sink(SmtpSink),
    Imap(ImapConfig),
}

impl MailboxRun {
    /// Starts the sink, or checks the IMAP settings (the password variable must be set). `env` looks up
    /// environment variables (`std::env::var` in a command; a map in tests).
    pub async fn start(
        setup: &Mailbox,
        reach: &Reach,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<MailboxRun, MailboxError> {
        match setup {
            Mailbox::SmtpSink { listen } => SmtpSink::start(*listen)
                .await
                .map(MailboxRun::Sink)
                .map_err(|e| MailboxError::Io {
                    context: format!(
                        "[mailbox] smtp_listen = \"{listen}\": starting the SMTP sink"
                    ),
                    source: e,
                }),
            Mailbox::Imap { url, password_env } => {
                let password = env(password_env).filter(|p| !p.is_empty()).ok_or_else(|| {
                    MailboxError::Config(format!(
                        "[mailbox] password_env: the environment variable {password_env} is not set (it holds the IMAP password)"
                    ))
                })?;
                let mut config = ImapConfig::from_url(url.as_str(), password)?;
                let (host, port) =
                    launchready_net::resolve_target(&reach.connect_to, &config.host, config.port);
                if let Ok(ip) = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                {
                    config.connect_addr = Some(SocketAddr::new(ip, port));
                } else if (host.as_str(), port) != (config.host.as_str(), config.port) {
                    return Err(MailboxError::Config(format!(
                        "--connect-to sends {}:{} to {host}:{port}; for IMAP give an address, not a name",
                        config.host, config.port
                    )));
                }
                config.ca_file = reach.ca_files.first().cloned();
                Ok(MailboxRun::Imap(config))
            }
        }
    }

    /// A backend whose "since the flow started" is now: make one per flow file.
    pub async fn backend(&self) -> Result<MailboxBackend, MailboxError> {
        match self {
            MailboxRun::Sink(sink) => Ok(MailboxBackend::sink(sink.store())),
            MailboxRun::Imap(config) => MailboxBackend::imap(config.clone()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn imap_takes_its_password_from_the_environment_and_the_connect_to_address() {
        let setup = Mailbox::Imap {
            url: "imaps://launch%40example.com@mail.example.com"
                .parse()
                .expect("url"),
            password_env: "INBOX_PASSWORD".to_string(),
        };
        let reach = Reach {
            connect_to: vec!["mail.example.com:993:127.0.0.1:1993".parse().expect("rule")],
            ca_files: vec![PathBuf::from("/tmp/ca.pem")],
        };
        let missing = MailboxRun::start(&setup, &reach, |_| None).await;
        assert!(
            matches!(&missing, Err(MailboxError::Config(m)) if m.contains("INBOX_PASSWORD is not set")),
            "{missing:?}"
        );
        let run = MailboxRun::start(&setup, &reach, |name| {
            (name == "INBOX_PASSWORD").then(|| "pw".to_string())
        })
        .await
        .expect("configured");
        let MailboxRun::Imap(config) = run else {
            panic!("{run:?}")
        };
        assert_eq!(config.user, "launch@example.com");
        assert_eq!(config.password, "pw");
        assert_eq!(
            config.connect_addr,
            Some("127.0.0.1:1993".parse().expect("addr"))
        );
        assert_eq!(config.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
    }

    #[tokio::test]
    async fn the_sink_starts_where_the_manifest_says() {
        let setup = Mailbox::SmtpSink {
            listen: "127.0.0.1:0".parse().expect("address"),
        };
        let run = MailboxRun::start(&setup, &Reach::default(), |_| None)
            .await
            .expect("sink");
        let MailboxRun::Sink(sink) = &run else {
            panic!("{run:?}")
        };
        assert_ne!(sink.addr().port(), 0);
        assert!(run.backend().await.is_ok());
    }
}
