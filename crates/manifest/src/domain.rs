//! Domain-name and URL validation shared by the manifest parser and the CLI's `audit DOMAIN` / `init DOMAIN`.

use std::net::{IpAddr, Ipv6Addr};
use url::Url;

/// A rejected name or URL: the message says what is wrong (naming the input), the help how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub message: String,
    pub help: Option<String>,
}

impl Rejection {
    fn new(message: impl Into<String>) -> Rejection {
        Rejection {
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Rejection {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn into_sentence(self) -> String {
        match self.help {
            Some(help) => format!("{}; {help}", self.message),
            None => self.message,
        }
    }
}

/// Normalises a domain name to lower-case ASCII (IDNA names become `xn--` labels), or explains why it is not one.
///
/// Accepted: two or more labels of letters, digits and inner hyphens, each at most 63 characters and the whole
/// name at most 253, with one optional trailing dot (dropped). Rejected: URLs, paths, ports, e-mail addresses, IP
/// addresses, empty labels, underscores and other punctuation, numeric top-level labels, and single labels such
/// as `localhost` — a launch audit is about a public name, and a single label is almost always a typo.
pub fn validate_domain(input: &str) -> Result<String, String> {
    check_domain(input).map_err(Rejection::into_sentence)
}

pub(crate) fn check_domain(input: &str) -> Result<String, Rejection> {
    if input.is_empty() {
        return Err(Rejection::new("the domain is empty").help("give a name such as `example.com`"));
    }
    if input.trim().is_empty() {
        return Err(Rejection::new("the domain is blank").help("give a name such as `example.com`"));
    }
    if input.chars().any(char::is_whitespace) {
        let trimmed = input.trim();
        let rejection = Rejection::new(format!("`{input}` contains whitespace"));
        return Err(if trimmed.chars().any(char::is_whitespace) {
            rejection
        } else {
            rejection.help(format!("use `{trimmed}`"))
        });
    }
    if input.contains("://") {
        let rejection = Rejection::new(format!("`{input}` is a URL, not a domain name"));
        return Err(
            match Url::parse(input)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
            {
                Some(host) => rejection.help(format!("use just the host name, `{host}`")),
                None => rejection.help("use just the host name, e.g. `example.com`"),
            },
        );
    }
    if let Ok(ip) = input.trim_matches(['[', ']']).parse::<IpAddr>() {
        let kind = if ip.is_ipv4() { "an IPv4" } else { "an IPv6" };
        return Err(
            Rejection::new(format!("`{input}` is {kind} address, not a domain name"))
                .help("launchready audits a domain name such as `example.com`"),
        );
    }
    if let Some(at) = input.rfind('@') {
        return Err(
            Rejection::new(format!("`{input}` looks like an e-mail address")).help(format!(
                "use the domain after the `@`, `{}`",
                &input[at + 1..]
            )),
        );
    }
    if let Some(cut) = input.find(['/', '?', '#']) {
        return Err(Rejection::new(format!(
            "`{input}` has a path; a domain name is only the host"
        ))
        .help(format!("use `{}`", &input[..cut])));
    }
    if let Some(colon) = input.find(':') {
        if input.parse::<Ipv6Addr>().is_err()
            && input[colon + 1..].chars().all(|c| c.is_ascii_digit())
        {
            return Err(Rejection::new(format!(
                "`{input}` has a port; a domain name is only the host"
            ))
            .help(format!("use `{}`", &input[..colon])));
        }
        return Err(Rejection::new(format!(
            "`{input}` contains `:`, which is not allowed in a domain name"
        )));
    }
    let without_dot = input.strip_suffix('.').unwrap_or(input);
    if without_dot.split('.').any(str::is_empty) {
        return Err(Rejection::new(format!("`{input}` has an empty label"))
            .help("labels are separated by single dots, e.g. `www.example.com`"));
    }
    let ascii = idna::domain_to_ascii(without_dot).map_err(|_| {
        Rejection::new(format!(
            "`{input}` is not a valid internationalised domain name"
        ))
    })?;
    check_ascii_labels(input, &ascii)?;
    Ok(ascii)
}

/// Host-name rules (RFC 952/1123 letter-digit-hyphen labels) applied after IDNA mapping, so `xn--` labels and
/// upper-case input have already been normalised.
fn check_ascii_labels(input: &str, ascii: &str) -> Result<(), Rejection> {
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.iter().any(|label| label.is_empty()) {
        return Err(Rejection::new(format!("`{input}` has an empty label")));
    }
    for label in &labels {
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            let rejection = Rejection::new(format!(
                "`{input}` contains `{bad}`, which is not allowed in a host name"
            ));
            return Err(if bad == '_' {
                rejection.help("host names use hyphens, not underscores")
            } else {
                rejection.help("host names use only letters, digits, hyphens and dots")
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(Rejection::new(format!(
                "label `{label}` in `{input}` starts or ends with a hyphen, which host names do not allow"
            )));
        }
        let length = label.len();
        if length > 63 {
            return Err(Rejection::new(format!(
                "label `{label}` in `{input}` is {length} characters long; the DNS limit is 63"
            )));
        }
    }
    if ascii.len() > 253 {
        return Err(Rejection::new(format!(
            "`{input}` is {} characters long; the DNS limit is 253",
            ascii.len()
        )));
    }
    if labels.len() < 2 {
        return Err(Rejection::new(format!(
            "`{input}` is a single label, not a public domain name"
        ))
        .help("give the full name, e.g. `example.com`"));
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(Rejection::new(format!(
            "`{input}` ends in an all-numeric label; top-level domains are never numeric"
        )));
    }
    Ok(())
}

/// `host` is `domain` itself or a name under it.
pub(crate) fn is_within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Resolves a host written either as a bare label (`app` means `app.<domain>`) or as a full name, which must then
/// be `domain` or inside it.
pub(crate) fn resolve_host(input: &str, domain: &str) -> Result<String, Rejection> {
    if input.trim().is_empty() {
        return Err(Rejection::new("the host name is empty")
            .help("give a label such as `app`, or a full name"));
    }
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    if !trimmed.is_empty() && !trimmed.contains('.') && !input.contains("://") {
        return check_domain(&format!("{trimmed}.{domain}"));
    }
    let host = check_domain(input)?;
    if is_within(&host, domain) {
        Ok(host)
    } else {
        Err(
            Rejection::new(format!("`{input}` is not inside `{domain}`")).help(format!(
                "use a label such as `app`, or a full name ending in `.{domain}`"
            )),
        )
    }
}

/// Parses an absolute `http://` or `https://` URL.
pub(crate) fn parse_http_url(input: &str) -> Result<Url, Rejection> {
    if input.trim().is_empty() {
        return Err(Rejection::new("the URL is empty")
            .help("write an absolute URL such as `https://example.com/`"));
    }
    if !input.contains("://") {
        // `mailto:x@y` has a scheme, just not a usable one; `www.example.com:8080` only looks like it has one.
        if let Some(url) = Url::parse(input)
            .ok()
            .filter(|url| !url.scheme().contains('.'))
        {
            return Err(Rejection::new(format!(
                "`{input}` is a `{}:` URL; only http:// and https:// URLs can be checked",
                url.scheme()
            )));
        }
        let guess = input.trim_start_matches('/');
        return Err(Rejection::new(format!("`{input}` has no scheme"))
            .help(format!("write an absolute URL, e.g. `https://{guess}`")));
    }
    let url = Url::parse(input)
        .map_err(|e| Rejection::new(format!("`{input}` is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Rejection::new(format!(
            "`{input}` is a `{}:` URL; only http:// and https:// URLs can be checked",
            url.scheme()
        )));
    }
    match url.host_str() {
        None | Some("") => Err(Rejection::new(format!("`{input}` has no host"))),
        Some(_) => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let cases = [
            ("example.com", "example.com"),
            ("Example.COM", "example.com"),
            ("example.com.", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("a-b.c0.example", "a-b.c0.example"),
            ("demo.test", "demo.test"),
        ];
        for (input, expected) in cases {
            assert_eq!(validate_domain(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty"),
            ("   ", "blank"),
            ("https://x.com", "is a URL"),
            ("https://x.com/a", "use just the host name, `x.com`"),
            ("x..com", "empty label"),
            (".x.com", "empty label"),
            ("-x.com", "hyphen"),
            ("x-.com", "hyphen"),
            ("my_site.com", "underscores"),
            ("ex ample.com", "whitespace"),
            (" example.com", "use `example.com`"),
            ("localhost", "single label"),
            ("example.com/path", "has a path"),
            ("example.com:8080", "has a port"),
            ("192.0.2.1", "IPv4 address"),
            ("::1", "IPv6 address"),
            ("[2001:db8::1]", "IPv6 address"),
            ("me@example.com", "e-mail"),
            ("ex!ample.com", "contains `!`"),
            ("*.example.com", "contains `*`"),
            ("example.123", "all-numeric"),
            (&long_label, "the DNS limit is 63"),
            (&long_name, "the DNS limit is 253"),
            ("xn--zz--.example", "internationalised"),
        ];
        for (input, needle) in cases {
            match validate_domain(input) {
                Ok(ok) => panic!("{input:?} accepted as {ok}"),
                Err(message) => assert!(message.contains(needle), "{input:?}: {message}"),
            }
        }
    }

    #[test]
    fn within_means_equal_or_below() {
        assert!(is_within("example.com", "example.com"));
        assert!(is_within("a.b.example.com", "example.com"));
        assert!(!is_within("badexample.com", "example.com"));
        assert!(!is_within("example.com.evil", "example.com"));
    }

    #[test]
    fn hosts_resolve_from_labels_or_full_names() {
        assert_eq!(
            resolve_host("app", "example.com"),
            Ok("app.example.com".into())
        );
        assert_eq!(
            resolve_host("APP.example.com", "example.com"),
            Ok("app.example.com".into())
        );
        assert!(resolve_host("app.example.org", "example.com").is_err());
        assert!(resolve_host("app_x", "example.com").is_err());
    }
}
