//! Every built-in rule's examples and negatives, run as data, plus the template expander that makes fake keys.

use super::*;
use crate::rules::RuleSet;

/// A deterministic generator (splitmix64) so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn alphabet(class: char) -> Option<&'static str> {
    Some(match class {
        'x' => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        'L' => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        'u' => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        'b' => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        'h' => "0123456789abcdef",
        'H' => "0123456789ABCDEF",
        'd' => "0123456789",
        'B' => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        'X' => "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        'l' => "abcdefghijklmnopqrstuvwxyz0123456789",
        _ => return None,
    })
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Expands a template into (text, expected secrets): `{cN}` is N random characters of class `c`, `{jwt:ROLE}` a
/// Supabase-shaped JWT expiring in 2033 (`{jwtold:ROLE}`: expired in 2017), `«…»` marks a secret.
pub(crate) fn expand(template: &str, seed: u64) -> (String, Vec<String>) {
    let mut rng = Rng(seed);
    let mut out = String::new();
    let mut secrets = Vec::new();
    let mut open: Option<usize> = None;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '«' {
            open = Some(out.len());
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '»' {
            if let Some(start) = open.take() {
                secrets.push(out[start..].to_string());
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '{'
            && let Some(close) = rest.find('}')
        {
            let inner = &rest[1..close];
            let jwt = inner
                .strip_prefix("jwt:")
                .map(|role| (role, 2_000_000_000))
                .or_else(|| {
                    inner
                        .strip_prefix("jwtold:")
                        .map(|role| (role, 1_500_000_000))
                });
            if let Some((role, exp)) = jwt {
                let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
                let payload = b64url(format!(r#"{{"iss":"supabase","ref":"abcdefghijklmnopqrst","role":"{role}","iat":1400000000,"exp":{exp}}}"#).as_bytes());
                let sig: String = (0..43)
                    .map(|_| {
                        char::from(
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                [(rng.next() % 64) as usize],
                        )
                    })
                    .collect();
                out.push_str(&format!("{header}.{payload}.{sig}"));
                rest = &rest[close + 1..];
                continue;
            }
            let mut chars = inner.chars();
            if let (Some(class), Ok(n)) = (chars.next(), chars.as_str().parse::<usize>())
                && let Some(alpha) = alphabet(class)
            {
                let alpha = alpha.as_bytes();
                for _ in 0..n {
                    out.push(char::from(
                        alpha[(rng.next() % alpha.len() as u64) as usize],
                    ));
                }
                rest = &rest[close + 1..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, secrets)
}

fn path_for(spec: &Spec) -> &'static str {
    if spec.path.is_some() {
        "deploy/.env"
    } else {
        "src/config.txt"
    }
}

fn scan_one(spec: &Spec, text: &str, path: &str) -> Vec<crate::RawMatch> {
    let rule = match to_rule(spec) {
        Ok(rule) => rule,
        Err(e) => panic!("{}: {e}", spec.id),
    };
    RuleSet::new(vec![rule], global_allowlists()).scan(path, text.as_bytes())
}

#[test]
fn every_spec_compiles() {
    for spec in SPECS {
        if let Err(e) = to_rule(spec) {
            panic!("{}: {e}", spec.id);
        }
    }
    assert_eq!(rules().len(), SPECS.len());
}

#[test]
fn ids_are_unique_and_keywords_lower_case() {
    let mut ids: Vec<&str> = SPECS.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), SPECS.len());
    for spec in SPECS {
        for kw in spec.keywords {
            assert_eq!(*kw, kw.to_lowercase(), "{}", spec.id);
        }
        assert!(
            !spec.examples.is_empty() && !spec.negatives.is_empty(),
            "{} needs examples and negatives",
            spec.id
        );
    }
}

/// One expansion of one of a spec's templates, scanned by that spec alone.
struct Scanned {
    /// Which template, and the seed it was expanded with.
    n: usize,
    seed: u64,
    text: String,
    /// The secrets the template marks with `«…»`.
    expected: Vec<String>,
    found: Vec<crate::RawMatch>,
}

/// Each of `templates` expanded with eight seeds and scanned by `spec` alone.
fn scanned(spec: &Spec, templates: &[&str]) -> Vec<Scanned> {
    let mut out = Vec::new();
    for (n, template) in templates.iter().enumerate() {
        for seed in 0..8u64 {
            let (text, expected) = expand(template, seed * 1000 + n as u64);
            let found = scan_one(spec, &text, path_for(spec));
            out.push(Scanned {
                n,
                seed,
                text,
                expected,
                found,
            });
        }
    }
    out
}

#[test]
fn every_example_matches_with_its_secret() {
    for spec in SPECS {
        for Scanned {
            n,
            seed,
            text,
            expected,
            found,
        } in scanned(spec, spec.examples)
        {
            let secrets: Vec<&str> = found.iter().map(|m| m.secret.as_str()).collect();
            assert_eq!(
                secrets, expected,
                "{} example {n} (seed {seed}): {text:?}",
                spec.id
            );
            for m in &found {
                assert_eq!(m.rule_id, spec.id);
                assert_eq!(m.severity, spec.severity);
            }
        }
    }
}

#[test]
fn no_negative_matches() {
    for spec in SPECS {
        for Scanned { n, text, found, .. } in scanned(spec, spec.negatives) {
            assert!(
                found.is_empty(),
                "{} negative {n} matched: {text:?} -> {found:?}",
                spec.id
            );
        }
    }
}

#[test]
fn env_file_rule_respects_templates_and_paths() {
    let spec = SPECS.iter().find(|s| s.id == "secrets.env_file_committed");
    let Some(spec) = spec else {
        panic!("env rule missing")
    };
    let text = "API_KEY=abcdef123456\nOTHER=1\n";
    for path in [
        ".env",
        "app/.env.local",
        ".env.production",
        ".env.development.local",
    ] {
        assert_eq!(scan_one(spec, text, path).len(), 1, "{path}");
    }
    for path in [
        ".env.example",
        "app/.env.sample",
        ".env.template",
        ".env.dist",
        ".env.local.example",
        "env",
        "x.env.rs",
    ] {
        assert!(scan_one(spec, text, path).is_empty(), "{path}");
    }
}

#[test]
fn severities_follow_the_policy() {
    let sev = |id: &str| SPECS.iter().find(|s| s.id == id).map(|s| s.severity);
    assert_eq!(sev("stripe.live_secret_key"), Some(Severity::Blocker));
    assert_eq!(sev("private_key.pem"), Some(Severity::Blocker));
    assert_eq!(sev("stripe.test_secret_key"), Some(Severity::Info));
    assert_eq!(sev("generic.secret_assignment"), Some(Severity::Medium));
    assert_eq!(sev("secrets.env_file_committed"), Some(Severity::High));
}

#[test]
fn builtin_set_scans_a_realistic_file() {
    let (text, _) = expand(
        "# deploy config\nSTRIPE_SECRET_KEY=sk_live_{x24}\nGITHUB_TOKEN=ghp_{x36}\nDATABASE_URL=postgres://app:{x20}@db.example.com/app\nNODE_ENV=production\n",
        7,
    );
    let set = RuleSet::builtin();
    assert_eq!(set.len(), SPECS.len());
    let found = set.scan("config/deploy.yml", text.as_bytes());
    let ids: Vec<&str> = found.iter().map(|m| m.rule_id.as_str()).collect();
    assert!(ids.contains(&"stripe.live_secret_key"), "{ids:?}");
    assert!(ids.contains(&"github.token"), "{ids:?}");
    assert!(ids.contains(&"database.url_password"), "{ids:?}");
    let stripe = found.iter().find(|m| m.rule_id == "stripe.live_secret_key");
    assert_eq!(stripe.map(|m| m.line), Some(2));
    // Lock files are never scanned.
    assert!(set.scan("package-lock.json", text.as_bytes()).is_empty());
}

#[test]
fn jwt_role_check() {
    let (anon, _) = expand("{jwt:anon}", 1);
    let (service, _) = expand("{jwt:service_role}", 1);
    assert!(!jwt_is_service_role(anon.as_bytes()));
    assert!(jwt_is_service_role(service.as_bytes()));
    assert!(!jwt_is_service_role(b"eyJ.!!!.x"));
    assert!(!jwt_is_service_role(b""));
}

/// Scans `template` (expanded) at `path` with the whole built-in set: (rule id, severity, secret) per match.
fn scan_all(template: &str, path: &str) -> (Vec<(String, Severity, String)>, Vec<String>) {
    let (text, secrets) = expand(template, 11);
    let found = RuleSet::builtin()
        .scan(path, text.as_bytes())
        .into_iter()
        .map(|m| (m.rule_id, m.severity, m.secret))
        .collect();
    (found, secrets)
}

/// Asserts the rule ids and severities that scanning `template` at `path` reports, in order.
fn assert_graded(template: &str, path: &str, expected: &[(&str, Severity)]) {
    let (found, _) = scan_all(template, path);
    let graded: Vec<(&str, Severity)> = found.iter().map(|f| (f.0.as_str(), f.1)).collect();
    assert_eq!(graded, expected, "{template} at {path}");
}

#[test]
fn named_values_are_found_in_the_declarations_and_fallbacks_of_many_languages() {
    let syntaxes = [
        "static API_SECRET: &str = \"«{x30}{d2}»\";",
        "pub const API_SECRET: &str = \"«{x30}{d2}»\";",
        "const apiSecret: string = '«{x30}{d2}»';",
        "export const apiSecret = '«{x30}{d2}»';",
        "private static final String API_SECRET = \"«{x30}{d2}»\";",
        "const string ApiSecret = \"«{x30}{d2}»\";",
        "val apiSecret = \"«{x30}{d2}»\"",
        "let apiSecret = \"«{x30}{d2}»\"",
        "apiSecret := \"«{x30}{d2}»\"",
        "api_secret: \"«{x30}{d2}»\"",
        "api_secret = \"«{x30}{d2}»\"",
        "const s = process.env.API_SECRET || '«{x30}{d2}»';",
        "const s = process.env.API_SECRET ?? \"«{x30}{d2}»\";",
        "API_SECRET = os.getenv(\"API_SECRET\", \"«{x30}{d2}»\")",
        "secret = os.environ.get(\"API_SECRET\", \"«{x30}{d2}»\")",
        "secret = os.getenv(\"API_SECRET\") or \"«{x30}{d2}»\"",
        "SECRET = ENV.fetch(\"API_SECRET\", \"«{x30}{d2}»\")",
        "let s = env::var(\"API_SECRET\").unwrap_or(\"«{x30}{d2}»\");",
        "let s = env::var(\"API_SECRET\").unwrap_or_else(|_| \"«{x30}{d2}»\".to_string());",
        "      API_SECRET: ${API_SECRET:-«{x30}{d2}»}",
        ": \"${API_SECRET:=«{x30}{d2}»}\"",
        "SESSION_SECRET=«{h64}»",
        "SIGNING_KEY=«{b40}AB1+/w==»",
        // Not the first line: the window starts at the line, and the character before the name is outside it.
        "import os\nAPI_SECRET = \"«{x30}{d2}»\"",
        "[app]\nbilling_api_token = \"«{u38}{d2}»\"",
    ];
    for template in syntaxes {
        let (found, secrets) = scan_all(template, "src/app/config.txt");
        let got: Vec<&str> = found.iter().map(|(_, _, s)| s.as_str()).collect();
        assert_eq!(got, secrets, "{template}: {found:?}");
    }
}

#[test]
fn providers_known_by_name_are_found_without_a_prefix() {
    for template in [
        "TWILIO_ACCOUNT_SID=«AC{h32}»\nTWILIO_AUTH_TOKEN=«{h32}»",
        "const postmarkToken: string = '«{h8}-{h4}-{h4}-{h4}-{h12}»';",
        "MAILGUN_API_KEY=«{h32}-{h8}-{h8}»",
        "sendgridKey: '«SG.{u22}.{u43}»'",
    ] {
        let (found, secrets) = scan_all(template, "server/config.ts");
        let got: Vec<&str> = found.iter().map(|(_, _, s)| s.as_str()).collect();
        assert_eq!(got, secrets, "{template}: {found:?}");
    }
    // One secret, one finding: the provider's own rule names it, not the fallbacks.
    let (found, _) = scan_all("TWILIO_AUTH_TOKEN={h32}", "server/.config");
    let ids: Vec<&str> = found.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["twilio.auth_token"]);
}

#[test]
fn identifiers_expressions_placeholders_and_test_vectors_are_not_values() {
    for value in [
        "x25519_generate_private_key",
        "D3DKMT_PRESENTHISTORYTOKEN",
        "win32_get_token_information",
        "&PrivateKeyDer::from(key)",
        "PaginationCursorToken",
        "000102030405060708090a0b0c0d0e0f",
        "deadbeefdeadbeefdeadbeefdeadbeef",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "sk_live_{x99}_template_Q7",
        "https://example.test/{id}/Qx7Ba9Lz",
    ] {
        assert!(!value_like(value.as_bytes()), "{value}");
    }
    let (random, _) = expand("{x32}", 3);
    assert!(value_like(random.as_bytes()), "{random}");
    let (hex, _) = expand("{h64}", 3);
    assert!(value_like(hex.as_bytes()), "{hex}");
    for template in [
        "static PRIVATE_KEY_FN: &str = \"x25519_generate_private_key\";",
        "let token = &PrivateKeyDer::from(bytes);",
        "see https://api.example.com/v1/items?token={x20}{d4}&page=2",
        "API_SECRET = os.getenv(\"API_SECRET\", \"changeme-in-production\")",
        "const secret = process.env.API_SECRET!;",
        "const k = `sb-${baseUrl.hostname.split('.')[0]}-auth-token`; storageKey: 'sb-${host}-auth-token1234'",
        "computeHMACSignature('', 'test_secret') => 'f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd'",
        "a.lockToken=this.instanceID+1,this.lockAcquired=!1",
        "supabaseAuthToken||!session.expires_at",
    ] {
        let (found, _) = scan_all(template, "src/lib.rs");
        assert!(found.is_empty(), "{template}: {found:?}");
    }
}

#[test]
fn signed_jwts_are_graded_by_their_payload() {
    assert_graded(
        "SUPABASE_SERVICE_ROLE_KEY={jwt:service_role}",
        "src/a.ts",
        &[("supabase.service_role_key", Severity::Blocker)],
    );
    for (template, expected) in [
        ("AUTH={jwt:authenticated}", ("jwt.token", Severity::High)),
        (
            "AUTH={jwtold:authenticated}",
            ("jwt.expired_token", Severity::Info),
        ),
    ] {
        assert_graded(template, "src/a.ts", &[expected]);
    }
    let (found, _) = scan_all("NEXT_PUBLIC_SUPABASE_ANON_KEY={jwt:anon}", "src/a.ts");
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn secrets_shipped_to_browsers_are_blockers() {
    for (template, path) in [
        ("NEXT_PUBLIC_STRIPE_SECRET_KEY=sk_live_{x40}", ".env.local"),
        (
            "const key = import.meta.env.VITE_OPENAI_KEY || \"sk-proj-{u100}\";",
            "src/ai.js",
        ),
        ("REACT_APP_GITHUB_TOKEN=ghp_{x36}", "web/.env.production"),
        (
            "var e={k:\"ghp_{x36}\"};function f(){}",
            "web/dist/assets/index-4f2a.js",
        ),
    ] {
        let (found, _) = scan_all(template, path);
        assert_eq!(found.len(), 1, "{template}: {found:?}");
        assert!(
            found[0].0.starts_with(crate::rules::CLIENT_EXPOSED),
            "{found:?}"
        );
        assert_eq!(found[0].1, Severity::Blocker);
    }
    // A generic match is escalated only when the client variable's own name says secret.
    assert_graded(
        "VITE_DB_PASSWORD={x30}{d2}",
        "web/.env.local",
        &[(
            "client_exposed.generic.secret_assignment",
            Severity::Blocker,
        )],
    );
    let (found, _) = scan_all(
        "const k = \"{x30}{d2}\"; VITE_ALGOLIA_SEARCH_KEY=\"{x30}{d2}\"",
        "web/src/a.js",
    );
    assert!(
        found
            .iter()
            .all(|f| !f.0.starts_with(crate::rules::CLIENT_EXPOSED)),
        "{found:?}"
    );
    // Public by design: a Firebase web key stays what it is.
    assert_graded(
        "NEXT_PUBLIC_FIREBASE_API_KEY=AIza{u35}",
        ".env.local",
        &[("gcp.api_key", Severity::Medium)],
    );
}

#[test]
fn examples_and_fixtures_are_info_unless_live_shaped() {
    let (found, _) = scan_all(
        "ALGOLIA_ADMIN_KEY = \"{h32}\"",
        "tests/fixtures/settings.py",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, Severity::Info);
    // The broadest fallback stays quiet there: `Key = <hex>` is what a test vector looks like.
    let (found, _) = scan_all("Key = {h64}\n", "src/aead/poly1305_test.txt");
    assert!(found.is_empty(), "{found:?}");
    assert_graded(
        "STRIPE_KEY = \"sk_live_{x40}\"",
        "config/settings.py.example",
        &[("stripe.live_secret_key", Severity::Blocker)],
    );
    // A committed .env of plain settings is no leak; one credential in it is.
    let (found, _) = scan_all(
        "NODE_ENV=production\nPORT=3000\nLOG_LEVEL=debug\nAPI_URL=https://api.example.com\n",
        "app/.env",
    );
    assert!(found.is_empty(), "{found:?}");
}
