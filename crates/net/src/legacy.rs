//! A probe for TLS 1.0 and 1.1, which rustls (rightly) cannot speak: send a hand-built ClientHello offering
//! only the old version and read the first record back. A ServerHello at that version means the server still
//! accepts it; an alert or a closed connection means it does not. No key exchange happens.

use crate::Net;
use launchready_findings::facts::LegacyTlsFacts;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The old protocol versions worth knowing about, as (name, minor version byte).
pub const LEGACY_VERSIONS: [(&str, u8); 2] = [("TLSv1.0", 1), ("TLSv1.1", 2)];

/// Cipher suites every TLS 1.0/1.1 server supports one of (ECDHE and RSA key exchange, AES and 3DES).
const SUITES: [u16; 9] = [
    0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0x000a, 0x0033, 0x0039,
];

/// A ClientHello offering only TLS 1.`minor - 1`, with SNI for `host`.
pub fn client_hello(host: &str, minor: u8) -> Vec<u8> {
    let mut extensions = Vec::new();
    if host.parse::<IpAddr>().is_err() && host.len() < 256 {
        let name = host.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap_or(0);
        extensions.extend_from_slice(&0x0000u16.to_be_bytes());
        extensions.extend_from_slice(&(name_len + 5).to_be_bytes());
        extensions.extend_from_slice(&(name_len + 3).to_be_bytes());
        extensions.push(0);
        extensions.extend_from_slice(&name_len.to_be_bytes());
        extensions.extend_from_slice(name);
    }
    // supported_groups: secp256r1, secp384r1; ec_point_formats: uncompressed.
    extensions.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18]);
    extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);

    let mut body = vec![0x03, minor];
    // The random need not be random: nothing is negotiated past the ServerHello.
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0); // no session id
    let suites: Vec<u8> = SUITES.iter().flat_map(|s| s.to_be_bytes()).collect();
    body.extend_from_slice(&u16::try_from(suites.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&suites);
    body.extend_from_slice(&[0x01, 0x00]); // null compression only
    body.extend_from_slice(&u16::try_from(extensions.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![0x01];
    let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    handshake.extend_from_slice(&len[1..]);
    handshake.extend_from_slice(&body);

    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Reads the server's first record: `Some(true)` for a ServerHello at the offered version, `Some(false)` for an
/// alert, another version or a closed connection, `None` for something that is not TLS at all.
pub fn judge_reply(reply: &[u8], minor: u8) -> (Option<bool>, String) {
    match reply {
        [] => (Some(false), "the server closed the connection".to_string()),
        [0x15, ..] => (Some(false), "the server answered with an alert".to_string()),
        [0x16, _, _, _, _, 0x02, _, _, _, 0x03, version, ..] if *version == minor => (
            Some(true),
            "the server answered with a ServerHello at that version".to_string(),
        ),
        [0x16, _, _, _, _, 0x02, _, _, _, major, version, ..] => (
            Some(false),
            format!("the server chose version {major}.{version} instead"),
        ),
        _ => (None, "the reply was not a TLS handshake".to_string()),
    }
}

impl Net {
    /// Offers each legacy version to `host` on port 443 (after `--connect-to`) and records the answers.
    pub async fn probe_legacy_tls(&self, host: &str) -> Vec<LegacyTlsFacts> {
        let (target, port) = crate::connect_to::resolve_target(&self.config.connect_to, host, 443);
        let address = match target.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => self
                .resolve_ips(&target)
                .await
                .ok()
                .and_then(|ips| ips.first().copied()),
        };
        let mut out = Vec::new();
        for (name, minor) in LEGACY_VERSIONS {
            let (accepted, detail) = match address {
                None => (None, format!("{target} did not resolve")),
                Some(ip) => self.offer(SocketAddr::new(ip, port), host, minor).await,
            };
            out.push(LegacyTlsFacts {
                version: name.to_string(),
                accepted,
                detail,
            });
        }
        out
    }

    async fn offer(&self, addr: SocketAddr, host: &str, minor: u8) -> (Option<bool>, String) {
        let _permit = self.limit.acquire().await;
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await?;
            stream.write_all(&client_hello(host, minor)).await?;
            let mut reply = [0u8; 16];
            let mut read = 0;
            // The first 11 bytes hold the record header and the ServerHello's version.
            while read < 11 {
                let n = stream.read(&mut reply[read..]).await?;
                if n == 0 {
                    break;
                }
                read += n;
            }
            Ok::<Vec<u8>, std::io::Error>(reply[..read].to_vec())
        };
        match tokio::time::timeout(self.op_timeout(), exchange).await {
            Err(_) => (None, format!("no answer from {addr} before the timeout")),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                (Some(false), "the server reset the connection".to_string())
            }
            Ok(Err(e)) => (None, format!("{addr}: {e}")),
            Ok(Ok(reply)) => judge_reply(&reply, minor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hello_is_a_well_formed_tls_record() {
        let hello = client_hello("www.demo.test", 1);
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], 0x01, "ClientHello");
        assert_eq!(&hello[9..11], &[0x03, 0x01], "offers TLS 1.0 only");
        assert!(
            hello.windows(13).any(|w| w == b"www.demo.test"),
            "carries SNI"
        );
    }

    #[test]
    fn replies_are_read_as_accepted_refused_or_not_tls() {
        let server_hello_10 = [
            0x16, 0x03, 0x01, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x01, 0x00,
        ];
        assert_eq!(judge_reply(&server_hello_10, 1).0, Some(true));
        let server_hello_12 = [
            0x16, 0x03, 0x03, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x03, 0x00,
        ];
        assert_eq!(judge_reply(&server_hello_12, 1).0, Some(false));
        assert_eq!(
            judge_reply(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46], 1).0,
            Some(false)
        );
        assert_eq!(judge_reply(&[], 2).0, Some(false));
        assert_eq!(judge_reply(b"HTTP/1.1 400 Bad Request", 1).0, None);
    }
}
