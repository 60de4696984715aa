//! The `[mailbox]` table: where `mailbox://` flow steps read mail from. Either launchready's own SMTP sink
//! (`smtp_listen`, for staging and the lab: the app's SMTP setting points at it) or a real test inbox over IMAP
//! (`imap`, with the password in the environment variable `password_env`, never in the file).

use serde::Serialize;
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mailbox {
    /// Run an SMTP sink on this address and read what it receives.
    SmtpSink { listen: SocketAddr },
    /// Read a test inbox: `imaps://USER@HOST[:PORT][/FOLDER]`, the password from `password_env`.
    Imap { url: url::Url, password_env: String },
}
