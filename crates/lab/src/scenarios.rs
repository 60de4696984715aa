//! Ready-made scenarios. [`demo`] is a small membership site with deliberate launch flaws that
//! the rest of the workspace uses for end-to-end tests and demos; [`clean`] is the same kind of
//! site done right, the baseline an audit should pass; [`edge`] is a healthy site behind a
//! Cloudflare-like CDN with its origin reachable directly; both are a [`HealthySite`] with other flags.
//!
//! Deliberate flaws in `demo()` (keep this list in sync when adding more):
//! - `admin.demo.test` has no DNS record (NXDOMAIN);
//! - no `_dmarc.demo.test` record;
//! - `http://demo.test` reaches the canonical `https://www.demo.test` in two redirect hops;
//! - the landing page loads `http://www.demo.test/hero.jpg` (mixed content);
//! - the landing page declares `<link rel="canonical" href="https://demo.test/">`, which
//!   disagrees with where it is served (`https://www.demo.test/`);
//! - `members.demo.test` has a certificate that expires in 9 days;
//! - `https://www.demo.test/old-pricing` redirects (302) to `http://www.demo.test/pricing`, a
//!   downgrade to plain HTTP that the next hop upgrades again;
//! - the legacy link `https://www.demo.test/spring-sale` takes two hops (`/promo`, then
//!   `/pricing`);
//! - the legacy link `https://www.demo.test/black-friday` is a 404;
//! - the manifest's critical `checkout` route, `https://app.demo.test/checkout`, is a 404;
//! - the landing page `https://www.demo.test/` leaks versions (`server: nginx/1.18.0`,
//!   `x-powered-by: PHP/8.1.2`), sends HSTS with `max-age=300` (too short) and has neither a
//!   Content-Security-Policy nor X-Frame-Options;
//! - `https://app.demo.test/login` sets `sid=abc123; Path=/` (no Secure, HttpOnly or
//!   SameSite) and is `cache-control: public, max-age=600`, cacheable by shared caches;
//! - `https://www.demo.test/assets/site.css` is `cache-control: no-cache` (an uncached static
//!   asset).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::scenario::{CertSpec, Handler, Page, Scenario, Site, Zone};

mod healthy;
mod mail;
pub use healthy::{HealthySite, secure};
pub use mail::{
    DKIM_512_RECORD, DKIM_1024_RECORD, GOOD_MTA_STS_POLICY, HOSTILE_MAIL_MANIFEST, MAIL_MANIFEST,
    hostile_mail, mail,
};

/// Apex of the demo zone.
pub const DEMO_ORIGIN: &str = "demo.test";

/// Apex of the clean zone.
pub const CLEAN_ORIGIN: &str = "clean.test";

/// Apex of the edge zone.
pub const EDGE_ORIGIN: &str = "edge.test";

/// A plausible 2048-bit RSA public key; long enough that the TXT record is split into several
/// 255-byte strings, as real DKIM records are.
pub const DEMO_DKIM_RECORD: &str = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu0C5NUfSzyoiZugtplGvKODLqbeoYVnVfzgfEcl/u15hMhJLzVIZalwtvSgv7emK3uH1RKLgQNqVsXFkslAPQLxGB2iy9sVFZJbG4y70o1a/AzC+vT4epWAiAn7gzANgngavwmZp4ymrb9v0xRnWa/Viz452hw5ftUXlIMKJ4E4cNVyPYee/Ltaeqeq9Gdm6+yko5fSEQ/+dMgoYDiDUStQEWdHutAKjjZslM0up1l/6XDYcyxNERxMWr6ojx6jm0RoOnowCtjB66ykYxEAebP8PT2JI2Rd+Q1qgr+Y0IKu2vf6bF0xZXwUdVYSBe9YycbNeYVzsRzFwXK7tSwQwsQIDAQAB";

pub const DEMO_SPF_RECORD: &str = "v=spf1 include:_spf.mailer.test ~all";

