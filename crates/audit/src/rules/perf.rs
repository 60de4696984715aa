//! Performance rules: text that travels uncompressed. (Compression matters most on the landing page, where paid
//! traffic arrives on mobile networks.)

use super::{host_of, resolvable};
use launchready_findings::facts::{ChainEnd, Facts};
use launchready_findings::{Finding, Severity, Stage};

/// Below this, compression saves less than a packet.
const MIN_COMPRESSIBLE: usize = 1024;

fn compressible(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.contains("javascript")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("svg")
}

pub(crate) fn judge(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for chain in facts.chains.iter().filter(|c| c.end == ChainEnd::Final) {
        let Some(hop) = chain.last() else { continue };
        if seen.contains(&hop.url.as_str())
            || !host_of(&hop.url).is_some_and(|h| resolvable(facts, &h))
        {
            continue;
        }
        let Some(content_type) = hop.header("content-type").filter(|ct| compressible(ct)) else {
            continue;
        };
        seen.push(&hop.url);
        let encoded = hop.header("content-encoding").is_some_and(|e| {
            matches!(
                e.trim().to_ascii_lowercase().as_str(),
                "gzip" | "br" | "deflate" | "zstd"
            )
        });
        let length = hop
            .header("content-length")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .or_else(|| hop.body.as_ref().map(String::len))
            .unwrap_or(0);
        if !encoded
            && length >= MIN_COMPRESSIBLE
            && hop.status.is_some_and(|s| (200..300).contains(&s))
        {
            findings.push(
                Finding::new(
                    "perf.uncompressed",
                    Stage::EdgeCaching,
                    Severity::Medium,
                    &hop.url,
                    format!("{} ({length} bytes of {content_type}) is sent uncompressed", hop.url),
                )
                .evidence("the request offered `accept-encoding: gzip, deflate, br`; the response has no content-encoding")
                .remediation("Enable gzip or Brotli for HTML, CSS and JavaScript at the server or CDN; text shrinks 3–5×.")
                .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Compression"),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{hop, set_chain, site};

    fn landing(headers: &[(&str, &str)], body_len: usize) -> Facts {
        let mut facts = site();
        let mut page = hop("https://www.demo.test/", 200, None);
        page.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        page.body = Some("x".repeat(body_len));
        set_chain(&mut facts, "https://www.demo.test/", vec![page]);
        facts
    }

    #[test]
    fn large_uncompressed_html_is_medium() {
        let findings = judge(&landing(
            &[("content-type", "text/html; charset=utf-8")],
            20_000,
        ));
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].id.as_str(), findings[0].severity),
            ("perf.uncompressed", Severity::Medium)
        );
    }

    #[test]
    fn compressed_small_or_binary_responses_are_fine() {
        assert!(
            judge(&landing(
                &[("content-type", "text/html"), ("content-encoding", "br")],
                20_000
            ))
            .is_empty()
        );
        assert!(judge(&landing(&[("content-type", "text/html")], 300)).is_empty());
        assert!(judge(&landing(&[("content-type", "image/jpeg")], 90_000)).is_empty());
    }
}
