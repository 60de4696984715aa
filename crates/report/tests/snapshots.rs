//! Snapshot tests: the demo.test report in every format, so any change to what users or machines see shows up as
//! a reviewed diff in `tests/snapshots/`.

mod common;

use common::demo;
use launchready_report::Format;

#[test]
fn json_snapshot() {
    let out = demo(Format::Json);
    assert!(out.ends_with("}\n"));
    insta::assert_snapshot!("json", out);
}

#[test]
fn sarif_snapshot() {
    let out = demo(Format::Sarif);
    assert!(out.ends_with("}\n"));
    insta::assert_snapshot!("sarif", out);
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", demo(Format::Markdown));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", demo(Format::Html));
}

#[test]
fn terminal_snapshot() {
    insta::assert_snapshot!("terminal", demo(Format::Terminal));
}
