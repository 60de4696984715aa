//! `--connect-to HOST1:PORT1:HOST2:PORT2` with curl's semantics: a request for HOST1:PORT1 connects to
//! HOST2:PORT2 instead, while the URL, Host header and TLS server name stay those of HOST1. An empty field matches
//! (or keeps) anything; IPv6 addresses go in brackets. The first matching rule wins.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    /// Host to match, lower-case; `None` matches every host.
    pub from_host: Option<String>,
    pub from_port: Option<u16>,
    /// Where to connect; `None` keeps the request's host.
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

/// Why a `--connect-to` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid --connect-to `{input}`: {reason} (expected HOST1:PORT1:HOST2:PORT2, e.g. example.com:443:203.0.113.7:443; empty fields match anything, IPv6 in brackets)"
)]
pub struct ConnectToError {
    pub input: String,
    pub reason: String,
}

impl ConnectTo {
    /// The (host, port) to connect to for a request to `host:port`, if this rule applies.
    pub fn apply(&self, host: &str, port: u16) -> Option<(String, u16)> {
        let host_matches = self
            .from_host
            .as_deref()
            .is_none_or(|from| from.eq_ignore_ascii_case(host.trim_end_matches('.')));
        let port_matches = self.from_port.is_none_or(|from| from == port);
        if !(host_matches && port_matches) {
            return None;
        }
        let to_host = self.to_host.clone().unwrap_or_else(|| host.to_string());
        Some((to_host, self.to_port.unwrap_or(port)))
    }
}

/// Applies the first matching rule; without one, the request's own host and port.
pub fn resolve_target(rules: &[ConnectTo], host: &str, port: u16) -> (String, u16) {
    rules
        .iter()
        .find_map(|rule| rule.apply(host, port))
        .unwrap_or_else(|| (host.to_string(), port))
}

impl FromStr for ConnectTo {
    type Err = ConnectToError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ConnectToError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let fields = split_fields(input).map_err(|reason| fail(&reason))?;
        let [from_host, from_port, to_host, to_port]: [String; 4] = fields
            .try_into()
            .map_err(|f: Vec<String>| fail(&format!("it has {} fields, not 4", f.len())))?;
        let port = |text: &str, which: &str| -> Result<Option<u16>, ConnectToError> {
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<u16>() {
                Ok(0) | Err(_) => Err(fail(&format!(
                    "{which} `{text}` is not a port number (1-65535)"
                ))),
                Ok(port) => Ok(Some(port)),
            }
        };
        let host = |text: String, which: &str| -> Result<Option<String>, ConnectToError> {
            if text.is_empty() {
                return Ok(None);
            }
            if text.chars().any(|c| c.is_whitespace() || c == '/') {
                return Err(fail(&format!("{which} `{text}` is not a host name")));
            }
            Ok(Some(text.to_ascii_lowercase()))
        };
        Ok(ConnectTo {
            from_host: host(from_host, "HOST1")?,
            from_port: port(&from_port, "PORT1")?,
            to_host: host(to_host, "HOST2")?,
            to_port: port(&to_port, "PORT2")?,
        })
    }
}

/// Splits on ':' outside brackets, and strips the brackets of an IPv6 literal.
fn split_fields(input: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut in_brackets = false;
    for c in input.chars() {
        match c {
            '[' if !in_brackets && current.is_empty() => in_brackets = true,
            ']' if in_brackets => in_brackets = false,
            ':' if !in_brackets => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if in_brackets {
        return Err("an IPv6 address is missing its closing `]`".to_string());
    }
    fields.push(current);
    Ok(fields)
}

impl fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = |h: &Option<String>| match h {
            Some(h) if h.contains(':') => format!("[{h}]"),
            Some(h) => h.clone(),
            None => String::new(),
        };
        let port = |p: &Option<u16>| p.map(|p| p.to_string()).unwrap_or_default();
        write!(
            f,
            "{}:{}:{}:{}",
            host(&self.from_host),
            port(&self.from_port),
            host(&self.to_host),
            port(&self.to_port)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_curl_forms() {
        let rule: ConnectTo = "example.com:443:203.0.113.7:8443".parse().unwrap();
        assert_eq!(
            rule.apply("example.com", 443),
            Some(("203.0.113.7".to_string(), 8443))
        );
        assert_eq!(rule.apply("example.com", 80), None);
        assert_eq!(rule.apply("www.example.com", 443), None);

        let any: ConnectTo = "::127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            any.apply("a.test", 80),
            Some(("127.0.0.1".to_string(), 9000))
        );

        let v6: ConnectTo = "example.com:443:[::1]:".parse().unwrap();
        assert_eq!(v6.apply("EXAMPLE.com", 443), Some(("::1".to_string(), 443)));
        assert_eq!(v6.to_string(), "example.com:443:[::1]:");
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules: Vec<ConnectTo> = [":80:127.0.0.1:1080", "::127.0.0.1:2000"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        assert_eq!(
            resolve_target(&rules, "a.test", 80),
            ("127.0.0.1".into(), 1080)
        );
        assert_eq!(
            resolve_target(&rules, "a.test", 443),
            ("127.0.0.1".into(), 2000)
        );
        assert_eq!(resolve_target(&[], "a.test", 443), ("a.test".into(), 443));
    }

    #[test]
    fn rejects_malformed_values_with_the_reason() {
        for (input, reason) in [
            ("example.com:443:1.2.3.4", "3 fields"),
            ("example.com:https:1.2.3.4:443", "PORT1 `https`"),
            ("example.com:443:1.2.3.4:70000", "PORT2 `70000`"),
            ("example.com:443:[::1:443", "closing `]`"),
            ("a b:443::", "HOST1 `a b`"),
        ] {
            let err = input.parse::<ConnectTo>().unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
            assert!(err.contains(input), "{input}: {err}");
        }
    }
}
