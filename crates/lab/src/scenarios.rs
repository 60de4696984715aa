//! Ready-made scenarios. [`demo`] is a small membership site with deliberate launch flaws that
//! the rest of the workspace uses for end-to-end tests and demos.
//!
//! Deliberate flaws in `demo()` (keep this list in sync when adding more):
//! - `admin.demo.test` has no DNS record (NXDOMAIN);
//! - no `_dmarc.demo.test` record;
//! - `http://demo.test` reaches the canonical `https://www.demo.test` in two redirect hops;
//! - the landing page loads `http://www.demo.test/hero.jpg` (mixed content);
//! - `members.demo.test` has a certificate that expires in 9 days.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::scenario::{CertSpec, Handler, Page, Scenario, Site, Zone};

/// Apex of the demo zone.
pub const DEMO_ORIGIN: &str = "demo.test";

/// A plausible 2048-bit RSA public key; long enough that the TXT record is split into several
/// 255-byte strings, as real DKIM records are.
pub const DEMO_DKIM_RECORD: &str = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu0C5NUfSzyoiZugtplGvKODLqbeoYVnVfzgfEcl/u15hMhJLzVIZalwtvSgv7emK3uH1RKLgQNqVsXFkslAPQLxGB2iy9sVFZJbG4y70o1a/AzC+vT4epWAiAn7gzANgngavwmZp4ymrb9v0xRnWa/Viz452hw5ftUXlIMKJ4E4cNVyPYee/Ltaeqeq9Gdm6+yko5fSEQ/+dMgoYDiDUStQEWdHutAKjjZslM0up1l/6XDYcyxNERxMWr6ojx6jm0RoOnowCtjB66ykYxEAebP8PT2JI2Rd+Q1qgr+Y0IKu2vf6bF0xZXwUdVYSBe9YycbNeYVzsRzFwXK7tSwQwsQIDAQAB";

pub const DEMO_SPF_RECORD: &str = "v=spf1 include:_spf.mailer.test ~all";

/// The demo membership site: zone `demo.test` plus the apex, www, app, members and api sites.
pub fn demo() -> Scenario {
    Scenario::new()
        .zone(demo_zone())
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
                    ("/".to_owned(), Page::html(200, LANDING_HTML)),
                    ("/pricing".to_owned(), Page::html(200, PRICING_HTML)),
                    (
                        "/assets/site.css".to_owned(),
                        Page::css(SITE_CSS).header("cache-control", "public, max-age=31536000"),
                    ),
                ])),
        )
        .site(Site::new("app.demo.test").https(Handler::pages([
            (
                "/".to_owned(),
                Page::html(302, "").header("location", "https://app.demo.test/login"),
            ),
            ("/login".to_owned(), Page::html(200, LOGIN_HTML)),
            ("/signup".to_owned(), Page::html(200, SIGNUP_HTML)),
        ])))
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
        .txt("default._domainkey", DEMO_DKIM_RECORD)
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
pub const DEMO_MANIFEST: &str = r#"# The demo site's manifest, written by `launchready demo`.
[site]
domain = "demo.test"
canonical = "https://www.demo.test/"
subdomains = ["app", "members", "api", "admin"]

[[route]]
name = "login"
host = "app.demo.test"
path = "/login"
kind = "login"
critical = true

[[route]]
name = "pricing"
host = "www.demo.test"
path = "/pricing"
kind = "landing"

[[ignore]]
id = "tls.cert.expiring"
subject = "api.demo.test"
reason = "renewed automatically on the 1st of each month"
"#;
