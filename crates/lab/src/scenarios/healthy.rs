//! The healthy membership site that [`super::clean`] and [`super::edge`] are built from, with flags for what a
//! test needs: a Cloudflare-like edge in front, the member subdomains, the mail records.

use std::net::Ipv4Addr;

use crate::scenario::{EdgeKind, Handler, Page, Scenario, Site, Zone};

use super::{CLEAN_SPF_RECORD, DEMO_DKIM_RECORD, SITE_CSS};

/// A healthy membership site under one origin (zone and apex), built into a [`Scenario`].
///
/// Always: NS and CAA records, the apex and `www`, every entry point reaching `https://www.{origin}/` in one 301,
/// every host answering over HTTPS with a valid certificate and the protective headers, all records with TTL 300.
/// The flags add the rest:
///
/// - `edge` (off by default): every site behind a Cloudflare-like CDN ([`EdgeKind::Cloudflare`]), with a
///   preload-ready HSTS, the login page on `www`, immutable `/assets/app.css` and `/assets/app.js`, and
///   `origin.{origin}`, a "Flexible SSL" origin that serves the landing page over plain HTTP only. Without it the
///   landing page loads `/assets/site.css` and `/assets/hero.svg`, and the apex also serves `/pricing` and the
///   legacy link `/spring-sale` (one 301 to `https://www.{origin}/pricing`).
/// - `subdomains` (on by default): `app` (home and `/login`, which is `no-store`), `members`, `api` (JSON) and
///   `admin` (401 with a Basic challenge).
/// - `mail` (on by default): MX `mail.{origin}`, SPF `v=spf1 mx -all`, a DKIM key at `s1` and DMARC
///   `p=reject` reporting to `dmarc@{origin}`.
///
/// The apex serves a short list of paths rather than redirecting everything, because a blanket redirect would
/// send legacy links through www in two hops; other apex paths are 404. With `edge`, every body stays under
/// 1 KiB because the lab does not compress and auditors flag text responses from 1 KiB up that arrive
/// uncompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthySite {
    origin: String,
    edge: bool,
    subdomains: bool,
    mail: bool,
}

impl HealthySite {
    /// The site at `origin`, with subdomains and mail and without an edge.
    pub fn new(origin: impl Into<String>) -> Self {
        HealthySite {
            origin: origin.into(),
            edge: false,
            subdomains: true,
            mail: true,
        }
    }

    /// Puts every site behind a Cloudflare-like edge, and adds the directly reachable origin.
    pub fn edge(mut self, on: bool) -> Self {
        self.edge = on;
        self
    }

    /// Serves (or leaves out) `app`, `members`, `api` and `admin`.
    pub fn subdomains(mut self, on: bool) -> Self {
        self.subdomains = on;
        self
    }

    /// Publishes (or leaves out) MX, SPF, DKIM and DMARC.
    pub fn mail(mut self, on: bool) -> Self {
        self.mail = on;
        self
    }

    pub fn build(&self) -> Scenario {
        let mut scenario = Scenario::new().zone(self.zone());
        let apex = || Handler::pages(self.apex_paths());
        scenario = scenario
            .site(self.site(&self.origin).http(apex()).https(apex()))
            .site(
                self.site(&self.host("www"))
                    .https(Handler::pages(self.www_pages())),
            );
        if self.subdomains {
            for site in self.member_sites() {
                scenario = scenario.site(site);
            }
        }
        if self.edge {
            // Flexible SSL: the origin speaks plain HTTP only and never redirects, since the edge (not the
            // visitor) is its client.
            let landing = Page::html(200, self.fill(EDGE_LANDING_HTML));
            scenario = scenario.site(
                Site::new(self.host("origin"))
                    .http(Handler::pages([("/".to_owned(), landing)]))
                    .https(Handler::Close),
            );
        }
        scenario
    }

    fn zone(&self) -> Zone {
        let loopback = Ipv4Addr::LOCALHOST;
        // Explicit rather than generated, so the zone reads like a real one.
        let mut zone = Zone::new(self.origin.as_str())
            .ns("@", &self.host("ns1"))
            .ns("@", &self.host("ns2"))
            .a("ns1", loopback)
            .a("ns2", loopback)
            .a("@", loopback)
            .a("www", loopback);
        if self.subdomains {
            for name in ["app", "members", "api", "admin"] {
                zone = zone.a(name, loopback);
            }
        }
        if self.edge {
            zone = zone.a("origin", loopback);
        }
        zone = zone.caa("@", false, "issue", "launchready.lab");
        if self.mail {
            zone = zone
                .mx("@", 10, &self.host("mail"))
                .a("mail", loopback)
                .txt("@", CLEAN_SPF_RECORD)
                .txt("s1._domainkey", DEMO_DKIM_RECORD)
                .txt(
                    "_dmarc",
                    &format!("v=DMARC1; p=reject; rua=mailto:dmarc@{}", self.origin),
                );
        }
        zone
    }

