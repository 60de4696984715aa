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
/// Supabase-shaped JWT, `«…»` marks a secret.
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
            if let Some(role) = inner.strip_prefix("jwt:") {
                let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
                let payload = b64url(format!(r#"{{"iss":"supabase","ref":"abcdefghijklmnopqrst","role":"{role}","iat":1700000000,"exp":2000000000}}"#).as_bytes());
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

#[test]
fn every_example_matches_with_its_secret() {
    for spec in SPECS {
        for (n, template) in spec.examples.iter().enumerate() {
            for seed in 0..8u64 {
                let (text, expected) = expand(template, seed * 1000 + n as u64);
                let found = scan_one(spec, &text, path_for(spec));
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
}

#[test]
fn no_negative_matches() {
    for spec in SPECS {
        for (n, template) in spec.negatives.iter().enumerate() {
            for seed in 0..8u64 {
                let (text, _) = expand(template, seed * 1000 + n as u64);
                let found = scan_one(spec, &text, path_for(spec));
                assert!(
                    found.is_empty(),
                    "{} negative {n} matched: {text:?} -> {found:?}",
                    spec.id
                );
            }
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
