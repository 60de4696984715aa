//! Behaviour of the manifest as users meet it: what valid files mean, and what the errors for bad ones say and
//! where they point.

use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::{
    AuditOptions, Ignore, Manifest, ManifestError, RouteKind, Subdomain, starter, validate_domain,
};
use std::path::Path;

const FILE: &str = "launchready.toml";

fn parse(input: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(input, Path::new(FILE))
}

/// What a case should produce: a manifest passing a check, or an error at `line:column` whose rendering contains
/// every needle.
enum Expect<'a> {
    Valid(fn(&Manifest)),
    Error(usize, usize, &'a [&'a str]),
}

fn check(input: &str, expected: Expect<'_>) {
    match (parse(input), expected) {
        (Ok(manifest), Expect::Valid(inspect)) => inspect(&manifest),
        (Ok(manifest), Expect::Error(..)) => panic!("accepted:\n{input}\nas {manifest:#?}"),
        (Err(error), Expect::Valid(_)) => panic!("rejected:\n{input}\n{error}"),
        (Err(error), Expect::Error(line, column, needles)) => {
            let rendered = error.to_string();
            assert_eq!(
                (error.line(), error.column()),
                (Some(line), Some(column)),
                "wrong position for:\n{input}\n{rendered}"
            );
            let position = format!("--> {FILE}:{line}:{column}");
            assert!(
                rendered.contains(&position),
                "no `{position}` in:\n{rendered}"
            );
            for needle in needles {
                assert!(rendered.contains(needle), "no `{needle}` in:\n{rendered}");
            }
        }
    }
}

const SITE: &str = "[site]\ndomain = \"example.com\"\n";

fn with_site(rest: &str) -> String {
    format!("{SITE}{rest}")
}

const FULL: &str = r#"[site]
domain = "Example.COM"
canonical = "https://www.example.com/"
subdomains = ["app", "members", { name = "api", destination = "https://api.example.com/health" }, "admin.example.com"]

[audit]
max_hops = 5
timeout_secs = 20
concurrency = 8
intranet = true
landing_budget = "1500ms"

[[route]]
name = "login"
host = "app.example.com"
path = "/login"
kind = "login"
critical = true
expect_status = 200

[[route]]
name = "home"
path = "/"
kind = "landing"

[[legacy_link]]
from = "https://example.com/spring-sale"
to = "https://www.example.com/pricing"

[email]
senders = ["example.com", "mail.example.com"]
dkim_selectors = ["s1", "PM"]
provider = "postmark"
non_sending = ["example.net"]

[[ignore]]
id = "dns.caa.missing"
subject = "example.com"
reason = "CAA planned for next sprint"

[[ignore]]
id = "email.*"
reason = "mail moves to the new provider next month"
"#;

#[test]
fn defaults_for_a_bare_domain() {
    let manifest = Manifest::for_domain("Example.com").unwrap();
    assert_eq!(manifest.apex(), "example.com");
    assert_eq!(manifest.www(), "www.example.com");
    assert_eq!(manifest.canonical_host(), "www.example.com");
    assert_eq!(
        manifest.site.canonical_url.as_str(),
        "https://www.example.com/"
    );
    let hosts: Vec<&str> = manifest
        .site
        .subdomains
        .iter()
        .map(|s| s.host.as_str())
        .collect();
    assert_eq!(
        hosts,
        [
            "app.example.com",
            "members.example.com",
            "api.example.com",
            "admin.example.com"
        ]
    );
    assert!(
        manifest
            .site
            .subdomains
            .iter()
            .all(|s| s.destination.is_none())
    );
    let audit = &manifest.audit;
    assert_eq!(
        (audit.max_hops, audit.timeout.as_millis(), audit.concurrency),
        (10, 10_000, 64)
    );
    assert!(!audit.intranet);
    assert_eq!(audit.landing_budget.as_millis(), 500);
    assert!(
        manifest.routes.is_empty()
            && manifest.legacy_links.is_empty()
            && manifest.ignores.is_empty()
    );
    assert_eq!(manifest.email.senders, ["example.com"]);
    assert!(manifest.email.dkim_selectors.is_empty() && manifest.email.non_sending.is_empty());
    assert_eq!(manifest.email.provider, None);
    assert_eq!(manifest.source, None);
}

