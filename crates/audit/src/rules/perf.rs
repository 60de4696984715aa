//! Performance rules: text that travels uncompressed, static assets browsers and CDNs may not cache, and a
//! landing page that loads slowly — where paid traffic arrives, often on mobile networks.

use super::{host_of, resolvable};
use launchready_findings::facts::{ChainEnd, Facts, HopFacts};
use launchready_findings::{Finding, Severity, Stage};
use std::time::Duration;

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

/// Static assets should be cacheable for at least a day.
const MIN_STATIC_MAX_AGE: u64 = 86_400;

/// `landing_budget` is the manifest's `[audit] landing_budget`: the p95 load time over which the page is slow.
pub(crate) fn judge(facts: &Facts, landing_budget: Duration) -> Vec<Finding> {
    let mut findings = uncompressed(facts);
    findings.extend(static_caching(facts));
    findings.extend(landing_speed(facts, landing_budget.as_secs_f64() * 1000.0));
    findings
}

fn uncompressed(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let finals = facts
        .chains
        .iter()
        .filter(|c| c.end == ChainEnd::Final)
        .filter_map(|c| c.last());
    let assets = facts
        .landing
        .iter()
        .flat_map(|l| l.assets.iter().map(|a| &a.first));
    for hop in finals.chain(assets) {
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

fn max_age(cache_control: &str) -> Option<u64> {
    cache_control.split(',').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| value.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

fn static_caching(facts: &Facts) -> Vec<Finding> {
    let Some(landing) = &facts.landing else {
        return Vec::new();
    };
    let mut uncached = Vec::new();
    let mut missed = Vec::new();
    for asset in &landing.assets {
        if !asset.first.status.is_some_and(|s| (200..300).contains(&s)) {
            continue;
        }
        let cache_control = asset
            .first
            .header("cache-control")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let forbids = cache_control.contains("no-store") || cache_control.contains("no-cache");
        let long_enough = cache_control.contains("immutable")
            || max_age(&cache_control).is_some_and(|age| age >= MIN_STATIC_MAX_AGE);
        if forbids || !long_enough {
            let shown = if cache_control.is_empty() {
                "no cache-control".to_string()
            } else {
                format!("cache-control: {cache_control}")
            };
            uncached.push(format!("{} ({shown})", asset.url));
        }
        let status = |hop: &HopFacts| {
            hop.header("cf-cache-status")
                .or_else(|| hop.header("x-cache"))
                .map(str::to_ascii_uppercase)
        };
        if let (Some(first), Some(second)) =
            (status(&asset.first), asset.second.as_ref().and_then(status))
            && first.contains("MISS")
            && second.contains("MISS")
        {
            missed.push(format!("{}: {first}, then {second}", asset.url));
        }
    }
    let mut findings = Vec::new();
    if !uncached.is_empty() {
        findings.push(
            Finding::new(
                "cache.static.uncached",
                Stage::EdgeCaching,
                Severity::Medium,
                &landing.url,
                format!("{} static asset(s) of the landing page cannot be cached for a day", uncached.len()),
            )
            .evidence_lines(uncached)
            .remediation("Serve versioned CSS, JS, images and fonts with `Cache-Control: public, max-age=31536000, immutable`; every visit otherwise re-downloads them.")
            .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching"),
        );
    }
    if !missed.is_empty() {
        findings.push(
            Finding::new(
                "cache.static.miss",
                Stage::EdgeCaching,
                Severity::Info,
                &landing.url,
                format!("{} asset(s) missed the edge cache twice in a row", missed.len()),
            )
            .evidence_lines(missed)
            .remediation("Check the CDN's cache rules for static paths; a second MISS means every visitor goes to the origin.")
            .reference("https://developers.cloudflare.com/cache/concepts/cache-responses/"),
        );
    }
    findings
}

/// The nearest-rank percentile of `values` (sorted ascending).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn landing_speed(facts: &Facts, budget_ms: f64) -> Vec<Finding> {
    let Some(landing) = facts.landing.as_ref().filter(|l| !l.samples.is_empty()) else {
        return Vec::new();
    };
    let mut totals: Vec<f64> = landing.samples.iter().map(|s| s.total_ms).collect();
    let mut first_bytes: Vec<f64> = landing.samples.iter().map(|s| s.first_byte_ms).collect();
    totals.sort_by(f64::total_cmp);
    first_bytes.sort_by(f64::total_cmp);
    let p95 = percentile(&totals, 95.0);
    if p95 <= budget_ms {
        return Vec::new();
    }
    vec![
        Finding::new(
            "perf.landing.slow",
            Stage::EdgeCaching,
            Severity::High,
            &landing.url,
            format!("the landing page takes {p95:.0} ms to load (p95), over the {budget_ms:.0} ms budget"),
        )
        .evidence(format!(
            "{} loads of the page and its render-blocking CSS/JS: median {:.0} ms, p95 {p95:.0} ms; first byte median {:.0} ms, p95 {:.0} ms",
            totals.len(),
            percentile(&totals, 50.0),
            percentile(&first_bytes, 50.0),
            percentile(&first_bytes, 95.0)
        ))
        .remediation("Serve the page from the edge cache (or a static build), trim render-blocking CSS/JS, and check the origin's response time under load.")
        .reference("https://web.dev/articles/ttfb"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{hop, set_chain, site};

    /// The rules with the default budget; the budget itself has its own test.
    fn judge(facts: &Facts) -> Vec<Finding> {
        super::judge(facts, Duration::from_millis(500))
    }

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

    fn with_landing(assets: Vec<launchready_findings::facts::AssetFacts>, totals: &[f64]) -> Facts {
        let mut facts = site();
        facts.landing = Some(launchready_findings::facts::LandingFacts {
            url: "https://www.demo.test/".to_string(),
            assets,
            samples: totals
                .iter()
                .map(|t| launchready_findings::facts::LandingSample {
                    first_byte_ms: t / 4.0,
                    total_ms: *t,
                })
                .collect(),
        });
        facts
    }

    fn asset(
        path: &str,
        headers: &[(&str, &str)],
        second: &[(&str, &str)],
    ) -> launchready_findings::facts::AssetFacts {
        let url = format!("https://www.demo.test{path}");
        let with = |h: &[(&str, &str)]| {
            let mut hop = hop(&url, 200, None);
            hop.headers = h
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            hop
        };
        launchready_findings::facts::AssetFacts {
            url: url.clone(),
            kind: "css".to_string(),
            critical: true,
            first: with(headers),
            second: Some(with(second)),
        }
    }

    #[test]
    fn static_assets_need_a_day_of_caching_and_a_double_miss_is_noted() {
        let facts = with_landing(
            vec![
                asset(
                    "/ok.css",
                    &[("cache-control", "public, max-age=31536000, immutable")],
                    &[],
                ),
                asset("/short.css", &[("cache-control", "max-age=600")], &[]),
                asset("/nocache.js", &[("cache-control", "no-cache")], &[]),
                asset("/bare.png", &[], &[]),
                asset(
                    "/edge.css",
                    &[
                        ("cache-control", "max-age=86400"),
                        ("cf-cache-status", "MISS"),
                    ],
                    &[("cf-cache-status", "MISS")],
                ),
            ],
            &[],
        );
        let findings = judge(&facts);
        let ids: Vec<_> = findings
            .iter()
            .map(|f| (f.id.as_str(), f.severity, f.evidence.len()))
            .collect();
        assert_eq!(
            ids,
            [
                ("cache.static.uncached", Severity::Medium, 3),
                ("cache.static.miss", Severity::Info, 1)
            ]
        );
    }

    #[test]
    fn a_slow_p95_is_high_and_a_fast_page_is_fine() {
        let slow = judge(&with_landing(vec![], &[120.0, 130.0, 140.0, 150.0, 900.0]));
        assert_eq!(slow.len(), 1);
        assert_eq!(
            (slow[0].id.as_str(), slow[0].severity),
            ("perf.landing.slow", Severity::High)
        );
        assert!(
            slow[0].evidence[0].contains("median 140 ms, p95 900 ms"),
            "{}",
            slow[0].evidence[0]
        );
        assert!(judge(&with_landing(vec![], &[120.0, 130.0, 140.0, 150.0, 400.0])).is_empty());
    }

    #[test]
    fn the_budget_comes_from_the_manifest() {
        let facts = with_landing(vec![], &[120.0, 130.0, 140.0, 150.0, 900.0]);
        assert!(super::judge(&facts, Duration::from_secs(1)).is_empty());
        let tight = super::judge(&facts, Duration::from_millis(100));
        assert_eq!(tight.len(), 1);
        assert!(
            tight[0].title.contains("over the 100 ms budget"),
            "{}",
            tight[0].title
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 50.0), 3.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 95.0), 5.0);
        assert_eq!(percentile(&[], 95.0), 0.0);
    }
}
