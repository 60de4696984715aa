//! The commented starter manifest written by `launchready init DOMAIN`. It spells out every default so the user
//! can see and edit them, and parses back to exactly [`Manifest::for_domain`](crate::Manifest::for_domain).

use crate::ManifestError;
use crate::domain::check_domain;

const TEMPLATE: &str = r#"# launchready.toml: what `launchready audit` checks for {DOMAIN}.
# Every key is documented in docs/manifest.md. Lines starting with `#` are comments.

[site]
# The apex domain being launched.
domain = "{DOMAIN}"
# Where visitors must end up: a full URL on the apex or www host, or the shorthand "www" or "apex". Left out, the
# audit infers it from where the entry points land and says so; declare it once you know, so a change is caught.
# canonical = "https://www.{DOMAIN}/"
# Extra hosts to check: a label ("app" means app.{DOMAIN}), a full name inside the domain, or a table that also
# says where the host must finally land, e.g. { name = "api", destination = "https://api.{DOMAIN}/health" }.
subdomains = ["app", "members", "api", "admin"]

[audit]
max_hops = 10       # redirects followed before a chain counts as too long (1-50)
timeout = "10s"    # per network operation (100ms-5m; e.g. "10s", "1m30s", "500ms")
concurrency = 64    # network operations in flight at once (1-1024)
intranet = false    # true for a staging or intranet audit, where private addresses in DNS are expected
landing_budget = "500ms"  # p95 load time of the landing page (with its CSS/JS) over which it is slow (50ms-1m)

# Pages that must work on launch day. kind is one of:
# landing, login, signup, checkout, member, webhook, static, other.
# [[route]]
# name = "login"
# host = "app.{DOMAIN}"     # defaults to the canonical host
# path = "/login"
# kind = "login"
# critical = true           # a failing critical route blocks the launch (default false)
# expect_status = 200       # default 200

# Old URLs that must keep working, and where they must end up.
# [[legacy_link]]
# from = "https://{DOMAIN}/spring-sale"
# to = "https://www.{DOMAIN}/pricing"

[email]
senders = ["{DOMAIN}"]   # domains that send mail: checked for SPF, DKIM and DMARC
dkim_selectors = []      # e.g. ["s1"]: looked up as s1._domainkey.<sender>
# provider = "postmark"
non_sending = []         # domains that never send mail: should publish a null SPF and DMARC p=reject

# Findings you have decided to accept. They stay in the report, marked as suppressed with your reason.
# [[ignore]]
# id = "dns.caa.missing"    # a finding id, or a family such as "email.*"
# subject = "{DOMAIN}"      # optional: only findings about exactly this host, URL or record
# reason = "CAA planned for next sprint"
"#;

/// A commented starter manifest for `domain`, which must be a valid domain name.
pub fn starter(domain: &str) -> Result<String, ManifestError> {
    // The checked name is plain lower-case ASCII, so it can be pasted into TOML strings without escaping.
    let apex = check_domain(domain).map_err(|rejection| ManifestError::Domain {
        input: domain.to_string(),
        reason: rejection.into_sentence(),
    })?;
    Ok(TEMPLATE.replace("{DOMAIN}", &apex))
}
