//! The launchready data model: what a check found (`Finding`), how bad it is (`Severity`), when to fix it
//! (`FixWindow`), which roadmap stage it belongs to (`Stage`), and the `Report` that carries them with a score and a
//! verdict. The facts snapshot that gatherers produce and rules judge lives in [`facts`].
//!
//! Nothing here performs I/O, so every judgement built on these types is a pure function.

mod compare;
pub mod facts;
mod score;

pub use compare::{Comparison, FindingKey};
pub use score::{CategoryScore, breakdown, score, score_for};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Version of the JSON report schema (docs/report-schema.md). Bump on any breaking change.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered from least to most severe so `>=` means "at least as bad".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Blocker,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Blocker,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Blocker => "blocker",
        }
    }

    /// Points taken off the 100-point score per unsuppressed finding. A single blocker costs enough that a site
    /// with one can never look "mostly fine".
    pub fn penalty(self) -> u32 {
        match self {
            Severity::Blocker => 40,
            Severity::High => 15,
            Severity::Medium => 5,
            Severity::Low => 1,
            Severity::Info => 0,
        }
    }

    /// The default fix window: anything that can lose a paying visitor on launch day is "now".
    pub fn default_window(self) -> FixWindow {
        if self >= Severity::High {
            FixWindow::Now
        } else {
            FixWindow::AfterLaunch
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a severity name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected one of: blocker, high, medium, low, info)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}

/// The launch roadmap stage a finding belongs to; reports group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    QuickAudit,
    DnsRouting,
    EdgeCaching,
    Deployment,
    Email,
    Monitoring,
    Handover,
    AiGuardrails,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::QuickAudit,
        Stage::DnsRouting,
        Stage::EdgeCaching,
        Stage::Deployment,
        Stage::Email,
        Stage::Monitoring,
        Stage::Handover,
        Stage::AiGuardrails,
    ];

    pub fn number(self) -> u8 {
        match self {
            Stage::QuickAudit => 1,
            Stage::DnsRouting => 2,
            Stage::EdgeCaching => 3,
            Stage::Deployment => 4,
            Stage::Email => 5,
            Stage::Monitoring => 6,
            Stage::Handover => 7,
            Stage::AiGuardrails => 8,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Stage::QuickAudit => "Quick audit",
            Stage::DnsRouting => "DNS and routing",
            Stage::EdgeCaching => "Edge protection and caching",
            Stage::Deployment => "Production deployment hardening",
            Stage::Email => "Email deliverability",
            Stage::Monitoring => "Monitoring and alerting",
            Stage::Handover => "Handover",
            Stage::AiGuardrails => "AI guardrails",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stage {}: {}", self.number(), self.title())
    }
}

/// When a finding must be fixed: before launch, or it can wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixWindow {
    Now,
    AfterLaunch,
}

impl FixWindow {
    pub fn title(self) -> &'static str {
        match self {
            FixWindow::Now => "Must fix now",
            FixWindow::AfterLaunch => "Can wait until after launch",
        }
    }
}

/// Why a finding was suppressed: the manifest's `[[ignore]]` entry that matched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: String,
}

/// One thing a check observed that a launch engineer would act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable dotted id, e.g. `tls.cert.expired`. Never renamed once shipped: users suppress by it.
    pub id: String,
    pub stage: Stage,
    pub severity: Severity,
    pub fix_window: FixWindow,
    /// One line saying what is wrong, in the user's terms.
    pub title: String,
    /// The host, URL or record the finding is about.
    pub subject: String,
    /// What was observed, one line each (a redirect chain, the certificate dates, the DNS answer).
    pub evidence: Vec<String>,
    /// One or two sentences saying how to fix it.
    pub remediation: String,
    /// Where the rule comes from (an RFC, MDN), as a URL.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// Where in a source tree the finding is, for findings about files (leaked secrets): code-scanning
    /// dashboards place results by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// A stable identity across runs that never contains a secret: baselines and dashboards match results by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A place in a file: path relative to the scanned root with `/` separators, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// The commit that introduced it, for findings from git history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Finding {
    /// A finding with the severity's default fix window and no evidence yet.
    pub fn new(
        id: impl Into<String>,
        stage: Stage,
        severity: Severity,
        subject: impl Into<String>,
        title: impl Into<String>,
    ) -> Self {
        Finding {
            id: id.into(),
            stage,
            severity,
            fix_window: severity.default_window(),
            title: title.into(),
            subject: subject.into(),
            evidence: Vec::new(),
            remediation: String::new(),
            reference: String::new(),
            suppressed: None,
            location: None,
            fingerprint: None,
        }
    }

    /// Places the finding in a file.
    pub fn at(mut self, location: SourceLocation) -> Self {
        self.location = Some(location);
        self
    }

    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    /// Adds several lines of evidence at once (a list of offending records, assets or headers).
    pub fn evidence_lines<L: Into<String>>(mut self, lines: impl IntoIterator<Item = L>) -> Self {
        self.evidence.extend(lines.into_iter().map(Into::into));
        self
    }

    pub fn remediation(mut self, text: impl Into<String>) -> Self {
        self.remediation = text.into();
        self
    }

    pub fn reference(mut self, url: impl Into<String>) -> Self {
        self.reference = url.into();
        self
    }

    pub fn is_active(&self) -> bool {
        self.suppressed.is_none()
    }
}

