//! The fake payment provider and its signed webhooks. Like real providers, it charges a card, then tells the
//! app what happened by POSTing an event to `/webhooks/payments` over HTTPS, signed with a shared secret:
//! `Payment-Signature: t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "t.body"))`. The app trusts only events whose
//! signature verifies and whose timestamp is recent, so a forged or replayed-late payload is refused.

use super::store::{hmac_hex, hmac_verify, random_hex};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Payment-Signature";
/// How old a signed event may be.
pub const TOLERANCE: Duration = Duration::from_secs(300);
/// The test card that is always declined (as providers document theirs).
pub const DECLINED_CARD: &str = "4000000000000002";
/// How long delivering one webhook may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The signature header value for `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("t={timestamp},v1={}", hmac_hex(secret, &signed))
}

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    Stale,
    Mismatch,
}

impl SignatureError {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing Payment-Signature header",
            SignatureError::Malformed => "malformed Payment-Signature header",
            SignatureError::Stale => "signature timestamp outside the tolerance",
            SignatureError::Mismatch => "signature does not match the payload",
        }
    }
}

/// Checks a signature header against `body` at time `now` (UNIX seconds).
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > TOLERANCE.as_secs() {
        return Err(SignatureError::Stale);
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    if signatures.iter().any(|s| hmac_verify(secret, &signed, s)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// What the provider decided about a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Declined,
}

/// Whether a card number passes the Luhn check every real card number passes.
pub fn luhn(card: &str) -> bool {
    let digits: Vec<u32> = card
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if !(12..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The provider: charges cards and delivers the resulting events to the app's webhook.
pub struct Provider {
    secret: Vec<u8>,
    host: String,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
}

impl Provider {
    /// A provider that delivers to `https://HOST/webhooks/payments` at `addr`, trusting `root`.
    pub fn new(
        secret: Vec<u8>,
        host: String,
        addr: SocketAddr,
        root: CertificateDer<'static>,
    ) -> Result<Provider, rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root)?;
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Provider {
            secret,
            host,
            addr,
            tls: Arc::new(tls),
        })
    }

    /// Charges `card` for `order`, then delivers the event. Errors when the webhook could not be delivered
    /// or was refused: the app would then never learn the order's fate.
    pub async fn charge(
        &self,
        order: &str,
        amount_cents: u64,
        card: &str,
    ) -> Result<Outcome, String> {
        let outcome = if card.trim() == DECLINED_CARD {
            Outcome::Declined
        } else {
            Outcome::Succeeded
        };
        let kind = match outcome {
            Outcome::Succeeded => "payment.succeeded",
            Outcome::Declined => "payment.declined",
        };
        let event = serde_json::json!({
            "id": format!("evt_{}", random_hex(8)),
            "type": kind,
            "order": order,
            "amount": amount_cents,
            "currency": "usd",
        });
        let body = event.to_string().into_bytes();
        let signature = sign(&self.secret, now_secs(), &body);
        let status = tokio::time::timeout(DELIVERY_TIMEOUT, self.deliver(body, signature))
            .await
            .map_err(|_| "webhook delivery timed out".to_string())??;
        if status == 200 {
            Ok(outcome)
        } else {
            Err(format!("webhook refused with status {status}"))
        }
    }

    async fn deliver(&self, body: Vec<u8>, signature: String) -> Result<u16, String> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connecting to the webhook: {e}"))?;
        let name = ServerName::try_from(self.host.clone()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with the webhook: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(connection);
        let request = http::Request::post(format!("https://{}/webhooks/payments", self.host))
            .header(http::header::HOST, &self.host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        driver.abort();
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_the_signed_body_recent_and_with_the_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_800_000_000;
        let header = sign(b"secret", now, body);
        assert_eq!(verify(b"secret", Some(&header), body, now + 10), Ok(()));
        assert_eq!(
            verify(b"secret", None, body, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(b"other", Some(&header), body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", Some(&header), br#"{"id":"evt_2"}"#, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", Some(&header), body, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(b"secret", Some("v1=abc"), body, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"secret", Some(&format!("t={now}")), body, now),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn luhn_accepts_test_cards_and_refuses_typos() {
        assert!(luhn("4242424242424242"));
        assert!(luhn("4242 4242 4242 4242"));
        assert!(luhn(DECLINED_CARD));
        assert!(!luhn("4242424242424241"));
        assert!(!luhn("42"));
        assert!(!luhn("abcd"));
    }
}
