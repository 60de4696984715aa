//! Snapshot tests: the demo.test report in every format, so any change to what users or machines see shows up as
//! a reviewed diff in `tests/snapshots/`.

mod common;

use common::{demo_report, plain};
use launchready_report::{Format, render};

#[test]
fn json_snapshot() {
    let out = render(&demo_report(), Format::Json, &plain());
    assert!(out.ends_with("}\n"));
    insta::assert_snapshot!("json", out);
}

#[test]
fn sarif_snapshot() {
    let out = render(&demo_report(), Format::Sarif, &plain());
    assert!(out.ends_with("}\n"));
    insta::assert_snapshot!("sarif", out);
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(
        "markdown",
        render(&demo_report(), Format::Markdown, &plain())
    );
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", render(&demo_report(), Format::Html, &plain()));
}

#[test]
fn terminal_snapshot() {
    insta::assert_snapshot!(
        "terminal",
        render(&demo_report(), Format::Terminal, &plain())
    );
}
