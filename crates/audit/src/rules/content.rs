//! Landing-page content rules: insecure (http://) subresources on an https page, and a `<link rel=canonical>`
//! that names another URL than the one visitors land on.

use launchready_findings::facts::{ChainEnd, Facts, HopFacts};
use launchready_findings::{Finding, Severity, Stage};
use scraper::{Html, Selector};
use url::Url;

/// Elements whose URL attribute loads or submits something; a plain-http one is mixed content.
const SUBRESOURCES: &[(&str, &str)] = &[
    ("script[src]", "src"),
    ("link[href]", "href"),
    ("img[src]", "src"),
    ("iframe[src]", "src"),
    ("form[action]", "action"),
    ("source[src]", "src"),
    ("video[src]", "src"),
    ("audio[src]", "src"),
    ("embed[src]", "src"),
    ("object[data]", "data"),
];

/// The landing page: the last hop of the chain that starts at the canonical URL, if it served HTML over https.
fn landing(facts: &Facts) -> Option<&HopFacts> {
    let chain = facts
        .chains
        .iter()
        .find(|c| c.start == facts.canonical_url && c.end == ChainEnd::Final)?;
    let hop = chain.last()?;
    (hop.url.starts_with("https://") && hop.body.is_some()).then_some(hop)
}

/// `<link rel=…>` values are space-separated tokens; only stylesheets and icons load as subresources, a
/// `rel=canonical` or `rel=alternate` link is navigation.
fn loads(element: &scraper::ElementRef<'_>) -> bool {
    if element.value().name() != "link" {
        return true;
    }
    let rel = element
        .value()
        .attr("rel")
        .unwrap_or_default()
        .to_ascii_lowercase();
    rel.split_ascii_whitespace().any(|token| {
        matches!(
            token,
            "stylesheet" | "icon" | "preload" | "modulepreload" | "manifest" | "apple-touch-icon"
        )
    })
}

pub(crate) fn judge(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(hop) = landing(facts) else {
        return findings;
    };
    let document = Html::parse_document(hop.body.as_deref().unwrap_or_default());
    let mut insecure = Vec::new();
    for (css, attribute) in SUBRESOURCES {
        let Ok(selector) = Selector::parse(css) else {
            continue;
        };
        for element in document.select(&selector).filter(loads) {
            if let Some(value) = element.value().attr(attribute)
                && value.trim().to_ascii_lowercase().starts_with("http://")
            {
                insecure.push(format!(
                    "<{} {attribute}=\"{}\">",
                    element.value().name(),
                    value.trim()
                ));
            }
        }
    }
    if !insecure.is_empty() {
        findings.push(
            Finding::new(
                "content.mixed",
                Stage::DnsRouting,
                Severity::High,
                &hop.url,
                format!("the landing page loads {} resource(s) over plain http", insecure.len()),
            )
            .evidence_lines(insecure.into_iter().take(10))
            .remediation("Load every script, stylesheet, image, frame and form target over https:// (or a relative URL); browsers block or flag mixed content and drop the padlock.")
            .reference("https://developer.mozilla.org/en-US/docs/Web/Security/Mixed_content"),
        );
    }
    if let Ok(selector) = Selector::parse("link[rel][href]") {
        let canonical = document.select(&selector).find(|e| {
            e.value().attr("rel").is_some_and(|rel| {
                rel.split_ascii_whitespace()
                    .any(|t| t.eq_ignore_ascii_case("canonical"))
            })
        });
        if let (Some(link), Ok(base)) = (canonical, Url::parse(&hop.url)) {
            let href = link.value().attr("href").unwrap_or_default().trim();
            let declared = base
                .join(href)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| href.to_string());
            if declared != base.as_str() {
                findings.push(
                    Finding::new(
                        "content.canonical_mismatch",
                        Stage::DnsRouting,
                        Severity::Medium,
                        &hop.url,
                        format!("the landing page declares {declared} as canonical, but visitors land on {}", hop.url),
                    )
                    .evidence(format!("<link rel=\"canonical\" href=\"{href}\">"))
                    .remediation("Make the canonical link name the URL the redirects end on, or search engines index a URL that only redirects.")
                    .reference("https://developers.google.com/search/docs/crawling-indexing/consolidate-duplicate-urls"),
                );
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::site;

    fn with_landing_body(body: &str) -> Facts {
        let mut facts = site();
        for chain in facts
            .chains
            .iter_mut()
            .filter(|c| c.start == "https://www.demo.test/")
        {
            if let Some(hop) = chain.hops.last_mut() {
                hop.body = Some(body.to_string());
            }
        }
        facts
    }

    #[test]
    fn http_subresources_on_the_https_landing_page_are_mixed_content() {
        let facts = with_landing_body(
            r#"<html><head><link rel="stylesheet" href="http://cdn.demo.test/a.css">
               <link rel="canonical" href="https://www.demo.test/"><link rel="alternate" href="http://m.demo.test/">
               <script src="https://cdn.demo.test/ok.js"></script></head>
               <body><img src="HTTP://www.demo.test/hero.jpg"><a href="http://elsewhere.test/">a link is fine</a>
               <form action="http://app.demo.test/signup"></form></body></html>"#,
        );
        let findings = judge(&facts);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].id, "content.mixed");
        assert_eq!(findings[0].severity, Severity::High);
        assert_eq!(findings[0].evidence.len(), 3, "{:?}", findings[0].evidence);
    }

    #[test]
    fn a_canonical_link_to_another_url_is_reported_and_a_matching_one_is_not() {
        let mismatch = judge(&with_landing_body(
            r#"<link rel="canonical" href="https://demo.test/">"#,
        ));
        assert_eq!(mismatch.len(), 1);
        assert_eq!(mismatch[0].id, "content.canonical_mismatch");
        assert!(judge(&with_landing_body(r#"<link rel="canonical" href="/">"#)).is_empty());
    }

    #[test]
    fn a_clean_page_has_no_content_findings() {
        assert!(
            judge(&with_landing_body(
                r#"<img src="/hero.jpg"><script src="https://x.test/a.js"></script>"#
            ))
            .is_empty()
        );
    }
}
