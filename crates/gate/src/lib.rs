//! `launchready gate`: one verdict from every part of a launch check. Each part (audit, secrets, env, smoke with
//! the journeys, deploy, load) produces findings on its own; this crate tags each finding with its part, adds
//! a finding for a part that could not run, and folds them into one [`Report`] of kind [`ReportKind::Gate`]
//! whose verdict is ready, ready with accepted risks, or not ready with the blockers first.
//!
//! Running the parts is the binary's job (it owns the flags and the network layer); this crate only knows how
//! to judge `[deploy]` and how to combine.

pub mod deploy;

use launchready_findings::{DnsMapEntry, Finding, Report, ReportKind, Severity, Stage};
use serde::Serialize;

/// The parts of a gate, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Audit,
    Secrets,
    Env,
    Smoke,
    Deploy,
    Load,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Audit => "audit",
            Part::Secrets => "secrets",
            Part::Env => "env",
            Part::Smoke => "smoke",
            Part::Deploy => "deploy",
            Part::Load => "load",
        }
    }
}

/// What one part produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The part ran; its findings (suppressions already applied).
    Ran(Vec<Finding>),
    /// The part could not run (no nameserver answered, the repository is unreadable): a gate that could not
    /// look cannot say ready.
    CouldNotRun(String),
    /// Not asked for (load without `--load-rate`), with why; reported on stderr, not as a finding.
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct PartResult {
    pub part: Part,
    pub outcome: Outcome,
}

/// The id of the finding for a part that could not run.
pub const COULD_NOT_RUN: &str = "gate.part.could_not_run";

/// The prefix that shows which part a finding came from, e.g. `audit: www.demo.test`. Ids are never changed:
/// users suppress by them.
pub fn tagged_subject(part: Part, subject: &str) -> String {
    format!("{}: {subject}", part.as_str())
}

/// Folds the parts' results into one report of kind [`ReportKind::Gate`], findings sorted most severe first
/// (blockers first), suppressed ones last with their reasons.
pub fn combine(
    target: &str,
    generated_at: &str,
    results: Vec<PartResult>,
    dns_map: Vec<DnsMapEntry>,
) -> Report {
    let mut findings = Vec::new();
    for result in results {
        match result.outcome {
            Outcome::Ran(list) => {
                findings.extend(list.into_iter().map(|mut finding| {
                    finding.subject = tagged_subject(result.part, &finding.subject);
                    finding
                }));
            }
            Outcome::CouldNotRun(reason) => {
                let mut finding = Finding::new(
                    COULD_NOT_RUN,
                    Stage::QuickAudit,
                    Severity::Blocker,
                    tagged_subject(result.part, target),
                    format!(
                        "the {} part of the gate could not run",
                        result.part.as_str()
                    ),
                );
                finding.evidence = vec![reason];
                finding.remediation = "Fix what stopped it (see the evidence) and run the gate again; a gate that could not look cannot say ready.".to_string();
                findings.push(finding);
            }
            Outcome::Skipped(_) => {}
        }
    }
    Report::new(target, generated_at, findings, dns_map).with_kind(ReportKind::Gate)
}

/// The gate's one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateVerdict {
    /// Nothing at or above the threshold, nothing accepted.
    Ready,
    /// Nothing active at or above the threshold, but findings that would fail it were accepted with `[[ignore]]`
    /// (or a baseline): the report lists them with their reasons.
    ReadyWithAcceptedRisks,
    /// Active findings at or above the threshold: the blockers.
    NotReady,
}

impl GateVerdict {
    pub fn title(self) -> &'static str {
        match self {
            GateVerdict::Ready => "ready to launch",
            GateVerdict::ReadyWithAcceptedRisks => "ready to launch, with accepted risks",
            GateVerdict::NotReady => "not ready to launch",
        }
    }
}

/// The verdict against `fail_on` (the same threshold that sets the exit code).
pub fn verdict(report: &Report, fail_on: Severity) -> GateVerdict {
    if report.failing(fail_on).next().is_some() {
        GateVerdict::NotReady
    } else if report.suppressed().any(|f| f.severity >= fail_on) {
        GateVerdict::ReadyWithAcceptedRisks
    } else {
        GateVerdict::Ready
    }
}

