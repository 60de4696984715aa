//! The SARIF 2.1.0 format, for dashboards that collect static-analysis results. Audit findings are about hosts and
//! URLs, not files, so each result is located by a logical location of kind `resource` named after its subject;
//! findings about files (leaked secrets) also get a physical location and a partial fingerprint, which is what
//! GitHub code scanning needs to place and deduplicate them.

use crate::{RenderOptions, pretty_json};
use launchready_findings::{Finding, FixWindow, Report, Severity, Stage, Verdict};
use serde::Serialize;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Taken from the workspace manifest so the SARIF points wherever the project says it lives.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

// Structs rather than `json!` maps: field order then follows the declarations, whether or not some other crate in
// the build turns on serde_json's `preserve_order`, so the output (and its snapshot) cannot reshuffle.

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
struct Run<'a> {
    tool: Tool<'a>,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule<'a>>,
}

/// A reportingDescriptor.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    short_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Text>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

/// A message or multiformatMessageString with only the plain-text form.
#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    stage: Stage,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    partial_fingerprints: Option<PartialFingerprints<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[SarifSuppression<'a>; 1]>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    logical_locations: [LogicalLocation<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

/// A relative path as the URI reference SARIF wants: everything but unreserved characters and `/` escaped.
fn path_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
}

#[derive(Serialize)]
struct PartialFingerprints<'a> {
    #[serde(rename = "launchready/v1")]
    launchready: &'a str,
}

#[derive(Serialize)]
struct LogicalLocation<'a> {
    name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
struct SarifSuppression<'a> {
    kind: &'static str,
    justification: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    severity: Severity,
    stage: Stage,
    fix_window: FixWindow,
    evidence: &'a [String],
}

/// The verdict and score have no SARIF equivalent; keeping them on the run lets a dashboard show the same headline
/// as the other formats.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    target: &'a str,
    generated_at: &'a str,
    score: u8,
    verdict: Verdict,
    fail_on: Severity,
    report_schema_version: u32,
}

pub fn render(report: &Report, options: &RenderOptions) -> String {
    pretty_json(&log(report, options))
}

fn log<'a>(report: &'a Report, options: &RenderOptions) -> Log<'a> {
    // One rule per distinct id, in order of first appearance, which is the report's severity order.
    let mut rules: Vec<Rule<'a>> = Vec::new();
    let mut results: Vec<SarifResult<'a>> = Vec::new();
    for finding in &report.findings {
        let rule_index = match rules.iter().position(|rule| rule.id == finding.id) {
            Some(index) => index,
            None => {
                rules.push(rule(finding));
                rules.len() - 1
            }
        };
        results.push(result(finding, rule_index));
    }
    Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: &report.tool.name,
                    version: &report.tool.version,
                    information_uri: INFORMATION_URI,
                    rules,
                },
            },
            results,
            properties: RunProperties {
                target: &report.target,
                generated_at: &report.generated_at,
                score: report.score,
                verdict: report.verdict,
                fail_on: options.fail_on,
                report_schema_version: report.schema_version,
            },
        }],
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Blocker | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// Describes a rule by the first finding with its id.
fn rule(finding: &Finding) -> Rule<'_> {
    Rule {
        id: &finding.id,
        short_description: Text {
            text: finding.title.clone(),
        },
        // helpUri must be a URI, and an empty string is not one.
        help_uri: Some(finding.reference.as_str()).filter(|r| !r.is_empty()),
        help: Some(&finding.remediation)
            .filter(|r| !r.is_empty())
            .map(|r| Text { text: r.clone() }),
        default_configuration: Configuration {
            level: level(finding.severity),
        },
        properties: RuleProperties {
            stage: finding.stage,
        },
    }
}

fn result(finding: &Finding, rule_index: usize) -> SarifResult<'_> {
    SarifResult {
        rule_id: &finding.id,
        rule_index,
        level: level(finding.severity),
        message: Text {
            text: format!("{} ({})", finding.title, finding.subject),
        },
        locations: [Location {
            physical_location: finding.location.as_ref().map(|l| PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: path_uri(&l.path),
                },
                region: Region {
                    start_line: l.line.max(1),
                    start_column: l.column.max(1),
                },
            }),
            logical_locations: [LogicalLocation {
                name: &finding.subject,
                kind: "resource",
            }],
        }],
        partial_fingerprints: finding
            .fingerprint
            .as_deref()
            .map(|launchready| PartialFingerprints { launchready }),
        suppressions: finding.suppressed.as_ref().map(|s| {
            [SarifSuppression {
                kind: "external",
                justification: &s.reason,
            }]
        }),
        properties: ResultProperties {
            severity: finding.severity,
            stage: finding.stage,
            fix_window: finding.fix_window,
            evidence: &finding.evidence,
        },
    }
}