/// The overall answer to "can we launch?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing above low severity is open.
    Ready,
    /// Only medium findings are open: launch, then fix them.
    ReadyWithRisks,
    /// A blocker or high finding is open.
    NotReady,
}

impl Verdict {
    pub fn title(self) -> &'static str {
        match self {
            Verdict::Ready => "ready to launch",
            Verdict::ReadyWithRisks => "ready, with risks to fix after launch",
            Verdict::NotReady => "not ready to launch",
        }
    }
}

/// Counts of active findings per severity, plus how many were suppressed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub blocker: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub suppressed: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Counts {
        let mut counts = Counts::default();
        for finding in findings {
            if !finding.is_active() {
                counts.suppressed += 1;
                continue;
            }
            *counts.slot(finding.severity) += 1;
        }
        counts
    }

    fn slot(&mut self, severity: Severity) -> &mut usize {
        match severity {
            Severity::Blocker => &mut self.blocker,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }

    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Blocker => self.blocker,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

/// One row of the DNS map: where a host's traffic goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsMapEntry {
    pub host: String,
    /// `apex`, `www` or `subdomain`.
    pub role: String,
    /// Records as `TYPE value`, CNAME chain first, e.g. `CNAME app.host.example.`, `A 192.0.2.1`.
    pub records: Vec<String>,
    /// Where an https request to the host finally landed, if it was probed.
    pub final_url: Option<String>,
    pub final_status: Option<u16>,
    /// Every entry point on this host (http and https) and the hops it took.
    #[serde(default)]
    pub paths: Vec<MapPath>,
    /// The certificate and TLS session the host's https answer came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSummary>,
}

/// What a report shows about a host's TLS: enough to plan a renewal or a CA change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSummary {
    /// e.g. `TLSv1.3`, or `handshake failed`.
    pub version: String,
    pub alpn: Option<String>,
    pub issuer: String,
    pub sans: Vec<String>,
    /// RFC 3339.
    pub not_after: String,
    /// e.g. `EC 256`, `RSA 2048`.
    pub key: String,
    /// `valid`, `expired`, `not_yet_valid`, `hostname_mismatch`, `unknown_issuer` or another reason.
    pub verification: String,
}

/// One entry point of a host and the way a visitor's browser travels from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapPath {
    pub start: String,
    pub hops: Vec<MapHop>,
    /// How following ended: `final`, `loop`, `too_many_hops`, `bad_redirect` or `failed`.
    pub end: String,
}

/// One request on a path: the URL and its status, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapHop {
    pub url: String,
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MapPath {
    /// A path that starts where its first hop does (an empty start when it has none).
    pub fn from_hops(end: impl Into<String>, hops: Vec<MapHop>) -> MapPath {
        MapPath {
            start: hops.first().map(|hop| hop.url.clone()).unwrap_or_default(),
            hops,
            end: end.into(),
        }
    }
}

impl MapHop {
    pub fn new(url: impl Into<String>, status: Option<u16>, error: Option<String>) -> MapHop {
        MapHop {
            url: url.into(),
            status,
            error,
        }
    }
}

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Which command produced a report; renderers word the headline and leave out the DNS map accordingly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    #[default]
    Audit,
    Secrets,
    /// `launchready ai-probe`: guardrail probes against an AI assistant.
    AiProbe,
    /// `launchready smoke`: a fresh deploy's homepage, routes, webhook and journeys.
    Smoke,
    /// `launchready env`: the environment-variable inventory's findings.
    Env,
    /// `launchready gate`: audit, secrets, env, smoke (with the journeys), deploy checks and an optional load run,
    /// as one report with one verdict.
    Gate,
}