/// The verdict in a few lines for the terminal: the blockers first (most severe first, each with its part in
/// the subject), or the accepted risks with their reasons.
pub fn summary(report: &Report, fail_on: Severity) -> String {
    let verdict = verdict(report, fail_on);
    let mut out = format!("gate: {} — {}\n", report.target, verdict.title());
    match verdict {
        GateVerdict::NotReady => {
            let failing: Vec<&Finding> = report.failing(fail_on).collect();
            out.push_str(&format!(
                "blockers ({}, at or above {}):\n",
                failing.len(),
                fail_on.as_str()
            ));
            for finding in failing {
                out.push_str(&format!(
                    "  [{}] {} — {} ({})\n",
                    finding.severity.as_str(),
                    finding.id,
                    finding.title,
                    finding.subject
                ));
            }
        }
        GateVerdict::ReadyWithAcceptedRisks => {
            out.push_str("accepted risks:\n");
            for finding in report.suppressed().filter(|f| f.severity >= fail_on) {
                let reason = finding
                    .suppressed
                    .as_ref()
                    .map_or("", |s| s.reason.as_str());
                out.push_str(&format!(
                    "  [{}] {} ({}): {reason}\n",
                    finding.severity.as_str(),
                    finding.id,
                    finding.subject
                ));
            }
        }
        GateVerdict::Ready => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchready_findings::Suppression;

    fn finding(id: &str, severity: Severity, subject: &str) -> Finding {
        Finding::new(id, Stage::QuickAudit, severity, subject, "t")
    }

    #[test]
    fn blockers_come_first_tagged_with_their_part() {
        let report = combine(
            "demo.test",
            "now",
            vec![
                PartResult {
                    part: Part::Env,
                    outcome: Outcome::Ran(vec![finding("env.no_example", Severity::Low, ".")]),
                },
                PartResult {
                    part: Part::Audit,
                    outcome: Outcome::Ran(vec![finding(
                        "tls.cert.expired",
                        Severity::Blocker,
                        "www.demo.test",
                    )]),
                },
                PartResult {
                    part: Part::Load,
                    outcome: Outcome::Skipped("no --load-rate".into()),
                },
            ],
            Vec::new(),
        );
        assert_eq!(report.kind, ReportKind::Gate);
        assert_eq!(report.findings[0].id, "tls.cert.expired");
        assert_eq!(report.findings[0].subject, "audit: www.demo.test");
        assert_eq!(report.findings[1].subject, "env: .");
        assert_eq!(verdict(&report, Severity::High), GateVerdict::NotReady);
        let text = summary(&report, Severity::High);
        assert!(text.contains("not ready"), "{text}");
        assert!(text.contains("tls.cert.expired"), "{text}");
    }

    #[test]
    fn a_part_that_could_not_run_is_a_blocker() {
        let report = combine(
            "demo.test",
            "now",
            vec![PartResult {
                part: Part::Smoke,
                outcome: Outcome::CouldNotRun("no nameserver answered".into()),
            }],
            Vec::new(),
        );
        assert_eq!(report.findings[0].id, COULD_NOT_RUN);
        assert_eq!(report.findings[0].severity, Severity::Blocker);
        assert_eq!(report.findings[0].subject, "smoke: demo.test");
    }

    #[test]
    fn accepted_findings_make_ready_with_accepted_risks() {
        let mut accepted = finding("hsts.missing", Severity::High, "d");
        accepted.suppressed = Some(Suppression {
            reason: "staging only until Friday".into(),
        });
        let report = combine(
            "d",
            "now",
            vec![PartResult {
                part: Part::Audit,
                outcome: Outcome::Ran(vec![
                    accepted,
                    finding("dns.aaaa.missing", Severity::Low, "d"),
                ]),
            }],
            Vec::new(),
        );
        assert_eq!(
            verdict(&report, Severity::High),
            GateVerdict::ReadyWithAcceptedRisks
        );
        assert!(summary(&report, Severity::High).contains("staging only until Friday"));
        let clean = combine("d", "now", Vec::new(), Vec::new());
        assert_eq!(verdict(&clean, Severity::High), GateVerdict::Ready);
        assert_eq!(clean.score, 100);
    }
}
