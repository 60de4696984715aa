//! Response-header rules: HSTS on the entry points, the security headers of the landing page and sign-in pages,
//! version leaks, session cookies, and pages that must never sit in a shared cache.

use super::{Exposure, exposure, host_of, resolvable};
use launchready_findings::facts::{ChainEnd, ChainFacts, ChainPurpose, Facts, HopFacts};
use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::{Manifest, RouteKind};

const MDN_HSTS: &str =
    "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Strict-Transport-Security";
const ONE_YEAR: u64 = 31_536_000;

pub(crate) fn judge(facts: &Facts, manifest: &Manifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    hsts(facts, manifest, &mut findings);
    security_headers(facts, manifest, &mut findings);
    version_leaks(facts, &mut findings);
    cookies_and_caching(facts, manifest, &mut findings);
    findings
}

/// The final response of a chain that ended normally on a host DNS resolves.
fn final_hop<'a>(facts: &Facts, chain: &'a ChainFacts) -> Option<&'a HopFacts> {
    let hop = chain.last()?;
    let host = host_of(&hop.url)?;
    (chain.end == ChainEnd::Final && hop.status.is_some() && resolvable(facts, &host))
        .then_some(hop)
}

/// Directives of a header like HSTS or Cache-Control, lower-cased: `("max-age", Some("300"))`.
fn directives(value: &str) -> Vec<(String, Option<String>)> {
    value
        .split([';', ','])
        .filter_map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"').to_string())),
                None => (part, None),
            };
            Some((name.to_ascii_lowercase(), value))
        })
        .collect()
}

fn directive<'a>(parsed: &'a [(String, Option<String>)], name: &str) -> Option<&'a Option<String>> {
    parsed.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The first https response of `host`'s own root (`https://host/`), redirect or not.
fn first_https_hop<'a>(facts: &'a Facts, host: &str) -> Option<&'a HopFacts> {
    let start = format!("https://{host}/");
    facts
        .chains
        .iter()
        .find(|c| {
            c.start == start
                && matches!(
                    c.purpose,
                    ChainPurpose::EntryPoint | ChainPurpose::Subdomain
                )
        })
        .and_then(|c| c.hops.first())
        .filter(|hop| hop.status.is_some() && resolvable(facts, host))
}

/// Whether the apex's HSTS covers every subdomain for a year (for visitors who have been to the apex).
fn apex_covers_subdomains(facts: &Facts) -> bool {
    first_https_hop(facts, &facts.domain)
        .and_then(|hop| hop.header("strict-transport-security"))
        .is_some_and(|value| {
            let parsed = directives(value);
            directive(&parsed, "includesubdomains").is_some()
                && directive(&parsed, "max-age")
                    .and_then(|v| v.as_deref())
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|age| age >= ONE_YEAR)
        })
}

