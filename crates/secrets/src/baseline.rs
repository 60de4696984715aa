//! Known findings that must not fail CI: launchready baselines (`--write-baseline` / `--baseline`, keyed by
//! fingerprint) and gitleaks' `.gitleaksignore` (`commit:path:rule:line` or `path:rule:line` per line).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use launchready_findings::{Finding, Suppression};
use serde::{Deserialize, Serialize};

use crate::SecretFinding;

/// The baseline file format version; a file with another version is refused rather than misread.
pub const BASELINE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

/// One accepted finding. Only the fingerprint is matched; rule and path are there so a reviewer can read the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("baseline {path} is not a launchready baseline: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write baseline {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Baseline {
    /// Every finding with a fingerprint, sorted so the file diffs cleanly.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .filter_map(|f| {
                Some(BaselineEntry {
                    fingerprint: f.fingerprint.clone()?,
                    rule: f.id.clone(),
                    path: f
                        .location
                        .as_ref()
                        .map(|l| l.path.clone())
                        .unwrap_or_default(),
                })
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.path, &a.rule, &a.fingerprint).cmp(&(&b.path, &b.rule, &b.fingerprint))
        });
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline {
            version: BASELINE_VERSION,
            findings: entries,
        }
    }

    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let baseline: Baseline =
            serde_json::from_str(&text).map_err(|e| BaselineError::Invalid {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if baseline.version != BASELINE_VERSION {
            return Err(BaselineError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "version {} (this launchready reads version {BASELINE_VERSION})",
                    baseline.version
                ),
            });
        }
        Ok(baseline)
    }

    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| BaselineError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        std::fs::write(path, text).map_err(|source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Marks findings in the baseline as suppressed; returns how many it matched.
    pub fn apply(&self, findings: &mut [Finding]) -> usize {
        let known: HashSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let mut matched = 0;
        for finding in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
            if finding
                .fingerprint
                .as_deref()
                .is_some_and(|fp| known.contains(fp))
            {
                finding.suppressed = Some(Suppression {
                    reason: "in the baseline".to_string(),
                });
                matched += 1;
            }
        }
        matched
    }
}

/// `.gitleaksignore`: one gitleaks fingerprint per line, `#` comments allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitleaksIgnore {
    entries: HashSet<String>,
}

impl GitleaksIgnore {
    pub fn parse(text: &str) -> GitleaksIgnore {
        GitleaksIgnore {
            entries: text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Reads `<root>/.gitleaksignore` if there is one.
    pub fn load(root: &Path) -> std::io::Result<GitleaksIgnore> {
        match std::fs::read_to_string(root.join(".gitleaksignore")) {
            Ok(text) => Ok(GitleaksIgnore::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(GitleaksIgnore::default()),
            Err(e) => Err(e),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether gitleaks would have ignored this match: `commit:path:rule:line` for history, `path:rule:line` for
    /// files.
    pub fn ignores(&self, found: &SecretFinding) -> bool {
        let m = &found.found;
        let path = &found.location.path;
        let plain = format!("{path}:{}:{}", m.rule_id, m.line);
        match &found.location.commit {
            Some(commit) => {
                self.entries.contains(&format!("{}:{plain}", commit.id))
                    || self.entries.contains(&plain)
            }
            None => self.entries.contains(&plain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchready_findings::{Severity, SourceLocation, Stage};

    fn finding(fp: &str, path: &str) -> Finding {
        Finding::new("secrets.x", Stage::Deployment, Severity::High, path, "t")
            .at(SourceLocation {
                path: path.into(),
                line: 1,
                column: 1,
                commit: None,
            })
            .with_fingerprint(fp)
    }

    #[test]
    fn a_written_baseline_suppresses_the_same_findings_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("baseline.json");
        Baseline::from_findings(&[finding("aa", "a.env"), finding("bb", "b.env")])
            .write(&file)
            .unwrap();
        let baseline = Baseline::load(&file).unwrap();
        let mut now = vec![finding("aa", "a.env"), finding("cc", "c.env")];
        assert_eq!(baseline.apply(&mut now), 1);
        assert!(now[0].suppressed.is_some());
        assert!(now[1].suppressed.is_none());
    }

    #[test]
    fn a_bad_baseline_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.json");
        std::fs::write(&file, r#"{"version": 9, "findings": []}"#).unwrap();
        let err = Baseline::load(&file).unwrap_err().to_string();
        assert!(err.contains("b.json") && err.contains("version 9"), "{err}");
        std::fs::write(&file, "not json").unwrap();
        assert!(
            Baseline::load(&file)
                .unwrap_err()
                .to_string()
                .contains("not a launchready baseline")
        );
    }

    #[test]
    fn gitleaksignore_matches_both_fingerprint_forms() {
        use crate::{CommitInfo, Location, RawMatch};
        let ignore = GitleaksIgnore::parse(
            "# comment\nabc123:src/a.js:aws-access-token:4\nb.env:generic-api-key:2\n",
        );
        let m = |rule: &str, line: usize| RawMatch {
            rule_id: rule.into(),
            description: String::new(),
            severity: Severity::High,
            line,
            column: 1,
            start: 0,
            end: 0,
            secret: String::new(),
            entropy: None,
        };
        let at = |path: &str, commit: Option<&str>| Location {
            path: path.into(),
            commit: commit.map(|id| CommitInfo {
                id: id.into(),
                author: String::new(),
                email: String::new(),
                date: String::new(),
            }),
            blob: None,
        };
        let f = |rule, line, path, commit| SecretFinding {
            found: m(rule, line),
            location: at(path, commit),
        };
        assert!(ignore.ignores(&f("aws-access-token", 4, "src/a.js", Some("abc123"))));
        assert!(!ignore.ignores(&f("aws-access-token", 5, "src/a.js", Some("abc123"))));
        assert!(ignore.ignores(&f("generic-api-key", 2, "b.env", None)));
        assert!(!ignore.ignores(&f("generic-api-key", 2, "c.env", None)));
    }
}