#[test]
fn for_domain_rejects_invalid_domains() {
    let error = Manifest::for_domain("https://example.com").unwrap_err();
    assert!(matches!(error, ManifestError::Domain { .. }));
    assert_eq!(error.line(), None);
    assert_eq!(
        error.to_string(),
        "error: `https://example.com` is a URL, not a domain name; use just the host name, `example.com`"
    );
}

#[test]
fn minimal_manifest_gets_the_same_defaults_as_for_domain() {
    let mut manifest = parse(SITE).unwrap();
    assert_eq!(manifest.source.as_deref(), Some(Path::new(FILE)));
    manifest.source = None;
    assert_eq!(manifest, Manifest::for_domain("example.com").unwrap());
}

#[test]
fn full_example_parses() {
    let m = parse(FULL).unwrap();
    assert_eq!(m.apex(), "example.com");
    assert_eq!(m.canonical_host(), "www.example.com");
    assert_eq!(
        m.site.subdomains[2],
        Subdomain {
            host: "api.example.com".into(),
            destination: Some("https://api.example.com/health".parse().unwrap()),
        }
    );
    assert_eq!(m.site.subdomains[3].host, "admin.example.com");
    assert_eq!(
        m.audit,
        AuditOptions {
            max_hops: 5,
            timeout: std::time::Duration::from_secs(20),
            concurrency: 8,
            intranet: true,
            landing_budget: std::time::Duration::from_millis(1500),
        }
    );
    assert_eq!(m.routes.len(), 2);
    let login = &m.routes[0];
    assert_eq!(
        (
            login.name.as_str(),
            login.host.as_str(),
            login.path.as_str(),
            login.kind,
            login.critical,
            login.expect_status
        ),
        (
            "login",
            "app.example.com",
            "/login",
            RouteKind::Login,
            true,
            200
        )
    );
    let home = &m.routes[1];
    assert_eq!(
        (
            home.host.as_str(),
            home.kind,
            home.critical,
            home.expect_status
        ),
        ("www.example.com", RouteKind::Landing, false, 200)
    );
    assert_eq!(
        m.legacy_links[0].from.as_str(),
        "https://example.com/spring-sale"
    );
    assert_eq!(
        m.legacy_links[0].to.as_str(),
        "https://www.example.com/pricing"
    );
    assert_eq!(m.email.senders, ["example.com", "mail.example.com"]);
    assert_eq!(m.email.dkim_selectors, ["s1", "pm"]);
    assert_eq!(m.email.provider.as_deref(), Some("postmark"));
    assert_eq!(m.email.non_sending, ["example.net"]);
    assert_eq!(
        m.ignores[0],
        Ignore {
            id: "dns.caa.missing".into(),
            subject: Some("example.com".into()),
            reason: "CAA planned for next sprint".into(),
        }
    );
    assert_eq!(m.ignores[1].subject, None);
}

#[test]
fn the_documented_example_parses() {
    let docs = include_str!("../../../docs/manifest.md");
    let example = docs
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/manifest.md has a toml example");
    let m = parse(example).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.routes.len(), 2);
    assert_eq!(m.site.subdomains[2].host, "api.example.com");
    assert_eq!(m.ignores[0].id, "dns.caa.missing");
}

#[test]
fn subdomain_tables_may_be_written_as_array_of_tables() {
    let m = parse(&with_site(
        "[[site.subdomains]]\nname = \"api\"\ndestination = \"https://api.example.com/health\"\n\n[[site.subdomains]]\nname = \"app\"\n",
    ))
    .unwrap();
    let hosts: Vec<&str> = m.site.subdomains.iter().map(|s| s.host.as_str()).collect();
    assert_eq!(hosts, ["api.example.com", "app.example.com"]);
    assert!(m.site.subdomains[0].destination.is_some());
}

#[test]
fn serialises_urls_as_strings() {
    let m = parse(FULL).unwrap();
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["site"]["canonical_url"], "https://www.example.com/");
    assert_eq!(json["routes"][0]["kind"], "login");
}