/// The demo membership site: zone `demo.test` plus the apex, www, app, members and api sites.
pub fn demo() -> Scenario {
    Scenario::new()
        .zone(demo_zone())
        // The sending provider the demo's SPF record includes.
        .zone(Zone::new("mailer.test").txt("_spf", "v=spf1 ip4:192.0.2.0/24 -all"))
        .site(
            Site::new("demo.test")
                .http(Handler::redirect(301, "https://demo.test", true))
                // Flaw: the apex bounces through its own HTTPS origin before reaching www.
                .https(Handler::redirect(301, "https://www.demo.test", true)),
        )
        .site(
            Site::new("www.demo.test")
                .http(Handler::redirect(301, "https://www.demo.test", true))
                .https(Handler::pages([
                    (
                        "/".to_owned(),
                        // Flaws: version leaks, a five-minute HSTS, no CSP, no X-Frame-Options.
                        Page::html(200, LANDING_HTML)
                            .header("server", "nginx/1.18.0")
                            .header("x-powered-by", "PHP/8.1.2")
                            .header("strict-transport-security", "max-age=300"),
                    ),
                    ("/pricing".to_owned(), Page::html(200, PRICING_HTML)),
                    (
                        "/assets/site.css".to_owned(),
                        // Flaws: a static asset every visit has to revalidate, and a slow one that
                        // blocks the first paint.
                        Page::css(SITE_CSS)
                            .header("cache-control", "no-cache")
                            .delayed(std::time::Duration::from_millis(600)),
                    ),
                    // Flaw: an HTTPS page redirecting to plain HTTP; www's HTTP handler then
                    // upgrades it again, so the chain ends on HTTPS after a downgrade.
                    (
                        "/old-pricing".to_owned(),
                        Page::html(302, "").header("location", "http://www.demo.test/pricing"),
                    ),
                    // Flaw: a legacy link that needs two hops (relative Locations).
                    (
                        "/spring-sale".to_owned(),
                        Page::html(301, "").header("location", "/promo"),
                    ),
                    (
                        "/promo".to_owned(),
                        Page::html(301, "").header("location", "/pricing"),
                    ),
                    // Flaw: a legacy link nobody redirected.
                    (
                        "/black-friday".to_owned(),
                        Page::html(404, OFFER_ENDED_HTML),
                    ),
                ])),
        )
        // Flaw: no /checkout page although the manifest lists it as a critical route.
        .site(
            Site::new("app.demo.test").https(Handler::pages([
                (
                    "/".to_owned(),
                    Page::html(302, "").header("location", "https://app.demo.test/login"),
                ),
                (
                    "/login".to_owned(),
                    // Flaws: a session cookie without Secure/HttpOnly/SameSite, on a login page
                    // that shared caches may store and hand to the next visitor.
                    Page::html(200, LOGIN_HTML)
                        .header("set-cookie", "sid=abc123; Path=/")
                        .header("cache-control", "public, max-age=600"),
                ),
                ("/signup".to_owned(), Page::html(200, SIGNUP_HTML)),
            ])),
        )
        .site(
            Site::new("members.demo.test")
                // Flaw: renewal is overdue.
                .cert(CertSpec::ExpiresInDays(9))
                .https(Handler::pages([(
                    "/".to_owned(),
                    Page::html(200, MEMBERS_HTML),
                )])),
        )
        .site(
            Site::new("api.demo.test")
                // Renews on its own schedule; the demo manifest suppresses the finding to show how.
                .cert(CertSpec::ExpiresInDays(25))
                .https(Handler::pages([
                    ("/".to_owned(), Page::json(200, r#"{"status":"ok"}"#)),
                    ("/health".to_owned(), Page::json(200, r#"{"healthy":true}"#)),
                ])),
        )
}

fn demo_zone() -> Zone {
    Zone::new(DEMO_ORIGIN)
        .a("@", Ipv4Addr::LOCALHOST)
        .aaaa("@", Ipv6Addr::LOCALHOST)
        .cname("www", "demo.test")
        .a("app", Ipv4Addr::LOCALHOST)
        .a("members", Ipv4Addr::LOCALHOST)
        .a("api", Ipv4Addr::LOCALHOST)
        // Flaw: no record for admin.demo.test, which the manifest expects to exist.
        .mx("@", 10, "mail.demo.test")
        .a("mail", Ipv4Addr::LOCALHOST)
        .txt("@", DEMO_SPF_RECORD)
        // Flaw: the DKIM key is still flagged as a test (`t=y`), so receivers may ignore its signatures.
        .txt(
            "default._domainkey",
            &DEMO_DKIM_RECORD.replace("k=rsa;", "k=rsa; t=y;"),
        )
        // Flaw: no _dmarc record.
        .caa("@", false, "issue", "letsencrypt.org")
}

const LANDING_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Demo Club — members-only workshops</title>
  <meta name="description" content="Demo Club: weekly hands-on workshops for makers.">
  <link rel="canonical" href="https://demo.test/">
  <link rel="stylesheet" href="/assets/site.css">
</head>
<body>
  <header>
    <a class="logo" href="/">Demo Club</a>
    <nav><a href="/pricing">Pricing</a> <a href="https://app.demo.test/login">Log in</a></nav>
  </header>
  <main>
    <h1>Learn by building, together.</h1>
    <p>Weekly workshops, a friendly community and a workshop library that grows every month.</p>
    <img src="http://www.demo.test/hero.jpg" alt="Members at a workshop" width="960" height="540">
    <p><a class="cta" href="https://app.demo.test/signup">Join the club</a></p>
  </main>
  <footer>&copy; Demo Club</footer>
</body>
</html>
"#;

const PRICING_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Pricing — Demo Club</title>
  <link rel="stylesheet" href="/assets/site.css">
</head>
<body>
  <h1>Pricing</h1>
  <ul>
    <li>Monthly: 12 EUR</li>
    <li>Yearly: 120 EUR</li>
  </ul>
  <p><a class="cta" href="https://app.demo.test/signup">Join the club</a></p>
</body>
</html>
"#;

const OFFER_ENDED_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Not found — Demo Club</title></head>
<body>
  <h1>Not found</h1>
  <p>This page does not exist (any more).</p>
</body>
</html>
"#;

const SITE_CSS: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem}\n\
header{display:flex;justify-content:space-between}\n\
.cta{background:#2b6cb0;color:#fff;padding:.5rem 1rem;border-radius:.25rem;text-decoration:none}\n";

const LOGIN_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in — Demo Club</title></head>
<body>
  <h1>Log in</h1>
  <form method="post" action="/login">
    <label>Email <input type="email" name="email" autocomplete="username" required></label>
    <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>
  </form>
  <p>New here? <a href="/signup">Create an account</a></p>
</body>
</html>
"#;

const SIGNUP_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Join — Demo Club</title></head>
<body>
  <h1>Join Demo Club</h1>
  <form method="post" action="/signup">
    <label>Name <input type="text" name="name" autocomplete="name" required></label>
    <label>Email <input type="email" name="email" autocomplete="email" required></label>
    <label>Password <input type="password" name="password" autocomplete="new-password" minlength="12" required></label>
    <button type="submit">Create account</button>
  </form>
</body>
</html>
"#;

const MEMBERS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Members — Demo Club</title></head>
<body>
  <h1>Members area</h1>
  <p>Please <a href="https://app.demo.test/login">log in</a> to see this month's workshops.</p>
</body>
</html>
"#;

/// The manifest the demo audits with; written beside the lab's CA so the printed flags reproduce the run.
pub const DEMO_MANIFEST: &str = include_str!("scenarios/demo.toml");

/// `shop.test` as its DNS provider holds it before a change: the site on a CDN, an app host, mail through Mailgun
/// and Google, DMARC, a DKIM key and CAA. The DNS snapshot and drift tests edit it the way a hurried change would.
pub fn shop_zone() -> Zone {
    Zone::new("shop.test")
        .a("@", Ipv4Addr::new(192, 0, 2, 10))
        .cname("www", "shop.b-cdn.net")
        .a("app", Ipv4Addr::new(192, 0, 2, 11))
        .mx("@", 10, "mx.shop.test")
        .a("mx", Ipv4Addr::new(192, 0, 2, 25))
        .txt(
            "@",
            "v=spf1 include:mailgun.org include:_spf.google.com -all",
        )
        .txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:dmarc@shop.test")
        .txt(
            "smtp._domainkey",
            "k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC",
        )
        .caa("@", false, "issue", "letsencrypt.org")
}

/// A healthy membership site: zone `clean.test` with the apex, www, app, members, api and admin
/// sites. Every entry point reaches `https://www.clean.test/` in one 301, every host answers
/// over HTTPS with a valid certificate and upgrades plain HTTP with a 301, the landing page loads
/// only HTTPS assets and names itself canonical, the legacy link `/spring-sale` is one 301 to
/// `/pricing`, and DNS has NS, CAA, MX, SPF, DKIM (`s1`) and DMARC records, all with TTL 300.
/// See [`HealthySite`].
pub fn clean() -> Scenario {
    HealthySite::new(CLEAN_ORIGIN).build()
}

/// Every host of [`clean`]: the apex, www and the four subdomains.
pub const CLEAN_HOSTS: [&str; 6] = [
    "clean.test",
    "www.clean.test",
    "app.clean.test",
    "members.clean.test",
    "api.clean.test",
    "admin.clean.test",
];

pub const CLEAN_SPF_RECORD: &str = "v=spf1 mx -all";

pub const CLEAN_DMARC_RECORD: &str = "v=DMARC1; p=reject; rua=mailto:dmarc@clean.test";

/// The manifest for [`clean`]: auditing the clean lab with it should report nothing to fix.
pub const CLEAN_MANIFEST: &str = include_str!("scenarios/clean.toml");

/// A healthy membership site behind a Cloudflare-like CDN: zone `edge.test` with the apex, www,
/// app, members, api and admin sites, all served through the edge
/// ([`Cloudflare`](crate::scenario::EdgeKind::Cloudflare): `server: cloudflare`, `cf-ray`,
/// `cf-cache-status`), plus `origin.edge.test`, standing for the origin server reached directly.
///
/// - `http://edge.test/`, `https://edge.test/` and `http://www.edge.test/` each reach
///   `https://www.edge.test/` in one 301 (the apex answers only `/` and `/login`, like
///   [`clean`]'s apex; other apex paths are 404);
/// - the apex and www send HSTS `max-age=31536000; includeSubDomains; preload`, a
///   Content-Security-Policy, `x-frame-options: DENY`, `x-content-type-options: nosniff` and
///   `referrer-policy: strict-origin-when-cross-origin`;
/// - the landing page loads `/assets/app.css` and `/assets/app.js`, both `cache-control: public,
///   max-age=31536000, immutable` (`cf-cache-status: MISS`, then `HIT`);
/// - `https://www.edge.test/login` is `cache-control: no-store` and sets
///   `session=abc; Secure; HttpOnly; SameSite=Lax` (`cf-cache-status: BYPASS`);
/// - app, members, api and admin are as in [`clean`];
/// - `origin.edge.test` serves the same landing page over plain HTTP, without edge headers and
///   without redirecting to HTTPS, and closes HTTPS connections without answering: a "Flexible
///   SSL" origin that the edge reaches over plain HTTP;
/// - DNS has NS, CAA, MX, SPF, DKIM (`s1`) and DMARC records.
///
/// See [`HealthySite`].
pub fn edge() -> Scenario {
    HealthySite::new(EDGE_ORIGIN).edge(true).build()
}

pub const EDGE_DMARC_RECORD: &str = "v=DMARC1; p=reject; rua=mailto:dmarc@edge.test";

/// The manifest for [`edge`]. It names no `[edge] origin`: every lab address is loopback, so a
/// test that probes the origin adds that table itself together with its own connection rules.
pub const EDGE_MANIFEST: &str = include_str!("scenarios/edge.toml");
