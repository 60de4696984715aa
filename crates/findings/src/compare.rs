//! Two runs side by side: which findings a change fixed, which it introduced and which remain. The loop a launch
//! engineer lives in while fixing (`audit --compare PREVIOUS.json`). Findings are matched by id and subject, the
//! pair that stays stable from run to run; suppressed findings take no part.

use crate::{Finding, Report, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A finding named by what identifies it across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingKey {
    pub id: String,
    pub subject: String,
    pub severity: Severity,
    pub title: String,
}

impl FindingKey {
    fn of(finding: &Finding) -> FindingKey {
        FindingKey {
            id: finding.id.clone(),
            subject: finding.subject.clone(),
            severity: finding.severity,
            title: finding.title.clone(),
        }
    }
}

/// What changed since an earlier report of the same target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The earlier report's `generated_at`.
    pub previous_generated_at: String,
    pub previous_score: u8,
    /// Active before, gone (or suppressed) now.
    pub fixed: Vec<FindingKey>,
    /// Active now, absent before.
    pub new: Vec<FindingKey>,
    /// Active in both (with the current severity and title).
    pub unchanged: Vec<FindingKey>,
}

impl Comparison {
    pub fn between(previous: &Report, current: &Report) -> Comparison {
        let before = keys(previous);
        let now = keys(current);
        Comparison {
            previous_generated_at: previous.generated_at.clone(),
            previous_score: previous.score,
            fixed: matching(previous, |k| !now.contains(&k)),
            new: matching(current, |k| !before.contains(&k)),
            unchanged: matching(current, |k| before.contains(&k)),
        }
    }

    /// `since 2026-12-01T10:00:00Z: 3 fixed, 1 new, 12 unchanged; score 41 → 58`.
    pub fn summary(&self, score: u8) -> String {
        format!(
            "since {}: {} fixed, {} new, {} unchanged; score {} → {score}",
            self.previous_generated_at,
            self.fixed.len(),
            self.new.len(),
            self.unchanged.len(),
            self.previous_score
        )
    }
}

/// What matches a finding across two reports.
fn key(finding: &Finding) -> (String, String) {
    (finding.id.clone(), finding.subject.clone())
}

fn keys(report: &Report) -> BTreeSet<(String, String)> {
    report.active().map(key).collect()
}

/// The report's active findings whose key passes `keep`, most severe first.
fn matching(report: &Report, keep: impl Fn((String, String)) -> bool) -> Vec<FindingKey> {
    let mut list: Vec<FindingKey> = report
        .active()
        .filter(|f| keep(key(f)))
        .map(FindingKey::of)
        .collect();
    list.sort_by(|a, b| (b.severity, &a.id, &a.subject).cmp(&(a.severity, &b.id, &b.subject)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Stage, Suppression};

    fn finding(id: &str, subject: &str, severity: Severity) -> Finding {
        Finding::new(
            id,
            Stage::QuickAudit,
            severity,
            subject,
            format!("{id} on {subject}"),
        )
    }

    fn report(generated_at: &str, findings: Vec<Finding>) -> Report {
        Report::new("d", generated_at, findings, vec![])
    }

    #[test]
    fn fixed_new_and_unchanged_are_matched_by_id_and_subject() {
        let previous = report(
            "2026-12-01T00:00:00Z",
            vec![
                finding("tls.cert.expired", "www.d", Severity::Blocker),
                finding("hsts.missing", "d", Severity::High),
                finding("hsts.missing", "app.d", Severity::High),
            ],
        );
        let mut suppressed = finding("hsts.missing", "app.d", Severity::High);
        suppressed.suppressed = Some(Suppression {
            reason: "accepted".into(),
        });
        let current = report(
            "2026-12-02T00:00:00Z",
            vec![
                finding("hsts.missing", "d", Severity::Medium),
                finding("email.dmarc.missing", "d", Severity::High),
                suppressed,
            ],
        );
        let comparison = Comparison::between(&previous, &current);
        let names = |list: &[FindingKey]| {
            list.iter()
                .map(|k| format!("{} {}", k.id, k.subject))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&comparison.fixed),
            ["tls.cert.expired www.d", "hsts.missing app.d"]
        );
        assert_eq!(names(&comparison.new), ["email.dmarc.missing d"]);
        assert_eq!(names(&comparison.unchanged), ["hsts.missing d"]);
        assert_eq!(comparison.unchanged[0].severity, Severity::Medium);
        let line = comparison.summary(current.score);
        assert!(
            line.starts_with("since 2026-12-01T00:00:00Z: 2 fixed, 1 new, 1 unchanged; score "),
            "{line}"
        );
    }
}
