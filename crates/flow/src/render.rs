//! Renderers over [`FlowResult`]s: text for people, JSON for machines, JUnit XML for CI, Markdown and HTML for
//! reports. None of them computes anything; secrets are already redacted in the results.

use crate::result::{FlowResult, Status};
use std::fmt::Write as _;

/// Plain text: one line per entry, and for a failure the assert (actual vs expected) and the exchange.
pub fn text(results: &[FlowResult]) -> String {
    let mut out = String::new();
    for result in results {
        let verdict = if result.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "{verdict} {} ({} ms)", result.file, result.duration_ms);
        for entry in &result.entries {
            let mark = match entry.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::Skipped => "skip",
            };
            let status = entry
                .exchanges
                .last()
                .map(|e| e.status.to_string())
                .unwrap_or_else(|| "-".to_string());
            let timing = entry
                .exchanges
                .last()
                .map(|e| {
                    let t = &e.timings;
                    let mut parts = Vec::new();
                    if let Some(v) = t.dns_ms {
                        parts.push(format!("dns {v:.1}"));
                    }
                    if let Some(v) = t.connect_ms {
                        parts.push(format!("connect {v:.1}"));
                    }
                    if let Some(v) = t.tls_ms {
                        parts.push(format!("tls {v:.1}"));
                    }
                    if let Some(v) = t.first_byte_ms {
                        parts.push(format!("first byte {v:.1}"));
                    }
                    parts.push(format!("total {:.1} ms", t.total_ms));
                    parts.join(", ")
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {mark} #{} line {}: {} {} -> {status}  [{timing}]",
                entry.index, entry.line, entry.method, entry.url
            );
            if entry.status != Status::Failed {
                continue;
            }
            if let Some(error) = &entry.error {
                let _ = writeln!(out, "       error: {error}");
            }
            for assert in entry.asserts.iter().filter(|a| !a.passed) {
                let _ = writeln!(
                    out,
                    "       assert failed at line {}: {}\n         {}",
                    assert.line,
                    assert.label,
                    assert.reason.as_deref().unwrap_or_default()
                );
            }
            if let Some(exchange) = entry.exchanges.last() {
                let _ = writeln!(out, "       request: {} {}", exchange.method, exchange.url);
                for (name, value) in &exchange.request_headers {
                    let _ = writeln!(out, "         {name}: {value}");
                }
                let _ = writeln!(
                    out,
                    "       response: {} {}",
                    exchange.version, exchange.status
                );
                for (name, value) in &exchange.response_headers {
                    let _ = writeln!(out, "         {name}: {value}");
                }
                if !exchange.body_excerpt.is_empty() {
                    let more = if exchange.body_bytes > exchange.body_excerpt.len() {
                        format!(
                            " (first {} of {} bytes)",
                            exchange.body_excerpt.len(),
                            exchange.body_bytes
                        )
                    } else {
                        String::new()
                    };
                    let _ = writeln!(out, "       body{more}:");
                    for line in exchange.body_excerpt.lines() {
                        let _ = writeln!(out, "         {line}");
                    }
                }
            }
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let _ = writeln!(out, "{passed}/{} flow files passed", results.len());
    out
}

/// The results as JSON (an array, one object per file).
pub fn json(results: &[FlowResult]) -> String {
    serde_json::to_string_pretty(results).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: a test suite per file, a test case per entry.
pub fn junit(results: &[FlowResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for result in results {
        let failures = result
            .entries
            .iter()
            .filter(|e| e.status == Status::Failed)
            .count();
        let skipped = result
            .entries
            .iter()
            .filter(|e| e.status == Status::Skipped)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml_escape(&result.file),
            result.entries.len(),
            result.duration_ms as f64 / 1000.0
        );
        for entry in &result.entries {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"#{} {} {} (line {})\" time=\"{:.3}\"",
                xml_escape(&result.file),
                entry.index,
                xml_escape(&entry.method),
                xml_escape(&entry.url),
                entry.line,
                entry.duration_ms as f64 / 1000.0
            );
            match entry.status {
                Status::Passed => out.push_str("/>\n"),
                Status::Skipped => out.push_str("><skipped/></testcase>\n"),
                Status::Failed => {
                    let message = entry.first_failure().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "><failure message=\"{}\"/></testcase>",
                        xml_escape(&message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Markdown: a table per file, then the failures with their detail.
pub fn markdown(results: &[FlowResult]) -> String {
    let mut out = String::from("# Flow results\n\n");
    for result in results {
        let verdict = if result.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(
            out,
            "## `{}`: {verdict} ({} ms)\n",
            result.file, result.duration_ms
        );
        out.push_str(
            "| # | line | request | status | total ms | result |\n|---|---|---|---|---|---|\n",
        );
        for entry in &result.entries {
            let last = entry.exchanges.last();
            let _ = writeln!(
                out,
                "| {} | {} | `{} {}` | {} | {} | {} |",
                entry.index,
                entry.line,
                entry.method,
                entry.url.replace('|', "\\|"),
                last.map(|e| e.status.to_string())
                    .unwrap_or_else(|| "-".into()),
                last.map(|e| format!("{:.1}", e.timings.total_ms))
                    .unwrap_or_else(|| "-".into()),
                match entry.status {
                    Status::Passed => "ok",
                    Status::Failed => "**failed**",
                    Status::Skipped => "skipped",
                }
            );
        }
        out.push('\n');
        for entry in result.entries.iter().filter(|e| e.status == Status::Failed) {
            let _ = writeln!(
                out,
                "### Entry {} (line {}) failed\n",
                entry.index, entry.line
            );
            if let Some(error) = &entry.error {
                let _ = writeln!(out, "- error: {error}");
            }
            for assert in entry.asserts.iter().filter(|a| !a.passed) {
                let _ = writeln!(
                    out,
                    "- line {}: `{}` — {}",
                    assert.line,
                    assert.label,
                    assert.reason.as_deref().unwrap_or_default()
                );
            }
            if let Some(exchange) = entry.exchanges.last() {
                out.push_str("\n```http\n");
                let _ = writeln!(out, "{} {}", exchange.method, exchange.url);
                for (name, value) in &exchange.request_headers {
                    let _ = writeln!(out, "{name}: {value}");
                }
                let _ = writeln!(out, "\n{} {}", exchange.version, exchange.status);
                for (name, value) in &exchange.response_headers {
                    let _ = writeln!(out, "{name}: {value}");
                }
                let _ = writeln!(out, "\n{}", exchange.body_excerpt.replace("```", "'''"));
                out.push_str("```\n\n");
            }
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    xml_escape(text).replace('\'', "&#x27;")
}

/// A self-contained HTML page: a table per file, failures expanded.
pub fn html(results: &[FlowResult]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Flow results</title>\n<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}.failed{color:#b00020;font-weight:bold}pre{background:#f6f6f6;padding:.6rem;overflow:auto}</style>\n</head><body>\n<h1>Flow results</h1>\n",
    );
    for result in results {
        let verdict = if result.passed() { "passed" } else { "failed" };
        let _ = writeln!(
            out,
            "<h2><code>{}</code>: <span class=\"{verdict}\">{verdict}</span> ({} ms)</h2>",
            html_escape(&result.file),
            result.duration_ms
        );
        out.push_str("<table><tr><th>#</th><th>line</th><th>request</th><th>status</th><th>total ms</th><th>result</th></tr>\n");
        for entry in &result.entries {
            let last = entry.exchanges.last();
            let (class, label) = match entry.status {
                Status::Passed => ("passed", "ok"),
                Status::Failed => ("failed", "failed"),
                Status::Skipped => ("skipped", "skipped"),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td><code>{} {}</code></td><td>{}</td><td>{}</td><td class=\"{class}\">{label}</td></tr>",
                entry.index,
                entry.line,
                html_escape(&entry.method),
                html_escape(&entry.url),
                last.map(|e| e.status.to_string())
                    .unwrap_or_else(|| "-".into()),
                last.map(|e| format!("{:.1}", e.timings.total_ms))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        out.push_str("</table>\n");
        for entry in result.entries.iter().filter(|e| e.status == Status::Failed) {
            let _ = writeln!(
                out,
                "<h3>Entry {} (line {}) failed</h3><ul>",
                entry.index, entry.line
            );
            if let Some(error) = &entry.error {
                let _ = writeln!(out, "<li>error: {}</li>", html_escape(error));
            }
            for assert in entry.asserts.iter().filter(|a| !a.passed) {
                let _ = writeln!(
                    out,
                    "<li>line {}: <code>{}</code> — {}</li>",
                    assert.line,
                    html_escape(&assert.label),
                    html_escape(assert.reason.as_deref().unwrap_or_default())
                );
            }
            out.push_str("</ul>\n");
            if let Some(exchange) = entry.exchanges.last() {
                let mut block = format!("{} {}\n", exchange.method, exchange.url);
                for (name, value) in &exchange.request_headers {
                    let _ = writeln!(block, "{name}: {value}");
                }
                let _ = writeln!(block, "\n{} {}", exchange.version, exchange.status);
                for (name, value) in &exchange.response_headers {
                    let _ = writeln!(block, "{name}: {value}");
                }
                let _ = writeln!(block, "\n{}", exchange.body_excerpt);
                let _ = writeln!(out, "<pre>{}</pre>", html_escape(&block));
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}