fn hsts(facts: &Facts, manifest: &Manifest, findings: &mut Vec<Finding>) {
    // Each host's own first https response counts, redirect or not: browsers honour HSTS on a 301, and the
    // preload list requires it on the apex's redirect. Every host is judged, with severity by its exposure.
    let covered = apex_covers_subdomains(facts);
    for host in &facts.hosts {
        let host = host.name.clone();
        let Some(hop) = first_https_hop(facts, &host) else {
            continue;
        };
        let exposure = exposure(facts, manifest, &host);
        let Some(value) = hop.header("strict-transport-security") else {
            let apex_covers = covered && exposure != Exposure::Key;
            let severity = match (exposure, apex_covers) {
                (Exposure::Key, _) | (Exposure::Sensitive, false) => Severity::High,
                (Exposure::Sensitive, true) | (Exposure::Ordinary, false) => Severity::Medium,
                (Exposure::Ordinary, true) => Severity::Low,
            };
            let mut finding = Finding::new("hsts.missing", Stage::EdgeCaching, severity, &host, format!("{host} does not send Strict-Transport-Security"))
                .evidence(format!("{} [{}] has no strict-transport-security header", hop.url, hop.status.unwrap_or_default()))
                .remediation("Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every https response, so browsers never try plain http again.")
                .reference(MDN_HSTS);
            if apex_covers {
                finding = finding.evidence(format!("{}'s HSTS has includeSubDomains, which protects {host} only for visitors who have been to {} first", facts.domain, facts.domain));
            }
            findings.push(finding);
            continue;
        };
        let parsed = directives(value);
        let max_age = directive(&parsed, "max-age")
            .and_then(|v| v.as_deref())
            .and_then(|v| v.parse::<u64>().ok());
        let evidence = format!("strict-transport-security: {value}");
        if max_age.is_none_or(|age| age < ONE_YEAR) {
            findings.push(
                Finding::new(
                    "hsts.max_age_short",
                    Stage::EdgeCaching,
                    if exposure == Exposure::Ordinary {
                        Severity::Low
                    } else {
                        Severity::Medium
                    },
                    &host,
                    format!("HSTS on {host} lasts {}", max_age.map_or("an unreadable time".to_string(), |a| format!("{a} s, under a year"))),
                )
                .evidence(evidence.clone())
                .remediation("Raise max-age to 31536000 (one year) once https works everywhere; short lifetimes leave returning visitors exposed.")
                .reference(MDN_HSTS),
            );
        }
        let include_subdomains = directive(&parsed, "includesubdomains").is_some();
        if !include_subdomains {
            findings.push(
                Finding::new("hsts.no_include_subdomains", Stage::EdgeCaching, if exposure == Exposure::Key { Severity::Low } else { Severity::Info }, &host, format!("HSTS on {host} does not cover subdomains"))
                    .evidence(evidence.clone())
                    .remediation("Add includeSubDomains once every subdomain serves https, so app., members. and the rest are protected too.")
                    .reference(MDN_HSTS),
            );
        }
        let preload_ready = max_age.is_some_and(|a| a >= ONE_YEAR)
            && include_subdomains
            && directive(&parsed, "preload").is_some();
        if host == facts.domain {
            findings.push(
                Finding::new(
                    "hsts.preload",
                    Stage::EdgeCaching,
                    Severity::Info,
                    &host,
                    if preload_ready {
                        format!("{host} meets the HSTS preload header requirements")
                    } else {
                        format!("{host} is not ready for the HSTS preload list")
                    },
                )
                .evidence(evidence)
                .remediation("For preload: max-age of at least a year, includeSubDomains and preload, then submit the domain at hstspreload.org.")
                .reference("https://hstspreload.org/#submission-requirements"),
            );
        }
    }
    let mut over_http: Vec<String> = Vec::new();
    for hop in facts.chains.iter().flat_map(|c| c.hops.iter()) {
        if hop.url.starts_with("http://")
            && hop.header("strict-transport-security").is_some()
            && let Some(host) = host_of(&hop.url)
            && !over_http.contains(&host)
        {
            over_http.push(host.clone());
            findings.push(
                Finding::new(
                    "hsts.over_http",
                    Stage::EdgeCaching,
                    Severity::Info,
                    &host,
                    format!("{host} sends HSTS over plain http, where browsers ignore it"),
                )
                .evidence(hop.url.clone())
                .remediation(
                    "Send HSTS on https responses; on http it has no effect (RFC 6797 §8.1).",
                )
                .reference("https://www.rfc-editor.org/rfc/rfc6797#section-8.1"),
            );
        }
    }
}

/// The landing page and the sign-in/payment pages: where clickjacking and injected scripts cost money.
fn sensitive_pages<'a>(facts: &'a Facts, manifest: &Manifest) -> Vec<(&'a HopFacts, bool)> {
    let mut pages = Vec::new();
    for chain in &facts.chains {
        let sensitive_route = matches!(
            route_kind(manifest, chain),
            Some(RouteKind::Login | RouteKind::Checkout | RouteKind::Signup)
        );
        let landing = chain.start == facts.canonical_url;
        // A subdomain's own root, when it serves an HTML page there: app., members. and the rest carry logins.
        let subdomain_page = chain.purpose == ChainPurpose::Subdomain
            && chain.start.starts_with("https://")
            && chain
                .last()
                .and_then(|hop| hop.header("content-type"))
                .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
        if (landing || sensitive_route || subdomain_page)
            && let Some(hop) = final_hop(facts, chain)
            && hop.status.is_some_and(|s| (200..300).contains(&s))
            && !pages
                .iter()
                .any(|(h, _): &(&HopFacts, bool)| h.url == hop.url)
        {
            pages.push((hop, landing));
        }
    }
    pages
}

