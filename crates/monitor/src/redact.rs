//! Failure context that is enough to debug and nothing to leak: the request line, the status, the headers and
//! the first KiB of the body, with cookies, `Authorization`, token-like values and email addresses masked.

use regex::Regex;
use std::sync::LazyLock;

/// How much of a body is kept.
pub const BODY_BYTES: usize = 1024;
const MASK: &str = "***";
const SENSITIVE_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
];

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+").ok());
/// `token=…`, `"password": "…"`, `session: …` and friends, in query strings, forms, JSON and text.
static NAMED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:access_|refresh_|id_|auth_|csrf_?|api_?|session_?)?(?:token|key|secret|password|passwd|session|sig|signature|code|csrf)"?\s*[:=]\s*"?)([^&\s",;<>]+)"#,
    )
    .ok()
});
/// Long random-looking runs (session ids, JWTs, API keys) wherever they appear.
static OPAQUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9_\-\.=+/]{32,}").ok());

/// Masks secrets and personal data in free text.
pub fn text(input: &str) -> String {
    let mut out = input.to_string();
    if let Some(re) = NAMED.as_ref() {
        out = re.replace_all(&out, format!("${{1}}{MASK}")).into_owned();
    }
    if let Some(re) = EMAIL.as_ref() {
        out = re.replace_all(&out, "***@***").into_owned();
    }
    if let Some(re) = OPAQUE.as_ref() {
        out = re.replace_all(&out, MASK).into_owned();
    }
    out
}

/// A header value as stored: sensitive headers lose their value (the auth scheme stays), others are masked text.
pub fn header(name: &str, value: &str) -> String {
    if SENSITIVE_HEADERS
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
    {
        match value.split_once(' ') {
            Some((scheme, _)) if name.to_ascii_lowercase().contains("authorization") => {
                format!("{scheme} {MASK}")
            }
            _ => MASK.to_string(),
        }
    } else {
        text(value)
    }
}

/// The context of a failed exchange, ready to store.
pub fn context(
    request_line: &str,
    status: Option<u16>,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let mut out = text(request_line);
    out.push('\n');
    match status {
        Some(status) => out.push_str(&format!("HTTP {status}\n")),
        None => out.push_str("(no response)\n"),
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {}\n", header(name, value)));
    }
    if !body.is_empty() {
        let cut = body.len().min(BODY_BYTES);
        out.push('\n');
        out.push_str(&text(&String::from_utf8_lossy(&body[..cut])));
        if body.len() > cut {
            out.push_str(&format!("\n… ({} more bytes)", body.len() - cut));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_cookies_auth_tokens_and_emails() {
        let headers = vec![
            ("Set-Cookie".to_string(), "sid=abc123; HttpOnly".to_string()),
            ("Authorization".to_string(), "Bearer eyJhbGciOi".to_string()),
            ("Content-Type".to_string(), "text/html".to_string()),
        ];
        let body = br#"{"error":"card declined","email":"jane.doe@example.com","token":"tok_live_9f8e7d","password": "hunter2hunter2"}"#;
        let out = context(
            "POST https://app.example.com/checkout?session=s3cr3t&plan=monthly",
            Some(500),
            &headers,
            body,
        );
        for leak in [
            "abc123",
            "eyJhbGciOi",
            "jane.doe",
            "tok_live_9f8e7d",
            "hunter2",
            "s3cr3t",
        ] {
            assert!(!out.contains(leak), "{leak} leaked in:\n{out}");
        }
        for kept in [
            "POST https://app.example.com/checkout",
            "HTTP 500",
            "Bearer ***",
            "text/html",
            "card declined",
            "plan=monthly",
        ] {
            assert!(out.contains(kept), "{kept} missing in:\n{out}");
        }
    }

    #[test]
    fn keeps_only_the_first_kib() {
        let body = "a ".repeat(2000);
        let out = context("GET https://x/", Some(200), &[], body.as_bytes());
        assert!(out.contains("more bytes"));
        assert!(out.len() < BODY_BYTES + 200);
    }

    #[test]
    fn long_opaque_values_are_masked() {
        let out = text("link https://x/confirm/0123456789abcdef0123456789abcdef0123 sent");
        assert!(!out.contains("0123456789abcdef0123456789abcdef"), "{out}");
    }
}
