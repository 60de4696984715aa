//! DKIM public key records (RFC 6376 section 3.6.1, Ed25519 keys per RFC 8463): parsing a
//! `<selector>._domainkey.<domain>` TXT record into what an audit judges (key type and size, revocation,
//! testing flag), and the selectors common mail providers publish keys under.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Serialize;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::{PublicKey, RSAPublicKey};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::records::{self, NameCase, RecordError, Tag, clip, is_wsp};

/// Selectors worth probing when a domain's selectors are unknown, each with the provider that uses it.
/// DKIM has no way to list a domain's selectors, so an audit can only try the ones providers hand out.
pub const COMMON_SELECTORS: &[(&str, &str)] = &[
    ("google", "Google Workspace"),
    ("selector1", "Microsoft 365"),
    ("selector2", "Microsoft 365"),
    ("k1", "Mailchimp"),
    ("k2", "Mailchimp"),
    ("k3", "Mailchimp"),
    ("mte1", "Mailchimp Transactional (Mandrill)"),
    ("mte2", "Mailchimp Transactional (Mandrill)"),
    ("mandrill", "Mandrill (legacy)"),
    ("s1", "SendGrid"),
    ("s2", "SendGrid"),
    ("smtp", "Mailgun"),
    ("mailjet", "Mailjet"),
    ("brevo1", "Brevo"),
    ("brevo2", "Brevo"),
    ("resend", "Resend"),
    ("zmail", "Zoho Mail"),
    ("protonmail", "Proton Mail"),
    ("fm1", "Fastmail"),
    ("sig1", "iCloud Mail (custom domain)"),
    ("default", "cPanel and other self-hosted defaults"),
    ("dkim", "Rspamd default"),
    (
        "mail",
        "self-hosted (Mail-in-a-Box, common OpenDKIM guides)",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ed25519,
    /// A `k=` value this parser does not know (verifiers ignore such keys).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimKey {
    pub key_type: KeyType,
    /// RSA modulus size, or 256 for an Ed25519 key; `None` for a revoked key or an unknown type.
    pub bits: Option<usize>,
    /// `p=` is empty: RFC 6376 section 3.6.1's way of revoking a key.
    pub revoked: bool,
    /// `t=y`: verifiers must not treat failures differently from unsigned mail.
    pub testing: bool,
    /// `t=s`: the `i=` domain must equal `d=`, no subdomains.
    pub strict: bool,
    /// `h=`, lower case; empty means every algorithm is allowed.
    pub hash_algs: Vec<String>,
    /// `s=`, lower case; empty means the default `*`.
    pub services: Vec<String>,
    pub notes: Option<String>,
    /// Tags RFC 6376 does not define; verifiers ignore them.
    pub unknown_tags: Vec<String>,
}

impl DkimKey {
    /// Whether `h=` lets a verifier accept rsa-sha256 or ed25519-sha256 signatures (RFC 8301 forbids sha1
    /// signing, so a key restricted to sha1 verifies nothing today).
    pub fn allows_sha256(&self) -> bool {
        self.hash_algs.is_empty() || self.hash_algs.iter().any(|h| h == "sha256")
    }

    /// Whether `s=` lets the key sign email.
    pub fn allows_email(&self) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == "*" || s == "email")
    }
}

/// A DKIM key record that does not parse; verifiers then fail every signature that names the selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid DKIM key record: {message} ({})", records::at(.tag, *.position))]
pub struct DkimError {
    pub position: usize,
    pub tag: String,
    pub message: String,
}

impl From<RecordError> for DkimError {
    fn from(e: RecordError) -> DkimError {
        DkimError {
            position: e.position,
            tag: e.tag,
            message: e.message,
        }
    }
}

fn err(tag: &Tag<'_>, message: impl Into<String>) -> DkimError {
    RecordError::new(tag.value_position, tag.name, message).into()
}

