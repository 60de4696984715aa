//! The opt-in SMTP probe (`--smtp`): connects to an MX host on port 25 (after `--connect-to`), says EHLO,
//! upgrades with STARTTLS when offered and records the certificate. It never sends a message.

use std::net::{IpAddr, SocketAddr};

use launchready_findings::facts::SmtpFacts;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::Net;
use crate::tls::{TlsClient, failed_handshake_facts};

/// A reply line longer than this is not SMTP; stop reading rather than buffer a hostile stream.
const MAX_LINE: u64 = 4096;
/// Lines in one multi-line reply before the server is considered broken.
const MAX_REPLY_LINES: usize = 100;

/// How the name in EHLO introduces us: a name the receiving server can log, per RFC 5321 section 4.1.1.1.
const EHLO_NAME: &str = "launchready.invalid";

impl Net {
    /// Asks `host`'s SMTP server whether it offers STARTTLS and with which certificate. `domain` is the sender
    /// domain whose MX this is, carried into the facts.
    pub async fn probe_smtp(&self, domain: &str, host: &str) -> SmtpFacts {
        let mut facts = SmtpFacts {
            domain: domain.to_string(),
            host: host.to_string(),
            connected_to: None,
            banner: None,
            starttls_offered: None,
            tls: None,
            error: None,
        };
        let _permit = self.limit.acquire().await;
        let deadline = self.op_timeout();
        // One timeout for the whole dialogue: a server that trickles bytes cannot stretch it.
        match tokio::time::timeout(deadline, self.smtp_dialogue(host, &mut facts)).await {
            Ok(Ok(())) => {}
            Ok(Err(message)) => facts.error = Some(message),
            Err(_) => {
                facts.error = Some(format!(
                    "no complete answer within {:.1}s",
                    deadline.as_secs_f64()
                ))
            }
        }
        facts
    }

    async fn smtp_dialogue(&self, host: &str, facts: &mut SmtpFacts) -> Result<(), String> {
        let (target, port) = crate::connect_to::resolve_target(&self.config.connect_to, host, 25);
        let ip = match target.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => *self
                .resolve_ips(&target)
                .await?
                .first()
                .ok_or_else(|| format!("{target} has no addresses"))?,
        };
        let addr = SocketAddr::new(ip, port);
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        facts.connected_to = Some(addr.to_string());
        let mut stream = BufReader::new(tcp);

        let greeting = read_reply(&mut stream).await?;
        facts.banner = greeting.lines.first().cloned();
        if greeting.code != 220 {
            return Err(format!("the server greeted with {}", greeting.summary()));
        }
        send(&mut stream, &format!("EHLO {EHLO_NAME}\r\n")).await?;
        let ehlo = read_reply(&mut stream).await?;
        if ehlo.code != 250 {
            return Err(format!("EHLO was refused: {}", ehlo.summary()));
        }
        let offered = ehlo.lines.iter().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS"))
        });
        facts.starttls_offered = Some(offered);
        if !offered {
            // Politeness only: the facts are complete either way.
            let _ = send(&mut stream, "QUIT\r\n").await;
            return Ok(());
        }
        send(&mut stream, "STARTTLS\r\n").await?;
        let ready = read_reply(&mut stream).await?;
        if ready.code != 220 {
            return Err(format!("STARTTLS was refused: {}", ready.summary()));
        }

        let client = TlsClient::new(&self.webpki, host, &[])?;
        match client.connect(stream.into_inner()).await {
            Ok(tls) => {
                facts.tls = Some(client.facts(tls.get_ref().1));
                let mut tls = BufReader::new(tls);
                let _ = send(&mut tls, "QUIT\r\n").await;
                Ok(())
            }
            Err(e) => {
                facts.tls = failed_handshake_facts(&client.verifier);
                Err(format!("TLS handshake after STARTTLS failed: {e}"))
            }
        }
    }
}

/// One SMTP reply: its code and the text of each line.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn summary(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

async fn read_reply<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
) -> Result<Reply, String> {
    let mut lines = Vec::new();
    for _ in 0..MAX_REPLY_LINES {
        let mut raw = Vec::new();
        let n = (&mut *stream)
            .take(MAX_LINE)
            .read_until(b'\n', &mut raw)
            .await
            .map_err(|e| format!("reading the reply: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".to_string());
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_string();
        let (code, rest) =
            parse_line(&line).ok_or_else(|| format!("not an SMTP reply: {line:?}"))?;
        lines.push(rest.1.to_string());
        if !rest.0 {
            return Ok(Reply { code, lines });
        }
    }
    Err(format!("a reply longer than {MAX_REPLY_LINES} lines"))
}

/// `250-text` → (250, (true, "text")); `250 text` → (250, (false, "text")).
fn parse_line(line: &str) -> Option<(u16, (bool, &str))> {
    let code = line.get(..3)?.parse::<u16>().ok()?;
    let more = match line.as_bytes().get(3) {
        Some(b'-') => true,
        Some(b' ') | None => false,
        _ => return None,
    };
    Some((code, (more, line.get(4..).unwrap_or(""))))
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    text: &str,
) -> Result<(), String> {
    let inner = stream.get_mut();
    inner
        .write_all(text.as_bytes())
        .await
        .map_err(|e| format!("sending {}: {e}", text.trim_end()))?;
    inner.flush().await.map_err(|e| format!("sending: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn reply_lines_parse_with_their_continuation_mark() {
        assert_eq!(parse_line("250-STARTTLS"), Some((250, (true, "STARTTLS"))));
        assert_eq!(
            parse_line("220 mx.test ESMTP"),
            Some((220, (false, "mx.test ESMTP")))
        );
        assert_eq!(parse_line("250"), Some((250, (false, ""))));
        assert_eq!(parse_line("HTTP/1.1 400"), None);
        assert_eq!(parse_line("25"), None);
        assert_eq!(parse_line("250+x"), None);
    }
}