fn security_headers(facts: &Facts, manifest: &Manifest, findings: &mut Vec<Finding>) {
    for (hop, landing) in sensitive_pages(facts, manifest) {
        let csp = hop.header("content-security-policy");
        let frame_ancestors =
            csp.is_some_and(|v| v.to_ascii_lowercase().contains("frame-ancestors"));
        let ordinary = host_of(&hop.url)
            .is_some_and(|host| exposure(facts, manifest, &host) == Exposure::Ordinary);
        if hop.header("x-frame-options").is_none() && !frame_ancestors {
            findings.push(
                Finding::new("headers.frame.missing", Stage::EdgeCaching, if ordinary { Severity::Low } else { Severity::Medium }, &hop.url, format!("{} can be framed by any site (clickjacking)", hop.url))
                    .evidence("no X-Frame-Options and no CSP frame-ancestors")
                    .remediation("Send `Content-Security-Policy: frame-ancestors 'self'` (or `X-Frame-Options: DENY`) so another site cannot overlay your login or checkout.")
                    .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy/frame-ancestors"),
            );
        }
        if !landing {
            continue;
        }
        let missing = [
            (
                "content-security-policy",
                "headers.csp.missing",
                Severity::Medium,
                "Send a Content-Security-Policy (start with `default-src 'self'` in report-only mode) to limit what injected scripts can do.",
                "https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP",
            ),
            (
                "x-content-type-options",
                "headers.xcto.missing",
                Severity::Low,
                "Send `X-Content-Type-Options: nosniff` so browsers do not guess content types.",
                "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Content-Type-Options",
            ),
            (
                "referrer-policy",
                "headers.referrer.missing",
                Severity::Low,
                "Send `Referrer-Policy: strict-origin-when-cross-origin` so member URLs do not leak to third parties.",
                "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Referrer-Policy",
            ),
        ];
        for (header, id, severity, fix, reference) in missing {
            if hop.header(header).is_none() {
                findings.push(
                    Finding::new(
                        id,
                        Stage::EdgeCaching,
                        severity,
                        &hop.url,
                        format!("the landing page sends no {header} header"),
                    )
                    .evidence(format!("{} [{}]", hop.url, hop.status.unwrap_or_default()))
                    .remediation(fix)
                    .reference(reference),
                );
            }
        }
    }
}

fn version_leaks(facts: &Facts, findings: &mut Vec<Finding>) {
    let mut seen: Vec<String> = Vec::new();
    for hop in facts.chains.iter().flat_map(|c| c.hops.iter()) {
        let Some(host) = host_of(&hop.url) else {
            continue;
        };
        if seen.contains(&host) {
            continue;
        }
        let leaks: Vec<String> = ["server", "x-powered-by", "x-aspnet-version"]
            .iter()
            .filter_map(|name| hop.header(name).map(|v| (name, v)))
            .filter(|(_, v)| v.chars().any(|c| c.is_ascii_digit()))
            .map(|(name, v)| format!("{name}: {v}"))
            .collect();
        if !leaks.is_empty() {
            seen.push(host.clone());
            findings.push(
                Finding::new("headers.version_leak", Stage::EdgeCaching, Severity::Low, &host, format!("{host} announces its software versions"))
                    .evidence_lines(leaks)
                    .remediation("Hide version numbers (nginx `server_tokens off`, remove X-Powered-By); they tell attackers which exploits to try.")
                    .reference("https://owasp.org/www-project-secure-headers/"),
            );
        }
    }
}

/// Routes whose responses carry one member's data: they must never be stored by a shared cache.
fn private_route(manifest: &Manifest, chain: &ChainFacts) -> bool {
    matches!(
        route_kind(manifest, chain),
        Some(RouteKind::Login | RouteKind::Signup | RouteKind::Checkout | RouteKind::Member)
    )
}