/// Real keys are padded and canonical, but verifiers' decoders (OpenSSL's among them) accept missing
/// padding and stray trailing bits, so a key that only fails a pedantic decoder still works.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Parses a DKIM key record (one TXT record, its strings already joined).
pub fn parse_key_record(txt: &str) -> Result<DkimKey, DkimError> {
    // RFC 6376 section 3.2: tag names are case-sensitive.
    let tags = records::tag_list(txt, NameCase::Sensitive)?;
    let mut key = DkimKey {
        key_type: KeyType::Rsa,
        bits: None,
        revoked: false,
        testing: false,
        strict: false,
        hash_algs: Vec::new(),
        services: Vec::new(),
        notes: None,
        unknown_tags: Vec::new(),
    };
    let mut public: Option<&Tag<'_>> = None;
    for (i, tag) in tags.iter().enumerate() {
        match tag.name {
            "v" => {
                if i != 0 {
                    return Err(err(tag, "`v=` must be the first tag when present"));
                }
                if tag.value != "DKIM1" {
                    return Err(err(
                        tag,
                        format!("version must be `DKIM1`, found `{}`", clip(tag.value)),
                    ));
                }
            }
            "h" => key.hash_algs = words(tag)?,
            "k" => {
                key.key_type = match tag.value.to_ascii_lowercase().as_str() {
                    "rsa" => KeyType::Rsa,
                    "ed25519" => KeyType::Ed25519,
                    other => {
                        if !is_word(other) {
                            return Err(err(
                                tag,
                                format!("`{}` is not a key type", clip(tag.value)),
                            ));
                        }
                        KeyType::Other(other.to_owned())
                    }
                }
            }
            "n" => key.notes = Some(tag.value.to_owned()),
            "p" => public = Some(tag),
            "s" => {
                key.services = records::list_items(tag.value, ':')
                    .map(|s| s.to_ascii_lowercase())
                    .collect();
                if key.services.iter().any(|s| s != "*" && !is_word(s)) {
                    return Err(err(
                        tag,
                        format!("`{}` is not a service type list", clip(tag.value)),
                    ));
                }
            }
            "t" => {
                // Unknown flags must be ignored (RFC 6376 section 3.6.1), but the list must still parse.
                for flag in words(tag)? {
                    match flag.as_str() {
                        "y" => key.testing = true,
                        "s" => key.strict = true,
                        _ => {}
                    }
                }
            }
            _ => key.unknown_tags.push(tag.name.to_owned()),
        }
    }
    let Some(public) = public else {
        return Err(RecordError::new(txt.len(), "p", "the required `p=` tag is missing").into());
    };
    let encoded: String = public.value.chars().filter(|&c| !is_wsp(c)).collect();
    if encoded.is_empty() {
        key.revoked = true;
        return Ok(key);
    }
    let der = LENIENT_BASE64
        .decode(encoded.as_bytes())
        .map_err(|e| err(public, format!("public key is not valid base64 ({e})")))?;
    key.bits = match &key.key_type {
        KeyType::Rsa => Some(rsa_bits(&der).map_err(|m| err(public, m))?),
        KeyType::Ed25519 => Some(ed25519_bits(&der).map_err(|m| err(public, m))?),
        KeyType::Other(_) => None,
    };
    Ok(key)
}

/// A colon-separated list of hyphenated words (`h=`, `t=`), lower-cased.
fn words(tag: &Tag<'_>) -> Result<Vec<String>, DkimError> {
    records::list_items(tag.value, ':')
        .map(|w| {
            if is_word(w) {
                Ok(w.to_ascii_lowercase())
            } else {
                Err(err(
                    tag,
                    format!(
                        "`{}` is not a colon-separated list of names",
                        clip(tag.value)
                    ),
                ))
            }
        })
        .collect()
}

/// RFC 6376 `hyphenated-word`: letters, digits and inner hyphens, starting with a letter.
fn is_word(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_alphabetic())
        && !w.ends_with('-')
        && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

const ED25519_OID: &str = "1.3.101.112";

/// The modulus size of an RSA key given as a SubjectPublicKeyInfo (what RFC 6376 specifies) or as a bare
/// PKCS#1 RSAPublicKey (which some generators emit and common verifiers accept).
fn rsa_bits(der: &[u8]) -> Result<usize, String> {
    if let Ok((rest, spki)) = SubjectPublicKeyInfo::from_der(der) {
        if !rest.is_empty() {
            return Err("public key has trailing bytes after its SubjectPublicKeyInfo".to_owned());
        }
        let oid = spki.algorithm.algorithm.to_id_string();
        return match spki.parsed() {
            Ok(PublicKey::RSA(key)) => modulus_bits(key.modulus),
            Ok(PublicKey::EC(_)) => Err(format!(
                "public key is an elliptic-curve key (algorithm {oid}), not RSA"
            )),
            Ok(_) if oid == ED25519_OID => Err(
                "public key is an Ed25519 key, but the record says k=rsa (add k=ed25519)"
                    .to_owned(),
            ),
            Ok(_) => Err(format!("public key is not RSA (algorithm {oid})")),
            Err(_) => Err("public key does not parse as an RSA SubjectPublicKeyInfo".to_owned()),
        };
    }
    match RSAPublicKey::from_der(der) {
        Ok(([], key)) => modulus_bits(key.modulus),
        _ => Err(
            "public key does not parse as an RSA SubjectPublicKeyInfo or RSAPublicKey (DER)"
                .to_owned(),
        ),
    }
}

