//! Turns secret matches into the project's common findings (stage 4, deployment hardening): redacted evidence,
//! a file location for code-scanning dashboards, and a fingerprint that identifies the finding across runs
//! without containing the secret.

use launchready_findings::{Finding, SourceLocation, Stage};
use sha2::{Digest, Sha256};

use crate::SecretFinding;

const REFERENCE: &str =
    "https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html";

/// `sk_l…(32 chars)`: enough to recognise which key it is, never enough to use it. Secrets under 12 characters
/// show no prefix at all.
pub fn redact(secret: &str) -> String {
    let chars = secret.chars().count();
    let shown = if chars >= 12 { 4 } else { 0 };
    let prefix: String = secret.chars().take(shown).collect();
    format!("{prefix}…({chars} chars)")
}

/// The stable identity of a finding: rule, path and a hash of the secret, hashed again so neither the secret nor
/// its hash can be read back out of a baseline file.
pub fn fingerprint(rule_id: &str, path: &str, secret: &str) -> String {
    let secret_hash = Sha256::digest(secret.as_bytes());
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(secret_hash);
    hex(&hasher.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The finding for one match; `show_secret` puts the value itself in the evidence.
pub fn to_finding(found: &SecretFinding, show_secret: bool) -> Finding {
    let m = &found.found;
    let loc = &found.location;
    let where_ = match &loc.commit {
        Some(commit) => format!("{}:{} @ {}", loc.path, m.line, short(&commit.id)),
        None => format!("{}:{}", loc.path, m.line),
    };
    let value = if show_secret {
        m.secret.clone()
    } else {
        redact(&m.secret)
    };
    let mut finding = Finding::new(
        finding_id(&m.rule_id),
        Stage::Deployment,
        m.severity,
        where_,
        format!("{} in {}", m.description, loc.path),
    )
    .evidence(format!("secret: {value}"))
    .evidence(format!("line {}, column {}", m.line, m.column));
    if let Some(entropy) = m.entropy {
        finding = finding.evidence(format!("entropy {entropy:.2} bits per character"));
    }
    if let Some(commit) = &loc.commit {
        finding = finding.evidence(format!(
            "introduced in commit {} by {} <{}> on {}; it stays in git history even after the file changes",
            short(&commit.id),
            commit.author,
            commit.email,
            commit.date
        ));
    }
    let remediation = if m.rule_id.starts_with(crate::rules::CLIENT_EXPOSED) {
        "Move it server-side: browsers receive every value in a public variable or a built bundle, so the call that needs this credential belongs in an API route, server action or edge function. Rotate it at its provider, since every visitor may already have it, and keep only publishable keys in client variables."
    } else {
        "Revoke or rotate the credential at its provider first: it is already exposed to everyone with the repository. Then load it from the environment or a secret manager, and purge it from history (git filter-repo) if the repository is shared."
    };
    finding
        .remediation(remediation)
        .reference(REFERENCE)
        .at(SourceLocation {
            path: loc.path.clone(),
            line: m.line,
            column: m.column,
            commit: loc.commit.as_ref().map(|c| c.id.clone()),
        })
        .with_fingerprint(fingerprint(&m.rule_id, &loc.path, &m.secret))
}

/// One finding per rule, path and secret: a secret that stays in a file while the file changes lives on in every
/// later version of its blob, and reporting each version would bury the one fact that matters — where it first
/// appeared. Keeps the occurrence with the earliest commit (history beats the working tree, which has no date);
/// the order of the input is otherwise kept.
pub fn first_occurrences(findings: Vec<SecretFinding>) -> Vec<SecretFinding> {
    use std::collections::HashMap;
    let key = |f: &SecretFinding| {
        (
            f.found.rule_id.clone(),
            f.location.path.clone(),
            f.found.secret.clone(),
        )
    };
    // Earlier is smaller: a commit before none, then by date, then by id for a stable choice.
    let rank = |f: &SecretFinding| match &f.location.commit {
        Some(c) => (0u8, c.date.clone(), c.id.clone()),
        None => (1u8, String::new(), String::new()),
    };
    let mut best: HashMap<(String, String, String), usize> = HashMap::new();
    for (i, finding) in findings.iter().enumerate() {
        match best.get(&key(finding)) {
            Some(&j) if rank(&findings[j]) <= rank(finding) => {}
            _ => {
                best.insert(key(finding), i);
            }
        }
    }
    let mut keep: Vec<usize> = best.into_values().collect();
    keep.sort_unstable();
    let mut slots: Vec<Option<SecretFinding>> = findings.into_iter().map(Some).collect();
    keep.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// `secrets.<rule id>`; a rule already named in that family (`secrets.env_file_committed`) keeps its name.
pub fn finding_id(rule_id: &str) -> String {
    if rule_id.starts_with("secrets.") {
        rule_id.to_string()
    } else {
        format!("secrets.{rule_id}")
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CommitInfo, Location, RawMatch};
    use launchready_findings::Severity;

    fn found(secret: &str, commit: bool) -> SecretFinding {
        SecretFinding {
            found: RawMatch {
                rule_id: "stripe.live_secret_key".into(),
                description: "Stripe live secret key".into(),
                severity: Severity::Blocker,
                line: 3,
                column: 9,
                start: 40,
                end: 40 + secret.len(),
                secret: secret.into(),
                entropy: Some(4.5),
            },
            location: Location {
                path: "config/app.env".into(),
                commit: commit.then(|| CommitInfo {
                    id: "0123456789abcdef0123456789abcdef01234567".into(),
                    author: "Ada".into(),
                    email: "ada@example.test".into(),
                    date: "2026-01-02T03:04:05Z".into(),
                }),
                blob: None,
            },
        }
    }

    #[test]
    fn a_secret_that_lives_on_in_later_blobs_is_reported_once_at_its_first_commit() {
        let mut early = found("sk_live_aaaaaaaaaaaaaaaaaaaaaaaa", true);
        early.location.commit.as_mut().unwrap().date = "2026-01-01T00:00:00Z".into();
        early.location.commit.as_mut().unwrap().id = "early".into();
        let mut late = early.clone();
        late.location.commit.as_mut().unwrap().date = "2026-03-01T00:00:00Z".into();
        late.location.commit.as_mut().unwrap().id = "late".into();
        let tree = found("sk_live_aaaaaaaaaaaaaaaaaaaaaaaa", false);
        let other = found("sk_live_bbbbbbbbbbbbbbbbbbbbbbbb", false);
        let kept = first_occurrences(vec![late, tree, early, other.clone()]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].location.commit.as_ref().unwrap().id, "early");
        assert_eq!(kept[1], other);
    }

    #[test]
    fn client_exposed_findings_say_move_it_server_side() {
        let mut exposed = found("sk_live_aaaaaaaaaaaaaaaaaaaaaaaa", false);
        exposed.found.rule_id = format!("{}stripe.live_secret_key", crate::rules::CLIENT_EXPOSED);
        let finding = to_finding(&exposed, false);
        assert_eq!(finding.id, "secrets.client_exposed.stripe.live_secret_key");
        let json = serde_json::to_string(&finding).unwrap();
        assert!(json.contains("Move it server-side"), "{json}");
    }

    #[test]
    fn finding_ids_are_in_the_secrets_family_once() {
        assert_eq!(finding_id("aws.access_key_id"), "secrets.aws.access_key_id");
        assert_eq!(
            finding_id("secrets.env_file_committed"),
            "secrets.env_file_committed"
        );
        assert_eq!(finding_id("generic-api-key"), "secrets.generic-api-key");
    }

    #[test]
    fn redaction_keeps_a_short_prefix_and_the_length_only() {
        assert_eq!(redact("sk_live_0123456789abcdefghij"), "sk_l…(28 chars)");
        assert_eq!(redact("hunter2"), "…(7 chars)");
        assert_eq!(redact(""), "…(0 chars)");
    }

    #[test]
    fn findings_never_contain_the_secret_unless_asked() {
        // Assembled at run time so the scanner does not report its own test.
        let secret = &format!("sk_{}_{}", "live", "0123456789abcdefghijklmn");
        let finding = to_finding(&found(secret, true), false);
        let json = serde_json::to_string(&finding).unwrap();
        assert!(!json.contains(secret.as_str()), "{json}");
        assert!(!json.contains(&hex(&Sha256::digest(secret.as_bytes()))));
        assert_eq!(finding.id, "secrets.stripe.live_secret_key");
        assert_eq!(finding.subject, "config/app.env:3 @ 0123456789ab");
        assert_eq!(finding.location.as_ref().unwrap().line, 3);
        assert!(finding.evidence.iter().any(|e| e.contains("by Ada")));
        let shown = to_finding(&found(secret, false), true);
        assert!(shown.evidence[0].contains(secret.as_str()));
    }

    #[test]
    fn fingerprints_depend_on_rule_path_and_secret_but_not_commit() {
        let a = to_finding(&found("sk_live_aaaaaaaaaaaaaaaaaaaaaaaa", true), false);
        let b = to_finding(&found("sk_live_aaaaaaaaaaaaaaaaaaaaaaaa", false), false);
        let c = to_finding(&found("sk_live_bbbbbbbbbbbbbbbbbbbbbbbb", false), false);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(
            fingerprint("r", "a.env", "x"),
            fingerprint("r", "b.env", "x")
        );
    }
}
