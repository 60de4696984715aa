//! A report compared with an earlier run (`audit --compare`): every human format says what was fixed and what is
//! new, and JSON carries the comparison for scripts.
#![allow(clippy::unwrap_used)]

mod common;

use common::{demo, demo_report, plain};
use launchready_findings::{Finding, Report, Severity, Stage};
use launchready_report::{Format, render};

/// The demo report as it was before: the same blocker, plus a finding that has since been fixed.
fn previous() -> Report {
    let mut findings = demo_report().findings;
    findings.retain(|f| f.id != "dns.host.missing");
    findings.push(Finding::new(
        "hsts.missing",
        Stage::EdgeCaching,
        Severity::High,
        "www.demo.test",
        "www.demo.test does not send Strict-Transport-Security",
    ));
    Report::new("demo.test", "2025-12-20T00:00:00Z", findings, vec![])
}

#[test]
fn every_human_format_lists_fixed_and_new_findings() {
    let previous = previous();
    let report = demo_report().compared_with(&previous);
    let comparison = report.comparison.as_ref().unwrap();
    assert_eq!(comparison.fixed.len(), 1);
    assert_eq!(comparison.new.len(), 1);
    let headline = format!(
        "since 2025-12-20T00:00:00Z: 1 fixed, 1 new, {} unchanged; score {} → {}",
        comparison.unchanged.len(),
        previous.score,
        report.score
    );
    for format in [Format::Terminal, Format::Markdown, Format::Html] {
        let out = render(&report, format, &plain());
        assert!(out.contains(&headline), "{format:?}:\n{out}");
        assert!(
            out.contains("fixed high hsts.missing"),
            "{format:?}:\n{out}"
        );
        assert!(
            out.contains("new   high dns.host.missing"),
            "{format:?}:\n{out}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&render(&report, Format::Json, &plain())).unwrap();
    assert_eq!(json["comparison"]["fixed"][0]["id"], "hsts.missing");
    assert_eq!(json["comparison"]["previous_score"], previous.score);
}

#[test]
fn the_comparison_section_sits_between_the_tally_and_the_fix_windows() {
    let report = demo_report().compared_with(&previous());
    let headline = report.comparison.as_ref().unwrap().summary(report.score);
    let cases = [
        (
            Format::Markdown,
            format!("\n\n## Since the previous run\n\n{headline}.\n\n- fixed "),
            "\n\n## Must fix now\n\n",
        ),
        (
            Format::Html,
            format!("</p>\n<h2>Since the previous run</h2>\n<p>{headline}.</p>\n<ul>\n<li>fixed "),
            "</li>\n</ul>\n<h2>Must fix now</h2>\n",
        ),
    ];
    for (format, comparison, next) in cases {
        let out = render(&report, format, &plain());
        assert!(out.contains(&comparison), "{format:?}:\n{out}");
        assert!(out.contains(next), "{format:?}:\n{out}");
    }
}

#[test]
fn an_uncompared_report_has_no_comparison_section() {
    let out = demo(Format::Markdown);
    assert!(!out.contains("Since the previous run"));
    let json = demo(Format::Json);
    assert!(!json.contains("\"comparison\""));
}