    fn host(&self, label: &str) -> String {
        format!("{label}.{}", self.origin)
    }

    /// A site at `host`, behind the edge when there is one.
    fn site(&self, host: &str) -> Site {
        let site = Site::new(host);
        if self.edge {
            site.edge(EdgeKind::Cloudflare)
        } else {
            site
        }
    }

    /// The protective headers of the landing site (apex and www).
    fn landing_headers(&self, page: Page) -> Page {
        if self.edge {
            edge_secure(page)
        } else {
            secure(page)
        }
    }

    /// A 301 to `https://www.{origin}{path}`.
    fn to_www(&self, path: &str) -> Page {
        let location = format!("https://www.{}{path}", self.origin);
        self.landing_headers(Page::html(301, "").header("location", location))
    }

    fn apex_paths(&self) -> Vec<(String, Page)> {
        let paths: &[(&str, &str)] = if self.edge {
            &[("/", "/"), ("/login", "/login")]
        } else {
            // The legacy link goes straight to its new home, not via www's /spring-sale.
            &[
                ("/", "/"),
                ("/pricing", "/pricing"),
                ("/spring-sale", "/pricing"),
            ]
        };
        paths
            .iter()
            .map(|(path, to)| (path.to_string(), self.to_www(to)))
            .collect()
    }

    fn www_pages(&self) -> Vec<(String, Page)> {
        let page = |path: &str, page: Page| (path.to_owned(), self.landing_headers(page));
        if self.edge {
            let login = Page::html(200, self.login_html())
                .header("cache-control", "no-store")
                .header("set-cookie", "session=abc; Secure; HttpOnly; SameSite=Lax");
            let js = Page::new(200, EDGE_JS)
                .header("content-type", "text/javascript; charset=utf-8")
                .header("cache-control", IMMUTABLE);
            vec![
                page("/", Page::html(200, self.fill(EDGE_LANDING_HTML))),
                page("/login", login),
                page(
                    "/assets/app.css",
                    Page::css(EDGE_CSS).header("cache-control", IMMUTABLE),
                ),
                page("/assets/app.js", js),
            ]
        } else {
            let year = "public, max-age=31536000";
            let hero = Page::new(200, HERO_SVG)
                .header("content-type", "image/svg+xml")
                .header("cache-control", year);
            vec![
                page("/", Page::html(200, self.fill(LANDING_HTML))),
                page("/pricing", Page::html(200, self.fill(PRICING_HTML))),
                page(
                    "/assets/site.css",
                    Page::css(SITE_CSS).header("cache-control", year),
                ),
                page("/assets/hero.svg", hero),
            ]
        }
    }