/// Everything an audit concluded. Rendered by the `report` crate; its JSON form is the versioned public schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    /// What produced the report: an audit of a domain, or a secrets scan of a repository.
    #[serde(default)]
    pub kind: ReportKind,
    /// The audited domain.
    pub target: String,
    /// When the facts were gathered (RFC 3339, UTC).
    pub generated_at: String,
    pub score: u8,
    /// How the score is made up: each category's weight and the points it kept.
    #[serde(default)]
    pub score_breakdown: Vec<CategoryScore>,
    pub verdict: Verdict,
    pub counts: Counts,
    /// Active findings first, most severe first; suppressed findings last. Never dropped.
    pub findings: Vec<Finding>,
    pub dns_map: Vec<DnsMapEntry>,
    /// What changed since an earlier report (`audit --compare`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

impl Report {
    /// Builds a report: sorts the findings, counts them, scores them and gives the verdict.
    pub fn new(
        target: impl Into<String>,
        generated_at: impl Into<String>,
        mut findings: Vec<Finding>,
        dns_map: Vec<DnsMapEntry>,
    ) -> Report {
        findings.sort_by(|a, b| {
            (
                a.suppressed.is_some(),
                std::cmp::Reverse(a.severity),
                a.stage,
                &a.id,
                &a.subject,
            )
                .cmp(&(
                    b.suppressed.is_some(),
                    std::cmp::Reverse(b.severity),
                    b.stage,
                    &b.id,
                    &b.subject,
                ))
        });
        let counts = Counts::of(&findings);
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: Tool {
                name: "launchready".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            kind: ReportKind::Audit,
            target: target.into(),
            generated_at: generated_at.into(),
            score: score(&findings),
            score_breakdown: score::breakdown(ReportKind::Audit, &findings),
            verdict: verdict(&counts),
            counts,
            findings,
            dns_map,
            comparison: None,
        }
    }

    /// The same report with what changed since `previous`.
    pub fn compared_with(mut self, previous: &Report) -> Report {
        self.comparison = Some(Comparison::between(previous, &self));
        self
    }

    /// The same report, marked as coming from another command (and scored on that command's scale).
    pub fn with_kind(mut self, kind: ReportKind) -> Report {
        self.kind = kind;
        self.score = score::score_for(kind, &self.findings);
        self.score_breakdown = score::breakdown(kind, &self.findings);
        self
    }

    /// Active findings at or above `threshold`: what makes CI fail.
    pub fn failing(&self, threshold: Severity) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| f.is_active() && f.severity >= threshold)
    }

    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_active())
    }

    pub fn suppressed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_active())
    }
}

pub fn verdict(counts: &Counts) -> Verdict {
    if counts.blocker + counts.high > 0 {
        Verdict::NotReady
    } else if counts.medium > 0 {
        Verdict::ReadyWithRisks
    } else {
        Verdict::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(sev: Severity) -> Finding {
        Finding::new("x.y", Stage::QuickAudit, sev, "demo.test", "t")
    }

    #[test]
    fn severity_orders_from_info_to_blocker() {
        assert!(Severity::Blocker > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn verdict_follows_the_worst_active_severity() {
        let report = Report::new("d", "t", vec![finding(Severity::Medium)], vec![]);
        assert_eq!(report.verdict, Verdict::ReadyWithRisks);
        let report = Report::new("d", "t", vec![finding(Severity::Low)], vec![]);
        assert_eq!(report.verdict, Verdict::Ready);
        let report = Report::new("d", "t", vec![finding(Severity::Blocker)], vec![]);
        assert_eq!(report.verdict, Verdict::NotReady);
    }

    #[test]
    fn report_sorts_most_severe_first_and_suppressed_last() {
        let mut suppressed = finding(Severity::Blocker);
        suppressed.suppressed = Some(Suppression {
            reason: "known".into(),
        });
        let report = Report::new(
            "d",
            "t",
            vec![finding(Severity::Low), suppressed, finding(Severity::High)],
            vec![],
        );
        let order: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.severity, f.is_active()))
            .collect();
        assert_eq!(
            order,
            vec![
                (Severity::High, true),
                (Severity::Low, true),
                (Severity::Blocker, false)
            ]
        );
        assert_eq!(report.failing(Severity::High).count(), 1);
        assert_eq!(report.counts.suppressed, 1);
    }

    #[test]
    fn fix_window_defaults_from_severity() {
        assert_eq!(finding(Severity::High).fix_window, FixWindow::Now);
        assert_eq!(finding(Severity::Medium).fix_window, FixWindow::AfterLaunch);
    }
}
