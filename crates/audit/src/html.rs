//! Reading a landing page's HTML for what it loads: stylesheets, scripts, images and fonts, and which of them
//! block the first paint. Used by gathering (what to fetch) — the rules read the fetched facts.

use scraper::{Html, Selector};
use url::Url;

/// A subresource of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub url: Url,
    /// `css`, `js`, `image` or `font`.
    pub kind: &'static str,
    /// Stylesheets and synchronous scripts: the browser waits for them before the first paint.
    pub critical: bool,
}

/// Up to `limit` distinct http(s) assets, in document order, resolved against `base`.
pub fn assets(body: &str, base: &Url, limit: usize) -> Vec<Asset> {
    let document = Html::parse_document(body);
    let mut found: Vec<Asset> = Vec::new();
    let queries: [(&str, &str, &'static str); 5] = [
        ("link[href]", "href", "css"),
        ("script[src]", "src", "js"),
        ("img[src]", "src", "image"),
        ("link[rel~=preload][as=font][href]", "href", "font"),
        ("source[src]", "src", "image"),
    ];
    for (css, attribute, kind) in queries {
        let Ok(selector) = Selector::parse(css) else {
            continue;
        };
        for element in document.select(&selector) {
            let value = element.value();
            let rel = value.attr("rel").unwrap_or_default().to_ascii_lowercase();
            if css.starts_with("link[href]")
                && !rel.split_ascii_whitespace().any(|t| t == "stylesheet")
            {
                continue;
            }
            let Some(url) = value.attr(attribute).and_then(|v| base.join(v.trim()).ok()) else {
                continue;
            };
            if !matches!(url.scheme(), "http" | "https") || found.iter().any(|a| a.url == url) {
                continue;
            }
            let critical = match kind {
                "css" => true,
                "js" => {
                    value.attr("async").is_none()
                        && value.attr("defer").is_none()
                        && value.attr("type") != Some("module")
                }
                _ => false,
            };
            found.push(Asset {
                url,
                kind,
                critical,
            });
            if found.len() >= limit {
                return found;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_assets_in_order_and_marks_the_render_blocking_ones() {
        let base = Url::parse("https://www.demo.test/").unwrap();
        let html = r#"<link rel="stylesheet" href="/a.css"><link rel="canonical" href="/">
            <script src="/sync.js"></script><script src="/later.js" defer></script>
            <img src="hero.jpg"><img src="/a.css"><img src="data:image/png;base64,AAAA">
            <link rel="preload" as="font" href="/f.woff2" crossorigin>"#;
        let found: Vec<_> = assets(html, &base, 20)
            .into_iter()
            .map(|a| (a.url.path().to_string(), a.kind, a.critical))
            .collect();
        assert_eq!(
            found,
            [
                ("/a.css".to_string(), "css", true),
                ("/sync.js".to_string(), "js", true),
                ("/later.js".to_string(), "js", false),
                ("/hero.jpg".to_string(), "image", false),
                ("/f.woff2".to_string(), "font", false),
            ]
        );
        assert_eq!(assets(html, &base, 2).len(), 2);
    }
}
