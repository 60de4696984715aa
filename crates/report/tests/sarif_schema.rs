//! Validates the SARIF output against the official OASIS SARIF 2.1.0 JSON schema (vendored in `tests/data`, see its
//! README), and proves the validator is really running by feeding it a deliberately broken log.

#![allow(clippy::unwrap_used)] // Test helpers, not only #[test] functions, may unwrap.

mod common;

use common::{demo_report, plain};
use launchready_findings::{Finding, Report, Severity, Stage};
use launchready_report::{Format, render};
use serde_json::Value;

/// The `language` pattern of the original 2.1.0 schema, with a stray `]` that is not a valid ECMA-262 regex
/// (OASIS sarif-spec issue #488, fixed by the 2.1.0 errata).
const BROKEN_LANGUAGE_PATTERN: &str = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
/// The corrected pattern from the errata discussion (sarif-spec pull request #562).
const FIXED_LANGUAGE_PATTERN: &str = r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#;

fn validator() -> jsonschema::Validator {
    // jsonschema checks the schema itself against draft-07 before compiling it, and rejects the original schema's
    // invalid `language` regex. The vendored file stays byte-for-byte official; the erratum is applied here, and only
    // touches `run.language` and `toolComponent.language`, which launchready never emits.
    let text = include_str!("data/sarif-schema-2.1.0.json")
        .replace(BROKEN_LANGUAGE_PATTERN, FIXED_LANGUAGE_PATTERN);
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-07/schema#",
        "the vendored schema is not the draft-07 SARIF 2.1.0 schema"
    );
    // The schema declares draft-07; saying so explicitly keeps a future default from changing the rules. `offline`
    // makes any non-local `$ref` an error instead of a fetch. Format checks are on so that `helpUri` and
    // `informationUri` must really be URIs.
    jsonschema::draft7::options()
        .offline()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn sarif(report: &Report) -> Value {
    serde_json::from_str(&render(report, Format::Sarif, &plain())).unwrap()
}

#[test]
fn sarif_output_is_valid_against_the_official_schema() {
    let validator = validator();
    let instance = sarif(&demo_report());
    assert_eq!(errors(&validator, &instance), Vec::<String>::new());
}

#[test]
fn sarif_without_reference_or_remediation_is_still_valid() {
    // An empty helpUri would fail the `uri` format, so the renderer must leave it out.
    let bare = Finding::new(
        "x.bare",
        Stage::Handover,
        Severity::Low,
        "demo.test",
        "Bare",
    );
    let report = Report::new("demo.test", "2026-01-01T00:00:00Z", vec![bare], vec![]);
    let instance = sarif(&report);
    assert_eq!(errors(&validator(), &instance), Vec::<String>::new());
    let rule = &instance["runs"][0]["tool"]["driver"]["rules"][0];
    assert!(rule.get("helpUri").is_none());
    assert!(rule.get("help").is_none());
}

#[test]
fn broken_sarif_fails_validation() {
    let validator = validator();
    let mut instance = sarif(&demo_report());
    instance["runs"][0]["results"][0]["level"] = Value::from("fatal");
    let found = errors(&validator, &instance);
    assert!(!found.is_empty(), "a level of `fatal` must be rejected");
    assert!(
        found.iter().any(|e| e.contains("/runs/0/results/0/level")),
        "{found:?}"
    );

    let mut instance = sarif(&demo_report());
    instance["runs"][0]["tool"]["driver"]["informationUri"] = Value::from("not a uri");
    assert!(!validator.is_valid(&instance), "format checks must be on");
}

#[test]
fn sarif_of_an_empty_report_is_valid() {
    let report = Report::new("quiet.test", "2026-01-01T00:00:00Z", vec![], vec![]);
    assert_eq!(errors(&validator(), &sarif(&report)), Vec::<String>::new());
}