fn modulus_bits(modulus: &[u8]) -> Result<usize, String> {
    let significant = match modulus.iter().position(|&b| b != 0) {
        Some(first) => &modulus[first..],
        None => return Err("RSA modulus is zero".to_owned()),
    };
    let top = significant.first().copied().unwrap_or_default();
    Ok((significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// RFC 8463 section 4.2: `p=` is the bare 32-byte key, not a SubjectPublicKeyInfo.
fn ed25519_bits(der: &[u8]) -> Result<usize, String> {
    if der.len() == 32 {
        return Ok(256);
    }
    let is_spki = SubjectPublicKeyInfo::from_der(der)
        .is_ok_and(|(_, spki)| spki.algorithm.algorithm.to_id_string() == ED25519_OID);
    if is_spki {
        Err(
            "public key is an Ed25519 SubjectPublicKeyInfo; RFC 8463 wants the bare 32-byte key"
                .to_owned(),
        )
    } else {
        Err(format!(
            "public key does not parse as an Ed25519 key (expected 32 bytes, found {})",
            der.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated on this machine with `openssl genrsa` / `openssl rsa -pubout` (and `-RSAPublicKey_out`),
    // `openssl ecparam -name prime256v1` and `openssl genpkey -algorithm ed25519`.
    const RSA_1024_SPKI: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDZ51eXOFlmnnEuIL2qesHG7xPYpIm4amYV+uhnroSzxIIa93piOkLRfQMG+UQHK82d5hbzx1UL50d7PWH2H5Hm7PrqZWNpXg6m5CDsgfkn0XteqAKxy8sMYMbOA54/exf1Y/WtKSgTL1M1uPu0ajE2rTx2DnbLhE4dEY5wv4xNwQIDAQAB";
    const RSA_2048_SPKI: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ljOJpYmjHI96/viV72AfWDzP7OgDhjVkVM6XaR4bbnDgTKwG+5CXndmLikMUR37WlVPUGFVHeBewHQ7IDyErFuFl8pRomckobxLTh3vALD97Y0IqmzkqX8ONPQOmRiATnzOswNzd0ddeGLol3M6xYcmwhugq6Dj4WNfb7bPgKHrGs/VwQLL/P5F3yrve2Q8PPEXPDK79fj3IQmaODgjSPxPqScn2g2JII130EaN8J/G2wkWz8JjEriqjR6xo0/Nk3vQhehptjN1F52d0aBSnMA5Ag4A2yYXwYKiiEGXOO9UOUHNrEN07ew0MPK62aEtlXoncxPIeXabhUVi8RlO/QIDAQAB";
    const RSA_2048_PKCS1: &str = "MIIBCgKCAQEA1ljOJpYmjHI96/viV72AfWDzP7OgDhjVkVM6XaR4bbnDgTKwG+5CXndmLikMUR37WlVPUGFVHeBewHQ7IDyErFuFl8pRomckobxLTh3vALD97Y0IqmzkqX8ONPQOmRiATnzOswNzd0ddeGLol3M6xYcmwhugq6Dj4WNfb7bPgKHrGs/VwQLL/P5F3yrve2Q8PPEXPDK79fj3IQmaODgjSPxPqScn2g2JII130EaN8J/G2wkWz8JjEriqjR6xo0/Nk3vQhehptjN1F52d0aBSnMA5Ag4A2yYXwYKiiEGXOO9UOUHNrEN07ew0MPK62aEtlXoncxPIeXabhUVi8RlO/QIDAQAB";
    const EC_P256_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESrJH8dIaVLpty3NkkNSkBl7qS6hG4waKq0IWgqHXDnkTw8F7jTt/UkBD0pi6+YcnT7kCKCJmOxUB1WlHAzOOww==";
    const ED25519_RAW: &str = "3KDe/wFuCcoNXKDFA+okCbuuMrDvWjs8flMK8OsDAt8=";
    const ED25519_SPKI: &str = "MCowBQYDK2VwAyEA3KDe/wFuCcoNXKDFA+okCbuuMrDvWjs8flMK8OsDAt8=";

    fn err_of(txt: &str) -> DkimError {
        parse_key_record(txt).expect_err(&format!("{txt:?} parsed"))
    }

    #[test]
    fn rsa_key_sizes() {
        let k = parse_key_record(&format!("v=DKIM1; k=rsa; p={RSA_1024_SPKI}")).unwrap();
        assert_eq!((k.key_type.clone(), k.bits), (KeyType::Rsa, Some(1024)));
        assert!(!k.revoked && !k.testing && !k.strict);
        let k = parse_key_record(&format!("p={RSA_2048_SPKI}")).unwrap();
        assert_eq!((k.key_type, k.bits), (KeyType::Rsa, Some(2048)));
        let k = parse_key_record(&format!("v=DKIM1; p={RSA_2048_PKCS1}")).unwrap();
        assert_eq!(k.bits, Some(2048));
    }

    #[test]
    fn key_split_across_strings_with_whitespace() {
        let (a, b) = RSA_2048_SPKI.split_at(200);
        let k = parse_key_record(&format!("v=DKIM1; k=rsa; p={a} \r\n\t{b}")).unwrap();
        assert_eq!(k.bits, Some(2048));
        let unpadded = EC_P256_SPKI.trim_end_matches('=');
        assert!(
            err_of(&format!("p={unpadded}"))
                .message
                .contains("elliptic-curve")
        );
    }

    #[test]
    fn modulus_bits_counts_significant_bits() {
        assert_eq!(modulus_bits(&[0, 0x80, 0]), Ok(16));
        assert_eq!(modulus_bits(&[0x01, 0xff]), Ok(9));
        assert_eq!(modulus_bits(&[0xff]), Ok(8));
        assert!(modulus_bits(&[0, 0]).is_err());
        assert!(modulus_bits(&[]).is_err());
    }

    #[test]
    fn ed25519_keys() {
        let k = parse_key_record(&format!("v=DKIM1; k=ed25519; p={ED25519_RAW}")).unwrap();
        assert_eq!((k.key_type, k.bits), (KeyType::Ed25519, Some(256)));
        let e = err_of(&format!("v=DKIM1; k=ed25519; p={ED25519_SPKI}"));
        assert!(e.message.contains("bare 32-byte key"), "{e}");
        let e = err_of("k=ed25519; p=aGVsbG8=");
        assert!(e.message.contains("does not parse as an Ed25519 key"));
        let e = err_of(&format!("p={ED25519_SPKI}"));
        assert!(e.message.contains("k=ed25519"), "{e}");
    }

    #[test]
    fn not_a_key() {
        let e = err_of("v=DKIM1; p=aGVsbG8gd29ybGQ=");
        assert_eq!((e.tag.as_str(), e.position), ("p", 11));
        assert!(e.message.starts_with("public key does not parse as"));
        let e = err_of(&format!("p={EC_P256_SPKI}"));
        assert!(e.message.contains("not RSA"));
        // An SPKI followed by junk.
        let mut der = LENIENT_BASE64.decode(RSA_1024_SPKI).unwrap();
        der.push(0);
        let e = err_of(&format!(
            "p={}",
            base64::engine::general_purpose::STANDARD.encode(der)
        ));
        assert!(e.message.contains("trailing bytes"));
    }

    #[test]
    fn bad_base64() {
        let e = err_of("v=DKIM1; p=MIGf*MA0");
        assert!(e.message.contains("not valid base64"), "{e}");
        assert!(err_of("p=====").message.contains("base64"));
        assert!(e.to_string().starts_with("invalid DKIM key record: "));
    }

    #[test]
    fn revoked_and_unknown_types() {
        let k = parse_key_record("v=DKIM1; p=").unwrap();
        assert!(k.revoked);
        assert_eq!(k.bits, None);
        let k = parse_key_record("v=DKIM1; k=ed25519; p= ;").unwrap();
        assert!(k.revoked);
        let k = parse_key_record("k=x-future; p=AAAA").unwrap();
        assert_eq!(
            (k.key_type, k.bits),
            (KeyType::Other("x-future".into()), None)
        );
        assert!(err_of("k=; p=").message.contains("not a key type"));
        assert!(err_of("k=rsa!; p=").message.contains("not a key type"));
    }

    #[test]
    fn tags_and_flags() {
        let k = parse_key_record(&format!(
            "v=DKIM1; h=sha1:SHA256; k=rsa; n=rotated 2024; s=email; t=y:s:x; g=*; p={RSA_1024_SPKI}"
        ))
        .unwrap();
        assert_eq!(k.hash_algs, vec!["sha1", "sha256"]);
        assert_eq!(k.services, vec!["email"]);
        assert_eq!(k.notes.as_deref(), Some("rotated 2024"));
        assert!(k.testing && k.strict);
        assert_eq!(k.unknown_tags, vec!["g"]);
        assert!(k.allows_sha256() && k.allows_email());

        let k = parse_key_record("h=sha1; s=*; p=").unwrap();
        assert!(!k.allows_sha256());
        assert!(k.allows_email());
        let k = parse_key_record("s=tlsrpt; p=").unwrap();
        assert!(!k.allows_email());
        let k = parse_key_record("p=").unwrap();
        assert!(k.allows_sha256() && k.allows_email());

        assert_eq!(err_of("h=sha1:; p=").tag, "h");
        assert_eq!(err_of("t=y s; p=").tag, "t");
        assert_eq!(err_of("s=email:e mail; p=").tag, "s");
    }

    #[test]
    fn version_and_structure_errors() {
        let e = err_of(&format!("k=rsa; v=DKIM1; p={RSA_1024_SPKI}"));
        assert_eq!((e.tag.as_str(), e.position), ("v", 9));
        assert!(e.message.contains("first"));
        assert!(err_of("v=DKIM2; p=").message.contains("DKIM1"));
        assert!(err_of("v=dkim1; p=").message.contains("DKIM1"));
        let e = err_of("v=DKIM1; k=rsa");
        assert_eq!((e.tag.as_str(), e.position), ("p", 14));
        assert!(err_of("p=; p=").message.contains("more than once"));
        // Names are case-sensitive: `P=` is an unknown tag, so `p=` is still missing.
        assert!(err_of("P=").message.contains("missing"));
        assert!(err_of("v=DKIM1; p=é").message.contains("non-ASCII"));
    }

    #[test]
    fn serializes() {
        let k = parse_key_record(&format!("p={RSA_1024_SPKI}")).unwrap();
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(json["key_type"], "rsa");
        assert_eq!(json["bits"], 1024);
        let k = parse_key_record("k=foo; p=").unwrap();
        assert_eq!(
            serde_json::to_value(&k).unwrap()["key_type"]["other"],
            "foo"
        );
    }

    #[test]
    fn common_selectors_are_unique_names() {
        let mut names: Vec<&str> = COMMON_SELECTORS.iter().map(|(s, _)| *s).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMON_SELECTORS.len());
        assert!(names.iter().all(|n| is_word(n)));
    }

    #[test]
    fn hostile_inputs_end_quickly() {
        // Hostile input must never make parsing hang or go quadratic: past the limit the test fails.
        let limit = std::time::Duration::from_secs(20);
        launchready_testkit::watchdog::finish_within(limit, "the hostile DKIM key records", || {
            let huge = format!("v=DKIM1; p={}", "A".repeat(10 * 1024 * 1024));
            assert!(parse_key_record(&huge).is_err());
            let many: String = (0..1000).map(|i| format!("x{i}=y;")).collect();
            assert_eq!(
                parse_key_record(&format!("{many}p="))
                    .unwrap()
                    .unknown_tags
                    .len(),
                1000
            );
            // Deeply nested DER: 0x30 0x80 repeated (indefinite-length sequences), then random-ish bytes.
            let nested =
                base64::engine::general_purpose::STANDARD.encode([0x30u8, 0x80].repeat(50_000));
            assert!(parse_key_record(&format!("p={nested}")).is_err());
            let mut noise = crate::records::Noise(0x9e37_79b9_7f4a_7c15);
            for len in 0..400usize {
                let bytes: Vec<u8> = (0..len).map(|_| (noise.next() >> 24) as u8).collect();
                let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                let _ = parse_key_record(&format!("p={b64}"));
                let _ = parse_key_record(&format!("k=ed25519;p={b64}"));
                let _ = parse_key_record(&String::from_utf8_lossy(&bytes));
                // A valid SPKI header with a corrupted body.
                let mut der = LENIENT_BASE64.decode(RSA_1024_SPKI).unwrap();
                let at = len % der.len();
                der[at] ^= (noise.0 as u8) | 1;
                let _ = parse_key_record(&format!(
                    "p={}",
                    base64::engine::general_purpose::STANDARD.encode(&der)
                ));
            }
        });
    }
}
