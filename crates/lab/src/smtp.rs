//! The lab's mail servers: one loopback SMTP listener per [`MailServer`], speaking just enough ESMTP
//! (greeting, EHLO/HELO, STARTTLS with a lab certificate, NOOP, RSET, QUIT) for a client to check that mail
//! to the domain can be delivered over TLS. It never accepts a message.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::scenario::MailServer;

/// A client that says nothing for this long is dropped, so a stuck test never pins a task.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// RFC 5321 section 4.5.3.1.4 caps a command line at 512 octets; a little slack for sloppy clients.
const MAX_LINE: usize = 1024;
/// Commands per session before the server hangs up: ends a client stuck in a loop.
const MAX_COMMANDS: usize = 100;

/// Accepts connections for one mail server until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, server: MailServer, tls: Option<TlsAcceptor>) {
    let server = Arc::new(server);
    crate::serve::accept_each(listener, move |stream| {
        let server = server.clone();
        let tls = tls.clone();
        async move {
            // A session ending in an error is a client hanging up or stalling; nothing to report.
            let _ = session(stream, &server, tls).await;
        }
    })
    .await
}

/// What the plain-text part of a session ended with.
enum Next {
    Quit,
    StartTls,
}

async fn session(
    stream: TcpStream,
    server: &MailServer,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let mut plain = BufReader::new(stream);
    write(
        &mut plain,
        &format!("220 {} ESMTP launchready-lab\r\n", server.host),
    )
    .await?;
    let offer_tls = server.starttls && tls.is_some();
    match dialogue(&mut plain, server, offer_tls).await? {
        Next::Quit => Ok(()),
        Next::StartTls => {
            let Some(acceptor) = tls else {
                return Ok(());
            };
            let secured = acceptor.accept(plain.into_inner()).await?;
            let mut secured = BufReader::new(secured);
            // RFC 3207 section 4.2: the client starts over with EHLO and STARTTLS is no longer offered.
            dialogue(&mut secured, server, false).await?;
            Ok(())
        }
    }
}

async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    server: &MailServer,
    offer_tls: bool,
) -> std::io::Result<Next> {
    let mut line = Vec::new();
    for _ in 0..MAX_COMMANDS {
        line.clear();
        let read = tokio::time::timeout(
            IDLE_TIMEOUT,
            (&mut *stream)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client idle"))??;
        if read == 0 {
            return Ok(Next::Quit);
        }
        let command = String::from_utf8_lossy(&line);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => {
                let mut reply = format!("250-{} greets you\r\n250-PIPELINING\r\n", server.host);
                if offer_tls {
                    reply.push_str("250-STARTTLS\r\n");
                }
                reply.push_str("250 8BITMIME\r\n");
                reply
            }
            "HELO" => format!("250 {}\r\n", server.host),
            "NOOP" | "RSET" => "250 2.0.0 OK\r\n".to_owned(),
            "STARTTLS" if offer_tls => {
                write(stream, "220 2.0.0 Ready to start TLS\r\n").await?;
                return Ok(Next::StartTls);
            }
            "QUIT" => {
                write(stream, "221 2.0.0 Bye\r\n").await?;
                return Ok(Next::Quit);
            }
            "MAIL" | "RCPT" | "DATA" => "554 5.7.1 The lab does not accept mail\r\n".to_owned(),
            _ => "502 5.5.2 Command not recognized\r\n".to_owned(),
        };
        write(stream, &reply).await?;
    }
    write(stream, "421 4.7.0 Too many commands\r\n").await?;
    Ok(Next::Quit)
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    text: &str,
) -> std::io::Result<()> {
    let inner = stream.get_mut();
    inner.write_all(text.as_bytes()).await?;
    inner.flush().await
}