/// The kind the manifest gives the route a chain was gathered for; `None` for chains that are not routes.
fn route_kind<'a>(manifest: &'a Manifest, chain: &ChainFacts) -> Option<&'a RouteKind> {
    if chain.purpose != ChainPurpose::Route {
        return None;
    }
    let name = chain.label.as_deref()?;
    manifest
        .routes
        .iter()
        .find(|r| r.name == name)
        .map(|r| &r.kind)
}

fn cookies_and_caching(facts: &Facts, manifest: &Manifest, findings: &mut Vec<Finding>) {
    // Member pages that answered (an error page for a missing route is the route rule's business). The same URL
    // can also be reached through another chain (a subdomain's root redirecting to /login), so privacy belongs
    // to the URL, not to the chain it was seen in.
    let private_pages: Vec<&str> = facts
        .chains
        .iter()
        .filter(|chain| private_route(manifest, chain))
        .filter_map(|chain| chain.last())
        .filter(|hop| hop.status.is_some_and(|s| (200..300).contains(&s)))
        .map(|hop| hop.url.as_str())
        .collect();
    let mut judged: Vec<&str> = Vec::new();
    // One finding per host and cookie name: the same session cookie set on every page is one problem.
    let mut cookies_seen: Vec<String> = Vec::new();
    for hop in facts.chains.iter().flat_map(|c| c.hops.iter()) {
        if hop.status.is_none() || judged.contains(&hop.url.as_str()) {
            continue;
        }
        let cookies: Vec<&str> = hop.header_values("set-cookie").collect();
        let private = private_pages.contains(&hop.url.as_str());
        if cookies.is_empty() && !private {
            continue;
        }
        judged.push(&hop.url);
        // Every cookie a member page sets is judged; elsewhere (any host, landing page included) only the
        // ones named like a session, since analytics cookies are read by page scripts on purpose.
        let judged_cookies: Vec<&str> = cookies
            .iter()
            .copied()
            .filter(|cookie| private || session_like(cookie))
            .filter(|cookie| {
                let key = format!(
                    "{}|{}",
                    host_of(&hop.url).unwrap_or_default(),
                    cookie.split('=').next().unwrap_or_default().trim()
                );
                !cookies_seen.contains(&key) && {
                    cookies_seen.push(key);
                    true
                }
            })
            .collect();
        cookie_flags(hop, &judged_cookies, findings);
        cache_privacy(hop, !cookies.is_empty(), findings);
    }
}

/// A cookie whose name says it holds a session or a credential.
fn session_like(cookie: &str) -> bool {
    let name = cookie
        .split('=')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // CSRF tokens in the double-submit pattern (XSRF-TOKEN) are meant to be read by scripts.
    !name.contains("csrf")
        && !name.contains("xsrf")
        && ["sess", "sid", "auth", "token", "login", "remember", "jwt"]
            .iter()
            .any(|word| name.contains(word))
}

fn cookie_flags(hop: &HopFacts, cookies: &[&str], findings: &mut Vec<Finding>) {
    for cookie in cookies {
        let name = cookie.split('=').next().unwrap_or_default().trim();
        let attributes: Vec<String> = cookie
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        let has = |attr: &str| {
            attributes
                .iter()
                .any(|a| a == attr || a.starts_with(&format!("{attr}=")))
        };
        let shown = format!("set-cookie: {name}=…; {}", attributes.join("; "));
        let checks = [
            (
                "secure",
                "cookie.secure.missing",
                Severity::High,
                "is sent without Secure, so it can travel over plain http",
                "Add `Secure` so the session never leaves https.",
            ),
            (
                "httponly",
                "cookie.httponly.missing",
                Severity::Medium,
                "is readable by page scripts (no HttpOnly)",
                "Add `HttpOnly` so an injected script cannot steal the session.",
            ),
            (
                "samesite",
                "cookie.samesite.missing",
                Severity::Medium,
                "has no SameSite attribute",
                "Add `SameSite=Lax` (or Strict) to blunt cross-site request forgery.",
            ),
        ];
        for (attribute, id, severity, problem, fix) in checks {
            if !has(attribute) {
                findings.push(
                    Finding::new(id, Stage::EdgeCaching, severity, &hop.url, format!("the `{name}` cookie set by {} {problem}", hop.url))
                        .evidence(shown.clone())
                        .remediation(fix)
                        .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Cookies#restrict_access_to_cookies"),
                );
            }
        }
    }
}

