//! Organizational domains (RFC 7489 section 3.2) and DMARC identifier alignment (RFC 7489 section 3.1).
//!
//! The Public Suffix List is the `psl` crate's compiled copy, ICANN and private sections both. DMARC
//! receivers use the list as published, and the private section is what keeps tenants of shared hosting
//! apart: `alice.github.io` and `bob.github.io` are different organizations, so mail from one never aligns
//! with the other. Names with a TLD the list does not know fall back to the list's implicit `*` rule (the
//! last label is the suffix), so `mail.shop.test` belongs to `shop.test`.

use serde::{Deserialize, Serialize};

/// `adkim`/`aspf`: whether identifiers must match exactly or only share an organizational domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlignMode {
    /// RFC 7489's default for both `adkim` and `aspf`.
    #[default]
    Relaxed,
    Strict,
}

/// The one spelling names are compared in: lower case, no trailing dot, and internationalized labels as
/// A-labels (`xn--…`), because DNS answers and DKIM `d=` carry A-labels while a From header may carry
/// U-labels. A name IDNA rejects is only lower-cased, so it can still be compared with itself.
pub fn normalize(name: &str) -> String {
    let name = name.trim_end_matches('.');
    if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(name).unwrap_or_else(|_| name.to_lowercase())
    }
}

/// The registrable domain under the Public Suffix List: `mail.example.co.uk` → `example.co.uk`. A name
/// that is itself a public suffix (`co.uk`), or that the list cannot place (a single label, an empty
/// name), is its own organizational domain.
pub fn organizational_domain(name: &str) -> String {
    let name = normalize(name);
    // psl returns a sub-slice of its input, so it is valid UTF-8; the fallback only keeps this panic-free.
    psl::domain(name.as_bytes())
        .and_then(|domain| std::str::from_utf8(domain.trim().as_bytes()).ok())
        .map(str::to_owned)
        .unwrap_or(name)
}

/// Whether a name is exactly a public suffix (ICANN or private), such as `com`, `co.uk` or `github.io`.
pub fn is_public_suffix(name: &str) -> bool {
    let name = normalize(name);
    psl::suffix(name.as_bytes()).is_some_and(|suffix| suffix.is_known() && suffix == name.as_str())
}

/// Whether two names share an organizational domain. Empty names never do.
pub fn same_org(a: &str, b: &str) -> bool {
    let (a, b) = (organizational_domain(a), organizational_domain(b));
    !a.is_empty() && a == b
}

/// RFC 7489 section 3.1: strict alignment needs the same name, relaxed the same organizational domain.
pub fn aligned(from_domain: &str, auth_domain: &str, mode: AlignMode) -> bool {
    match mode {
        AlignMode::Strict => {
            let from = normalize(from_domain);
            !from.is_empty() && from == normalize(auth_domain)
        }
        AlignMode::Relaxed => same_org(from_domain, auth_domain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domain_under_icann_suffixes() {
        assert_eq!(organizational_domain("example.com"), "example.com");
        assert_eq!(organizational_domain("a.b.mail.example.com"), "example.com");
        assert_eq!(organizational_domain("mail.example.co.uk"), "example.co.uk");
        assert_eq!(
            organizational_domain("_dmarc.example.co.uk"),
            "example.co.uk"
        );
    }

    #[test]
    fn public_suffixes_are_their_own_org() {
        assert_eq!(organizational_domain("co.uk"), "co.uk");
        assert_eq!(organizational_domain("com"), "com");
        assert_eq!(organizational_domain("github.io"), "github.io");
        assert!(is_public_suffix("co.uk"));
        assert!(is_public_suffix("github.io"));
        assert!(!is_public_suffix("example.co.uk"));
        assert!(!is_public_suffix("nosuchtld"));
    }

    #[test]
    fn private_suffixes_separate_tenants() {
        assert_eq!(
            organizational_domain("www.alice.github.io"),
            "alice.github.io"
        );
        assert!(!same_org("alice.github.io", "bob.github.io"));
        assert!(same_org("alice.github.io", "www.alice.github.io"));
    }

    #[test]
    fn unknown_tlds_use_the_default_rule_and_oddities_stay_themselves() {
        assert_eq!(organizational_domain("mail.shop.test"), "shop.test");
        assert_eq!(organizational_domain("localhost"), "localhost");
        assert_eq!(organizational_domain(""), "");
        assert_eq!(organizational_domain("."), "");
        assert!(!same_org("", ""));
    }

    #[test]
    fn case_trailing_dots_and_idn() {
        assert_eq!(organizational_domain("Mail.Example.COM."), "example.com");
        assert_eq!(
            organizational_domain("www.Bücher.example"),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            organizational_domain("mail.münchen.de"),
            "xn--mnchen-3ya.de"
        );
        assert!(same_org("münchen.de", "news.xn--mnchen-3ya.de"));
        // A Unicode public suffix (.рф) is recognised in its A-label form.
        assert_eq!(
            organizational_domain("www.пример.рф"),
            "xn--e1afmkfd.xn--p1ai"
        );
    }

    #[test]
    fn alignment_modes() {
        assert!(aligned("example.com", "EXAMPLE.com.", AlignMode::Strict));
        assert!(!aligned(
            "example.com",
            "mail.example.com",
            AlignMode::Strict
        ));
        assert!(aligned(
            "example.com",
            "mail.example.com",
            AlignMode::Relaxed
        ));
        assert!(aligned(
            "news.example.co.uk",
            "bounce.example.co.uk",
            AlignMode::Relaxed
        ));
        assert!(!aligned("example.co.uk", "other.co.uk", AlignMode::Relaxed));
        assert!(!aligned("co.uk", "evil.co.uk", AlignMode::Relaxed));
        assert!(!aligned("", "", AlignMode::Strict));
    }

    #[test]
    fn align_mode_serde_is_lowercase() {
        assert_eq!(
            serde_json::to_string(&AlignMode::Strict).unwrap(),
            "\"strict\""
        );
        assert_eq!(AlignMode::default(), AlignMode::Relaxed);
    }

    #[test]
    fn garbage_names_do_not_panic() {
        for name in [
            "..",
            "a..b",
            "-.-",
            "*.com",
            "\u{0}",
            "é",
            &"a.".repeat(100_000),
        ] {
            let _ = organizational_domain(name);
            let _ = is_public_suffix(name);
        }
    }
}
