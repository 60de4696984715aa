//! Keeps `docs/report-schema.md` honest: its example must parse as a `Report`, and every field the JSON format
//! emits must be documented there.

#![allow(clippy::unwrap_used)] // Test helpers, not only #[test] functions, may unwrap.

mod common;

use common::demo;
use launchready_findings::{Counts, Report};
use launchready_report::Format;
use serde_json::Value;
use std::collections::BTreeSet;

const DOC: &str = include_str!("../../../docs/report-schema.md");

fn example() -> &'static str {
    let start = DOC.find("```json\n").unwrap() + "```json\n".len();
    let len = DOC[start..].find("```").unwrap();
    &DOC[start..start + len]
}

fn keys(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                into.insert(key.clone());
                keys(child, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

#[test]
fn documented_example_is_a_consistent_report() {
    let report: Report = serde_json::from_str(example()).unwrap();
    assert_eq!(
        report.schema_version,
        launchready_findings::REPORT_SCHEMA_VERSION
    );
    assert_eq!(report.counts, Counts::of(&report.findings));
    assert_eq!(report.score, launchready_findings::score(&report.findings));
    assert_eq!(
        report.verdict,
        launchready_findings::verdict(&report.counts)
    );
}

#[test]
fn every_emitted_field_is_documented() {
    let json: Value = serde_json::from_str(&demo(Format::Json)).unwrap();
    let mut emitted = BTreeSet::new();
    keys(&json, &mut emitted);
    let missing: Vec<_> = emitted
        .iter()
        .filter(|key| !DOC.contains(&format!("| `{key}` |")))
        .collect();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

#[test]
fn every_enum_value_is_documented() {
    use launchready_findings::{FixWindow, Severity, Stage, Verdict};
    let mut values: Vec<Value> = Vec::new();
    values.extend(
        Severity::ALL
            .iter()
            .map(|v| serde_json::to_value(v).unwrap()),
    );
    values.extend(Stage::ALL.iter().map(|v| serde_json::to_value(v).unwrap()));
    for window in [FixWindow::Now, FixWindow::AfterLaunch] {
        values.push(serde_json::to_value(window).unwrap());
    }
    for verdict in [Verdict::Ready, Verdict::ReadyWithRisks, Verdict::NotReady] {
        values.push(serde_json::to_value(verdict).unwrap());
    }
    for value in values {
        let name = value.as_str().unwrap();
        assert!(
            DOC.contains(&format!("| `{name}` |")),
            "undocumented value {name}"
        );
    }
}