fn cache_privacy(hop: &HopFacts, sets_cookie: bool, findings: &mut Vec<Finding>) {
    let value = hop.header("cache-control").unwrap_or_default();
    let parsed = directives(value);
    let shared_max_age = directive(&parsed, "s-maxage")
        .and_then(|v| v.as_deref())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let why = if sets_cookie {
        "sets a cookie"
    } else {
        "is a member-only page"
    };
    if directive(&parsed, "public").is_some() || shared_max_age > 0 {
        findings.push(
            Finding::new("cache.private.cacheable", Stage::EdgeCaching, Severity::Blocker, &hop.url, format!("{} {why} but lets shared caches store it", hop.url))
                .evidence(format!("cache-control: {value}"))
                .remediation("Send `Cache-Control: private, no-store` here: a CDN or proxy could otherwise serve one member's page, or session cookie, to the next visitor.")
                .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Cache-Control"),
        );
    } else if directive(&parsed, "no-store").is_none() && directive(&parsed, "private").is_none() {
        findings.push(
            Finding::new("cache.private.unmarked", Stage::EdgeCaching, Severity::High, &hop.url, format!("{} {why} but does not forbid shared caching", hop.url))
                .evidence(if value.is_empty() { "no cache-control header".to_string() } else { format!("cache-control: {value}") })
                .remediation("Send `Cache-Control: private, no-store`; without it, a CDN rule or default can start caching the page.")
                .reference("https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Cache-Control"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{hop, ids, manifest, set_chain, site};

    const GOOD_HSTS: &str = "max-age=63072000; includeSubDomains; preload";

    /// The apex's https answer sends only this `Strict-Transport-Security`.
    fn set_apex_hsts(facts: &mut Facts, value: &str) {
        for chain in facts
            .chains
            .iter_mut()
            .filter(|c| c.start == "https://demo.test/")
        {
            chain.hops[0].headers =
                vec![("strict-transport-security".to_string(), value.to_string())];
        }
    }

    fn with_headers(mut hop: HopFacts, headers: &[(&str, &str)]) -> HopFacts {
        hop.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        hop
    }

    /// The healthy fixture with a well-configured landing page and apex redirect.
    fn hardened() -> Facts {
        let mut facts = site();
        let www = "https://www.demo.test/";
        let landing = with_headers(
            hop(www, 200, None),
            &[
                ("strict-transport-security", GOOD_HSTS),
                (
                    "content-security-policy",
                    "default-src 'self'; frame-ancestors 'none'",
                ),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "strict-origin-when-cross-origin"),
                ("server", "nginx"),
            ],
        );
        set_chain(&mut facts, www, vec![landing.clone()]);
        let apex = with_headers(
            hop("https://demo.test/", 301, Some(www)),
            &[("strict-transport-security", GOOD_HSTS)],
        );
        set_chain(
            &mut facts,
            "https://demo.test/",
            vec![apex.clone(), landing.clone()],
        );
        for sub in ["app", "members", "api", "admin"] {
            let start = format!("https://{sub}.demo.test/");
            let page = with_headers(
                hop(&start, 200, None),
                &[("strict-transport-security", GOOD_HSTS)],
            );
            set_chain(&mut facts, &start, vec![page]);
        }
        facts
    }

    /// The hardened site with `host`'s own https root answering with `headers` only.
    fn subdomain_with(host: &str, headers: &[(&str, &str)]) -> Facts {
        let mut facts = hardened();
        let start = format!("https://{host}/");
        set_chain(
            &mut facts,
            &start,
            vec![with_headers(hop(&start, 200, None), headers)],
        );
        facts
    }

    #[test]
    fn every_host_is_judged_for_hsts_with_severity_by_exposure() {
        // A login host (app.) is as exposed as the apex; a docs host is not.
        let mut facts = subdomain_with("app.demo.test", &[]);
        facts.hosts.push(facts.hosts[2].clone());
        let docs = facts.hosts.last_mut().unwrap();
        docs.name = "docs.demo.test".to_string();
        facts.chains.push(ChainFacts {
            start: "https://docs.demo.test/".to_string(),
            purpose: ChainPurpose::Subdomain,
            label: None,
            hops: vec![with_headers(
                hop("https://docs.demo.test/", 200, None),
                &[("strict-transport-security", "max-age=300")],
            )],
            end: ChainEnd::Final,
        });
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [
                ("hsts.preload", "demo.test", Severity::Info),
                ("hsts.missing", "app.demo.test", Severity::Medium),
                ("hsts.max_age_short", "docs.demo.test", Severity::Low),
                (
                    "hsts.no_include_subdomains",
                    "docs.demo.test",
                    Severity::Info
                ),
            ],
            "app. is one step lower than the apex here: the apex's includeSubDomains covers it for returning visitors"
        );
        // Without the apex's includeSubDomains, a login host missing HSTS is as bad as the apex missing it.
        set_apex_hsts(&mut facts, "max-age=31536000");
        let judged = judge(&facts, &manifest());
        let found = ids(&judged);
        assert!(
            found.contains(&("hsts.missing", "app.demo.test", Severity::High)),
            "{found:?}"
        );
        assert!(
            found.contains(&("hsts.no_include_subdomains", "demo.test", Severity::Low)),
            "{found:?}"
        );
    }

    #[test]
    fn a_subdomain_page_without_framing_protection_is_reported_by_exposure() {
        let html = [
            ("strict-transport-security", GOOD_HSTS),
            ("content-type", "text/html; charset=utf-8"),
        ];
        let facts = subdomain_with("members.demo.test", &html);
        let judged = judge(&facts, &manifest());
        let found = ids(&judged);
        assert!(
            found.contains(&(
                "headers.frame.missing",
                "https://members.demo.test/",
                Severity::Medium
            )),
            "{found:?}"
        );
        // The same page with frame-ancestors is fine; a JSON API root is not a page to frame.
        let protected = subdomain_with(
            "members.demo.test",
            &[
                html[0],
                html[1],
                ("content-security-policy", "frame-ancestors 'self'"),
            ],
        );
        assert_eq!(
            ids(&judge(&protected, &manifest())),
            [("hsts.preload", "demo.test", Severity::Info)]
        );
        let api = subdomain_with(
            "api.demo.test",
            &[html[0], ("content-type", "application/json")],
        );
        assert_eq!(
            ids(&judge(&api, &manifest())),
            [("hsts.preload", "demo.test", Severity::Info)]
        );
    }

    #[test]
    fn session_cookies_are_judged_on_any_host_but_analytics_and_csrf_cookies_are_not() {
        let facts = subdomain_with(
            "admin.demo.test",
            &[
                ("strict-transport-security", GOOD_HSTS),
                (
                    "set-cookie",
                    "admin_session=abc; Path=/; Secure; SameSite=Lax",
                ),
                ("set-cookie", "_ga=GA1.2.3; Path=/"),
                (
                    "set-cookie",
                    "XSRF-TOKEN=abc; Path=/; Secure; SameSite=Strict",
                ),
                ("cache-control", "private, no-store"),
            ],
        );
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [
                ("hsts.preload", "demo.test", Severity::Info),
                (
                    "cookie.httponly.missing",
                    "https://admin.demo.test/",
                    Severity::Medium
                ),
            ]
        );
    }

    #[test]
    fn a_hardened_site_has_only_the_preload_note() {
        assert_eq!(
            ids(&judge(&hardened(), &manifest())),
            [("hsts.preload", "demo.test", Severity::Info)]
        );
    }

    #[test]
    fn missing_short_and_narrow_hsts() {
        let mut facts = hardened();
        let www = "https://www.demo.test/";
        let mut landing = facts.chains.iter().find(|c| c.start == www).unwrap().hops[0].clone();
        landing
            .headers
            .retain(|(n, _)| n != "strict-transport-security");
        set_chain(&mut facts, www, vec![landing]);
        set_apex_hsts(&mut facts, "max-age=300");
        assert_eq!(
            ids(&judge(&facts, &manifest())),
            [
                ("hsts.max_age_short", "demo.test", Severity::Medium),
                ("hsts.no_include_subdomains", "demo.test", Severity::Low),
                ("hsts.preload", "demo.test", Severity::Info),
                ("hsts.missing", "www.demo.test", Severity::High),
            ]
        );
    }

    #[test]
    fn hsts_over_plain_http_is_noted() {
        let mut facts = hardened();
        set_chain(
            &mut facts,
            "http://demo.test/",
            vec![with_headers(
                hop("http://demo.test/", 301, Some("https://www.demo.test/")),
                &[("strict-transport-security", GOOD_HSTS)],
            )],
        );
        assert!(ids(&judge(&facts, &manifest())).contains(&(
            "hsts.over_http",
            "demo.test",
            Severity::Info
        )));
    }

    #[test]
    fn a_bare_landing_page_misses_every_security_header_and_leaks_versions() {
        let mut facts = hardened();
        let www = "https://www.demo.test/";
        set_chain(
            &mut facts,
            www,
            vec![with_headers(
                hop(www, 200, None),
                &[
                    ("strict-transport-security", GOOD_HSTS),
                    ("x-powered-by", "PHP/8.1.2"),
                ],
            )],
        );
        let findings = judge(&facts, &manifest());
        let found = ids(&findings);
        for expected in [
            ("headers.frame.missing", www, Severity::Medium),
            ("headers.csp.missing", www, Severity::Medium),
            ("headers.xcto.missing", www, Severity::Low),
            ("headers.referrer.missing", www, Severity::Low),
            ("headers.version_leak", "www.demo.test", Severity::Low),
        ] {
            assert!(found.contains(&expected), "{expected:?} not in {found:?}");
        }
    }

    fn login_manifest() -> Manifest {
        Manifest::parse(
            "[site]\ndomain = \"demo.test\"\n[[route]]\nname = \"login\"\nhost = \"app\"\npath = \"/login\"\nkind = \"login\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap()
    }

    fn with_login(facts: &mut Facts, headers: &[(&str, &str)]) {
        let url = "https://app.demo.test/login";
        facts.chains.push(ChainFacts {
            start: url.to_string(),
            purpose: ChainPurpose::Route,
            label: Some("login".to_string()),
            hops: vec![with_headers(hop(url, 200, None), headers)],
            end: ChainEnd::Final,
        });
    }

    #[test]
    fn session_cookies_need_secure_httponly_and_samesite() {
        let mut facts = hardened();
        with_login(
            &mut facts,
            &[
                ("set-cookie", "sid=abc123; Path=/"),
                ("cache-control", "private, no-store"),
                ("x-frame-options", "DENY"),
            ],
        );
        let url = "https://app.demo.test/login";
        assert_eq!(
            ids(&judge(&facts, &login_manifest())),
            [
                ("hsts.preload", "demo.test", Severity::Info),
                ("cookie.secure.missing", url, Severity::High),
                ("cookie.httponly.missing", url, Severity::Medium),
                ("cookie.samesite.missing", url, Severity::Medium),
            ]
        );
        let mut good = hardened();
        with_login(
            &mut good,
            &[
                ("set-cookie", "sid=abc; Secure; HttpOnly; SameSite=Lax"),
                ("cache-control", "no-store"),
                ("x-frame-options", "DENY"),
            ],
        );
        assert_eq!(
            ids(&judge(&good, &login_manifest())),
            [("hsts.preload", "demo.test", Severity::Info)]
        );
    }

    #[test]
    fn private_pages_in_shared_caches_are_blockers_and_unmarked_ones_high() {
        let url = "https://app.demo.test/login";
        for (cache_control, expected) in [
            (
                Some("public, max-age=600"),
                ("cache.private.cacheable", url, Severity::Blocker),
            ),
            (None, ("cache.private.unmarked", url, Severity::High)),
            (
                Some("s-maxage=60, max-age=0"),
                ("cache.private.cacheable", url, Severity::Blocker),
            ),
        ] {
            let mut facts = hardened();
            let mut headers = vec![("x-frame-options", "DENY")];
            if let Some(value) = cache_control {
                headers.insert(0, ("cache-control", value));
            }
            with_login(&mut facts, &headers);
            assert!(
                ids(&judge(&facts, &login_manifest())).contains(&expected),
                "{cache_control:?}: {expected:?}"
            );
        }
    }
}
