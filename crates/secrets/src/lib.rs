//! Leaked-credential scanning: a rule engine (built-in rules, or a gitleaks v8 config) that finds secrets in bytes,
//! and the sources it reads: a working tree (respecting .gitignore), every blob of a git repository's history
//! (each unique blob once, attributed to the first commit and path it appears in), the index, or stdin.
//!
//! The engine never sees where bytes come from and the sources never judge them: `rules` answers "which secrets
//! are in these bytes at this path", `sources` answers "which bytes, from where".

pub mod baseline;
pub mod builtin;
pub mod gitleaks;
pub mod report;
pub mod rules;
pub mod sources;

use launchready_findings::Severity;
use serde::{Deserialize, Serialize};

/// One secret found in one buffer. Offsets are byte offsets into the scanned buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawMatch {
    pub rule_id: String,
    pub description: String,
    pub severity: Severity,
    /// 1-based line and column of the match's start.
    pub line: usize,
    pub column: usize,
    pub start: usize,
    pub end: usize,
    /// The secret itself (the rule's secret group, else the whole match), lossily decoded. Never printed
    /// unless the user asks for `--show-secrets`.
    pub secret: String,
    /// Shannon entropy of the secret, when the rule has an entropy threshold.
    pub entropy: Option<f32>,
}

/// Where bytes came from: a path, and for history scans the commit that first introduced them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the scanned root, `/`-separated; `-` for stdin.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    /// The git blob id, when the bytes came from the object database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    /// RFC 3339, UTC.
    pub date: String,
}

/// A match placed in the scanned world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretFinding {
    #[serde(flatten)]
    pub found: RawMatch,
    pub location: Location,
}

/// Something a scan did not read, and why (binary, too large, unreadable, a corrupt object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}