    fn member_sites(&self) -> [Site; 4] {
        let pages = |pages: Vec<(&str, Page)>| {
            Handler::pages(
                pages
                    .into_iter()
                    .map(|(path, page)| (path.to_owned(), secure(page))),
            )
        };
        // Login pages carry per-visitor state and must never be cached.
        let login = Page::html(200, self.login_html()).header("cache-control", "no-store");
        let admin = Page::html(401, ADMIN_HTML).header(
            "www-authenticate",
            r#"Basic realm="admin", charset="UTF-8""#,
        );
        [
            self.site(&self.host("app")).https(pages(vec![
                ("/", Page::html(200, self.fill(APP_HTML))),
                ("/login", login),
            ])),
            self.site(&self.host("members"))
                .https(pages(vec![("/", Page::html(200, self.fill(MEMBERS_HTML)))])),
            self.site(&self.host("api"))
                .https(pages(vec![("/", Page::json(200, r#"{"status":"ok"}"#))])),
            self.site(&self.host("admin"))
                .https(pages(vec![("/", admin)])),
        ]
    }

    /// Where members log in: on `www` behind the edge, on `app` otherwise.
    fn login_url(&self) -> String {
        let host = if self.edge { "www" } else { "app" };
        format!("https://{}/login", self.host(host))
    }

    fn login_html(&self) -> String {
        let action = if self.edge {
            "/login".to_owned()
        } else {
            self.login_url()
        };
        self.fill(LOGIN_HTML).replace("{action}", &action)
    }

    /// A page template with the site's origin, brand and login URL filled in.
    fn fill(&self, template: &str) -> String {
        let label = self.origin.split('.').next().unwrap_or_default();
        let mut brand = label.to_owned();
        if let Some(first) = brand.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        template
            .replace("{head}", LANDING_HEAD)
            .replace("{origin}", &self.origin)
            .replace("{brand}", &brand)
            .replace("{login}", &self.login_url())
    }
}

/// `page` with the headers a healthy HTTPS response carries (HSTS, nosniff, a CSP, a referrer policy).
pub fn secure(page: Page) -> Page {
    page.header(
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    )
    .header("x-content-type-options", "nosniff")
    .header(
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'",
    )
    .header("referrer-policy", "strict-origin-when-cross-origin")
}

/// Every protective header a launch checklist asks of the landing site, HSTS preload-ready.
fn edge_secure(page: Page) -> Page {
    page.header(
        "strict-transport-security",
        "max-age=31536000; includeSubDomains; preload",
    )
    .header(
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    )
    .header("x-frame-options", "DENY")
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "strict-origin-when-cross-origin")
}

/// Cache-Control of fingerprinted static assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// How both landing pages begin: the document, its title and description, and the canonical link.
const LANDING_HEAD: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{brand} Club — members-only workshops</title>
  <meta name="description" content="{brand} Club: weekly hands-on workshops for makers.">
  <link rel="canonical" href="https://www.{origin}/">
"#;

const LANDING_HTML: &str = r#"{head}  <link rel="stylesheet" href="https://www.{origin}/assets/site.css">
</head>
<body>
  <header>
    <a class="logo" href="https://www.{origin}/">{brand} Club</a>
    <nav><a href="https://www.{origin}/pricing">Pricing</a> <a href="{login}">Log in</a></nav>
  </header>
  <main>
    <h1>Learn by building, together.</h1>
    <img src="https://www.{origin}/assets/hero.svg" alt="Members at a workshop" width="960" height="540">
    <p><a class="cta" href="{login}">Join the club</a></p>
  </main>
  <footer>&copy; {brand} Club</footer>
</body>
</html>
"#;

const PRICING_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Pricing — {brand} Club</title>
  <link rel="canonical" href="https://www.{origin}/pricing">
  <link rel="stylesheet" href="https://www.{origin}/assets/site.css">
</head>
<body>
  <h1>Pricing</h1>
  <ul>
    <li>Monthly: 12 EUR</li>
    <li>Yearly: 120 EUR</li>
  </ul>
</body>
</html>
"#;

const HERO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="960" height="540" viewBox="0 0 960 540"><rect width="960" height="540" fill="#2b6cb0"/></svg>
"##;

const APP_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>App — {brand} Club</title></head>
<body>
  <h1>{brand} Club app</h1>
  <p><a href="https://app.{origin}/login">Log in</a> to continue.</p>
</body>
</html>
"#;

const LOGIN_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in — {brand} Club</title></head>
<body>
  <h1>Log in</h1>
  <form method="post" action="{action}">
    <label>Email <input type="email" name="email" autocomplete="username" required></label>
    <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>
  </form>
</body>
</html>
"#;

const MEMBERS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Members — {brand} Club</title></head>
<body>
  <h1>Members area</h1>
  <p>Please <a href="{login}">log in</a> to see this month's workshops.</p>
</body>
</html>
"#;

const ADMIN_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authentication required</title></head>
<body><h1>Authentication required</h1></body>
</html>
"#;

const EDGE_LANDING_HTML: &str = r#"{head}  <link rel="stylesheet" href="https://www.{origin}/assets/app.css">
  <script src="https://www.{origin}/assets/app.js" defer></script>
</head>
<body>
  <h1>Learn by building, together.</h1>
  <p><a class="cta" href="{login}">Log in</a></p>
</body>
</html>
"#;

const EDGE_CSS: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem}\n";

const EDGE_JS: &str = "document.documentElement.classList.add(\"js\");\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_leave_out_what_they_name() {
        let bare = HealthySite::new("bare.test")
            .subdomains(false)
            .mail(false)
            .build();
        assert!(bare.clone().site_mut("app.bare.test").is_none());
        let mut bare = bare;
        let zone = bare.zone_mut("bare.test").unwrap();
        assert!(zone.records.iter().all(|r| !r.name.starts_with("app.")));
        assert!(zone.records.iter().all(|r| !r.name.starts_with("_dmarc.")));
        assert!(bare.site_mut("www.bare.test").is_some());
    }

    #[test]
    fn templates_name_the_site() {
        let site = HealthySite::new("shop.test");
        assert_eq!(
            site.fill("{brand} Club at www.{origin}"),
            "Shop Club at www.shop.test"
        );
        assert!(
            site.login_html()
                .contains(r#"action="https://app.shop.test/login""#)
        );
        assert!(site.edge(true).login_html().contains(r#"action="/login""#));
    }
}