#[test]
fn starter_parses_back_to_the_defaults() {
    for domain in ["example.com", "Bücher.example", "shop.demo.test"] {
        let text = starter(domain).unwrap();
        let mut parsed = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        parsed.source = None;
        assert_eq!(parsed, Manifest::for_domain(domain).unwrap(), "{domain}");
    }
    assert!(starter("bad..name").is_err());
}

/// `key = …` with a bare TOML key, as opposed to prose that happens to contain ` = `.
fn is_assignment(line: &str) -> bool {
    line.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    })
}

#[test]
fn starter_commented_examples_are_valid_when_uncommented() {
    let text = starter("example.com").unwrap();
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest.starts_with("[[") || is_assignment(rest) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let m = parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    assert_eq!(m.routes.len(), 1);
    assert_eq!(m.legacy_links.len(), 1);
    assert_eq!(m.ignores.len(), 1);
    assert_eq!(m.email.provider.as_deref(), Some("postmark"));
}

#[test]
fn canonical_shorthands_and_forms() {
    let cases: &[(&str, &str)] = &[
        ("www", "https://www.example.com/"),
        ("apex", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("http://WWW.Example.com/", "http://www.example.com/"),
        ("https://www.example.com:443/", "https://www.example.com/"),
    ];
    for (value, expected) in cases {
        let m = parse(&format!(
            "[site]\ndomain = \"example.com\"\ncanonical = \"{value}\"\n"
        ))
        .unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(m.site.canonical_url.as_str(), *expected, "{value}");
    }
    let m = parse("[site]\ndomain = \"example.com\"\ncanonical = \"apex\"\n[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"other\"\n").unwrap();
    assert_eq!(m.canonical_host(), "example.com");
    assert_eq!(m.routes[0].host, "example.com");
}

#[test]
fn idna_domains_are_converted_to_ascii() {
    let m = parse(
        "[site]\ndomain = \"bücher.example\"\nsubdomains = [\"app\", \"shop.bücher.example\"]\n",
    )
    .unwrap();
    assert_eq!(m.apex(), "xn--bcher-kva.example");
    assert_eq!(
        m.site.canonical_url.as_str(),
        "https://www.xn--bcher-kva.example/"
    );
    assert_eq!(m.site.subdomains[0].host, "app.xn--bcher-kva.example");
    assert_eq!(m.site.subdomains[1].host, "shop.xn--bcher-kva.example");
    assert_eq!(m.email.senders, ["xn--bcher-kva.example"]);
    let m =
        parse("[site]\ndomain = \"bücher.example\"\ncanonical = \"https://www.bücher.example/\"\n")
            .unwrap();
    assert_eq!(m.canonical_host(), "www.xn--bcher-kva.example");
    assert_eq!(
        validate_domain("bücher.example").unwrap(),
        "xn--bcher-kva.example"
    );
}

#[test]
fn the_brief_example_renders_exactly() {
    let error = parse("[site]\ndomain = \"example.com\"\nsubdomian = [\"app\"]\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "error: unknown key `subdomian` in [site]\n --> launchready.toml:3:1\n  |\n3 | subdomian = [\"app\"]\n  | ^^^^^^^^^\n  = help: did you mean `subdomains`?"
    );
}

#[test]
fn malformed_toml_is_located() {
    check(
        "[site]\ndomain = \"example.com\nsubdomains = []\n",
        Expect::Error(2, 22, &["invalid TOML", "2 | domain = \"example.com", "^"]),
    );
    check(
        "[site\ndomain = \"x.com\"\n",
        Expect::Error(1, 6, &["invalid TOML", "1 | [site"]),
    );
    check(
        "[site]\ndomain = \"example.com\"\ndomain = \"example.org\"\n",
        Expect::Error(
            3,
            1,
            &[
                "duplicate key `domain`",
                "3 | domain = \"example.org\"",
                "  | ^^^^^^",
            ],
        ),
    );
    check(
        "[site]\ndomain = example.com\n",
        Expect::Error(2, 10, &["invalid TOML"]),
    );
}

#[test]
fn unknown_keys_in_every_table() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        (
            "[site]\ndomian = \"example.com\"\n",
            2,
            1,
            &["unknown key `domian` in [site]", "did you mean `domain`?"],
        ),
        (
            "[sites]\ndomain = \"example.com\"\n",
            1,
            2,
            &[
                "unknown key `sites` at the top level",
                "did you mean `site`?",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\nsubdomains = [{ name = \"api\", destnation = \"https://api.example.com/\" }]\n",
            3,
            31,
            &[
                "unknown key `destnation` in a subdomain table",
                "did you mean `destination`?",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[audit]\nmax_hop = 3\n",
            4,
            1,
            &[
                "unknown key `max_hop` in [audit]",
                "did you mean `max_hops`?",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[audit]\ntimout = 3\n",
            4,
            1,
            &["unknown key `timout` in [audit]", "did you mean `timeout`?"],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"login\"\ncritcal = true\n",
            7,
            1,
            &[
                "unknown key `critcal` in [[route]]",
                "7 | critcal = true",
                "^^^^^^^",
                "did you mean `critical`?",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[routes]]\nname = \"a\"\n",
            3,
            3,
            &[
                "unknown key `routes` at the top level",
                "did you mean `route`?",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[legacy_link]]\nfrom = \"https://example.com/a\"\ntarget = \"https://example.com/b\"\n",
            5,
            1,
            &[
                "unknown key `target` in [[legacy_link]]",
                "valid keys here: `from`, `to`",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[email]\nsender = [\"example.com\"]\n",
            4,
            1,
            &["unknown key `sender` in [email]", "did you mean `senders`?"],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[ignore]]\nid = \"x.y\"\nreasons = \"r\"\n",
            5,
            1,
            &[
                "unknown key `reasons` in [[ignore]]",
                "did you mean `reason`?",
            ],
        ),
        (
            "domain = \"example.com\"\n",
            1,
            1,
            &[
                "unknown key `domain` at the top level",
                "`domain` is a key in [site]",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[audit]\nbogus = 1\n",
            4,
            1,
            &["valid keys here: `max_hops`, `timeout`, `timeout_secs`, `concurrency`"],
        ),
    ];
    for (input, line, column, needles) in cases {
        check(input, Expect::Error(*line, *column, needles));
    }
}

#[test]
fn structural_errors() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        (
            "",
            1,
            1,
            &["missing the required [site] table", "launchready init"],
        ),
        (
            "[site]\ncanonical = \"www\"\n",
            1,
            1,
            &[
                "missing required key `domain` in [site]",
                "add `domain = \"example.com\"`",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[route]]\npath = \"/\"\nkind = \"login\"\n",
            3,
            1,
            &[
                "missing required key `name` in [[route]]",
                "3 | [[route]]",
                "^^^^^^^^^",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[ignore]]\nid = \"dns.caa.missing\"\n",
            3,
            1,
            &["missing required key `reason` in [[ignore]]"],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[route]\nname = \"a\"\n",
            3,
            1,
            &[
                "expected an array, found a table",
                "write `[[route]]` with double brackets",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\nsubdomains = \"app\"\n",
            3,
            14,
            &[
                "expected an array, found the string \"app\"",
                "wrap it in brackets: `[\"app\"]`",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\nsubdomains = [\"app\", 3]\n",
            3,
            22,
            &[
                "expected a label such as \"app\" or a table",
                "found the integer `3`",
            ],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[audit]\nmax_hops = \"5\"\n",
            4,
            12,
            &["expected an integer, found the string \"5\""],
        ),
        (
            "[site]\ndomain = \"example.com\"\n[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"login\"\ncritical = \"yes\"\n",
            7,
            12,
            &["expected a boolean"],
        ),
        (
            "site = \"example.com\"\n",
            1,
            8,
            &["expected a [site] table, found the string \"example.com\""],
        ),
    ];
    for (input, line, column, needles) in cases {
        check(input, Expect::Error(*line, *column, needles));
    }
}

#[test]
fn semantic_errors_point_at_the_value() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        (
            "[site]\ndomain = \"https://example.com\"\n",
            2,
            10,
            &[
                "is a URL, not a domain name",
                "`example.com`",
                "^^^^^^^^^^^^^^^^^^^^^",
            ],
        ),
        (
            "[site]\ndomain = \"example..com\"\n",
            2,
            10,
            &["has an empty label"],
        ),
        (
            &with_site("canonical = \"www.example.com\"\n"),
            3,
            13,
            &[
                "`www.example.com` has no scheme",
                "write `https://www.example.com/`, or the shorthand \"www\"",
            ],
        ),
        (
            &with_site("canonical = \"https://shop.example.org/\"\n"),
            3,
            13,
            &["neither `example.com` nor `www.example.com`"],
        ),
        (
            &with_site("canonical = \"https://app.example.com/\"\n"),
            3,
            13,
            &["neither"],
        ),
        (
            &with_site("canonical = \"ftp://www.example.com/\"\n"),
            3,
            13,
            &["only http:// and https://"],
        ),
        (
            &with_site("canonical = \"https://www.example.com:8443/\"\n"),
            3,
            13,
            &["has a port (8443)"],
        ),
        (
            &with_site("subdomains = [\"app\", \"my_app\"]\n"),
            3,
            22,
            &["contains `_`", "hyphens, not underscores"],
        ),
        (
            &with_site("subdomains = [\"app.example.org\"]\n"),
            3,
            15,
            &["`app.example.org` is not inside `example.com`"],
        ),
        (
            &with_site("subdomains = [\"www\"]\n"),
            3,
            15,
            &["`www.example.com` is the site's own www host"],
        ),
        (
            &with_site("subdomains = [\"app\", \"APP.example.com\"]\n"),
            3,
            22,
            &[
                "subdomain `app.example.com` is listed twice",
                "note: first given at launchready.toml:3:15",
            ],
        ),
        (
            &with_site(
                "subdomains = [{ name = \"api\", destination = \"https://api.example.net/\" }]\n",
            ),
            3,
            45,
            &["destination host `api.example.net` is outside `example.com`"],
        ),
        (
            &with_site(
                "subdomains = [{ name = \"api\", destination = \"api.example.com/health\" }]\n",
            ),
            3,
            45,
            &["has no scheme", "`https://api.example.com/health`"],
        ),
        (
            &with_site("[audit]\nmax_hops = 0\n"),
            4,
            12,
            &["`max_hops` is 0, outside the allowed 1..=50"],
        ),
        (&with_site("[audit]\nmax_hops = 51\n"), 4, 12, &["1..=50"]),
        (
            &with_site("[audit]\ntimeout_secs = 301\n"),
            4,
            16,
            &[
                "`timeout` is 5m1s, outside the allowed range",
                "from 100ms to 5m",
            ],
        ),
        (
            &with_site("[audit]\ntimeout = \"10 parsecs\"\n"),
            4,
            11,
            &["`10 parsecs` is not a duration", "1m30s"],
        ),
        (
            &with_site("[audit]\ntimeout = \"6m\"\n"),
            4,
            11,
            &["`timeout` is 6m, outside the allowed range"],
        ),
        (
            &with_site("[audit]\nlanding_budget = \"10ms\"\n"),
            4,
            18,
            &[
                "`landing_budget` is 10ms, outside the allowed range",
                "from 50ms to 1m; the default is 500ms",
            ],
        ),
        (
            &with_site("[audit]\nconcurrency = -1\n"),
            4,
            15,
            &["1..=1024"],
        ),
        (
            &with_site("[[route]]\nname = \"a\"\npath = \"login\"\nkind = \"login\"\n"),
            5,
            8,
            &["does not start with `/`", "write \"/login\""],
        ),
        (
            &with_site(
                "[[route]]\nname = \"a\"\npath = \"https://example.com/login\"\nkind = \"login\"\n",
            ),
            5,
            8,
            &["is a URL", "put the host in `host`"],
        ),
        (
            &with_site("[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"logn\"\n"),
            6,
            8,
            &["unknown route kind `logn`", "did you mean `login`?"],
        ),
        (
            &with_site("[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"register\"\n"),
            6,
            8,
            &["did you mean `signup`?"],
        ),
        (
            &with_site("[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"zzz\"\n"),
            6,
            8,
            &["expected one of: landing, login, signup"],
        ),
        (
            &with_site(
                "[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"other\"\nexpect_status = 999\n",
            ),
            7,
            17,
            &["`expect_status` is 999"],
        ),
        (
            &with_site(
                "[[route]]\nname = \"a\"\npath = \"/\"\nkind = \"other\"\nhost = \"shop.example.org\"\n",
            ),
            7,
            8,
            &["`shop.example.org` is not inside `example.com`"],
        ),
        (
            &with_site(
                "[[route]]\nname = \"home\"\npath = \"/\"\nkind = \"landing\"\n\n[[route]]\nname = \"home\"\npath = \"/x\"\nkind = \"other\"\n",
            ),
            9,
            8,
            &[
                "duplicate route name `home`",
                "first given at launchready.toml:4:8",
            ],
        ),
        (
            &with_site("[[route]]\nname = \" \"\npath = \"/\"\nkind = \"other\"\n"),
            4,
            8,
            &["the route name is empty"],
        ),
        (
            &with_site(
                "[[legacy_link]]\nfrom = \"example.com/old\"\nto = \"https://www.example.com/\"\n",
            ),
            4,
            8,
            &["`example.com/old` has no scheme"],
        ),
        (
            &with_site(
                "[[legacy_link]]\nfrom = \"https://example.com/a\"\nto = \"mailto:x@example.com\"\n",
            ),
            5,
            6,
            &["is a `mailto:` URL; only http:// and https://"],
        ),
        (
            &with_site(
                "[[legacy_link]]\nfrom = \"https://example.com/a\"\nto = \"ftp://example.com/\"\n",
            ),
            5,
            6,
            &["only http:// and https://"],
        ),
        (
            &with_site("[email]\nsenders = [\"example.com\", \"bad domain\"]\n"),
            4,
            27,
            &["contains whitespace"],
        ),
        (
            &with_site("[email]\ndkim_selectors = [\"s1._domainkey\"]\n"),
            4,
            19,
            &["is a DKIM record name", "\"s1\""],
        ),
        (
            &with_site("[email]\nprovider = \"  \"\n"),
            4,
            12,
            &["`provider` is empty"],
        ),
        (
            &with_site("[email]\nfrom = \"hello@exa mple.com\"\n"),
            4,
            8,
            &["contains whitespace"],
        ),
        (
            &with_site("[email]\nreturn_path = \"https://bounces.example.com\"\n"),
            4,
            15,
            &["return_path", "bounces.example.com"],
        ),
        (
            &with_site("[email]\nsenders = [\"example.com\"]\nnon_sending = [\"example.com\"]\n"),
            5,
            16,
            &["both in `senders` and in `non_sending`"],
        ),
        (
            &with_site("[[ignore]]\nid = \"dns.caa.missing\"\nreason = \"\"\n"),
            5,
            10,
            &["the ignore reason is empty"],
        ),
        (
            &with_site("[[ignore]]\nid = \"*\"\nreason = \"r\"\n"),
            4,
            6,
            &["would suppress every finding"],
        ),
        (
            &with_site("[[ignore]]\nid = \"dns.*.missing\"\nreason = \"r\"\n"),
            4,
            6,
            &["not a trailing `.*`"],
        ),
        (
            &with_site("[[ignore]]\nid = \"DNS.caa\"\nreason = \"r\"\n"),
            4,
            6,
            &["not lower-case", "\"dns.caa\""],
        ),
        (
            &with_site("[[ignore]]\nid = \"dns..caa\"\nreason = \"r\"\n"),
            4,
            6,
            &["is not a finding id"],
        ),
        (
            &with_site("[[ignore]]\nid = \"x.y\"\nsubject = \"\"\nreason = \"r\"\n"),
            5,
            11,
            &["`subject` is empty"],
        ),
    ];
    for (input, line, column, needles) in cases {
        check(input, Expect::Error(*line, *column, needles));
    }
}

#[test]
fn every_semantic_problem_is_reported_in_document_order() {
    let input = "[site]\ndomain = \"example.com\"\n[audit]\nmax_hops = 0\n[[route]]\nname = \"a\"\npath = \"x\"\nkind = \"logn\"\n";
    let error = parse(input).unwrap_err();
    let lines: Vec<usize> = error
        .diagnostics()
        .iter()
        .filter_map(|d| d.location.as_ref().map(|l| l.line))
        .collect();
    assert_eq!(lines, [4, 7, 8]);
    let rendered = error.to_string();
    assert_eq!(rendered.matches("error: ").count(), 3, "{rendered}");
    assert_eq!(error.line(), Some(4));
}

#[test]
fn a_bad_subdomain_does_not_hide_other_host_errors() {
    let input = "[site]\ndomain = \"example.com\"\nsubdomains = [\"a_b\"]\n[[route]]\nname = \"a\"\nhost = \"example.org\"\npath = \"/\"\nkind = \"other\"\n";
    let error = parse(input).unwrap_err();
    let messages: Vec<&str> = error
        .diagnostics()
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "`a_b.example.com` contains `_`, which is not allowed in a host name",
            "`example.org` is not inside `example.com`"
        ]
    );
}

#[test]
fn an_invalid_domain_is_reported_alone_not_echoed_by_every_host() {
    let input = "[site]\ndomain = \"example\"\nsubdomains = [\"app\"]\n[[route]]\nname = \"a\"\nhost = \"app.example\"\npath = \"/\"\nkind = \"other\"\n";
    let error = parse(input).unwrap_err();
    assert_eq!(error.diagnostics().len(), 1, "{error}");
    assert_eq!((error.line(), error.column()), (Some(2), Some(10)));
}

#[test]
fn invalid_domains_in_the_manifest() {
    let cases: &[(&str, &str)] = &[
        ("https://example.com", "is a URL"),
        ("x..com", "empty label"),
        ("-x.com", "hyphen"),
        ("localhost", "single label"),
        ("my_site.com", "`_`"),
        ("ex ample.com", "whitespace"),
        ("example.com:8080", "has a port"),
        ("example.com/shop", "has a path"),
        ("192.0.2.10", "IPv4"),
        ("", "empty"),
    ];
    for (domain, needle) in cases {
        check(
            &format!("[site]\ndomain = \"{domain}\"\n"),
            Expect::Error(2, 10, &[needle]),
        );
    }
    let long = format!("[site]\ndomain = \"{}.com\"\n", "a".repeat(64));
    check(&long, Expect::Error(2, 10, &["the DNS limit is 63"]));
}

#[test]
fn crlf_and_bom_are_tolerated() {
    check(
        "\u{feff}[site]\r\ndomain = \"example.com\"\r\n[audit]\r\nmax_hops = 99\r\n",
        Expect::Error(4, 12, &["4 | max_hops = 99\n"]),
    );
    check(
        "[site]\r\ndomain = \"example.com\"\r\n",
        Expect::Valid(|m| assert_eq!(m.apex(), "example.com")),
    );
}

#[test]
fn load_names_the_file_it_cannot_read() {
    let path = Path::new("/nonexistent/launchready.toml");
    let error = Manifest::load(path).unwrap_err();
    let rendered = error.to_string();
    assert!(
        rendered.starts_with("error: cannot read `/nonexistent/launchready.toml`"),
        "{rendered}"
    );
    assert!(rendered.contains("launchready init"), "{rendered}");
    assert!(matches!(error, ManifestError::Read { .. }));
}

#[test]
fn load_reads_and_parses_a_file() {
    let dir =
        std::env::temp_dir().join(format!("launchready-manifest-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("launchready.toml");
    std::fs::write(
        &path,
        "[site]\ndomain = \"example.com\"\n[audit]\nmax_hops = 0\n",
    )
    .unwrap();
    let error = Manifest::load(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("--> {}:4:12", path.display())),
        "{error}"
    );
    std::fs::write(&path, SITE).unwrap();
    let manifest = Manifest::load(&path).unwrap();
    assert_eq!(manifest.source.as_deref(), Some(path.as_path()));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn finding(id: &str, subject: &str) -> Finding {
    Finding::new(id, Stage::QuickAudit, Severity::High, subject, "t")
}

#[test]
fn ignore_matching() {
    let ignore = |id: &str, subject: Option<&str>| Ignore {
        id: id.into(),
        subject: subject.map(str::to_string),
        reason: "r".into(),
    };
    let cases: &[(Ignore, &str, &str, bool)] = &[
        (
            ignore("dns.caa.missing", None),
            "dns.caa.missing",
            "example.com",
            true,
        ),
        (
            ignore("dns.caa.missing", None),
            "dns.caa.missing.extra",
            "example.com",
            false,
        ),
        (
            ignore("dns.caa", None),
            "dns.caa.missing",
            "example.com",
            false,
        ),
        (
            ignore("email.*", None),
            "email.spf.missing",
            "example.com",
            true,
        ),
        (ignore("email.*", None), "email", "example.com", false),
        (ignore("email.*", None), "emailer.spf", "example.com", false),
        (
            ignore("dns.*", Some("app.example.com")),
            "dns.cname.dangling",
            "app.example.com",
            true,
        ),
        (
            ignore("dns.*", Some("app.example.com")),
            "dns.cname.dangling",
            "api.example.com",
            false,
        ),
        (
            ignore("tls.cert.expired", Some("example.com")),
            "tls.cert.expired",
            "example.com",
            true,
        ),
        (
            ignore("tls.cert.expired", Some("example.com")),
            "tls.cert.expired",
            "www.example.com",
            false,
        ),
    ];
    for (ignore, id, subject, expected) in cases {
        assert_eq!(
            ignore.matches(&finding(id, subject)),
            *expected,
            "{ignore:?} vs {id} {subject}"
        );
    }
}

#[test]
fn apply_ignores_suppresses_without_removing() {
    let m = parse(FULL).unwrap();
    let mut findings = vec![
        finding("dns.caa.missing", "example.com"),
        finding("dns.caa.missing", "www.example.com"),
        finding("email.dmarc.missing", "example.com"),
        finding("tls.cert.expired", "example.com"),
    ];
    m.apply_ignores(&mut findings);
    assert_eq!(findings.len(), 4);
    let reasons: Vec<Option<&str>> = findings
        .iter()
        .map(|f| f.suppressed.as_ref().map(|s| s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            Some("CAA planned for next sprint"),
            None,
            Some("mail moves to the new provider next month"),
            None
        ]
    );
    // Applying twice changes nothing: an existing suppression keeps its reason.
    let before = findings.clone();
    m.apply_ignores(&mut findings);
    assert_eq!(findings, before);
}

#[test]
fn edge_table_names_the_origin_and_whether_a_cdn_is_required() {
    let text =
        "[site]\ndomain = \"example.com\"\n[edge]\nrequired = true\norigin = \"203.0.113.7\"\n";
    let manifest = Manifest::parse(text, Path::new("launchready.toml")).unwrap();
    assert!(manifest.edge.required);
    assert_eq!(manifest.edge.origin, Some("203.0.113.7".parse().unwrap()));
    assert_eq!(
        Manifest::for_domain("example.com").unwrap().edge,
        Default::default()
    );

    let bad = "[site]\ndomain = \"example.com\"\n[edge]\norigin = \"origin.example.com\"\n";
    let err = Manifest::parse(bad, Path::new("launchready.toml")).unwrap_err();
    let rendered = err.to_string();
    assert!(rendered.contains("launchready.toml:4:10"), "{rendered}");
    assert!(rendered.contains("not an IP address"), "{rendered}");
}

#[test]
fn email_alignment_fields_keep_only_domains() {
    let m = parse(&with_site(
        "[email]\nprovider = \"postmark\"\nfrom = \"Hello@Example.COM\"\nreturn_path = \"pm-bounces.example.com\"\ndkim_domain = \"example.com.\"\n",
    ))
    .unwrap();
    assert_eq!(m.email.from.as_deref(), Some("example.com"));
    assert_eq!(
        m.email.return_path.as_deref(),
        Some("pm-bounces.example.com")
    );
    assert_eq!(m.email.dkim_domain.as_deref(), Some("example.com"));
    assert!(m.email.transactional());
    assert!(!parse(SITE).unwrap().email.transactional());
}
