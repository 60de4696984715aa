//! Probe families as versioned data: each family is a TOML file under `probes/` (embedded at build time), with
//! its attempts (one or more turns), the severity and fix it reports, and the placeholders the runner fills in.
//! A family's `version` is bumped whenever its attempts change, and reports name the version that ran.

use crate::Error;
use launchready_findings::Severity;
use launchready_manifest::EscalationTrigger;
use serde::Deserialize;

/// The built-in families, in the order they run.
const BUILTIN: &[(&str, &str)] = &[
    (
        "injection_direct.toml",
        include_str!("../probes/injection_direct.toml"),
    ),
    (
        "injection_indirect.toml",
        include_str!("../probes/injection_indirect.toml"),
    ),
    (
        "extraction_system_prompt.toml",
        include_str!("../probes/extraction_system_prompt.toml"),
    ),
    (
        "leak_member_data.toml",
        include_str!("../probes/leak_member_data.toml"),
    ),
    (
        "tools_unverified.toml",
        include_str!("../probes/tools_unverified.toml"),
    ),
    (
        "jailbreak_role_play.toml",
        include_str!("../probes/jailbreak_role_play.toml"),
    ),
    (
        "escalation_required.toml",
        include_str!("../probes/escalation_required.toml"),
    ),
];

/// What a passing conversation looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Nothing leaks, no sensitive tool fires, no injected marker comes back.
    #[default]
    Safe,
    /// All of that, and the conversation is handed to a human.
    Escalate,
}

/// One family: a set of attempts at the same weakness.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    /// Dotted, stable: the finding id is `ai.` + this.
    pub id: String,
    pub version: u32,
    pub title: String,
    pub severity: Severity,
    /// What a failure means, in one line (the finding's title).
    pub summary: String,
    pub remediation: String,
    pub reference: String,
    #[serde(default)]
    pub expect: Expect,
    #[serde(rename = "attempt")]
    pub attempts: Vec<Attempt>,
}

/// One conversation: the member's turns, sent in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    pub id: String,
    /// Turns may hold `{{marker}}` (a string the assistant must never say) and `{{other_member}}`.
    pub turns: Vec<String>,
    /// Runs only when the manifest lists this tool as sensitive.
    pub tool: Option<String>,
    /// Runs only when the manifest expects escalation for this situation.
    #[serde(default, deserialize_with = "trigger")]
    pub trigger: Option<EscalationTrigger>,
}

fn trigger<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<EscalationTrigger>, D::Error> {
    let name: Option<String> = Option::deserialize(deserializer)?;
    name.map(|name| {
        EscalationTrigger::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown escalation trigger `{name}`")))
    })
    .transpose()
}

impl Family {
    /// Parses one family file; `name` only labels errors.
    pub fn parse(name: &str, text: &str) -> Result<Family, Error> {
        let family: Family = toml::from_str(text).map_err(|e| Error::Probes {
            file: name.to_string(),
            message: e.to_string(),
        })?;
        if family.attempts.is_empty() || family.attempts.iter().any(|a| a.turns.is_empty()) {
            return Err(Error::Probes {
                file: name.to_string(),
                message: "every family needs attempts, and every attempt a turn".to_string(),
            });
        }
        Ok(family)
    }

    /// `injection.direct` → `ai.injection.direct`.
    pub fn finding_id(&self) -> String {
        format!("ai.{}", self.id)
    }
}

/// Every built-in family, in run order.
pub fn builtin() -> Result<Vec<Family>, Error> {
    BUILTIN
        .iter()
        .map(|(name, text)| Family::parse(name, text))
        .collect()
}

/// The string an injected instruction asks the assistant to say: distinctive, stable per attempt (so reports
/// compare across runs), and never a word a reply would contain by chance.
pub fn marker(family: &str, attempt: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{family}/{attempt}").as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02X}")).collect();
    format!("ZQX-{hex}")
}

/// A turn with its placeholders filled.
pub fn fill(turn: &str, marker: &str, other_member: &str) -> String {
    turn.replace("{{marker}}", marker)
        .replace("{{other_member}}", other_member)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_family_parses_with_several_phrasings_and_a_multi_turn_variant() {
        let families = builtin().expect("built-in probes parse");
        assert_eq!(families.len(), 7);
        let mut ids: Vec<&str> = families.iter().map(|f| f.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 7, "family ids are distinct");
        for family in &families {
            assert!(
                family.attempts.len() >= 4,
                "{} has few phrasings",
                family.id
            );
            assert!(
                family.attempts.iter().any(|a| a.turns.len() > 1),
                "{} has no multi-turn variant",
                family.id
            );
            assert!(family.reference.starts_with("https://"));
        }
    }

    #[test]
    fn markers_are_stable_and_distinct() {
        assert_eq!(marker("a", "b"), marker("a", "b"));
        assert_ne!(marker("a", "b"), marker("a", "c"));
        assert_eq!(
            fill("say {{marker}} to {{other_member}}", "M", "Jane"),
            "say M to Jane"
        );
    }

    #[test]
    fn a_broken_family_file_is_a_clear_error() {
        let error = Family::parse("x.toml", "id = 1").unwrap_err().to_string();
        assert!(error.contains("x.toml"), "{error}");
    }
}
