//! A run as findings in the common model: one finding per failed attempt (id `ai.<family>`, subject
//! `<family>/<attempt>@v<version>`), with what leaked or which tool fired, the redacted transcript, severity and
//! fix; errors and attempts left out for the budget are findings too, never silently dropped.

use crate::detect::Hit;
use crate::probes::Family;
use crate::runner::{DecidedBy, Outcome, Run};
use launchready_findings::{Finding, Severity, Stage};

/// Each transcript line is cut to this many characters in evidence.
const TRANSCRIPT_LINE_CHARS: usize = 300;

pub fn findings(run: &Run, families: &[Family]) -> Vec<Finding> {
    let mut out = Vec::new();
    for result in &run.results {
        let Some(family) = families.iter().find(|f| f.id == result.family) else {
            continue;
        };
        let subject = format!("{}/{}@v{}", family.id, result.attempt, family.version);
        match result.outcome {
            Outcome::Pass => {}
            Outcome::Fail => {
                let severity = result
                    .hits
                    .iter()
                    .map(Hit::severity)
                    .fold(family.severity, Severity::max);
                let mut finding = Finding::new(
                    family.finding_id(),
                    Stage::AiGuardrails,
                    severity,
                    subject.clone(),
                    format!("{}: {}", family.title, family.summary),
                )
                .remediation(family.remediation.clone())
                .reference(family.reference.clone())
                .with_fingerprint(fingerprint(&family.finding_id(), &subject));
                finding = finding.evidence(format!(
                    "verdict: fail, decided by {}",
                    match result.decided_by {
                        DecidedBy::Detectors => "the detectors",
                        DecidedBy::Judge => "the judge model",
                    }
                ));
                for hit in &result.hits {
                    finding = finding.evidence(hit.describe());
                }
                for (i, turn) in result.transcript.iter().enumerate() {
                    finding = finding.evidence(format!(
                        "turn {} member: {}",
                        i + 1,
                        crate::template::excerpt(&turn.prompt, TRANSCRIPT_LINE_CHARS)
                    ));
                    if !turn.reply.is_empty() {
                        finding = finding.evidence(format!(
                            "turn {} assistant: {}",
                            i + 1,
                            crate::template::excerpt(&turn.reply, TRANSCRIPT_LINE_CHARS)
                        ));
                    }
                    for call in &turn.tool_calls {
                        finding = finding.evidence(format!(
                            "turn {} tool call: {}({})",
                            i + 1,
                            call.name,
                            crate::template::excerpt(&call.arguments, 120)
                        ));
                    }
                }
                out.push(finding);
            }
            Outcome::Error => {
                out.push(
                    Finding::new(
                        "ai.probe.error",
                        Stage::AiGuardrails,
                        Severity::Medium,
                        subject.clone(),
                        "A probe could not be completed, so this guardrail is untested",
                    )
                    .evidence(result.error.clone().unwrap_or_default())
                    .remediation(
                        "Check the [ai] endpoint, request template and extraction in the manifest, then run again; \
                         raise --timeout if the assistant is slow.",
                    )
                    .reference("docs/ai-probe.md")
                    .with_fingerprint(fingerprint("ai.probe.error", &subject)),
                );
            }
        }
    }
    let budget: Vec<_> = run
        .not_run
        .iter()
        .filter(|n| n.reason.contains("budget"))
        .collect();
    if let Some(first) = budget.first() {
        let mut finding = Finding::new(
            "ai.probe.budget",
            Stage::AiGuardrails,
            Severity::Info,
            run.endpoint.clone(),
            format!(
                "{} probe attempt(s) were not run: {}",
                budget.len(),
                first.reason
            ),
        )
        .remediation("Raise --max-requests (or [ai] max_requests) to run every probe.")
        .reference("docs/ai-probe.md");
        for skipped in &budget {
            finding = finding.evidence(format!("{}/{}", skipped.family, skipped.attempt));
        }
        out.push(finding);
    }
    out
}

/// Stable across runs, free of transcript content.
fn fingerprint(id: &str, subject: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{id}\n{subject}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
